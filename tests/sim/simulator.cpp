#include "simulator.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "dougong/raft/core.h"

namespace dougong::raft::sim {
namespace {

constexpr int64_t kTickUnits = 100;  // simulated time units per tick
constexpr int kElectionTick = 10;
constexpr int kMaxNodes = 9;  // node ids ever created (removed ids are not reused)
constexpr int64_t kLivenessTicks = 30 * kElectionTick;
constexpr int kChaosSteps = 1500;

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // In [lo, hi].
  int64_t Range(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1)); }
  bool Chance(double p) { return static_cast<double>(Next() >> 11) * 0x1.0p-53 < p; }

 private:
  uint64_t state_;
};

uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h *= 0xff51afd7ed558ccdULL;
  return h ^ (h >> 33);
}

uint64_t HashEntry(const Entry& e) {
  return Mix(Mix(std::hash<std::string>{}(e.data), static_cast<uint64_t>(e.type)), e.index * 31 + e.term);
}

// The replicated application: a hash chain over the applied entries.
struct AppState {
  uint64_t applied = 0;
  uint64_t hash = 0;
  std::string Encode() const { return std::to_string(applied) + " " + std::to_string(hash); }
  static AppState Decode(const std::string& s) {
    AppState a;
    if (!s.empty()) std::sscanf(s.c_str(), "%" SCNu64 " %" SCNu64, &a.applied, &a.hash);
    return a;
  }
};

// What survives a crash.
struct DurableStorage {
  HardState hard_state;
  Snapshot snapshot;  // meta + AppState encoded
  std::vector<Entry> entries;  // after snapshot.meta.index
};

struct PendingRead {
  std::string context;
  uint64_t required = 0;    // highest acknowledged write when issued
  uint64_t read_index = 0;  // 0 until the ReadState arrives
  int64_t issued_at = 0;
};

struct Node {
  NodeId id = 0;
  bool up = false;
  uint64_t incarnation = 0;
  std::unique_ptr<Core> core;
  DurableStorage durable;
  std::optional<Ready> unsynced;  // written, not yet fsynced
  AppState app;
  std::vector<PendingRead> reads;
  int64_t tick_phase = 0;
  uint64_t last_commit_seen = 0;
  uint64_t commits_as_leader_term = 0;  // for the nemesis
  int commits_as_leader = 0;
};

enum class EventKind { kTick, kDeliver, kSync, kSnapshotDone, kSnapshotReplay, kClient, kFault, kStrikeLeader };

struct Event {
  int64_t time = 0;
  uint64_t seq = 0;
  EventKind kind = EventKind::kTick;
  NodeId node = 0;
  uint64_t incarnation = 0;
  std::shared_ptr<Message> msg;
  bool operator>(const Event& o) const { return time != o.time ? time > o.time : seq > o.seq; }
};

class Simulation {
 public:
  explicit Simulation(const SimOptions& opt) : opt_(opt), rng_(opt.seed) {}
  SimResult Run();

 private:
  void Fail(const std::string& what);
  void Trace(const std::string& what);
  std::string Describe() const;
  void Schedule(int64_t delay, EventKind kind, NodeId node, std::shared_ptr<Message> msg = nullptr);
  Node* Get(NodeId id) {
    auto it = nodes_.find(id);
    return it == nodes_.end() ? nullptr : &it->second;
  }
  Config MakeConfig(NodeId id);
  void StartNode(Node& n, bool fresh);
  void Crash(Node& n);
  void Pump(Node& n);
  void Sync(Node& n);
  void Apply(Node& n, const Entry& e);
  void InstallSnapshot(Node& n, const Snapshot& s);
  void ServeReads(Node& n);
  void MaybeCompact(Node& n);
  void SendMessage(const Message& m);
  bool LinkUp(NodeId from, NodeId to) const { return blocked_.count({from, to}) == 0; }
  void CheckNode(Node& n);
  void CheckReadyEntries(Node& n, const Ready& rd);
  void OnTick(Node& n);
  void OnDeliver(const Message& m);
  void OnClient();
  void OnFault();
  void Heal();
  Node* AnyLeader();
  std::vector<NodeId> UpNodes();

