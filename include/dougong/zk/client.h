// ZkClient: an asynchronous ZooKeeper 3.8 client (docs/zk_client.md).
//
//   auto client = zk::ZkClient::Create("h1:2181,h2:2181/app", {});
//   if (!client.ok()) ...
//   (*client)->WaitConnected(std::chrono::seconds(5));
//   auto created = (*client)->CreateNode("/x", "data");          // blocking
//   (*client)->AsyncGetData("/x", [](Result<zk::ZkData> r) {...}); // callback
//   auto r = co_await (*client)->CoGetData("/x");                  // coroutine
//
// Every operation comes in three forms: AsyncX (callback), CoX (coroutine,
// resumes on the awaiting coroutine's executor) and X (blocking). Callbacks,
// watchers and state listeners run on the client's one event thread, in the
// order the server's replies and notifications arrived, so a watch event is
// always delivered before the result of a read the server answered after
// the change. Blocking calls must not be made from that thread (from a
// callback or a watcher); use the Async or Co forms there.
//
// Requests made while the client is (re)connecting wait for the connection;
// requests in flight when a connection is lost fail with CONNECTIONLOSS, and
// waiting ones fail so once the session timeout passes without a connection
// (kLost). After the server expires the session every operation fails with
// SESSIONEXPIRED: make a new client.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "dougong/base/result.h"
#include "dougong/base/status.h"
#include "dougong/zk/types.h"

namespace dougong::zk {

template <class T>
using Awaitable = boost::asio::awaitable<T>;

template <class T>
using ZkCallback = std::function<void(Result<T>)>;
using ZkDone = std::function<void(Status)>;

struct ZkClientOptions {
  // Requested session timeout; the server clamps it to [2, 20] ticks.
  std::chrono::milliseconds session_timeout{30000};
  // Per-attempt limit for the TCP connect and the session handshake;
  // 0: the session timeout divided by the number of hosts (as ZooKeeper's
  // client does).
  std::chrono::milliseconds connect_timeout{0};
  // Accept read-only servers (partitioned minority members). Off by default.
  bool read_only = false;
  // Try hosts in a random order (ZooKeeper's StaticHostProvider does).
  bool shuffle_hosts = true;
  // Credentials sent on every connection before any request, like AddAuth:
  // {scheme, credential}, e.g. {"digest", "user:password"}.
  std::vector<std::pair<std::string, std::string>> auth;
  // Called on the event thread on every session state change.
  ZkStateListener state_listener;
};

struct ZkCreateOptions {
  ZkCreateMode mode = ZkCreateMode::kPersistent;
  std::vector<ZkAcl> acl = ZkOpenAcl();
  int64_t ttl_ms = 0;  // for the TTL modes (server needs extendedTypesEnabled)
};

struct ZkCreated {
  std::string path;  // the actual path (sequential suffix), chroot stripped
  ZkStat stat;
};

struct ZkData {
  std::string data;
  bool is_null = false;  // created with null data (other clients can)
  ZkStat stat;
};

struct ZkChildren {
  std::vector<std::string> children;  // names, unordered as the server sends them
  ZkStat stat;
};

struct ZkAclResult {
  std::vector<ZkAcl> acl;
  ZkStat stat;
};

struct ZkClientInfo {
  std::string auth_scheme;
  std::string user;
};

// One operation of a transaction (multi) or of a multiRead.
struct ZkOp {
  enum class Type { kCreate, kDelete, kSetData, kCheck, kGetData, kGetChildren };
  Type type = Type::kCheck;
  std::string path;
  std::string data;
  int32_t version = -1;
  ZkCreateOptions create;

  // The reads of a multiRead (writes are built with ZkTransaction).
  static ZkOp GetData(std::string path) { return Read(Type::kGetData, std::move(path)); }
  static ZkOp GetChildren(std::string path) { return Read(Type::kGetChildren, std::move(path)); }

 private:
  static ZkOp Read(Type type, std::string path) {
    ZkOp op;
    op.type = type;
    op.path = std::move(path);
    return op;
  }
};

// Builds the operations of a multi: all succeed or none is applied.
class ZkTransaction {
 public:
  ZkTransaction& Create(std::string path, std::string data, const ZkCreateOptions& options = {});
  ZkTransaction& Delete(std::string path, int32_t version = -1);
  ZkTransaction& SetData(std::string path, std::string data, int32_t version = -1);
  ZkTransaction& Check(std::string path, int32_t version);
  const std::vector<ZkOp>& ops() const { return ops_; }
  std::vector<ZkOp>& ops() { return ops_; }

