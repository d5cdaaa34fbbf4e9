#include "zk_workload.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "dougong/zk/client.h"
#include "history_checks.h"

namespace dougong::lincheck {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
constexpr int kFinalReader = 1'000'000;  // process id of the final reads

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

double SecondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Counts answered ops so that the fault schedule can wait for the event
// "clients are served again" instead of sleeping.
class Progress {
 public:
  void Answered() {
    answered_.fetch_add(1);
    if (waiters_.load() > 0) {
      std::lock_guard lock(mu_);
      cv_.notify_all();
    }
  }
  uint64_t answered() const { return answered_.load(); }
  bool WaitBeyond(uint64_t count, milliseconds timeout) {
    waiters_.fetch_add(1);
    std::unique_lock lock(mu_);
    const bool ok = cv_.wait_for(lock, timeout, [&] { return answered_.load() > count; });
    waiters_.fetch_sub(1);
    return ok;
  }

 private:
  std::atomic<uint64_t> answered_{0};
  std::atomic<int> waiters_{0};
  std::mutex mu_;
  std::condition_variable cv_;
};

std::shared_ptr<zk::ZkClient> Connect(const std::string& connect, const WorkloadOptions& o) {
  zk::ZkClientOptions zo;
  zo.session_timeout = o.session_timeout;
  zo.shuffle_hosts = false;  // each client's connect string starts at its own member
  auto c = zk::ZkClient::Create(connect, zo);
  return c.ok() ? *c : nullptr;
}

// getData, after a sync when asked (its failure is the read's failure).
Result<zk::ZkData> Read(zk::ZkClient& client, const std::string& key, bool sync) {
  if (sync) {
    auto synced = client.Sync(key);
    if (!synced.ok()) return synced.status();
  }
  return client.GetData(key);
}

// One client: one session, one op at a time, until `stop`.
void RunClient(int index, const std::string connect, const WorkloadOptions& o, const std::vector<std::string>& keys,
               HistoryRecorder& rec, Progress& progress, std::atomic<int>& next_process, std::atomic<bool>& stop) {
  std::mt19937_64 rng(o.seed * 1000 + index);
  std::shared_ptr<zk::ZkClient> client = Connect(connect, o);
  if (!client) return;
  (void)client->WaitConnected(o.recovery_timeout);
  int process = next_process.fetch_add(1);
  std::map<std::string, int32_t> last_version;  // what this client last saw of each key
  for (uint64_t n = 0; !stop.load(); ++n) {
    Operation op;
    op.key = keys[std::uniform_int_distribution<size_t>(0, keys.size() - 1)(rng)];
    op.process = process;
    const double r = std::uniform_real_distribution<double>(0, 1)(rng);
    op.kind = r < o.reads ? OpKind::kRead : r < o.reads + o.writes ? OpKind::kWrite : OpKind::kCas;
    if (op.kind != OpKind::kRead) op.value = "c" + std::to_string(index) + "-" + std::to_string(n);
    if (op.kind == OpKind::kCas) op.expected_version = last_version[op.key];
    const size_t at = rec.Invoke(op);

    Status status;
    if (op.kind == OpKind::kRead) {
      auto got = Read(*client, op.key, o.sync_reads);
      if (got.ok()) {
        rec.CompleteRead(at, true, got->data, got->stat.version);
        last_version[op.key] = got->stat.version;
      }
      status = got.status();
    } else {
      auto set = client->SetData(op.key, op.value, op.kind == OpKind::kCas ? op.expected_version : -1);
      if (set.ok()) {
        rec.CompleteWrite(at, set->version);
        last_version[op.key] = set->version;
      }
      status = set.status();
    }
    if (status.ok()) {
      progress.Answered();
      continue;
    }
    const zk::ZkError err = zk::ZkErrorOf(status);
    if (err == zk::ZkError::kNoNode && op.kind == OpKind::kRead) {
      rec.CompleteRead(at, false, "", -1);
      progress.Answered();
    } else if (err == zk::ZkError::kNoNode) {
      rec.CompleteFailed(at, Failure::kNoNode);
      progress.Answered();
    } else if (err == zk::ZkError::kBadVersion) {
      rec.CompleteFailed(at, Failure::kBadVersion);
      progress.Answered();
    } else if (err == zk::ZkError::kBadArguments || err == zk::ZkError::kNoAuth) {
      rec.CompleteFailed(at, Failure::kOther);  // refused before anything happened
    } else {
      // Connection loss, expiry, timeouts: it may or may not have happened,
      // and may still happen. Jepsen's convention: the process is gone
      // (its op stays open forever); a new one takes over.
      rec.CompleteIndeterminate(at);
      process = next_process.fetch_add(1);
      // A session that cannot be resumed within its timeout is replaced (a
      // server that lost its state refuses clients that saw newer zxids).
      if (err == zk::ZkError::kSessionExpired || !client->WaitConnected(o.session_timeout).ok()) {
        (void)client->Close();
        client = Connect(connect, o);
        if (!client) return;
        (void)client->WaitConnected(o.recovery_timeout);
      }
    }
  }
  (void)client->Close();
}

Status SetUpKeys(const std::string& connect, const WorkloadOptions& o, const std::vector<std::string>& keys,
                 HistoryRecorder& rec) {
  auto client = Connect(connect, o);
  if (!client) return InvalidArgument("bad connect string " + connect);
  if (Status s = client->WaitConnected(o.recovery_timeout); !s.ok()) return s;
  auto made = client->CreateNode(o.key_prefix, "");
  if (!made.ok() && zk::ZkErrorOf(made.status()) != zk::ZkError::kNodeExists) return made.status();
  for (const std::string& key : keys) {
    auto k = client->CreateNode(key, "init");
    if (!k.ok() && zk::ZkErrorOf(k.status()) != zk::ZkError::kNodeExists) return k.status();
    auto got = client->GetData(key);
    if (!got.ok()) return got.status();
    rec.SetInitial(key, {true, got->data, got->stat.version});
  }
  return client->Close();
}

// Reads every key once all faults are healed: appended to the history, these
// reads are what makes a lost acknowledged write a violation.
Status FinalReads(const std::string& connect, const WorkloadOptions& o, const std::vector<std::string>& keys,
                  HistoryRecorder& rec) {
  auto client = Connect(connect, o);
  if (!client) return InvalidArgument("bad connect string " + connect);
  const auto until = Clock::now() + o.recovery_timeout;
  for (const std::string& key : keys) {
    while (true) {
      if (Clock::now() > until) return DeadlineExceeded("final reads: no answer within the recovery timeout");
      (void)client->WaitConnected(o.recovery_timeout);
      Operation op;
      op.key = key;
      op.process = kFinalReader;
      const size_t at = rec.Invoke(op);
      auto got = Read(*client, key, o.sync_reads);
      if (got.ok()) {
        rec.CompleteRead(at, true, got->data, got->stat.version);
        break;
      }
      if (zk::ZkErrorOf(got.status()) == zk::ZkError::kNoNode) {
        rec.CompleteRead(at, false, "", -1);
        break;
      }
      rec.CompleteIndeterminate(at);
    }
  }
  return client->Close();
}

}  // namespace

