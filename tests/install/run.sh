#!/usr/bin/env bash
# Installs a Dougong build into a scratch prefix, builds examples/ against it
# as an outside project would, then runs echo_server and echo_client.
#
#   run.sh BUILD_DIR EXAMPLES_DIR WORK_DIR CXX_COMPILER BUILD_TYPE "EXTRA_CXX_FLAGS"
set -euo pipefail

build_dir=$1
examples_dir=$2
work=$3
cxx=$4
build_type=${5:-Debug}
extra_flags=${6:-}

prefix=$work/prefix
ex_build=$work/build
server_out=$work/server.out
server_pid=

cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

rm -rf "$work"
mkdir -p "$work"

echo "== install $build_dir into $prefix"
cmake --install "$build_dir" --prefix "$prefix"

for f in include/dougong/rpc/server.h lib/libdougong.a bin/dougong bin/protoc-gen-dougong \
         lib/cmake/dougong/dougongConfig.cmake; do
  [[ -e $prefix/$f ]] || fail "installed tree lacks $f"
done

echo "== configure examples (CXX_FLAGS='$extra_flags')"
cmake -S "$examples_dir" -B "$ex_build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE="$build_type" \
  -DCMAKE_CXX_FLAGS="$extra_flags"

echo "== build examples"
ninja -C "$ex_build" -j2

echo "== start echo_server on a free port"
"$ex_build/echo_server" 0 >"$server_out" 2>&1 &
server_pid=$!

# Wait for the "listening on PORT" line, at most 60 s.
port=
deadline=$((SECONDS + 60))
while (( SECONDS < deadline )); do
  port=$(sed -n 's/^listening on \([0-9][0-9]*\)$/\1/p' "$server_out")
  [[ -n $port ]] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    cat "$server_out" >&2
    fail "echo_server exited before listening"
  fi
  sleep 0.1
done
if [[ -z $port ]]; then
  cat "$server_out" >&2
  fail "echo_server did not print 'listening on PORT' within 60 s"
fi
echo "server pid $server_pid listening on $port"

echo "== run echo_client"
client_rc=0
timeout 120 "$ex_build/echo_client" "127.0.0.1:$port" || client_rc=$?

echo "== stop echo_server"
kill -TERM "$server_pid"
server_rc=0
deadline=$((SECONDS + 30))
while kill -0 "$server_pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.1; done
if kill -0 "$server_pid" 2>/dev/null; then
  cat "$server_out" >&2
  fail "echo_server did not stop within 30 s of SIGTERM"
fi
wait "$server_pid" || server_rc=$?
server_pid=
echo "--- server output"
cat "$server_out"

(( client_rc == 0 )) || fail "echo_client exited with $client_rc"
(( server_rc == 0 )) || fail "echo_server exited with $server_rc after SIGTERM"
echo "PASS"
