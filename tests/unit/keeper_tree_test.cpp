// The keeper's data tree against ZooKeeper 3.8 semantics. The ZooKeeper
// behaviour each test pins down was read in the release-3.8.6 sources
// (PrepRequestProcessor, DataTree, FinalRequestProcessor, WatchManager,
// ZooKeeperServer.checkACL, the auth providers, PathUtils, EphemeralType,
// ContainerManager) and is cited in the comments.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "keeper/acl.h"
#include "keeper/data_tree.h"
#include "keeper/path.h"
#include "keeper/watch_manager.h"

namespace dougong::keeper {
namespace {

using zk::ErrorCode;
using zk::EventType;
using zk::OpCode;

constexpr int32_t kCreate = static_cast<int32_t>(OpCode::kCreate);
constexpr int32_t kCreate2 = static_cast<int32_t>(OpCode::kCreate2);
constexpr int32_t kCreateTTL = static_cast<int32_t>(OpCode::kCreateTTL);
constexpr int32_t kCreateContainer = static_cast<int32_t>(OpCode::kCreateContainer);

class TreeTest : public ::testing::Test {
 protected:
  DataTree::Options Opts() {
    DataTree::Options o;
    o.extended_types_enabled = true;
    return o;
  }
  TreeTest() : tree(Opts()) {}

  TxnContext Ctx(int64_t session = 1, const AuthContext* auth = nullptr) {
    ++zxid;
    return TxnContext{zxid, 1000 + zxid, session, auth};
  }
  OpResult Create(const std::string& path, const std::string& data = "", int32_t flags = 0, int64_t session = 1,
                  const AuthContext* auth = nullptr, std::vector<zk::ACL> acl = zk::ids::OpenAclUnsafe()) {
    return tree.Create(kCreate2, zk::CreateRequest{path, data, std::move(acl), flags}, Ctx(session, auth));
  }
  ErrorCode CreateErr(const std::string& path, int32_t flags = 0) { return Create(path, "", flags).err; }
  OpResult Delete(const std::string& path, int32_t version = -1, const AuthContext* auth = nullptr) {
    return tree.Delete(zk::DeleteRequest{path, version}, Ctx(1, auth));
  }
  OpResult Set(const std::string& path, const std::string& data, int32_t version = -1,
               const AuthContext* auth = nullptr) {
    return tree.SetData(zk::SetDataRequest{path, data, version}, Ctx(1, auth));
  }
  zk::Stat StatOf(const std::string& path) {
    zk::Stat s;
    EXPECT_TRUE(tree.GetStat(path, &s)) << path;
    return s;
  }
  std::string CreatedPath(const OpResult& r) { return std::get<zk::Create2Response>(r.response).path; }

