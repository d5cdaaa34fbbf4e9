#include "keeper/data_tree.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

#include "base/hash.h"
#include "keeper/path.h"
#include "zk/jute.h"
#include "zk/record.h"

namespace dougong::keeper {

using zk::ErrorCode;
using zk::EventType;
using zk::OpCode;

// Everything a node has but its children: what an op may change in place.
// The data is saved only by setData (data_saved), which moves it here.
struct NodeFields {
  int64_t czxid, mzxid, pzxid, ctime, mtime, ephemeral_owner;
  int32_t version, cversion, aversion;
  uint32_t acl_id;
  bool data_null;
  bool data_saved = false;
  NodeData data;
};

struct DataTree::Undo {
  enum Kind { kCreated, kDeleted, kFields } kind;
  std::string path;          // kCreated, kFields
  ZNodePtr node;             // kDeleted
  NodeFields fields{};       // kFields
};

// The changes of one write (one op, or all ops of a multi) until they are
// committed (watches fired, released ACLs dropped) or rolled back.
struct DataTree::Staging {
  std::vector<Undo> undo;
  std::vector<PendingTrigger> triggers;
  std::vector<uint32_t> acquired;    // ACL refs taken: released on rollback
  std::vector<uint32_t> to_release;  // ACL refs dropped: released on commit
};

namespace {

int32_t Inc(int32_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v) + 1u); }

// PrepRequestProcessor.checkAndIncVersion, without the increment.
bool VersionMatches(int32_t current, int32_t expected) { return expected == -1 || expected == current; }

bool IsSpecialPath(std::string_view p) {
  return p == "/" || p == "/zookeeper" || p == "/zookeeper/quota" || p == "/zookeeper/config";
}

// getParentPathAndValidate / validatePathForCreate: a '/' somewhere and no NUL.
bool HasSlashNoNul(std::string_view path) {
  return path.find('/') != std::string_view::npos && path.find('\0') == std::string_view::npos;
}

// The substring before the last '/', with "" (ZooKeeper's alias of the root)
// as "/".
std::string_view ParentOf(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

zk::jute::Buffer DataBuffer(const NodeData& data, bool is_null) {
  if (is_null) return zk::jute::Buffer::Null();
  return zk::jute::Buffer(std::string(data.view()));
}

// A stable digest over byte strings and integers (base/hash.h).
struct Hasher {
  uint64_t h = 0;
  void Bytes(std::string_view s) { h = HashBytes(s, h); }
  void Int(int64_t v) { h = HashCombine(h, static_cast<uint64_t>(v)); }
  uint64_t Final() const { return MixHash(h); }
};

zk::MultiResult ErrorResult(ErrorCode err) {
  zk::MultiResult r;
  r.type = static_cast<int32_t>(OpCode::kError);
  r.err = static_cast<int32_t>(err);
  r.body = zk::ErrorResponse{static_cast<int32_t>(err)};
  return r;
}

}  // namespace

NodeKind KindOf(int64_t owner, bool extended) {
  if (extended && (static_cast<uint64_t>(owner) & 0xff00000000000000ULL) == 0xff00000000000000ULL) {
    // Reserved bits 40..55 select the extended type; only 0 (TTL) exists.
    if (((static_cast<uint64_t>(owner) & 0x00ffff0000000000ULL) >> 40) == 0) return NodeKind::kTtl;
    return NodeKind::kEphemeral;  // Java throws; treated as an owner
  }
  if (owner == kContainerEphemeralOwner) return NodeKind::kContainer;
  return owner == 0 ? NodeKind::kPersistent : NodeKind::kEphemeral;
}

int64_t TtlEphemeralOwner(int64_t ttl) { return static_cast<int64_t>(0xff00000000000000ULL | static_cast<uint64_t>(ttl)); }
int64_t TtlOf(int64_t owner) { return static_cast<int64_t>(static_cast<uint64_t>(owner) & 0x000000ffffffffffULL); }

// ---- construction ----

DataTree::DataTree(Options options) : options_(options) {
  // As ZooKeeper's DataTree constructor: "/", "/zookeeper",
  // "/zookeeper/quota" with an all-zero stat and OPEN_ACL_UNSAFE, then
  // addConfigNode: "/zookeeper/config" with READ_ACL_UNSAFE set through
  // setACL(path, acl, -1), which leaves aversion at -1. Children are added
  // directly, so every cversion stays 0.
  uint32_t open = acls_.Acquire(zk::ids::OpenAclUnsafe());
  auto add = [&](std::string_view path, uint32_t acl) {
    ZNodePtr n = ZNode::New(path);
    n->acl_id = acl;
    Node* node = nodes_.Insert(std::move(n));
    if (path != "/") Find(ParentOf(path))->AddChild(node);
    return node;
  };
  add("/", open);
  acls_.AddRef(open);
  add("/zookeeper", open);
  acls_.AddRef(open);
  add("/zookeeper/quota", open);
  Node* config = add("/zookeeper/config", acls_.Acquire(zk::ids::ReadAclUnsafe()));
  config->aversion = -1;
}

DataTree::~DataTree() = default;

DataTree::Node* DataTree::Find(std::string_view path) { return nodes_.Find(path); }
const DataTree::Node* DataTree::Find(std::string_view path) const { return nodes_.Find(path); }

void DataTree::FillStat(const Node& n, zk::Stat* s) const {
  s->czxid = n.czxid;
  s->mzxid = n.mzxid;
  s->ctime = n.ctime;
  s->mtime = n.mtime;
  s->version = n.version;
  // DataNode.copyStat: the stored cversion counts child creates; clients
  // see creates + deletes, i.e. 2 * stored - children (in Java's int
  // arithmetic). Sequential suffixes keep using the stored count.
  s->cversion = static_cast<int32_t>(static_cast<uint32_t>(n.cversion) * 2u -
                                     n.num_children);
  s->aversion = n.aversion;
  // DataTree.getClientEphemeralOwner: containers and TTL nodes show 0.
  s->ephemeral_owner =
      KindOf(n.ephemeral_owner, options_.extended_types_enabled) == NodeKind::kEphemeral ? n.ephemeral_owner : 0;
  s->data_length = static_cast<int32_t>(n.data.size());
  s->num_children = static_cast<int32_t>(n.num_children);
  s->pzxid = n.pzxid;
}
zk::Stat DataTree::StatOf(const Node& n) const {
  zk::Stat s;
  FillStat(n, &s);
  return s;
}

void DataTree::IndexNode(const Node& n) {
  std::string_view key = n.path();
  switch (KindOf(n.ephemeral_owner, options_.extended_types_enabled)) {
    case NodeKind::kContainer: containers_.insert(key); break;
    case NodeKind::kTtl: ttls_.insert(key); break;
    case NodeKind::kEphemeral: ephemerals_[n.ephemeral_owner].insert(key); break;
    case NodeKind::kPersistent: break;
  }
}
void DataTree::UnindexNode(const Node& n) {
  std::string_view key = n.path();
  switch (KindOf(n.ephemeral_owner, options_.extended_types_enabled)) {
    case NodeKind::kContainer: containers_.erase(key); break;
    case NodeKind::kTtl: ttls_.erase(key); break;
    case NodeKind::kEphemeral: {
      auto it = ephemerals_.find(n.ephemeral_owner);
      if (it != ephemerals_.end()) {
        it->second.erase(key);
        if (it->second.empty()) ephemerals_.erase(it);
      }
      break;
    }
    case NodeKind::kPersistent: break;
  }
}

