// RaftNode end to end: three (then four) nodes in one process, each with its
// own rpc::Server on a loopback port and its own data directory: election,
// 1000 replicated proposals, leader failover (timed), restart from disk,
// a wiped node re-added (learner, then voter) and caught up by a chunked
// snapshot, leadership transfer, ReadIndex. Waits are on events (applies, leader changes) with a
// deadline each, never fixed sleeps.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/file_util.h"
#include "dougong/raft/node.h"
#include "dougong/rpc/server.h"
#include "storage_test_util.h"

namespace dougong::raft {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kTick = 50ms;
constexpr int kElectionTick = 10;
constexpr auto kElectionTimeout = kTick * kElectionTick;

// Wakes the test whenever something it may wait for happened.
class Events {
 public:
  void Notify() {
    { std::lock_guard lock(mu_); }
    cv_.notify_all();
  }
  // Re-checks `cond` on every event (and every 100 ms for the few things
  // that do not notify, like transport counters) until `timeout`.
  bool WaitUntil(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    std::unique_lock lock(mu_);
    while (!cond()) {
      if (Clock::now() >= deadline) return false;
      cv_.wait_for(lock, 100ms);
    }
    return true;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

// The replicated application: the applied payloads in order. Its snapshot
// carries them plus padding, so that it spans several transport chunks.
class ListStateMachine : public StateMachine {
 public:
  ListStateMachine(Events* events, size_t padding) : events_(events), padding_(padding) {}

  void Apply(uint64_t index, std::string_view data) override {
    {
      std::lock_guard lock(mu_);
      items_.emplace_back(data);
      last_index_ = index;
    }
    events_->Notify();
  }
  std::string Snapshot() override {
    std::lock_guard lock(mu_);
    std::string out(12, '\0');
    PutU64(out.data(), last_index_);
    PutU32(out.data() + 8, static_cast<uint32_t>(items_.size()));
    for (const std::string& s : items_) {
      char len[4];
      PutU32(len, static_cast<uint32_t>(s.size()));
      out.append(len, 4);
      out += s;
    }
    out.append(padding_, 'p');
    return out;
  }
  Status Restore(uint64_t index, std::string_view data) override {
    if (data.size() < 12) return InvalidArgument("short snapshot");
    std::vector<std::string> items;
    uint32_t n = GetU32(data.data() + 8);
    size_t pos = 12;
    for (uint32_t i = 0; i < n; ++i) {
      if (pos + 4 > data.size()) return InvalidArgument("bad snapshot");
      uint32_t len = GetU32(data.data() + pos);
      pos += 4;
      if (pos + len > data.size()) return InvalidArgument("bad snapshot");
      items.emplace_back(data.substr(pos, len));
      pos += len;
    }
    {
      std::lock_guard lock(mu_);
      items_ = std::move(items);
      last_index_ = index;
      ++restores_;
    }
    events_->Notify();
    return Status::Ok();
  }

  std::vector<std::string> items() const {
    std::lock_guard lock(mu_);
    return items_;
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }
  int restores() const {
    std::lock_guard lock(mu_);
    return restores_;
  }

 private:
  Events* const events_;
  const size_t padding_;
  mutable std::mutex mu_;
  std::vector<std::string> items_;
  uint64_t last_index_ = 0;
  int restores_ = 0;
};

// A port that was free a moment ago (the server binds it with SO_REUSEADDR,
// so a restarted member gets the same one back).
int ReservePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

struct Member {
  std::unique_ptr<ListStateMachine> sm;
  std::unique_ptr<rpc::Server> server;
  std::unique_ptr<RaftNode> node;
};

class Cluster {
 public:
  explicit Cluster(std::vector<NodeId> ids) {
    for (NodeId id : ids) Reserve(id);
  }
  ~Cluster() {
    for (auto& [id, m] : members_) Stop(id);
  }

  void Reserve(NodeId id) { addresses_[id] = "127.0.0.1:" + std::to_string(ReservePort()); }
  std::string address(NodeId id) const { return addresses_.at(id); }
  std::string dir(NodeId id) const { return root_.sub("n" + std::to_string(id)); }
  Events& events() { return events_; }

  // Creates, serves and starts node `id` on its data dir.
  void Start(NodeId id, ConfState bootstrap, std::string data_dir = "") {
    NodeOptions o;
    o.id = id;
    o.data_dir = data_dir.empty() ? dir(id) : data_dir;
    o.address = address(id);
    o.peers = addresses_;
    o.bootstrap = std::move(bootstrap);
    o.tick = kTick;
    o.raft.election_tick = kElectionTick;
    o.snapshot_entries = 200;
    o.snapshot_chunk_bytes = 64 * 1024;
    o.rpc_timeout = 500ms;
    o.on_leader_change = [this](NodeId, uint64_t) { events_.Notify(); };
    Member m;
    m.sm = std::make_unique<ListStateMachine>(&events_, 300 * 1024);
    auto node = RaftNode::Create(o, m.sm.get());
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    m.node = std::move(*node);
    m.server = std::make_unique<rpc::Server>(rpc::ServerOptions{.io_threads = 1, .worker_threads = 2});
    ASSERT_TRUE(m.server->AddService(m.node->service()).ok());
    ASSERT_TRUE(m.server->Start(o.address).ok()) << o.address;
    ASSERT_TRUE(m.node->Start().ok());
    members_[id] = std::move(m);
  }

  // Stops the node, then its server (the service lives in the node).
  void Stop(NodeId id) {
    Member& m = members_[id];
    if (m.node) m.node->Stop();
    if (m.server) {
      m.server->Stop(0ms);
      m.server->Wait();
    }
    m.server.reset();
    m.node.reset();
  }

  RaftNode& node(NodeId id) { return *members_.at(id).node; }
  ListStateMachine& sm(NodeId id) { return *members_.at(id).sm; }
  bool running(NodeId id) const {
    auto it = members_.find(id);
    return it != members_.end() && it->second.node != nullptr;
  }
  std::vector<NodeId> running_ids() const {
    std::vector<NodeId> ids;
    for (const auto& [id, m] : members_)
      if (m.node) ids.push_back(id);
    return ids;
  }

  // A leader that every running node agrees on (`want`, if given); kNoNode
  // on timeout.
  NodeId WaitForLeader(std::chrono::milliseconds timeout, NodeId want = kNoNode) {
    auto agreed = [&]() -> NodeId {
      NodeId found = kNoNode;
      for (NodeId id : running_ids()) {
        NodeId l = node(id).Stats().leader;
        if (l == kNoNode || (found != kNoNode && l != found)) return kNoNode;
        found = l;
      }
      if (found == kNoNode || !running(found) || node(found).Stats().role != Role::kLeader) return kNoNode;
      return want == kNoNode || found == want ? found : kNoNode;
    };
    NodeId leader = kNoNode;
    events_.WaitUntil([&] { return (leader = agreed()) != kNoNode; }, timeout);
    return leader;
  }

  // Waits until every running node applied the same payloads as `leader`.
  bool WaitConverged(NodeId leader, std::chrono::milliseconds timeout) {
    return events_.WaitUntil(
        [&] {
          auto want = sm(leader).items();
          for (NodeId id : running_ids())
            if (sm(id).items() != want) return false;
          return true;
        },
        timeout);
  }

 private:
  test_util::TempDir root_;
  Events events_;
  std::map<NodeId, std::string> addresses_;
  std::map<NodeId, Member> members_;
};

// Proposes payloads prefix0..prefix(n-1) at once (pipelined) and waits for
// all; returns how many failed.
int ProposeAll(RaftNode& node, Events& events, const std::string& prefix, int n) {
  // Shared with the callbacks, which may run after a timeout here.
  struct Tally {
    std::mutex mu;
    int done = 0, failed = 0;
    std::string first_error;
  };
  auto tally = std::make_shared<Tally>();
  for (int i = 0; i < n; ++i) {
    node.Propose(prefix + std::to_string(i), [tally, &events](Result<uint64_t> r) {
      {
        std::lock_guard lock(tally->mu);
        ++tally->done;
        if (!r.ok()) {
          ++tally->failed;
          if (tally->first_error.empty()) tally->first_error = r.status().ToString();
        }
      }
      events.Notify();
    });
  }
  bool all = events.WaitUntil(
      [&] {
        std::lock_guard lock(tally->mu);
        return tally->done == n;
      },
      60s);
  std::lock_guard lock(tally->mu);
  EXPECT_TRUE(all) << tally->done << " of " << n << " proposals finished";
  EXPECT_EQ(tally->failed, 0) << tally->first_error;
  return all ? tally->failed : n - tally->done + tally->failed;
}

template <class T>
T Await(std::function<void(std::function<void(T)>)> start, std::chrono::milliseconds timeout = 20s) {
  auto promise = std::make_shared<std::promise<T>>();
  auto future = promise->get_future();
  start([promise](T v) { promise->set_value(std::move(v)); });
  if (future.wait_for(timeout) != std::future_status::ready) return T(DeadlineExceeded("test: no answer"));
  return future.get();
}

Result<uint64_t> AwaitIndex(const std::function<void(RaftNode::IndexCallback)>& start) {
  return Await<Result<uint64_t>>([&](std::function<void(Result<uint64_t>)> cb) { start(std::move(cb)); });
}

long Ms(Clock::duration d) { return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()); }

TEST(RaftNode, ReplicatesFailsOverRestartsAndCatchesUpBySnapshot) {
  Cluster c({1, 2, 3, 4});
  const ConfState voters{{1, 2, 3}, {}};
  for (NodeId id : {1, 2, 3}) c.Start(id, voters);

  // --- election
  auto t0 = Clock::now();
  NodeId leader = c.WaitForLeader(10s);
  ASSERT_NE(leader, kNoNode);
  std::printf("[ raft ] leader %llu elected %ld ms after start\n", static_cast<unsigned long long>(leader),
              Ms(Clock::now() - t0));

  // --- a follower refuses proposals and names the leader
  NodeId follower = leader == 1 ? 2 : 1;
  auto refused = AwaitIndex([&](auto cb) { c.node(follower).Propose("x", cb); });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("node " + std::to_string(leader) + " at " + c.address(leader)),
            std::string::npos)
      << refused.status().ToString();

