// The keeper's data tree: ZooKeeper 3.8's DataTree and the validation of
// its PrepRequestProcessor in one deterministic state machine. A write is
// applied as a function of (tree, request, zxid, time, session, auth): the
// same log replayed on two trees gives the same trees, the same answers and
// the same watch events (docs/keeper_semantics.md lists the rules and the
// ZooKeeper code each one follows).
//
// Not thread-safe: the server applies writes on one thread and serves reads
// where it knows no write runs concurrently (or under its own lock).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/base/status.h"
#include "keeper/acl.h"
#include "keeper/node_index.h"
#include "keeper/watch_manager.h"
#include "zk/multi.h"
#include "zk/protocol.h"
#include "zk/records.h"
#include "zk/requests.h"

namespace dougong::keeper {

// EphemeralType: how Stat.ephemeralOwner encodes the kind of a node.
//   0                      persistent (VOID)
//   Long.MIN_VALUE         container
//   0xff00_00xx_xxxx_xxxx  TTL (extended types only): low 40 bits = ttl ms
//   anything else          ephemeral, owned by that session (NORMAL)
enum class NodeKind : uint8_t { kPersistent, kEphemeral, kContainer, kTtl };
inline constexpr int64_t kContainerEphemeralOwner = INT64_MIN;
inline constexpr int64_t kMaxTtl = (int64_t{1} << 40) - 1;  // EphemeralType.TTL.maxValue()
NodeKind KindOf(int64_t ephemeral_owner, bool extended_types_enabled);
int64_t TtlEphemeralOwner(int64_t ttl_ms);     // EphemeralType.TTL.toEphemeralOwner (ttl must be valid)
int64_t TtlOf(int64_t ephemeral_owner);        // EphemeralType.TTL.getValue

// A notification to deliver: `type` on `path` to session `session`. The
// server sends it only if the session may READ `acl` (the ACL of the node
// the event is about, as NIOServerCnxn.process(event, znodeAcl) checks;
// CheckAcl(*acl, perms::kRead, auth)), and before the reply of the request
// that caused it.
struct WatchEvent {
  int64_t session = 0;
  zk::EventType type = zk::EventType::kNone;
  std::string path;
  AclRef acl;
  bool operator==(const WatchEvent& o) const {
    return session == o.session && type == o.type && path == o.path;
  }
};

// The server-assigned part of a write, the same on every replica.
struct TxnContext {
  int64_t zxid = 0;
  int64_t time = 0;        // ms since the epoch, the leader's clock
  int64_t session_id = 0;  // the session that sent it (0 for the server's own)
  const AuthContext* auth = nullptr;  // nullptr = anonymous
};

// The outcome of a write or read. `err` is what the ReplyHeader carries:
// for a multi it is kOk even when an op failed (ZooKeeper's
// FinalRequestProcessor), the per-op errors are in the MultiResponse and
// `multi_error` is the failing op's code. `response` is monostate when
// err != kOk.
struct OpResult {
  zk::ErrorCode err = zk::ErrorCode::kOk;
  zk::ResponseBody response;
  std::vector<WatchEvent> events;
  zk::ErrorCode multi_error = zk::ErrorCode::kOk;
  bool ok() const { return err == zk::ErrorCode::kOk; }
};

struct DataTreeOptions {
  // zookeeper.extendedTypesEnabled: TTL nodes. Off: createTTL and the TTL
  // create modes answer UNIMPLEMENTED, as ZooKeeper does (default off,
  // as in ZooKeeper).
  bool extended_types_enabled = false;
  // znode.container.maxNeverUsedIntervalMs: 0 = containers that never had
  // a child are never cleaned.
  int64_t container_max_never_used_ms = 0;
};


class DataTree {
 public:
  using Options = DataTreeOptions;

  using Node = ZNode;

  DataTree() : DataTree(Options{}) {}
  explicit DataTree(Options options);
  ~DataTree();
  DataTree(const DataTree&) = delete;
  DataTree& operator=(const DataTree&) = delete;

  const Options& options() const { return options_; }

  // ---- writes (each consumes one zxid; failures change nothing) ----

