# Helpers the bench/compare_*.sh scripts share. Source it; it defines
# functions only (and CLK_TCK), no side effects.
#   source "$ROOT/bench/lib/common.sh"

CLK_TCK=${CLK_TCK:-$(getconf CLK_TCK)}

# A free TCP port on loopback (free when asked: the caller binds it soon).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# cpu_seconds PID: utime + stime of a process, in seconds. The fields of
# /proc/PID/stat after the ")" that closes the command name start at field 3
# (state), so utime (14) and stime (15) are the 12th and 13th there.
cpu_seconds() {
  local rest
  rest=$(sed 's/^.*) //' "/proc/$1/stat")
  awk -v t="$CLK_TCK" '{printf "%.3f", ($12 + $13) / t}' <<<"$rest"
}

# rss_mib PID: VmRSS in MiB.
rss_mib() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

# field LINE KEY: the value of KEY=... in a key=value line.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

# median X...: the median of the numbers, 3 decimals.
median() { python3 -c 'import statistics, sys; v = [float(x) for x in sys.argv[1:]]; print(f"{statistics.median(v):.3f}")' "$@"; }

# wait_for FILE REGEX SECONDS: until a line of FILE matches (1 if it never does).
wait_for() {
  local file=$1 re=$2 limit=$3 t=0
  until grep -qE "$re" "$file" 2>/dev/null; do
    sleep 0.02
    t=$((t + 1))
    ((t < limit * 50)) || return 1
  done
}

# flw PORT WORD: a ZooKeeper four-letter word (srvr, mntr, ruok ...) to
# 127.0.0.1:PORT; prints the answer, returns 1 if nothing answered within 2 s.
# Bash builtins only (no fork), so it can be polled every few milliseconds.
flw() {
  local fd line got=1
  { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf '%s' "$2" >&"$fd"
  while IFS= read -r -t 2 line <&"$fd" || [[ -n $line ]]; do
    printf '%s\n' "$line"
    got=0
    line=
  done
  exec {fd}>&-
  return $got
}

# java_heap: the heap sizes and collector the JVM picks by itself here.
java_heap() {
  java -XX:+PrintFlagsFinal -version 2>/dev/null |
    awk '$2 == "MaxHeapSize" {mx = $4} $2 == "InitialHeapSize" {ini = $4} $2 == "UseG1GC" && $4 == "true" {gc = "G1"}
         $2 == "UseParallelGC" && $4 == "true" {gc = "Parallel"} $2 == "UseSerialGC" && $4 == "true" {gc = "Serial"}
         END {printf "MaxHeapSize=%.0fMiB InitialHeapSize=%.0fMiB gc=%s", mx / 1048576, ini / 1048576, gc}'
}

# run_workloads "WORKLOADS" RUNS SERVER...: run_one WORK SERVER RUN for each
# workload and run; with two servers, which goes first alternates by run so
# that drift of the machine hurts both alike.
run_workloads() {
  local works=$1 runs=$2 work run name
  shift 2
  local servers=("$@") order
  for work in $works; do
    for run in $(seq 1 "$runs"); do
      order=("${servers[@]}")
      if ((run % 2 == 0)) && ((${#servers[@]} == 2)); then order=("${servers[1]}" "${servers[0]}"); fi
      for name in "${order[@]}"; do run_one "$work" "$name" "$run"; done
    done
  done
}