  // --- 1000 proposals, applied in the same order everywhere
  t0 = Clock::now();
  ASSERT_EQ(ProposeAll(c.node(leader), c.events(), "w", 1000), 0);
  auto commit_ms = Ms(Clock::now() - t0);
  ASSERT_TRUE(c.WaitConverged(leader, 30s));
  auto items = c.sm(leader).items();
  ASSERT_EQ(items.size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(items[i], "w" + std::to_string(i));
  NodeStats ls = c.node(leader).Stats();
  std::printf("[ raft ] 1000 proposals committed+applied in %ld ms: %llu Readies, %llu messages in %llu batches\n",
              commit_ms, static_cast<unsigned long long>(ls.readies),
              static_cast<unsigned long long>(ls.messages_sent), static_cast<unsigned long long>(ls.batches_sent));

  // --- the leader stops: a new one within two election timeouts
  NodeId old_leader = leader;
  t0 = Clock::now();
  c.Stop(old_leader);
  leader = c.WaitForLeader(10s);
  auto failover = Clock::now() - t0;
  ASSERT_NE(leader, kNoNode);
  std::printf("[ raft ] leader %llu stopped; node %llu leads after %ld ms (election timeout %ld ms, drawn from "
              "[%ld, %ld) ms)\n",
              static_cast<unsigned long long>(old_leader), static_cast<unsigned long long>(leader), Ms(failover),
              Ms(kElectionTimeout), Ms(kElectionTimeout), Ms(2 * kElectionTimeout));
  // Two election timeouts at the top of the randomized range.
  EXPECT_LE(failover, 2 * (2 * kElectionTimeout));
  ASSERT_EQ(ProposeAll(c.node(leader), c.events(), "after-failover-", 100), 0);

  // --- the old leader restarts from its data dir and catches up
  t0 = Clock::now();
  c.Start(old_leader, voters);
  ASSERT_TRUE(c.WaitConverged(leader, 30s));
  std::printf("[ raft ] node %llu restarted from disk, caught up in %ld ms (%zu entries)\n",
              static_cast<unsigned long long>(old_leader), Ms(Clock::now() - t0), c.sm(old_leader).size());
  ASSERT_EQ(c.sm(old_leader).size(), 1100u);

  // --- a follower loses its disk: removed, its directory wiped, re-added
  // (as node 4: with its vote forgotten it must not come back under an id
  // that may have voted in the current term) and caught up by a snapshot.
  NodeId wiped = 0;
  for (NodeId id : c.running_ids())
    if (id != leader) wiped = id;
  c.Stop(wiped);
  std::filesystem::remove_all(c.dir(wiped));
  auto removed = AwaitIndex([&](auto cb) { c.node(leader).RemoveNode(wiped, cb); });
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  // Enough entries that the log is compacted past what node 4 would need.
  ASSERT_EQ(ProposeAll(c.node(leader), c.events(), "after-removal-", 300), 0);
  t0 = Clock::now();
  c.Start(4, ConfState{}, c.dir(wiped));  // joins: empty state
  // As a learner first (it does not count for commits while it catches
  // up), then promoted.
  auto added = AwaitIndex([&](auto cb) { c.node(leader).AddLearner(4, c.address(4), cb); });
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  ASSERT_TRUE(c.WaitConverged(leader, 30s));
  auto promoted = AwaitIndex([&](auto cb) { c.node(leader).AddVoter(4, "", cb); });
  ASSERT_TRUE(promoted.ok()) << promoted.status().ToString();
  NodeStats s4 = c.node(4).Stats();
  ls = c.node(leader).Stats();
  std::printf("[ raft ] node 4 (wiped dir) caught up in %ld ms: %d snapshot restore(s), %llu snapshot(s) / %llu "
              "chunks received; leader sent %llu snapshot(s) in %llu chunks\n",
              Ms(Clock::now() - t0), c.sm(4).restores(), static_cast<unsigned long long>(s4.snapshots_received),
              static_cast<unsigned long long>(s4.snapshot_chunks_received),
              static_cast<unsigned long long>(ls.snapshots_sent),
              static_cast<unsigned long long>(ls.snapshot_chunks_sent));
  EXPECT_GE(s4.snapshots_received, 1u);
  EXPECT_GE(s4.snapshot_chunks_received, 5u);  // >= 300 KiB of padding in 64 KiB chunks
  EXPECT_GE(c.sm(4).restores(), 1);
  EXPECT_EQ(c.sm(4).size(), 1400u);
  // Node 4 learns the change adding it once it hears the commit index.
  auto running = c.running_ids();
  const std::set<NodeId> want(running.begin(), running.end());
  EXPECT_TRUE(c.events().WaitUntil([&] { return c.node(4).Stats().conf.voters == want; }, 10s))
      << "node 4 did not see the configuration with itself";

  // --- leadership transfer to the new member
  auto transfer = Await<Status>([&](auto cb) { c.node(leader).TransferLeadership(4, cb); });
  ASSERT_TRUE(transfer.ok()) << transfer.ToString();
  ASSERT_EQ(c.WaitForLeader(10s, 4), 4u);
  leader = 4;
  ASSERT_EQ(ProposeAll(c.node(leader), c.events(), "after-transfer-", 10), 0);
  ASSERT_TRUE(c.WaitConverged(leader, 30s));
}

TEST(RaftNode, ReadIndexNeedsAQuorumRound) {
  Cluster c({1, 2, 3});
  const ConfState voters{{1, 2, 3}, {}};
  for (NodeId id : {1, 2, 3}) c.Start(id, voters);
  NodeId leader = c.WaitForLeader(10s);
  ASSERT_NE(leader, kNoNode);
  auto written = AwaitIndex([&](auto cb) { c.node(leader).Propose("v1", cb); });
  ASSERT_TRUE(written.ok()) << written.status().ToString();

  auto t0 = Clock::now();
  auto read = AwaitIndex([&](auto cb) { c.node(leader).ReadIndex(cb); });
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_GE(*read, *written);
  std::printf("[ raft ] ReadIndex on the leader: index %llu after %ld ms\n",
              static_cast<unsigned long long>(*read), Ms(Clock::now() - t0));
  NodeId follower = leader == 1 ? 2 : 1;
  auto forwarded = AwaitIndex([&](auto cb) { c.node(follower).ReadIndex(cb); });
  ASSERT_TRUE(forwarded.ok()) << forwarded.status().ToString();
  EXPECT_GE(*forwarded, *written);
  EXPECT_GE(c.sm(follower).size(), 1u);  // served only once applied there

  // Without a quorum the leader cannot confirm: the read fails (timeout or
  // step-down by check-quorum), it is never answered from stale state.
  for (NodeId id : {1, 2, 3})
    if (id != leader) c.Stop(id);
  t0 = Clock::now();
  auto alone = AwaitIndex([&](auto cb) { c.node(leader).ReadIndex(cb); });
  EXPECT_FALSE(alone.ok());
  std::printf("[ raft ] ReadIndex without a quorum failed after %ld ms: %s\n", Ms(Clock::now() - t0),
              alone.status().ToString().c_str());
}

}  // namespace
}  // namespace dougong::raft
