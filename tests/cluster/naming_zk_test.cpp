// zk:// against each kind of registry (registry_server.h): keeper started in
// this process, and Apache ZooKeeper started as a child process, both on a
// free loopback port: registration, discovery, a provider's session ending,
// a registry outage (the list is kept), a restart (re-sync) and a registry
// that lost its data (sessions expire; registrations are re-created).
#include <gtest/gtest.h>

#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <memory>
#include <string>

#include "dougong/cluster/naming.h"
#include "dougong/zk/client.h"
#include "naming_test_util.h"
#include "registry_server.h"

namespace dougong::cluster {
namespace {

using namespace std::chrono_literals;
using testing::SnapshotRecorder;

constexpr char kService[] = "test.Echo";

class NamingZk : public ::testing::TestWithParam<testing::RegistryKind> {
 protected:
  static void TearDownTestSuite() { testing::SharedRegistryServers::StopAll(); }
  void SetUp() override {
    server_ = testing::SharedRegistryServers::Get(GetParam());
    ASSERT_NE(server_, nullptr);
    port_ = server_->port();
    root_ = testing::RootForThisTest();
    url_ = "zk://" + server_->hosts() + root_ + "?session_timeout_ms=2000";
  }

  std::shared_ptr<Registry> NewRegistry() {
    auto r = Registry::FromUrl(url_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : nullptr;
  }

  static ProviderRegistration Reg(const std::string& address, int weight = 100) {
    ProviderRegistration r;
    r.service = kService;
    r.provider.address = address;
    r.provider.weight = weight;
    r.provider.zone = "az1";
    r.provider.tags = {{"env", "test"}};
    r.methods = {"Echo"};
    return r;
  }

  testing::RegistryServer* server_ = nullptr;  // shared by the suite
  int port_ = 0;
  std::string root_;
  std::string url_;
};

TEST_P(NamingZk, ProvidersComeAndGoAndAnOutageKeepsTheList) {
  SnapshotRecorder rec;
  std::shared_ptr<Registry> a = NewRegistry();
  std::shared_ptr<Registry> b = NewRegistry();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Register(Reg("10.0.0.1:8000", 50)).ok());
  ASSERT_TRUE(b->Register(Reg("10.0.0.2:8000")).ok());

  auto naming = NamingService::FromUrl(url_);
  ASSERT_TRUE(naming.ok()) << naming.status().ToString();
  auto id = (*naming)->Subscribe(kService, rec.Listener());
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(rec.WaitForAddresses({"10.0.0.1:8000", "10.0.0.2:8000"}));
  const Provider& first = (*rec.latest())[0];
  EXPECT_EQ(first.weight, 50);
  EXPECT_EQ(first.zone, "az1");
  EXPECT_EQ(first.tags.at("env"), "test");
  EXPECT_GT(first.start_time_ms, 0);  // filled by Register

  // Operators see the nodes, readable, and the consumer.
  auto zk = zk::ZkClient::Create("127.0.0.1:" + std::to_string(port_));
  ASSERT_TRUE(zk.ok());
  auto data = (*zk)->GetData(root_ + "/services/test.Echo/providers/10.0.0.1%3A8000");
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_NE(data->data.find("address=10.0.0.1:8000\nweight=50\n"), std::string::npos) << data->data;
  EXPECT_NE(data->stat.ephemeral_owner, 0);
  auto consumers = (*zk)->GetChildren(root_ + "/services/test.Echo/consumers");
  ASSERT_TRUE(consumers.ok()) << consumers.status().ToString();
  EXPECT_EQ(consumers->children.size(), 1u);
  (void)(*zk)->Close();

  // A weight change reaches the consumer (data watch through the recursive watch).
  ASSERT_TRUE(a->Register(Reg("10.0.0.1:8000", 70)).ok());
  ASSERT_TRUE(rec.WaitFor([](const ProviderSet& s) { return s.size() == 2 && s[0].weight == 70; }));

  // B's session ends (its client closes): B disappears.
  b.reset();
  ASSERT_TRUE(rec.WaitForAddresses({"10.0.0.1:8000"}));

  // The registry goes away: the consumer keeps its list, past its session
  // timeout (2 s), and no empty list is ever delivered.
  size_t delivered = rec.count();
  server_->Stop();
  EXPECT_FALSE(rec.WaitFor([](const ProviderSet& s) { return s.size() != 1; }, 3s));
  EXPECT_EQ(rec.count(), delivered);