 private:
  std::vector<ZkOp> ops_;
};

// The result of one op of a multi or multiRead.
struct ZkOpResult {
  ZkOp::Type type = ZkOp::Type::kCheck;
  ZkError err = ZkError::kOk;  // multiRead: each op has its own outcome
  std::string path;            // create: the created path
  ZkStat stat;                 // create, setData, getData
  std::string data;            // getData
  std::vector<std::string> children;  // getChildren
};

class ZkClient {
 public:
  // Parses "host:port[,host:port...][/chroot]" (a missing port is 2181;
  // IPv6 as [addr]:port), then starts connecting in the background. Fails
  // only for a bad connect string or options.
  static Result<std::shared_ptr<ZkClient>> Create(std::string_view connect_string,
                                                  ZkClientOptions options = {});
  ~ZkClient();  // Close()s
  ZkClient(const ZkClient&) = delete;
  ZkClient& operator=(const ZkClient&) = delete;

  // Waits until the session is connected (OK), expired/closed, or the
  // timeout passed (DEADLINE_EXCEEDED).
  Status WaitConnected(std::chrono::milliseconds timeout);
  // Adds a state listener (besides options.state_listener).
  void AddStateListener(ZkStateListener listener);

  bool connected() const;
  int64_t session_id() const;
  // The timeout the server granted (0 before the first connection).
  std::chrono::milliseconds negotiated_session_timeout() const;
  // host:port of the current connection, empty when not connected.
  std::string connected_host() const;

  // ---- create (create2 / createContainer / createTTL) ----
  void AsyncCreateNode(std::string_view path, std::string_view data, const ZkCreateOptions& options,
                       ZkCallback<ZkCreated> cb);
  // (The Co forms have overloads rather than non-trivial default arguments:
  // GCC 12 destroys a default argument's temporary twice inside co_await.)
  Awaitable<Result<ZkCreated>> CoCreateNode(std::string_view path, std::string_view data,
                                            const ZkCreateOptions& options);
  Awaitable<Result<ZkCreated>> CoCreateNode(std::string_view path, std::string_view data);
  Result<ZkCreated> CreateNode(std::string_view path, std::string_view data,
                               const ZkCreateOptions& options = {});

  // ---- delete ----
  void AsyncDelete(std::string_view path, int32_t version, ZkDone cb);
  Awaitable<Status> CoDelete(std::string_view path, int32_t version = -1);
  Status Delete(std::string_view path, int32_t version = -1);

  // ---- exists: nullopt when the node does not exist. A watcher is armed
  // either way (fires on creation, change or deletion). ----
  void AsyncExists(std::string_view path, ZkCallback<std::optional<ZkStat>> cb, ZkWatcher watcher = nullptr);
  Awaitable<Result<std::optional<ZkStat>>> CoExists(std::string_view path, const ZkWatcher& watcher);
  Awaitable<Result<std::optional<ZkStat>>> CoExists(std::string_view path);
  Result<std::optional<ZkStat>> Exists(std::string_view path, ZkWatcher watcher = nullptr);

  // ---- getData (watcher fires once: data changed or node deleted) ----
  void AsyncGetData(std::string_view path, ZkCallback<ZkData> cb, ZkWatcher watcher = nullptr);
  Awaitable<Result<ZkData>> CoGetData(std::string_view path, const ZkWatcher& watcher);
  Awaitable<Result<ZkData>> CoGetData(std::string_view path);
  Result<ZkData> GetData(std::string_view path, ZkWatcher watcher = nullptr);

  // ---- setData ----
  void AsyncSetData(std::string_view path, std::string_view data, int32_t version, ZkCallback<ZkStat> cb);
  Awaitable<Result<ZkStat>> CoSetData(std::string_view path, std::string_view data, int32_t version = -1);
  Result<ZkStat> SetData(std::string_view path, std::string_view data, int32_t version = -1);

  // ---- getACL / setACL ----
  void AsyncGetAcl(std::string_view path, ZkCallback<ZkAclResult> cb);
  Awaitable<Result<ZkAclResult>> CoGetAcl(std::string_view path);
  Result<ZkAclResult> GetAcl(std::string_view path);
  void AsyncSetAcl(std::string_view path, const std::vector<ZkAcl>& acl, int32_t version, ZkCallback<ZkStat> cb);
  Awaitable<Result<ZkStat>> CoSetAcl(std::string_view path, const std::vector<ZkAcl>& acl, int32_t version = -1);
  Result<ZkStat> SetAcl(std::string_view path, const std::vector<ZkAcl>& acl, int32_t version = -1);

