#!/usr/bin/env bash
# `dougong zk` as users drive it, against Apache ZooKeeper 3.8 started here
# on a free loopback port (killed by PID on exit).
#   zk_cli_check.sh DOUGONG_BIN SOURCE_DIR
set -euo pipefail
bin=$1 src=$2
dir=$(mktemp -d /tmp/zk_cli_check.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
bash "$src/scripts/zookeeper-standalone.sh" "$dir/data" "$port" extendedTypesEnabled=true >"$dir/zk.log" 2>&1 &
zk_pid=$!
watch_pid=
cleanup() {
  [ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null || true
  kill "$zk_pid" 2>/dev/null || true
  wait "$zk_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

zk() { "$bin" zk -s "127.0.0.1:$port" --timeout-ms 10000 "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_eq() { [ "$1" = "$2" ] || fail "expected [$2], got [$1]"; }

# Wait for the server: the client retries until connected.
for _ in $(seq 1 60); do
  if zk ls / >/dev/null 2>&1; then break; fi
  sleep 0.5
done
zk ls / >/dev/null || fail "server did not come up"

expect_eq "$(zk create /cli hello)" "Created /cli"
expect_eq "$(zk get /cli)" "hello"
zk set /cli world
expect_eq "$(zk get /cli)" "world"
zk get -s /cli | grep -qx "dataVersion = 1" || fail "get -s shows no dataVersion = 1"
zk stat /cli | grep -qx "dataLength = 5" || fail "stat"
expect_eq "$(zk stat /cli | wc -l)" "11"
expect_eq "$(zk create -s /cli/s- x)" "Created /cli/s-0000000000"
expect_eq "$(zk create /cli/b)" "Created /cli/b"
expect_eq "$(zk create -t 60000 /cli/ttl)" "Created /cli/ttl"
expect_eq "$(zk create -c /cli/cont)" "Created /cli/cont"
expect_eq "$(zk ls /cli)" "[b, cont, s-0000000000, ttl]"
expect_eq "$(zk ls -R /cli | head -2)" "$(printf '/cli\n/cli/b')"

# Errors: the ZooKeeper code name and a non-zero exit.
out=$(zk get /nope 2>&1) && fail "get /nope succeeded"
echo "$out" | grep -q "NONODE" || fail "no NONODE in: $out"
out=$(zk create /cli 2>&1) && fail "create existing succeeded"
echo "$out" | grep -q "NODEEXISTS" || fail "no NODEEXISTS in: $out"
out=$(zk set -v 7 /cli x 2>&1) && fail "set with bad version succeeded"
echo "$out" | grep -q "BADVERSION" || fail "no BADVERSION in: $out"
out=$(zk delete /cli 2>&1) && fail "delete non-empty succeeded"
echo "$out" | grep -q "NOTEMPTY" || fail "no NOTEMPTY in: $out"
out=$("$bin" zk -s "127.0.0.1:notaport" ls / 2>&1) && fail "bad connect string accepted"
echo "$out" | grep -q "connect string" || fail "unclear bad connect string message: $out"

# ACLs and auth: --auth, and addauth before other commands after ';'.
zk --auth digest:u:pw create /cli/secret s
zk --auth digest:u:pw setAcl /cli/secret auth::crwda
zk --auth digest:u:pw getAcl /cli/secret | head -1 | grep -q "^'digest,'u:" || fail "getAcl: $(zk --auth digest:u:pw getAcl /cli/secret 2>&1)"
out=$(zk get /cli/secret 2>&1) && fail "read without auth succeeded"
echo "$out" | grep -q "NOAUTH" || fail "no NOAUTH in: $out"
expect_eq "$(zk addauth digest u:pw \; get /cli/secret)" "s"
expect_eq "$(zk --auth digest:u:pw get /cli/secret)" "s"
zk --auth digest:u:pw setAcl /cli/secret world:anyone:r
expect_eq "$(zk getAcl /cli/secret)" "$(printf "'world,'anyone\n: r")"

# watch: persistent recursive, two events.
zk watch -r --count 2 /cli >"$dir/watch.out" 2>&1 &
watch_pid=$!
for _ in $(seq 1 100); do grep -q "^watching" "$dir/watch.out" && break; sleep 0.1; done
grep -q "^watching" "$dir/watch.out" || fail "watch did not start: $(cat "$dir/watch.out")"
zk set /cli/b 1
zk delete /cli/b
wait "$watch_pid" || fail "watch failed: $(cat "$dir/watch.out")"
watch_pid=
grep -qx "WatchedEvent state:SyncConnected type:NodeDataChanged path:/cli/b" "$dir/watch.out" || fail "$(cat "$dir/watch.out")"
grep -qx "WatchedEvent state:SyncConnected type:NodeDeleted path:/cli/b" "$dir/watch.out" || fail "$(cat "$dir/watch.out")"

# Chroot and deleteall.
"$bin" zk -s "127.0.0.1:$port/cli" create /inner x >/dev/null
expect_eq "$(zk get /cli/inner)" "x"
zk deleteall /cli
out=$(zk stat /cli 2>&1) && fail "deleteall left /cli"
echo "$out" | grep -q NONODE || fail "$out"
echo "zk_cli_check: OK"