// ---- staging ----

static NodeFields SaveFields(const DataTree::Node& n);

void DataTree::Rollback(Staging& st) {
  for (auto u = st.undo.rbegin(); u != st.undo.rend(); ++u) {
    switch (u->kind) {
      case Undo::kCreated: {
        Node* n = Find(u->path);
        if (n == nullptr) break;
        UnindexNode(*n);
        if (Node* parent = Find(ParentOf(n->path()))) parent->RemoveChild(n);
        nodes_.Extract(n);  // destroyed here
        break;
      }
      case Undo::kDeleted: {
        Node* n = nodes_.Insert(std::move(u->node));
        if (n == nullptr) break;
        IndexNode(*n);
        if (Node* parent = Find(ParentOf(n->path()))) parent->AddChild(n);
        break;
      }
      case Undo::kFields: {
        Node* n = Find(u->path);
        if (n == nullptr) break;
        NodeFields& f = u->fields;
        if (f.data_saved) n->data = std::move(f.data);
        n->czxid = f.czxid, n->mzxid = f.mzxid, n->pzxid = f.pzxid;
        n->ctime = f.ctime, n->mtime = f.mtime, n->ephemeral_owner = f.ephemeral_owner;
        n->version = f.version, n->cversion = f.cversion, n->aversion = f.aversion;
        n->acl_id = f.acl_id;
        n->data_null = f.data_null;
        break;
      }
    }
  }
  for (uint32_t id : st.acquired) acls_.Release(id);
  st = Staging{};
}

std::vector<WatchEvent> DataTree::Commit(Staging& st) {
  std::vector<WatchEvent> events;
  std::vector<int64_t> fired;  // the data watches fired for the last NodeDeleted
  for (PendingTrigger& t : st.triggers) {
    WatchManager& wm = t.child_manager ? child_watches_ : data_watches_;
    std::vector<int64_t> sessions = wm.Trigger(t.path, t.type, t.suppress_data_fired ? &fired : nullptr);
    if (!t.child_manager) fired = sessions;
    for (int64_t s : sessions) events.push_back(WatchEvent{s, t.type, t.path, t.acl});
  }
  for (uint32_t id : st.to_release) acls_.Release(id);
  st = Staging{};
  return events;
}

static NodeFields SaveFields(const DataTree::Node& n) {
  return NodeFields{n.czxid,   n.mzxid,    n.pzxid,    n.ctime,  n.mtime, n.ephemeral_owner,
                    n.version, n.cversion, n.aversion, n.acl_id, n.data_null != 0, false, NodeData()};
}

// ---- write ops ----

ErrorCode DataTree::DoCreate(int32_t opcode, std::string_view path_in, const zk::jute::Buffer& data,
                             const AclList& acl_in, int32_t flags, int64_t ttl, const TxnContext& ctx,
                             Staging& st, zk::ResponseBody* rsp) {
  const AuthContext& auth = ctx.auth ? *ctx.auth : AuthContext::Anonymous();
  // CreateMode.fromFlag.
  if (!zk::IsValidCreateMode(flags)) return ErrorCode::kBadArguments;
  auto mode = static_cast<zk::CreateMode>(flags);
  // validateCreateRequest: TTL needs extended types; validateTTL.
  if (zk::IsTtl(mode) && !options_.extended_types_enabled) return ErrorCode::kUnimplemented;
  if (zk::IsTtl(mode)) {
    if (ttl <= 0 || ttl > kMaxTtl) return ErrorCode::kBadArguments;
  } else if (ttl >= 0) {
    return ErrorCode::kBadArguments;
  }
  // validatePathForCreate.
  if (!HasSlashNoNul(path_in)) return ErrorCode::kBadArguments;
  std::string_view parent_path = ParentOf(path_in);
  AclList acl;
  if (ErrorCode e = FixupAcl(acl_in, auth, &acl); e != ErrorCode::kOk) return e;
  Node* parent_node = Find(parent_path);
  if (parent_node == nullptr) return ErrorCode::kNoNode;
  Node& parent = *parent_node;
  if (!CheckAcl(acls_.Get(parent.acl_id), zk::perms::kCreate, auth)) return ErrorCode::kNoAuth;
  std::string path(path_in);
  if (zk::IsSequential(mode)) {
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "%010d", parent.cversion);
    path += suffix;
  }
  if (!IsValidPath(path)) return ErrorCode::kBadArguments;
  if (Find(path) != nullptr) return ErrorCode::kNodeExists;
  if (KindOf(parent.ephemeral_owner, options_.extended_types_enabled) == NodeKind::kEphemeral) {
    return ErrorCode::kNoChildrenForEphemerals;
  }

  int64_t owner = 0;
  if (mode == zk::CreateMode::kContainer) {
    owner = kContainerEphemeralOwner;
  } else if (zk::IsTtl(mode)) {
    owner = TtlEphemeralOwner(ttl);
  } else if (zk::IsEphemeral(mode)) {
    owner = ctx.session_id;
  }

  st.undo.push_back(Undo{Undo::kFields, std::string(parent.path()), {}, SaveFields(parent)});
  parent.cversion = Inc(parent.cversion);
  parent.pzxid = ctx.zxid;

  ZNodePtr fresh = ZNode::New(path);
  fresh->data.Assign(data.bytes);
  fresh->data_null = data.is_null;
  fresh->czxid = fresh->mzxid = fresh->pzxid = ctx.zxid;
  fresh->ctime = fresh->mtime = ctx.time;
  fresh->ephemeral_owner = owner;
  uint32_t acl_id = acls_.Acquire(acl);
  st.acquired.push_back(acl_id);
  fresh->acl_id = acl_id;
  Node* n = nodes_.Insert(std::move(fresh));  // absent: checked above
  parent.AddChild(n);
  IndexNode(*n);
  st.undo.push_back(Undo{Undo::kCreated, path, {}, {}});

  st.triggers.push_back(PendingTrigger{false, path, EventType::kNodeCreated, acls_.GetRef(acl_id), false});
  st.triggers.push_back(PendingTrigger{true, std::string(parent.path()), EventType::kNodeChildrenChanged,
                                       acls_.GetRef(parent.acl_id), false});
  if (rsp != nullptr) {
    if (opcode == static_cast<int32_t>(OpCode::kCreate)) {
      *rsp = zk::CreateResponse{std::move(path)};
    } else {
      *rsp = zk::Create2Response{std::move(path), StatOf(*n)};
    }
  }
  return ErrorCode::kOk;
}

