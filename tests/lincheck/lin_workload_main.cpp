// lin_workload: starts keeper (one process, or a cluster of 3 or 5 on
// loopback or in network namespaces), runs the register workload under faults,
// checks the history for linearizability and lost acknowledged writes, and
// prints a one-paragraph report (docs/linearizability.md). Exit status 0
// only for a clean pass.
//
//   lin_workload --dougong-bin build/test/src/dougong --duration-s 12 --clients 8 --keys 3
//   lin_workload --dougong-bin build/test/src/dougong --members 3 --netns --faults cluster-partition
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <unistd.h>

#include "fault_injector.h"
#include "netns.h"
#include "server_set.h"
#include "zk_workload.h"

using namespace dougong::lincheck;
using std::chrono::milliseconds;

int main(int argc, char** argv) {
  CLI::App app{"Linearizability workload against keeper under injected faults"};
  std::string bin = std::getenv("DOUGONG_BIN") ? std::getenv("DOUGONG_BIN") : "";
  std::string work_dir, report_path, history_path, fault = "kill";
  double duration_s = 12, max_check_s = 120;
  int members = 1, interval_ms = 2500, max_fault_ms = 500, session_ms = 6000;
  WorkloadOptions o;
  app.add_option("--dougong-bin", bin, "the dougong binary (default $DOUGONG_BIN)");
  app.add_option("--work-dir", work_dir, "data dirs and server logs (default: a new /tmp/lincheck.XXXXXX)");
  app.add_option("--members", members, "keeper members: 1, or a replicated cluster of 3 or 5");
  KeeperProcessOptions kopt;
  bool netns = false;
  int sync_reads = -1, max_election_ms = 0, max_catch_up_ms = 30'000;
  app.add_flag("--netns", netns,
               "run each member in its own network namespace (needed by the partition faults; root, iproute2, "
               "iptables)");
  app.add_option("--tick-ms", kopt.tick_ms, "cluster: raft tick");
  app.add_option("--election-ticks", kopt.election_ticks, "cluster: election timeout in ticks");
  app.add_option("--snap-count", kopt.snap_count, "keeper snap_count (small: snapshots, and log compaction, often)");
  app.add_option("--sync-reads", sync_reads, "1: reads are sync + getData (default with a cluster), 0: getData");
  app.add_option("--max-catch-up-ms", max_catch_up_ms,
                 "fail if a restarted member has not applied the leader's commit index within this after it "
                 "accepts connections");
  app.add_option("--max-election-ms", max_election_ms,
                 "fail if a new leader took longer than this after the leader was taken away (0: report only)");
  app.add_option("--duration-s", duration_s, "how long clients run");
  app.add_option("--clients", o.clients, "concurrent clients, each its own session");
  app.add_option("--keys", o.keys, "keys (registers)");
  app.add_option("--faults", fault,
                 "kill | pause | none | kill-wipe; cluster: kill-leader | kill-follower | pause-leader | wipe-leader | "
                 "wipe-follower | "
                 "partition-leader | partition-leader-oneway | cluster | cluster-partition | a,b,c");
  app.add_option("--fault-interval-ms", interval_ms, "healthy time before each fault");
  app.add_option("--max-fault-ms", max_fault_ms, "each fault lasts a random time up to this");
  app.add_option("--min-faults", o.min_faults,
                 "run past the duration (up to 40 s more) until this many faults were injected; fewer fail");
  app.add_option("--session-timeout-ms", session_ms, "client session timeout");
  app.add_option("--seed", o.seed, "random seed");
  app.add_option("--max-check-s", max_check_s, "checker time cap per key (then: unknown)");
  app.add_flag("--plant-stale-read", o.plant_stale_read,
               "also check a copy with one read made stale; it must be caught");
  bool expect_violation = false;
  app.add_flag("--expect-violation", expect_violation,
               "succeed only if the run completes and finds a violation or a lost write (for kill-wipe)");
  app.add_option("--report", report_path, "write a markdown report here");
  app.add_option("--history", history_path, "write the history here (one op a line)");
  CLI11_PARSE(app, argc, argv);
  if (bin.empty()) {
    std::fprintf(stderr, "lin_workload: --dougong-bin or DOUGONG_BIN is needed\n");
    return 2;
  }
  o.duration = milliseconds(static_cast<int64_t>(duration_s * 1000));
  o.fault_interval = milliseconds(interval_ms);
  o.max_fault_time = milliseconds(max_fault_ms);
  o.session_timeout = milliseconds(session_ms);
  o.check.max_time_per_key = milliseconds(static_cast<int64_t>(max_check_s * 1000));
  o.sync_reads = sync_reads < 0 ? members > 1 : sync_reads != 0;
  o.max_election = milliseconds(max_election_ms);

  bool own_dir = false;
  if (work_dir.empty()) {
    char tmpl[] = "/tmp/lincheck.XXXXXX";
    if (!::mkdtemp(tmpl)) {
      std::perror("mkdtemp");
      return 2;
    }
    work_dir = tmpl;
    own_dir = true;
  }
  FaultLimits limits;
  limits.catch_up_wait = milliseconds(max_catch_up_ms);
  auto injector = MakeFaultInjector(fault, limits);
  if (!injector.ok()) {
    std::fprintf(stderr, "lin_workload: %s\n", injector.status().message().c_str());
    return 2;
  }
  // Namespaces are deleted on every way out (the lab's destructor), after
  // the members in them are stopped (the set's).
  std::unique_ptr<dougong::testsupport::NetnsLab> lab;
  if (netns) {
    lab = std::make_unique<dougong::testsupport::NetnsLab>("lw", members);
    std::string err;
    if (!lab->Create(&err)) {
      std::fprintf(stderr, "lin_workload: cannot create network namespaces (needs root, iproute2): %s\n", err.c_str());
      return 1;
    }
  }
  kopt.dougong_bin = bin;
  kopt.work_dir = work_dir;
  kopt.members = members;
  kopt.netns = lab.get();
  KeeperProcessSet servers(kopt);
  if (auto s = servers.Start(); !s.ok()) {
    std::fprintf(stderr, "lin_workload: starting keeper: %s\nserver logs and data: %s\n", s.message().c_str(),
                 work_dir.c_str());
    return 1;
  }
  const WorkloadResult r = RunZkWorkload(servers, **injector, o);
  servers.StopAll();

  std::printf("%s\n", r.Paragraph().c_str());
  for (const std::string& f : r.faults) std::printf("  fault %s\n", f.c_str());
  if (!r.election_ms.empty()) std::printf("  elections: %s\n", r.ElectionSummary().c_str());
  if (r.check.verdict != Verdict::kLinearizable) std::printf("%s", r.check.Summary().c_str());
  for (const std::string& l : r.lost_writes) std::printf("  lost: %s\n", l.c_str());
  if (!report_path.empty()) std::ofstream(report_path) << r.Markdown();
  if (!history_path.empty()) {
    std::ofstream out(history_path);
    const int64_t origin = r.history.ops.empty() ? 0 : r.history.ops.front().invoke_ns;
    for (const Operation& op : r.history.ops) out << op.key << " " << DescribeOp(op, origin) << "\n";
  }
  const bool enough_faults = static_cast<int>(r.faults.size()) >= o.min_faults;
  if (!enough_faults) std::printf("FAIL: %zu faults injected, at least %d wanted\n", r.faults.size(), o.min_faults);
  bool pass = r.passed();
  if (expect_violation) {
    const bool caught = r.check.verdict == Verdict::kViolation || !r.lost_writes.empty();
    std::printf("%s: a violation or lost write was expected\n", caught && r.error.empty() ? "PASS" : "FAIL");
    pass = caught && r.error.empty() && enough_faults;
  }
  if (pass && own_dir) std::system(("rm -rf '" + work_dir + "'").c_str());
  if (!pass) std::printf("server logs and data: %s\n", work_dir.c_str());
  return pass ? 0 : 1;
}
