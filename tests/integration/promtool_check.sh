#!/usr/bin/env bash
# Starts `dougong dev` on a free port, makes a few calls so every metric
# family has samples, and checks /metrics with `promtool check metrics`.
set -euo pipefail
bin=$1
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
"$bin" dev --listen 127.0.0.1:0 >"$work/dev.log" 2>&1 &
pid=$!
for _ in $(seq 300); do
  grep -q "on port" "$work/dev.log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/dev.log"; exit 1; }
  sleep 0.1
done
port=$(grep -o "on port [0-9]*" "$work/dev.log" | awk '{print $3}')
[ -n "$port" ] || { echo "server did not start"; cat "$work/dev.log"; exit 1; }
"$bin" call "127.0.0.1:$port" dougong.example.EchoService/Echo '{"message":"m"}' >/dev/null
"$bin" call "127.0.0.1:$port" dougong.example.EchoService/Nope '{}' >/dev/null 2>&1 || true
curl -sf "http://127.0.0.1:$port/metrics" >"$work/metrics.txt"
grep -q 'dougong_rpc_server_requests_total{method="dougong.example.EchoService/Echo",code="OK"} 1' "$work/metrics.txt"
promtool check metrics <"$work/metrics.txt"
echo "promtool: ok ($(wc -l <"$work/metrics.txt") lines)"
