#!/usr/bin/env bash
# Drives the `dougong` binary as a user would: starts `dougong dev` on a free
# port, calls it with `dougong call` (native protocol, schema from reflection)
# and with curl (HTTP/JSON), checks the errors users see, and checks /metrics
# with Prometheus' own `promtool check metrics`.
set -euo pipefail
bin=$1
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$bin" dev --listen 127.0.0.1:0 --keeper-port 0 --keeper-admin-port 0 --data-dir "$work/data" >"$work/dev.log" 2>&1 &
pid=$!
for _ in $(seq 300); do
  grep -q "keeper (ZooKeeper protocol) on port" "$work/dev.log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/dev.log"; fail "dougong dev exited"; }
  sleep 0.1
done
port=$(grep -o "EchoService on port [0-9]*" "$work/dev.log" | awk '{print $4}')
[ -n "$port" ] || { cat "$work/dev.log"; fail "server did not start"; }
addr="127.0.0.1:$port"

# Native calls through `dougong call`.
out=$("$bin" call "$addr" dougong.example.EchoService/Echo '{"message":"hello","payload":"aGk="}')
echo "$out" | grep -q '"message": "hello"' || fail "call output: $out"
echo "$out" | grep -q '"payload": "aGk="' || fail "call output: $out"
echo '{"message":"from stdin"}' | "$bin" call "$addr" dougong.example.EchoService/Echo - | grep -q "from stdin" \
  || fail "json from stdin"
"$bin" call --compression zstd -H k=v "$addr" dougong.example.EchoService/Echo '{"message":"z"}' 2>"$work/md" \
  | grep -q '"message": "z"' || fail "zstd call"
grep -q "^k: v" "$work/md" || fail "response metadata not shown: $(cat "$work/md")"
"$bin" call "$addr" --list | grep -qx "dougong.example.EchoService" || fail "--list"

# Errors are clear and the exit code says so.
if "$bin" call "$addr" dougong.example.EchoService/Nope '{}' 2>"$work/err"; then fail "unknown method succeeded"; fi
grep -q "UNIMPLEMENTED" "$work/err" || fail "unknown method: $(cat "$work/err")"
if "$bin" call "$addr" dougong.example.EchoService/Echo '{"message":' 2>"$work/err"; then fail "bad json succeeded"; fi
grep -q "INVALID_ARGUMENT" "$work/err" || fail "bad json: $(cat "$work/err")"
if "$bin" call "$addr" dougong.example.EchoService/Echo '{"sleep_ms":2000}' --timeout-ms 100 2>"$work/err"; then
  fail "timeout not enforced"
fi
grep -q "DEADLINE_EXCEEDED" "$work/err" || fail "timeout: $(cat "$work/err")"
if "$bin" call 127.0.0.1:1 dougong.example.EchoService/Echo '{}' 2>"$work/err"; then fail "dead port succeeded"; fi
grep -q "UNAVAILABLE" "$work/err" || fail "dead port: $(cat "$work/err")"

# HTTP/JSON on the same port.
curl -sf -X POST "http://$addr/dougong.example.EchoService/Echo" -d '{"message":"curl"}' | grep -q '"message":"curl"' \
  || fail "curl call"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://$addr/dougong.example.EchoService/Echo" -d '{bad')
[ "$code" = 400 ] || fail "bad JSON over HTTP gave $code"
curl -sf "http://$addr/health" | grep -q OK || fail "/health"
curl -sf "http://$addr/status" | grep -q "service dougong.example.EchoService" || fail "/status"

# /metrics in the Prometheus text format.
# The cancel for the timed-out call reaches the server shortly after the
# client gave up: wait for it to be counted (bounded).
for _ in $(seq 100); do
  curl -sf "http://$addr/metrics" >"$work/metrics.txt"
  grep -q 'code="DEADLINE_EXCEEDED"' "$work/metrics.txt" && break
  sleep 0.05
done
grep -q 'code="DEADLINE_EXCEEDED"' "$work/metrics.txt" || fail "timeout not counted as DEADLINE_EXCEEDED"
grep -q 'dougong_rpc_server_requests_total{method="dougong.example.EchoService/Echo",code="OK"}' "$work/metrics.txt" \
  || fail "no request counter"
promtool check metrics <"$work/metrics.txt"

# keeper is part of the stack: it answers ruok on its ZooKeeper port.
kport=$(grep -o "keeper (ZooKeeper protocol) on port [0-9]*" "$work/dev.log" | awk '{print $NF}')
[ -n "$kport" ] || { cat "$work/dev.log"; fail "keeper did not start"; }
exec 3<>"/dev/tcp/127.0.0.1/$kport"
printf ruok >&3
answer=$(timeout 5 cat <&3)
exec 3<&-
[ "$answer" = "imok" ] || fail "keeper ruok answered '$answer'"
echo "dev stack: ok"
