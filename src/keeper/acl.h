// ACLs of the keeper: the reference-counted cache that lets every znode
// store a 32-bit id instead of its ACL list (as ZooKeeper's
// ReferenceCountedACLCache does), the permission check of
// ZooKeeperServer.checkACL, PrepRequestProcessor.fixupACL, and the digest and
// ip authentication providers (DigestAuthenticationProvider,
// IPAuthenticationProvider of ZooKeeper 3.8).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dougong/base/status.h"
#include "zk/protocol.h"
#include "zk/records.h"

namespace dougong::keeper {

using AclList = std::vector<zk::ACL>;
using AclRef = std::shared_ptr<const AclList>;

// What a request's session holds: the ids added by authentication
// (("digest", "user:hash"), ("super", ""), ("ip", "10.0.0.1"), ...) and the
// client's address. ZooKeeper adds ("ip", address) to every connection's
// ids; here `client_ip` stands for it (it is matched by ip ACLs and, like
// ZooKeeper's ip id, never expands an "auth" ACL).
struct AuthContext {
  std::vector<zk::Id> ids;
  std::string client_ip;

  bool IsSuper() const;
  static const AuthContext& Anonymous();
};

// ZooKeeperServer.checkACL: true when `acl` grants any bit of `perm` to
// `auth`. Empty ACL lists and the super user always pass; world:anyone
// passes everyone; digest ids match exactly; ip ACLs ("a.b.c.d" or
// "a.b.c.d/bits") match the client's IPv4 address or an ("ip", x) id.
// Unknown schemes never match.
bool CheckAcl(const AclList& acl, int32_t perm, const AuthContext& auth);

// PrepRequestProcessor.fixupACL: drops duplicates, refuses an empty list,
// expands "auth" into the session's authenticated ids (digest only: ip is
// not an "authenticated" provider), and refuses schemes other than world
// (only world:anyone), auth, digest (id "user:hash") and ip. On failure
// returns kInvalidACL.
zk::ErrorCode FixupAcl(const AclList& in, const AuthContext& auth, AclList* out);

// DigestAuthenticationProvider.generateDigest: "user:password" ->
// "user:" + base64(sha1("user:password")).
std::string GenerateDigest(std::string_view user_password);
// Turns `addauth digest user:password` into the ids ZooKeeper adds: the
// digest id, preceded by ("super", "") when it equals `super_digest`
// (zookeeper.DigestAuthenticationProvider.superDigest; empty = none).
std::vector<zk::Id> DigestAuthIds(std::string_view user_password, std::string_view super_digest);

bool IsValidDigestId(std::string_view id);  // exactly two ':'-separated parts, the 2nd non-empty
bool IsValidIpAcl(std::string_view id);     // "a.b.c.d" or "a.b.c.d/bits", bits 0..32
bool IpMatches(std::string_view client_ip, std::string_view acl_expr);

// Reference-counted ACL lists. Ids start at 1 and are handed out in order,
// so two caches fed the same calls assign the same ids (needed for
// deterministic replay). A list's entry disappears when its count drops to
// zero. Id 0 is reserved and never handed out.
class AclCache {
 public:
  AclCache() = default;

  // The id of `acl` (a new one if unseen), with its count incremented.
  uint32_t Acquire(const AclList& acl);
  void AddRef(uint32_t id);
  void Release(uint32_t id);

  // The list of a live id (an empty list for unknown ids).
  const AclList& Get(uint32_t id) const;
  // A reference that stays valid after the id is released (watch events).
  AclRef GetRef(uint32_t id) const;

  bool Has(uint32_t id) const { return by_id_.count(id) != 0; }
  size_t size() const { return by_id_.size(); }
  uint32_t next_id() const { return next_id_; }
  int64_t RefCount(uint32_t id) const;

  // Snapshot support: the lists and next_id, without counts (rebuilt from
  // the nodes while loading with AddRef).
  void Encode(std::string* out) const;
  Status Decode(std::string_view in);
  // Drops entries no node references (after a load).
  void PurgeUnused();

 private:
  struct Entry {
    AclRef acl;
    int64_t refs = 0;
  };
  static std::string Key(const AclList& acl);

  std::map<uint32_t, Entry> by_id_;
  std::unordered_map<std::string, uint32_t> by_key_;
  uint32_t next_id_ = 1;
};

}  // namespace dougong::keeper