  SimOptions opt_;
  Rng rng_;
  SimResult result_;
  std::map<NodeId, Node> nodes_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  uint64_t seq_ = 0;
  int64_t now_ = 0;
  uint64_t step_ = 0;

  // Faults.
  bool chaos_ = true;
  double loss_ = 0;
  double dup_ = 0;
  int64_t max_delay_ = 150;
  std::set<std::pair<NodeId, NodeId>> blocked_;
  std::map<std::pair<NodeId, NodeId>, int64_t> link_arrival_;
  int64_t heal_time_ = 0;
  uint64_t heal_first_write_ = 0;
  uint64_t chaos_start_step_ = 0;
  bool healed_progress_ = false;
  uint64_t calm_done_step_ = 0;

  // Per-seed core configuration.
  int heartbeat_tick_ = 1;
  size_t max_inflight_ = 4;
  uint64_t max_size_ = 256;
  bool check_quorum_ = true;

  // Workload.
  uint64_t next_write_ = 1;
  uint64_t next_read_ = 1;
  NodeId next_node_id_ = 1;

  // Invariant state.
  std::map<uint64_t, NodeId> leaders_;            // term -> leader
  std::set<std::pair<uint64_t, NodeId>> leader_seen_;
  std::vector<uint64_t> committed_terms_{0};      // index -> term (0 unknown)
  std::vector<uint64_t> applied_hash_{0};         // index -> app hash after it
  std::map<std::pair<uint64_t, uint64_t>, std::pair<uint64_t, uint64_t>> entries_seen_;  // (index,term) -> (prev term, hash)
  uint64_t max_acked_index_ = 0;
};

void Simulation::Fail(const std::string& what) {
  if (!result_.ok) return;
  result_.ok = false;
  std::ostringstream os;
  os << "seed " << opt_.seed << " step " << step_ << " time " << now_ << ": " << what << "\n" << Describe();
  result_.failure = os.str();
}

void Simulation::Trace(const std::string& what) {
  if (opt_.verbose) std::fprintf(stderr, "[%" PRIu64 " t=%" PRId64 "] %s\n", step_, now_, what.c_str());
}

std::string Simulation::Describe() const {
  std::ostringstream os;
  for (const auto& [id, n] : nodes_) {
    os << "  node " << id << (n.up ? "" : " (down)");
    if (n.core) {
      CoreStatus st = n.core->GetStatus();
      os << " " << RoleName(st.role) << " term=" << st.hard_state.term << " vote=" << st.hard_state.vote
         << " lead=" << st.leader << " commit=" << st.hard_state.commit << " applied=" << n.app.applied
         << " log=[" << st.first_index << "," << st.last_index << "] voters={";
      for (NodeId v : st.conf.voters) os << v << ",";
      os << "} learners={";
      for (NodeId v : st.conf.learners) os << v << ",";
      os << "}";
    }
    os << "\n";
  }
  return os.str();
}

void Simulation::Schedule(int64_t delay, EventKind kind, NodeId node, std::shared_ptr<Message> msg) {
  Event e;
  e.time = now_ + delay;
  e.seq = seq_++;
  e.kind = kind;
  e.node = node;
  Node* n = Get(node);
  e.incarnation = n ? n->incarnation : 0;
  e.msg = std::move(msg);
  events_.push(std::move(e));
}

Config Simulation::MakeConfig(NodeId id) {
  Config c;
  c.id = id;
  c.election_tick = kElectionTick;
  c.heartbeat_tick = heartbeat_tick_;
  c.seed = rng_.Next();
  c.pre_vote = true;
  c.check_quorum = check_quorum_;
  c.max_inflight_msgs = max_inflight_;
  c.max_size_per_msg = max_size_;
  c.max_inflight_bytes = max_size_ * max_inflight_ / 2 + 1;
  return c;
}

void Simulation::StartNode(Node& n, bool fresh) {
  InitialState st;
  st.hard_state = n.durable.hard_state;
  st.snapshot = n.durable.snapshot.meta;
  st.entries = n.durable.entries;
  Result<std::unique_ptr<Core>> core = Core::Create(MakeConfig(n.id), std::move(st));
  if (!core.ok()) {
    Fail("node " + std::to_string(n.id) + " failed to start: " + core.status().message());
    return;
  }
  n.core = std::move(*core);
  n.up = true;
  n.incarnation++;
  n.unsynced.reset();
  n.reads.clear();
  n.app = AppState::Decode(n.durable.snapshot.data);
  if (!fresh) Trace("restart node " + std::to_string(n.id));
  Pump(n);
}

