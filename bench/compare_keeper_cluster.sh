#!/usr/bin/env bash
# A 3-member keeper (`dougong keeper`, replicated on Raft) against a 3-member
# Apache ZooKeeper 3.8 ensemble (Debian's `zookeeper` package), both on
# loopback with fsync on, driven by the same load generator (bench/zk_bench),
# in one run: issue 5's benchmark. See bench/README.md ("Replicated keeper vs
# a ZooKeeper ensemble").
#
#   bash bench/compare_keeper_cluster.sh
#   SERVERS=zookeeper PARTS=failover bash bench/compare_keeper_cluster.sh
#
# Parts (PARTS, default all three):
#   workloads  set/create/get with connections spread over the 3 members
#              (zk_bench --spread); medians of RUNS runs; ratios keeper/zk.
#   failover   FAILOVERS rounds: find the leader (srvr), kill -9 it while a
#              writer (zk_bench --failover-writer) writes through every
#              member; kill -> new leader in srvr, kill -> first write
#              (issued after the kill) that succeeds; restart the member
#              with the same config and time its catch-up.
#   recovery   ZNODES znodes, then one follower stopped, its data dir wiped
#              and the member restarted with the same config: time until its
#              applied zxid equals the leader's (it must come by snapshot).
#
# Environment (all optional):
#   DURATION=8 WARMUP=2      measured / warmup seconds per workload run
#   RUNS=3                   runs per server and workload (alternating servers)
#   CONNECTIONS=6            zhandles per zk_bench; connection i -> member i % 3
#   OUTSTANDING=32           requests in flight per connection
#   VALUE_SIZE=100 KEYS=10000
#   WORKLOADS="create set get"
#   FAILOVERS=10             leader kills per server
#   ZNODES=1000000           znodes for the recovery part
#   RECOVERY_TIMEOUT=180     seconds a wiped member gets to catch up
#   RECOVERY_MODES="wipe rejoin"   keeper: after the wipe (same config), also
#                            members remove + wipe + join: true + members add
#   TICK_MS=100 ELECTION_TICKS=10   keeper's raft timing (election timeout =
#                            ELECTION_TICKS * TICK_MS, randomized up to 2x)
#   ZK_TICK_MS=2000 ZK_INIT_LIMIT=10 ZK_SYNC_LIMIT=5   the ensemble's timing
#                            (zoo_sample.cfg's values)
#   PARTS="workloads failover recovery"
#   SERVERS="zookeeper keeper"
#   BUILD_DIR=build/bench SKIP_BUILD=1 JOBS=1 DOUGONG=... TMPDIR (as compare_zk.sh)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
RUNS=${RUNS:-3}
CONNECTIONS=${CONNECTIONS:-6}
OUTSTANDING=${OUTSTANDING:-32}
VALUE_SIZE=${VALUE_SIZE:-100}
KEYS=${KEYS:-10000}
WORKLOADS=${WORKLOADS-"create set get"}
FAILOVERS=${FAILOVERS:-10}
ZNODES=${ZNODES:-1000000}
RECOVERY_MODES=${RECOVERY_MODES:-"wipe rejoin"}
RECOVERY_TIMEOUT=${RECOVERY_TIMEOUT:-180}
TICK_MS=${TICK_MS:-100}
ELECTION_TICKS=${ELECTION_TICKS:-10}
ZK_TICK_MS=${ZK_TICK_MS:-2000}
ZK_INIT_LIMIT=${ZK_INIT_LIMIT:-10}
ZK_SYNC_LIMIT=${ZK_SYNC_LIMIT:-5}
PARTS=${PARTS:-"workloads failover recovery"}
SERVERS=${SERVERS:-"zookeeper keeper"}
BUILD_DIR=${BUILD_DIR:-$ROOT/build/bench}
JOBS=${JOBS:-1}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
DOUGONG=${DOUGONG:-$BUILD_DIR/src/dougong}
ZK_SCRIPT=$ROOT/scripts/zookeeper-standalone.sh
MEMBERS=3
source "$ROOT/bench/lib/common.sh"

