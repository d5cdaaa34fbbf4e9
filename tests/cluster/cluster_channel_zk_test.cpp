// ClusterChannel discovering its providers through zk://, against each kind
// of registry (registry_server.h): keeper in this process and Apache
// ZooKeeper as a child process. Providers registered and deregistered; the
// registry crashing and coming back while calls go on.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cluster_channel_test_util.h"
#include "dougong/cluster/naming.h"
#include "registry_server.h"

namespace dougong::cluster::testing {
namespace {

class ClusterChannelZk : public ClusterChannelTest, public ::testing::WithParamInterface<RegistryKind> {
 protected:
  static void TearDownTestSuite() { SharedRegistryServers::StopAll(); }
  void SetUp() override {
    ClusterChannelTest::SetUp();
    server_ = SharedRegistryServers::Get(GetParam());
    ASSERT_NE(server_, nullptr);
    url_ = "zk://" + server_->hosts() + RootForThisTest() + "?session_timeout_ms=2000";
  }

  // Registers every provider, each through a registry of its own (as
  // separate processes would).
  void RegisterAll() {
    for (size_t i = 0; i < providers_.size(); ++i) {
      auto reg = Registry::FromUrl(url_);
      ASSERT_TRUE(reg.ok()) << reg.status().ToString();
      ProviderRegistration r;
      r.service = kEchoService;
      r.provider.address = P(i).address();
      r.provider.warmup_ms = 0;  // equal weights at once, for exact round robin
      r.methods = {"Echo"};
      Status st = (*reg)->Register(r);
      ASSERT_TRUE(st.ok()) << st.ToString();
      registries_.push_back(*reg);
    }
  }

  RegistryServer* server_ = nullptr;  // shared by the suite
  std::string url_;
  std::vector<std::shared_ptr<Registry>> registries_;
};

TEST_P(ClusterChannelZk, DiscoversProvidersAndFollowsTheRegistry) {
  RegisterAll();
  ClusterChannelOptions o = BaseOptions();
  o.load_balancer = "roundrobin";
  auto ch = MakeChannel(o, url_);
  ASSERT_TRUE(ch->WaitForProviders(3, 10s));
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(CallEcho(*ch).status.ok());
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(P(i).service.calls.load(), 2);

  // Deregistered: no more traffic, and its channel is dropped.
  ASSERT_TRUE(registries_[0]->Deregister(kEchoService, P(0).address()).ok());
  ASSERT_TRUE(WaitUntil([&] { return ch->providers()->size() == 2; }));
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(CallEcho(*ch).status.ok());
  EXPECT_EQ(P(0).service.calls.load(), 2);
  EXPECT_EQ(P(1).service.calls + P(2).service.calls, 10);
}

// The registry is killed and comes back on the same data and port while
// calls go on: no call fails and the channel keeps its providers through
// the outage (past the 2 s session timeout, so every client goes LOST), then
// follows the registry again once the registrations are back.
TEST_P(ClusterChannelZk, CallsGoOnThroughARegistryOutage) {
  RegisterAll();
  auto ch = MakeChannel(BaseOptions(), url_);
  ASSERT_TRUE(ch->WaitForProviders(3, 10s));

  server_->Stop();
  int calls = 0;
  for (auto until = std::chrono::steady_clock::now() + 3s; std::chrono::steady_clock::now() < until; ++calls) {
    EchoReply r = CallEcho(*ch);
    ASSERT_TRUE(r.status.ok()) << "call " << calls << " during the outage: " << r.status.ToString();
  }
  EXPECT_EQ(ch->providers()->size(), 3u);

  server_->Restart();
  ASSERT_TRUE(server_->running());
  // The registries start new sessions and write their nodes again; the
  // channel re-reads and still sees all three, then follows a change.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(CallEcho(*ch).status.ok());
  // Its client may not be connected again yet (ZooKeeper takes a while to
  // serve after its port opens): then the deletion is finished later.
  Status gone = registries_[2]->Deregister(kEchoService, P(2).address());
  ASSERT_TRUE(gone.ok() || gone.code() == Code::kUnavailable) << gone.ToString();
  // Exactly the other two: right after the restart the list may briefly
  // miss one that has not re-registered yet.
  ASSERT_TRUE(WaitUntil(
      [&] {
        ProviderSetPtr set = ch->providers();
        return set->size() == 2 && (*set)[0].address != P(2).address() && (*set)[1].address != P(2).address();
      },
      15s));
  int before = P(2).service.calls.load();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(CallEcho(*ch).status.ok());
  EXPECT_EQ(P(2).service.calls.load(), before);
  EXPECT_GT(calls, 10);
}

INSTANTIATE_TEST_SUITE_P(Registries, ClusterChannelZk, ::testing::ValuesIn(kRegistryKinds), RegistryParamName);

}  // namespace
}  // namespace dougong::cluster::testing