  // Any write opcode with its decoded body: create, create2, createContainer,
  // createTTL, delete, deleteContainer (body: DeleteRequest, version
  // ignored), setData, setACL, check, multi, closeSession (monostate body;
  // deletes the ephemerals of ctx.session_id). Reads and session-less ops
  // answer kUnimplemented here.
  OpResult Apply(int32_t opcode, const zk::RequestBody& body, const TxnContext& ctx);

  OpResult Create(int32_t opcode, const zk::CreateTTLRequest& req, const TxnContext& ctx);
  OpResult Create(int32_t opcode, const zk::CreateRequest& req, const TxnContext& ctx);
  OpResult Delete(const zk::DeleteRequest& req, const TxnContext& ctx);
  OpResult DeleteContainer(std::string_view path, const TxnContext& ctx);
  OpResult SetData(const zk::SetDataRequest& req, const TxnContext& ctx);
  OpResult SetAcl(const zk::SetACLRequest& req, const TxnContext& ctx);
  OpResult Check(const zk::CheckVersionRequest& req, const TxnContext& ctx);
  OpResult Multi(const zk::MultiRequest& req, const TxnContext& ctx);
  OpResult CloseSession(const TxnContext& ctx);

  // ContainerManager.getCandidates at wall time `now_ms`: empty containers
  // that had children (cversion > 0) or, with container_max_never_used_ms,
  // are older than it by mtime; empty TTL nodes whose mtime is more than
  // their TTL ago. Sorted. The server logs a deleteContainer for each.
  std::vector<std::string> CleanupCandidates(int64_t now_ms) const;

  // ---- reads (`session` is whom a watch is registered for) ----

  OpResult Exists(const zk::ExistsRequest& req, const AuthContext& auth, int64_t session);
  OpResult GetData(const zk::GetDataRequest& req, const AuthContext& auth, int64_t session);
  OpResult GetChildren(const zk::GetChildrenRequest& req, const AuthContext& auth, int64_t session);
  OpResult GetChildren2(const zk::GetChildren2Request& req, const AuthContext& auth, int64_t session);
  OpResult GetAcl(const zk::GetACLRequest& req, const AuthContext& auth) const;
  OpResult GetAllChildrenNumber(const zk::GetAllChildrenNumberRequest& req, const AuthContext& auth) const;
  OpResult GetEphemerals(const zk::GetEphemeralsRequest& req, int64_t session) const;
  // multiRead: getData/getChildren ops, each answered or failed on its own.
  OpResult MultiRead(const zk::MultiRequest& req, const AuthContext& auth, int64_t session);

  // ---- watches ----

  // addWatch: mode is AddWatchMode; answers ErrorResponse{0}.
  OpResult AddWatch(const zk::AddWatchRequest& req, int64_t session);
  // checkWatches / removeWatches: kNoWatcher when there is none.
  zk::ErrorCode CheckWatches(const zk::CheckWatchesRequest& req, int64_t session) const;
  zk::ErrorCode RemoveWatches(const zk::RemoveWatchesRequest& req, int64_t session);
  // setWatches/setWatches2 after a reconnect (DataTree.setWatches): events
  // for what changed after relative_zxid are returned (and not armed), the
  // rest is armed.
  std::vector<WatchEvent> SetWatches(const zk::SetWatches2& req, int64_t session);
  // The session's connection is gone: drop all its watches.
  void RemoveSessionWatches(int64_t session);
  const WatchManager& data_watches() const { return data_watches_; }
  const WatchManager& child_watches() const { return child_watches_; }

  // ---- inspection ----

  bool Contains(std::string_view path) const;
  // Stat of a node (numChildren, dataLength included); false if absent.
  bool GetStat(std::string_view path, zk::Stat* stat) const;
  size_t node_count() const;
  size_t ephemeral_count() const;
  std::vector<int64_t> SessionsWithEphemerals() const;
  const AclCache& acl_cache() const { return acls_; }
  // The zxid of the last applied write (0 initially).
  int64_t last_zxid() const { return last_zxid_; }
  // Order-independent 64-bit hash over every node's path, data (and null
  // flag), stat and ACL contents (children counts follow from the paths).
  // Equal trees have equal digests.
  uint64_t Digest() const;

  // ---- snapshots ----

