// Unit tests for dougong::raft::Core, each driving a few cores through an
// in-memory network whose delivery the test controls message by message.
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "dougong/raft/core.h"

namespace dougong::raft {
namespace {

ConfState Voters(std::initializer_list<NodeId> ids) {
  ConfState c;
  c.voters = ids;
  return c;
}

Entry E(uint64_t index, uint64_t term, std::string data = "x") {
  return Entry{index, term, EntryType::kNormal, std::move(data)};
}

// Nodes whose storage persists synchronously; the test controls the network.
class Cluster {
 public:
  struct Node {
    std::unique_ptr<Core> core;
    HardState hs;
    Snapshot snap;
    std::vector<Entry> log;  // persisted entries after snap
    std::vector<Entry> applied;
    std::vector<ReadState> reads;
    bool up = true;
  };

  explicit Cluster(std::vector<NodeId> ids, std::function<void(Config&)> tweak = {}) : tweak_(std::move(tweak)) {
    ConfState conf;
    conf.voters.insert(ids.begin(), ids.end());
    for (NodeId id : ids) Start(id, BootstrapState(conf));
  }

  Config ConfigFor(NodeId id) {
    Config c;
    c.id = id;
    c.election_tick = 10;
    c.heartbeat_tick = 1;
    c.seed = id * 7919;
    if (tweak_) tweak_(c);
    return c;
  }

  // Starts (or restarts) a node from `st`, which becomes its storage.
  void Start(NodeId id, InitialState st) {
    Node& n = nodes[id];
    n.hs = st.hard_state;
    n.snap.meta = st.snapshot;
    n.log = st.entries;
    n.applied.clear();
    n.up = true;
    Result<std::unique_ptr<Core>> core = Core::Create(ConfigFor(id), std::move(st));
    ASSERT_TRUE(core.ok()) << core.status().message();
    n.core = std::move(*core);
    Process(id);
  }
  void Restart(NodeId id) {
    Node& n = nodes[id];
    InitialState st;
    st.hard_state = n.hs;
    st.snapshot = n.snap.meta;
    st.entries = n.log;
    Start(id, std::move(st));
  }
  void Crash(NodeId id) {
    nodes[id].up = false;
    nodes[id].core.reset();
  }

  Core& core(NodeId id) { return *nodes.at(id).core; }

  void Process(NodeId id) {
    Node& n = nodes.at(id);
    while (n.up && n.core->HasReady()) {
      Ready rd = n.core->GetReady();
      if (!rd.snapshot.empty()) {
        n.snap = rd.snapshot;
        n.log.clear();
      }
      if (!rd.entries.empty()) {
        n.log.resize(rd.entries.front().index - n.snap.meta.index - 1);
        n.log.insert(n.log.end(), rd.entries.begin(), rd.entries.end());
      }
      if (rd.hard_state) n.hs = *rd.hard_state;
      for (Message& m : rd.messages) net.push_back(std::move(m));
      for (Message& m : rd.snapshots_to_send) {
        bool ok = n.snap.meta.index == m.snapshot.meta.index && !Cut(m.from, m.to);
        snapshots_sent++;
        if (ok) {
          m.snapshot = n.snap;
          net.push_back(m);
        }
        n.core->ReportSnapshot(m.to, ok);
      }
      n.applied.insert(n.applied.end(), rd.committed_entries.begin(), rd.committed_entries.end());
      n.reads.insert(n.reads.end(), rd.read_states.begin(), rd.read_states.end());
      n.core->Advance(rd);
    }
  }

  bool Cut(NodeId a, NodeId b) const { return cut.count({a, b}) != 0; }
  void Isolate(NodeId id) {
    for (auto& [other, n] : nodes) {
      if (other == id) continue;
      cut.insert({id, other});
      cut.insert({other, id});
    }
  }
  void Heal() { cut.clear(); }

  // Delivers one message; false if the network is empty.
  bool DeliverOne() {
    if (net.empty()) return false;
    Message m = std::move(net.front());
    net.pop_front();
    if (Cut(m.from, m.to) || (filter && !filter(m))) return true;
    auto it = nodes.find(m.to);
    if (it == nodes.end() || !it->second.up) return true;
    if (m.type == MessageType::kAppendResp && m.reject) rejections++;
    Status s = it->second.core->Step(m);
    EXPECT_TRUE(s.ok()) << s.message();
    Process(m.to);
    return true;
  }

