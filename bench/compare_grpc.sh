#!/usr/bin/env bash
# Dougong vs gRPC on the same machine, same echo.proto, same load generator
# logic and report format. See bench/README.md.
#
#   bash bench/compare_grpc.sh
#
# Environment (all optional):
#   DURATION=10 WARMUP=2   measured / warmup seconds per run
#   RUNS=3                 runs per stack and scenario (alternating stacks); medians are reported
#   BUILD_DIR=build/bench  Release build tree (configured and built here)
#   SKIP_BUILD=1           use the binaries already in BUILD_DIR
#   JOBS=1                 ninja -j for the build (run under nice -n 10)
#   SERVER_THREADS=1       --threads for both servers
#   MODE=attachment        rpc_bench --mode (attachment | body); gRPC always uses the body
#   GRPC_API=cq            grpc_bench --api (cq | callback)
#   IDLE_CONNS=10000       connections for the idle-footprint test (0 skips it)
#   SCENARIOS="a b c d"    which scenarios to run
#   PIN=""                 e.g. PIN="0 1": taskset the server to CPU 0 and the client to CPU 1
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
RUNS=${RUNS:-3}
BUILD_DIR=${BUILD_DIR:-$ROOT/build/bench}
JOBS=${JOBS:-1}
SERVER_THREADS=${SERVER_THREADS:-1}
MODE=${MODE:-attachment}
GRPC_API=${GRPC_API:-cq}
IDLE_CONNS=${IDLE_CONNS:-10000}
SCENARIOS=${SCENARIOS:-"a b c d"}
PIN=${PIN:-}
SERVER_PIN=() CLIENT_PIN=()
if [[ -n $PIN ]]; then
  read -r pin_s pin_c <<<"$PIN"
  SERVER_PIN=(taskset -c "$pin_s") CLIENT_PIN=(taskset -c "${pin_c:-$pin_s}")
fi
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac

# Servers and the idle probe hold >10k sockets: raise the soft fd limit as
# far as allowed (children inherit it).
ulimit -Sn 65536 2>/dev/null || ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true

if [[ -z ${SKIP_BUILD:-} ]]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DDOUGONG_BUILD_BENCH=ON -DDOUGONG_BUILD_TESTS=OFF >/dev/null
  nice -n 10 ninja -C "$BUILD_DIR" -j"$JOBS" echo_server rpc_bench echo_grpc_server grpc_bench
fi

DG_SERVER=$BUILD_DIR/bench/echo_server
DG_CLIENT=$BUILD_DIR/bench/rpc_bench
GR_SERVER=$BUILD_DIR/bench/grpc/echo_grpc_server
GR_CLIENT=$BUILD_DIR/bench/grpc/grpc_bench
for b in "$DG_SERVER" "$DG_CLIENT" "$GR_SERVER" "$GR_CLIENT"; do
  [[ -x $b ]] || { echo "compare_grpc: missing $b" >&2; exit 1; }
done

OUT=$BUILD_DIR/bench-results/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
RESULTS=$OUT/results.txt
: >"$RESULTS"
source "$ROOT/bench/lib/common.sh"  # cpu_seconds
SERVER_PID=
SERVER_PORT=

cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT

# start_server BINARY LOG: starts it on a free port, waits for "listening on".
start_server() {
  local bin=$1 log=$2
  "${SERVER_PIN[@]}" "$bin" --port=0 --threads="$SERVER_THREADS" >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 200); do
    if grep -q 'listening on' "$log"; then
      SERVER_PORT=$(awk '/listening on/ {print $3; exit}' "$log")
      return 0
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "compare_grpc: $bin exited:" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.05
  done
  echo "compare_grpc: $bin did not print 'listening on' within 10 s" >&2
  exit 1
}

stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

# run_one SCENARIO STACK RUN CLIENT_ARGS...
run_one() {
  local scen=$1 stack=$2 run=$3
  shift 3
  local server client extra=()
  if [[ $stack == dougong ]]; then
    server=$DG_SERVER client=$DG_CLIENT extra=(--mode="$MODE")
  else
    server=$GR_SERVER client=$GR_CLIENT extra=(--api="$GRPC_API")
  fi
  local log=$OUT/$scen-$stack-$run.server.log
  start_server "$server" "$log"
  local cpu0 cpu1 line
  cpu0=$(cpu_seconds "$SERVER_PID")
  if ! line=$("${CLIENT_PIN[@]}" "$client" --target=127.0.0.1:"$SERVER_PORT" --duration="$DURATION" \
      --warmup="$WARMUP" "${extra[@]}" "$@" 2>"$OUT/$scen-$stack-$run.client.err"); then
    echo "compare_grpc: $client failed:" >&2
    cat "$OUT/$scen-$stack-$run.client.err" >&2
    stop_server
    exit 1
  fi
  cpu1=$(cpu_seconds "$SERVER_PID")
  # Threads the server ended up with, and the machine's 1-minute load (other
  # work on the box skews results: compare runs with similar load).
  local nthreads load1
  nthreads=$(ls "/proc/$SERVER_PID/task" | wc -l)
  load1=$(cut -d' ' -f1 /proc/loadavg)
  stop_server
  # Server CPU covers the whole client run (warmup + measure + drain), so it
  # is also reported per call over the whole run in the table (see README).
  local server_cpu
  server_cpu=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {printf "%.3f", b - a}')
  line="scenario=$scen run=$run $line server_cpu_s=$server_cpu server_threads=$nthreads load1=$load1"
  echo "$line" | tee -a "$RESULTS"
}