void Simulation::Crash(Node& n) {
  Trace("crash node " + std::to_string(n.id) + (n.unsynced ? " (losing unsynced writes)" : ""));
  n.up = false;
  n.core.reset();
  n.unsynced.reset();
  n.reads.clear();
  n.incarnation++;
  result_.stats.crashes++;
}

void Simulation::Pump(Node& n) {
  if (!n.up || n.unsynced || !n.core->HasReady()) return;
  Ready rd = n.core->GetReady();
  CheckReadyEntries(n, rd);
  n.unsynced = std::move(rd);
  // fsync latency: sometimes at once, sometimes later (a crash loses it).
  if (rng_.Chance(0.3)) {
    Sync(n);
  } else {
    Schedule(rng_.Range(1, chaos_ && rng_.Chance(0.25) ? 500 : 60), EventKind::kSync, n.id);
  }
}

void Simulation::CheckReadyEntries(Node& n, const Ready& rd) {
  if (rd.entries.empty()) return;
  // Log matching, inductively: an (index, term) pair always comes with the
  // same payload and the same predecessor term.
  Result<uint64_t> prev = n.core->TermAt(rd.entries.front().index - 1);
  uint64_t prev_term = prev.ok() ? *prev : UINT64_MAX;
  for (const Entry& e : rd.entries) {
    auto key = std::make_pair(e.index, e.term);
    auto val = std::make_pair(prev_term, HashEntry(e));
    auto [it, inserted] = entries_seen_.emplace(key, val);
    if (!inserted && prev_term != UINT64_MAX && it->second.first != UINT64_MAX && it->second != val) {
      Fail("log matching: node " + std::to_string(n.id) + " has a different entry at index " +
           std::to_string(e.index) + " term " + std::to_string(e.term));
      return;
    }
    if (!inserted && it->second.first == UINT64_MAX) it->second = val;
    prev_term = e.term;
  }
}

void Simulation::Sync(Node& n) {
  if (!n.up || !n.unsynced) return;
  Ready rd = std::move(*n.unsynced);
  n.unsynced.reset();
  DurableStorage& d = n.durable;
  // Persist: snapshot, entries, hard state.
  if (!rd.snapshot.empty()) {
    d.snapshot = rd.snapshot;
    d.entries.clear();
  }
  if (!rd.entries.empty()) {
    uint64_t first = rd.entries.front().index;
    uint64_t base = d.snapshot.meta.index;
    if (first <= base) {
      Fail("node " + std::to_string(n.id) + " persisted entries at or below its snapshot");
      return;
    }
    if (first - base - 1 > d.entries.size()) {
      Fail("node " + std::to_string(n.id) + " persisted entries with a gap");
      return;
    }
    d.entries.resize(first - base - 1);
    d.entries.insert(d.entries.end(), rd.entries.begin(), rd.entries.end());
  }
  if (rd.hard_state) {
    const HardState& old = d.hard_state;
    if (rd.hard_state->term < old.term) Fail("persisted term went backwards on node " + std::to_string(n.id));
    if (rd.hard_state->term == old.term && old.vote != kNoNode && rd.hard_state->vote != old.vote) {
      Fail("node " + std::to_string(n.id) + " changed its vote within term " + std::to_string(old.term));
    }
    d.hard_state = *rd.hard_state;
  }
  // Then send what depends on it.
  for (const Message& m : rd.messages) SendMessage(m);
  for (const Message& m : rd.snapshots_to_send) {
    auto msg = std::make_shared<Message>(m);
    if (d.snapshot.meta.index == m.snapshot.meta.index) {
      msg->snapshot = d.snapshot;  // the transport attaches the data
      Schedule(rng_.Range(50, 400), EventKind::kSnapshotDone, n.id, msg);
    } else {
      msg->snapshot = Snapshot{};  // not available any more: report failure
      Schedule(1, EventKind::kSnapshotDone, n.id, msg);
    }
  }
  // Apply.
  if (!rd.snapshot.empty()) InstallSnapshot(n, rd.snapshot);
  for (const Entry& e : rd.committed_entries) {
    Apply(n, e);
    if (!result_.ok) return;
  }
  for (const ReadState& rs : rd.read_states) {
    for (PendingRead& r : n.reads) {
      if (r.context != rs.context) continue;
      r.read_index = rs.index;
      // The read index must cover every write acknowledged before the read.
      if (rs.index < r.required) {
        Fail("ReadIndex " + std::to_string(rs.index) + " on node " + std::to_string(n.id) +
             " is older than acknowledged write index " + std::to_string(r.required));
      }
    }
  }
  ServeReads(n);
  n.core->Advance(rd);
  MaybeCompact(n);
  CheckNode(n);
  Pump(n);
}