void DataTree::RemoveNode(Node* n, int64_t zxid, Staging& st) {
  Node& parent = *Find(ParentOf(n->path()));
  st.undo.push_back(Undo{Undo::kFields, std::string(parent.path()), {}, SaveFields(parent)});
  // DataTree.deleteNode: pzxid only (never backwards); cversion unchanged.
  if (zxid > parent.pzxid) parent.pzxid = zxid;
  parent.RemoveChild(n);

  AclRef node_acl = acls_.GetRef(n->acl_id);
  std::string path(n->path());
  UnindexNode(*n);
  st.to_release.push_back(n->acl_id);
  st.undo.push_back(Undo{Undo::kDeleted, {}, nodes_.Extract(n), {}});

  st.triggers.push_back(PendingTrigger{false, path, EventType::kNodeDeleted, node_acl, false});
  st.triggers.push_back(PendingTrigger{true, path, EventType::kNodeDeleted, node_acl, true});
  st.triggers.push_back(PendingTrigger{true, std::string(parent.path()), EventType::kNodeChildrenChanged,
                                       acls_.GetRef(parent.acl_id), false});
}

ErrorCode DataTree::DoDelete(std::string_view path, int32_t version, const TxnContext& ctx, Staging& st) {
  const AuthContext& auth = ctx.auth ? *ctx.auth : AuthContext::Anonymous();
  // getParentPathAndValidate (no validatePath for delete in ZooKeeper).
  if (!HasSlashNoNul(path) || IsSpecialPath(path)) return ErrorCode::kBadArguments;
  const Node* parent = Find(ParentOf(path));
  if (parent == nullptr) return ErrorCode::kNoNode;
  if (!CheckAcl(acls_.Get(parent->acl_id), zk::perms::kDelete, auth)) return ErrorCode::kNoAuth;
  Node* n = Find(path);
  if (n == nullptr) return ErrorCode::kNoNode;
  if (!VersionMatches(n->version, version)) return ErrorCode::kBadVersion;
  if (n->num_children > 0) return ErrorCode::kNotEmpty;
  RemoveNode(n, ctx.zxid, st);
  return ErrorCode::kOk;
}

ErrorCode DataTree::DoDeleteContainer(std::string_view path, const TxnContext& ctx, Staging& st) {
  if (!HasSlashNoNul(path) || IsSpecialPath(path)) return ErrorCode::kBadArguments;
  Node* n = Find(path);
  if (n == nullptr) return ErrorCode::kNoNode;
  if (n->num_children > 0) return ErrorCode::kNotEmpty;
  // ZooKeeper refuses only NORMAL ephemerals (BADVERSION); a persistent
  // node that replaced the container is refused too here, so a late
  // cleanup never deletes user data.
  NodeKind kind = KindOf(n->ephemeral_owner, options_.extended_types_enabled);
  if (kind != NodeKind::kContainer && kind != NodeKind::kTtl) return ErrorCode::kBadVersion;
  if (Find(ParentOf(path)) == nullptr) return ErrorCode::kNoNode;
  RemoveNode(n, ctx.zxid, st);
  return ErrorCode::kOk;
}

ErrorCode DataTree::DoSetData(const zk::SetDataRequest& req, const TxnContext& ctx, Staging& st,
                              zk::ResponseBody* rsp) {
  const AuthContext& auth = ctx.auth ? *ctx.auth : AuthContext::Anonymous();
  if (!IsValidPath(req.path)) return ErrorCode::kBadArguments;
  Node* found = Find(req.path);
  if (found == nullptr) return ErrorCode::kNoNode;
  Node& n = *found;
  if (!CheckAcl(acls_.Get(n.acl_id), zk::perms::kWrite, auth)) return ErrorCode::kNoAuth;
  if (!VersionMatches(n.version, req.version)) return ErrorCode::kBadVersion;
  // The old data moves into the undo record instead of being copied.
  NodeFields old = SaveFields(n);
  old.data_saved = true;
  old.data = std::move(n.data);
  st.undo.push_back(Undo{Undo::kFields, req.path, {}, std::move(old)});
  n.data.Assign(req.data.bytes);
  n.data_null = req.data.is_null;
  n.version = Inc(n.version);
  n.mzxid = ctx.zxid;
  n.mtime = ctx.time;
  st.triggers.push_back(PendingTrigger{false, req.path, EventType::kNodeDataChanged, acls_.GetRef(n.acl_id), false});
  if (rsp != nullptr) *rsp = zk::SetDataResponse{StatOf(n)};
  return ErrorCode::kOk;
}

ErrorCode DataTree::DoSetAcl(const zk::SetACLRequest& req, const TxnContext& ctx, Staging& st,
                             zk::ResponseBody* rsp) {
  const AuthContext& auth = ctx.auth ? *ctx.auth : AuthContext::Anonymous();
  if (!IsValidPath(req.path)) return ErrorCode::kBadArguments;
  AclList acl;
  if (ErrorCode e = FixupAcl(req.acl, auth, &acl); e != ErrorCode::kOk) return e;
  Node* found = Find(req.path);
  if (found == nullptr) return ErrorCode::kNoNode;
  Node& n = *found;
  if (!CheckAcl(acls_.Get(n.acl_id), zk::perms::kAdmin, auth)) return ErrorCode::kNoAuth;
  if (!VersionMatches(n.aversion, req.version)) return ErrorCode::kBadVersion;
  st.undo.push_back(Undo{Undo::kFields, req.path, {}, SaveFields(n)});
  st.to_release.push_back(n.acl_id);
  uint32_t id = acls_.Acquire(acl);
  st.acquired.push_back(id);
  n.acl_id = id;
  n.aversion = Inc(n.aversion);
  if (rsp != nullptr) *rsp = zk::SetACLResponse{StatOf(n)};
  return ErrorCode::kOk;
}

ErrorCode DataTree::DoCheck(const zk::CheckVersionRequest& req, const TxnContext& ctx, zk::ResponseBody* rsp) {
  const AuthContext& auth = ctx.auth ? *ctx.auth : AuthContext::Anonymous();
  if (!IsValidPath(req.path)) return ErrorCode::kBadArguments;
  const Node* n = Find(req.path);
  if (n == nullptr) return ErrorCode::kNoNode;
  if (!CheckAcl(acls_.Get(n->acl_id), zk::perms::kRead, auth)) return ErrorCode::kNoAuth;
  if (!VersionMatches(n->version, req.version)) return ErrorCode::kBadVersion;
  if (rsp != nullptr) *rsp = zk::SetDataResponse{StatOf(*n)};
  return ErrorCode::kOk;
}

// ---- public writes ----

namespace {
template <class F>
OpResult RunSingle(F&& f) {
  OpResult r;
  r.err = f(&r.response);
  if (r.err != ErrorCode::kOk) r.response = std::monostate{};
  return r;
}
}  // namespace

