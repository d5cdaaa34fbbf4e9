// A Jepsen-style register workload over ZooKeeper's client protocol: N
// clients (each its own ZkClient session, one op at a time) do random
// getData, setData(-1) and setData(version last seen) on M keys while a
// FaultInjector breaks and heals the ServerSet; every op is recorded with
// its outcome, a final read of each key is appended once everything is
// healed, and the history goes through the linearizability checker.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "checker.h"
#include "fault_injector.h"
#include "history.h"
#include "server_set.h"

namespace dougong::lincheck {

struct WorkloadOptions {
  int clients = 10;
  int keys = 3;
  std::chrono::milliseconds duration{12'000};
  double reads = 0.4, writes = 0.3;  // the rest are cas
  std::chrono::milliseconds session_timeout{6'000};
  // Healthy time before each fault, and the longest a fault lasts (each one
  // lasts a random time up to it).
  std::chrono::milliseconds fault_interval{2'500};
  std::chrono::milliseconds max_fault_time{500};
  // Run past `duration` (by up to max_overrun) until this many faults were
  // injected; fewer fail the run.
  int min_faults = 0;
  std::chrono::milliseconds max_overrun{40'000};
  // After healing, clients must get an answer again within this.
  std::chrono::milliseconds recovery_timeout{30'000};
  std::string key_prefix = "/lincheck";
  uint64_t seed = 1;
  CheckOptions check;
  // Reads are sync then getData (and so are the final reads). A replicated
  // keeper answers getData from the member's own state, which may lag: only
  // sync makes a read linearizable (ZooKeeper promises linearizable writes
  // and sequentially consistent reads).
  bool sync_reads = false;
  // Fail the run if an election (fault -> new leader seen) took longer
  // (0: only report).
  std::chrono::milliseconds max_election{0};
  // Also check a copy of the history with one read made stale (it returns
  // the value before one whose writer had finished before the read began):
  // shows that this very history would expose a violation.
  bool plant_stale_read = false;
};

struct WorkloadResult {
  History history;
  CheckReport check;
  size_t reads = 0, writes = 0, cas = 0;
  size_t ok = 0, failed = 0, indeterminate = 0;
  std::vector<std::string> faults;  // one line per fault
  // Faults that took the leader away: ms from the fault to a new leader seen.
  std::vector<double> election_ms;
  double election_timeout_ms = 0;  // the configured one (0: no elections)
  // Acknowledged writes whose effect is missing from the final state: a
  // version above the final version, or the final version with another value.
  std::vector<std::string> lost_writes;
  std::string error;  // the run itself failed (setup, no recovery); empty otherwise
  // plant_stale_read: the planted read ("" if no read qualified) and the
  // checker's verdict on that copy.
  std::string planted;
  Verdict planted_verdict = Verdict::kLinearizable;
  double seconds = 0;         // the whole run, check included
  double client_seconds = 0;  // how long clients ran
  std::string servers, fault_name;
  WorkloadOptions options;

  bool passed() const {
    return error.empty() && check.verdict == Verdict::kLinearizable && lost_writes.empty() && ok > 0 &&
           (options.max_election.count() == 0 || SlowestElectionMs() <= options.max_election.count()) &&
           static_cast<int>(faults.size()) >= options.min_faults &&
           (!options.plant_stale_read || planted_verdict == Verdict::kViolation);
  }
  double SlowestElectionMs() const;
  // "n=5 min 612 median 840 max 1210 ms; 5 of 5 within 2 election timeouts (2000 ms)", or "".
  std::string ElectionSummary() const;
  std::string Paragraph() const;  // the one-paragraph report
  std::string Markdown() const;   // the full report (make jepsen)
};

WorkloadResult RunZkWorkload(ServerSet& servers, FaultInjector& faults, const WorkloadOptions& options);

}  // namespace dougong::lincheck