void Simulation::InstallSnapshot(Node& n, const Snapshot& s) {
  AppState a = AppState::Decode(s.data);
  if (a.applied != s.meta.index) Fail("snapshot data does not match its index");
  if (a.applied < applied_hash_.size() && applied_hash_[a.applied] != 0 && applied_hash_[a.applied] != a.hash) {
    Fail("state-machine safety: snapshot at " + std::to_string(a.applied) + " differs on node " +
         std::to_string(n.id));
  }
  n.app = a;
  result_.stats.snapshots_installed++;
  Trace("node " + std::to_string(n.id) + " installs snapshot at " + std::to_string(a.applied));
}

void Simulation::Apply(Node& n, const Entry& e) {
  if (e.index != n.app.applied + 1) {
    Fail("node " + std::to_string(n.id) + " applies index " + std::to_string(e.index) + " after " +
         std::to_string(n.app.applied));
    return;
  }
  n.app.applied = e.index;
  n.app.hash = Mix(n.app.hash, HashEntry(e));
  if (applied_hash_.size() <= e.index) applied_hash_.resize(e.index + 1, 0);
  uint64_t& h = applied_hash_[e.index];
  if (h == 0) {
    h = n.app.hash;
    if (e.type == EntryType::kNormal && !e.data.empty()) {
      result_.stats.writes_acked++;
      max_acked_index_ = std::max(max_acked_index_, e.index);
      uint64_t id = std::strtoull(e.data.c_str() + 1, nullptr, 10);
      if (!chaos_ && id >= heal_first_write_ && !healed_progress_) {
        healed_progress_ = true;
        result_.stats.heals++;
        calm_done_step_ = step_;
        Trace("progress resumed after heal");
      }
    }
    if (e.type == EntryType::kConfChange) result_.stats.conf_changes++;
  } else if (h != n.app.hash) {
    Fail("state-machine safety: node " + std::to_string(n.id) + " applied a different entry at index " +
         std::to_string(e.index));
  }
}

void Simulation::ServeReads(Node& n) {
  auto it = n.reads.begin();
  while (it != n.reads.end()) {
    if (it->read_index != 0 && n.app.applied >= it->read_index) {
      if (n.app.applied < it->required) {
        Fail("linearizability: read " + it->context + " on node " + std::to_string(n.id) + " served at applied " +
             std::to_string(n.app.applied) + " < acknowledged write " + std::to_string(it->required));
      }
      result_.stats.reads_served++;
      it = n.reads.erase(it);
    } else if (now_ - it->issued_at > 50 * kTickUnits) {
      it = n.reads.erase(it);  // the client gives up; the core dropped it
    } else {
      ++it;
    }
  }
}

void Simulation::MaybeCompact(Node& n) {
  uint64_t since = n.app.applied - n.durable.snapshot.meta.index;
  if (since < 20 || !rng_.Chance(0.2)) return;
  Result<SnapshotMeta> meta = n.core->Compact(n.app.applied);
  if (!meta.ok()) return;
  // Written atomically (new file + rename) by a real driver.
  DurableStorage& d = n.durable;
  uint64_t drop = meta->index - d.snapshot.meta.index;
  if (drop > d.entries.size()) {
    Fail("compacted beyond the durable log on node " + std::to_string(n.id));
    return;
  }
  d.entries.erase(d.entries.begin(), d.entries.begin() + static_cast<ptrdiff_t>(drop));
  d.snapshot.meta = *meta;
  d.snapshot.data = n.app.Encode();
  Trace("node " + std::to_string(n.id) + " compacts to " + std::to_string(meta->index));
}

