// The records of ZooKeeper 3.8's zookeeper.jute (zookeeper-jute/src/main/
// resources/zookeeper.jute, release 3.8.x) that a client and a server
// exchange or log, each described once: the struct and its field list
// (record.h) in the jute file's order and with its names. Encode, Decode and
// ToString come from record.h; docs/zk_wire.md says where each is used.
//
// Not here: the quorum records (LearnerInfo, QuorumPacket,
// QuorumAuthPacket) and FileHeader, which only servers of one ensemble
// exchange. Ints default to 0 and booleans to false, as in Java.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "zk/jute.h"
#include "zk/record.h"

namespace dougong::zk {

// ---- module org.apache.zookeeper.data ----

struct Id {
  std::string scheme;
  std::string id;
  static constexpr std::string_view kName = "Id";
  static constexpr auto kFields = std::make_tuple(jute::F("scheme", &Id::scheme), jute::F("id", &Id::id));
  bool operator==(const Id&) const = default;
};

// perms: Perms bits (protocol.h).
struct ACL {
  int32_t perms = 0;
  Id id;
  static constexpr std::string_view kName = "ACL";
  static constexpr auto kFields = std::make_tuple(jute::F("perms", &ACL::perms), jute::F("id", &ACL::id));
  bool operator==(const ACL&) const = default;
};

struct Stat {
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
  static constexpr std::string_view kName = "Stat";
  static constexpr auto kFields = std::make_tuple(
      jute::F("czxid", &Stat::czxid),
      jute::F("mzxid", &Stat::mzxid),
      jute::F("ctime", &Stat::ctime),
      jute::F("mtime", &Stat::mtime),
      jute::F("version", &Stat::version),
      jute::F("cversion", &Stat::cversion),
      jute::F("aversion", &Stat::aversion),
      jute::F("ephemeralOwner", &Stat::ephemeral_owner),
      jute::F("dataLength", &Stat::data_length),
      jute::F("numChildren", &Stat::num_children),
      jute::F("pzxid", &Stat::pzxid));
  bool operator==(const Stat&) const = default;
};

// The server-side node metadata of snapshots.
struct StatPersisted {
  int64_t czxid = 0;
  int64_t mzxid = 0;
  int64_t ctime = 0;
  int64_t mtime = 0;
  int32_t version = 0;
  int32_t cversion = 0;
  int32_t aversion = 0;
  int64_t ephemeral_owner = 0;
  int64_t pzxid = 0;
  static constexpr std::string_view kName = "StatPersisted";
  static constexpr auto kFields = std::make_tuple(
      jute::F("czxid", &StatPersisted::czxid),
      jute::F("mzxid", &StatPersisted::mzxid),
      jute::F("ctime", &StatPersisted::ctime),
      jute::F("mtime", &StatPersisted::mtime),
      jute::F("version", &StatPersisted::version),
      jute::F("cversion", &StatPersisted::cversion),
      jute::F("aversion", &StatPersisted::aversion),
      jute::F("ephemeralOwner", &StatPersisted::ephemeral_owner),
      jute::F("pzxid", &StatPersisted::pzxid));
  bool operator==(const StatPersisted&) const = default;
};

// One entry of whoAmI's answer.
struct ClientInfo {
  std::string auth_scheme;
  std::string user;
  static constexpr std::string_view kName = "ClientInfo";
  static constexpr auto kFields = std::make_tuple(
      jute::F("authScheme", &ClientInfo::auth_scheme),
      jute::F("user", &ClientInfo::user));
  bool operator==(const ClientInfo&) const = default;
};

// ---- module org.apache.zookeeper.proto ----

// The first packet of a connection, sent without a RequestHeader. readOnly
// is not in 3.8's zookeeper.jute: clients since 3.4 append it by hand and
// the server reads it only if present (it joined the record in 3.10).
struct ConnectRequest {
  int32_t protocol_version = 0;
  int64_t last_zxid_seen = 0;
  int32_t time_out = 0;
  int64_t session_id = 0;
  jute::Buffer passwd;
  bool read_only = false;
  static constexpr std::string_view kName = "ConnectRequest";
  static constexpr auto kFields = std::make_tuple(
      jute::F("protocolVersion", &ConnectRequest::protocol_version),
      jute::F("lastZxidSeen", &ConnectRequest::last_zxid_seen),
      jute::F("timeOut", &ConnectRequest::time_out),
      jute::F("sessionId", &ConnectRequest::session_id),
      jute::F("passwd", &ConnectRequest::passwd),
      jute::Trailing("readOnly", &ConnectRequest::read_only));
  bool operator==(const ConnectRequest&) const = default;
};

// The server's answer to ConnectRequest, readOnly appended the same way.
struct ConnectResponse {
  int32_t protocol_version = 0;
  int32_t time_out = 0;
  int64_t session_id = 0;
  jute::Buffer passwd;
  bool read_only = false;
  static constexpr std::string_view kName = "ConnectResponse";
  static constexpr auto kFields = std::make_tuple(
      jute::F("protocolVersion", &ConnectResponse::protocol_version),
      jute::F("timeOut", &ConnectResponse::time_out),
      jute::F("sessionId", &ConnectResponse::session_id),
      jute::F("passwd", &ConnectResponse::passwd),
      jute::Trailing("readOnly", &ConnectResponse::read_only));
  bool operator==(const ConnectResponse&) const = default;
};

struct SetWatches {
  int64_t relative_zxid = 0;
  std::vector<std::string> data_watches;
  std::vector<std::string> exist_watches;
  std::vector<std::string> child_watches;
  static constexpr std::string_view kName = "SetWatches";
  static constexpr auto kFields = std::make_tuple(
      jute::F("relativeZxid", &SetWatches::relative_zxid),
      jute::F("dataWatches", &SetWatches::data_watches),
      jute::F("existWatches", &SetWatches::exist_watches),
      jute::F("childWatches", &SetWatches::child_watches));
  bool operator==(const SetWatches&) const = default;
};

struct SetWatches2 {
  int64_t relative_zxid = 0;
  std::vector<std::string> data_watches;
  std::vector<std::string> exist_watches;
  std::vector<std::string> child_watches;
  std::vector<std::string> persistent_watches;
  std::vector<std::string> persistent_recursive_watches;
  static constexpr std::string_view kName = "SetWatches2";
  static constexpr auto kFields = std::make_tuple(
      jute::F("relativeZxid", &SetWatches2::relative_zxid),
      jute::F("dataWatches", &SetWatches2::data_watches),
      jute::F("existWatches", &SetWatches2::exist_watches),
      jute::F("childWatches", &SetWatches2::child_watches),
      jute::F("persistentWatches", &SetWatches2::persistent_watches),
      jute::F("persistentRecursiveWatches", &SetWatches2::persistent_recursive_watches));
  bool operator==(const SetWatches2&) const = default;
};

// Precedes every request body but the connect: xid (a client sequence
// number or a special Xid, protocol.h) and type (OpCode).
struct RequestHeader {
  int32_t xid = 0;
  int32_t type = 0;
  static constexpr std::string_view kName = "RequestHeader";
  static constexpr auto kFields = std::make_tuple(
      jute::F("xid", &RequestHeader::xid),
      jute::F("type", &RequestHeader::type));
  bool operator==(const RequestHeader&) const = default;
};

// Precedes each op of a multi request/response (multi.h).
struct MultiHeader {
  int32_t type = 0;
  bool done = false;
  int32_t err = 0;
  static constexpr std::string_view kName = "MultiHeader";
  static constexpr auto kFields = std::make_tuple(
      jute::F("type", &MultiHeader::type),
      jute::F("done", &MultiHeader::done),
      jute::F("err", &MultiHeader::err));
  bool operator==(const MultiHeader&) const = default;
};

// opcode auth (xid -4); type is unused (0).
struct AuthPacket {
  int32_t type = 0;
  std::string scheme;
  jute::Buffer auth;
  static constexpr std::string_view kName = "AuthPacket";
  static constexpr auto kFields = std::make_tuple(
      jute::F("type", &AuthPacket::type),
      jute::F("scheme", &AuthPacket::scheme),
      jute::F("auth", &AuthPacket::auth));
  bool operator==(const AuthPacket&) const = default;
};

// Precedes every response and notification: xid echoes the request's,
// zxid is the server's last zxid, err an ErrorCode.
struct ReplyHeader {
  int32_t xid = 0;
  int64_t zxid = 0;
  int32_t err = 0;
  static constexpr std::string_view kName = "ReplyHeader";
  static constexpr auto kFields = std::make_tuple(
      jute::F("xid", &ReplyHeader::xid),
      jute::F("zxid", &ReplyHeader::zxid),
      jute::F("err", &ReplyHeader::err));
  bool operator==(const ReplyHeader&) const = default;
};

struct GetDataRequest {
  std::string path;
  bool watch = false;
  static constexpr std::string_view kName = "GetDataRequest";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &GetDataRequest::path),
      jute::F("watch", &GetDataRequest::watch));
  bool operator==(const GetDataRequest&) const = default;
};

