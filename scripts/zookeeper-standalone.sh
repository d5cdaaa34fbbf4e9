#!/usr/bin/env bash
# Runs Apache ZooKeeper 3.8 (Debian's `zookeeper` package) standalone in the
# foreground: the anchor that tests and benchmarks compare keeper with.
#   scripts/zookeeper-standalone.sh DATA_DIR PORT [key=value ...]
# Extra key=value lines go into its zoo.cfg (e.g. extendedTypesEnabled=true).
# With server.N=HOST:QUORUM_PORT:ELECTION_PORT lines it runs as a member of
# that ensemble (QuorumPeerMain) instead; the caller writes DATA_DIR/myid.
# Its defaults otherwise: fsync on, tickTime 2000, all four-letter words on,
# AdminServer off (it would take port 8080).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 DATA_DIR PORT [key=value ...]" >&2; exit 2; }
data=$1 port=$2; shift 2
mkdir -p "$data"
cfg=$data/zoo.cfg
{
  echo "tickTime=2000"
  echo "dataDir=$data"
  echo "clientPort=$port"
  echo "clientPortAddress=127.0.0.1"
  echo "admin.enableServer=false"
  echo "4lw.commands.whitelist=*"
  echo "maxClientCnxns=0"
  for kv in "$@"; do echo "$kv"; done
} > "$cfg"
main=org.apache.zookeeper.server.ZooKeeperServerMain
for kv in "$@"; do
  if [[ $kv == server.* ]]; then main=org.apache.zookeeper.server.quorum.QuorumPeerMain; fi
done
exec java ${ZK_JVM_OPTS:-} -cp /etc/zookeeper/conf:/usr/share/java/zookeeper.jar \
  -Dzookeeper.log.dir="$data" -Dzookeeper.root.logger=WARN,CONSOLE \
  "$main" "$cfg"