void Simulation::SendMessage(const Message& m) {
  if (!LinkUp(m.from, m.to) || (chaos_ && rng_.Chance(loss_))) return;
  int copies = chaos_ && rng_.Chance(dup_) ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    int64_t delay = rng_.Range(1, chaos_ && rng_.Chance(0.05) ? max_delay_ * 5 : max_delay_);
    if (!chaos_) {
      // Without faults a link behaves like a TCP stream: in order.
      int64_t& last = link_arrival_[{m.from, m.to}];
      delay = std::max(delay, last - now_);
      last = now_ + delay;
    }
    Schedule(delay, EventKind::kDeliver, m.to, std::make_shared<Message>(m));
  }
}

void Simulation::CheckNode(Node& n) {
  if (!result_.ok || !n.up) return;
  Core& c = *n.core;
  uint64_t term = c.term();
  if (c.role() == Role::kLeader) {
    auto [it, inserted] = leaders_.emplace(term, n.id);
    if (!inserted && it->second != n.id) {
      Fail("election safety: nodes " + std::to_string(it->second) + " and " + std::to_string(n.id) +
           " are both leaders of term " + std::to_string(term));
      return;
    }
    if (leader_seen_.emplace(term, n.id).second) {
      result_.stats.elections++;
      Trace("node " + std::to_string(n.id) + " is leader of term " + std::to_string(term));
      // Leader completeness: every committed entry is in the new leader's log.
      CoreStatus st = c.GetStatus();
      for (uint64_t i = st.snapshot_index + 1; i < committed_terms_.size(); ++i) {
        if (committed_terms_[i] == 0) continue;
        Result<uint64_t> t = c.TermAt(i);
        if (!t.ok() || *t != committed_terms_[i]) {
          Fail("leader completeness: leader " + std::to_string(n.id) + " of term " + std::to_string(term) +
               " lacks committed entry " + std::to_string(i));
          return;
        }
      }
    }
  }
  uint64_t commit = c.commit();
  // Nemesis: losing a leader right after it advanced its commit index, above
  // all a new leader catching up on its predecessors' entries, is what
  // exposes commit-rule bugs (Figure 8). Strike then, now and again.
  if (c.role() == Role::kLeader && commit > n.last_commit_seen && chaos_) {
    bool new_leader = n.commits_as_leader_term != term;
    if (new_leader) {
      n.commits_as_leader_term = term;
      n.commits_as_leader = 0;
    }
    double p = ++n.commits_as_leader <= 3 ? 0.15 : 0.02;
    if (rng_.Chance(p)) Schedule(rng_.Range(0, 20), EventKind::kStrikeLeader, n.id);
  }
  n.last_commit_seen = commit;
  // Committed entries never change.
  if (commit + 1 > committed_terms_.size()) {
    uint64_t old = committed_terms_.size();
    committed_terms_.resize(commit + 1, 0);
    for (uint64_t i = old; i <= commit; ++i) {
      Result<uint64_t> t = c.TermAt(i);
      if (t.ok()) committed_terms_[i] = *t;
    }
    result_.stats.committed = commit;
  } else if (commit > 0 && committed_terms_[commit] != 0) {
    Result<uint64_t> t = c.TermAt(commit);
    if (t.ok() && *t != committed_terms_[commit]) {
      Fail("committed entry " + std::to_string(commit) + " has a different term on node " + std::to_string(n.id));
    }
  }
}

void Simulation::OnTick(Node& n) {
  result_.stats.ticks++;
  n.core->Tick();
  Pump(n);
}

void Simulation::OnDeliver(const Message& m) {
  Node* n = Get(m.to);
  if (n == nullptr || !n->up || !LinkUp(m.from, m.to)) return;
  Trace("deliver " + std::string(MessageTypeName(m.type)) + " " + std::to_string(m.from) + "->" +
        std::to_string(m.to) + " term=" + std::to_string(m.term) + " index=" + std::to_string(m.index) +
        " n=" + std::to_string(m.entries.size()) + " commit=" + std::to_string(m.commit) +
        (m.reject ? " reject" : ""));
  Status s = n->core->Step(m);
  if (!s.ok()) {
    Fail("node " + std::to_string(n->id) + " rejected a message: " + s.message());
    return;
  }
  Pump(*n);
}