scenario_args() {
  case $1 in
    a) echo "--payload=16 --connections=1 --outstanding=128" ;;
    b) echo "--payload=16 --connections=1 --outstanding=1" ;;
    c) echo "--payload=1048576 --connections=1 --outstanding=16" ;;
  esac
}

echo "# results: $RESULTS (DURATION=$DURATION WARMUP=$WARMUP RUNS=$RUNS SERVER_THREADS=$SERVER_THREADS MODE=$MODE GRPC_API=$GRPC_API PIN='$PIN' cores=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg))"
for scen in $SCENARIOS; do
  [[ $scen == d ]] && continue
  read -r -a args <<<"$(scenario_args "$scen")"
  for run in $(seq 1 "$RUNS"); do
    # Alternate which stack goes first so drift hurts both alike.
    if ((run % 2)); then order=(dougong grpc); else order=(grpc dougong); fi
    for stack in "${order[@]}"; do
      run_one "$scen" "$stack" "$run" "${args[@]}"
    done
  done
done

IDLE=$OUT/idle.txt
: >"$IDLE"
if [[ " $SCENARIOS " == *" d "* ]] && ((IDLE_CONNS > 0)); then
  for stack in dougong grpc; do
    if [[ $stack == dougong ]]; then server=$DG_SERVER; else server=$GR_SERVER; fi
    start_server "$server" "$OUT/d-$stack.server.log"
    line=$(python3 "$ROOT/bench/idle_conns.py" --port="$SERVER_PORT" --pid="$SERVER_PID" \
      --connections="$IDLE_CONNS") || { echo "compare_grpc: idle_conns failed" >&2; stop_server; exit 1; }
    stop_server
    echo "scenario=d stack=$stack $line" | tee -a "$IDLE"
  done
fi

python3 - "$RESULTS" "$IDLE" <<'PY'
import statistics, sys

def parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            kv = dict(t.split("=", 1) for t in line.split() if "=" in t)
            if kv:
                rows.append(kv)
    return rows

rows, idle = parse(sys.argv[1]), parse(sys.argv[2])
num = lambda r, k: float(r[k])

def med(rs, k):
    return statistics.median(num(r, k) for r in rs) if rs else float("nan")

def cpu_per_call(r):  # client CPU over the measured calls + server CPU over all calls of the run
    calls = num(r, "calls")
    total = calls * (1 + num(r, "warmup") / max(num(r, "duration"), 1e-9))
    return (num(r, "client_cpu_s") / max(calls, 1) + num(r, "server_cpu_s") / max(total, 1)) * 1e6

targets = {  # scenario: (metric, label, op, bound)
    "a": ("qps", "QPS ratio", ">=", 3.0),
    "b": ("p50_us", "p50 ratio", "<=", 0.5),
    "c": ("bytes_per_sec", "bytes/s ratio", ">=", 1.5),
}
desc = {"a": "16 B, 1 conn, 128 outstanding", "b": "16 B, 1 conn, 1 outstanding",
        "c": "1 MiB, 1 conn, 16 outstanding"}
hdr = f"{'scen':4} {'stack':13} {'runs':>4} {'qps':>10} {'p50_us':>9} {'p99_us':>9} {'p999_us':>9} {'MB/s':>9} {'errors':>6} {'cli_cpu_s':>9} {'srv_cpu_s':>9} {'cpu_us/call':>11} {'srv_thr':>7} {'load1':>5}"
print()
print(hdr)
print("-" * len(hdr))
verdicts = []
for scen in sorted({r["scenario"] for r in rows}):
    by_stack = {}
    for r in rows:
        if r["scenario"] == scen:
            by_stack.setdefault(r["stack"], []).append(r)
    for stack, rs in sorted(by_stack.items()):
        print(f"{scen:4} {stack:13} {len(rs):4} {med(rs,'qps'):10.0f} {med(rs,'p50_us'):9.1f} "
              f"{med(rs,'p99_us'):9.1f} {med(rs,'p999_us'):9.1f} {med(rs,'bytes_per_sec')/1e6:9.1f} "
              f"{sum(int(r['errors']) for r in rs):6d} {med(rs,'client_cpu_s'):9.2f} "
              f"{med(rs,'server_cpu_s'):9.2f} {statistics.median(cpu_per_call(r) for r in rs):11.2f} "
              f"{med(rs,'server_threads'):7.0f} {med(rs,'load1'):5.2f}")
    dg = by_stack.get("dougong")
    gr = next((v for k, v in by_stack.items() if k.startswith("grpc")), None)
    if scen in targets and dg and gr:
        metric, label, op, bound = targets[scen]
        g = med(gr, metric)
        ratio = med(dg, metric) / g if g else float("nan")
        ok = ratio >= bound if op == ">=" else ratio <= bound
        verdicts.append(f"({scen}) {desc[scen]:32} {label:14} dougong/grpc = {ratio:6.2f}   "
                        f"target {op} {bound:g}x   {'PASS' if ok else 'FAIL'}")
if idle:
    for r in idle:
        line = (f"(d) {r['connections']} idle connections, {r['stack']:8} rss_mib = "
                f"{float(r['rss_mib']):7.1f} (baseline {float(r['baseline_rss_mib']):.1f}, "
                f"{float(r['per_conn_kib']):.1f} KiB/conn)")
        if r["stack"] == "dougong":
            ok = float(r["rss_mib"]) < 200
            line += f"   target < 200 MiB   {'PASS' if ok else 'FAIL'}"
        else:
            line += "   (for reference)"
        verdicts.append(line)
print()
print("\n".join(verdicts))
PY