// One write outside a multi: staged, then committed (events out) or rolled
// back (no response) as a whole.
template <class F>
OpResult DataTree::ApplyStaged(const TxnContext& ctx, F&& op) {
  last_zxid_ = std::max(last_zxid_, ctx.zxid);
  Staging st;
  OpResult r;
  r.err = op(st, &r.response);
  if (r.err == ErrorCode::kOk) {
    r.events = Commit(st);
  } else {
    Rollback(st);
    r.response = std::monostate{};
  }
  return r;
}

OpResult DataTree::Create(int32_t opcode, const zk::CreateRequest& req, const TxnContext& ctx) {
  return ApplyStaged(ctx, [&](Staging& st, zk::ResponseBody* rsp) {
    return DoCreate(opcode, req.path, req.data, req.acl, req.flags, -1, ctx, st, rsp);
  });
}

OpResult DataTree::Create(int32_t opcode, const zk::CreateTTLRequest& req, const TxnContext& ctx) {
  return ApplyStaged(ctx, [&](Staging& st, zk::ResponseBody* rsp) {
    return DoCreate(opcode, req.path, req.data, req.acl, req.flags, req.ttl, ctx, st, rsp);
  });
}

OpResult DataTree::Delete(const zk::DeleteRequest& req, const TxnContext& ctx) {
  return ApplyStaged(ctx, [&](Staging& st, zk::ResponseBody*) { return DoDelete(req.path, req.version, ctx, st); });
}

OpResult DataTree::DeleteContainer(std::string_view path, const TxnContext& ctx) {
  return ApplyStaged(ctx, [&](Staging& st, zk::ResponseBody*) { return DoDeleteContainer(path, ctx, st); });
}

OpResult DataTree::SetData(const zk::SetDataRequest& req, const TxnContext& ctx) {
  return ApplyStaged(ctx, [&](Staging& st, zk::ResponseBody* rsp) { return DoSetData(req, ctx, st, rsp); });
}

OpResult DataTree::SetAcl(const zk::SetACLRequest& req, const TxnContext& ctx) {
  return ApplyStaged(ctx, [&](Staging& st, zk::ResponseBody* rsp) { return DoSetAcl(req, ctx, st, rsp); });
}

OpResult DataTree::Check(const zk::CheckVersionRequest& req, const TxnContext& ctx) {
  last_zxid_ = std::max(last_zxid_, ctx.zxid);
  return RunSingle([&](zk::ResponseBody* rsp) { return DoCheck(req, ctx, rsp); });
}

OpResult DataTree::Multi(const zk::MultiRequest& req, const TxnContext& ctx) {
  last_zxid_ = std::max(last_zxid_, ctx.zxid);
  Staging st;
  zk::MultiResponse out;
  size_t failed_at = req.ops.size();
  ErrorCode failure = ErrorCode::kOk;
  for (size_t i = 0; i < req.ops.size(); ++i) {
    const zk::MultiOp& op = req.ops[i];
    zk::ResponseBody rsp;
    ErrorCode e = ErrorCode::kUnimplemented;
    zk::MultiResult res;
    res.type = op.type;
    switch (static_cast<OpCode>(op.type)) {
      case OpCode::kCreate:
      case OpCode::kCreate2:
      case OpCode::kCreateContainer:
      case OpCode::kCreateTTL:
        if (auto* c = std::get_if<zk::CreateRequest>(&op.body)) {
          e = DoCreate(op.type, c->path, c->data, c->acl, c->flags, -1, ctx, st, &rsp);
        } else if (auto* t = std::get_if<zk::CreateTTLRequest>(&op.body)) {
          e = DoCreate(op.type, t->path, t->data, t->acl, t->flags, t->ttl, ctx, st, &rsp);
        }
        if (e == ErrorCode::kOk) {
          if (auto* cr = std::get_if<zk::CreateResponse>(&rsp)) res.body = *cr;
          if (auto* cr = std::get_if<zk::Create2Response>(&rsp)) res.body = *cr;
        }
        break;
      case OpCode::kDelete:
        if (auto* d = std::get_if<zk::DeleteRequest>(&op.body)) e = DoDelete(d->path, d->version, ctx, st);
        break;
      case OpCode::kSetData:
        if (auto* s = std::get_if<zk::SetDataRequest>(&op.body)) {
          e = DoSetData(*s, ctx, st, &rsp);
          if (e == ErrorCode::kOk) res.body = std::get<zk::SetDataResponse>(rsp);
        }
        break;
      case OpCode::kCheck:
        if (auto* c = std::get_if<zk::CheckVersionRequest>(&op.body)) e = DoCheck(*c, ctx, nullptr);
        break;
      default:
        break;
    }
    if (e != ErrorCode::kOk) {
      failed_at = i;
      failure = e;
      break;
    }
    out.results.push_back(std::move(res));
  }
  OpResult r;
  if (failed_at < req.ops.size()) {
    Rollback(st);
    // DataTree.processTxn(multi): ops before the failing one answer
    // ErrorResult(OK), the failing one its code, the rest
    // RUNTIMEINCONSISTENCY; all with type error (-1).
    out.results.clear();
    for (size_t i = 0; i < req.ops.size(); ++i) {
      ErrorCode e = i < failed_at ? ErrorCode::kOk : i == failed_at ? failure : ErrorCode::kRuntimeInconsistency;
      out.results.push_back(ErrorResult(e));
    }
    r.multi_error = failure;
  } else {
    r.events = Commit(st);
  }
  r.response = std::move(out);
  return r;
}

OpResult DataTree::CloseSession(const TxnContext& ctx) {
  last_zxid_ = std::max(last_zxid_, ctx.zxid);
  Staging st;
  OpResult r;
  std::vector<std::string> paths;
  if (auto it = ephemerals_.find(ctx.session_id); it != ephemerals_.end()) {
    for (std::string_view p : it->second) paths.emplace_back(p);  // sorted
  }
  for (const std::string& p : paths) {
    if (Node* n = Find(p)) RemoveNode(n, ctx.zxid, st);
  }
  r.events = Commit(st);
  // The closing session gets no notifications and keeps no watches.
  std::erase_if(r.events, [&](const WatchEvent& e) { return e.session == ctx.session_id; });
  RemoveSessionWatches(ctx.session_id);
  return r;
}

