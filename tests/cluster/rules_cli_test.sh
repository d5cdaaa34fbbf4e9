#!/usr/bin/env bash
# `dougong rules` and `dougong config` against a `dougong keeper` this script
# starts on a free loopback port (and stops). Usage: rules_cli_test.sh DOUGONG
set -u
dougong=$1
dir=$(mktemp -d)
keeper_pid=
cleanup() {
  if [ -n "$keeper_pid" ]; then kill "$keeper_pid" 2>/dev/null; wait "$keeper_pid" 2>/dev/null; fi
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$dougong" keeper --host 127.0.0.1 --port 0 --admin-port 0 --data-dir "$dir/data" >"$dir/keeper.out" 2>&1 &
keeper_pid=$!
port=
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*ZooKeeper protocol on 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/keeper.out")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || fail "keeper did not start: $(cat "$dir/keeper.out")"
reg="--registry zk://127.0.0.1:$port/dougong"

cat >"$dir/good.yaml" <<'YAML'
weights:
  - {address: 10.0.0.1:8000, weight: 0}
access:
  blacklist: {apps: [crawler]}
YAML
printf 'flow:\n  - method: Echo\n    qps: lots\n' >"$dir/bad.yaml"

"$dougong" rules set pkg.Echo "$dir/good.yaml" $reg || fail "rules set"
[ "$("$dougong" rules get pkg.Echo $reg)" = "$(cat "$dir/good.yaml")" ] || fail "rules get"
"$dougong" rules set pkg.Other $reg <"$dir/good.yaml" || fail "rules set from stdin"
[ "$("$dougong" rules list $reg | tr '\n' ' ')" = "pkg.Echo pkg.Other " ] || fail "rules list"

"$dougong" rules set pkg.Echo "$dir/bad.yaml" $reg 2>"$dir/err"
rc=$?
[ $rc -eq 2 ] || fail "a bad file: exit $rc, want 2"
grep -q "line 3: flow\[0\].qps: 'lots' is not a number" "$dir/err" || fail "bad file error: $(cat "$dir/err")"
[ "$("$dougong" rules get pkg.Echo $reg)" = "$(cat "$dir/good.yaml")" ] || fail "a bad file replaced the rules"

"$dougong" rules delete pkg.Other $reg || fail "rules delete"
"$dougong" rules get pkg.Other $reg 2>/dev/null && fail "deleted rules still there"

"$dougong" config set apps/web/timeout 500ms $reg || fail "config set"
[ "$("$dougong" config get apps/web/timeout $reg)" = "500ms" ] || fail "config get"
"$dougong" config list apps $reg | grep -qx "apps/web/timeout" || fail "config list"
"$dougong" config delete apps/web/timeout $reg || fail "config delete"
echo "1 passed, 0 failed"