  // Back on the same port and data. The clients went LOST while it was
  // down and started new sessions: A's registration replaces the node its
  // old session left, and the consumer re-reads and follows the registry.
  server_->Restart();
  ASSERT_TRUE(server_->running());
  std::shared_ptr<Registry> c = NewRegistry();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Register(Reg("10.0.0.3:8000")).ok());
  ASSERT_TRUE(rec.WaitForAddresses({"10.0.0.1:8000", "10.0.0.3:8000"}));

  // Deregister before draining: gone at once for consumers. A's client may
  // not be connected again yet (ZooKeeper opens its port a while before it
  // serves): then Deregister says UNAVAILABLE and finishes on reconnection.
  Status gone = a->Deregister(kService, "10.0.0.1:8000");
  ASSERT_TRUE(gone.ok() || gone.code() == Code::kUnavailable) << gone.ToString();
  EXPECT_EQ(a->Deregister(kService, "10.0.0.1:8000").code(), Code::kNotFound);
  ASSERT_TRUE(rec.WaitForAddresses({"10.0.0.3:8000"}));

  // The last unsubscription drops the watch and the consumer node.
  ASSERT_TRUE((*naming)->Unsubscribe(*id).ok());
  std::mutex mu;
  std::condition_variable cv;
  bool changed = false;
  auto watcher = zk::ZkClient::Create("127.0.0.1:" + std::to_string(port_));
  ASSERT_TRUE(watcher.ok());
  auto until = std::chrono::steady_clock::now() + 10s;
  while (true) {
    auto left = (*watcher)->GetChildren(root_ + "/services/test.Echo/consumers", [&](const zk::ZkWatchedEvent&) {
      std::lock_guard lock(mu);
      changed = true;
      cv.notify_all();
    });
    ASSERT_TRUE(left.ok()) << left.status().ToString();
    if (left->children.empty()) break;
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_until(lock, until, [&] { return changed; })) << "consumer node still there";
    changed = false;
  }
  (void)(*watcher)->Close();
}

TEST_P(NamingZk, RegistryThatLostItsDataGetsTheRegistrationsBack) {
  SnapshotRecorder rec;
  std::shared_ptr<Registry> a = NewRegistry();
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->Register(Reg("10.0.0.1:8000")).ok());
  auto naming = NamingService::FromUrl(url_);
  ASSERT_TRUE(naming.ok()) << naming.status().ToString();
  ASSERT_TRUE((*naming)->Subscribe(kService, rec.Listener()).ok());
  ASSERT_TRUE(rec.WaitForAddresses({"10.0.0.1:8000"}));

  // A new, empty data dir on the same port: the server refuses the clients
  // (they have seen newer zxids than it has) until they go LOST. Then the
  // registry starts a new session and registers again; the consumer starts
  // a new session, re-arms its watch and re-reads.
  server_->StartFresh();
  ASSERT_TRUE(server_->running());
  std::mutex mu;
  std::condition_variable cv;
  bool created = false;
  auto zk = zk::ZkClient::Create("127.0.0.1:" + std::to_string(port_));
  ASSERT_TRUE(zk.ok());
  auto exists = (*zk)->Exists(root_ + "/services/test.Echo/providers/10.0.0.1%3A8000",
                              [&](const zk::ZkWatchedEvent&) {
                                std::lock_guard lock(mu);
                                created = true;
                                cv.notify_all();
                              });
  ASSERT_TRUE(exists.ok()) << exists.status().ToString();
  if (!exists->has_value()) {
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, 10s, [&] { return created; }));
  }

  // And the consumer follows the new tree: a new provider shows up.
  std::shared_ptr<Registry> b = NewRegistry();
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->Register(Reg("10.0.0.2:8000")).ok());
  ASSERT_TRUE(rec.WaitForAddresses({"10.0.0.1:8000", "10.0.0.2:8000"}));
  (void)(*zk)->Close();
}

INSTANTIATE_TEST_SUITE_P(Registries, NamingZk, ::testing::ValuesIn(testing::kRegistryKinds),
                         testing::RegistryParamName);

}  // namespace
}  // namespace dougong::cluster