  void Stabilize() {
    for (int i = 0; i < 100000 && DeliverOne(); ++i) {
    }
  }

  void Tick(NodeId id, int n = 1) {
    for (int i = 0; i < n; ++i) {
      if (!nodes.at(id).up) return;
      core(id).Tick();
      Process(id);
      Stabilize();
    }
  }
  void TickAll(int n = 1) {
    for (int i = 0; i < n; ++i) {
      for (auto& [id, node] : nodes) {
        if (!node.up) continue;
        node.core->Tick();
        Process(id);
      }
      Stabilize();
    }
  }

  // Campaigns until elected: a first attempt may only teach it a newer term.
  void Elect(NodeId id) {
    for (int i = 0; i < 3 && core(id).role() != Role::kLeader; ++i) {
      ASSERT_TRUE(core(id).Campaign().ok());
      Process(id);
      Stabilize();
    }
    ASSERT_EQ(core(id).role(), Role::kLeader);
  }

  uint64_t Propose(NodeId id, std::string data) {
    Result<uint64_t> r = core(id).Propose(std::move(data));
    EXPECT_TRUE(r.ok()) << r.status().message();
    Process(id);
    Stabilize();
    return r.ok() ? *r : 0;
  }

  void ChangeConf(NodeId leader, ConfChange cc) {
    Result<uint64_t> r = core(leader).ProposeConfChange(cc);
    ASSERT_TRUE(r.ok()) << r.status().message();
    Process(leader);
    Stabilize();
  }

  std::map<NodeId, Node> nodes;
  std::deque<Message> net;
  std::set<std::pair<NodeId, NodeId>> cut;
  std::function<bool(const Message&)> filter;
  int rejections = 0;
  int snapshots_sent = 0;