OpResult DataTree::Apply(int32_t opcode, const zk::RequestBody& body, const TxnContext& ctx) {
  auto bad = [&] {
    last_zxid_ = std::max(last_zxid_, ctx.zxid);
    OpResult r;
    r.err = ErrorCode::kBadArguments;
    return r;
  };
  switch (static_cast<OpCode>(opcode)) {
    case OpCode::kCreate:
    case OpCode::kCreate2:
    case OpCode::kCreateContainer:
      if (auto* c = std::get_if<zk::CreateRequest>(&body)) return Create(opcode, *c, ctx);
      return bad();
    case OpCode::kCreateTTL:
      if (auto* c = std::get_if<zk::CreateTTLRequest>(&body)) return Create(opcode, *c, ctx);
      return bad();
    case OpCode::kDelete:
      if (auto* d = std::get_if<zk::DeleteRequest>(&body)) return Delete(*d, ctx);
      return bad();
    case OpCode::kDeleteContainer:
      if (auto* d = std::get_if<zk::DeleteRequest>(&body)) return DeleteContainer(d->path, ctx);
      return bad();
    case OpCode::kSetData:
      if (auto* s = std::get_if<zk::SetDataRequest>(&body)) return SetData(*s, ctx);
      return bad();
    case OpCode::kSetACL:
      if (auto* s = std::get_if<zk::SetACLRequest>(&body)) return SetAcl(*s, ctx);
      return bad();
    case OpCode::kCheck:
      if (auto* c = std::get_if<zk::CheckVersionRequest>(&body)) return Check(*c, ctx);
      return bad();
    case OpCode::kMulti:
      if (auto* m = std::get_if<zk::MultiRequest>(&body)) return Multi(*m, ctx);
      return bad();
    case OpCode::kCloseSession:
      return CloseSession(ctx);
    default: {
      last_zxid_ = std::max(last_zxid_, ctx.zxid);
      OpResult r;
      r.err = ErrorCode::kUnimplemented;
      return r;
    }
  }
}

