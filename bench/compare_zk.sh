#!/usr/bin/env bash
# keeper vs Apache ZooKeeper 3.8 on the same machine, driven by the same load
# generator (bench/zk_bench, Apache's C client). See bench/README.md
# ("keeper vs ZooKeeper").
#
#   bash bench/compare_zk.sh
#   SERVERS=zookeeper bash bench/compare_zk.sh     # ZooKeeper alone
#
# Environment (all optional):
#   DURATION=8 WARMUP=2      measured / warmup seconds per workload run
#   RUNS=3                   runs per server and workload (alternating servers); medians reported
#   CONNECTIONS=4            zhandles (TCP connections) per zk_bench
#   OUTSTANDING=32           requests in flight per connection
#   VALUE_SIZE=100           bytes per written value
#   KEYS=10000               key space of set/get/exists/mixed (created before measuring)
#   WORKLOADS="create set get exists mixed ephseq"
#   ZNODES=1000000           znodes (VALUE_SIZE bytes each) for memory/restart/snapshot; 0 skips those
#   RESTARTS=3               kill -9 + restart cycles per server
#   SNAP_DURATION=12         measured seconds of each snapshot-stall set run
#   SERVERS="zookeeper keeper"
#   BUILD_DIR=build/bench    Release build tree (configured and built here)
#   SKIP_BUILD=1             use the binaries already in BUILD_DIR
#   JOBS=1                   ninja -j for the build (run under nice -n 10)
#   DOUGONG=$BUILD_DIR/src/dougong   the binary whose `keeper` subcommand is measured
#   TMPDIR                   where the data directories go (the servers fsync there)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
RUNS=${RUNS:-3}
CONNECTIONS=${CONNECTIONS:-4}
OUTSTANDING=${OUTSTANDING:-32}
VALUE_SIZE=${VALUE_SIZE:-100}
KEYS=${KEYS:-10000}
WORKLOADS=${WORKLOADS-"create set get exists mixed ephseq"}  # empty: none
ZNODES=${ZNODES:-1000000}
RESTARTS=${RESTARTS:-3}
SNAP_DURATION=${SNAP_DURATION:-12}
SERVERS=${SERVERS:-"zookeeper keeper"}
BUILD_DIR=${BUILD_DIR:-$ROOT/build/bench}
JOBS=${JOBS:-1}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
DOUGONG=${DOUGONG:-$BUILD_DIR/src/dougong}
ZK_SCRIPT=$ROOT/scripts/zookeeper-standalone.sh
source "$ROOT/bench/lib/common.sh"

die() { echo "compare_zk: $*" >&2; exit 1; }
has_server() { [[ " $SERVERS " == *" $1 "* ]]; }
for s in $SERVERS; do
  [[ $s == zookeeper || $s == keeper ]] || die "SERVERS: unknown server '$s' (zookeeper, keeper)"
done
[[ -z ${ZK_JVM_OPTS:-} ]] || die "ZK_JVM_OPTS is set ('$ZK_JVM_OPTS'): unset it, ZooKeeper runs with the JVM defaults here"

if [[ -z ${SKIP_BUILD:-} ]]; then
  targets=(zk_bench)
  has_server keeper && targets+=(dougong_cli)
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DDOUGONG_BUILD_BENCH=ON -DDOUGONG_BUILD_TESTS=OFF >/dev/null
  nice -n 10 ninja -C "$BUILD_DIR" -j"$JOBS" "${targets[@]}"
fi
ZK_BENCH=$BUILD_DIR/bench/zk_bench
[[ -x $ZK_BENCH ]] || die "missing $ZK_BENCH (is libzookeeper-mt-dev installed?)"
if has_server zookeeper; then
  command -v java >/dev/null || die "java not found (Debian: zookeeper package)"
  [[ -r /usr/share/java/zookeeper.jar ]] || die "/usr/share/java/zookeeper.jar missing (Debian: zookeeper package)"
fi
if has_server keeper; then
  [[ -x $DOUGONG ]] || die "missing $DOUGONG"
  # CLI11 prints the top-level help (exit 0) for an unknown subcommand with
  # --help, so look for keeper's own options in what it prints.
  if ! "$DOUGONG" keeper --help 2>&1 | grep -q -- '--data-dir'; then
    die "$DOUGONG does not accept the 'keeper' subcommand ('$DOUGONG keeper --help' does not list --data-dir).
  Measure ZooKeeper alone with: SERVERS=zookeeper bash bench/compare_zk.sh"
  fi
  command -v curl >/dev/null || die "curl not found (needed for keeper's POST /snapshot)"
fi