Node* Simulation::AnyLeader() {
  std::vector<Node*> leaders;
  for (auto& [id, n] : nodes_) {
    if (n.up && n.core->role() == Role::kLeader) leaders.push_back(&n);
  }
  if (leaders.empty()) return nullptr;
  return leaders[rng_.Next() % leaders.size()];
}

std::vector<NodeId> Simulation::UpNodes() {
  std::vector<NodeId> out;
  for (auto& [id, n] : nodes_) {
    if (n.up) out.push_back(id);
  }
  return out;
}

void Simulation::OnClient() {
  Schedule(rng_.Range(20, 150), EventKind::kClient, 0);
  int64_t pick = rng_.Range(0, 99);
  if (pick < 55) {
    Node* l = AnyLeader();
    if (l == nullptr) return;
    // Clients back off while the leader has a long uncommitted backlog.
    if (l->core->last_index() - l->core->commit() > 64) return;
    std::string data = "w" + std::to_string(next_write_++);
    data.append(static_cast<size_t>(rng_.Range(0, 40)), 'x');
    Result<uint64_t> r = l->core->Propose(std::move(data));
    Trace("propose on " + std::to_string(l->id) + (r.ok() ? " -> " + std::to_string(*r) : " refused"));
    Pump(*l);
  } else if (pick < 85) {
    std::vector<NodeId> up = UpNodes();
    if (up.empty()) return;
    Node& n = nodes_[up[rng_.Next() % up.size()]];
    std::string ctx = "r" + std::to_string(next_read_++);
    if (n.core->ReadIndex(ctx).ok()) {
      n.reads.push_back(PendingRead{ctx, max_acked_index_, 0, now_});
      Trace("read " + ctx + " on " + std::to_string(n.id) + " requires " + std::to_string(max_acked_index_));
    }
    Pump(n);
  } else if (pick < 94) {
    if (!chaos_) return;
    Node* l = AnyLeader();
    if (l == nullptr) return;
    CoreStatus st = l->core->GetStatus();
    ConfChange cc;
    int64_t what = rng_.Range(0, 3);
    std::vector<NodeId> voters(st.conf.voters.begin(), st.conf.voters.end());
    std::vector<NodeId> learners(st.conf.learners.begin(), st.conf.learners.end());
    if (what == 0 && !learners.empty()) {
      cc = {ConfChangeType::kAddVoter, learners[rng_.Next() % learners.size()]};  // promote
      if (voters.size() >= 5) return;
    } else if (what == 1 && voters.size() > 3) {
      cc = {ConfChangeType::kRemoveNode, voters[rng_.Next() % voters.size()]};  // maybe the leader
    } else if (what == 2 && !learners.empty()) {
      cc = {ConfChangeType::kRemoveNode, learners[rng_.Next() % learners.size()]};
    } else {
      // A new node, as learner or directly as voter.
      if (next_node_id_ > kMaxNodes) return;
      if (voters.size() >= 5 && what != 3) return;
      cc = {what == 3 || voters.size() >= 5 ? ConfChangeType::kAddLearner : ConfChangeType::kAddVoter,
            next_node_id_};
    }
    Result<uint64_t> r = l->core->ProposeConfChange(cc);
    Trace("conf change " + EncodeConfChange(cc) + " on " + std::to_string(l->id) +
          (r.ok() ? " -> " + std::to_string(*r) : " refused: " + r.status().message()));
    if (r.ok() && cc.node == next_node_id_) {
      Node& fresh = nodes_[next_node_id_];
      fresh.id = next_node_id_++;
      fresh.tick_phase = rng_.Range(0, kTickUnits - 1);
      StartNode(fresh, true);
      Schedule(fresh.tick_phase + 1, EventKind::kTick, fresh.id);
    }
    Pump(*l);
  } else {
    if (!chaos_) return;
    Node* l = AnyLeader();
    if (l == nullptr) return;
    CoreStatus st = l->core->GetStatus();
    std::vector<NodeId> voters(st.conf.voters.begin(), st.conf.voters.end());
    NodeId to = voters[rng_.Next() % voters.size()];
    if (l->core->TransferLeadership(to).ok() && to != l->id) {
      result_.stats.transfers++;
      Trace("transfer leadership " + std::to_string(l->id) + " -> " + std::to_string(to));
    }
    Pump(*l);
  }
}

