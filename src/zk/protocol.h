// ZooKeeper 3.8's protocol constants, with the exact numbers of the Java
// sources (ZooDefs.OpCode/Perms/Ids/AddWatchModes, KeeperException.Code,
// Watcher.Event.EventType/KeeperState, Watcher.WatcherType, CreateMode,
// ClientCnxn's special xids). Values arrive as int32 on the wire, so every
// enum has a name function that also copes with numbers it does not know.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "zk/records.h"

namespace dougong::zk {

enum class OpCode : int32_t {
  kNotification = 0,
  kCreate = 1,
  kDelete = 2,
  kExists = 3,
  kGetData = 4,
  kSetData = 5,
  kGetACL = 6,
  kSetACL = 7,
  kGetChildren = 8,
  kSync = 9,
  kPing = 11,
  kGetChildren2 = 12,
  kCheck = 13,
  kMulti = 14,
  kCreate2 = 15,
  kReconfig = 16,
  kCheckWatches = 17,
  kRemoveWatches = 18,
  kCreateContainer = 19,
  kDeleteContainer = 20,
  kCreateTTL = 21,
  kMultiRead = 22,
  kAuth = 100,
  kSetWatches = 101,
  kSasl = 102,
  kGetEphemerals = 103,
  kGetAllChildrenNumber = 104,
  kSetWatches2 = 105,
  kAddWatch = 106,
  kWhoAmI = 107,
  kCreateSession = -10,
  kCloseSession = -11,
  kError = -1,
};
// "create", "getChildren2", ... (ZooDefs.OpCode's names); "unknown" otherwise.
std::string_view OpCodeName(int32_t op);

// KeeperException.Code: the `err` of ReplyHeader, MultiHeader, ErrorResponse.
enum class ErrorCode : int32_t {
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
// "OK", "NONODE", ... (the Java enum's names); "UNKNOWN" otherwise.
std::string_view ErrorCodeName(int32_t err);

// Watcher.Event.EventType: WatcherEvent.type.
enum class EventType : int32_t {
  kNone = -1,
  kNodeCreated = 1,
  kNodeDeleted = 2,
  kNodeDataChanged = 3,
  kNodeChildrenChanged = 4,
  kDataWatchRemoved = 5,
  kChildWatchRemoved = 6,
  kPersistentWatchRemoved = 7,
};
std::string_view EventTypeName(int32_t type);

// Watcher.Event.KeeperState: WatcherEvent.state. 1 (NoSyncConnected) and -1
// (Unknown) are deprecated and never sent by 3.x servers.
enum class KeeperState : int32_t {
  kUnknown = -1,
  kDisconnected = 0,
  kNoSyncConnected = 1,
  kSyncConnected = 3,
  kAuthFailed = 4,
  kConnectedReadOnly = 5,
  kSaslAuthenticated = 6,
  kClosed = 7,
  kExpired = -112,
};
std::string_view KeeperStateName(int32_t state);

// Watcher.WatcherType: CheckWatchesRequest/RemoveWatchesRequest.type.
enum class WatcherType : int32_t { kChildren = 1, kData = 2, kAny = 3 };

// CreateMode: CreateRequest.flags.
enum class CreateMode : int32_t {
  kPersistent = 0,
  kEphemeral = 1,
  kPersistentSequential = 2,
  kEphemeralSequential = 3,
  kContainer = 4,
  kPersistentWithTtl = 5,
  kPersistentSequentialWithTtl = 6,
};
// CreateMode.fromFlag: 0..6 are modes, anything else is refused.
bool IsValidCreateMode(int32_t flags);
bool IsEphemeral(CreateMode m);
bool IsSequential(CreateMode m);
bool IsTtl(CreateMode m);

// AddWatchRequest.mode (ZooDefs.AddWatchModes).
enum class AddWatchMode : int32_t { kPersistent = 0, kPersistentRecursive = 1 };

// ZooDefs.Perms: ACL.perms bits.
namespace perms {
inline constexpr int32_t kRead = 1 << 0;
inline constexpr int32_t kWrite = 1 << 1;
inline constexpr int32_t kCreate = 1 << 2;
inline constexpr int32_t kDelete = 1 << 3;
inline constexpr int32_t kAdmin = 1 << 4;
inline constexpr int32_t kAll = kRead | kWrite | kCreate | kDelete | kAdmin;  // 31
}  // namespace perms

// ZooDefs.Ids.
namespace ids {
inline Id AnyoneIdUnsafe() { return Id{"world", "anyone"}; }
inline Id AuthIds() { return Id{"auth", ""}; }
inline std::vector<ACL> OpenAclUnsafe() { return {ACL{perms::kAll, AnyoneIdUnsafe()}}; }
inline std::vector<ACL> CreatorAllAcl() { return {ACL{perms::kAll, AuthIds()}}; }
inline std::vector<ACL> ReadAclUnsafe() { return {ACL{perms::kRead, AnyoneIdUnsafe()}}; }
}  // namespace ids

// RequestHeader/ReplyHeader.xid values with a meaning of their own
// (ClientCnxn); ordinary requests use a positive, increasing xid.
namespace xid {
inline constexpr int32_t kNotification = -1;  // a WatcherEvent from the server
inline constexpr int32_t kPing = -2;
inline constexpr int32_t kAuth = -4;         // AuthPacket
inline constexpr int32_t kSetWatches = -8;   // SetWatches/SetWatches2 after reconnect
}  // namespace xid

// ConnectRequest.protocolVersion: 0 for every 3.x client.
inline constexpr int32_t kProtocolVersion = 0;

}  // namespace dougong::zk