  DataTree tree;
  int64_t zxid = 0;
};

// ---- path validation (PathUtils.validatePath) ----

TEST(KeeperPath, ValidatePathMessages) {
  EXPECT_FALSE(ValidatePath("/").has_value());
  EXPECT_FALSE(ValidatePath("/a/b.c/..d/ü").has_value());
  EXPECT_EQ(*ValidatePath(""), "Path length must be > 0");
  EXPECT_EQ(*ValidatePath("a"), "Path must start with / character");
  EXPECT_EQ(*ValidatePath("/a/"), "Path must not end with / character");
  EXPECT_EQ(*ValidatePath("/a//b"), "Invalid path string \"/a//b\" caused by empty node name specified @3");
  EXPECT_EQ(*ValidatePath("/a/./b"), "Invalid path string \"/a/./b\" caused by relative paths not allowed @3");
  EXPECT_EQ(*ValidatePath("/a/.."), "Invalid path string \"/a/..\" caused by relative paths not allowed @4");
  EXPECT_EQ(*ValidatePath(std::string("/a\0b", 4)),
            std::string("Invalid path string \"/a\0b\" caused by null character not allowed @2", 66));
  EXPECT_EQ(*ValidatePath("/a\x01"), "Invalid path string \"/a\x01\" caused by invalid character @2");
  EXPECT_TRUE(ValidatePath("/\xF0\x9F\x98\x80").has_value());  // outside the BMP: a surrogate pair in Java
  EXPECT_TRUE(ValidatePath("/\xFF").has_value());              // malformed UTF-8 -> U+FFFD
  EXPECT_TRUE(ValidatePath("/\xEF\xBF\xB0").has_value());      // U+FFF0
  EXPECT_EQ(ParentPath("/a/b"), "/a");
  EXPECT_EQ(ParentPath("/a"), "/");
  EXPECT_EQ(BaseName("/a/b"), "b");
}

// ---- initial tree (DataTree constructor + addConfigNode) ----

TEST_F(TreeTest, InitialTree) {
  EXPECT_EQ(tree.node_count(), 4u);
  auto r = tree.GetChildren(zk::GetChildrenRequest{"/zookeeper", false}, AuthContext::Anonymous(), 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<zk::GetChildrenResponse>(r.response).children, (std::vector<std::string>{"config", "quota"}));
  zk::Stat root = StatOf("/");
  // cversion as clients see it: 2 * 0 creates - 1 child (real ZooKeeper
  // shows -1 for the root of a fresh server too).
  EXPECT_EQ(root, (zk::Stat{0, 0, 0, 0, 0, -1, 0, 0, 0, 1, 0}));
  // /zookeeper/config: READ_ACL_UNSAFE set through setACL(..., -1): aversion -1.
  auto acl = tree.GetAcl(zk::GetACLRequest{"/zookeeper/config"}, AuthContext::Anonymous());
  ASSERT_TRUE(acl.ok());
  EXPECT_EQ(std::get<zk::GetACLResponse>(acl.response).acl, zk::ids::ReadAclUnsafe());
  EXPECT_EQ(std::get<zk::GetACLResponse>(acl.response).stat.aversion, -1);
  auto all = tree.GetAllChildrenNumber(zk::GetAllChildrenNumberRequest{"/"}, AuthContext::Anonymous());
  EXPECT_EQ(std::get<zk::GetAllChildrenNumberResponse>(all.response).total_number, 3);
}

// ---- create ----

TEST_F(TreeTest, CreateErrorsInZooKeeperOrder) {
  // pRequest2TxnCreate: fromFlag, validateCreateRequest (TTL), then
  // validatePathForCreate, fixupACL, parent NONODE, CREATE on the parent,
  // sequential suffix, validatePath, NODEEXISTS, NOCHILDRENFOREPHEMERALS.
  EXPECT_EQ(CreateErr("/a", 7), ErrorCode::kBadArguments);      // no such CreateMode
  EXPECT_EQ(CreateErr("/a", 5), ErrorCode::kBadArguments);      // TTL mode through create: ttl -1
  EXPECT_EQ(CreateErr("abc"), ErrorCode::kBadArguments);        // no '/'
  EXPECT_EQ(CreateErr("/x/y"), ErrorCode::kNoNode);             // parent missing
  EXPECT_EQ(CreateErr("/a/"), ErrorCode::kNoNode);              // parent "/a" missing comes first
  EXPECT_EQ(Create("/a", "", 0, 1, nullptr, {}).err, ErrorCode::kInvalidACL);
  EXPECT_EQ(Create("/x/y", "", 0, 1, nullptr, {}).err, ErrorCode::kInvalidACL);  // before NONODE
  EXPECT_EQ(CreateErr("/a"), ErrorCode::kOk);
  EXPECT_EQ(CreateErr("/a/"), ErrorCode::kBadArguments);        // validatePath after the parent
  EXPECT_EQ(CreateErr("/a//b"), ErrorCode::kNoNode);            // parent "/a/" does not exist
  EXPECT_EQ(CreateErr("/a"), ErrorCode::kNodeExists);
  EXPECT_EQ(CreateErr("/"), ErrorCode::kNodeExists);
  EXPECT_EQ(CreateErr("/e", 1), ErrorCode::kOk);
  EXPECT_EQ(CreateErr("/e/c"), ErrorCode::kNoChildrenForEphemerals);
  EXPECT_EQ(CreateErr("/e", 1), ErrorCode::kNodeExists);        // NODEEXISTS before the ephemeral check
}

TEST_F(TreeTest, CreateStats) {
  auto r = Create("/p", "pd");
  ASSERT_TRUE(r.ok());
  const zk::Stat& s = std::get<zk::Create2Response>(r.response).stat;
  EXPECT_EQ(s.czxid, zxid);
  EXPECT_EQ(s.mzxid, zxid);
  EXPECT_EQ(s.pzxid, zxid);  // createStat sets pzxid = zxid
  EXPECT_EQ(s.ctime, 1000 + zxid);
  EXPECT_EQ(s.data_length, 2);
  int64_t pz = zxid;
  ASSERT_TRUE(Create("/p/c", "cd").ok());
  int64_t cz = zxid;
  zk::Stat p = StatOf("/p");
  EXPECT_EQ(p.cversion, 1);
  EXPECT_EQ(p.pzxid, cz);
  EXPECT_EQ(p.num_children, 1);
  EXPECT_EQ(p.mzxid, pz);  // children do not touch mzxid
  ASSERT_TRUE(Set("/p/c", "new").ok());
  zk::Stat c = StatOf("/p/c");
  EXPECT_EQ(c.version, 1);
  EXPECT_EQ(c.mzxid, zxid);
  EXPECT_EQ(c.czxid, cz);
  EXPECT_EQ(c.mtime, 1000 + zxid);
  EXPECT_EQ(StatOf("/p").pzxid, cz);  // setData of a child: parent unchanged
  ASSERT_TRUE(Delete("/p/c").ok());
  p = StatOf("/p");
  // The stored count of creates stays 1 (sequence numbers use it); clients
  // see creates + deletes = 2 * 1 - 0 children (DataNode.copyStat).
  EXPECT_EQ(p.cversion, 2);
  EXPECT_EQ(p.pzxid, zxid);
  EXPECT_EQ(p.num_children, 0);
  // A create response of opcode create (1) carries the path only.
  auto r1 = tree.Create(kCreate, zk::CreateRequest{"/q", "", zk::ids::OpenAclUnsafe(), 0}, Ctx());
  EXPECT_EQ(std::get<zk::CreateResponse>(r1.response).path, "/q");
}

TEST_F(TreeTest, NullDataIsKept) {
  ASSERT_TRUE(tree.Create(kCreate, zk::CreateRequest{"/n", zk::jute::Buffer::Null(), zk::ids::OpenAclUnsafe(), 0},
                          Ctx()).ok());
  auto r = tree.GetData(zk::GetDataRequest{"/n", false}, AuthContext::Anonymous(), 1);
  EXPECT_TRUE(std::get<zk::GetDataResponse>(r.response).data.is_null);
}

TEST_F(TreeTest, SequentialNamesFollowParentCversion) {
  ASSERT_TRUE(Create("/q").ok());
  EXPECT_EQ(CreatedPath(Create("/q/n-", "", 2)), "/q/n-0000000000");
  EXPECT_EQ(CreatedPath(Create("/q/n-", "", 2)), "/q/n-0000000001");
  ASSERT_TRUE(Delete("/q/n-0000000001").ok());
  // Deletes leave cversion alone, so numbers never repeat after a delete.
  EXPECT_EQ(CreatedPath(Create("/q/n-", "", 2)), "/q/n-0000000002");
  ASSERT_TRUE(Create("/q/plain").ok());
  EXPECT_EQ(CreatedPath(Create("/q/", "", 3, 7)), "/q/0000000004");  // ephemeral sequential, empty prefix
  EXPECT_EQ(StatOf("/q/0000000004").ephemeral_owner, 7);
}

TEST_F(TreeTest, TtlAndContainerCreate) {
  auto ttl = [&](int32_t flags, int64_t t) {
    return tree.Create(kCreateTTL, zk::CreateTTLRequest{"/t", "", zk::ids::OpenAclUnsafe(), flags, t}, Ctx()).err;
  };
  EXPECT_EQ(ttl(5, 0), ErrorCode::kBadArguments);          // ttl must be > 0
  EXPECT_EQ(ttl(5, kMaxTtl + 1), ErrorCode::kBadArguments);
  EXPECT_EQ(ttl(0, 100), ErrorCode::kBadArguments);        // ttl with a non-TTL mode
  EXPECT_EQ(ttl(5, 100), ErrorCode::kOk);
  // Clients see ephemeralOwner 0 for TTL and container nodes
  // (DataTree.getClientEphemeralOwner); the kind is kept inside.
  EXPECT_EQ(StatOf("/t").ephemeral_owner, 0);
  EXPECT_EQ(tree.CleanupCandidates(INT64_MAX / 2), std::vector<std::string>{"/t"});  // still a TTL node
  EXPECT_EQ(CreateErr("/t/child"), ErrorCode::kOk);        // TTL nodes may have children
  ASSERT_TRUE(tree.Create(kCreateContainer, zk::CreateRequest{"/c", "", zk::ids::OpenAclUnsafe(), 4}, Ctx()).ok());
  EXPECT_EQ(StatOf("/c").ephemeral_owner, 0);

  DataTree plain;  // extended types off (ZooKeeper's default)
  EXPECT_EQ(plain.Create(kCreateTTL, zk::CreateTTLRequest{"/t", "", zk::ids::OpenAclUnsafe(), 5, 100}, Ctx()).err,
            ErrorCode::kUnimplemented);
  EXPECT_TRUE(plain.Create(kCreateContainer, zk::CreateRequest{"/c", "", zk::ids::OpenAclUnsafe(), 4}, Ctx()).ok());
}

TEST_F(TreeTest, CleanupCandidates) {
  ASSERT_TRUE(tree.Create(kCreateContainer, zk::CreateRequest{"/c", "", zk::ids::OpenAclUnsafe(), 4}, Ctx()).ok());
  ASSERT_TRUE(tree.Create(kCreateContainer, zk::CreateRequest{"/never", "", zk::ids::OpenAclUnsafe(), 4}, Ctx()).ok());
  ASSERT_TRUE(tree.Create(kCreateTTL, zk::CreateTTLRequest{"/t", "", zk::ids::OpenAclUnsafe(), 5, 50}, Ctx()).ok());
  int64_t t_mtime = StatOf("/t").mtime;
  ASSERT_TRUE(Create("/c/x").ok());
  EXPECT_TRUE(tree.CleanupCandidates(t_mtime + 10).empty());  // /c has a child; /never never had one; /t young
  ASSERT_TRUE(Delete("/c/x").ok());
  EXPECT_EQ(tree.CleanupCandidates(t_mtime + 10), std::vector<std::string>{"/c"});
  EXPECT_EQ(tree.CleanupCandidates(t_mtime + 51), (std::vector<std::string>{"/c", "/t"}));
  // Applied as deleteContainer through the log.
  EXPECT_TRUE(tree.DeleteContainer("/c", Ctx()).ok());
  EXPECT_EQ(tree.DeleteContainer("/c", Ctx()).err, ErrorCode::kNoNode);
  ASSERT_TRUE(Create("/plain").ok());
  EXPECT_EQ(tree.DeleteContainer("/plain", Ctx()).err, ErrorCode::kBadVersion);
  ASSERT_TRUE(Create("/t/kid").ok());
  EXPECT_EQ(tree.DeleteContainer("/t", Ctx()).err, ErrorCode::kNotEmpty);
  DataTree::Options o = Opts();
  o.container_max_never_used_ms = 100;
  DataTree aged(o);
  ASSERT_TRUE(aged.Create(kCreateContainer, zk::CreateRequest{"/n", "", zk::ids::OpenAclUnsafe(), 4},
                          TxnContext{1, 1000, 1, nullptr}).ok());
  EXPECT_TRUE(aged.CleanupCandidates(1100).empty());
  EXPECT_EQ(aged.CleanupCandidates(1101), std::vector<std::string>{"/n"});
}

// ---- delete / setData / setACL / check ----

TEST_F(TreeTest, DeleteErrors) {
  // getParentPathAndValidate, parent NONODE, DELETE on parent, NONODE,
  // BADVERSION, NOTEMPTY.
  EXPECT_EQ(Delete("/").err, ErrorCode::kBadArguments);
  EXPECT_EQ(Delete("/zookeeper").err, ErrorCode::kBadArguments);
  EXPECT_EQ(Delete("/zookeeper/config").err, ErrorCode::kBadArguments);
  EXPECT_EQ(Delete("nope").err, ErrorCode::kBadArguments);
  EXPECT_EQ(Delete("/x/y").err, ErrorCode::kNoNode);
  EXPECT_EQ(Delete("/x").err, ErrorCode::kNoNode);
  ASSERT_TRUE(Create("/a").ok());
  ASSERT_TRUE(Create("/a/b").ok());
  EXPECT_EQ(Delete("/a", 5).err, ErrorCode::kBadVersion);  // version before emptiness
  EXPECT_EQ(Delete("/a").err, ErrorCode::kNotEmpty);
  EXPECT_EQ(Delete("/a/b", 0).err, ErrorCode::kOk);
  EXPECT_EQ(Delete("/a", 0).err, ErrorCode::kOk);
}

TEST_F(TreeTest, SetDataSetAclCheck) {
  EXPECT_EQ(Set("bad", "x").err, ErrorCode::kBadArguments);
  EXPECT_EQ(Set("/none", "x").err, ErrorCode::kNoNode);
  ASSERT_TRUE(Create("/a", "v0").ok());
  EXPECT_EQ(Set("/a", "x", 3).err, ErrorCode::kBadVersion);
  auto r = Set("/a", "v1", 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<zk::SetDataResponse>(r.response).stat.version, 1);
  EXPECT_EQ(std::get<zk::SetDataResponse>(r.response).stat.data_length, 2);

  auto acl = [&](std::vector<zk::ACL> a, int32_t v) {
    return tree.SetAcl(zk::SetACLRequest{"/a", std::move(a), v}, Ctx());
  };
  EXPECT_EQ(acl({}, -1).err, ErrorCode::kInvalidACL);
  EXPECT_EQ(acl(zk::ids::ReadAclUnsafe(), 1).err, ErrorCode::kBadVersion);
  auto sa = acl(zk::ids::ReadAclUnsafe(), 0);
  ASSERT_TRUE(sa.ok());
  EXPECT_EQ(std::get<zk::SetACLResponse>(sa.response).stat.aversion, 1);
  EXPECT_EQ(acl(zk::ids::OpenAclUnsafe(), -1).err, ErrorCode::kNoAuth);  // no ADMIN left
  EXPECT_EQ(Set("/a", "x").err, ErrorCode::kNoAuth);                     // no WRITE

  auto check = [&](const std::string& p, int32_t v) { return tree.Check(zk::CheckVersionRequest{p, v}, Ctx()).err; };
  EXPECT_EQ(check("/a", 1), ErrorCode::kOk);
  EXPECT_EQ(check("/a", 0), ErrorCode::kBadVersion);
  EXPECT_EQ(check("/zz", 0), ErrorCode::kNoNode);
  EXPECT_EQ(check("/a/", 0), ErrorCode::kBadArguments);
}

// ---- ACLs ----

TEST(KeeperAcl, DigestAndProviders) {
  // DigestAuthenticationProvider.generateDigest: user:base64(sha1(user:pw)).
  EXPECT_EQ(GenerateDigest("super:test"), "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
  EXPECT_EQ(GenerateDigest("u:p:q"), "u:" + GenerateDigest("u:p:q").substr(2));
  auto ids = DigestAuthIds("super:test", "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], (zk::Id{"super", ""}));
  EXPECT_TRUE(IsValidDigestId("u:h"));
  EXPECT_TRUE(IsValidDigestId(":h"));    // Java split keeps leading empties
  EXPECT_TRUE(IsValidDigestId("u:h:"));  // ... and drops trailing ones
  EXPECT_FALSE(IsValidDigestId("u:"));
  EXPECT_FALSE(IsValidDigestId("u:h:x"));
  EXPECT_TRUE(IsValidIpAcl("10.0.0.0/8"));
  EXPECT_FALSE(IsValidIpAcl("10.0.0/8"));
  EXPECT_FALSE(IsValidIpAcl("10.0.0.0/33"));
  EXPECT_FALSE(IsValidIpAcl("::1"));  // 3.8's ip provider is IPv4 only
  EXPECT_TRUE(IpMatches("10.1.2.3", "10.0.0.0/8"));
  EXPECT_FALSE(IpMatches("11.1.2.3", "10.0.0.0/8"));
  EXPECT_TRUE(IpMatches("192.168.1.77", "192.168.1.64/26"));
  EXPECT_FALSE(IpMatches("192.168.1.128", "192.168.1.64/26"));
  EXPECT_TRUE(IpMatches("1.2.3.4", "1.2.3.4"));
  EXPECT_TRUE(IpMatches("9.9.9.9", "0.0.0.0/0"));
}

TEST(KeeperAcl, FixupAndCheck) {
  AuthContext anon;
  AuthContext alice{{zk::Id{"digest", GenerateDigest("alice:pw")}}, "10.0.0.5"};
  AclList out;
  // auth expands to the session's digest ids; without any: INVALIDACL (ip
  // is not an authenticated provider).
  EXPECT_EQ(FixupAcl(zk::ids::CreatorAllAcl(), anon, &out), ErrorCode::kInvalidACL);
  AuthContext ip_only{{zk::Id{"ip", "10.0.0.5"}}, "10.0.0.5"};
  EXPECT_EQ(FixupAcl(zk::ids::CreatorAllAcl(), ip_only, &out), ErrorCode::kInvalidACL);
  ASSERT_EQ(FixupAcl(zk::ids::CreatorAllAcl(), alice, &out), ErrorCode::kOk);
  EXPECT_EQ(out, (AclList{zk::ACL{31, alice.ids[0]}}));
  EXPECT_EQ(FixupAcl({zk::ACL{31, {"world", "nobody"}}}, alice, &out), ErrorCode::kInvalidACL);
  EXPECT_EQ(FixupAcl({zk::ACL{31, {"foo", "bar"}}}, alice, &out), ErrorCode::kInvalidACL);
  EXPECT_EQ(FixupAcl({zk::ACL{31, {"digest", "bad"}}}, alice, &out), ErrorCode::kInvalidACL);
  EXPECT_EQ(FixupAcl({zk::ACL{31, {"ip", "1.2.3.4/40"}}}, alice, &out), ErrorCode::kInvalidACL);
  ASSERT_EQ(FixupAcl({zk::ACL{1, {"ip", "1.2.3.4"}}, zk::ACL{1, {"ip", "1.2.3.4"}}}, alice, &out), ErrorCode::kOk);
  EXPECT_EQ(out.size(), 1u);  // duplicates dropped

  AclList acl{zk::ACL{zk::perms::kRead, {"digest", alice.ids[0].id}}, zk::ACL{zk::perms::kWrite, {"ip", "10.0.0.0/24"}}};
  EXPECT_TRUE(CheckAcl(acl, zk::perms::kRead, alice));
  EXPECT_FALSE(CheckAcl(acl, zk::perms::kRead, anon));
  EXPECT_TRUE(CheckAcl(acl, zk::perms::kWrite, AuthContext{{}, "10.0.0.9"}));
  EXPECT_FALSE(CheckAcl(acl, zk::perms::kWrite, AuthContext{{}, "10.0.1.9"}));
  EXPECT_FALSE(CheckAcl(acl, zk::perms::kAdmin, alice));
  EXPECT_TRUE(CheckAcl(acl, zk::perms::kAdmin, AuthContext{{zk::Id{"super", ""}}, ""}));
  EXPECT_TRUE(CheckAcl({}, zk::perms::kAdmin, anon));  // empty ACL: everyone
}

TEST_F(TreeTest, AclChecksOnOps) {
  AuthContext alice{{zk::Id{"digest", GenerateDigest("alice:pw")}}, "127.0.0.1"};
  AuthContext bob{{zk::Id{"digest", GenerateDigest("bob:pw")}}, "127.0.0.1"};
  AuthContext super{{zk::Id{"super", ""}}, "127.0.0.1"};
  ASSERT_TRUE(Create("/priv", "secret", 0, 1, &alice, zk::ids::CreatorAllAcl()).ok());
  // reads: getData/getChildren/getAllChildrenNumber need READ; exists too in 3.8.
  EXPECT_EQ(tree.GetData(zk::GetDataRequest{"/priv", false}, bob, 2).err, ErrorCode::kNoAuth);
  EXPECT_EQ(tree.GetChildren(zk::GetChildrenRequest{"/priv", false}, bob, 2).err, ErrorCode::kNoAuth);
  EXPECT_EQ(tree.GetAllChildrenNumber(zk::GetAllChildrenNumberRequest{"/priv"}, bob).err, ErrorCode::kNoAuth);
  EXPECT_EQ(tree.Exists(zk::ExistsRequest{"/priv", false}, bob, 2).err, ErrorCode::kNoAuth);
  EXPECT_EQ(tree.Exists(zk::ExistsRequest{"/none", false}, bob, 2).err, ErrorCode::kNoNode);
  EXPECT_TRUE(tree.GetData(zk::GetDataRequest{"/priv", false}, alice, 1).ok());
  EXPECT_TRUE(tree.GetData(zk::GetDataRequest{"/priv", false}, super, 3).ok());
  // writes: CREATE/DELETE on the parent, WRITE/ADMIN on the node.
  EXPECT_EQ(Create("/priv/c", "", 0, 2, &bob).err, ErrorCode::kNoAuth);
  EXPECT_TRUE(Create("/priv/c", "", 0, 1, &alice).ok());
  EXPECT_EQ(Delete("/priv/c", -1, &bob).err, ErrorCode::kNoAuth);
  EXPECT_EQ(Set("/priv", "x", -1, &bob).err, ErrorCode::kNoAuth);
  EXPECT_TRUE(Set("/priv", "x", -1, &super).ok());
  // getACL needs READ or ADMIN; without ADMIN digests are shown as user:x.
  ASSERT_TRUE(tree.SetAcl(zk::SetACLRequest{"/priv", {zk::ACL{zk::perms::kRead, alice.ids[0]},
                                                       zk::ACL{zk::perms::kRead, {"world", "anyone"}}}, -1},
                          Ctx(1, &super)).ok());
  auto ga = tree.GetAcl(zk::GetACLRequest{"/priv"}, bob);
  ASSERT_TRUE(ga.ok());
  EXPECT_EQ(std::get<zk::GetACLResponse>(ga.response).acl[0].id.id, "alice:x");
  auto gs = tree.GetAcl(zk::GetACLRequest{"/priv"}, super);
  EXPECT_EQ(std::get<zk::GetACLResponse>(gs.response).acl[0].id.id, alice.ids[0].id);
  ASSERT_TRUE(tree.SetAcl(zk::SetACLRequest{"/priv", {zk::ACL{zk::perms::kWrite, alice.ids[0]}}, -1},
                          Ctx(1, &super)).ok());
  EXPECT_EQ(tree.GetAcl(zk::GetACLRequest{"/priv"}, bob).err, ErrorCode::kNoAuth);
  // ACL cache: one id per distinct list, released when unused.
  size_t before = tree.acl_cache().size();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Create("/same" + std::to_string(i)).ok());
  EXPECT_EQ(tree.acl_cache().size(), before);
  ASSERT_TRUE(Create("/ipnode", "", 0, 1, nullptr, {zk::ACL{31, {"ip", "10.0.0.0/8"}}}).ok());
  EXPECT_EQ(tree.acl_cache().size(), before + 1);
  ASSERT_TRUE(Delete("/ipnode").ok());
  EXPECT_EQ(tree.acl_cache().size(), before);
}

// ---- multi ----

zk::MultiOp CreateOp(const std::string& p, int32_t flags = 0) {
  return zk::MultiOp{kCreate, zk::CreateRequest{p, "d", zk::ids::OpenAclUnsafe(), flags}};
}
zk::MultiOp DeleteOp(const std::string& p, int32_t v = -1) {
  return zk::MultiOp{static_cast<int32_t>(OpCode::kDelete), zk::DeleteRequest{p, v}};
}
zk::MultiOp SetOp(const std::string& p, int32_t v = -1) {
  return zk::MultiOp{static_cast<int32_t>(OpCode::kSetData), zk::SetDataRequest{p, "s", v}};
}
zk::MultiOp CheckOp(const std::string& p, int32_t v) {
  return zk::MultiOp{static_cast<int32_t>(OpCode::kCheck), zk::CheckVersionRequest{p, v}};
}

TEST_F(TreeTest, MultiSuccessSeesEarlierOps) {
  zk::MultiRequest m{{CreateOp("/m"), CreateOp("/m/s-", 2), CreateOp("/m/s-", 2), SetOp("/m", 0), CheckOp("/m", 1),
                      DeleteOp("/m/s-0000000000")}};
  auto r = tree.Multi(m, Ctx());
  ASSERT_TRUE(r.ok());
  auto& res = std::get<zk::MultiResponse>(r.response).results;
  ASSERT_EQ(res.size(), 6u);
  EXPECT_EQ(std::get<zk::CreateResponse>(res[1].body).path, "/m/s-0000000000");
  EXPECT_EQ(std::get<zk::CreateResponse>(res[2].body).path, "/m/s-0000000001");
  EXPECT_EQ(std::get<zk::SetDataResponse>(res[3].body).stat.version, 1);
  EXPECT_EQ(res[4].type, 13);
  EXPECT_EQ(res[5].type, 2);
  zk::Stat s = StatOf("/m");
  EXPECT_EQ(s.cversion, 3);  // 2 creates + 1 delete, as clients see it
  EXPECT_EQ(s.num_children, 1);
  EXPECT_EQ(s.pzxid, zxid);  // one zxid for every op
  EXPECT_EQ(s.czxid, zxid);
}

TEST_F(TreeTest, MultiIsAllOrNothing) {
  ASSERT_TRUE(Create("/x", "orig").ok());
  uint64_t digest = tree.Digest();
  size_t acls = tree.acl_cache().size();
  zk::MultiRequest m{{CreateOp("/y"), SetOp("/x"), DeleteOp("/x"), CheckOp("/x", 0), CreateOp("/z")}};
  // DeleteOp("/x") would succeed... make op 3 fail on BADVERSION instead:
  m.ops[2] = DeleteOp("/x", 42);
  m.ops[1] = zk::MultiOp{kCreate, zk::CreateRequest{"/acl", "", {zk::ACL{31, {"ip", "1.2.3.4"}}}, 0}};
  auto r = tree.Multi(m, Ctx());
  EXPECT_EQ(r.err, ErrorCode::kOk);  // the reply header of a multi says OK
  EXPECT_EQ(r.multi_error, ErrorCode::kBadVersion);
  auto& res = std::get<zk::MultiResponse>(r.response).results;
  ASSERT_EQ(res.size(), 5u);
  // DataTree.processTxn(multi): earlier ops ErrorResult(0), the failing op
  // its code, later ops RUNTIMEINCONSISTENCY (-2), all of type -1.
  std::vector<int32_t> errs;
  for (auto& x : res) {
    EXPECT_EQ(x.type, -1);
    errs.push_back(x.err);
    EXPECT_EQ(std::get<zk::ErrorResponse>(x.body).err, x.err);
  }
  EXPECT_EQ(errs, (std::vector<int32_t>{0, 0, -103, -2, -2}));
  EXPECT_FALSE(tree.Contains("/y"));
  EXPECT_FALSE(tree.Contains("/acl"));
  EXPECT_EQ(tree.Digest(), digest);
  EXPECT_EQ(tree.acl_cache().size(), acls);
  // Rolled back deletes restore the node, children and parent stat.
  ASSERT_TRUE(Create("/x/k").ok());
  digest = tree.Digest();
  zk::MultiRequest m2{{DeleteOp("/x/k"), DeleteOp("/x"), CreateOp("/nope/n")}};
  auto r2 = tree.Multi(m2, Ctx());
  EXPECT_EQ(r2.multi_error, ErrorCode::kNoNode);
  EXPECT_EQ(tree.Digest(), digest);
  EXPECT_TRUE(tree.Contains("/x/k"));
  EXPECT_TRUE(r2.events.empty());
}

// ---- watches ----

TEST_F(TreeTest, WatchesFireOnceWithZooKeeperTypes) {
  const AuthContext& anon = AuthContext::Anonymous();
  EXPECT_EQ(tree.Exists(zk::ExistsRequest{"/w", true}, anon, 10).err, ErrorCode::kNoNode);  // exist watch armed
  ASSERT_TRUE(tree.GetChildren(zk::GetChildrenRequest{"/", true}, anon, 11).ok());
  auto r = Create("/w");
  std::vector<WatchEvent> want{{10, EventType::kNodeCreated, "/w", nullptr},
                               {11, EventType::kNodeChildrenChanged, "/", nullptr}};
  EXPECT_EQ(r.events, want);
  EXPECT_TRUE(Create("/w2").events.empty());  // fired once
  ASSERT_TRUE(tree.GetData(zk::GetDataRequest{"/w", true}, anon, 10).ok());
  ASSERT_TRUE(tree.Exists(zk::ExistsRequest{"/w", true}, anon, 12).ok());
  EXPECT_EQ(Set("/w", "x").events,
            (std::vector<WatchEvent>{{10, EventType::kNodeDataChanged, "/w", nullptr},
                                     {12, EventType::kNodeDataChanged, "/w", nullptr}}));
  ASSERT_TRUE(tree.GetData(zk::GetDataRequest{"/w", true}, anon, 10).ok());
  ASSERT_TRUE(tree.GetChildren(zk::GetChildrenRequest{"/w", true}, anon, 10).ok());
  ASSERT_TRUE(tree.GetChildren(zk::GetChildrenRequest{"/w", true}, anon, 13).ok());
  ASSERT_TRUE(tree.GetChildren(zk::GetChildrenRequest{"/", true}, anon, 14).ok());
  // delete: data+child watches of the node get NodeDeleted (once per
  // session), child watches of the parent NodeChildrenChanged.
  EXPECT_EQ(Delete("/w").events, (std::vector<WatchEvent>{{10, EventType::kNodeDeleted, "/w", nullptr},
                                                          {13, EventType::kNodeDeleted, "/w", nullptr},
                                                          {14, EventType::kNodeChildrenChanged, "/", nullptr}}));
  EXPECT_EQ(tree.data_watches().watch_count(), 0u);
  EXPECT_EQ(tree.child_watches().watch_count(), 0u);
  // Events carry the node's ACL for the server's READ filter.
  ASSERT_TRUE(tree.Exists(zk::ExistsRequest{"/r", true}, anon, 10).err == ErrorCode::kNoNode);
  auto rr = Create("/r", "", 0, 1, nullptr, zk::ids::ReadAclUnsafe());
  ASSERT_EQ(rr.events.size(), 1u);
  EXPECT_EQ(*rr.events[0].acl, zk::ids::ReadAclUnsafe());
}

TEST_F(TreeTest, PersistentAndRecursiveWatches) {
  ASSERT_TRUE(Create("/p").ok());
  ASSERT_TRUE(tree.AddWatch(zk::AddWatchRequest{"/p", 0}, 20).ok());  // persistent
  ASSERT_TRUE(tree.AddWatch(zk::AddWatchRequest{"/p", 1}, 21).ok());  // recursive
  auto e1 = Create("/p/a").events;
  // persistent on /p: NodeChildrenChanged; recursive: NodeCreated of /p/a.
  EXPECT_EQ(e1, (std::vector<WatchEvent>{{21, EventType::kNodeCreated, "/p/a", nullptr},
                                         {20, EventType::kNodeChildrenChanged, "/p", nullptr}}));
  auto e2 = Create("/p/a/b").events;
  EXPECT_EQ(e2, (std::vector<WatchEvent>{{21, EventType::kNodeCreated, "/p/a/b", nullptr}}));
  EXPECT_EQ(Set("/p/a/b", "x").events, (std::vector<WatchEvent>{{21, EventType::kNodeDataChanged, "/p/a/b", nullptr}}));
  EXPECT_EQ(Set("/p", "x").events, (std::vector<WatchEvent>{{20, EventType::kNodeDataChanged, "/p", nullptr},
                                                            {21, EventType::kNodeDataChanged, "/p", nullptr}}));
  EXPECT_EQ(Delete("/p/a/b").events, (std::vector<WatchEvent>{{21, EventType::kNodeDeleted, "/p/a/b", nullptr}}));
  EXPECT_EQ(Set("/p", "y").events.size(), 2u);  // still armed
  // checkWatches/removeWatches.
  EXPECT_EQ(tree.CheckWatches(zk::CheckWatchesRequest{"/p", 2}, 20), ErrorCode::kOk);
  EXPECT_EQ(tree.CheckWatches(zk::CheckWatchesRequest{"/p/a", 3}, 21), ErrorCode::kOk);  // under a recursive watch
  EXPECT_EQ(tree.CheckWatches(zk::CheckWatchesRequest{"/p", 3}, 99), ErrorCode::kNoWatcher);
  EXPECT_EQ(tree.RemoveWatches(zk::RemoveWatchesRequest{"/p", 3}, 20), ErrorCode::kOk);
  EXPECT_EQ(tree.RemoveWatches(zk::RemoveWatchesRequest{"/p", 3}, 20), ErrorCode::kNoWatcher);
  EXPECT_EQ(Set("/p", "z").events, (std::vector<WatchEvent>{{21, EventType::kNodeDataChanged, "/p", nullptr}}));
  tree.RemoveSessionWatches(21);
  EXPECT_TRUE(Set("/p", "w").events.empty());
  EXPECT_EQ(tree.data_watches().recursive_count(), 0u);
}

TEST_F(TreeTest, SetWatchesCatchesUp) {
  ASSERT_TRUE(Create("/a").ok());
  ASSERT_TRUE(Create("/b").ok());
  int64_t seen = zxid;
  ASSERT_TRUE(Set("/a", "changed").ok());
  ASSERT_TRUE(Create("/b/kid").ok());
  ASSERT_TRUE(Create("/c").ok());
  zk::SetWatches2 sw;
  sw.relative_zxid = seen;
  sw.data_watches = {"/a", "/b", "/gone"};
  sw.exist_watches = {"/c", "/d"};
  sw.child_watches = {"/a", "/b", "/gone"};
  sw.persistent_recursive_watches = {"/r"};
  auto ev = tree.SetWatches(sw, 30);
  EXPECT_EQ(ev, (std::vector<WatchEvent>{{30, EventType::kNodeDataChanged, "/a", nullptr},
                                         {30, EventType::kNodeDeleted, "/gone", nullptr},
                                         {30, EventType::kNodeCreated, "/c", nullptr},
                                         {30, EventType::kNodeChildrenChanged, "/b", nullptr},
                                         {30, EventType::kNodeDeleted, "/gone", nullptr}}));
  // The rest is armed: data /b, exist /d, child /a, recursive /r.
  EXPECT_EQ(Set("/b", "x").events.size(), 1u);
  EXPECT_EQ(Create("/d").events.size(), 1u);
  EXPECT_EQ(Create("/a/k").events.size(), 1u);
  EXPECT_EQ(Create("/r").events.size(), 1u);
}

TEST_F(TreeTest, CloseSessionDeletesEphemerals) {
  ASSERT_TRUE(Create("/app").ok());
  ASSERT_TRUE(Create("/app/e1", "", 1, 77).ok());
  ASSERT_TRUE(Create("/app/e2", "", 3, 77).ok());
  ASSERT_TRUE(Create("/other", "", 1, 78).ok());
  auto ge = tree.GetEphemerals(zk::GetEphemeralsRequest{"/app"}, 77);
  EXPECT_EQ(std::get<zk::GetEphemeralsResponse>(ge.response).ephemerals,
            (std::vector<std::string>{"/app/e1", "/app/e20000000001"}));
  ge = tree.GetEphemerals(zk::GetEphemeralsRequest{"/"}, 78);
  EXPECT_EQ(std::get<zk::GetEphemeralsResponse>(ge.response).ephemerals, std::vector<std::string>{"/other"});
  ASSERT_TRUE(tree.GetChildren(zk::GetChildrenRequest{"/app", true}, AuthContext::Anonymous(), 78).ok());
  zk::Stat before = StatOf("/app");
  auto r = tree.CloseSession(Ctx(77));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(tree.Contains("/app/e1"));
  EXPECT_FALSE(tree.Contains("/app/e20000000001"));
  EXPECT_TRUE(tree.Contains("/other"));
  EXPECT_EQ(r.events, (std::vector<WatchEvent>{{78, EventType::kNodeChildrenChanged, "/app", nullptr}}));
  zk::Stat after = StatOf("/app");
  EXPECT_EQ(after.cversion, before.cversion + 2);  // two deletes, as clients see it
  EXPECT_EQ(after.pzxid, zxid);
  EXPECT_EQ(tree.ephemeral_count(), 1u);
}

TEST_F(TreeTest, MultiReadAndChildrenNumber) {
  ASSERT_TRUE(Create("/a").ok());
  ASSERT_TRUE(Create("/a/b").ok());
  ASSERT_TRUE(Create("/a/b/c").ok());
  auto n = tree.GetAllChildrenNumber(zk::GetAllChildrenNumberRequest{"/a"}, AuthContext::Anonymous());
  EXPECT_EQ(std::get<zk::GetAllChildrenNumberResponse>(n.response).total_number, 2);
  zk::MultiRequest mr{{zk::MultiOp{static_cast<int32_t>(OpCode::kGetData), zk::GetDataRequest{"/a", false}},
                       zk::MultiOp{static_cast<int32_t>(OpCode::kGetChildren), zk::GetChildrenRequest{"/x", false}}}};
  auto r = tree.MultiRead(mr, AuthContext::Anonymous(), 1);
  auto& res = std::get<zk::MultiResponse>(r.response).results;
  EXPECT_EQ(res[0].type, 4);
  EXPECT_EQ(res[1].err, -101);
}

// ---- snapshots and determinism ----

std::unique_ptr<DataTree> RoundTrip(const DataTree& t, size_t chunk, size_t feed) {
  std::string all;
  EXPECT_TRUE(t.Save([&](std::string_view c) { all.append(c); return Status::Ok(); }, chunk).ok());
  DataTree::Loader loader(t.options());
  for (size_t i = 0; i < all.size(); i += feed) EXPECT_TRUE(loader.Feed(std::string_view(all).substr(i, feed)).ok());
  auto r = loader.Finish();
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

// A random op stream over a small name space, so that every error occurs.
void RandomOps(DataTree& t, uint32_t seed, int count) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  const char* names[] = {"/a", "/b", "/a/x", "/a/y", "/b/x", "/a/x/z", "/c", "/b/q-"};
  AuthContext alice{{zk::Id{"digest", GenerateDigest("alice:pw")}}, "10.0.0.1"};
  for (int i = 1; i <= count; ++i) {
    TxnContext ctx{i, 1000 + i, 1 + pick(3), pick(4) == 0 ? &alice : nullptr};
    std::string p = names[pick(8)];
    switch (pick(8)) {
      case 0:
      case 1: {
        std::vector<zk::ACL> acl = pick(5) == 0 ? zk::ids::CreatorAllAcl() : zk::ids::OpenAclUnsafe();
        int32_t flags = pick(5);
        (void)t.Create(kCreate2, zk::CreateRequest{p, std::to_string(i), acl, flags}, ctx);
        break;
      }
      case 2: (void)t.Delete(zk::DeleteRequest{p, pick(3) - 1}, ctx); break;
      case 3: (void)t.SetData(zk::SetDataRequest{p, std::string(pick(20), 'v'), pick(3) - 1}, ctx); break;
      case 4: (void)t.SetAcl(zk::SetACLRequest{p, pick(2) ? zk::ids::OpenAclUnsafe() : zk::ids::ReadAclUnsafe(), -1}, ctx); break;
      case 5: {
        zk::MultiRequest m{{CreateOp(names[pick(8)], pick(4)), DeleteOp(names[pick(8)]), SetOp(names[pick(8)])}};
        (void)t.Multi(m, ctx);
        break;
      }
      case 6: (void)t.CloseSession(ctx); break;
      case 7:
        (void)t.Create(kCreateTTL, zk::CreateTTLRequest{p, "t", zk::ids::OpenAclUnsafe(), 5, 1 + pick(5)}, ctx);
        for (const std::string& c : t.CleanupCandidates(ctx.time)) (void)t.DeleteContainer(c, ctx);
        break;
    }
  }
}

TEST_F(TreeTest, SnapshotRoundTripKeepsDigest) {
  RandomOps(tree, 7, 2000);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(Create("/big" + std::to_string(i), std::string(100, 'x'), i % 2, 5).ok());
  auto loaded = RoundTrip(tree, 256, 77);
  ASSERT_NE(loaded, nullptr);
  EXPECT_EQ(loaded->Digest(), tree.Digest());
  EXPECT_EQ(loaded->node_count(), tree.node_count());
  EXPECT_EQ(loaded->ephemeral_count(), tree.ephemeral_count());
  EXPECT_EQ(loaded->last_zxid(), tree.last_zxid());
  EXPECT_EQ(loaded->acl_cache().size(), tree.acl_cache().size());
  // The loaded tree goes on exactly like the original.
  RandomOps(tree, 8, 500);
  RandomOps(*loaded, 8, 500);
  EXPECT_EQ(loaded->Digest(), tree.Digest());
  // Damage is detected.
  std::string all;
  ASSERT_TRUE(tree.Save([&](std::string_view c) { all.append(c); return Status::Ok(); }).ok());
  DataTree::Loader cut(tree.options());
  ASSERT_TRUE(cut.Feed(std::string_view(all).substr(0, all.size() - 3)).ok());
  EXPECT_FALSE(cut.Finish().ok());
  std::string bad = all;
  bad[bad.size() / 2] ^= 0x20;
  DataTree::Loader flipped(tree.options());
  bool ok = flipped.Feed(bad).ok();
  if (ok) {
    EXPECT_FALSE(flipped.Finish().ok());
  }
}

// The loader finds parents on the walk's ancestor stack and indexes on a
// second thread: a duplicate path and a parent that is not an ancestor are
// refused by name, and a loaded tree keeps its child lists.
TEST_F(TreeTest, SnapshotLoaderRefusesDuplicatesAndOrphans) {
  ASSERT_TRUE(Create("/aa", "1").ok());
  ASSERT_TRUE(Create("/bb", "2").ok());
  ASSERT_TRUE(Create("/cc", "3").ok());
  ASSERT_TRUE(Create("/cc/dd", "4").ok());
  std::string all;
  ASSERT_TRUE(tree.Save([&](std::string_view c) { all.append(c); return Status::Ok(); }).ok());
  auto load = [&](const std::string& bytes) {
    DataTree::Loader l(tree.options());
    Status fed = l.Feed(bytes);
    if (!fed.ok()) return fed;
    auto t = l.Finish();
    return t.ok() ? Status::Ok() : t.status();
  };
  ASSERT_TRUE(load(all).ok());
  auto replaced = [&](std::string_view from, std::string_view to) {
    std::string b = all;
    size_t at = b.find(from);
    EXPECT_NE(at, std::string::npos);
    b.replace(at, from.size(), to);
    return b;
  };
  Status dup = load(replaced("/bb", "/aa"));
  EXPECT_EQ(dup.code(), Code::kDataLoss);
  EXPECT_NE(dup.message().find("/aa"), std::string::npos) << dup.message();
  Status orphan = load(replaced("/cc/dd", "/qq/dd"));
  EXPECT_EQ(orphan.code(), Code::kDataLoss);
  EXPECT_NE(orphan.message().find("parent missing"), std::string::npos) << orphan.message();

  DataTree::Loader l(tree.options());
  ASSERT_TRUE(l.Feed(all).ok());
  auto loaded = l.Finish();
  ASSERT_TRUE(loaded.ok());
  auto kids = (*loaded)->GetChildren(zk::GetChildrenRequest{"/", false}, AuthContext::Anonymous(), 1);
  EXPECT_EQ(std::get<zk::GetChildrenResponse>(kids.response).children,
            (std::vector<std::string>{"aa", "bb", "cc", "zookeeper"}));
}

TEST(KeeperDeterminism, SameOpsSameDigest) {
  DataTree::Options o;
  o.extended_types_enabled = true;
  DataTree a(o), b(o);
  RandomOps(a, 42, 5000);
  RandomOps(b, 42, 5000);
  EXPECT_EQ(a.Digest(), b.Digest());
  EXPECT_GT(a.node_count(), 4u);
  DataTree c(o);
  RandomOps(c, 43, 5000);
  EXPECT_NE(a.Digest(), c.Digest());
}

}  // namespace
}  // namespace dougong::keeper
