"""The report of bench/compare_keeper_cluster.sh from its raw lines.

  python3 bench/lib/keeper_cluster_report.py RESULTS EXTRA ELECTION_MS ZK_TICK_MS ZK_SYNC_LIMIT

RESULTS: workload lines (server=... run=... workload=... ops_per_sec=...);
EXTRA: part=failover / part=load / part=recovery lines. Either may be the
concatenation of several runs' files (e.g. a re-run of one part).
"""
import statistics, sys

def parse(path):
    with open(path) as f:
        return [dict(t.split("=", 1) for t in line.split() if "=" in t) for line in f if "=" in line]

rows, extra = parse(sys.argv[1]), parse(sys.argv[2])
election_ms, zk_tick, zk_sync = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
nan = float("nan")
def med(rs, k):
    vals = [float(r[k]) for r in rs if k in r]
    return statistics.median(vals) if vals else nan
def ratio(a, b):
    return a / b if b and b == b and a == a else nan
def verdict(ok):
    return "PASS" if ok else "FAIL"

order = ["create", "set", "get", "exists", "mixed", "ephseq"]
works = sorted({r["workload"] for r in rows}, key=lambda w: order.index(w) if w in order else 99)
if rows:
    hdr = (f"{'workload':8} {'server':9} {'runs':>4} {'ops/s':>9} {'p50_us':>9} {'p99_us':>9} {'p999_us':>9} "
           f"{'errors':>6} {'cli_cpu_s':>9} {'srv_cpu_s':>9} {'srv_rss':>7} {'load1':>5}")
    print()
    print("workloads, 3 members each, connections spread over the members (medians; srv_* summed over members)")
    print(hdr)
    print("-" * len(hdr))
    for w in works:
        for s in ("zookeeper", "keeper"):
            rs = [r for r in rows if r["workload"] == w and r["server"] == s]
            if not rs:
                continue
            print(f"{w:8} {s:9} {len(rs):4} {med(rs,'ops_per_sec'):9.0f} {med(rs,'p50_us'):9.0f} "
                  f"{med(rs,'p99_us'):9.0f} {med(rs,'p999_us'):9.0f} {sum(int(r['errors']) for r in rs):6d} "
                  f"{med(rs,'client_cpu_s'):9.2f} {med(rs,'server_cpu_s'):9.2f} {med(rs,'server_rss_mib'):7.0f} "
                  f"{med(rs,'load1'):5.2f}")
    both = [w for w in works if {r["server"] for r in rows if r["workload"] == w} >= {"zookeeper", "keeper"}]
    if both:
        print()
        print(f"{'workload':8} {'ops/s keeper/zk':>16} {'target':>7} {'':4} {'p99 keeper/zk':>14} {'target':>7} {'':4}")
        for w in both:
            k = [r for r in rows if r["workload"] == w and r["server"] == "keeper"]
            z = [r for r in rows if r["workload"] == w and r["server"] == "zookeeper"]
            t = ratio(med(k, "ops_per_sec"), med(z, "ops_per_sec"))
            p = ratio(med(k, "p99_us"), med(z, "p99_us"))
            p_target = "<=0.5" if w != "get" else ""
            p_ok = verdict(p <= 0.5) if w != "get" else ""
            print(f"{w:8} {t:16.2f} {'>=2':>7} {verdict(t >= 2):4} {p:14.2f} {p_target:>7} {p_ok:4}")

def dist(vals):
    v = sorted(vals)
    if not v:
        return "-"
    p90 = v[min(len(v) - 1, int(round(0.9 * (len(v) - 1))))]
    return f"min {v[0]:6.0f}  median {statistics.median(v):6.0f}  p90 {p90:6.0f}  max {v[-1]:6.0f}"

fo = {}
for r in extra:
    if r.get("part") == "failover":
        fo.setdefault(r["server"], []).append(r)
if fo:
    print()
    print("failover: kill -9 of the leader while a writer writes through every member (ms; N rounds)")
    for s, rs in fo.items():
        print(f"  {s:9} N={len(rs)}")
        print(f"    kill -> new leader in srvr     {dist([float(r['leader_ms']) for r in rs])}")
        print(f"    kill -> first write succeeded  {dist([float(r['first_write_ms']) for r in rs])}")
        print(f"    restart -> caught up           {dist([float(r['catchup_ms']) for r in rs])}")
        if s == "keeper":
            worst = max(float(r["first_write_ms"]) for r in rs)
            print(f"    election timeout {election_ms} ms (randomized up to 2x); target: first write within "
                  f"2 election timeouts = {2 * election_ms} ms: max {worst:.0f} ms {verdict(worst <= 2 * election_ms)}; "
                  f"median {verdict(statistics.median(float(r['first_write_ms']) for r in rs) <= 2 * election_ms)}")
        else:
            print(f"    (ZooKeeper: tickTime {zk_tick} ms, syncLimit {zk_sync}; a kill -9 closes the leader's "
                  f"sockets, so followers notice at once and run fast leader election)")

for r in extra:
    if r.get("part") == "load":
        print()
        print(f"recovery  {r['server']:9} loaded {int(r['znodes']):,} znodes at {float(r['ops_per_sec']):.0f} creates/s "
              f"(p99 {float(r['p99_us']):.0f} us)")
    if r.get("part") == "recovery":
        how = {"wipe": "wiped and restarted with the same config",
               "rejoin": "removed, wiped, restarted with join: true and added again"}.get(r["mode"], r["mode"])
        if r["recovery_ms"] == "timeout":
            print(f"recovery  {r['server']:9} follower {r['member']} {how}: did NOT catch up (gave up after the timeout; "
                  f"member {r.get('member_mntr', '?')} leader {r.get('leader_mntr', '?')})")
            continue
        print(f"recovery  {r['server']:9} follower {r['member']} {how} ({r['data_mib_before']} MiB before) -> "
              f"caught up with the leader: {float(r['recovery_ms']):.0f} ms (data dir after {r['data_mib_after']} MiB, "
              f"VmRSS {r['rss_mib']} MiB; snapshot files there: {r.get('snapshot_files', '?')})")
rec = {}
for r in extra:
    if r.get("part") == "recovery" and r["recovery_ms"] != "timeout":
        rec.setdefault(r["server"], float(r["recovery_ms"]))  # the first mode that worked
if {"zookeeper", "keeper"} <= rec.keys():
    print(f"recovery  keeper/zk = {ratio(rec['keeper'], rec['zookeeper']):.2f} (keeper: the first mode that caught up)")
