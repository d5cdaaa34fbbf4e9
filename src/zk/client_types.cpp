// The client's public value types: names, ACL syntax, and ZooKeeper error
// codes carried in a Status.
#include <fmt/format.h>

#include "dougong/zk/types.h"
#include "zk/protocol.h"

namespace dougong::zk {

std::vector<ZkAcl> ZkOpenAcl() { return {ZkAcl{zkperms::kAll, "world", "anyone"}}; }
std::vector<ZkAcl> ZkCreatorAllAcl() { return {ZkAcl{zkperms::kAll, "auth", ""}}; }
std::vector<ZkAcl> ZkReadAcl() { return {ZkAcl{zkperms::kRead, "world", "anyone"}}; }

std::string ZkPermsString(int32_t p) {
  std::string s;
  if (p & zkperms::kCreate) s += 'c';
  if (p & zkperms::kDelete) s += 'd';
  if (p & zkperms::kRead) s += 'r';
  if (p & zkperms::kWrite) s += 'w';
  if (p & zkperms::kAdmin) s += 'a';
  return s;
}

Result<std::vector<ZkAcl>> ParseZkAcl(std::string_view text) {
  std::vector<ZkAcl> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    std::string_view one = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    auto first = one.find(':');
    auto last = one.rfind(':');
    if (first == std::string_view::npos || first == last)
      return InvalidArgument(fmt::format("ACL '{}': expected scheme:id:perms", one));
    ZkAcl acl;
    acl.scheme = std::string(one.substr(0, first));
    acl.id = std::string(one.substr(first + 1, last - first - 1));
    for (char c : one.substr(last + 1)) {
      switch (c) {
        case 'c': case 'C': acl.perms |= zkperms::kCreate; break;
        case 'd': case 'D': acl.perms |= zkperms::kDelete; break;
        case 'r': case 'R': acl.perms |= zkperms::kRead; break;
        case 'w': case 'W': acl.perms |= zkperms::kWrite; break;
        case 'a': case 'A': acl.perms |= zkperms::kAdmin; break;
        default:
          return InvalidArgument(fmt::format("ACL '{}': unknown permission '{}' (use letters of crwda)", one, c));
      }
    }
    if (acl.scheme.empty()) return InvalidArgument(fmt::format("ACL '{}': empty scheme", one));
    out.push_back(std::move(acl));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

std::string_view ZkEventTypeName(ZkEventType type) {
  switch (type) {
    case ZkEventType::kNone: return "None";
    case ZkEventType::kNodeCreated: return "NodeCreated";
    case ZkEventType::kNodeDeleted: return "NodeDeleted";
    case ZkEventType::kNodeDataChanged: return "NodeDataChanged";
    case ZkEventType::kNodeChildrenChanged: return "NodeChildrenChanged";
    case ZkEventType::kDataWatchRemoved: return "DataWatchRemoved";
    case ZkEventType::kChildWatchRemoved: return "ChildWatchRemoved";
    case ZkEventType::kPersistentWatchRemoved: return "PersistentWatchRemoved";
  }
  return "Unknown";
}

std::string_view ZkKeeperStateName(ZkKeeperState state) {
  switch (state) {
    case ZkKeeperState::kDisconnected: return "Disconnected";
    case ZkKeeperState::kSyncConnected: return "SyncConnected";
    case ZkKeeperState::kAuthFailed: return "AuthFailed";
    case ZkKeeperState::kConnectedReadOnly: return "ConnectedReadOnly";
    case ZkKeeperState::kClosed: return "Closed";
    case ZkKeeperState::kExpired: return "Expired";
  }
  return "Unknown";
}

std::string_view ZkSessionStateName(ZkSessionState state) {
  switch (state) {
    case ZkSessionState::kConnected: return "CONNECTED";
    case ZkSessionState::kSuspended: return "SUSPENDED";
    case ZkSessionState::kReconnected: return "RECONNECTED";
    case ZkSessionState::kLost: return "LOST";
    case ZkSessionState::kExpired: return "EXPIRED";
    case ZkSessionState::kClosed: return "CLOSED";
  }
  return "UNKNOWN";
}

std::string_view ZkErrorName(ZkError err) { return ErrorCodeName(static_cast<int32_t>(err)); }

namespace {

Code GrpcCodeFor(ZkError err) {
  switch (err) {
    case ZkError::kOk: return Code::kOk;
    case ZkError::kNoNode: return Code::kNotFound;
    case ZkError::kNodeExists: return Code::kAlreadyExists;
    case ZkError::kBadVersion:
    case ZkError::kNotEmpty:
    case ZkError::kNoChildrenForEphemerals:
    case ZkError::kNotReadOnly:
    case ZkError::kEphemeralOnLocalSession:
      return Code::kFailedPrecondition;
    case ZkError::kNoAuth: return Code::kPermissionDenied;
    case ZkError::kAuthFailed:
    case ZkError::kSessionClosedRequireSaslAuth:
      return Code::kUnauthenticated;
    case ZkError::kConnectionLoss:
    case ZkError::kSessionExpired:
    case ZkError::kSessionMoved:
    case ZkError::kUnknownSession:
    case ZkError::kNewConfigNoQuorum:
    case ZkError::kReconfigInProgress:
      return Code::kUnavailable;
    case ZkError::kOperationTimeout:
    case ZkError::kRequestTimeout:
      return Code::kDeadlineExceeded;
    case ZkError::kBadArguments:
    case ZkError::kInvalidACL:
    case ZkError::kInvalidCallback:
      return Code::kInvalidArgument;
    case ZkError::kNoWatcher: return Code::kNotFound;
    case ZkError::kUnimplemented:
    case ZkError::kReconfigDisabled:
      return Code::kUnimplemented;
    case ZkError::kQuotaExceeded:
    case ZkError::kThrottledOp:
      return Code::kResourceExhausted;
    case ZkError::kMarshallingError:
    case ZkError::kRuntimeInconsistency:
    case ZkError::kDataInconsistency:
      return Code::kInternal;
    default: return Code::kUnknown;
  }
}

}  // namespace

Status ZkErrorStatus(ZkError err, std::string_view context) {
  if (err == ZkError::kOk) return Status::Ok();
  std::string_view name = ZkErrorName(err);
  std::string msg = context.empty() ? std::string(name) : fmt::format("{}: {}", name, context);
  if (name == "UNKNOWN") msg = fmt::format("UNKNOWN({}): {}", static_cast<int32_t>(err), context);
  return Status(GrpcCodeFor(err), std::move(msg));
}

ZkError ZkErrorOf(const Status& status) {
  if (status.ok()) return ZkError::kOk;
  const std::string& m = status.message();
  auto end = m.find_first_of(":(");
  std::string_view name = std::string_view(m).substr(0, end);
  for (int32_t v = 0; v >= -127; --v) {
    std::string_view n = ErrorCodeName(v);
    if (n != "UNKNOWN" && n == name) return static_cast<ZkError>(v);
  }
  if (status.code() == Code::kInvalidArgument) return ZkError::kBadArguments;
  return ZkError::kSystemError;
}

}  // namespace dougong::zk
