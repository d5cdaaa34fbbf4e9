// keeper's YAML config: the cluster section (docs/replicated_keeper.md) and
// its errors, which name the key and never fall back to a default.
#include <gtest/gtest.h>

#include "keeper/config.h"

namespace dougong::keeper {
namespace {

constexpr const char* kThree = R"(
port: 2182
cluster:
  id: 2
  tick_ms: 50
  election_ticks: 20
  members:
    - {id: 1, peer: "127.0.0.1:2888", client: "127.0.0.1:2181"}
    - {id: 2, peer: "127.0.0.1:2889", client: "127.0.0.1:2182"}
    - {id: 3, peer: "127.0.0.1:2890", role: observer}
)";

TEST(KeeperConfig, ClusterSectionIsRead) {
  auto o = ParseKeeperConfig(kThree, "test.yaml");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->port, 2182);
  ASSERT_TRUE(o->cluster.enabled());
  EXPECT_EQ(o->cluster.id, 2u);
  EXPECT_EQ(o->cluster.tick_ms, 50);
  EXPECT_EQ(o->cluster.election_ticks, 20);
  ASSERT_EQ(o->cluster.members.size(), 3u);
  EXPECT_EQ(o->cluster.members[1].peer, "127.0.0.1:2889");
  EXPECT_FALSE(o->cluster.members[0].observer);
  EXPECT_TRUE(o->cluster.members[2].observer);
}

TEST(KeeperConfig, NoClusterSectionIsASingleNode) {
  auto o = ParseKeeperConfig("port: 2181\n", "test.yaml");
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->cluster.enabled());
}

TEST(KeeperConfig, ClusterMistakesAreNamed) {
  struct Case {
    const char* yaml;
    const char* expect;
  };
  const Case cases[] = {
      {"cluster:\n  id: 9\n  members:\n    - {id: 1, peer: \"a:1\"}\n", "is not among cluster.members"},
      {"cluster:\n  id: 1\n  members:\n    - {id: 1}\n", "has no peer address"},
      {"cluster:\n  id: 1\n  members:\n    - {id: 1, peer: \"a:1\"}\n    - {id: 1, peer: \"a:2\"}\n", "appears twice"},
      {"cluster:\n  id: 1\n  members:\n    - {id: 1, peer: \"a:1\", role: leader}\n", "role must be voter or observer"},
      {"cluster:\n  id: 1\n  members:\n    - {id: 1, peer: \"a:1\", colour: red}\n", "unknown member field 'colour'"},
      {"cluster:\n  id: 1\n  membrs: []\n", "cluster.membrs"},
      {"cluster:\n  id: 1\n  members:\n    - {id: 1, peer: \"a:1\", role: observer}\n", "at least one member must be a voter"},
      {"cluster:\n  id: x\n  members: []\n", "wrong type"},
      {"cluster:\n  id: 1\n  election_ticks: 1\n  members:\n    - {id: 1, peer: \"a:1\"}\n", "election_ticks >= 2"},
      {"cluster:\n  id: 300\n  members:\n    - {id: 300, peer: \"a:1\"}\n", "1..255"},
  };
  for (const Case& c : cases) {
    auto o = ParseKeeperConfig(c.yaml, "bad.yaml");
    ASSERT_FALSE(o.ok()) << c.yaml;
    EXPECT_NE(o.status().message().find(c.expect), std::string::npos) << o.status().message();
    EXPECT_NE(o.status().message().find("bad.yaml"), std::string::npos) << o.status().message();
  }
}

}  // namespace
}  // namespace dougong::keeper
