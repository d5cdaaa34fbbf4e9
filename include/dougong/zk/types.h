// Value types of the ZooKeeper client (client.h): node metadata, ACLs,
// watch events, session states, and ZooKeeper's error codes as seen through
// a Status. The numbers are ZooKeeper 3.8's (the wire codec in src/zk/ has
// the same ones); every public name carries a Zk prefix so that it never
// meets the codec's records, which live in the same namespace.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/base/status.h"

namespace dougong::zk {

// A znode's metadata (ZooKeeper's Stat), times in ms since the epoch.
struct ZkStat {
  int64_t czxid = 0;
  int64_t mzxid = 0;
  int64_t ctime = 0;
  int64_t mtime = 0;
  int32_t version = 0;
  int32_t cversion = 0;
  int32_t aversion = 0;
  int64_t ephemeral_owner = 0;
  int32_t data_length = 0;
  int32_t num_children = 0;
  int64_t pzxid = 0;
  bool operator==(const ZkStat&) const = default;
};

// ACL permission bits (ZooDefs.Perms).
namespace zkperms {
inline constexpr int32_t kRead = 1;
inline constexpr int32_t kWrite = 2;
inline constexpr int32_t kCreate = 4;
inline constexpr int32_t kDelete = 8;
inline constexpr int32_t kAdmin = 16;
inline constexpr int32_t kAll = 31;
}  // namespace zkperms

struct ZkAcl {
  int32_t perms = 0;   // zkperms bits
  std::string scheme;  // "world", "digest", "ip", "auth", ...
  std::string id;      // "anyone", "user:base64(sha1(user:password))", ...
  bool operator==(const ZkAcl&) const = default;
};

// world:anyone with every permission (ZooDefs.Ids.OPEN_ACL_UNSAFE).
std::vector<ZkAcl> ZkOpenAcl();
// auth: every permission for the identities the session authenticated as
// (ZooDefs.Ids.CREATOR_ALL_ACL).
std::vector<ZkAcl> ZkCreatorAllAcl();
// world:anyone read-only (ZooDefs.Ids.READ_ACL_UNSAFE).
std::vector<ZkAcl> ZkReadAcl();

// zkCli's ACL syntax, comma-separated "scheme:id:perms" with perms as
// letters from "crwda" ("world:anyone:cdrwa,digest:u:HASH:r"). The id is
// everything between the first and the last colon.
Result<std::vector<ZkAcl>> ParseZkAcl(std::string_view text);
std::string ZkPermsString(int32_t perms);  // "cdrwa" order, as zkCli prints

// CreateMode (numbers are ZooKeeper's create flags).
enum class ZkCreateMode : int32_t {
  kPersistent = 0,
  kEphemeral = 1,
  kPersistentSequential = 2,
  kEphemeralSequential = 3,
  kContainer = 4,
  kPersistentWithTtl = 5,
  kPersistentSequentialWithTtl = 6,
};

// Watcher.Event.EventType.
enum class ZkEventType : int32_t {
  kNone = -1,
  kNodeCreated = 1,
  kNodeDeleted = 2,
  kNodeDataChanged = 3,
  kNodeChildrenChanged = 4,
  kDataWatchRemoved = 5,
  kChildWatchRemoved = 6,
  kPersistentWatchRemoved = 7,
};
std::string_view ZkEventTypeName(ZkEventType type);  // "NodeDataChanged", ...

// Watcher.Event.KeeperState (the state carried with a watch event).
enum class ZkKeeperState : int32_t {
  kDisconnected = 0,
  kSyncConnected = 3,
  kAuthFailed = 4,
  kConnectedReadOnly = 5,
  kClosed = 7,
  kExpired = -112,
};
std::string_view ZkKeeperStateName(ZkKeeperState state);  // "SyncConnected", ...

// What a watcher receives. Paths are relative to the client's chroot.
struct ZkWatchedEvent {
  ZkEventType type = ZkEventType::kNone;
  ZkKeeperState state = ZkKeeperState::kSyncConnected;
  std::string path;
};

// A watcher: any callable (a lambda, or a std::function bound to an
// object's method). Runs on the client's event thread.
using ZkWatcher = std::function<void(const ZkWatchedEvent&)>;

// addWatch modes (ZooDefs.AddWatchModes).
enum class ZkWatchMode : int32_t { kPersistent = 0, kPersistentRecursive = 1 };

// Which watches removeWatches removes (Watcher.WatcherType).
enum class ZkWatcherType : int32_t { kChildren = 1, kData = 2, kAny = 3 };

// Connection/session states reported to state listeners, Curator-style:
//   kConnected    first connection of the session established
//   kSuspended    connection lost; the session may still be alive, the
//                 client is reconnecting (requests fail with CONNECTIONLOSS)
//   kReconnected  the same session re-established (watches re-armed)
//   kLost         the session timeout passed while suspended: the session
//                 is probably gone; the client keeps trying and reports
//                 kReconnected or kExpired when it knows
//   kExpired      the server said the session expired (terminal)
//   kClosed       Close() was called (terminal)
enum class ZkSessionState { kConnected, kSuspended, kReconnected, kLost, kExpired, kClosed };
std::string_view ZkSessionStateName(ZkSessionState state);  // "CONNECTED", ...

using ZkStateListener = std::function<void(ZkSessionState)>;

// KeeperException.Code.
enum class ZkError : int32_t {
  kOk = 0,
  kSystemError = -1,
  kRuntimeInconsistency = -2,
  kDataInconsistency = -3,
  kConnectionLoss = -4,
  kMarshallingError = -5,
  kUnimplemented = -6,
  kOperationTimeout = -7,
  kBadArguments = -8,
  kUnknownSession = -12,
  kNewConfigNoQuorum = -13,
  kReconfigInProgress = -14,
  kApiError = -100,
  kNoNode = -101,
  kNoAuth = -102,
  kBadVersion = -103,
  kNoChildrenForEphemerals = -108,
  kNodeExists = -110,
  kNotEmpty = -111,
  kSessionExpired = -112,
  kInvalidCallback = -113,
  kInvalidACL = -114,
  kAuthFailed = -115,
  kSessionMoved = -118,
  kNotReadOnly = -119,
  kEphemeralOnLocalSession = -120,
  kNoWatcher = -121,
  kRequestTimeout = -122,
  kReconfigDisabled = -123,
  kSessionClosedRequireSaslAuth = -124,
  kQuotaExceeded = -125,
  kThrottledOp = -127,
};
// "NONODE", "NODEEXISTS", ... (KeeperException.Code's names).
std::string_view ZkErrorName(ZkError err);

// Errors of ZooKeeper operations are Statuses whose message starts with the
// ZooKeeper code name: "NONODE: /a/b (getData)". The Status code is the
// nearest gRPC code (NONODE → NOT_FOUND, NODEEXISTS → ALREADY_EXISTS,
// BADVERSION/NOTEMPTY → FAILED_PRECONDITION, NOAUTH → PERMISSION_DENIED,
// AUTHFAILED → UNAUTHENTICATED, CONNECTIONLOSS/SESSIONEXPIRED → UNAVAILABLE,
// OPERATIONTIMEOUT → DEADLINE_EXCEEDED, BADARGUMENTS/INVALIDACL →
// INVALID_ARGUMENT, ...).
Status ZkErrorStatus(ZkError err, std::string_view context);
// The ZooKeeper code of a Status made by the client: kOk for an OK status,
// kSystemError for errors that did not come from ZooKeeper (bad arguments
// refused locally carry kBadArguments).
ZkError ZkErrorOf(const Status& status);

}  // namespace dougong::zk
