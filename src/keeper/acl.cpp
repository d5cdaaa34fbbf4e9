#include "keeper/acl.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

#include "zk/jute.h"

namespace dougong::keeper {
namespace {

// Java's Integer.parseInt: optional sign, at least one digit, int range.
std::optional<int64_t> ParseJavaInt(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool neg = false;
  size_t i = 0;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    i = 1;
    if (s.size() == 1) return std::nullopt;
  }
  int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
    if (v > 2147483648LL) return std::nullopt;
  }
  if (neg) v = -v;
  if (v > 2147483647LL || v < -2147483648LL) return std::nullopt;
  return v;
}

// IPAuthenticationProvider.v4addr2Bytes (3.8 has no IPv6 support).
std::optional<std::array<uint8_t, 4>> V4AddrToBytes(std::string_view addr) {
  std::array<uint8_t, 4> b{};
  size_t part = 0;
  size_t start = 0;
  for (size_t i = 0; i <= addr.size(); ++i) {
    if (i == addr.size() || addr[i] == '.') {
      if (part >= 4) return std::nullopt;
      auto v = ParseJavaInt(addr.substr(start, i - start));
      if (!v || *v < 0 || *v > 255) return std::nullopt;
      b[part++] = static_cast<uint8_t>(*v);
      start = i + 1;
    }
  }
  if (part != 4) return std::nullopt;
  return b;
}

void Mask(std::array<uint8_t, 4>& b, int bits) {
  size_t start = static_cast<size_t>(bits / 8);
  int start_mask = ~((1 << (8 - (bits % 8))) - 1);
  while (start < b.size()) {
    b[start] &= static_cast<uint8_t>(start_mask);
    start_mask = 0;
    ++start;
  }
}

// Splits an ip ACL expression "addr[/bits]" and checks it; nullopt if bad.
std::optional<std::pair<std::array<uint8_t, 4>, int>> ParseIpAcl(std::string_view expr) {
  size_t slash = expr.find('/');
  auto addr = V4AddrToBytes(expr.substr(0, slash));
  if (!addr) return std::nullopt;
  int bits = 32;
  if (slash != std::string_view::npos) {
    auto v = ParseJavaInt(expr.substr(slash + 1));
    if (!v || *v < 0 || *v > 32) return std::nullopt;
    bits = static_cast<int>(*v);
  }
  return std::make_pair(*addr, bits);
}

std::string Base64(const unsigned char* b, size_t n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = static_cast<uint32_t>(b[i]) << 16;
    size_t rem = n - i;
    if (rem > 1) v |= static_cast<uint32_t>(b[i + 1]) << 8;
    if (rem > 2) v |= b[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rem > 1 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back(rem > 2 ? kAlphabet[v & 63] : '=');
  }
  return out;
}

bool IsWorldAnyone(const zk::Id& id) { return id.scheme == "world" && id.id == "anyone"; }

}  // namespace

bool AuthContext::IsSuper() const {
  return std::any_of(ids.begin(), ids.end(), [](const zk::Id& id) { return id.scheme == "super"; });
}

const AuthContext& AuthContext::Anonymous() {
  static const AuthContext kAnon;
  return kAnon;
}

bool IsValidDigestId(std::string_view id) {
  // Java: id.split(":").length == 2 (split drops trailing empty strings).
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= id.size(); ++i) {
    if (i == id.size() || id[i] == ':') {
      parts.push_back(id.substr(start, i - start));
      start = i + 1;
    }
  }
  while (!parts.empty() && parts.back().empty()) parts.pop_back();
  return parts.size() == 2;
}

bool IsValidIpAcl(std::string_view id) { return ParseIpAcl(id).has_value(); }

bool IpMatches(std::string_view client_ip, std::string_view acl_expr) {
  auto acl = ParseIpAcl(acl_expr);
  if (!acl) return false;
  auto remote = V4AddrToBytes(client_ip);
  if (!remote) return false;
  auto [addr, bits] = *acl;
  Mask(addr, bits);
  Mask(*remote, bits);
  return addr == *remote;
}

bool CheckAcl(const AclList& acl, int32_t perm, const AuthContext& auth) {
  if (acl.empty()) return true;
  if (auth.IsSuper()) return true;
  for (const zk::ACL& a : acl) {
    if ((a.perms & perm) == 0) continue;
    const zk::Id& id = a.id;
    if (IsWorldAnyone(id)) return true;
    if (id.scheme == "digest") {
      for (const zk::Id& mine : auth.ids) {
        if (mine.scheme == "digest" && mine.id == id.id) return true;
      }
    } else if (id.scheme == "ip") {
      if (!auth.client_ip.empty() && IpMatches(auth.client_ip, id.id)) return true;
      for (const zk::Id& mine : auth.ids) {
        if (mine.scheme == "ip" && IpMatches(mine.id, id.id)) return true;
      }
    }
  }
  return false;
}