  // ---- getChildren (getChildren2: with the parent's Stat; watcher fires
  // once: children changed or node deleted) ----
  void AsyncGetChildren(std::string_view path, ZkCallback<ZkChildren> cb, ZkWatcher watcher = nullptr);
  Awaitable<Result<ZkChildren>> CoGetChildren(std::string_view path, const ZkWatcher& watcher);
  Awaitable<Result<ZkChildren>> CoGetChildren(std::string_view path);
  Result<ZkChildren> GetChildren(std::string_view path, ZkWatcher watcher = nullptr);

  // ---- sync: returns the path ----
  void AsyncSync(std::string_view path, ZkCallback<std::string> cb);
  Awaitable<Result<std::string>> CoSync(std::string_view path);
  Result<std::string> Sync(std::string_view path);

  // ---- multi (all or nothing). A failed transaction is the Status of the
  // first failing op: "BADVERSION: multi op 2 (check /a) ...". ----
  void AsyncMulti(const ZkTransaction& txn, ZkCallback<std::vector<ZkOpResult>> cb);
  Awaitable<Result<std::vector<ZkOpResult>>> CoMulti(const ZkTransaction& txn);
  Result<std::vector<ZkOpResult>> Multi(const ZkTransaction& txn);

  // ---- multiRead: ops of type kGetData / kGetChildren, each with its own
  // outcome in ZkOpResult::err ----
  void AsyncMultiRead(const std::vector<ZkOp>& ops, ZkCallback<std::vector<ZkOpResult>> cb);
  Awaitable<Result<std::vector<ZkOpResult>>> CoMultiRead(const std::vector<ZkOp>& ops);
  Result<std::vector<ZkOpResult>> MultiRead(const std::vector<ZkOp>& ops);

  // ---- addWatch: persistent (every event of the node) or persistent
  // recursive (every event of the node and its descendants but child
  // changes), until removed with RemoveWatches(kAny) ----
  void AsyncAddWatch(std::string_view path, ZkWatchMode mode, ZkWatcher watcher, ZkDone cb);
  Awaitable<Status> CoAddWatch(std::string_view path, ZkWatchMode mode, const ZkWatcher& watcher);
  Status AddWatch(std::string_view path, ZkWatchMode mode, ZkWatcher watcher);

  // ---- removeWatches (removeAllWatches): every watcher of `type` on the
  // path; each gets a *WatchRemoved event. NOWATCHER if there is none. ----
  void AsyncRemoveWatches(std::string_view path, ZkWatcherType type, ZkDone cb);
  Awaitable<Status> CoRemoveWatches(std::string_view path, ZkWatcherType type);
  Status RemoveWatches(std::string_view path, ZkWatcherType type);

  // ---- getEphemerals: this session's ephemeral nodes under a prefix ----
  void AsyncGetEphemerals(std::string_view prefix_path, ZkCallback<std::vector<std::string>> cb);
  Awaitable<Result<std::vector<std::string>>> CoGetEphemerals(std::string_view prefix_path);
  Result<std::vector<std::string>> GetEphemerals(std::string_view prefix_path);

  // ---- getAllChildrenNumber: all descendants ----
  void AsyncGetAllChildrenNumber(std::string_view path, ZkCallback<int32_t> cb);
  Awaitable<Result<int32_t>> CoGetAllChildrenNumber(std::string_view path);
  Result<int32_t> GetAllChildrenNumber(std::string_view path);

  // ---- whoAmI ----
  void AsyncWhoAmI(ZkCallback<std::vector<ZkClientInfo>> cb);
  Awaitable<Result<std::vector<ZkClientInfo>>> CoWhoAmI();
  Result<std::vector<ZkClientInfo>> WhoAmI();

  // ---- addAuth: kept and re-sent on every reconnection; completes when
  // the server answered (AUTHFAILED for bad credentials) ----
  void AsyncAddAuth(std::string_view scheme, std::string_view auth, ZkDone cb);
  Awaitable<Status> CoAddAuth(std::string_view scheme, std::string_view auth);
  Status AddAuth(std::string_view scheme, std::string_view auth);

  // ---- close: ends the session (closeSession), fails what is pending,
  // reports kClosed. Idempotent; the destructor calls it. ----
  void AsyncClose(ZkDone cb);
  Awaitable<Status> CoClose();
  Status Close();

  struct Impl;
  explicit ZkClient(std::shared_ptr<Impl> impl);

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace dougong::zk