std::vector<std::string> DataTree::CleanupCandidates(int64_t now_ms) const {
  std::vector<std::string> out;
  for (std::string_view p : containers_) {
    const Node* n = Find(p);
    if (n == nullptr || n->num_children > 0) continue;
    if (n->cversion > 0 ||
        (options_.container_max_never_used_ms != 0 && now_ms - n->mtime > options_.container_max_never_used_ms)) {
      out.emplace_back(p);
    }
  }
  for (std::string_view p : ttls_) {
    const Node* n = Find(p);
    if (n == nullptr || n->num_children > 0) continue;
    if (KindOf(n->ephemeral_owner, options_.extended_types_enabled) != NodeKind::kTtl) continue;
    int64_t ttl = TtlOf(n->ephemeral_owner);
    if (ttl != 0 && now_ms - n->mtime > ttl) out.emplace_back(p);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// ---- reads ----

OpResult DataTree::Exists(const zk::ExistsRequest& req, const AuthContext& auth, int64_t session) {
  OpResult r;
  if (req.path.find('\0') != std::string::npos) {
    r.err = ErrorCode::kBadArguments;
    return r;
  }
  const Node* n = Find(req.path);
  // 3.8 checks READ on an existing node before arming the watch.
  if (n != nullptr && !CheckAcl(acls_.Get(n->acl_id), zk::perms::kRead, auth)) {
    r.err = ErrorCode::kNoAuth;
    return r;
  }
  if (req.watch) data_watches_.AddWatch(req.path, session);
  if (n == nullptr) {
    r.err = ErrorCode::kNoNode;
    return r;
  }
  r.response = zk::ExistsResponse{StatOf(*n)};
  return r;
}

// The node at `path` for a read that needs READ; nullptr with NONODE or
// NOAUTH in r.err otherwise.
const DataTree::Node* DataTree::ReadableNode(std::string_view path, const AuthContext& auth, OpResult& r) const {
  const Node* n = Find(path);
  if (n == nullptr) {
    r.err = ErrorCode::kNoNode;
  } else if (!CheckAcl(acls_.Get(n->acl_id), zk::perms::kRead, auth)) {
    r.err = ErrorCode::kNoAuth;
    n = nullptr;
  }
  return n;
}

OpResult DataTree::GetData(const zk::GetDataRequest& req, const AuthContext& auth, int64_t session) {
  OpResult r;
  if (const Node* n = ReadableNode(req.path, auth, r)) {
    if (req.watch) data_watches_.AddWatch(req.path, session);
    r.response = zk::GetDataResponse{DataBuffer(n->data, n->data_null), StatOf(*n)};
  }
  return r;
}

namespace {
// Sorted by name, as before the intrusive lists (ZooKeeper's order is its
// HashSet's, so clients cannot rely on one; sorted is what people read best).
std::vector<std::string> ChildNames(const ZNode& n) {
  std::vector<std::string_view> names;
  names.reserve(n.num_children);
  for (const ZNode* c = n.first_child; c != nullptr; c = c->next_sibling) names.push_back(c->name());
  std::sort(names.begin(), names.end());
  return std::vector<std::string>(names.begin(), names.end());
}
}  // namespace

OpResult DataTree::GetChildren(const zk::GetChildrenRequest& req, const AuthContext& auth, int64_t session) {
  OpResult r;
  if (const Node* n = ReadableNode(req.path, auth, r)) {
    if (req.watch) child_watches_.AddWatch(req.path, session);
    r.response = zk::GetChildrenResponse{ChildNames(*n)};
  }
  return r;
}

OpResult DataTree::GetChildren2(const zk::GetChildren2Request& req, const AuthContext& auth, int64_t session) {
  OpResult r;
  if (const Node* n = ReadableNode(req.path, auth, r)) {
    if (req.watch) child_watches_.AddWatch(req.path, session);
    r.response = zk::GetChildren2Response{ChildNames(*n), StatOf(*n)};
  }
  return r;
}

OpResult DataTree::GetAcl(const zk::GetACLRequest& req, const AuthContext& auth) const {
  OpResult r;
  const Node* n = Find(req.path);
  if (n == nullptr) {
    r.err = ErrorCode::kNoNode;
    return r;
  }
  const AclList& acl = acls_.Get(n->acl_id);
  if (!CheckAcl(acl, zk::perms::kRead | zk::perms::kAdmin, auth)) {
    r.err = ErrorCode::kNoAuth;
    return r;
  }
  AclList shown = acl;
  if (!CheckAcl(acl, zk::perms::kAdmin, auth)) {
    // Without ADMIN the digests are hidden: "user:hash" -> "user:x".
    for (zk::ACL& a : shown) {
      if (a.id.scheme == "digest") {
        size_t colon = a.id.id.find(':');
        if (colon != std::string::npos) a.id.id = a.id.id.substr(0, colon) + ":x";
      }
    }
  }
  r.response = zk::GetACLResponse{std::move(shown), StatOf(*n)};
  return r;
}

OpResult DataTree::GetAllChildrenNumber(const zk::GetAllChildrenNumberRequest& req, const AuthContext& auth) const {
  OpResult r;
  const Node* n = Find(req.path);
  if (n == nullptr) {
    r.err = ErrorCode::kNoNode;
    return r;
  }
  if (!CheckAcl(acls_.Get(n->acl_id), zk::perms::kRead, auth)) {
    r.err = ErrorCode::kNoAuth;
    return r;
  }
  int64_t count = 0;
  if (req.path == "/") {
    count = static_cast<int64_t>(nodes_.size()) - 1;
  } else {
    std::vector<const Node*> stack{n};
    while (!stack.empty()) {
      const Node* node = stack.back();
      stack.pop_back();
      count += node->num_children;
      for (const Node* c = node->first_child; c != nullptr; c = c->next_sibling) {
        if (c->first_child != nullptr) stack.push_back(c);
      }
    }
  }
  r.response = zk::GetAllChildrenNumberResponse{static_cast<int32_t>(count)};
  return r;
}

OpResult DataTree::GetEphemerals(const zk::GetEphemeralsRequest& req, int64_t session) const {
  OpResult r;
  zk::GetEphemeralsResponse rsp;
  std::string_view prefix = req.prefix_path;
  std::string_view trimmed = prefix;
  while (!trimmed.empty() && static_cast<unsigned char>(trimmed.front()) <= ' ') trimmed.remove_prefix(1);
  while (!trimmed.empty() && static_cast<unsigned char>(trimmed.back()) <= ' ') trimmed.remove_suffix(1);
  bool all = trimmed.empty() || trimmed == "/";
  if (auto it = ephemerals_.find(session); it != ephemerals_.end()) {
    for (std::string_view p : it->second) {
      if (all || p.starts_with(prefix)) rsp.ephemerals.emplace_back(p);
    }
  }
  r.response = std::move(rsp);
  return r;
}

OpResult DataTree::MultiRead(const zk::MultiRequest& req, const AuthContext& auth, int64_t session) {
  zk::MultiResponse out;
  for (const zk::MultiOp& op : req.ops) {
    OpResult one;
    zk::MultiResult res;
    res.type = op.type;
    if (auto* g = std::get_if<zk::GetChildrenRequest>(&op.body); g && op.type == static_cast<int32_t>(OpCode::kGetChildren)) {
      one = GetChildren(*g, auth, session);
      if (one.ok()) res.body = std::get<zk::GetChildrenResponse>(one.response);
    } else if (auto* d = std::get_if<zk::GetDataRequest>(&op.body); d && op.type == static_cast<int32_t>(OpCode::kGetData)) {
      one = GetData(*d, auth, session);
      if (one.ok()) res.body = std::get<zk::GetDataResponse>(one.response);
    } else {
      one.err = ErrorCode::kUnimplemented;
    }
    out.results.push_back(one.ok() ? std::move(res) : ErrorResult(one.err));
  }
  OpResult r;
  r.response = std::move(out);
  return r;
}

// ---- watches ----

OpResult DataTree::AddWatch(const zk::AddWatchRequest& req, int64_t session) {
  OpResult r;
  WatcherMode mode;
  if (req.mode == static_cast<int32_t>(zk::AddWatchMode::kPersistent)) {
    mode = WatcherMode::kPersistent;
  } else if (req.mode == static_cast<int32_t>(zk::AddWatchMode::kPersistentRecursive)) {
    mode = WatcherMode::kPersistentRecursive;
  } else {
    r.err = ErrorCode::kBadArguments;
    return r;
  }
  data_watches_.AddWatch(req.path, session, mode);
  child_watches_.AddWatch(req.path, session, mode);
  r.response = zk::ErrorResponse{0};
  return r;
}

ErrorCode DataTree::CheckWatches(const zk::CheckWatchesRequest& req, int64_t session) const {
  bool found = false;
  switch (static_cast<zk::WatcherType>(req.type)) {
    case zk::WatcherType::kChildren: found = child_watches_.Contains(req.path, session); break;
    case zk::WatcherType::kData: found = data_watches_.Contains(req.path, session); break;
    case zk::WatcherType::kAny:
      found = child_watches_.Contains(req.path, session) || data_watches_.Contains(req.path, session);
      break;
    default: return ErrorCode::kBadArguments;
  }
  return found ? ErrorCode::kOk : ErrorCode::kNoWatcher;
}

ErrorCode DataTree::RemoveWatches(const zk::RemoveWatchesRequest& req, int64_t session) {
  bool removed = false;
  switch (static_cast<zk::WatcherType>(req.type)) {
    case zk::WatcherType::kChildren: removed = child_watches_.Remove(req.path, session); break;
    case zk::WatcherType::kData: removed = data_watches_.Remove(req.path, session); break;
    case zk::WatcherType::kAny: {
      bool c = child_watches_.Remove(req.path, session);
      bool d = data_watches_.Remove(req.path, session);
      removed = c || d;
      break;
    }
    default: return ErrorCode::kBadArguments;
  }
  return removed ? ErrorCode::kOk : ErrorCode::kNoWatcher;
}

std::vector<WatchEvent> DataTree::SetWatches(const zk::SetWatches2& req, int64_t session) {
  std::vector<WatchEvent> out;
  AclRef none = std::make_shared<const AclList>();  // process(event) checks no ACL
  auto emit = [&](EventType t, const std::string& p) { out.push_back(WatchEvent{session, t, p, none}); };
  for (const std::string& p : req.data_watches) {
    const Node* n = Find(p);
    if (n == nullptr) emit(EventType::kNodeDeleted, p);
    else if (n->mzxid > req.relative_zxid) emit(EventType::kNodeDataChanged, p);
    else data_watches_.AddWatch(p, session);
  }
  for (const std::string& p : req.exist_watches) {
    if (Find(p) != nullptr) emit(EventType::kNodeCreated, p);
    else data_watches_.AddWatch(p, session);
  }
  for (const std::string& p : req.child_watches) {
    const Node* n = Find(p);
    if (n == nullptr) emit(EventType::kNodeDeleted, p);
    else if (n->pzxid > req.relative_zxid) emit(EventType::kNodeChildrenChanged, p);
    else child_watches_.AddWatch(p, session);
  }
  for (const std::string& p : req.persistent_watches) {
    child_watches_.AddWatch(p, session, WatcherMode::kPersistent);
    data_watches_.AddWatch(p, session, WatcherMode::kPersistent);
  }
  for (const std::string& p : req.persistent_recursive_watches) {
    child_watches_.AddWatch(p, session, WatcherMode::kPersistentRecursive);
    data_watches_.AddWatch(p, session, WatcherMode::kPersistentRecursive);
  }
  return out;
}

void DataTree::RemoveSessionWatches(int64_t session) {
  data_watches_.RemoveSession(session);
  child_watches_.RemoveSession(session);
}

// ---- inspection ----

bool DataTree::Contains(std::string_view path) const { return Find(path) != nullptr; }

bool DataTree::GetStat(std::string_view path, zk::Stat* stat) const {
  const Node* n = Find(path);
  if (n == nullptr) return false;
  FillStat(*n, stat);
  return true;
}

size_t DataTree::node_count() const { return nodes_.size(); }

size_t DataTree::ephemeral_count() const {
  size_t n = 0;
  for (const auto& [s, paths] : ephemerals_) n += paths.size();
  return n;
}

std::vector<int64_t> DataTree::SessionsWithEphemerals() const {
  std::vector<int64_t> out;
  for (const auto& [s, paths] : ephemerals_) out.push_back(s);
  return out;
}

uint64_t DataTree::AclDigest(uint32_t acl_id) const {
  Hasher h;
  for (const zk::ACL& a : acls_.Get(acl_id)) {
    h.Int(a.perms);
    h.Bytes(a.id.scheme);
    h.Bytes(a.id.id);
  }
  return h.Final();
}

// One node's share of the digest. Children counts are left out: the set of
// paths already fixes them, and leaving them out lets the snapshot loader
// sum the digest while it inserts each node, instead of walking the whole
// tree again afterwards.
uint64_t DataTree::NodeDigest(std::string_view path, const Node& n, uint64_t acl_digest) {
  Hasher h;
  h.Bytes(path);
  h.Bytes(n.data.view());
  h.Int(n.data_null);
  h.Int(n.czxid);
  h.Int(n.mzxid);
  h.Int(n.pzxid);
  h.Int(n.ctime);
  h.Int(n.mtime);
  h.Int(n.ephemeral_owner);
  h.Int(n.version);
  h.Int(n.cversion);
  h.Int(n.aversion);
  h.Int(static_cast<int64_t>(acl_digest));
  return h.Final();
}

uint64_t DataTree::Digest() const {
  std::unordered_map<uint32_t, uint64_t> acl_digests;
  uint64_t sum = 0;
  nodes_.ForEach([&](const Node& n) {
    auto ad = acl_digests.find(n.acl_id);
    if (ad == acl_digests.end()) ad = acl_digests.emplace(n.acl_id, AclDigest(n.acl_id)).first;
    sum += NodeDigest(n.path(), n, ad->second);
  });
  return sum;
}

// ---- snapshots ----
//
// A stream of records, each a jute int length then the bytes:
//   header   ustring "dougong-keeper-tree" | int version (2) | long last_zxid
//   acls     AclCache::Encode
//   count    long number of nodes
//   node*    ustring path | buffer data (null kept) | long czxid, mzxid,
//            ctime, mtime | int version, cversion, aversion | long
//            ephemeralOwner, pzxid | int acl id      (parents first)
//   trailer  ustring "end" | long number of nodes | long Digest()
// Version 2: the digest hashes 8 bytes a step (base/hash.h); version 1
// files (FNV digest) are refused.

namespace {
constexpr std::string_view kSnapMagic = "dougong-keeper-tree";
constexpr std::string_view kSnapEnd = "end";
constexpr int32_t kSnapVersion = 2;

// Appends one record: its length, then what `fill` writes.
template <class F>
void AppendRecord(std::string* out, F&& fill) {
  size_t at = out->size();
  out->append(4, '\0');
  zk::jute::Writer w(out);
  fill(w);
  zk::jute::PutInt32(out->data() + at, static_cast<int32_t>(out->size() - at - 4));
}
}  // namespace

Status DataTree::Save(const std::function<Status(std::string_view)>& sink, size_t chunk_bytes) const {
  std::string buf;
  buf.reserve(chunk_bytes + 4096);
  auto flush = [&](bool force) -> Status {
    if (!buf.empty() && (force || buf.size() >= chunk_bytes)) {
      Status s = sink(buf);
      buf.clear();
      return s;
    }
    return Status::Ok();
  };
  AppendRecord(&buf, [&](zk::jute::Writer& w) {
    w.WriteBytes(kSnapMagic);
    w.WriteInt(kSnapVersion);
    w.WriteLong(last_zxid_);
  });
  AppendRecord(&buf, [&](zk::jute::Writer& w) { acls_.Encode(w.out()); });
  AppendRecord(&buf, [&](zk::jute::Writer& w) { w.WriteLong(static_cast<int64_t>(nodes_.size())); });
  // Depth-first from the root, so parents come first; the digest is summed
  // on the way. Children are pushed newest first and so written oldest
  // first: the loader, adding each at the front, rebuilds the same lists.
  std::unordered_map<uint32_t, uint64_t> acl_digests;
  uint64_t digest = 0;
  std::vector<const Node*> stack{Find("/")};
  while (!stack.empty()) {
    const Node& n = *stack.back();
    stack.pop_back();
    AppendRecord(&buf, [&](zk::jute::Writer& w) {
      w.WriteBytes(n.path());
      if (n.data_null) w.WriteNull();
      else w.WriteBytes(n.data.view());
      w.WriteLong(n.czxid);
      w.WriteLong(n.mzxid);
      w.WriteLong(n.ctime);
      w.WriteLong(n.mtime);
      w.WriteInt(n.version);
      w.WriteInt(n.cversion);
      w.WriteInt(n.aversion);
      w.WriteLong(n.ephemeral_owner);
      w.WriteLong(n.pzxid);
      w.WriteInt(static_cast<int32_t>(n.acl_id));
    });
    auto ad = acl_digests.find(n.acl_id);
    if (ad == acl_digests.end()) ad = acl_digests.emplace(n.acl_id, AclDigest(n.acl_id)).first;
    digest += NodeDigest(n.path(), n, ad->second);
    for (const Node* c = n.first_child; c != nullptr; c = c->next_sibling) stack.push_back(c);
    if (Status s = flush(false); !s.ok()) return s;
  }
  AppendRecord(&buf, [&](zk::jute::Writer& w) {
    w.WriteBytes(kSnapEnd);
    w.WriteLong(static_cast<int64_t>(nodes_.size()));
    w.WriteLong(static_cast<int64_t>(digest));
  });
  return flush(true);
}

void DataTree::ClearForLoad() {
  ephemerals_.clear();
  containers_.clear();
  ttls_.clear();
  nodes_.Clear();
  acls_ = AclCache();
}

// The loader's second thread: batches of nodes in, path index and digest out.
struct DataTree::Loader::Indexer {
  struct Item {
    ZNode* node;
    uint64_t acl_digest;
  };
  static constexpr size_t kBatch = 4096;

  explicit Indexer(NodeIndex* index) : index_(index), thread_([this] { Run(); }) {}
  ~Indexer() {
    (void)Finish();
    ZNodeDeleter del;
    for (ZNode* n : refused_) del(n);
  }

  // `node` is owned by the indexer from here on.
  void Add(ZNode* node, uint64_t acl_digest) {
    batch_.push_back(Item{node, acl_digest});
    if (batch_.size() >= kBatch) Hand();
  }

  // Waits for every node to be indexed: the first duplicate path, if any.
  Status Finish() {
    if (thread_.joinable()) {
      Hand();
      {
        std::lock_guard lk(mu_);
        done_ = true;
      }
      cv_.notify_one();
      thread_.join();
    }
    return error_;
  }
  uint64_t digest() const { return digest_; }

 private:
  void Hand() {
    if (batch_.empty()) return;
    {
      std::lock_guard lk(mu_);
      queue_.push_back(std::move(batch_));
    }
    cv_.notify_one();
    batch_ = {};
    batch_.reserve(kBatch);
  }
  void Run() {
    std::vector<Item> items;
    while (true) {
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return !queue_.empty() || done_; });
        if (queue_.empty()) return;
        items = std::move(queue_.front());
        queue_.pop_front();
      }
      for (const Item& it : items) {
        ZNodePtr owned(it.node);
        if (index_->Insert(std::move(owned)) == nullptr) {
          // The parser may still hold it as an ancestor: freed at the end.
          if (error_.ok()) error_ = Status(Code::kDataLoss, "snapshot: duplicate node " + std::string(it.node->path()));
          refused_.push_back(owned.release());
          continue;
        }
        digest_ += NodeDigest(it.node->path(), *it.node, it.acl_digest);
      }
    }
  }

  NodeIndex* index_;
  std::vector<Item> batch_;  // the parser's
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<Item>> queue_;
  bool done_ = false;
  // The indexer thread's, read after the join:
  Status error_;
  uint64_t digest_ = 0;
  std::vector<ZNode*> refused_;
  std::thread thread_;  // last: starts once the rest is built
};