die() { echo "compare_keeper_cluster: $*" >&2; exit 1; }
has() { [[ " $1 " == *" $2 "* ]]; }
for s in $SERVERS; do
  [[ $s == zookeeper || $s == keeper ]] || die "SERVERS: unknown server '$s' (zookeeper, keeper)"
done
for p in $PARTS; do
  [[ $p == workloads || $p == failover || $p == recovery ]] || die "PARTS: unknown part '$p'"
done
[[ -z ${ZK_JVM_OPTS:-} ]] || die "ZK_JVM_OPTS is set ('$ZK_JVM_OPTS'): unset it, ZooKeeper runs with the JVM defaults here"

if [[ -z ${SKIP_BUILD:-} ]]; then
  targets=(zk_bench)
  has "$SERVERS" keeper && targets+=(dougong_cli)
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DDOUGONG_BUILD_BENCH=ON -DDOUGONG_BUILD_TESTS=OFF >/dev/null
  nice -n 10 ninja -C "$BUILD_DIR" -j"$JOBS" "${targets[@]}"
fi
ZK_BENCH=$BUILD_DIR/bench/zk_bench
[[ -x $ZK_BENCH ]] || die "missing $ZK_BENCH (is libzookeeper-mt-dev installed?)"
"$ZK_BENCH" --help 2>&1 | grep -q -- --failover-writer || die "$ZK_BENCH predates --spread/--failover-writer: rebuild it"
if has "$SERVERS" zookeeper; then
  command -v java >/dev/null || die "java not found (Debian: zookeeper package)"
  [[ -r /usr/share/java/zookeeper.jar ]] || die "/usr/share/java/zookeeper.jar missing (Debian: zookeeper package)"
fi
if has "$SERVERS" keeper; then
  [[ -x $DOUGONG ]] || die "missing $DOUGONG"
  "$DOUGONG" keeper --help 2>&1 | grep -q -- '--config' || die "$DOUGONG has no 'keeper --config'"
fi

OUT=$BUILD_DIR/bench-results/keeper-cluster-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
RESULTS=$OUT/results.txt   # workload runs
EXTRA=$OUT/extra.txt       # failover and recovery lines
: >"$RESULTS"
: >"$EXTRA"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/compare_keeper_cluster.XXXXXX")
WRITER_PID=

# ------------------------------------------------------------ the cluster
# One cluster at a time. Member i (1..3): M_PID[i], M_PORT[i] (client port,
# four-letter words too), M_PEER[i] (keeper: raft peer port; zk: quorum
# port), M_ELECT[i] (zk: election port), M_ADMIN[i] (keeper: admin HTTP),
# M_DIR[i] (what "wiping its data" removes), M_CONF[i] (keeper: its YAML),
# M_START_NS[i] (just before its exec).
KIND=
CONNECT=
declare -a M_PID M_PORT M_PEER M_ELECT M_ADMIN M_DIR M_CONF M_START_NS

