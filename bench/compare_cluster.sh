#!/usr/bin/env bash
# The cluster layer's cost and reaction times (issue 4's benchmark), on this
# machine, in one run. See bench/README.md ("Cluster layer").
#
#   bash bench/compare_cluster.sh
#
# 1. Overhead: echo calls through a ClusterChannel over 3 providers against
#    direct channels to 1 provider, each provider an echo_server with one I/O
#    thread. Compared per provider-core: QPS divided by the CPU cores the
#    providers used (from /proc), and the client's CPU per call.
# 2. Deregistration: a consumer (naming_watch, zk:// against `dougong
#    keeper`) timestamps every provider list; the script stops a registered
#    provider gracefully (SIGTERM: it deregisters, then drains) or kills it
#    (SIGKILL: its session must expire), and reports how long until the
#    consumer's list no longer had it.
#
# Environment (all optional):
#   RUNS=3 DURATION=8 WARMUP=2 CONNECTIONS=2 OUTSTANDING=64 PAYLOAD=16
#   CLUSTER_OUTSTANDING=3*OUTSTANDING   calls in flight through the cluster
#                              channels, so each provider sees the load the
#                              direct run gives its one provider
#   LB=roundrobin              the cluster channel's balancer
#   PIN=1                      client on CPU 0, providers on CPU 1 (taskset),
#                              so client and providers never preempt each
#                              other; PIN=0 lets the scheduler place them
#   SESSION_TIMEOUT_MS=4000    providers' ZooKeeper session timeout
#   PARTS="overhead deregister"
#   BUILD_DIR=build/bench SKIP_BUILD=1 JOBS=1 (as bench/compare_zk.sh)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-3}
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-2}
OUTSTANDING=${OUTSTANDING:-64}
PAYLOAD=${PAYLOAD:-16}
CLUSTER_OUTSTANDING=${CLUSTER_OUTSTANDING:-$((3 * OUTSTANDING))}
LB=${LB:-roundrobin}
SESSION_TIMEOUT_MS=${SESSION_TIMEOUT_MS:-4000}
PIN=${PIN:-1}
CLIENT_CPU=() PROVIDER_CPU=()
if [[ $PIN == 1 && $(nproc) -ge 2 ]]; then
  CLIENT_CPU=(taskset -c 0)
  PROVIDER_CPU=(taskset -c 1)
fi
PARTS=${PARTS:-"overhead deregister"}
BUILD_DIR=${BUILD_DIR:-$ROOT/build/bench}
JOBS=${JOBS:-1}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
SERVICE=dougong.example.EchoService
source "$ROOT/bench/lib/common.sh"

die() { echo "compare_cluster: $*" >&2; exit 1; }
has_part() { [[ " $PARTS " == *" $1 "* ]]; }

if [[ -z ${SKIP_BUILD:-} ]]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DDOUGONG_BUILD_BENCH=ON -DDOUGONG_BUILD_TESTS=OFF >/dev/null
  nice -n 10 ninja -C "$BUILD_DIR" -j"$JOBS" echo_server rpc_bench naming_watch dougong_cli
fi
ECHO=$BUILD_DIR/bench/echo_server
RPC_BENCH=$BUILD_DIR/bench/rpc_bench
WATCH=$BUILD_DIR/bench/naming_watch
DOUGONG=$BUILD_DIR/src/dougong
for b in "$ECHO" "$RPC_BENCH" "$WATCH" "$DOUGONG"; do [[ -x $b ]] || die "missing $b"; done

OUT=$BUILD_DIR/bench-results/cluster-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dg-cluster-bench.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT


# start_echo LOG [args...]: sets ECHO_PID and ECHO_PORT once it serves.
start_echo() {
  local log=$1
  shift
  "${PROVIDER_CPU[@]}" "$ECHO" --port 0 --threads 1 "$@" >"$log" 2>&1 &
  ECHO_PID=$!
  PIDS+=("$ECHO_PID")
  wait_for "$log" '^listening on' 20 || die "echo_server did not start: $(tail -5 "$log")"
  ECHO_PORT=$(sed -n 's/^listening on //p' "$log" | head -1)
}

