#!/usr/bin/env bash
# Installs the Debian 12 packages Dougong needs to build, test and benchmark.
# Idempotent: does nothing when everything is present, and runs
# `apt-get update` only when something is missing.
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev libprotobuf-dev libprotoc-dev protobuf-compiler
  libspdlog-dev libfmt-dev libcli11-dev libyaml-cpp-dev
  libssl-dev libzstd-dev liblz4-dev
)
test_pkgs=(
  libgtest-dev libgmock-dev python3 python3-pytest curl
  clang-14 libclang-rt-14-dev prometheus
  zookeeper python3-kazoo libzookeeper-mt-dev
  iproute2 iptables
)
bench_pkgs=(libbenchmark-dev libgrpc++-dev protobuf-compiler-grpc)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test) want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  all) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|bench|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