struct SetDataRequest {
  std::string path;
  jute::Buffer data;
  int32_t version = 0;
  static constexpr std::string_view kName = "SetDataRequest";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &SetDataRequest::path),
      jute::F("data", &SetDataRequest::data),
      jute::F("version", &SetDataRequest::version));
  bool operator==(const SetDataRequest&) const = default;
};

// The server tells null strings (not part of this reconfig) from empty ones.
struct ReconfigRequest {
  std::optional<std::string> joining_servers;
  std::optional<std::string> leaving_servers;
  std::optional<std::string> new_members;
  int64_t cur_config_id = 0;
  static constexpr std::string_view kName = "ReconfigRequest";
  static constexpr auto kFields = std::make_tuple(
      jute::F("joiningServers", &ReconfigRequest::joining_servers),
      jute::F("leavingServers", &ReconfigRequest::leaving_servers),
      jute::F("newMembers", &ReconfigRequest::new_members),
      jute::F("curConfigId", &ReconfigRequest::cur_config_id));
  bool operator==(const ReconfigRequest&) const = default;
};

struct SetDataResponse {
  Stat stat;
  static constexpr std::string_view kName = "SetDataResponse";
  static constexpr auto kFields = std::make_tuple(jute::F("stat", &SetDataResponse::stat));
  bool operator==(const SetDataResponse&) const = default;
};