Status DataTree::Loader::AddNode(ZNodePtr node) {
  DataTree& t = *tree_;
  std::string_view path = node->path();
  Node* parent = nullptr;
  if (path != "/") {
    if (!IsValidPath(path)) return Status(Code::kDataLoss, "snapshot: invalid path " + std::string(path));
    std::string_view parent_path = ParentOf(path);
    while (!ancestors_.empty() && ancestors_.back()->path() != parent_path) ancestors_.pop_back();
    if (ancestors_.empty()) {
      return Status(Code::kDataLoss, "snapshot: parent missing (or out of order) for " + std::string(path));
    }
    parent = ancestors_.back();
  } else if (indexer_ != nullptr) {
    return Status(Code::kDataLoss, "snapshot: root not first");
  }
  if (!t.acls_.Has(node->acl_id)) return Status(Code::kDataLoss, "snapshot: unknown ACL id for " + std::string(path));
  t.acls_.AddRef(node->acl_id);
  auto ad = acl_digests_.find(node->acl_id);
  if (ad == acl_digests_.end()) ad = acl_digests_.emplace(uint32_t{node->acl_id}, t.AclDigest(node->acl_id)).first;
  Node* n = node.release();
  if (parent != nullptr) parent->AddChild(n);
  t.IndexNode(*n);
  ancestors_.push_back(n);
  if (indexer_ == nullptr) indexer_ = std::make_unique<Indexer>(&t.nodes_);
  indexer_->Add(n, ad->second);
  return Status::Ok();
}