 private:
  std::function<void(Config&)> tweak_;
};

TEST(RaftCore, ElectsALeaderAndReplicates) {
  Cluster c({1, 2, 3});
  c.TickAll(30);
  int leaders = 0;
  NodeId leader = 0;
  for (auto& [id, n] : c.nodes) {
    if (n.core->role() == Role::kLeader) {
      ++leaders;
      leader = id;
    }
  }
  ASSERT_EQ(leaders, 1);
  uint64_t idx = c.Propose(leader, "hello");
  for (auto& [id, n] : c.nodes) {
    EXPECT_EQ(n.core->leader(), leader);
    EXPECT_EQ(n.core->commit(), idx);
    ASSERT_FALSE(n.applied.empty());
    EXPECT_EQ(n.applied.back().data, "hello");
  }
}

// Without check-quorum, followers have no leader lease, so the test can start
// elections at will.
void NoCheckQuorum(Config& cfg) { cfg.check_quorum = false; }

TEST(RaftCore, ElectionNeedsAnUpToDateLog) {
  Cluster c({1, 2, 3}, NoCheckQuorum);
  c.Elect(1);
  c.Isolate(3);
  c.Propose(1, "a");
  c.Heal();
  c.Crash(1);
  // 3 lacks "a": 2 refuses its vote, so 3 cannot win.
  ASSERT_TRUE(c.core(3).Campaign().ok());
  c.Process(3);
  c.Stabilize();
  EXPECT_NE(c.core(3).role(), Role::kLeader);
  c.Elect(2);
}

TEST(RaftCore, PreVoteDoesNotDisruptAStableLeader) {
  Cluster c({1, 2, 3});
  c.Elect(1);
  uint64_t term = c.core(1).term();
  c.Isolate(3);
  c.Tick(3, 100);  // many failed pre-votes while partitioned
  EXPECT_EQ(c.core(3).term(), term) << "a pre-vote must not bump the term";
  c.Heal();
  c.TickAll(1);  // 3 hears from the leader again
  ASSERT_TRUE(c.core(3).Campaign().ok());
  c.Process(3);
  c.Stabilize();
  EXPECT_EQ(c.core(1).role(), Role::kLeader);
  EXPECT_EQ(c.core(1).term(), term);
  c.TickAll(1);
  EXPECT_EQ(c.core(3).leader(), 1u);
  EXPECT_EQ(c.core(1).term(), term);
}

TEST(RaftCore, WithoutPreVoteARejoiningNodeDisrupts) {
  // The contrast that shows the pre-vote test above can fail.
  Cluster c({1, 2, 3}, [](Config& cfg) {
    cfg.pre_vote = false;
    cfg.check_quorum = false;
  });
  c.Elect(1);
  uint64_t term = c.core(1).term();
  c.Isolate(3);
  c.Tick(3, 100);
  EXPECT_GT(c.core(3).term(), term);
  c.Heal();
  c.TickAll(30);
  EXPECT_GT(c.core(1).term(), term);
}

TEST(RaftCore, CheckQuorumMakesAnIsolatedLeaderStepDown) {
  Cluster c({1, 2, 3});
  c.Elect(1);
  c.Isolate(1);
  c.Tick(1, 2 * 10 + 1);
  EXPECT_EQ(c.core(1).role(), Role::kFollower);
}

TEST(RaftCore, ConflictingLogsAreRepairedWithFewProbes) {
  Cluster c({1, 2, 3}, [](Config& cfg) {
    cfg.max_size_per_msg = 1 << 20;
    cfg.check_quorum = false;
  });
  c.Elect(1);
  c.Propose(1, "base");
  // 1 appends 50 entries nobody else gets.
  c.Isolate(1);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(c.core(1).Propose("lost" + std::to_string(i)).ok());
  c.Process(1);
  c.net.clear();
  // 2 becomes leader of a newer term and commits 30 entries with 3.
  c.Elect(2);
  for (int i = 0; i < 30; ++i) c.Propose(2, "kept" + std::to_string(i));
  c.TickAll(1);
  c.rejections = 0;
  c.Heal();
  c.TickAll(3);
  EXPECT_EQ(c.core(1).role(), Role::kFollower);
  EXPECT_LE(c.rejections, 3) << "back-tracking went entry by entry";
  uint64_t last = c.core(2).last_index();
  ASSERT_EQ(c.core(1).last_index(), last);
  for (uint64_t i = 2; i <= last; ++i) EXPECT_EQ(*c.core(1).TermAt(i), *c.core(2).TermAt(i)) << i;
  EXPECT_EQ(c.nodes[1].applied.back().data, "kept29");
}

TEST(RaftCore, RejectionHintNamesTheConflictingTermAndItsFirstIndex) {
  InitialState st = BootstrapState(Voters({1, 2, 3}));
  st.hard_state.term = 3;
  st.entries = {E(2, 2), E(3, 2), E(4, 2)};
  Result<std::unique_ptr<Core>> r = Core::Create(Config{.id = 2}, std::move(st));
  ASSERT_TRUE(r.ok());
  Core& follower = **r;
  auto append = [&](uint64_t index, uint64_t log_term) {
    Message m;
    m.type = MessageType::kAppend;
    m.from = 1;
    m.to = 2;
    m.term = 3;
    m.index = index;
    m.log_term = log_term;
    m.commit = 1;
    EXPECT_TRUE(follower.Step(m).ok());
    Ready rd = follower.GetReady();
    follower.Advance(rd);
    EXPECT_EQ(rd.messages.size(), 1u);
    return rd.messages.empty() ? Message{} : rd.messages.back();
  };
  Message resp = append(4, 3);  // the leader has term 3 at index 4
  EXPECT_TRUE(resp.reject);
  EXPECT_EQ(resp.log_term, 2u);
  EXPECT_EQ(resp.reject_hint, 2u);  // first index of term 2
  resp = append(9, 3);              // beyond the follower's log
  EXPECT_TRUE(resp.reject);
  EXPECT_EQ(resp.log_term, 0u);
  EXPECT_EQ(resp.reject_hint, 5u);  // last index + 1
}

// Figure 8 of the Raft paper: a leader must not count replicas of an entry
// from an earlier term to commit it (§5.4.2); a later leader may overwrite it.
TEST(RaftCore, Figure8NoCommitByCountingOldTermEntries) {
  ConfState conf = Voters({1, 2, 3, 4, 5});
  auto state = [&](uint64_t term, std::vector<Entry> log) {
    InitialState st = BootstrapState(conf);
    st.hard_state.term = term;
    st.entries = std::move(log);
    return st;
  };
  Cluster c({1, 2, 3, 4, 5}, [](Config& cfg) {
    cfg.max_size_per_msg = 1;
    cfg.check_quorum = false;
  });
  // S1 (leader of term 2) replicated index 2 to S2 only; S5 (leader of
  // term 3) appended its own index 2; then both crashed.
  c.Start(1, state(3, {E(2, 2, "s1")}));
  c.Start(2, state(3, {E(2, 2, "s1")}));
  c.Start(3, state(3, {}));
  c.Start(4, state(3, {}));
  c.Start(5, state(3, {E(2, 3, "s5")}));
  c.Crash(5);
  c.net.clear();
  // S1 is elected for term 4 and replicates index 2 (one entry per
  // message) to S3, but the appends carrying its term-4 entry are lost.
  c.filter = [&c](const Message& m) {
    if (m.type != MessageType::kAppend || !c.nodes[m.to].up) return true;
    bool new_entry = false;
    for (const Entry& e : m.entries) new_entry |= e.term == 4;
    Result<uint64_t> t = c.core(m.to).TermAt(m.index);
    bool would_accept = t.ok() && *t == m.log_term;
    return !(new_entry && would_accept);
  };
  c.Elect(1);
  c.TickAll(1);
  ASSERT_EQ(*c.core(3).TermAt(2), 2u);  // index 2 is on a majority (S1, S2, S3)...
  EXPECT_EQ(c.core(1).commit(), 1u) << "committed an old-term entry by counting replicas";
  // ...yet S5 can still win (its last term 3 beats 2) and overwrite it.
  c.Crash(1);
  c.filter = nullptr;
  c.Restart(5);
  c.Elect(5);
  c.Propose(5, "after");
  for (NodeId id : {2, 3, 4, 5}) EXPECT_EQ(*c.core(id).TermAt(2), 3u) << id;
  EXPECT_EQ(c.nodes[2].applied.front().data, "s5");
}

TEST(RaftCore, CommitsOldTermEntriesWithAnEntryOfTheCurrentTerm) {
  Cluster c({1, 2, 3});
  ConfState conf = Voters({1, 2, 3});
  InitialState st = BootstrapState(conf);
  st.hard_state.term = 2;
  st.entries = {E(2, 2, "old")};
  c.Start(1, st);
  c.Elect(1);
  // The no-op of term 3 at index 3 commits index 2 with it.
  EXPECT_EQ(c.core(1).commit(), 3u);
  EXPECT_EQ(c.nodes[2].applied[0].data, "old");
}

TEST(RaftCore, SnapshotIsSentToAFollowerTooFarBehind) {
  Cluster c({1, 2, 3});
  c.Elect(1);
  c.Isolate(3);
  for (int i = 0; i < 20; ++i) c.Propose(1, "v" + std::to_string(i));
  uint64_t applied = c.nodes[1].applied.back().index;
  Result<SnapshotMeta> meta = c.core(1).Compact(applied);
  ASSERT_TRUE(meta.ok()) << meta.status().message();
  EXPECT_EQ(meta->conf, Voters({1, 2, 3}));
  c.nodes[1].snap = Snapshot{*meta, "app state at " + std::to_string(applied)};
  c.nodes[1].log.clear();
  c.Heal();
  c.TickAll(3);
  EXPECT_EQ(c.snapshots_sent, 1);
  EXPECT_EQ(c.nodes[3].snap.meta.index, applied);
  EXPECT_EQ(c.nodes[3].snap.data, "app state at " + std::to_string(applied));
  c.Propose(1, "after");
  EXPECT_EQ(c.core(3).commit(), c.core(1).commit());
  EXPECT_EQ(c.nodes[3].applied.back().data, "after");
}

TEST(RaftCore, FailedSnapshotIsRetried) {
  Cluster c({1, 2, 3});
  c.Elect(1);
  c.Isolate(3);
  for (int i = 0; i < 5; ++i) c.Propose(1, "v");
  ASSERT_TRUE(c.core(1).Compact(c.nodes[1].applied.back().index).ok());
  // The leader's driver has no matching snapshot yet: the send fails.
  c.Heal();
  c.TickAll(2);
  EXPECT_GE(c.snapshots_sent, 1);
  EXPECT_EQ(c.nodes[3].snap.meta.index, 1u);
  // Once the application's snapshot exists, the retry succeeds.
  SnapshotMeta m;
  m.index = c.nodes[1].applied.back().index;
  m.term = *c.core(1).TermAt(m.index);
  m.conf = Voters({1, 2, 3});
  c.nodes[1].snap = Snapshot{m, "data"};
  c.TickAll(3);
  EXPECT_EQ(c.nodes[3].snap.meta.index, m.index);
}

TEST(RaftCore, LearnerCatchesUpWithoutVotingAndIsPromoted) {
  Cluster c({1, 2, 3});
  c.Elect(1);
  c.Propose(1, "a");
  c.ChangeConf(1, {ConfChangeType::kAddLearner, 4});
  c.Start(4, InitialState{});  // a joining node knows nothing
  c.TickAll(3);
  EXPECT_TRUE(c.core(1).GetStatus().conf.IsLearner(4));
  EXPECT_TRUE(c.core(4).GetStatus().conf.IsLearner(4));
  EXPECT_EQ(c.core(4).commit(), c.core(1).commit());
  // A learner never campaigns.
  c.Isolate(4);
  c.Tick(4, 50);
  EXPECT_EQ(c.core(4).role(), Role::kFollower);
  EXPECT_FALSE(c.core(4).Campaign().ok());
  c.Heal();
  c.TickAll(2);
  c.ChangeConf(1, {ConfChangeType::kAddVoter, 4});
  c.TickAll(2);
  EXPECT_TRUE(c.core(4).GetStatus().conf.IsVoter(4));
  EXPECT_EQ(c.core(1).GetStatus().conf.voters.size(), 4u);
  // Now 4 counts: with 1 and 2 down, 3 and 4 are not a majority of 4.
  c.Crash(1);
  c.Crash(2);
  EXPECT_TRUE(c.core(4).Campaign().ok());
  c.Process(4);
  c.Stabilize();
  EXPECT_NE(c.core(4).role(), Role::kLeader);
}

TEST(RaftCore, ConfChangesWaitForTheLeadersFirstEntryAndOneAtATime) {
  Cluster c({1, 2, 3});
  c.filter = [](const Message& m) { return m.type != MessageType::kAppend; };
  c.Elect(1);
  // The no-op of the new term is not committed yet.
  Result<uint64_t> r = c.core(1).ProposeConfChange({ConfChangeType::kAddLearner, 4});
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  c.filter = nullptr;
  c.TickAll(1);
  r = c.core(1).ProposeConfChange({ConfChangeType::kAddLearner, 4});
  ASSERT_TRUE(r.ok());
  // A second change while the first is uncommitted.
  r = c.core(1).ProposeConfChange({ConfChangeType::kAddLearner, 5});
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  c.Process(1);
  c.Stabilize();
  EXPECT_TRUE(c.core(1).ProposeConfChange({ConfChangeType::kAddLearner, 5}).ok());
  EXPECT_EQ(c.core(1).ProposeConfChange({ConfChangeType::kRemoveNode, 9}).status().code(), Code::kFailedPrecondition);
}

TEST(RaftCore, RemovedLeaderStepsDownAfterTheChangeCommits) {
  Cluster c({1, 2, 3});
  c.Elect(1);
  c.Propose(1, "a");
  c.ChangeConf(1, {ConfChangeType::kRemoveNode, 1});
  EXPECT_EQ(c.core(1).role(), Role::kFollower);
  EXPECT_FALSE(c.core(2).GetStatus().conf.IsMember(1));
  EXPECT_FALSE(c.core(1).Campaign().ok());
  c.TickAll(40);
  NodeId leader = c.core(2).leader();
  EXPECT_TRUE(leader == 2 || leader == 3);
  c.Propose(leader, "b");
  EXPECT_EQ(c.nodes[2].applied.back().data, "b");
  EXPECT_EQ(c.nodes[3].applied.back().data, "b");
}

TEST(RaftCore, RestartReplaysConfChangesUpToCommit) {
  Cluster c({1, 2, 3});
  c.Elect(1);
  c.ChangeConf(1, {ConfChangeType::kAddLearner, 4});
  c.TickAll(1);
  c.Crash(2);
  c.Restart(2);
  EXPECT_TRUE(c.core(2).GetStatus().conf.IsLearner(4));
}

TEST(RaftCore, LeadershipTransfer) {
  Cluster c({1, 2, 3});
  c.Elect(1);
  c.Propose(1, "a");
  ASSERT_TRUE(c.core(1).TransferLeadership(2).ok());
  c.Process(1);
  c.Stabilize();
  EXPECT_EQ(c.core(2).role(), Role::kLeader);
  EXPECT_EQ(c.core(1).role(), Role::kFollower);
  EXPECT_EQ(c.core(1).leader(), 2u);
  EXPECT_FALSE(c.core(1).TransferLeadership(3).ok());  // not the leader any more
}

TEST(RaftCore, TransferBlocksProposalsAndAbortsAfterAnElectionTimeout) {
  Cluster c({1, 2, 3});
  c.Elect(1);
  c.Isolate(3);
  c.Propose(1, "a");  // 3 lags behind
  ASSERT_TRUE(c.core(1).TransferLeadership(3).ok());
  EXPECT_EQ(c.core(1).GetStatus().transferee, 3u);
  EXPECT_EQ(c.core(1).Propose("b").status().code(), Code::kUnavailable);
  c.Tick(1, 10);
  EXPECT_EQ(c.core(1).GetStatus().transferee, kNoNode);
  EXPECT_EQ(c.core(1).role(), Role::kLeader);
  EXPECT_TRUE(c.core(1).Propose("b").ok());
}

TEST(RaftCore, TransferToALaggingFollowerCatchesItUpFirst) {
  Cluster c({1, 2, 3});
  c.Elect(1);
  c.Isolate(3);
  c.Propose(1, "a");
  ASSERT_TRUE(c.core(1).TransferLeadership(3).ok());
  c.Process(1);
  c.Heal();
  c.TickAll(1);
  EXPECT_EQ(c.core(3).role(), Role::kLeader);
}

TEST(RaftCore, ReadIndexOnTheLeaderNeedsAHeartbeatQuorum) {
  Cluster c({1, 2, 3});
  c.Elect(1);
  c.Propose(1, "a");
  c.filter = [](const Message& m) { return m.type != MessageType::kHeartbeatResp; };
  ASSERT_TRUE(c.core(1).ReadIndex("r1").ok());
  c.Process(1);
  c.Stabilize();
  EXPECT_TRUE(c.nodes[1].reads.empty());
  c.filter = nullptr;
  c.TickAll(1);
  ASSERT_EQ(c.nodes[1].reads.size(), 1u);
  EXPECT_EQ(c.nodes[1].reads[0].context, "r1");
  EXPECT_EQ(c.nodes[1].reads[0].index, c.core(1).commit());
}

TEST(RaftCore, ReadIndexOnAFollowerIsForwarded) {
  Cluster c({1, 2, 3});
  c.Elect(1);
  uint64_t idx = c.Propose(1, "a");
  ASSERT_TRUE(c.core(2).ReadIndex("r2").ok());
  c.Process(2);
  c.Stabilize();
  ASSERT_EQ(c.nodes[2].reads.size(), 1u);
  EXPECT_EQ(c.nodes[2].reads[0].index, idx);
}

TEST(RaftCore, NewLeaderAnswersReadIndexOnlyAfterCommittingInItsTerm) {
  Cluster c({1, 2, 3});
  c.filter = [](const Message& m) { return m.type != MessageType::kAppend; };
  c.Elect(1);
  EXPECT_EQ(c.core(1).ReadIndex("early").code(), Code::kUnavailable);
  c.filter = nullptr;
  c.TickAll(1);
  EXPECT_TRUE(c.core(1).ReadIndex("later").ok());
}

TEST(RaftCore, PausedOldLeaderDoesNotServeReadIndex) {
  Cluster c({1, 2, 3}, NoCheckQuorum);
  c.Elect(1);
  c.Propose(1, "a");
  // 1 is cut off (and does not tick, so check-quorum does not fire).
  c.Isolate(1);
  c.Elect(2);
  uint64_t idx = c.Propose(2, "b");
  ASSERT_EQ(c.core(1).role(), Role::kLeader);
  ASSERT_TRUE(c.core(1).ReadIndex("stale").ok());
  c.Process(1);
  c.Heal();
  c.Stabilize();
  c.TickAll(2);
  EXPECT_TRUE(c.nodes[1].reads.empty()) << "a deposed leader answered a read";
  EXPECT_EQ(c.core(1).role(), Role::kFollower);
  // Through the new leader the read sees "b".
  ASSERT_TRUE(c.core(1).ReadIndex("fresh").ok());
  c.Process(1);
  c.Stabilize();
  ASSERT_EQ(c.nodes[1].reads.size(), 1u);
  EXPECT_GE(c.nodes[1].reads[0].index, idx);
}

TEST(RaftCore, LeaseReadAnswersWithoutAHeartbeatRound) {
  Cluster c({1, 2, 3}, [](Config& cfg) { cfg.lease_read = true; });
  c.Elect(1);
  c.filter = [](const Message& m) { return m.type != MessageType::kHeartbeatResp; };
  ASSERT_TRUE(c.core(1).ReadIndex("lease").ok());
  c.Process(1);
  EXPECT_EQ(c.nodes[1].reads.size(), 1u);
}

TEST(RaftCore, FlowControlLimitsInflightAppends) {
  Cluster c({1, 2, 3}, [](Config& cfg) { cfg.max_inflight_msgs = 2; });
  c.Elect(1);
  c.Propose(1, "a");  // followers are in replicate state now
  c.filter = [](const Message& m) { return m.type != MessageType::kAppendResp; };
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.core(1).Propose("p" + std::to_string(i)).ok());
  c.Process(1);
  int appends_to_2 = 0;
  for (const Message& m : c.net) appends_to_2 += m.type == MessageType::kAppend && m.to == 2;
  EXPECT_EQ(appends_to_2, 2);
  c.Stabilize();
  c.filter = nullptr;
  c.TickAll(3);
  EXPECT_EQ(c.core(2).commit(), c.core(1).last_index());
}

TEST(RaftCore, LeaderCountsItsOwnEntriesOnlyOncePersisted) {
  Result<std::unique_ptr<Core>> r = Core::Create(Config{.id = 1}, BootstrapState(Voters({1})));
  ASSERT_TRUE(r.ok());
  Core& core = **r;
  ASSERT_TRUE(core.Campaign().ok());
  EXPECT_EQ(core.role(), Role::kLeader);
  Ready rd = core.GetReady();
  ASSERT_EQ(rd.entries.size(), 1u);  // the no-op
  EXPECT_EQ(core.commit(), 1u);      // not durable yet
  core.Advance(rd);
  EXPECT_EQ(core.commit(), 2u);
  rd = core.GetReady();
  ASSERT_EQ(rd.committed_entries.size(), 1u);
  EXPECT_EQ(rd.committed_entries[0].type, EntryType::kNoOp);
}

TEST(RaftCore, ConfChangeEncoding) {
  ConfChange cc{ConfChangeType::kRemoveNode, 42};
  Result<ConfChange> back = DecodeConfChange(EncodeConfChange(cc));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, cc);
  EXPECT_FALSE(DecodeConfChange("x1").ok());
  EXPECT_FALSE(DecodeConfChange("v").ok());
  EXPECT_FALSE(DecodeConfChange("v0").ok());
}

TEST(RaftCore, RejectsBadConfig) {
  Config cfg;
  EXPECT_FALSE(Core::Create(cfg, InitialState{}).ok());  // id 0
  cfg.id = 1;
  cfg.heartbeat_tick = 10;
  EXPECT_FALSE(Core::Create(cfg, InitialState{}).ok());
}

}  // namespace
}  // namespace dougong::raft