// opcode sasl: the client's token; answered with SetSASLResponse.
struct GetSASLRequest {
  jute::Buffer token;
  static constexpr std::string_view kName = "GetSASLRequest";
  static constexpr auto kFields = std::make_tuple(jute::F("token", &GetSASLRequest::token));
  bool operator==(const GetSASLRequest&) const = default;
};

struct SetSASLRequest {
  jute::Buffer token;
  static constexpr std::string_view kName = "SetSASLRequest";
  static constexpr auto kFields = std::make_tuple(jute::F("token", &SetSASLRequest::token));
  bool operator==(const SetSASLRequest&) const = default;
};

struct SetSASLResponse {
  jute::Buffer token;
  static constexpr std::string_view kName = "SetSASLResponse";
  static constexpr auto kFields = std::make_tuple(jute::F("token", &SetSASLResponse::token));
  bool operator==(const SetSASLResponse&) const = default;
};

// opcodes create, create2, createContainer; flags is a CreateMode.
struct CreateRequest {
  std::string path;
  jute::Buffer data;
  std::vector<ACL> acl;
  int32_t flags = 0;
  static constexpr std::string_view kName = "CreateRequest";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &CreateRequest::path),
      jute::F("data", &CreateRequest::data),
      jute::F("acl", &CreateRequest::acl),
      jute::F("flags", &CreateRequest::flags));
  bool operator==(const CreateRequest&) const = default;
};

// opcode createTTL; ttl in milliseconds.
struct CreateTTLRequest {
  std::string path;
  jute::Buffer data;
  std::vector<ACL> acl;
  int32_t flags = 0;
  int64_t ttl = 0;
  static constexpr std::string_view kName = "CreateTTLRequest";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &CreateTTLRequest::path),
      jute::F("data", &CreateTTLRequest::data),
      jute::F("acl", &CreateTTLRequest::acl),
      jute::F("flags", &CreateTTLRequest::flags),
      jute::F("ttl", &CreateTTLRequest::ttl));
  bool operator==(const CreateTTLRequest&) const = default;
};