void Simulation::OnFault() {
  if (!chaos_) return;
  Schedule(rng_.Range(50, 1000), EventKind::kFault, 0);
  std::vector<NodeId> ids;
  for (auto& [id, n] : nodes_) ids.push_back(id);
  // Faults aimed at the leader make divergent logs and elections likely.
  Node* leader = AnyLeader();
  int64_t pick = rng_.Range(0, 99);
  if (pick < 20) {
    // Symmetric partition into two groups: random, or the leader (plus
    // maybe one follower) against the rest.
    blocked_.clear();
    std::set<NodeId> side;
    if (leader != nullptr && rng_.Chance(0.5)) {
      side.insert(leader->id);
      if (rng_.Chance(0.5)) side.insert(ids[rng_.Next() % ids.size()]);
    } else {
      for (NodeId id : ids) {
        if (rng_.Chance(0.5)) side.insert(id);
      }
    }
    for (NodeId a : ids) {
      for (NodeId b : ids) {
        if (side.count(a) != side.count(b)) blocked_.insert({a, b});
      }
    }
    Trace("partition");
  } else if (pick < 32) {
    NodeId a = ids[rng_.Next() % ids.size()], b = ids[rng_.Next() % ids.size()];
    if (leader != nullptr && rng_.Chance(0.5)) a = leader->id;
    if (a != b) blocked_.insert({a, b});
    Trace("one-way block " + std::to_string(a) + "->" + std::to_string(b));
  } else if (pick < 42) {
    blocked_.clear();
    Trace("network heals");
  } else if (pick < 62) {
    if (leader != nullptr && rng_.Chance(0.5)) {
      Crash(*leader);
    } else {
      std::vector<NodeId> up = UpNodes();
      if (up.empty()) return;
      Crash(nodes_[up[rng_.Next() % up.size()]]);
    }
  } else if (pick < 82) {
    std::vector<NodeId> down;
    for (auto& [id, n] : nodes_) {
      if (!n.up) down.push_back(id);
    }
    if (!down.empty()) StartNode(nodes_[down[rng_.Next() % down.size()]], false);
  } else if (pick < 92) {
    loss_ = rng_.Chance(0.5) ? 0 : static_cast<double>(rng_.Range(1, 30)) / 100;
    dup_ = rng_.Chance(0.5) ? 0 : static_cast<double>(rng_.Range(1, 10)) / 100;
    Trace("loss/dup changed");
  } else {
    max_delay_ = rng_.Range(20, 300);
  }
}

void Simulation::Heal() {
  chaos_ = false;
  blocked_.clear();
  loss_ = dup_ = 0;
  max_delay_ = 100;
  for (auto& [id, n] : nodes_) {
    if (!n.up) StartNode(n, false);
  }
  heal_time_ = now_;
  heal_first_write_ = next_write_;
  healed_progress_ = false;
  Trace("=== faults healed ===");
}