cleanup() {
  if [[ -n $WRITER_PID ]]; then kill -KILL "$WRITER_PID" 2>/dev/null || true; fi
  for i in "${!M_PID[@]}"; do
    if [[ -n ${M_PID[i]} ]]; then kill -KILL "${M_PID[i]}" 2>/dev/null || true; fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# cluster_setup KIND TAG: ports, dirs and (keeper) YAML files for a fresh cluster.
cluster_setup() {
  KIND=$1
  local tag=$2 base=$WORK/$2 i members=""
  mkdir -p "$base"
  CONNECT=
  for i in $(seq 1 $MEMBERS); do
    M_PID[i]=
    M_PORT[i]=$(free_port)
    M_PEER[i]=$(free_port)
    M_ELECT[i]=$(free_port)
    M_ADMIN[i]=$(free_port)
    M_DIR[i]=$base/m$i
    M_CONF[i]=$base/m$i.yaml
    CONNECT+=${CONNECT:+,}127.0.0.1:${M_PORT[i]}
    members+="    - {id: $i, peer: \"127.0.0.1:${M_PEER[i]}\", client: \"127.0.0.1:${M_PORT[i]}\"}"$'\n'
  done
  [[ $KIND == keeper ]] || return 0
  for i in $(seq 1 $MEMBERS); do
    cat >"${M_CONF[i]}" <<EOF
host: 127.0.0.1
port: ${M_PORT[i]}
admin_port: ${M_ADMIN[i]}
data_dir: ${M_DIR[i]}
cluster:
  id: $i
  members:
$members  tick_ms: $TICK_MS
  election_ticks: $ELECTION_TICKS
  heartbeat_ticks: 1
EOF
    sed 's/^  heartbeat_ticks: 1$/&\n  join: true/' "${M_CONF[i]}" >"${M_CONF[i]%.yaml}.join.yaml"
  done
}

# member_start I LOG [CONF]: starts member I (same config every time;
# keeper: CONF instead of its YAML if given).
member_start() {
  local i=$1 log=$2 conf=${3:-${M_CONF[$1]}}
  mkdir -p "${M_DIR[i]}"
  M_START_NS[i]=$(date +%s%N)
  if [[ $KIND == zookeeper ]]; then
    local servers=() j
    for j in $(seq 1 $MEMBERS); do servers+=("server.$j=127.0.0.1:${M_PEER[j]}:${M_ELECT[j]}"); done
    echo "$i" >"${M_DIR[i]}/myid"
    # forceSync=yes is ZooKeeper's default; said here because it is the point.
    bash "$ZK_SCRIPT" "${M_DIR[i]}" "${M_PORT[i]}" "tickTime=$ZK_TICK_MS" "initLimit=$ZK_INIT_LIMIT" \
      "syncLimit=$ZK_SYNC_LIMIT" forceSync=yes "${servers[@]}" >>"$log" 2>&1 &
  else
    "$DOUGONG" keeper --config "$conf" >>"$log" 2>&1 &
  fi
  M_PID[i]=$!
}

member_kill9() {
  local i=$1
  kill -KILL "${M_PID[i]}" 2>/dev/null || true
  wait "${M_PID[i]}" 2>/dev/null || true
  M_PID[i]=
}

member_stop() {
  local i=$1 pid=${M_PID[$1]}
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  member_kill9 "$i"
}

cluster_stop() {
  local i
  for i in $(seq 1 $MEMBERS); do member_stop "$i"; done
}

# member_mode I: leader|follower|observer, empty if it does not serve.
member_mode() { flw "${M_PORT[$1]}" srvr 2>/dev/null | sed -n 's/^Mode: //p'; }

# member_zxid I: the last zxid member I applied, in decimal; empty if unknown.
# keeper: mntr's zk_raft_applied_index; ZooKeeper: srvr's Zxid (hex).
member_zxid() {
  if [[ $KIND == keeper ]]; then
    flw "${M_PORT[$1]}" mntr 2>/dev/null | awk '$1 == "zk_raft_applied_index" {print $2}'
  else
    local z
    z=$(flw "${M_PORT[$1]}" srvr 2>/dev/null | sed -n 's/^Zxid: //p')
    if [[ -n $z ]]; then echo $((z)); fi
  fi
}

# find_leader: sets LEADER to the member whose srvr says leader (0: none).
find_leader() {
  local i
  LEADER=0
  for i in $(seq 1 $MEMBERS); do
    [[ -n ${M_PID[i]} ]] || continue
    if [[ $(member_mode "$i") == leader ]]; then
      LEADER=$i
      return 0
    fi
  done
  return 1
}

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# cluster_wait_ready SECONDS: one leader, every running member leader or
# follower, and (keeper) every member's applied zxid equal to the leader's.
cluster_wait_ready() {
  local limit=$1 t0 i ok
  t0=$(now_ms)
  while (($(now_ms) - t0 < limit * 1000)); do
    if find_leader; then
      ok=1
      for i in $(seq 1 $MEMBERS); do
        [[ -n ${M_PID[i]} ]] || continue
        member_caught_up "$i" || { ok=0; break; }
      done
      ((ok)) && return 0
    fi
    sleep 0.05
  done
  return 1
}

# member_caught_up I: I serves as leader or follower and has what the leader
# has (LEADER must be current). keeper: its applied zxid (Raft index) is the
# leader's. ZooKeeper: a follower serves (srvr shows its Mode) only once its
# sync with the leader is done, and its Node count is the leader's; zxids
# can't be compared there: a new leader's Zxid is <epoch>00000000 while
# its followers show the last txn they applied until the next write.
member_caught_up() {
  local i=$1 mode l m
  mode=$(member_mode "$i")
  [[ $mode == leader ]] && return 0
  [[ $mode == follower || $mode == observer ]] || return 1
  if [[ $KIND == keeper ]]; then
    l=$(member_zxid "$LEADER")
    m=$(member_zxid "$i")
  else
    l=$(flw "${M_PORT[LEADER]}" srvr 2>/dev/null | sed -n 's/^Node count: //p')
    m=$(flw "${M_PORT[i]}" srvr 2>/dev/null | sed -n 's/^Node count: //p')
  fi
  [[ -n $l && -n $m ]] && ((m >= l))
}

cluster_start() {
  local tag=$1 i
  for i in $(seq 1 $MEMBERS); do member_start "$i" "$OUT/$tag.m$i.log"; done
  if ! cluster_wait_ready 120; then
    for i in $(seq 1 $MEMBERS); do
      echo "--- member $i (pid ${M_PID[i]}, port ${M_PORT[i]}): srvr: $(member_mode "$i")" >&2
      tail -n 20 "$OUT/$tag.m$i.log" >&2
    done
    die "$KIND cluster ($tag) did not elect a leader and sync within 120 s"
  fi
}

cluster_cpu() {  # summed CPU seconds of the running members
  local i sum=0
  for i in $(seq 1 $MEMBERS); do
    if [[ -n ${M_PID[i]} ]]; then
      sum=$(awk -v a="$sum" -v b="$(cpu_seconds "${M_PID[i]}")" 'BEGIN {printf "%.3f", a + b}')
    fi
  done
  echo "$sum"
}
cluster_rss() {
  local i sum=0
  for i in $(seq 1 $MEMBERS); do
    if [[ -n ${M_PID[i]} ]]; then
      sum=$(awk -v a="$sum" -v b="$(rss_mib "${M_PID[i]}")" 'BEGIN {printf "%.1f", a + b}')
    fi
  done
  echo "$sum"
}

bench_args=(--connections "$CONNECTIONS" --outstanding "$OUTSTANDING" --value-size "$VALUE_SIZE")

echo "# results: $OUT (SERVERS='$SERVERS' PARTS='$PARTS' DURATION=$DURATION WARMUP=$WARMUP RUNS=$RUNS CONNECTIONS=$CONNECTIONS OUTSTANDING=$OUTSTANDING VALUE_SIZE=$VALUE_SIZE KEYS=$KEYS FAILOVERS=$FAILOVERS ZNODES=$ZNODES data=$WORK cores=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg))"
has "$SERVERS" keeper && echo "# keeper: tick_ms=$TICK_MS election_ticks=$ELECTION_TICKS heartbeat_ticks=1 (election timeout $((TICK_MS * ELECTION_TICKS)) ms, randomized up to 2x)"
has "$SERVERS" zookeeper && echo "# ZooKeeper: $(java -version 2>&1 | head -n 1), QuorumPeerMain, tickTime=$ZK_TICK_MS initLimit=$ZK_INIT_LIMIT syncLimit=$ZK_SYNC_LIMIT forceSync=yes, JVM defaults: $(java_heap)"

# -------------------------------------------------------------- workloads
run_one() {
  local work=$1 name=$2 run=$3 tag=$1-$2-$3
  cluster_setup "$name" "$tag"
  cluster_start "$tag"
  local cpu0 cpu1 line
  cpu0=$(cluster_cpu)
  if ! line=$("$ZK_BENCH" --servers "$CONNECT" --spread --workload "$work" "${bench_args[@]}" \
      --keys "$KEYS" --duration "$DURATION" --warmup "$WARMUP" --keep 2>"$OUT/$tag.client.err"); then
    cat "$OUT/$tag.client.err" >&2
    die "zk_bench failed against $name"
  fi
  cpu1=$(cluster_cpu)
  local rss load1
  rss=$(cluster_rss)
  load1=$(cut -d' ' -f1 /proc/loadavg)
  cluster_stop
  rm -rf "$WORK/$tag"
  echo "server=$name run=$run $line server_cpu_s=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {printf "%.3f", b - a}') server_rss_mib=$rss load1=$load1" |
    tee -a "$RESULTS"
}

read -r -a servers <<<"$SERVERS"
if has "$PARTS" workloads; then
  run_workloads "$WORKLOADS" "$RUNS" "${servers[@]}"
fi

# --------------------------------------------------------------- failover
# wait_caught_up I SECONDS: until member I has what the (current) leader has.
wait_caught_up() {
  local i=$1 limit=$2 t0
  t0=$(now_ms)
  while (($(now_ms) - t0 < limit * 1000)); do
    if find_leader && member_caught_up "$i"; then return 0; fi
    sleep 0.02
  done
  return 1
}

failover() {
  local name=$1 tag=failover-$1 r
  cluster_setup "$name" "$tag"
  cluster_start "$tag"
  for r in $(seq 1 "$FAILOVERS"); do
    find_leader || die "$name: no leader before round $r"
    local old=$LEADER wout=$OUT/$tag.writer.$r.out
    "$ZK_BENCH" --servers "$CONNECT" --failover-writer --root /failover --value-size "$VALUE_SIZE" \
      >"$wout" 2>"$OUT/$tag.writer.$r.err" &
    WRITER_PID=$!
    wait_for "$wout" '^writer=ready' 30 || die "$name: the failover writer did not start (round $r)"
    sleep 0.5
    local t0 t_leader="" i new=0
    t0=$(now_ms)
    kill -USR1 "$WRITER_PID"
    kill -KILL "${M_PID[old]}"
    # kill -> a survivor says leader in srvr (polled every ~5 ms). stderr off:
    # bash reports the killed job ("Killed ...") wherever it reaps it.
    {
      while (($(now_ms) - t0 < 60000)); do
        for i in $(seq 1 $MEMBERS); do
          ((i == old)) && continue
          if [[ $(member_mode "$i") == leader ]]; then new=$i; t_leader=$(now_ms); break 2; fi
        done
        sleep 0.005
      done
      wait "${M_PID[old]}" || true
    } 2>/dev/null
    M_PID[old]=
    [[ -n $t_leader ]] || die "$name: no new leader within 60 s of killing member $old (round $r)"
    wait_for "$wout" '^first_write_ms=' 60 || die "$name: no write succeeded within 60 s of the kill (round $r)"
    kill -TERM "$WRITER_PID" 2>/dev/null || true
    wait "$WRITER_PID" 2>/dev/null || true
    WRITER_PID=
    local wline
    wline=$(grep -m1 '^first_write_ms=' "$wout")
    # Restart the killed member with the same config; time its catch-up.
    member_start "$old" "$OUT/$tag.m$old.log"
    wait_caught_up "$old" 120 || die "$name: member $old did not catch up within 120 s of its restart (round $r)"
    local catchup_ms=$((($(date +%s%N) - M_START_NS[old]) / 1000000))
    echo "part=failover server=$name round=$r killed=$old new_leader=$new leader_ms=$((t_leader - t0)) $wline catchup_ms=$catchup_ms $(grep '^writer=stopped' "$wout" | sed 's/writer=stopped //')" |
      tee -a "$EXTRA"
  done
  cluster_stop
  rm -rf "$WORK/$tag"
}

if has "$PARTS" failover; then
  for name in "${servers[@]}"; do failover "$name"; done
fi

# --------------------------------------------------------------- recovery
# recovered F MODE BEFORE_MIB: after member F was restarted with a wiped data
# dir, waits (RECOVERY_TIMEOUT) until it has caught up, then writes a
# part=recovery line (recovery_ms=timeout if it never did).
recovered() {
  local f=$1 mode=$2 before=$3 ms after snaps state=""
  if wait_caught_up "$f" "$RECOVERY_TIMEOUT"; then
    ms=$((($(date +%s%N) - M_START_NS[f]) / 1000000))
  else
    ms=timeout
    # What it and the leader said when we gave up, for the report.
    state=" member_mntr=$(flw "${M_PORT[f]}" mntr 2>/dev/null | grep -E 'server_state|applied_index|snapshot_index' | tr '\t\n' ':,')"
    if find_leader; then
      state+=" leader_mntr=$(flw "${M_PORT[LEADER]}" mntr 2>/dev/null | grep -E 'applied_index|snapshot_index|lag' | tr '\t\n' ':,')"
    fi
  fi
  after=$(du -sm "${M_DIR[f]}" | cut -f1)
  # Evidence of how it came back: the snapshot files it now holds.
  snaps=$(find "${M_DIR[f]}" -type f -name '*snap*' -printf '%f:%s\n' | sort | paste -sd, -)
  echo "part=recovery server=$KIND mode=$mode member=$f znodes=$ZNODES leader_zxid=$(member_zxid "$LEADER") zxid=$(member_zxid "$f") recovery_ms=$ms data_mib_before=$before data_mib_after=$after rss_mib=$(rss_mib "${M_PID[f]}") snapshot_files=${snaps:-none}$state" |
    tee -a "$EXTRA"
}

recovery() {
  local name=$1 tag=recovery-$1 line i
  cluster_setup "$name" "$tag"
  cluster_start "$tag"
  line=$("$ZK_BENCH" --servers "$CONNECT" --spread "${bench_args[@]}" --load "$ZNODES" --root /big \
    2>>"$OUT/$tag.client.err") || die "loading $ZNODES znodes into the $name cluster failed"
  echo "part=load server=$name $line" | tee -a "$EXTRA"
  cluster_wait_ready 300 || die "$name: members did not converge after the load"
  local f=0 before
  for i in $(seq 1 $MEMBERS); do ((i != LEADER)) && { f=$i; break; }; done
  # wipe: stop it, wipe its data dir, start it with the same config.
  member_stop "$f"
  before=$(du -sm "${M_DIR[f]}" | cut -f1)
  rm -rf "${M_DIR[f]}"
  member_start "$f" "$OUT/$tag.m$f.log"
  recovered "$f" wipe "$before"
  # rejoin (keeper): the way to bring back a member whose Raft state is
  # gone without relying on the leader noticing: remove it from the
  # membership, wipe it, start it with cluster.join: true, add it again.
  if [[ $name == keeper ]] && has "$RECOVERY_MODES" rejoin; then
    find_leader || die "keeper: no leader before the rejoin"
    "$DOUGONG" keeper members remove --peer "127.0.0.1:${M_PEER[LEADER]}" --id "$f" >>"$OUT/$tag.members.log" 2>&1 ||
      die "keeper: members remove --id $f failed (see $OUT/$tag.members.log)"
    member_stop "$f"
    before=$(du -sm "${M_DIR[f]}" | cut -f1)
    rm -rf "${M_DIR[f]}"
    member_start "$f" "$OUT/$tag.m$f.log" "${M_CONF[f]%.yaml}.join.yaml"
    "$DOUGONG" keeper members add --peer "127.0.0.1:${M_PEER[LEADER]}" --id "$f" \
      --address "127.0.0.1:${M_PEER[f]}" --client "127.0.0.1:${M_PORT[f]}" >>"$OUT/$tag.members.log" 2>&1 ||
      die "keeper: members add --id $f failed (see $OUT/$tag.members.log)"
    recovered "$f" rejoin "$before"
  fi
  cluster_stop
  rm -rf "$WORK/$tag"
}

if has "$PARTS" recovery && ((ZNODES > 0)); then
  for name in "${servers[@]}"; do recovery "$name"; done
fi

# ----------------------------------------------------------------- report
python3 "$ROOT/bench/lib/keeper_cluster_report.py" "$RESULTS" "$EXTRA" "$((TICK_MS * ELECTION_TICKS))" "$ZK_TICK_MS" "$ZK_SYNC_LIMIT" |
  tee "$OUT/summary.txt"
echo "# raw lines and logs: $OUT"