  // Streams the tree (ACL cache, then every node parent-first with its
  // stat, data and ACL id; ephemerals are derived from ephemeralOwner) as
  // chunks of about `chunk_bytes`. Stops at the first error of `sink`.
  Status Save(const std::function<Status(std::string_view chunk)>& sink, size_t chunk_bytes = 1 << 20) const;

  // Rebuilds a tree from the chunks of Save, fed in order, split anywhere.
  // Two threads share the work: the caller's parses the records, allocates
  // the nodes and links each to its parent (found on the stack of the walk's
  // ancestors, since Save writes parents first, depth first); an indexer
  // thread adds them to the path index and sums the digest.
  class Loader {
   public:
    explicit Loader(Options options = Options{});
    ~Loader();
    Status Feed(std::string_view bytes);
    // kDataLoss if the stream is incomplete or damaged.
    Result<std::unique_ptr<DataTree>> Finish();

   private:
    struct Indexer;
    Status ParseRecords();
    Status ParseRecord(std::string_view record);
    Status AddNode(ZNodePtr node);
    std::unique_ptr<DataTree> tree_;
    std::unique_ptr<Indexer> indexer_;  // from the first node on
    std::vector<Node*> ancestors_;      // the walk's current path, root first
    std::string pending_;
    int stage_ = 0;  // 0 header, 1 acl cache, 2 nodes, 3 trailer seen
    uint64_t nodes_expected_ = 0;
    uint64_t nodes_seen_ = 0;
    uint64_t digest_expected_ = 0;
    std::unordered_map<uint32_t, uint64_t> acl_digests_;
    Status error_;
  };

 private:
  struct Undo;
  struct PendingTrigger {
    bool child_manager;
    std::string path;
    zk::EventType type;
    AclRef acl;
    bool suppress_data_fired;  // child watches of a deleted node skip those the data watches fired
  };
  struct Staging;

  Node* Find(std::string_view path);
  const Node* Find(std::string_view path) const;
  const Node* ReadableNode(std::string_view path, const AuthContext& auth, OpResult& r) const;
  void FillStat(const Node& n, zk::Stat* stat) const;
  zk::Stat StatOf(const Node& n) const;

  // Validated single ops against the live tree, recording undo and triggers.
  zk::ErrorCode DoCreate(int32_t opcode, std::string_view path, const zk::jute::Buffer& data,
                         const AclList& acl, int32_t flags, int64_t ttl, const TxnContext& ctx, Staging& st,
                         zk::ResponseBody* rsp);
  zk::ErrorCode DoDelete(std::string_view path, int32_t version, const TxnContext& ctx, Staging& st);
  zk::ErrorCode DoDeleteContainer(std::string_view path, const TxnContext& ctx, Staging& st);
  zk::ErrorCode DoSetData(const zk::SetDataRequest& req, const TxnContext& ctx, Staging& st,
                          zk::ResponseBody* rsp);
  zk::ErrorCode DoSetAcl(const zk::SetACLRequest& req, const TxnContext& ctx, Staging& st, zk::ResponseBody* rsp);
  zk::ErrorCode DoCheck(const zk::CheckVersionRequest& req, const TxnContext& ctx, zk::ResponseBody* rsp);
  void RemoveNode(Node* n, int64_t zxid, Staging& st);

  void Rollback(Staging& st);
  std::vector<WatchEvent> Commit(Staging& st);
  template <class F>
  OpResult ApplyStaged(const TxnContext& ctx, F&& op);
  void IndexNode(const Node& n);
  void UnindexNode(const Node& n);
  uint64_t AclDigest(uint32_t acl_id) const;
  static uint64_t NodeDigest(std::string_view path, const Node& n, uint64_t acl_digest);
  void ClearForLoad();

  Options options_;
  NodeIndex nodes_;
  AclCache acls_;
  WatchManager data_watches_;
  WatchManager child_watches_;
  // Views of the nodes' paths (stable for a node's life).
  std::map<int64_t, std::set<std::string_view>> ephemerals_;
  std::set<std::string_view> containers_;
  std::set<std::string_view> ttls_;
  int64_t last_zxid_ = 0;
};

}  // namespace dougong::keeper
