#!/usr/bin/env bash
# Builds Dougong's libFuzzer targets with clang-14 in build/fuzz (a separate
# CMake project, tests/fuzz/CMakeLists.txt) and runs each for the given
# number of seconds (default 60) over a copy of its seed corpus.
#
#   tests/fuzz/run.sh [seconds]
#
# Exits non-zero if the build fails or a target finds a crash, leak, timeout
# or undefined behaviour; the reproducer is left in build/fuzz/artifacts/.
# Environment: FUZZ_JOBS (ninja -j, default 1), FUZZ_TARGETS (default all five),
# FUZZ_BUILD_DIR (default <repo>/build/fuzz).
set -euo pipefail

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: $0 [seconds]" >&2
  exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/build/fuzz}"
targets=(${FUZZ_TARGETS:-frame_decoder_fuzz http_request_fuzz jute_fuzz keeper_dispatch_fuzz multicast_datagram_fuzz})

for tool in clang-14 clang++-14 cmake ninja; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (scripts/install-deps.sh test)" >&2; exit 2; }
done

if [ ! -f "$build/build.ninja" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
nice -n 10 ninja -C "$build" -j "${FUZZ_JOBS:-1}" "${targets[@]}"

# libFuzzer adds what it finds to the first corpus directory: work on a copy
# so the checked-in seeds stay as they are.
mkdir -p "$build/artifacts"
status=0
for t in "${targets[@]}"; do
  seeds="$here/corpus/${t%_fuzz}"
  corpus="$build/corpus/${t%_fuzz}"
  rm -rf "$corpus"
  mkdir -p "$corpus"
  cp "$seeds"/* "$corpus"/
  echo "run.sh: fuzzing $t for ${seconds}s" >&2
  max_len=4096
  [ "$t" = frame_decoder_fuzz ] && max_len=16384  # frames spanning several read blocks
  [ "$t" = multicast_datagram_fuzz ] && max_len=9000  # past the 8 KiB datagram limit
  set +e
  ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}" \
    nice -n 10 "$build/$t" "$corpus" \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len="$max_len" -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$t-" >"$build/$t.log" 2>&1
  rc=$?
  set -e
  # The log without libFuzzer's progress lines and recommended dictionary.
  awk '/^###### Recommended dictionary/ {skip=1} !skip && !/^#[0-9]+\t(NEW|REDUCE|pulse|INITED)/ {print}
       /^###### End of recommended dictionary/ {skip=0}' "$build/$t.log" | tail -n 80 >&2 || true
  if [ "$rc" -ne 0 ]; then
    echo "run.sh: $t FAILED (exit $rc); reproducer in $build/artifacts/, log in $build/$t.log" >&2
    echo "run.sh: reproduce with: $build/$t <artifact>" >&2
    status=1
  else
    echo "run.sh: $t OK ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/$t.log" | grep -o '[0-9]*$') runs)" >&2
  fi
done
exit $status