WorkloadResult RunZkWorkload(ServerSet& servers, FaultInjector& faults, const WorkloadOptions& o) {
  const auto start = Clock::now();
  WorkloadResult result;
  result.options = o;
  result.servers = servers.Describe();
  result.fault_name = faults.name();
  result.election_timeout_ms = static_cast<double>(servers.ElectionTimeout().count());
  const std::string connect = servers.ConnectString();
  std::vector<std::string> keys;
  for (int i = 0; i < o.keys; ++i) keys.push_back(o.key_prefix + "/k" + std::to_string(i));

  HistoryRecorder rec;
  if (Status s = SetUpKeys(connect, o, keys, rec); !s.ok()) {
    result.error = "setting up the keys: " + s.message();
    return result;
  }

  Progress progress;
  std::atomic<bool> stop{false};
  std::atomic<int> next_process{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < o.clients; ++i) {
    clients.emplace_back(RunClient, i, servers.ClientConnectString(i), std::cref(o), std::cref(keys), std::ref(rec),
                         std::ref(progress), std::ref(next_process), std::ref(stop));
  }

  // The fault schedule: healthy for fault_interval, broken for up to
  // max_fault_time, healed, then wait until clients are answered again.
  std::mt19937_64 rng(o.seed);
  // Clients run for `duration`, longer (up to max_overrun) if fewer than
  // min_faults faults fit in it: a slow restart must not make a short run
  // test nothing.
  while (result.error.empty()) {
    const bool enough = static_cast<int>(result.faults.size()) >= o.min_faults;
    const auto end = start + o.duration + (enough ? milliseconds(0) : o.max_overrun);
    std::this_thread::sleep_until(std::min(end, Clock::now() + o.fault_interval));
    if (Clock::now() + o.max_fault_time >= end) break;
    const double at = SecondsSince(start);
    auto event = faults.Break(servers, rng);
    if (!event.ok()) {
      result.error = "fault: " + event.status().message();
      break;
    }
    const std::string what = event->what;
    if (event->election_ms >= 0) result.election_ms.push_back(event->election_ms);
    const auto down_for = milliseconds(std::uniform_int_distribution<int64_t>(0, o.max_fault_time.count())(rng));
    std::this_thread::sleep_for(down_for);
    const auto heal_start = Clock::now();
    const uint64_t answered = progress.answered();
    if (Status s = faults.Heal(servers); !s.ok()) {
      result.error = "healing: " + s.message();
      break;
    }
    const double serving_ms = SecondsSince(heal_start) * 1e3;
    if (!progress.WaitBeyond(answered, o.recovery_timeout)) {
      result.error = "clients got no answer within " + std::to_string(o.recovery_timeout.count()) +
                     " ms of healing " + what;
      break;
    }
    result.faults.push_back("t=" + Fixed(at, 2) + " s: " + what + "; healed " + std::to_string(down_for.count()) +
                            " ms later; serving again " + Fixed(serving_ms, 0) + " ms after healing, clients answered " +
                            Fixed(SecondsSince(heal_start) * 1e3, 0) + " ms after" +
                            (faults.heal_note().empty() ? "" : "; " + faults.heal_note()));
  }
  stop.store(true);
  result.client_seconds = SecondsSince(start);
  if (Status s = faults.Heal(servers); !s.ok() && result.error.empty()) result.error = "healing: " + s.message();
  for (auto& t : clients) t.join();
  if (Status s = FinalReads(connect, o, keys, rec); !s.ok() && result.error.empty()) result.error = s.message();

  result.history = rec.Take();
  for (const Operation& op : result.history.ops) {
    if (op.process == kFinalReader) continue;
    (op.kind == OpKind::kRead ? result.reads : op.kind == OpKind::kWrite ? result.writes : result.cas)++;
    (op.outcome == Outcome::kOk ? result.ok : op.outcome == Outcome::kFailed ? result.failed : result.indeterminate)++;
  }
  result.lost_writes = LostAcknowledgedWrites(result.history, kFinalReader);
  result.check = CheckHistory(result.history, o.check);
  if (o.plant_stale_read) {
    History copy = result.history;
    result.planted = PlantStaleRead(copy, o.seed);
    result.planted_verdict = result.planted.empty() ? Verdict::kLinearizable : CheckHistory(copy, o.check).verdict;
  }
  result.seconds = SecondsSince(start);
  return result;
}

