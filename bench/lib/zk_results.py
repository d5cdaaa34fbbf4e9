"""Reading and tabulating zk_bench's key=value lines: shared by the reports
of bench/compare_zk.sh (single server) and bench/compare_keeper_cluster.sh
(3-member clusters)."""
import statistics

nan = float("nan")
WORKLOAD_ORDER = ["create", "set", "get", "exists", "mixed", "ephseq"]


def parse(path):
    """One dict per line that has key=value tokens."""
    with open(path) as f:
        return [dict(t.split("=", 1) for t in line.split() if "=" in t) for line in f if "=" in line]


def med(rs, k):
    vals = [float(r[k]) for r in rs if k in r]
    return statistics.median(vals) if vals else nan


def ratio(a, b):
    return a / b if b and b == b and a == a else nan


def workloads(rows):
    return sorted({r["workload"] for r in rows}, key=lambda w: WORKLOAD_ORDER.index(w) if w in WORKLOAD_ORDER else 99)


def runs(rows, workload, server):
    return [r for r in rows if r["workload"] == workload and r["server"] == server]


def workload_table(rows, last_key, last_name, last_fmt="7.0f"):
    """Medians per workload and server; the column before load1 is
    `last_key` (server threads, or summed member RSS)."""
    hdr = (f"{'workload':8} {'server':9} {'runs':>4} {'ops/s':>9} {'p50_us':>9} {'p99_us':>9} {'p999_us':>9} "
           f"{'errors':>6} {'cli_cpu_s':>9} {'srv_cpu_s':>9} {last_name:>7} {'load1':>5}")
    print(hdr)
    print("-" * len(hdr))
    for w in workloads(rows):
        for s in ("zookeeper", "keeper"):
            rs = runs(rows, w, s)
            if not rs:
                continue
            print(f"{w:8} {s:9} {len(rs):4} {med(rs,'ops_per_sec'):9.0f} {med(rs,'p50_us'):9.0f} "
                  f"{med(rs,'p99_us'):9.0f} {med(rs,'p999_us'):9.0f} {sum(int(r['errors']) for r in rs):6d} "
                  f"{med(rs,'client_cpu_s'):9.2f} {med(rs,'server_cpu_s'):9.2f} {med(rs,last_key):{last_fmt}} "
                  f"{med(rs,'load1'):5.2f}")


def compared(rows):
    """Workloads measured on both servers."""
    return [w for w in workloads(rows) if {r["server"] for r in rows if r["workload"] == w} >= {"zookeeper", "keeper"}]
