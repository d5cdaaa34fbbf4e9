// The replicated keeper in one process: 3 members (StartKeeper) on
// loopback ports, driven by our ZooKeeper client. Writes through any
// member, sync on followers, leader loss, a session that moves to another
// member with its ephemeral node and watch, and members restarted with
// intact and wiped data dirs. Real processes under kill -9, SIGSTOP and
// partitions are in tests/lincheck.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "dougong/keeper/cluster.h"
#include "dougong/zk/client.h"

namespace dougong::keeper {
namespace {

using namespace std::chrono_literals;

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return cond();
}

int ReservePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A four-letter word over a fresh connection ("" if the member is down).
std::string FourLetterWord(int port, const std::string& word) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::send(fd, word.data(), word.size(), 0) == static_cast<ssize_t>(word.size())) {
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string Mode(int port) {
  std::string srvr = FourLetterWord(port, "srvr");
  auto at = srvr.find("Mode: ");
  if (at == std::string::npos) return "";
  return srvr.substr(at + 6, srvr.find('\n', at) - at - 6);
}

class Cluster {
 public:
  explicit Cluster(int n, uint64_t snap_count = 100000) : snap_count_(n > 0 ? snap_count : 0) {
    root_ = std::filesystem::temp_directory_path() / ("keeper_cluster_test." + std::to_string(::getpid()) + "." +
                                                      std::to_string(counter_++));
    std::filesystem::create_directories(root_);
    for (int i = 1; i <= n; ++i) {
      ClusterMember m;
      m.id = static_cast<uint64_t>(i);
      m.peer = "127.0.0.1:" + std::to_string(ReservePort());
      client_ports_[m.id] = ReservePort();
      m.client = "127.0.0.1:" + std::to_string(client_ports_[m.id]);
      members_.push_back(m);
    }
  }
  ~Cluster() {
    for (auto& [id, s] : servers_)
      if (s) s->Stop();
    servers_.clear();
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  KeeperOptions Options(uint64_t id) const {
    KeeperOptions o;
    o.host = "127.0.0.1";
    o.port = client_ports_.at(id);
    o.admin_port = 0;
    o.data_dir = (root_ / ("m" + std::to_string(id))).string();
    o.tick_ms = 500;  // sessions: 1 s .. 10 s
    o.snap_count = snap_count_;
    o.io_threads = 1;
    o.cluster.id = id;
    o.cluster.members = members_;
    o.cluster.tick_ms = 50;
    o.cluster.election_ticks = 10;
    return o;
  }

  void Start(uint64_t id) {
    auto s = StartKeeper(Options(id));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    servers_[id] = std::move(*s);
  }
  void StartAll() {
    for (const auto& m : members_) Start(m.id);
  }
  void Stop(uint64_t id) {
    servers_[id]->Stop();
    servers_.erase(id);
  }
  void Wipe(uint64_t id) { std::filesystem::remove_all(Options(id).data_dir); }

  // The member every running member agrees leads (0 if none within the limit).
  uint64_t WaitLeader(std::chrono::milliseconds limit = 10s) {
    uint64_t leader = 0;
    WaitFor(
        [&] {
          leader = 0;
          int followers = 0;
          for (const auto& [id, s] : servers_) {
            std::string mode = Mode(client_ports_.at(id));
            if (mode == "leader") leader = leader == 0 ? id : 1000;
            else if (mode == "follower") ++followers;
          }
          return leader != 0 && leader != 1000 && followers + 1 == static_cast<int>(servers_.size());
        },
        limit);
    return leader != 1000 ? leader : 0;
  }

  std::string Connect(uint64_t id) const { return "127.0.0.1:" + std::to_string(client_ports_.at(id)); }
  std::string ConnectAll(uint64_t first) const {
    std::string s = Connect(first);
    for (const auto& m : members_)
      if (m.id != first) s += "," + Connect(m.id);
    return s;
  }
  int client_port(uint64_t id) const { return client_ports_.at(id); }
  bool running(uint64_t id) const { return servers_.count(id) != 0; }
  std::vector<uint64_t> ids() const {
    std::vector<uint64_t> v;
    for (const auto& m : members_) v.push_back(m.id);
    return v;
  }

 private:
  static inline std::atomic<int> counter_{0};
  uint64_t snap_count_;
  std::filesystem::path root_;
  std::vector<ClusterMember> members_;
  std::map<uint64_t, int> client_ports_;
  std::map<uint64_t, std::unique_ptr<KeeperServer>> servers_;
};

std::shared_ptr<zk::ZkClient> Client(const std::string& connect, std::chrono::milliseconds session = 10s) {
  zk::ZkClientOptions o;
  o.session_timeout = session;
  o.shuffle_hosts = false;
  auto c = zk::ZkClient::Create(connect, o);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  if (!c.ok()) return nullptr;
  EXPECT_TRUE((*c)->WaitConnected(10s).ok());
  return *c;
}

TEST(KeeperCluster, WritesThroughEveryMemberReachEveryMember) {
  Cluster cluster(3);
  cluster.StartAll();
  uint64_t leader = cluster.WaitLeader();
  ASSERT_NE(leader, 0u);
  std::map<uint64_t, std::shared_ptr<zk::ZkClient>> clients;
  for (uint64_t id : cluster.ids()) clients[id] = Client(cluster.Connect(id));
  for (uint64_t id : cluster.ids()) {
    auto created = clients[id]->CreateNode("/from" + std::to_string(id), "v" + std::to_string(id));
    ASSERT_TRUE(created.ok()) << "member " << id << ": " << created.status().ToString();
  }
  // After a sync, every member's reads show every write.
  for (uint64_t reader : cluster.ids()) {
    ASSERT_TRUE(clients[reader]->Sync("/").ok());
    for (uint64_t writer : cluster.ids()) {
      auto data = clients[reader]->GetData("/from" + std::to_string(writer));
      ASSERT_TRUE(data.ok()) << "member " << reader << " reading /from" << writer << ": " << data.status().ToString();
      EXPECT_EQ(data->data, "v" + std::to_string(writer));
    }
  }
  // Compare-and-set through a follower: the version decides.
  uint64_t follower = leader == 1 ? 2 : 1;
  auto stat = clients[follower]->SetData("/from1", "w", 0);
  ASSERT_TRUE(stat.ok()) << stat.status().ToString();
  EXPECT_FALSE(clients[follower]->SetData("/from1", "x", 0).ok());
  std::string mntr = FourLetterWord(cluster.client_port(leader), "mntr");
  EXPECT_NE(mntr.find("zk_server_state\tleader"), std::string::npos) << mntr;
  EXPECT_NE(mntr.find("zk_synced_followers"), std::string::npos) << mntr;
}

TEST(KeeperCluster, LeaderLossElectsAnotherAndKeepsAcknowledgedWrites) {
  Cluster cluster(3);
  cluster.StartAll();
  uint64_t leader = cluster.WaitLeader();
  ASSERT_NE(leader, 0u);
  uint64_t survivor = leader == 1 ? 2 : 1;
  auto client = Client(cluster.ConnectAll(survivor));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(client->CreateNode("/k" + std::to_string(i), "x").ok());
  auto t0 = std::chrono::steady_clock::now();
  cluster.Stop(leader);
  uint64_t next = cluster.WaitLeader(10s);
  ASSERT_NE(next, 0u);
  ASSERT_NE(next, leader);
  auto elected_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  std::printf("new leader %llu after %lld ms (election timeout 500-1000 ms)\n", static_cast<unsigned long long>(next),
              static_cast<long long>(elected_ms));
  // Writes go on (the client may see one lost connection while it moves).
  ASSERT_TRUE(WaitFor([&] { return client->CreateNode("/after", "y").ok() || client->Exists("/after").ok(); }, 10s));
  ASSERT_TRUE(client->Sync("/").ok());
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(client->GetData("/k" + std::to_string(i)).ok()) << i;
  // The old leader comes back as a follower and catches up.
  cluster.Start(leader);
  ASSERT_NE(cluster.WaitLeader(10s), 0u);
  auto back = Client(cluster.Connect(leader));
  ASSERT_TRUE(back->Sync("/").ok());
  EXPECT_TRUE(back->GetData("/after").ok());
}

TEST(KeeperCluster, SessionMovesToAnotherMemberWithItsEphemeralAndWatch) {
  Cluster cluster(3);
  cluster.StartAll();
  uint64_t leader = cluster.WaitLeader();
  ASSERT_NE(leader, 0u);
  // The client starts on a follower, which is then stopped.
  uint64_t first = leader == 1 ? 2 : 1;
  auto client = Client(cluster.ConnectAll(first), 6s);
  ASSERT_TRUE(client->CreateNode("/eph", "me", zk::ZkCreateOptions{zk::ZkCreateMode::kEphemeral}).ok());
  ASSERT_TRUE(client->CreateNode("/watched", "0").ok());
  std::atomic<int> fired{0};
  ASSERT_TRUE(client->GetData("/watched", [&](const zk::ZkWatchedEvent&) { ++fired; }).ok());
  cluster.Stop(first);
  // Another client changes the node through the leader.
  auto other = Client(cluster.Connect(leader));
  ASSERT_TRUE(WaitFor([&] { return client->Exists("/eph").ok(); }, 10s)) << "the session did not move";
  ASSERT_TRUE(other->SetData("/watched", "1", -1).ok());
  EXPECT_TRUE(WaitFor([&] { return fired.load() == 1; }, 10s)) << "the watch did not follow the session";
  // The ephemeral node outlived the member it was created through, for as
  // long as its session lives.
  auto eph = other->Exists("/eph");
  ASSERT_TRUE(eph.ok());
  EXPECT_TRUE(eph->has_value());
  // Closing the session removes it everywhere.
  client.reset();
  EXPECT_TRUE(WaitFor(
      [&] {
        auto e = other->Exists("/eph");
        return e.ok() && !e->has_value();
      },
      15s));
}

TEST(KeeperCluster, SessionsOfAStoppedMemberExpireByTheLeader) {
  Cluster cluster(3);
  cluster.StartAll();
  uint64_t leader = cluster.WaitLeader();
  ASSERT_NE(leader, 0u);
  uint64_t follower = leader == 1 ? 2 : 1;
  {
    auto client = Client(cluster.Connect(follower), 2s);
    ASSERT_TRUE(client->CreateNode("/gone", "x", zk::ZkCreateOptions{zk::ZkCreateMode::kEphemeral}).ok());
    // Its pings reach the leader through the follower's reports: it lives
    // well past its timeout.
    std::this_thread::sleep_for(3s);
    auto observer = Client(cluster.Connect(leader));
    auto e = observer->Exists("/gone");
    ASSERT_TRUE(e.ok());
    EXPECT_TRUE(e->has_value()) << "a live session was expired";
    cluster.Stop(follower);  // the client cannot reach anyone else
  }
  auto observer = Client(cluster.Connect(leader));
  EXPECT_TRUE(WaitFor(
      [&] {
        auto e = observer->Exists("/gone");
        return e.ok() && !e->has_value();
      },
      10s));
}

TEST(KeeperCluster, WipedMemberRejoinsFromASnapshot) {
  Cluster cluster(3, /*snap_count=*/100);
  cluster.StartAll();
  uint64_t leader = cluster.WaitLeader();
  ASSERT_NE(leader, 0u);
  uint64_t follower = leader == 1 ? 2 : 1;
  auto client = Client(cluster.Connect(leader));
  cluster.Stop(follower);
  for (int i = 0; i < 400; ++i) ASSERT_TRUE(client->CreateNode("/n" + std::to_string(i), std::to_string(i)).ok());
  cluster.Wipe(follower);
  cluster.Start(follower);
  auto rejoined = Client(cluster.Connect(follower));
  ASSERT_TRUE(rejoined->Sync("/").ok());
  auto children = rejoined->GetChildren("/");
  ASSERT_TRUE(children.ok());
  EXPECT_EQ(children->children.size(), 401u);  // + /zookeeper
  auto last = rejoined->GetData("/n399");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->data, "399");
}

}  // namespace
}  // namespace dougong::keeper
