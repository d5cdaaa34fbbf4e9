#include "zk/protocol.h"

namespace dougong::zk {

std::string_view OpCodeName(int32_t op) {
  switch (static_cast<OpCode>(op)) {
    case OpCode::kNotification: return "notification";
    case OpCode::kCreate: return "create";
    case OpCode::kDelete: return "delete";
    case OpCode::kExists: return "exists";
    case OpCode::kGetData: return "getData";
    case OpCode::kSetData: return "setData";
    case OpCode::kGetACL: return "getACL";
    case OpCode::kSetACL: return "setACL";
    case OpCode::kGetChildren: return "getChildren";
    case OpCode::kSync: return "sync";
    case OpCode::kPing: return "ping";
    case OpCode::kGetChildren2: return "getChildren2";
    case OpCode::kCheck: return "check";
    case OpCode::kMulti: return "multi";
    case OpCode::kCreate2: return "create2";
    case OpCode::kReconfig: return "reconfig";
    case OpCode::kCheckWatches: return "checkWatches";
    case OpCode::kRemoveWatches: return "removeWatches";
    case OpCode::kCreateContainer: return "createContainer";
    case OpCode::kDeleteContainer: return "deleteContainer";
    case OpCode::kCreateTTL: return "createTTL";
    case OpCode::kMultiRead: return "multiRead";
    case OpCode::kAuth: return "auth";
    case OpCode::kSetWatches: return "setWatches";
    case OpCode::kSasl: return "sasl";
    case OpCode::kGetEphemerals: return "getEphemerals";
    case OpCode::kGetAllChildrenNumber: return "getAllChildrenNumber";
    case OpCode::kSetWatches2: return "setWatches2";
    case OpCode::kAddWatch: return "addWatch";
    case OpCode::kWhoAmI: return "whoAmI";
    case OpCode::kCreateSession: return "createSession";
    case OpCode::kCloseSession: return "closeSession";
    case OpCode::kError: return "error";
  }
  return "unknown";
}

std::string_view ErrorCodeName(int32_t err) {
  switch (static_cast<ErrorCode>(err)) {
    case ErrorCode::kOk: return "OK";
    case ErrorCode::kSystemError: return "SYSTEMERROR";
    case ErrorCode::kRuntimeInconsistency: return "RUNTIMEINCONSISTENCY";
    case ErrorCode::kDataInconsistency: return "DATAINCONSISTENCY";
    case ErrorCode::kConnectionLoss: return "CONNECTIONLOSS";
    case ErrorCode::kMarshallingError: return "MARSHALLINGERROR";
    case ErrorCode::kUnimplemented: return "UNIMPLEMENTED";
    case ErrorCode::kOperationTimeout: return "OPERATIONTIMEOUT";
    case ErrorCode::kBadArguments: return "BADARGUMENTS";
    case ErrorCode::kUnknownSession: return "UNKNOWNSESSION";
    case ErrorCode::kNewConfigNoQuorum: return "NEWCONFIGNOQUORUM";
    case ErrorCode::kReconfigInProgress: return "RECONFIGINPROGRESS";
    case ErrorCode::kApiError: return "APIERROR";
    case ErrorCode::kNoNode: return "NONODE";
    case ErrorCode::kNoAuth: return "NOAUTH";
    case ErrorCode::kBadVersion: return "BADVERSION";
    case ErrorCode::kNoChildrenForEphemerals: return "NOCHILDRENFOREPHEMERALS";
    case ErrorCode::kNodeExists: return "NODEEXISTS";
    case ErrorCode::kNotEmpty: return "NOTEMPTY";
    case ErrorCode::kSessionExpired: return "SESSIONEXPIRED";
    case ErrorCode::kInvalidCallback: return "INVALIDCALLBACK";
    case ErrorCode::kInvalidACL: return "INVALIDACL";
    case ErrorCode::kAuthFailed: return "AUTHFAILED";
    case ErrorCode::kSessionMoved: return "SESSIONMOVED";
    case ErrorCode::kNotReadOnly: return "NOTREADONLY";
    case ErrorCode::kEphemeralOnLocalSession: return "EPHEMERALONLOCALSESSION";
    case ErrorCode::kNoWatcher: return "NOWATCHER";
    case ErrorCode::kRequestTimeout: return "REQUESTTIMEOUT";
    case ErrorCode::kReconfigDisabled: return "RECONFIGDISABLED";
    case ErrorCode::kSessionClosedRequireSaslAuth: return "SESSIONCLOSEDREQUIRESASLAUTH";
    case ErrorCode::kQuotaExceeded: return "QUOTAEXCEEDED";
    case ErrorCode::kThrottledOp: return "THROTTLEDOP";
  }
  return "UNKNOWN";
}

std::string_view EventTypeName(int32_t type) {
  switch (static_cast<EventType>(type)) {
    case EventType::kNone: return "None";
    case EventType::kNodeCreated: return "NodeCreated";
    case EventType::kNodeDeleted: return "NodeDeleted";
    case EventType::kNodeDataChanged: return "NodeDataChanged";
    case EventType::kNodeChildrenChanged: return "NodeChildrenChanged";
    case EventType::kDataWatchRemoved: return "DataWatchRemoved";
    case EventType::kChildWatchRemoved: return "ChildWatchRemoved";
    case EventType::kPersistentWatchRemoved: return "PersistentWatchRemoved";
  }
  return "Unknown";
}

std::string_view KeeperStateName(int32_t state) {
  switch (static_cast<KeeperState>(state)) {
    case KeeperState::kUnknown: return "Unknown";
    case KeeperState::kDisconnected: return "Disconnected";
    case KeeperState::kNoSyncConnected: return "NoSyncConnected";
    case KeeperState::kSyncConnected: return "SyncConnected";
    case KeeperState::kAuthFailed: return "AuthFailed";
    case KeeperState::kConnectedReadOnly: return "ConnectedReadOnly";
    case KeeperState::kSaslAuthenticated: return "SaslAuthenticated";
    case KeeperState::kClosed: return "Closed";
    case KeeperState::kExpired: return "Expired";
  }
  return "Unknown";
}

bool IsValidCreateMode(int32_t flags) { return flags >= 0 && flags <= 6; }

bool IsEphemeral(CreateMode m) { return m == CreateMode::kEphemeral || m == CreateMode::kEphemeralSequential; }

bool IsSequential(CreateMode m) {
  return m == CreateMode::kPersistentSequential || m == CreateMode::kEphemeralSequential ||
         m == CreateMode::kPersistentSequentialWithTtl;
}

bool IsTtl(CreateMode m) {
  return m == CreateMode::kPersistentWithTtl || m == CreateMode::kPersistentSequentialWithTtl;
}

}  // namespace dougong::zk