double WorkloadResult::SlowestElectionMs() const {
  return election_ms.empty() ? 0 : *std::max_element(election_ms.begin(), election_ms.end());
}

std::string WorkloadResult::ElectionSummary() const {
  if (election_ms.empty()) return "";
  std::vector<double> v = election_ms;
  std::sort(v.begin(), v.end());
  const double median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  const double two = 2 * election_timeout_ms;
  const auto within = std::count_if(v.begin(), v.end(), [&](double ms) { return ms <= two; });
  return "n=" + std::to_string(v.size()) + " min " + Fixed(v.front(), 0) + " median " + Fixed(median, 0) + " max " +
         Fixed(v.back(), 0) + " ms; " + std::to_string(within) + " of " + std::to_string(v.size()) +
         " within 2 election timeouts (" + Fixed(two, 0) + " ms)";
}

std::string WorkloadResult::Paragraph() const {
  std::string s = std::string(passed() ? "PASS" : "FAIL") + ": " + std::to_string(options.clients) + " clients on " +
                  std::to_string(options.keys) + " keys for " + Fixed(client_seconds, 1) +
                  " s against " + servers + ", faults: " + fault_name + " x" + std::to_string(faults.size()) +
                  " (every ~" + std::to_string(options.fault_interval.count()) + " ms, each up to " +
                  std::to_string(options.max_fault_time.count()) + " ms). " +
                  std::to_string(reads + writes + cas) + " ops (" + std::to_string(reads) + " reads, " +
                  std::to_string(writes) + " writes, " + std::to_string(cas) + " cas): " + std::to_string(ok) +
                  " ok, " + std::to_string(failed) + " failed, " + std::to_string(indeterminate) +
                  " indeterminate. Checker: " + VerdictName(check.verdict) + " in " + Fixed(check.seconds, 3) +
                  " s (" + std::to_string(check.states) + " states). Acknowledged writes lost: " +
                  std::to_string(lost_writes.size()) + "." +
                  (options.sync_reads ? " Reads were sync + getData." : "");
  if (!election_ms.empty()) s += " Leader elected after the leader was taken away: " + ElectionSummary() + ".";
  if (options.max_election.count() > 0 && SlowestElectionMs() > options.max_election.count()) {
    s += " An election took longer than " + std::to_string(options.max_election.count()) + " ms.";
  }
  if (options.plant_stale_read) {
    s += planted.empty() ? " No read qualified for planting a stale read."
                         : std::string(" A stale read planted in a copy (") + planted + ") was " +
                               (planted_verdict == Verdict::kViolation ? "caught." : "NOT caught.");
  }
  if (!error.empty()) s += " Error: " + error;
  return s;
}