// version -1 matches any version (as in setData, check, setACL).
struct DeleteRequest {
  std::string path;
  int32_t version = 0;
  static constexpr std::string_view kName = "DeleteRequest";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &DeleteRequest::path),
      jute::F("version", &DeleteRequest::version));
  bool operator==(const DeleteRequest&) const = default;
};

struct GetChildrenRequest {
  std::string path;
  bool watch = false;
  static constexpr std::string_view kName = "GetChildrenRequest";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &GetChildrenRequest::path),
      jute::F("watch", &GetChildrenRequest::watch));
  bool operator==(const GetChildrenRequest&) const = default;
};

struct GetAllChildrenNumberRequest {
  std::string path;
  static constexpr std::string_view kName = "GetAllChildrenNumberRequest";
  static constexpr auto kFields = std::make_tuple(jute::F("path", &GetAllChildrenNumberRequest::path));
  bool operator==(const GetAllChildrenNumberRequest&) const = default;
};

struct GetChildren2Request {
  std::string path;
  bool watch = false;
  static constexpr std::string_view kName = "GetChildren2Request";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &GetChildren2Request::path),
      jute::F("watch", &GetChildren2Request::watch));
  bool operator==(const GetChildren2Request&) const = default;
};

struct CheckVersionRequest {
  std::string path;
  int32_t version = 0;
  static constexpr std::string_view kName = "CheckVersionRequest";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &CheckVersionRequest::path),
      jute::F("version", &CheckVersionRequest::version));
  bool operator==(const CheckVersionRequest&) const = default;
};

// Max-children records exist in the jute file but no opcode uses them.
struct GetMaxChildrenRequest {
  std::string path;
  static constexpr std::string_view kName = "GetMaxChildrenRequest";
  static constexpr auto kFields = std::make_tuple(jute::F("path", &GetMaxChildrenRequest::path));
  bool operator==(const GetMaxChildrenRequest&) const = default;
};

struct GetMaxChildrenResponse {
  int32_t max = 0;
  static constexpr std::string_view kName = "GetMaxChildrenResponse";
  static constexpr auto kFields = std::make_tuple(jute::F("max", &GetMaxChildrenResponse::max));
  bool operator==(const GetMaxChildrenResponse&) const = default;
};

struct SetMaxChildrenRequest {
  std::string path;
  int32_t max = 0;
  static constexpr std::string_view kName = "SetMaxChildrenRequest";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &SetMaxChildrenRequest::path),
      jute::F("max", &SetMaxChildrenRequest::max));
  bool operator==(const SetMaxChildrenRequest&) const = default;
};

struct SyncRequest {
  std::string path;
  static constexpr std::string_view kName = "SyncRequest";
  static constexpr auto kFields = std::make_tuple(jute::F("path", &SyncRequest::path));
  bool operator==(const SyncRequest&) const = default;
};

struct SyncResponse {
  std::string path;
  static constexpr std::string_view kName = "SyncResponse";
  static constexpr auto kFields = std::make_tuple(jute::F("path", &SyncResponse::path));
  bool operator==(const SyncResponse&) const = default;
};

struct GetACLRequest {
  std::string path;
  static constexpr std::string_view kName = "GetACLRequest";
  static constexpr auto kFields = std::make_tuple(jute::F("path", &GetACLRequest::path));
  bool operator==(const GetACLRequest&) const = default;
};

struct SetACLRequest {
  std::string path;
  std::vector<ACL> acl;
  int32_t version = 0;
  static constexpr std::string_view kName = "SetACLRequest";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &SetACLRequest::path),
      jute::F("acl", &SetACLRequest::acl),
      jute::F("version", &SetACLRequest::version));
  bool operator==(const SetACLRequest&) const = default;
};

struct SetACLResponse {
  Stat stat;
  static constexpr std::string_view kName = "SetACLResponse";
  static constexpr auto kFields = std::make_tuple(jute::F("stat", &SetACLResponse::stat));
  bool operator==(const SetACLResponse&) const = default;
};