DataTree::Loader::Loader(Options options) : tree_(std::make_unique<DataTree>(options)) { tree_->ClearForLoad(); }
DataTree::Loader::~Loader() {
  // The indexer goes first: the tree's index may still be in its hands.
  indexer_.reset();
}

Status DataTree::Loader::Feed(std::string_view bytes) {
  if (!error_.ok()) return error_;
  pending_.append(bytes);
  error_ = ParseRecords();
  return error_;
}

Status DataTree::Loader::ParseRecords() {
  size_t pos = 0;
  while (pending_.size() - pos >= 4) {
    int32_t len = zk::jute::GetInt32(pending_.data() + pos);
    if (len < 0) return Status(Code::kDataLoss, "snapshot: negative record length");
    if (pending_.size() - pos - 4 < static_cast<size_t>(len)) break;
    Status s = ParseRecord(std::string_view(pending_).substr(pos + 4, static_cast<size_t>(len)));
    if (!s.ok()) return s;
    pos += 4 + static_cast<size_t>(len);
  }
  pending_.erase(0, pos);
  return Status::Ok();
}

Status DataTree::Loader::ParseRecord(std::string_view record) {
  zk::jute::Reader r(record, 1 << 30);
  auto fail = [](const char* what) { return Status(Code::kDataLoss, std::string("snapshot: ") + what); };
  switch (stage_) {
    case 0: {
      std::string magic;
      bool is_null = false;
      int32_t version = 0;
      int64_t zxid = 0;
      if (!r.ReadBytes(&magic, &is_null).ok() || magic != kSnapMagic) return fail("bad magic");
      if (!r.ReadInt(&version).ok() || version != kSnapVersion) return fail("unsupported version");
      if (!r.ReadLong(&zxid).ok()) return fail("truncated header");
      tree_->last_zxid_ = zxid;
      stage_ = 1;
      return Status::Ok();
    }
    case 1: {
      if (Status s = tree_->acls_.Decode(record); !s.ok()) return s;
      stage_ = 2;
      return Status::Ok();
    }
    case 2: {
      int64_t count = 0;
      if (!r.ReadLong(&count).ok() || count < 1) return fail("bad node count");
      nodes_expected_ = static_cast<uint64_t>(count);
      // One allocation of the bucket array instead of ~20 rehashes of a
      // growing tree (capped: the count is not trusted before the digest).
      tree_->nodes_.Reserve(static_cast<size_t>(std::min<int64_t>(count, int64_t{1} << 26)));
      stage_ = 3;
      return Status::Ok();
    }
    case 3: {
      if (nodes_seen_ == nodes_expected_) {
        std::string end;
        bool is_null = false;
        int64_t count = 0, digest = 0;
        if (!r.ReadBytes(&end, &is_null).ok() || end != kSnapEnd) return fail("bad trailer");
        if (!r.ReadLong(&count).ok() || !r.ReadLong(&digest).ok()) return fail("truncated trailer");
        if (static_cast<uint64_t>(count) != nodes_expected_) return fail("node count mismatch");
        digest_expected_ = static_cast<uint64_t>(digest);
        stage_ = 4;
        return Status::Ok();
      }
      std::string_view path, data;
      bool path_null = false, data_null = false;
      if (!r.ReadBytesView(&path, &path_null).ok() || path_null) return fail("bad node path");
      if (!r.ReadBytesView(&data, &data_null).ok()) return fail("bad node data");
      ZNodePtr n = ZNode::New(path);
      n->data.Assign(data);
      n->data_null = data_null;
      int32_t acl = 0;
      bool ok = r.ReadLong(&n->czxid).ok() && r.ReadLong(&n->mzxid).ok() && r.ReadLong(&n->ctime).ok() &&
                r.ReadLong(&n->mtime).ok() && r.ReadInt(&n->version).ok() && r.ReadInt(&n->cversion).ok() &&
                r.ReadInt(&n->aversion).ok() && r.ReadLong(&n->ephemeral_owner).ok() && r.ReadLong(&n->pzxid).ok() &&
                r.ReadInt(&acl).ok() && r.at_end();
      if (!ok || acl < 0) return fail("bad node record");
      n->acl_id = static_cast<uint32_t>(acl);
      if (nodes_seen_ == 0 && path != "/") return fail("root must come first");
      ++nodes_seen_;
      return AddNode(std::move(n));
    }
    default:
      return fail("data after trailer");
  }
}

Result<std::unique_ptr<DataTree>> DataTree::Loader::Finish() {
  if (!error_.ok()) return error_;
  if (stage_ != 4 || !pending_.empty()) return Status(Code::kDataLoss, "snapshot: incomplete stream");
  if (indexer_ == nullptr) return Status(Code::kDataLoss, "snapshot: no root");
  if (Status s = indexer_->Finish(); !s.ok()) return s;
  if (indexer_->digest() != digest_expected_) return Status(Code::kDataLoss, "snapshot: digest mismatch");
  tree_->acls_.PurgeUnused();
  indexer_.reset();
  return std::move(tree_);
}

}  // namespace dougong::keeper