std::string WorkloadResult::Markdown() const {
  std::string s = "# Linearizability run (lin_workload)\n\n" + Paragraph() + "\n\n";
  s += "Seed " + std::to_string(options.seed) + ", session timeout " +
       std::to_string(options.session_timeout.count()) + " ms, wall time " + Fixed(seconds, 1) + " s.\n\n";
  if (!election_ms.empty()) {
    s += "## Elections\n\nFrom the fault (kill -9, SIGSTOP or partition of the leader) to another member "
         "answering `mntr` as leader, configured election timeout " + Fixed(election_timeout_ms, 0) +
         " ms (keeper randomizes it up to 2x): " + ElectionSummary() + ".\n\n| # | ms |\n|---|---|\n";
    for (size_t i = 0; i < election_ms.size(); ++i) {
      s += "| " + std::to_string(i + 1) + " | " + Fixed(election_ms[i], 0) + " |\n";
    }
    s += "\n";
  }
  s += "## Faults\n\n";
  for (const std::string& f : faults) s += "- " + f + "\n";
  if (faults.empty()) s += "(none)\n";
  s += "\n## Keys\n\n| key | ops | verdict | states | check s |\n|---|---|---|---|---|\n";
  for (const KeyReport& k : check.keys) {
    s += "| " + k.key + " | " + std::to_string(k.ops) + " | " + VerdictName(k.verdict) + " | " +
         std::to_string(k.states) + " | " + Fixed(k.seconds, 3) + " |\n";
  }
  if (check.verdict != Verdict::kLinearizable) s += "\n## Checker\n\n```\n" + check.Summary() + "```\n";
  if (!lost_writes.empty()) {
    s += "\n## Lost acknowledged writes\n\n";
    for (const std::string& l : lost_writes) s += "- " + l + "\n";
  }
  return s;
}

}  // namespace dougong::lincheck