// mode: AddWatchMode.
struct AddWatchRequest {
  std::string path;
  int32_t mode = 0;
  static constexpr std::string_view kName = "AddWatchRequest";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &AddWatchRequest::path),
      jute::F("mode", &AddWatchRequest::mode));
  bool operator==(const AddWatchRequest&) const = default;
};

// A notification (xid -1): type is an EventType, state a KeeperState.
struct WatcherEvent {
  int32_t type = 0;
  int32_t state = 0;
  std::string path;
  static constexpr std::string_view kName = "WatcherEvent";
  static constexpr auto kFields = std::make_tuple(
      jute::F("type", &WatcherEvent::type),
      jute::F("state", &WatcherEvent::state),
      jute::F("path", &WatcherEvent::path));
  bool operator==(const WatcherEvent&) const = default;
};

// The body of addWatch's answer and of an error in a multi response.
struct ErrorResponse {
  int32_t err = 0;
  static constexpr std::string_view kName = "ErrorResponse";
  static constexpr auto kFields = std::make_tuple(jute::F("err", &ErrorResponse::err));
  bool operator==(const ErrorResponse&) const = default;
};

struct CreateResponse {
  std::string path;
  static constexpr std::string_view kName = "CreateResponse";
  static constexpr auto kFields = std::make_tuple(jute::F("path", &CreateResponse::path));
  bool operator==(const CreateResponse&) const = default;
};

struct Create2Response {
  std::string path;
  Stat stat;
  static constexpr std::string_view kName = "Create2Response";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &Create2Response::path),
      jute::F("stat", &Create2Response::stat));
  bool operator==(const Create2Response&) const = default;
};

struct ExistsRequest {
  std::string path;
  bool watch = false;
  static constexpr std::string_view kName = "ExistsRequest";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &ExistsRequest::path),
      jute::F("watch", &ExistsRequest::watch));
  bool operator==(const ExistsRequest&) const = default;
};

struct ExistsResponse {
  Stat stat;
  static constexpr std::string_view kName = "ExistsResponse";
  static constexpr auto kFields = std::make_tuple(jute::F("stat", &ExistsResponse::stat));
  bool operator==(const ExistsResponse&) const = default;
};

struct GetDataResponse {
  jute::Buffer data;
  Stat stat;
  static constexpr std::string_view kName = "GetDataResponse";
  static constexpr auto kFields = std::make_tuple(
      jute::F("data", &GetDataResponse::data),
      jute::F("stat", &GetDataResponse::stat));
  bool operator==(const GetDataResponse&) const = default;
};

struct GetChildrenResponse {
  std::vector<std::string> children;
  static constexpr std::string_view kName = "GetChildrenResponse";
  static constexpr auto kFields = std::make_tuple(jute::F("children", &GetChildrenResponse::children));
  bool operator==(const GetChildrenResponse&) const = default;
};

struct GetAllChildrenNumberResponse {
  int32_t total_number = 0;
  static constexpr std::string_view kName = "GetAllChildrenNumberResponse";
  static constexpr auto kFields = std::make_tuple(
      jute::F("totalNumber", &GetAllChildrenNumberResponse::total_number));
  bool operator==(const GetAllChildrenNumberResponse&) const = default;
};

struct GetChildren2Response {
  std::vector<std::string> children;
  Stat stat;
  static constexpr std::string_view kName = "GetChildren2Response";
  static constexpr auto kFields = std::make_tuple(
      jute::F("children", &GetChildren2Response::children),
      jute::F("stat", &GetChildren2Response::stat));
  bool operator==(const GetChildren2Response&) const = default;
};

struct GetACLResponse {
  std::vector<ACL> acl;
  Stat stat;
  static constexpr std::string_view kName = "GetACLResponse";
  static constexpr auto kFields = std::make_tuple(
      jute::F("acl", &GetACLResponse::acl),
      jute::F("stat", &GetACLResponse::stat));
  bool operator==(const GetACLResponse&) const = default;
};

// type: WatcherType (protocol.h).
struct CheckWatchesRequest {
  std::string path;
  int32_t type = 0;
  static constexpr std::string_view kName = "CheckWatchesRequest";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &CheckWatchesRequest::path),
      jute::F("type", &CheckWatchesRequest::type));
  bool operator==(const CheckWatchesRequest&) const = default;
};

