// ZOOKEEPER-1675, against a real 3-member keeper cluster: a client is
// connected to the leader L; L is paused (SIGSTOP); the other two elect a
// new leader and acknowledge a write; L is resumed (SIGCONT) still
// believing it leads, and the client at once does sync then getData. Apache
// ZooKeeper's sync on such a leader answers without a quorum and the read
// returns the old value. keeper's sync is a ReadIndex (a quorum round), so
// the client must see the new value, or get an error and retry until it
// does: never the old value. Three rounds, the leader paused each time.
// A second client on L does a plain getData at the same moment: that one
// may return the old value (ZooKeeper's reads are only sequentially
// consistent), and when it does, it shows that this round would have caught
// a sync that did not go through a quorum.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "dougong/zk/client.h"
#include "server_set.h"

namespace dougong::lincheck {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr char kKey[] = "/zk1675";
constexpr int kRounds = 3;

std::string DougongBin() {
  const char* bin = std::getenv("DOUGONG_BIN");
  return bin ? bin : "";
}

std::shared_ptr<zk::ZkClient> Client(const std::string& connect) {
  zk::ZkClientOptions o;
  o.session_timeout = 12s;  // outlives the pause: the client stays on L
  o.shuffle_hosts = false;
  auto c = zk::ZkClient::Create(connect, o);
  if (!c.ok() || !(*c)->WaitConnected(20s).ok()) return nullptr;
  return *c;
}

double MsSince(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

TEST(KeeperClusterSync, SyncOnAWokenPausedLeaderNeverReturnsTheOldValue) {
  ASSERT_FALSE(DougongBin().empty()) << "DOUGONG_BIN is not set";
  char tmpl[] = "/tmp/zk1675.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  KeeperProcessOptions ko;
  ko.dougong_bin = DougongBin();
  ko.work_dir = tmpl;
  ko.members = 3;
  KeeperProcessSet cluster(ko);
  ASSERT_TRUE(cluster.Start().ok()) << "starting the cluster; logs in " << tmpl;

  {
    auto setup = Client(cluster.ConnectString());
    ASSERT_NE(setup, nullptr);
    auto made = setup->CreateNode(kKey, "v0");
    ASSERT_TRUE(made.ok()) << made.status().message();
    (void)setup->Close();
  }

  for (int round = 1; round <= kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const int old_leader = cluster.Leader();
    ASSERT_GE(old_leader, 0);
    auto on_leader = Client(cluster.ClientAddress(old_leader));  // only L: it never fails over
    ASSERT_NE(on_leader, nullptr);
    ASSERT_TRUE(on_leader->Sync(kKey).ok());
    auto before = on_leader->GetData(kKey);
    ASSERT_TRUE(before.ok()) << before.status().message();
    const std::string old_value = before->data;
    std::string others;
    for (int i = 0; i < cluster.size(); ++i) {
      if (i != old_leader) others += (others.empty() ? "" : ",") + cluster.ClientAddress(i);
    }
    auto writer = Client(others);
    ASSERT_NE(writer, nullptr);
    auto plain_on_leader = Client(cluster.ClientAddress(old_leader));
    ASSERT_NE(plain_on_leader, nullptr);

    ASSERT_TRUE(cluster.Pause(old_leader).ok());
    const auto paused_at = Clock::now();
    auto next = cluster.WaitForNewLeader(old_leader, 30s);
    ASSERT_TRUE(next.ok()) << next.status().message();
    const double election_ms = MsSince(paused_at);
    const std::string new_value = "v" + std::to_string(round);
    // Acknowledged: a connection loss (members close client connections
    // when their role changes) leaves it open, so it is tried again.
    Result<zk::ZkStat> written = writer->SetData(kKey, new_value);
    for (int attempt = 1; !written.ok() && attempt < 20; ++attempt) {
      (void)writer->WaitConnected(5s);
      written = writer->SetData(kKey, new_value);
    }
    ASSERT_TRUE(written.ok()) << "write through the new majority: " << written.status().message();
    ASSERT_TRUE(cluster.Resume(old_leader).ok());
    const auto resumed_at = Clock::now();
    std::string plain;
    std::thread plain_reader([&] {
      auto got = plain_on_leader->GetData(kKey);
      plain = got.ok() ? "'" + got->data + "'" + (got->data == old_value ? " (the old value)" : "")
                       : got.status().message();
    });

    // At once: sync, then getData, on the old leader.
    int errors = 0;
    std::string last_error;
    bool seen = false;
    std::string wrong;  // a value other than the new one
    while (!seen && Clock::now() - resumed_at < 30s) {
      auto synced = on_leader->Sync(kKey);
      if (!synced.ok()) {
        ++errors;
        last_error = "sync: " + synced.status().message();
        std::this_thread::sleep_for(20ms);
        continue;
      }
      auto got = on_leader->GetData(kKey);
      if (!got.ok()) {
        ++errors;
        last_error = "getData: " + got.status().message();
        continue;
      }
      if (got->data != new_value) {
        wrong = got->data;
        break;
      }
      seen = true;
    }
    plain_reader.join();
    ASSERT_EQ(wrong, "") << "sync + getData on the woken old leader returned '" << wrong << "'"
                         << (wrong == old_value ? ", the value from before the new leader's acknowledged write "
                                                  "(ZOOKEEPER-1675)"
                                                : "")
                         << "; expected '" << new_value << "'";
    EXPECT_TRUE(seen) << "no answer from the old leader within 30 s of SIGCONT; last error: " << last_error;
    std::printf("round %d: paused leader %d, member %d led after %.0f ms; after SIGCONT sync+getData on %d saw '%s' "
                "in %.0f ms (%d errors first%s%s); a plain getData there at the same time: %s\n",
                round, old_leader, *next, election_ms, old_leader, new_value.c_str(), MsSince(resumed_at), errors,
                errors ? ", last: " : "", errors ? last_error.c_str() : "", plain.c_str());
    (void)plain_on_leader->Close();
    (void)on_leader->Close();
    (void)writer->Close();
  }
  cluster.StopAll();
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace dougong::lincheck