zk::ErrorCode FixupAcl(const AclList& in, const AuthContext& auth, AclList* out) {
  out->clear();
  AclList uniq;
  for (const zk::ACL& a : in) {
    if (std::find(uniq.begin(), uniq.end(), a) == uniq.end()) uniq.push_back(a);
  }
  if (uniq.empty()) return zk::ErrorCode::kInvalidACL;
  for (const zk::ACL& a : uniq) {
    if (IsWorldAnyone(a.id)) {
      out->push_back(a);
    } else if (a.id.scheme == "auth") {
      bool valid = false;
      for (const zk::Id& mine : auth.ids) {
        // Only providers whose isAuthenticated() is true expand "auth":
        // digest (and sasl/x509, which the keeper does not offer).
        if (mine.scheme == "digest") {
          valid = true;
          out->push_back(zk::ACL{a.perms, mine});
        }
      }
      if (!valid) return zk::ErrorCode::kInvalidACL;
    } else if (a.id.scheme == "digest") {
      if (!IsValidDigestId(a.id.id)) return zk::ErrorCode::kInvalidACL;
      out->push_back(a);
    } else if (a.id.scheme == "ip") {
      if (!IsValidIpAcl(a.id.id)) return zk::ErrorCode::kInvalidACL;
      out->push_back(a);
    } else {
      return zk::ErrorCode::kInvalidACL;
    }
  }
  return zk::ErrorCode::kOk;
}

std::string GenerateDigest(std::string_view user_password) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(user_password.data(), user_password.size(), md, &len, EVP_sha1(), nullptr);
  size_t colon = user_password.find(':');
  std::string out(user_password.substr(0, colon));
  out.push_back(':');
  out += Base64(md, len);
  return out;
}

std::vector<zk::Id> DigestAuthIds(std::string_view user_password, std::string_view super_digest) {
  std::vector<zk::Id> ids;
  std::string digest = GenerateDigest(user_password);
  if (!super_digest.empty() && digest == super_digest) ids.push_back(zk::Id{"super", ""});
  ids.push_back(zk::Id{"digest", std::move(digest)});
  return ids;
}

// ---- AclCache ----

std::string AclCache::Key(const AclList& acl) {
  std::string key;
  zk::jute::Writer w(&key);
  for (const zk::ACL& a : acl) {
    w.WriteInt(a.perms);
    w.WriteBytes(a.id.scheme);
    w.WriteBytes(a.id.id);
  }
  return key;
}

uint32_t AclCache::Acquire(const AclList& acl) {
  std::string key = Key(acl);
  auto it = by_key_.find(key);
  uint32_t id;
  if (it == by_key_.end()) {
    id = next_id_++;
    if (next_id_ >= (1u << 31)) next_id_ = 1;  // ids are 31 bits in a node; wraps after 2^31 lists
    by_key_.emplace(std::move(key), id);
    by_id_[id] = Entry{std::make_shared<const AclList>(acl), 0};
  } else {
    id = it->second;
  }
  ++by_id_[id].refs;
  return id;
}

void AclCache::AddRef(uint32_t id) {
  auto it = by_id_.find(id);
  if (it != by_id_.end()) ++it->second.refs;
}

void AclCache::Release(uint32_t id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  if (--it->second.refs <= 0) {
    by_key_.erase(Key(*it->second.acl));
    by_id_.erase(it);
  }
}

const AclList& AclCache::Get(uint32_t id) const {
  static const AclList kEmpty;
  auto it = by_id_.find(id);
  return it == by_id_.end() ? kEmpty : *it->second.acl;
}

AclRef AclCache::GetRef(uint32_t id) const {
  static const AclRef kEmpty = std::make_shared<const AclList>();
  auto it = by_id_.find(id);
  return it == by_id_.end() ? kEmpty : it->second.acl;
}

int64_t AclCache::RefCount(uint32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? 0 : it->second.refs;
}

void AclCache::Encode(std::string* out) const {
  zk::jute::Writer w(out);
  w.WriteInt(static_cast<int32_t>(next_id_));
  w.WriteInt(static_cast<int32_t>(by_id_.size()));
  for (const auto& [id, e] : by_id_) {
    w.WriteInt(static_cast<int32_t>(id));
    zk::jute::Codec<AclList>::Encode(*e.acl, w);
  }
}

Status AclCache::Decode(std::string_view in) {
  by_id_.clear();
  by_key_.clear();
  zk::jute::Reader r(in, 1 << 30);
  int32_t next = 0, count = 0;
  if (Status s = r.ReadInt(&next); !s.ok()) return s;
  if (Status s = r.ReadInt(&count); !s.ok()) return s;
  if (next <= 0 || count < 0) return Status(Code::kDataLoss, "bad ACL cache header");
  next_id_ = static_cast<uint32_t>(next);
  for (int32_t i = 0; i < count; ++i) {
    int32_t id = 0;
    AclList acl;
    if (Status s = r.ReadInt(&id); !s.ok()) return s;
    if (Status s = zk::jute::Codec<AclList>::Decode(r, &acl); !s.ok()) return s;
    if (id <= 0) return Status(Code::kDataLoss, "bad ACL id in snapshot");
    by_key_[Key(acl)] = static_cast<uint32_t>(id);
    by_id_[static_cast<uint32_t>(id)] = Entry{std::make_shared<const AclList>(std::move(acl)), 0};
  }
  if (!r.at_end()) return Status(Code::kDataLoss, "trailing bytes after ACL cache");
  return Status::Ok();
}

void AclCache::PurgeUnused() {
  for (auto it = by_id_.begin(); it != by_id_.end();) {
    if (it->second.refs <= 0) {
      by_key_.erase(Key(*it->second.acl));
      it = by_id_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace dougong::keeper