// type: WatcherType (protocol.h).
struct RemoveWatchesRequest {
  std::string path;
  int32_t type = 0;
  static constexpr std::string_view kName = "RemoveWatchesRequest";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &RemoveWatchesRequest::path),
      jute::F("type", &RemoveWatchesRequest::type));
  bool operator==(const RemoveWatchesRequest&) const = default;
};

struct GetEphemeralsRequest {
  std::string prefix_path;
  static constexpr std::string_view kName = "GetEphemeralsRequest";
  static constexpr auto kFields = std::make_tuple(jute::F("prefixPath", &GetEphemeralsRequest::prefix_path));
  bool operator==(const GetEphemeralsRequest&) const = default;
};

struct GetEphemeralsResponse {
  std::vector<std::string> ephemerals;
  static constexpr std::string_view kName = "GetEphemeralsResponse";
  static constexpr auto kFields = std::make_tuple(jute::F("ephemerals", &GetEphemeralsResponse::ephemerals));
  bool operator==(const GetEphemeralsResponse&) const = default;
};

struct WhoAmIResponse {
  std::vector<ClientInfo> client_info;
  static constexpr std::string_view kName = "WhoAmIResponse";
  static constexpr auto kFields = std::make_tuple(jute::F("clientInfo", &WhoAmIResponse::client_info));
  bool operator==(const WhoAmIResponse&) const = default;
};

// ---- org.apache.zookeeper.server.quorum ----

// ---- org.apache.zookeeper.server.persistence ----

// ---- module org.apache.zookeeper.txn ----

struct TxnDigest {
  int32_t version = 0;
  int64_t tree_digest = 0;
  static constexpr std::string_view kName = "TxnDigest";
  static constexpr auto kFields = std::make_tuple(
      jute::F("version", &TxnDigest::version),
      jute::F("treeDigest", &TxnDigest::tree_digest));
  bool operator==(const TxnDigest&) const = default;
};

// Precedes each transaction in the txn log; type is the OpCode.
struct TxnHeader {
  int64_t client_id = 0;
  int32_t cxid = 0;
  int64_t zxid = 0;
  int64_t time = 0;
  int32_t type = 0;
  static constexpr std::string_view kName = "TxnHeader";
  static constexpr auto kFields = std::make_tuple(
      jute::F("clientId", &TxnHeader::client_id),
      jute::F("cxid", &TxnHeader::cxid),
      jute::F("zxid", &TxnHeader::zxid),
      jute::F("time", &TxnHeader::time),
      jute::F("type", &TxnHeader::type));
  bool operator==(const TxnHeader&) const = default;
};

// The pre-3.3 CreateTxn, still read from old logs.
struct CreateTxnV0 {
  std::string path;
  jute::Buffer data;
  std::vector<ACL> acl;
  bool ephemeral = false;
  static constexpr std::string_view kName = "CreateTxnV0";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &CreateTxnV0::path),
      jute::F("data", &CreateTxnV0::data),
      jute::F("acl", &CreateTxnV0::acl),
      jute::F("ephemeral", &CreateTxnV0::ephemeral));
  bool operator==(const CreateTxnV0&) const = default;
};

struct CreateTxn {
  std::string path;
  jute::Buffer data;
  std::vector<ACL> acl;
  bool ephemeral = false;
  int32_t parent_cversion = 0;
  static constexpr std::string_view kName = "CreateTxn";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &CreateTxn::path),
      jute::F("data", &CreateTxn::data),
      jute::F("acl", &CreateTxn::acl),
      jute::F("ephemeral", &CreateTxn::ephemeral),
      jute::F("parentCVersion", &CreateTxn::parent_cversion));
  bool operator==(const CreateTxn&) const = default;
};

struct CreateTTLTxn {
  std::string path;
  jute::Buffer data;
  std::vector<ACL> acl;
  int32_t parent_cversion = 0;
  int64_t ttl = 0;
  static constexpr std::string_view kName = "CreateTTLTxn";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &CreateTTLTxn::path),
      jute::F("data", &CreateTTLTxn::data),
      jute::F("acl", &CreateTTLTxn::acl),
      jute::F("parentCVersion", &CreateTTLTxn::parent_cversion),
      jute::F("ttl", &CreateTTLTxn::ttl));
  bool operator==(const CreateTTLTxn&) const = default;
};