# ------------------------------------------------------------ overhead
if has_part overhead; then
  ports=() pids=()
  for i in 1 2 3; do
    start_echo "$OUT/provider$i.log"
    ports+=("$ECHO_PORT")
    pids+=("$ECHO_PID")
  done
  load=(--connections "$CONNECTIONS" --payload "$PAYLOAD" --duration "$DURATION" --warmup "$WARMUP")
  list="list://127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}"
  declare -A qps per_core client_us
  for run in $(seq 1 "$RUNS"); do
    for kind in direct cluster; do
      if [[ $kind == direct ]]; then
        measured=("${pids[0]}")
        args=(--target "127.0.0.1:${ports[0]}" --outstanding "$OUTSTANDING")
      else
        measured=("${pids[@]}")
        args=(--naming --lb "$LB" --target "$list" --outstanding "$CLUSTER_OUTSTANDING")
      fi
      cpu0=0
      for p in "${measured[@]}"; do cpu0=$(awk -v a="$cpu0" -v b="$(cpu_seconds "$p")" 'BEGIN{print a+b}'); done
      t0=$(date +%s%N)
      line=$("${CLIENT_CPU[@]}" "$RPC_BENCH" "${args[@]}" "${load[@]}")
      t1=$(date +%s%N)
      cpu1=0
      for p in "${measured[@]}"; do cpu1=$(awk -v a="$cpu1" -v b="$(cpu_seconds "$p")" 'BEGIN{print a+b}'); done
      echo "$kind run=$run $line provider_cpu_s=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN{print b-a}')" >>"$OUT/overhead.txt"
      q=$(field "$line" qps)
      calls=$(field "$line" calls)
      ccpu=$(field "$line" client_cpu_s)
      [[ $(field "$line" errors) == 0 ]] || echo "compare_cluster: $kind run $run had errors: $line" >&2
      # Providers' cores over the whole rpc_bench run (warmup included: the
      # load is steady from the first call).
      cores=$(awk -v c0="$cpu0" -v c1="$cpu1" -v t0="$t0" -v t1="$t1" 'BEGIN{printf "%.4f", (c1-c0)/((t1-t0)/1e9)}')
      qps[$kind]+=" $q"
      per_core[$kind]+=" $(awk -v q="$q" -v c="$cores" 'BEGIN{printf "%.1f", q/c}')"
      client_us[$kind]+=" $(awk -v s="$ccpu" -v n="$calls" 'BEGIN{printf "%.3f", s*1e6/n}')"
    done
  done
  {
    echo "## Overhead: cluster channel over 3 providers vs direct channel to 1 (medians of $RUNS runs)"
    echo
    echo "| | direct | cluster ($LB) | cluster / direct |"
    echo "|---|---|---|---|"
    for m in qps per_core client_us; do
      declare -n arr=$m
      d=$(median ${arr[direct]})
      c=$(median ${arr[cluster]})
      label=$m
      [[ $m == per_core ]] && label="QPS per provider-core"
      [[ $m == client_us ]] && label="client CPU µs per call"
      echo "| $label | $d | $c | $(awk -v a="$c" -v b="$d" 'BEGIN{printf "%.3f", a/b}') |"
    done
    echo
  } | tee -a "$OUT/summary.md"
  for p in "${pids[@]}"; do kill -TERM "$p"; wait "$p" 2>/dev/null || true; done
fi

# ------------------------------------------------------------ deregister
if has_part deregister; then
  kport=$(free_port)
  "$DOUGONG" keeper --host 127.0.0.1 --port "$kport" --data-dir "$WORK/keeper" --admin-port 0 \
    >"$OUT/keeper.log" 2>&1 &
  KEEPER_PID=$!
  PIDS+=("$KEEPER_PID")
  for _ in $(seq 1 500); do
    [[ $(python3 -c 'import socket,sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2); s.sendall(b"ruok"); print(s.recv(4).decode())
except OSError: pass' "$kport") == imok ]] && break
    sleep 0.02
  done
  url="zk://127.0.0.1:$kport/dougong?session_timeout_ms=$SESSION_TIMEOUT_MS"
  "$WATCH" --naming "zk://127.0.0.1:$kport/dougong" --service "$SERVICE" >"$OUT/watch.log" 2>&1 &
  PIDS+=("$!")
  declare -A gone_ms
  for run in $(seq 1 "$RUNS"); do
    for how in TERM KILL; do
      start_echo "$OUT/registered-$how-$run.log" --registry "$url"
      addr="127.0.0.1:$ECHO_PORT"
      wait_for "$OUT/watch.log" "addresses=.*$addr" 10 || die "the consumer never saw $addr"
      t0=$(date +%s%N)
      kill -"$how" "$ECHO_PID"
      # The first list after t0 without the address.
      limit=$((SESSION_TIMEOUT_MS / 1000 * 3 + 10))
      found=
      for _ in $(seq 1 $((limit * 50))); do
        found=$(awk -v t0="$t0" -v a="$addr" '{split($1, kv, "="); if (kv[2] > t0 && index($0, a) == 0) {print kv[2]; exit}}' "$OUT/watch.log")
        [[ -n $found ]] && break
        sleep 0.02
      done
      [[ -n $found ]] || die "$addr still listed ${limit}s after SIG$how"
      wait "$ECHO_PID" 2>/dev/null || true
      gone_ms[$how]+=" $(awk -v a="$t0" -v b="$found" 'BEGIN{printf "%.1f", (b-a)/1e6}')"
    done
  done
  {
    echo "## Time until a consumer drops a provider (zk:// on dougong keeper, session timeout $SESSION_TIMEOUT_MS ms, $RUNS runs)"
    echo
    echo "| provider | median ms | runs (ms) |"
    echo "|---|---|---|"
    echo "| graceful stop (SIGTERM: deregister, then drain) | $(median ${gone_ms[TERM]}) |${gone_ms[TERM]} |"
    echo "| killed (SIGKILL: session expiry) | $(median ${gone_ms[KILL]}) |${gone_ms[KILL]} |"
    echo
  } | tee -a "$OUT/summary.md"
fi
echo "compare_cluster: results in $OUT"