SimResult Simulation::Run() {
  int initial = opt_.seed % 2 == 0 ? 5 : 3;
  heartbeat_tick_ = static_cast<int>(rng_.Range(1, 3));
  const size_t inflight[] = {1, 2, 4, 64};
  max_inflight_ = inflight[rng_.Next() % 4];
  const uint64_t sizes[] = {1, 64, 256, 4096};
  max_size_ = sizes[rng_.Next() % 4];
  check_quorum_ = rng_.Chance(0.8);
  ConfState conf;
  for (int i = 0; i < initial; ++i) conf.voters.insert(next_node_id_ + i);
  for (int i = 0; i < initial; ++i) {
    Node& n = nodes_[next_node_id_];
    n.id = next_node_id_++;
    InitialState boot = BootstrapState(conf);
    n.durable.hard_state = boot.hard_state;
    n.durable.snapshot.meta = boot.snapshot;
    n.durable.snapshot.data = AppState{1, 0}.Encode();
    n.tick_phase = rng_.Range(0, kTickUnits - 1);
    StartNode(n, true);
    Schedule(n.tick_phase + 1, EventKind::kTick, n.id);
  }
  applied_hash_.assign(2, 0);
  Schedule(1, EventKind::kClient, 0);
  Schedule(rng_.Range(100, 1000), EventKind::kFault, 0);

  while (result_.ok && !events_.empty()) {
    bool in_budget = step_ < static_cast<uint64_t>(opt_.steps);
    if (!in_budget && (chaos_ || healed_progress_)) break;  // done, nothing left to decide
    if (chaos_ && step_ - chaos_start_step_ >= static_cast<uint64_t>(kChaosSteps)) Heal();
    if (!chaos_ && healed_progress_ && step_ - calm_done_step_ >= 300) {
      chaos_ = true;
      chaos_start_step_ = step_;
      Schedule(rng_.Range(50, 500), EventKind::kFault, 0);
      Trace("=== chaos ===");
    }
    if (!chaos_ && !healed_progress_ && now_ - heal_time_ > kLivenessTicks * kTickUnits) {
      Fail("liveness: no proposal committed within " + std::to_string(kLivenessTicks) + " ticks after healing");
      break;
    }
    Event e = events_.top();
    events_.pop();
    now_ = e.time;
    ++step_;
    Node* n = e.node != 0 ? Get(e.node) : nullptr;
    switch (e.kind) {
      case EventKind::kTick:
        if (n != nullptr) {
          Schedule(kTickUnits, EventKind::kTick, n->id);
          if (n->up) OnTick(*n);
        }
        break;
      case EventKind::kDeliver:
        OnDeliver(*e.msg);
        break;
      case EventKind::kSync:
        if (n != nullptr && n->up && n->incarnation == e.incarnation) Sync(*n);
        break;
      case EventKind::kSnapshotDone: {
        // The snapshot stream from the leader finished (or failed).
        if (n == nullptr || !n->up || n->incarnation != e.incarnation) break;
        const Message& m = *e.msg;
        Node* to = Get(m.to);
        bool ok = !m.snapshot.empty() && to != nullptr && to->up && LinkUp(m.from, m.to) &&
                  LinkUp(m.to, m.from) && !(chaos_ && rng_.Chance(loss_));
        Trace("snapshot " + std::to_string(m.from) + "->" + std::to_string(m.to) + (ok ? " delivered" : " failed"));
        if (ok) {
          Status s = to->core->Step(m);
          if (!s.ok()) Fail("snapshot rejected: " + s.message());
          Pump(*to);
          // A retransmission from a confused transport arrives much later.
          if (chaos_ && rng_.Chance(dup_ * 3)) {
            Schedule(rng_.Range(200, 2000), EventKind::kSnapshotReplay, m.to, std::make_shared<Message>(m));
          }
        }
        n->core->ReportSnapshot(m.to, ok);
        Pump(*n);
        break;
      }
      case EventKind::kSnapshotReplay:
        if (n != nullptr && n->up && LinkUp(e.msg->from, e.msg->to)) {
          Trace("stale snapshot " + std::to_string(e.msg->snapshot.meta.index) + " redelivered to " +
                std::to_string(n->id));
          Status s = n->core->Step(*e.msg);
          if (!s.ok()) Fail("snapshot rejected: " + s.message());
          Pump(*n);
        }
        break;
      case EventKind::kClient:
        OnClient();
        break;
      case EventKind::kFault:
        OnFault();
        break;
      case EventKind::kStrikeLeader:
        if (n == nullptr || !n->up || n->incarnation != e.incarnation || !chaos_) break;
        if (rng_.Chance(0.5)) {
          Crash(*n);
        } else {
          for (auto& [id, other] : nodes_) {
            if (id == n->id) continue;
            blocked_.insert({n->id, id});
            blocked_.insert({id, n->id});
          }
          Trace("isolate leader " + std::to_string(n->id));
        }
        break;
    }
    if (n != nullptr) CheckNode(*n);
    if (e.kind == EventKind::kDeliver) {
      if (Node* to = Get(e.msg->to)) CheckNode(*to);
    } else if (e.kind == EventKind::kClient || e.kind == EventKind::kFault || e.kind == EventKind::kSnapshotDone) {
      for (auto& [id, node] : nodes_) CheckNode(node);
    }
  }
  result_.stats.steps = step_;
  return result_;
}

}  // namespace

SimResult RunSimulation(const SimOptions& options) { return Simulation(options).Run(); }

}  // namespace dougong::raft::sim