OUT=$BUILD_DIR/bench-results/zk-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
RESULTS=$OUT/results.txt   # workload runs
EXTRA=$OUT/extra.txt       # memory, restart, snapshot lines
KEEPER_EXTRA=()            # extra flags for the next keeper start
: >"$RESULTS"
: >"$EXTRA"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/compare_zk.XXXXXX")
SERVER_PID=
SERVER_PORT=
ADMIN_PORT=0
TRIGGER_PID=

cleanup() {
  if [[ -n $TRIGGER_PID ]]; then kill "$TRIGGER_PID" 2>/dev/null || true; fi
  if [[ -n $SERVER_PID ]]; then kill -KILL "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# start_server NAME DATA_DIR LOG [admin]: starts it on a free loopback port
# (keeper also on a free admin port when asked, else --admin-port 0) and
# sets SERVER_PID, SERVER_PORT, ADMIN_PORT, START_NS (just before the exec).
start_server() {
  local name=$1 dir=$2 log=$3 admin=${4:-}
  SERVER_PORT=$(free_port)
  ADMIN_PORT=0
  [[ $name == keeper && -n $admin ]] && ADMIN_PORT=$(free_port)
  mkdir -p "$dir"
  START_NS=$(date +%s%N)
  if [[ $name == zookeeper ]]; then
    # The script execs java: $! is the JVM. Java as Debian's zkServer.sh
    # starts it: no heap flags, so the JVM's ergonomic defaults apply.
    bash "$ZK_SCRIPT" "$dir" "$SERVER_PORT" >>"$log" 2>&1 &
  else
    "$DOUGONG" keeper --host 127.0.0.1 --port "$SERVER_PORT" --data-dir "$dir" \
      --admin-port "$ADMIN_PORT" "${KEEPER_EXTRA[@]}" >>"$log" 2>&1 &
  fi
  SERVER_PID=$!
}

# wait_ready LOG [PATH VALUE]: until zk_bench reads PATH (default "/").
wait_ready() {
  local log=$1 path=${2:-/} expect=${3:-}
  local args=(--servers "127.0.0.1:$SERVER_PORT" --probe "$path" --probe-timeout 600)
  [[ -n $expect ]] && args+=(--expect "$expect")
  if ! "$ZK_BENCH" "${args[@]}" >>"$log" 2>&1; then
    kill -0 "$SERVER_PID" 2>/dev/null || echo "compare_zk: the server exited:" >&2
    tail -n 40 "$log" >&2
    die "server (pid $SERVER_PID, port $SERVER_PORT) did not serve $path"
  fi
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

kill9_server() {
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

bench_args=(--connections "$CONNECTIONS" --outstanding "$OUTSTANDING" --value-size "$VALUE_SIZE")

# ------------------------------------------------------------ workloads
run_one() {
  local work=$1 name=$2 run=$3
  local dir=$WORK/$work-$name-$run log=$OUT/$work-$name-$run.server.log
  start_server "$name" "$dir" "$log"
  wait_ready "$log"
  local cpu0 cpu1 line
  cpu0=$(cpu_seconds "$SERVER_PID")
  # --keep: the server and its data are thrown away right after.
  if ! line=$("$ZK_BENCH" --servers "127.0.0.1:$SERVER_PORT" --workload "$work" "${bench_args[@]}" \
      --keys "$KEYS" --duration "$DURATION" --warmup "$WARMUP" --keep \
      2>"$OUT/$work-$name-$run.client.err"); then
    cat "$OUT/$work-$name-$run.client.err" >&2
    stop_server
    die "zk_bench failed against $name"
  fi
  cpu1=$(cpu_seconds "$SERVER_PID")
  local rss threads load1
  rss=$(rss_mib "$SERVER_PID")
  threads=$(ls "/proc/$SERVER_PID/task" | wc -l)
  load1=$(cut -d' ' -f1 /proc/loadavg)
  stop_server
  rm -rf "$dir"
  echo "server=$name run=$run $line server_cpu_s=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {printf "%.3f", b - a}') server_rss_mib=$rss server_threads=$threads load1=$load1" |
    tee -a "$RESULTS"
}

echo "# results: $OUT (SERVERS='$SERVERS' DURATION=$DURATION WARMUP=$WARMUP RUNS=$RUNS CONNECTIONS=$CONNECTIONS OUTSTANDING=$OUTSTANDING VALUE_SIZE=$VALUE_SIZE KEYS=$KEYS ZNODES=$ZNODES data=$WORK cores=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg))"
if has_server zookeeper; then
  echo "# ZooKeeper: $(java -version 2>&1 | head -n 1), started like Debian's zkServer.sh (no -Xmx/-Xms): $(java_heap)"
fi
read -r -a servers <<<"$SERVERS"
run_workloads "$WORKLOADS" "$RUNS" "${servers[@]}"

# ------------------------------------- memory, restart, snapshot stall
big_server() {
  local name=$1 dir=$WORK/big-$name log=$OUT/big-$name.server.log
  start_server "$name" "$dir" "$log" admin
  wait_ready "$log"
  sleep 1
  local base line
  base=$(rss_mib "$SERVER_PID")
  line=$("$ZK_BENCH" --servers "127.0.0.1:$SERVER_PORT" "${bench_args[@]}" --load "$ZNODES" --root /big \
    2>>"$OUT/big-$name.client.err") || die "loading $ZNODES znodes into $name failed"
  sleep 2
  local rss heap=""
  rss=$(rss_mib "$SERVER_PID")
  if [[ $name == zookeeper ]] && command -v jcmd >/dev/null; then
    # Live heap after a full GC (measured after VmRSS, so it does not shape it).
    jcmd "$SERVER_PID" GC.run >/dev/null 2>&1 || true
    heap=$(jcmd "$SERVER_PID" GC.heap_info 2>/dev/null |
      awk '/heap/ && /used/ {for (i = 1; i <= NF; i++) if ($i == "used") {v = $(i + 1); sub(/K,?/, "", v); printf " jvm_heap_used_after_gc_mib=%.1f", v / 1024; exit}}')
  fi
  echo "part=memory server=$name znodes=$ZNODES rss_base_mib=$base rss_mib=$rss$heap $line" | tee -a "$EXTRA"

  for i in $(seq 1 "$RESTARTS"); do
    kill9_server
    start_server "$name" "$dir" "$log" admin
    local t0=$START_NS probe
    probe=$("$ZK_BENCH" --servers "127.0.0.1:$SERVER_PORT" --probe /big/marker --expect done \
      --probe-timeout 600 2>>"$log") || { tail -n 40 "$log" >&2; die "$name did not come back after kill -9"; }
    local t1 ms
    t1=$(date +%s%N)
    ms=$(((t1 - t0) / 1000000))
    sleep 1
    echo "part=restart server=$name run=$i znodes=$ZNODES restart_ms=$ms rss_mib=$(rss_mib "$SERVER_PID") $probe" |
      tee -a "$EXTRA"
  done

  # Snapshot stall: the set workload on the loaded server, steady, then with a
  # snapshot in the middle. zk_bench watches the data dir for snapshot files
  # and splits latency into intervals during / outside a snapshot write.
  # keeper is restarted with snapCount out of reach, so that its steady run
  # has no snapshot at all and the snapshot run has exactly the POSTed one
  # (at ~25k sets/s, snap_count 100000 starts one every 4 s, and a paced
  # 200 MB snapshot plus the deletion of the oldest takes about as long:
  # there would be no steady interval left). ZooKeeper runs on its defaults;
  # its steady figure is taken outside its snapshots.
  if [[ $name == keeper ]]; then
    stop_server
    KEEPER_EXTRA=(--snap-count 1000000000)
    start_server "$name" "$dir" "$log" admin
    KEEPER_EXTRA=()
    wait_ready "$log" /big/marker done
  fi
  local sargs=(--servers "127.0.0.1:$SERVER_PORT" --workload set "${bench_args[@]}" --keys "$KEYS"
    --duration "$SNAP_DURATION" --warmup "$WARMUP" --root /snapbench --keep --snap-dir "$dir")
  line=$("$ZK_BENCH" "${sargs[@]}" 2>>"$OUT/big-$name.client.err") || die "snapshot steady run failed ($name)"
  echo "part=snapshot server=$name phase=steady trigger=none $line" | tee -a "$EXTRA"
  local trigger
  if [[ $name == keeper ]]; then
    local at
    at=$(awk -v w="$WARMUP" -v d="$SNAP_DURATION" 'BEGIN {print w + d / 2}')
    trigger="post@${at}s"
    (sleep "$at" && curl -sS -X POST "http://127.0.0.1:$ADMIN_PORT/snapshot" >>"$OUT/big-$name.snapshot-post.txt" 2>&1) &
    TRIGGER_PID=$!
  else
    trigger=snapCount
  fi
  line=$("$ZK_BENCH" "${sargs[@]}" 2>>"$OUT/big-$name.client.err") || die "snapshot run failed ($name)"
  if [[ -n $TRIGGER_PID ]]; then
    wait "$TRIGGER_PID" || echo "compare_zk: POST /snapshot to keeper failed (see $OUT/big-$name.snapshot-post.txt)" >&2
    TRIGGER_PID=
  fi
  echo "part=snapshot server=$name phase=snapshot trigger=$trigger $line" | tee -a "$EXTRA"
  stop_server
  rm -rf "$dir"
}

if ((ZNODES > 0)); then
  for name in "${servers[@]}"; do big_server "$name"; done
fi

# --------------------------------------------------------------- report
python3 - "$RESULTS" "$EXTRA" "$ROOT/bench/lib" <<'PY'
import sys
sys.path.insert(0, sys.argv[3])
from zk_results import compared, med, nan, parse, ratio, runs, workload_table

rows, extra = parse(sys.argv[1]), parse(sys.argv[2])
if rows:
    print()
    workload_table(rows, "server_threads", "srv_thr")
    both = compared(rows)
    if both:
        print()
        print(f"{'workload':8} {'ops/s keeper/zk':>16} {'p99 keeper/zk':>14}")
        for w in both:
            k, z = runs(rows, w, "keeper"), runs(rows, w, "zookeeper")
            print(f"{w:8} {ratio(med(k,'ops_per_sec'), med(z,'ops_per_sec')):16.2f} "
                  f"{ratio(med(k,'p99_us'), med(z,'p99_us')):14.2f}")

mem = {r["server"]: r for r in extra if r.get("part") == "memory"}
if mem:
    print()
    for s, r in mem.items():
        heap = f", JVM live heap after GC {float(r['jvm_heap_used_after_gc_mib']):.0f} MiB" if "jvm_heap_used_after_gc_mib" in r else ""
        print(f"memory   {s:9} {int(r['znodes']):,} znodes x {r['value_size']} B: VmRSS {float(r['rss_mib']):7.1f} MiB "
              f"(empty {float(r['rss_base_mib']):.1f}{heap}); loaded at {float(r['ops_per_sec']):.0f} creates/s, "
              f"p99 {float(r['p99_us']):.0f} us")
    if {"zookeeper", "keeper"} <= mem.keys():
        print(f"memory   VmRSS keeper/zk = {ratio(float(mem['keeper']['rss_mib']), float(mem['zookeeper']['rss_mib'])):.2f}")

rst = {}
for r in extra:
    if r.get("part") == "restart":
        rst.setdefault(r["server"], []).append(r)
if rst:
    print()
    for s, rs in rst.items():
        print(f"restart  {s:9} kill -9 -> node readable: median {med(rs,'restart_ms'):7.0f} ms "
              f"(runs: {', '.join(r['restart_ms'] for r in rs)}; VmRSS after {med(rs,'rss_mib'):.0f} MiB)")
    if {"zookeeper", "keeper"} <= rst.keys():
        print(f"restart  keeper/zk = {ratio(med(rst['keeper'],'restart_ms'), med(rst['zookeeper'],'restart_ms')):.2f}")

snap = {}
for r in extra:
    if r.get("part") == "snapshot":
        snap.setdefault(r["server"], {})[r["phase"]] = r
if snap:
    print()
    print("snapshot stall, set workload on the loaded server (p999 in us; 'during' = intervals overlapping a")
    print("snapshot file being written, padded 200 ms; 'outside' = all other intervals):")
    res = {}
    for s, ph in snap.items():
        st, sn = ph.get("steady"), ph.get("snapshot")
        if not st or not sn:
            continue
        steady = float(st["p999_us"]) if int(st["snapshots"]) == 0 else float(st["calm_p999_us"])
        steady_note = "whole run, no snapshot" if int(st["snapshots"]) == 0 else f"outside its {st['snapshots']} snapshot(s)"
        during = float(sn["snap_p999_us"]) if int(sn["snapshots"]) > 0 and int(sn["snap_ops"]) > 0 else nan
        if during != during:
            print(f"  {s:9} no snapshot was written during the snapshot run (run longer: SNAP_DURATION, or more ZNODES)")
        how = ("POST /snapshot mid-run, the only one (snap_count raised for these runs)" if sn["trigger"].startswith("post") else "its own, snapCount=100000 (default)")
        print(f"  {s:9} trigger: {how}; snapshots seen: steady run {st['snapshots']}, snapshot run {sn['snapshots']} "
              f"(first at {float(sn['snap_first_s']):.1f} s, {float(sn['snap_s']):.1f} s of intervals)")
        print(f"  {s:9} steady p999 {steady:9.0f} ({steady_note}); during p999 {during:9.0f} "
              f"(max {float(sn['snap_max_us']):.0f}); during/steady = {ratio(during, steady):.2f}; "
              f"ops/s {float(st['ops_per_sec']):.0f} steady, {float(sn['ops_per_sec']):.0f} with snapshot")
        res[s] = (steady, during)
    if {"zookeeper", "keeper"} <= res.keys():
        print(f"  during-snapshot p999 keeper/zk = {ratio(res['keeper'][1], res['zookeeper'][1]):.2f}")
PY
