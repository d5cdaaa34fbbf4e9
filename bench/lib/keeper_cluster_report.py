"""The report of bench/compare_keeper_cluster.sh from its raw lines.

  python3 bench/lib/keeper_cluster_report.py RESULTS EXTRA ELECTION_MS ZK_TICK_MS ZK_SYNC_LIMIT

RESULTS: workload lines (server=... run=... workload=... ops_per_sec=...);
EXTRA: part=failover / part=load / part=recovery lines. Either may be the
concatenation of several runs' files (e.g. a re-run of one part).
"""
import os, statistics, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zk_results import compared, med, parse, ratio, runs, workload_table

rows, extra = parse(sys.argv[1]), parse(sys.argv[2])
election_ms, zk_tick, zk_sync = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def verdict(ok):
    return "PASS" if ok else "FAIL"

if rows:
    print()
    print("workloads, 3 members each, connections spread over the members (medians; srv_* summed over members)")
    workload_table(rows, "server_rss_mib", "srv_rss")
    both = compared(rows)
    if both:
        print()
        print(f"{'workload':8} {'ops/s keeper/zk':>16} {'target':>7} {'':4} {'p99 keeper/zk':>14} {'target':>7} {'':4}")
        for w in both:
            k, z = runs(rows, w, "keeper"), runs(rows, w, "zookeeper")
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