struct CreateContainerTxn {
  std::string path;
  jute::Buffer data;
  std::vector<ACL> acl;
  int32_t parent_cversion = 0;
  static constexpr std::string_view kName = "CreateContainerTxn";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &CreateContainerTxn::path),
      jute::F("data", &CreateContainerTxn::data),
      jute::F("acl", &CreateContainerTxn::acl),
      jute::F("parentCVersion", &CreateContainerTxn::parent_cversion));
  bool operator==(const CreateContainerTxn&) const = default;
};

struct DeleteTxn {
  std::string path;
  static constexpr std::string_view kName = "DeleteTxn";
  static constexpr auto kFields = std::make_tuple(jute::F("path", &DeleteTxn::path));
  bool operator==(const DeleteTxn&) const = default;
};

struct SetDataTxn {
  std::string path;
  jute::Buffer data;
  int32_t version = 0;
  static constexpr std::string_view kName = "SetDataTxn";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &SetDataTxn::path),
      jute::F("data", &SetDataTxn::data),
      jute::F("version", &SetDataTxn::version));
  bool operator==(const SetDataTxn&) const = default;
};

struct CheckVersionTxn {
  std::string path;
  int32_t version = 0;
  static constexpr std::string_view kName = "CheckVersionTxn";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &CheckVersionTxn::path),
      jute::F("version", &CheckVersionTxn::version));
  bool operator==(const CheckVersionTxn&) const = default;
};

struct SetACLTxn {
  std::string path;
  std::vector<ACL> acl;
  int32_t version = 0;
  static constexpr std::string_view kName = "SetACLTxn";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &SetACLTxn::path),
      jute::F("acl", &SetACLTxn::acl),
      jute::F("version", &SetACLTxn::version));
  bool operator==(const SetACLTxn&) const = default;
};

struct SetMaxChildrenTxn {
  std::string path;
  int32_t max = 0;
  static constexpr std::string_view kName = "SetMaxChildrenTxn";
  static constexpr auto kFields = std::make_tuple(
      jute::F("path", &SetMaxChildrenTxn::path),
      jute::F("max", &SetMaxChildrenTxn::max));
  bool operator==(const SetMaxChildrenTxn&) const = default;
};

// timeOut: the negotiated session timeout in milliseconds.
struct CreateSessionTxn {
  int32_t time_out = 0;
  static constexpr std::string_view kName = "CreateSessionTxn";
  static constexpr auto kFields = std::make_tuple(jute::F("timeOut", &CreateSessionTxn::time_out));
  bool operator==(const CreateSessionTxn&) const = default;
};

struct CloseSessionTxn {
  std::vector<std::string> paths2_delete;
  static constexpr std::string_view kName = "CloseSessionTxn";
  static constexpr auto kFields = std::make_tuple(jute::F("paths2Delete", &CloseSessionTxn::paths2_delete));
  bool operator==(const CloseSessionTxn&) const = default;
};

struct ErrorTxn {
  int32_t err = 0;
  static constexpr std::string_view kName = "ErrorTxn";
  static constexpr auto kFields = std::make_tuple(jute::F("err", &ErrorTxn::err));
  bool operator==(const ErrorTxn&) const = default;
};

// One op of a MultiTxn: its OpCode and its encoded txn record.
struct Txn {
  int32_t type = 0;
  jute::Buffer data;
  static constexpr std::string_view kName = "Txn";
  static constexpr auto kFields = std::make_tuple(jute::F("type", &Txn::type), jute::F("data", &Txn::data));
  bool operator==(const Txn&) const = default;
};

struct MultiTxn {
  std::vector<Txn> txns;
  static constexpr std::string_view kName = "MultiTxn";
  static constexpr auto kFields = std::make_tuple(jute::F("txns", &MultiTxn::txns));
  bool operator==(const MultiTxn&) const = default;
};

}  // namespace dougong::zk
