// ZkClient's operations: each builds its request, hands it to the session
// (client_session.cpp) and turns the reply into the public types; the Co
// and blocking forms wrap the callback form.
#include "dougong/zk/client.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "zk/client_connect_string.h"
#include "zk/client_session.h"
#include "zk/packet.h"
#include "zk/protocol.h"
#include "zk/requests.h"

namespace asio = boost::asio;

namespace dougong::zk {

namespace {

using client::AddChroot;
using client::StripChroot;
using client::ValidatePath;
using client::WatchKind;

ZkStat FromStat(const Stat& s) {
  return ZkStat{s.czxid, s.mzxid, s.ctime, s.mtime, s.version, s.cversion, s.aversion, s.ephemeral_owner,
                s.data_length, s.num_children, s.pzxid};
}

std::vector<ACL> ToAcl(const std::vector<ZkAcl>& acl) {
  std::vector<ACL> out;
  out.reserve(acl.size());
  for (const auto& a : acl) out.push_back(ACL{a.perms, Id{a.scheme, a.id}});
  return out;
}

std::vector<ZkAcl> FromAcl(const std::vector<ACL>& acl) {
  std::vector<ZkAcl> out;
  out.reserve(acl.size());
  for (const auto& a : acl) out.push_back(ZkAcl{a.perms, a.id.scheme, a.id.id});
  return out;
}

Status BadArgs(const Status& st) { return ZkErrorStatus(ZkError::kBadArguments, st.message()); }

// A value the blocking and coroutine forms wait for: Status or Result<T>.
template <class V>
V Block(ZkClient::Impl& impl, const std::function<void(std::function<void(V)>)>& start) {
  if (impl.OnOwnThread()) {
    return V(FailedPrecondition("blocking ZkClient call from the client's own thread (a callback or "
                                "watcher) would deadlock; use the Async or Co form"));
  }
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<V> value;
  };
  auto w = std::make_shared<Waiter>();
  start([w](V v) {
    std::lock_guard lock(w->mu);
    w->value.emplace(std::move(v));
    w->cv.notify_one();
  });
  std::unique_lock lock(w->mu);
  w->cv.wait(lock, [&] { return w->value.has_value(); });
  return std::move(*w->value);
}

template <class V>
Awaitable<V> CoWait(std::function<void(std::function<void(V)>)> start) {
  // The initiation captures only a raw pointer: GCC 12 may destroy the
  // by-value parameters of a coroutine (asio's initiation) twice, which is
  // harmless for trivially destructible captures only.
  auto* owned = new std::function<void(std::function<void(V)>)>(std::move(start));
  return asio::async_initiate<decltype(asio::use_awaitable), void(V)>(
      [owned](auto handler) {
        std::unique_ptr<std::function<void(std::function<void(V)>)>> fn(owned);
        using Handler = decltype(handler);
        auto executor = asio::get_associated_executor(handler);
        auto shared = std::make_shared<Handler>(std::move(handler));
        (*fn)([shared, executor](V v) {
          // Resume the coroutine on its own executor, not the event thread.
          asio::post(executor, [shared, v = std::move(v)]() mutable { std::move (*shared)(std::move(v)); });
        });
      },
      asio::use_awaitable);
}

struct WatchSpec {
  std::optional<WatchKind> kind;
  std::string path;
  ZkWatcher watcher;
};

// Encodes the request and submits it; `convert` turns a successful reply's
// body into the result, `on_error` may turn an error code into a result
// (exists: NONODE is an answer).
template <class T, class Convert>
void Invoke(ZkClient::Impl& impl, OpCode op, const RequestBody& body, std::string what, ZkCallback<T> cb,
            Convert convert, std::function<std::optional<Result<T>>(int32_t)> on_error = {},
            WatchSpec watch = {}) {
  client::PendingRequest req;
  req.opcode = static_cast<int32_t>(op);
  size_t begin = BeginPacket(&req.packet);
  if (Status st = EncodeRequest(RequestHeader{0, req.opcode}, body, &req.packet); !st.ok()) {
    impl.PostEvent([cb, st] { cb(BadArgs(st)); });
    return;
  }
  EndPacket(&req.packet, begin);
  req.watch_kind = watch.kind;
  req.watch_path = std::move(watch.path);
  req.watcher = std::move(watch.watcher);
  ZkClient::Impl* ip = &impl;
  req.on_reply = [ip, op, what = std::move(what), cb = std::move(cb), convert = std::move(convert),
                  on_error = std::move(on_error)](int32_t err, std::string_view bytes) {
    std::optional<Result<T>> r;
    if (err != 0) {
      if (on_error) r = on_error(err);
      if (!r) r.emplace(ZkErrorStatus(static_cast<ZkError>(err), what));
    } else {
      auto decoded = DecodeResponseBody(static_cast<int32_t>(op), bytes);
      if (!decoded.ok()) {
        r.emplace(ZkErrorStatus(ZkError::kMarshallingError, fmt::format("{}: {}", what, decoded.status().message())));
      } else {
        r.emplace(convert(*decoded));
      }
    }
    ip->PostEvent([cb, r = std::move(*r)]() mutable { cb(std::move(r)); });
  };
  impl.Submit(std::move(req));
}

template <class T>
void FailLater(ZkClient::Impl& impl, const ZkCallback<T>& cb, Status st) {
  impl.PostEvent([cb, st = std::move(st)] { cb(st); });
}


// Status-only operations ride on a Result<bool>.
ZkCallback<bool> FromDone(ZkDone done) {
  return [done = std::move(done)](Result<bool> r) { done(r.ok() ? Status::Ok() : r.status()); };
}

ZkOp::Type TypeOfResult(int32_t type) {
  switch (static_cast<OpCode>(type)) {
    case OpCode::kCreate:
    case OpCode::kCreate2:
    case OpCode::kCreateContainer:
    case OpCode::kCreateTTL: return ZkOp::Type::kCreate;
    case OpCode::kDelete: return ZkOp::Type::kDelete;
    case OpCode::kSetData: return ZkOp::Type::kSetData;
    case OpCode::kGetData: return ZkOp::Type::kGetData;
    case OpCode::kGetChildren: return ZkOp::Type::kGetChildren;
    default: return ZkOp::Type::kCheck;
  }
}

const char* OpName(ZkOp::Type t) {
  switch (t) {
    case ZkOp::Type::kCreate: return "create";
    case ZkOp::Type::kDelete: return "delete";
    case ZkOp::Type::kSetData: return "setData";
    case ZkOp::Type::kCheck: return "check";
    case ZkOp::Type::kGetData: return "getData";
    case ZkOp::Type::kGetChildren: return "getChildren";
  }
  return "?";
}

// The create request for a mode: create2, createContainer or createTTL.
Result<std::pair<OpCode, MultiOpBody>> BuildCreate(const std::string& chroot, std::string_view path,
                                                   std::string_view data, const ZkCreateOptions& o) {
  auto mode = static_cast<int32_t>(o.mode);
  if (!IsValidCreateMode(mode)) return BadArgs(InvalidArgument(fmt::format("bad create mode {}", mode)));
  if (Status st = ValidatePath(path, IsSequential(static_cast<CreateMode>(mode))); !st.ok()) return BadArgs(st);
  if (o.acl.empty()) return ZkErrorStatus(ZkError::kInvalidACL, fmt::format("{}: empty ACL", path));
  std::string full = AddChroot(chroot, path);
  if (IsTtl(static_cast<CreateMode>(mode))) {
    if (o.ttl_ms <= 0)
      return BadArgs(InvalidArgument(fmt::format("{}: a TTL mode needs ttl_ms > 0", path)));
    return std::pair<OpCode, MultiOpBody>{
        OpCode::kCreateTTL, CreateTTLRequest{full, jute::Buffer(data), ToAcl(o.acl), mode, o.ttl_ms}};
  }
  if (o.ttl_ms != 0) return BadArgs(InvalidArgument(fmt::format("{}: ttl_ms needs a TTL mode", path)));
  OpCode op = o.mode == ZkCreateMode::kContainer ? OpCode::kCreateContainer : OpCode::kCreate2;
  return std::pair<OpCode, MultiOpBody>{op, CreateRequest{full, jute::Buffer(data), ToAcl(o.acl), mode}};
}

}  // namespace

// ---- ZkTransaction ----

ZkTransaction& ZkTransaction::Create(std::string path, std::string data, const ZkCreateOptions& options) {
  ZkOp op;
  op.type = ZkOp::Type::kCreate;
  op.path = std::move(path);
  op.data = std::move(data);
  op.create = options;
  ops_.push_back(std::move(op));
  return *this;
}
ZkTransaction& ZkTransaction::Delete(std::string path, int32_t version) {
  ops_.push_back(ZkOp{ZkOp::Type::kDelete, std::move(path), {}, version, {}});
  return *this;
}
ZkTransaction& ZkTransaction::SetData(std::string path, std::string data, int32_t version) {
  ops_.push_back(ZkOp{ZkOp::Type::kSetData, std::move(path), std::move(data), version, {}});
  return *this;
}
ZkTransaction& ZkTransaction::Check(std::string path, int32_t version) {
  ops_.push_back(ZkOp{ZkOp::Type::kCheck, std::move(path), {}, version, {}});
  return *this;
}

// ---- ZkClient ----

Result<std::shared_ptr<ZkClient>> ZkClient::Create(std::string_view connect_string, ZkClientOptions options) {
  auto cs = client::ParseConnectString(connect_string);
  if (!cs.ok()) return cs.status();
  if (options.session_timeout.count() <= 0 || options.session_timeout.count() > INT32_MAX)
    return InvalidArgument(fmt::format("bad session timeout {} ms", options.session_timeout.count()));
  auto impl = std::make_shared<Impl>(std::move(*cs), std::move(options));
  impl->Start();
  return std::make_shared<ZkClient>(std::move(impl));
}

ZkClient::ZkClient(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

ZkClient::~ZkClient() {
  if (!impl_) return;
  if (impl_->OnOwnThread()) {
    // Dropped from a callback: the threads cannot join themselves.
    std::thread([impl = std::move(impl_)] { impl->Shutdown(); }).detach();
    return;
  }
  impl_->Shutdown();
}

Status ZkClient::WaitConnected(std::chrono::milliseconds timeout) { return impl_->WaitConnected(timeout); }
void ZkClient::AddStateListener(ZkStateListener listener) { impl_->AddStateListener(std::move(listener)); }
bool ZkClient::connected() const { return impl_->connected.load(); }
int64_t ZkClient::session_id() const { return impl_->session_id.load(); }
std::chrono::milliseconds ZkClient::negotiated_session_timeout() const {
  return std::chrono::milliseconds(impl_->negotiated_ms.load());
}
std::string ZkClient::connected_host() const { return impl_->connected_host(); }

// create

void ZkClient::AsyncCreateNode(std::string_view path, std::string_view data, const ZkCreateOptions& options,
                               ZkCallback<ZkCreated> cb) {
  auto built = BuildCreate(impl_->chroot(), path, data, options);
  if (!built.ok()) return FailLater(*impl_, cb, built.status());
  auto [op, body] = std::move(*built);
  RequestBody rb = std::visit([](auto&& b) -> RequestBody { return std::move(b); }, std::move(body));
  std::string chroot = impl_->chroot();
  Invoke<ZkCreated>(*impl_, op, rb, fmt::format("{} (create)", path), std::move(cb),
                    [chroot](ResponseBody& b) -> Result<ZkCreated> {
                      auto& r = std::get<Create2Response>(b);
                      return ZkCreated{StripChroot(chroot, r.path), FromStat(r.stat)};
                    });
}
Awaitable<Result<ZkCreated>> ZkClient::CoCreateNode(std::string_view path, std::string_view data,
                                                    const ZkCreateOptions& options) {
  return CoWait<Result<ZkCreated>>(
      [this, p = std::string(path), d = std::string(data), o = options](auto cb) {
        AsyncCreateNode(p, d, o, std::move(cb));
      });
}
Result<ZkCreated> ZkClient::CreateNode(std::string_view path, std::string_view data, const ZkCreateOptions& options) {
  return Block<Result<ZkCreated>>(*impl_, [&](auto cb) { AsyncCreateNode(path, data, options, std::move(cb)); });
}

// delete

void ZkClient::AsyncDelete(std::string_view path, int32_t version, ZkDone cb) {
  auto done = FromDone(std::move(cb));
  if (Status st = ValidatePath(path); !st.ok()) return FailLater(*impl_, done, BadArgs(st));
  if (path == "/") return FailLater(*impl_, done, BadArgs(InvalidArgument("cannot delete '/'")));
  Invoke<bool>(*impl_, OpCode::kDelete, DeleteRequest{AddChroot(impl_->chroot(), path), version},
               fmt::format("{} (delete)", path), std::move(done), [](ResponseBody&) -> Result<bool> { return true; });
}
Awaitable<Status> ZkClient::CoDelete(std::string_view path, int32_t version) {
  return CoWait<Status>([this, p = std::string(path), version](auto cb) { AsyncDelete(p, version, std::move(cb)); });
}
Status ZkClient::Delete(std::string_view path, int32_t version) {
  return Block<Status>(*impl_, [&](auto cb) { AsyncDelete(path, version, std::move(cb)); });
}

// exists

void ZkClient::AsyncExists(std::string_view path, ZkCallback<std::optional<ZkStat>> cb, ZkWatcher watcher) {
  using T = std::optional<ZkStat>;
  if (Status st = ValidatePath(path); !st.ok()) return FailLater(*impl_, cb, BadArgs(st));
  std::string full = AddChroot(impl_->chroot(), path);
  bool watch = static_cast<bool>(watcher);
  Invoke<T>(
      *impl_, OpCode::kExists, ExistsRequest{full, watch}, fmt::format("{} (exists)", path), std::move(cb),
      [](ResponseBody& b) -> Result<T> { return T(FromStat(std::get<ExistsResponse>(b).stat)); },
      [](int32_t err) -> std::optional<Result<T>> {
        if (err == static_cast<int32_t>(ErrorCode::kNoNode)) return Result<T>(T());
        return std::nullopt;
      },
      WatchSpec{watch ? std::optional(WatchKind::kData) : std::nullopt, full, std::move(watcher)});
}
Awaitable<Result<std::optional<ZkStat>>> ZkClient::CoExists(std::string_view path, const ZkWatcher& watcher) {
  return CoWait<Result<std::optional<ZkStat>>>(
      [this, p = std::string(path), w = watcher](auto cb) { AsyncExists(p, std::move(cb), w); });
}
Result<std::optional<ZkStat>> ZkClient::Exists(std::string_view path, ZkWatcher watcher) {
  return Block<Result<std::optional<ZkStat>>>(*impl_, [&](auto cb) { AsyncExists(path, std::move(cb), watcher); });
}

// getData

void ZkClient::AsyncGetData(std::string_view path, ZkCallback<ZkData> cb, ZkWatcher watcher) {
  if (Status st = ValidatePath(path); !st.ok()) return FailLater(*impl_, cb, BadArgs(st));
  std::string full = AddChroot(impl_->chroot(), path);
  bool watch = static_cast<bool>(watcher);
  Invoke<ZkData>(
      *impl_, OpCode::kGetData, GetDataRequest{full, watch}, fmt::format("{} (getData)", path), std::move(cb),
      [](ResponseBody& b) -> Result<ZkData> {
        auto& r = std::get<GetDataResponse>(b);
        return ZkData{std::move(r.data.bytes), r.data.is_null, FromStat(r.stat)};
      },
      {}, WatchSpec{watch ? std::optional(WatchKind::kData) : std::nullopt, full, std::move(watcher)});
}
Awaitable<Result<ZkData>> ZkClient::CoGetData(std::string_view path, const ZkWatcher& watcher) {
  return CoWait<Result<ZkData>>(
      [this, p = std::string(path), w = watcher](auto cb) { AsyncGetData(p, std::move(cb), w); });
}
Result<ZkData> ZkClient::GetData(std::string_view path, ZkWatcher watcher) {
  return Block<Result<ZkData>>(*impl_, [&](auto cb) { AsyncGetData(path, std::move(cb), watcher); });
}

// setData

void ZkClient::AsyncSetData(std::string_view path, std::string_view data, int32_t version, ZkCallback<ZkStat> cb) {
  if (Status st = ValidatePath(path); !st.ok()) return FailLater(*impl_, cb, BadArgs(st));
  Invoke<ZkStat>(*impl_, OpCode::kSetData,
                 SetDataRequest{AddChroot(impl_->chroot(), path), jute::Buffer(data), version},
                 fmt::format("{} (setData)", path), std::move(cb),
                 [](ResponseBody& b) -> Result<ZkStat> { return FromStat(std::get<SetDataResponse>(b).stat); });
}
Awaitable<Result<ZkStat>> ZkClient::CoSetData(std::string_view path, std::string_view data, int32_t version) {
  return CoWait<Result<ZkStat>>([this, p = std::string(path), d = std::string(data), version](auto cb) {
    AsyncSetData(p, d, version, std::move(cb));
  });
}
Result<ZkStat> ZkClient::SetData(std::string_view path, std::string_view data, int32_t version) {
  return Block<Result<ZkStat>>(*impl_, [&](auto cb) { AsyncSetData(path, data, version, std::move(cb)); });
}

// getACL / setACL

void ZkClient::AsyncGetAcl(std::string_view path, ZkCallback<ZkAclResult> cb) {
  if (Status st = ValidatePath(path); !st.ok()) return FailLater(*impl_, cb, BadArgs(st));
  Invoke<ZkAclResult>(*impl_, OpCode::kGetACL, GetACLRequest{AddChroot(impl_->chroot(), path)},
                      fmt::format("{} (getACL)", path), std::move(cb), [](ResponseBody& b) -> Result<ZkAclResult> {
                        auto& r = std::get<GetACLResponse>(b);
                        return ZkAclResult{FromAcl(r.acl), FromStat(r.stat)};
                      });
}
Awaitable<Result<ZkAclResult>> ZkClient::CoGetAcl(std::string_view path) {
  return CoWait<Result<ZkAclResult>>([this, p = std::string(path)](auto cb) { AsyncGetAcl(p, std::move(cb)); });
}
Result<ZkAclResult> ZkClient::GetAcl(std::string_view path) {
  return Block<Result<ZkAclResult>>(*impl_, [&](auto cb) { AsyncGetAcl(path, std::move(cb)); });
}

void ZkClient::AsyncSetAcl(std::string_view path, const std::vector<ZkAcl>& acl, int32_t version,
                           ZkCallback<ZkStat> cb) {
  if (Status st = ValidatePath(path); !st.ok()) return FailLater(*impl_, cb, BadArgs(st));
  if (acl.empty()) return FailLater(*impl_, cb, ZkErrorStatus(ZkError::kInvalidACL, fmt::format("{}: empty ACL", path)));
  Invoke<ZkStat>(*impl_, OpCode::kSetACL, SetACLRequest{AddChroot(impl_->chroot(), path), ToAcl(acl), version},
                 fmt::format("{} (setACL)", path), std::move(cb),
                 [](ResponseBody& b) -> Result<ZkStat> { return FromStat(std::get<SetACLResponse>(b).stat); });
}
Awaitable<Result<ZkStat>> ZkClient::CoSetAcl(std::string_view path, const std::vector<ZkAcl>& acl, int32_t version) {
  return CoWait<Result<ZkStat>>([this, p = std::string(path), a = acl, version](auto cb) {
    AsyncSetAcl(p, a, version, std::move(cb));
  });
}
Result<ZkStat> ZkClient::SetAcl(std::string_view path, const std::vector<ZkAcl>& acl, int32_t version) {
  return Block<Result<ZkStat>>(*impl_, [&](auto cb) { AsyncSetAcl(path, acl, version, std::move(cb)); });
}

// getChildren (getChildren2)

void ZkClient::AsyncGetChildren(std::string_view path, ZkCallback<ZkChildren> cb, ZkWatcher watcher) {
  if (Status st = ValidatePath(path); !st.ok()) return FailLater(*impl_, cb, BadArgs(st));
  std::string full = AddChroot(impl_->chroot(), path);
  bool watch = static_cast<bool>(watcher);
  Invoke<ZkChildren>(
      *impl_, OpCode::kGetChildren2, GetChildren2Request{full, watch}, fmt::format("{} (getChildren)", path),
      std::move(cb),
      [](ResponseBody& b) -> Result<ZkChildren> {
        auto& r = std::get<GetChildren2Response>(b);
        return ZkChildren{std::move(r.children), FromStat(r.stat)};
      },
      {}, WatchSpec{watch ? std::optional(WatchKind::kChild) : std::nullopt, full, std::move(watcher)});
}
Awaitable<Result<ZkChildren>> ZkClient::CoGetChildren(std::string_view path, const ZkWatcher& watcher) {
  return CoWait<Result<ZkChildren>>(
      [this, p = std::string(path), w = watcher](auto cb) { AsyncGetChildren(p, std::move(cb), w); });
}
Result<ZkChildren> ZkClient::GetChildren(std::string_view path, ZkWatcher watcher) {
  return Block<Result<ZkChildren>>(*impl_, [&](auto cb) { AsyncGetChildren(path, std::move(cb), watcher); });
}

// sync

void ZkClient::AsyncSync(std::string_view path, ZkCallback<std::string> cb) {
  if (Status st = ValidatePath(path); !st.ok()) return FailLater(*impl_, cb, BadArgs(st));
  std::string chroot = impl_->chroot();
  Invoke<std::string>(*impl_, OpCode::kSync, SyncRequest{AddChroot(chroot, path)}, fmt::format("{} (sync)", path),
                      std::move(cb), [chroot](ResponseBody& b) -> Result<std::string> {
                        return StripChroot(chroot, std::get<SyncResponse>(b).path);
                      });
}
Awaitable<Result<std::string>> ZkClient::CoSync(std::string_view path) {
  return CoWait<Result<std::string>>([this, p = std::string(path)](auto cb) { AsyncSync(p, std::move(cb)); });
}
Result<std::string> ZkClient::Sync(std::string_view path) {
  return Block<Result<std::string>>(*impl_, [&](auto cb) { AsyncSync(path, std::move(cb)); });
}

// multi / multiRead

namespace {

Result<MultiRequest> BuildMulti(const std::string& chroot, const std::vector<ZkOp>& ops, bool read) {
  MultiRequest m;
  for (size_t i = 0; i < ops.size(); ++i) {
    const ZkOp& op = ops[i];
    bool is_read = op.type == ZkOp::Type::kGetData || op.type == ZkOp::Type::kGetChildren;
    if (is_read != read)
      return BadArgs(InvalidArgument(fmt::format("op {} ({} {}): {} a {}", i, OpName(op.type), op.path,
                                                 read ? "write op in" : "read op in", read ? "multiRead" : "multi")));
    if (op.type == ZkOp::Type::kCreate) {
      auto built = BuildCreate(chroot, op.path, op.data, op.create);
      if (!built.ok()) return built.status();
      m.ops.push_back(MultiOp{static_cast<int32_t>(built->first), std::move(built->second)});
      continue;
    }
    if (Status st = ValidatePath(op.path); !st.ok()) return BadArgs(st);
    std::string full = AddChroot(chroot, op.path);
    switch (op.type) {
      case ZkOp::Type::kDelete:
        m.ops.push_back(MultiOp{static_cast<int32_t>(OpCode::kDelete), DeleteRequest{full, op.version}});
        break;
      case ZkOp::Type::kSetData:
        m.ops.push_back(
            MultiOp{static_cast<int32_t>(OpCode::kSetData), SetDataRequest{full, jute::Buffer(op.data), op.version}});
        break;
      case ZkOp::Type::kCheck:
        m.ops.push_back(MultiOp{static_cast<int32_t>(OpCode::kCheck), CheckVersionRequest{full, op.version}});
        break;
      case ZkOp::Type::kGetData:
        m.ops.push_back(MultiOp{static_cast<int32_t>(OpCode::kGetData), GetDataRequest{full, false}});
        break;
      case ZkOp::Type::kGetChildren:
        m.ops.push_back(MultiOp{static_cast<int32_t>(OpCode::kGetChildren), GetChildrenRequest{full, false}});
        break;
      case ZkOp::Type::kCreate:
        break;
    }
  }
  return m;
}

std::vector<ZkOpResult> ConvertMulti(const std::string& chroot, MultiResponse& resp, const std::vector<ZkOp>& ops) {
  std::vector<ZkOpResult> out;
  for (size_t i = 0; i < resp.results.size(); ++i) {
    auto& r = resp.results[i];
    ZkOpResult o;
    o.type = i < ops.size() ? ops[i].type : TypeOfResult(r.type);
    o.err = static_cast<ZkError>(r.err);
    std::visit(
        [&](auto& b) {
          using B = std::decay_t<decltype(b)>;
          if constexpr (std::is_same_v<B, CreateResponse>) {
            o.path = StripChroot(chroot, b.path);
          } else if constexpr (std::is_same_v<B, Create2Response>) {
            o.path = StripChroot(chroot, b.path);
            o.stat = FromStat(b.stat);
          } else if constexpr (std::is_same_v<B, SetDataResponse>) {
            o.stat = FromStat(b.stat);
          } else if constexpr (std::is_same_v<B, GetDataResponse>) {
            o.data = std::move(b.data.bytes);
            o.stat = FromStat(b.stat);
          } else if constexpr (std::is_same_v<B, GetChildrenResponse>) {
            o.children = std::move(b.children);
          } else if constexpr (std::is_same_v<B, ErrorResponse>) {
            o.err = static_cast<ZkError>(b.err);
          }
        },
        r.body);
    if (o.type != ZkOp::Type::kCreate && i < ops.size() && o.path.empty()) o.path = ops[i].path;
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

void ZkClient::AsyncMulti(const ZkTransaction& txn, ZkCallback<std::vector<ZkOpResult>> cb) {
  using T = std::vector<ZkOpResult>;
  auto m = BuildMulti(impl_->chroot(), txn.ops(), false);
  if (!m.ok()) return FailLater(*impl_, cb, m.status());
  std::string chroot = impl_->chroot();
  auto ops = txn.ops();
  // A failed transaction answers the multi with err = the first failure's code
  // in its ReplyHeader only in some servers; ZooKeeper answers OK with per-op
  // results, where the failing op carries its code and the others
  // RUNTIMEINCONSISTENCY / OK. Both are handled.
  Invoke<T>(*impl_, OpCode::kMulti, std::move(*m), "multi", std::move(cb),
            [chroot, ops](ResponseBody& b) -> Result<T> {
              auto results = ConvertMulti(chroot, std::get<MultiResponse>(b), ops);
              for (size_t i = 0; i < results.size(); ++i) {
                auto err = results[i].err;
                if (err != ZkError::kOk && err != ZkError::kRuntimeInconsistency) {
                  return ZkErrorStatus(err, fmt::format("multi op {} ({} {})", i, OpName(results[i].type),
                                                        i < ops.size() ? ops[i].path : results[i].path));
                }
              }
              for (const auto& r : results)
                if (r.err != ZkError::kOk) return ZkErrorStatus(r.err, "multi");
              return results;
            });
}
Awaitable<Result<std::vector<ZkOpResult>>> ZkClient::CoMulti(const ZkTransaction& txn) {
  return CoWait<Result<std::vector<ZkOpResult>>>(
      [this, t = txn](auto cb) { AsyncMulti(t, std::move(cb)); });
}
Result<std::vector<ZkOpResult>> ZkClient::Multi(const ZkTransaction& txn) {
  return Block<Result<std::vector<ZkOpResult>>>(*impl_, [&](auto cb) { AsyncMulti(txn, std::move(cb)); });
}

void ZkClient::AsyncMultiRead(const std::vector<ZkOp>& ops, ZkCallback<std::vector<ZkOpResult>> cb) {
  using T = std::vector<ZkOpResult>;
  auto m = BuildMulti(impl_->chroot(), ops, true);
  if (!m.ok()) return FailLater(*impl_, cb, m.status());
  std::string chroot = impl_->chroot();
  Invoke<T>(*impl_, OpCode::kMultiRead, std::move(*m), "multiRead", std::move(cb),
            [chroot, ops](ResponseBody& b) -> Result<T> {
              return ConvertMulti(chroot, std::get<MultiResponse>(b), ops);
            });
}
Awaitable<Result<std::vector<ZkOpResult>>> ZkClient::CoMultiRead(const std::vector<ZkOp>& ops) {
  return CoWait<Result<std::vector<ZkOpResult>>>(
      [this, o = ops](auto cb) { AsyncMultiRead(o, std::move(cb)); });
}
Result<std::vector<ZkOpResult>> ZkClient::MultiRead(const std::vector<ZkOp>& ops) {
  return Block<Result<std::vector<ZkOpResult>>>(*impl_, [&](auto cb) { AsyncMultiRead(ops, std::move(cb)); });
}

// addWatch / removeWatches

void ZkClient::AsyncAddWatch(std::string_view path, ZkWatchMode mode, ZkWatcher watcher, ZkDone cb) {
  auto done = FromDone(std::move(cb));
  if (Status st = ValidatePath(path); !st.ok()) return FailLater(*impl_, done, BadArgs(st));
  if (!watcher) return FailLater(*impl_, done, BadArgs(InvalidArgument("addWatch needs a watcher")));
  std::string full = AddChroot(impl_->chroot(), path);
  auto kind = mode == ZkWatchMode::kPersistentRecursive ? WatchKind::kPersistentRecursive : WatchKind::kPersistent;
  Invoke<bool>(*impl_, OpCode::kAddWatch, AddWatchRequest{full, static_cast<int32_t>(mode)},
               fmt::format("{} (addWatch)", path), std::move(done), [](ResponseBody&) -> Result<bool> { return true; },
               {}, WatchSpec{kind, full, std::move(watcher)});
}
Awaitable<Status> ZkClient::CoAddWatch(std::string_view path, ZkWatchMode mode, const ZkWatcher& watcher) {
  return CoWait<Status>([this, p = std::string(path), mode, w = watcher](auto cb) {
    AsyncAddWatch(p, mode, w, std::move(cb));
  });
}
Status ZkClient::AddWatch(std::string_view path, ZkWatchMode mode, ZkWatcher watcher) {
  return Block<Status>(*impl_, [&](auto cb) { AsyncAddWatch(path, mode, watcher, std::move(cb)); });
}

void ZkClient::AsyncRemoveWatches(std::string_view path, ZkWatcherType type, ZkDone cb) {
  auto done = FromDone(std::move(cb));
  if (Status st = ValidatePath(path); !st.ok()) return FailLater(*impl_, done, BadArgs(st));
  std::string full = AddChroot(impl_->chroot(), path);
  std::string rel(path);
  Impl* ip = impl_.get();
  // The local registry is looked at and changed on the I/O thread, where
  // the reply is handled (before `done` is posted to the event thread).
  ip->PostIo([ip, full, rel, type, done = std::move(done)]() mutable {
    if (!ip->watches().Has(full, type)) {
      return FailLater(*ip, done, ZkErrorStatus(ZkError::kNoWatcher, fmt::format("{} (removeWatches)", rel)));
    }
    Invoke<bool>(*ip, OpCode::kRemoveWatches, RemoveWatchesRequest{full, static_cast<int32_t>(type)},
                 fmt::format("{} (removeWatches)", rel), std::move(done),
                 [ip, full, rel, type](ResponseBody&) -> Result<bool> {
                   // Runs on the I/O thread: drop the watchers and tell them.
                   auto removed = ip->watches().Remove(full, type);
                   if (!removed.empty()) {
                     ip->PostEvent([removed = std::move(removed), rel] {
                       for (const auto& [w, ev] : removed) w(ZkWatchedEvent{ev, ZkKeeperState::kSyncConnected, rel});
                     });
                   }
                   return true;
                 });
  });
}
Awaitable<Status> ZkClient::CoRemoveWatches(std::string_view path, ZkWatcherType type) {
  return CoWait<Status>(
      [this, p = std::string(path), type](auto cb) { AsyncRemoveWatches(p, type, std::move(cb)); });
}
Status ZkClient::RemoveWatches(std::string_view path, ZkWatcherType type) {
  return Block<Status>(*impl_, [&](auto cb) { AsyncRemoveWatches(path, type, std::move(cb)); });
}

// getEphemerals / getAllChildrenNumber / whoAmI

void ZkClient::AsyncGetEphemerals(std::string_view prefix_path, ZkCallback<std::vector<std::string>> cb) {
  using T = std::vector<std::string>;
  if (Status st = ValidatePath(prefix_path, true); !st.ok()) return FailLater(*impl_, cb, BadArgs(st));
  std::string chroot = impl_->chroot();
  Invoke<T>(*impl_, OpCode::kGetEphemerals, GetEphemeralsRequest{AddChroot(chroot, prefix_path)},
            fmt::format("{} (getEphemerals)", prefix_path), std::move(cb), [chroot](ResponseBody& b) -> Result<T> {
              T out;
              for (auto& p : std::get<GetEphemeralsResponse>(b).ephemerals) out.push_back(StripChroot(chroot, p));
              return out;
            });
}
Awaitable<Result<std::vector<std::string>>> ZkClient::CoGetEphemerals(std::string_view prefix_path) {
  return CoWait<Result<std::vector<std::string>>>(
      [this, p = std::string(prefix_path)](auto cb) { AsyncGetEphemerals(p, std::move(cb)); });
}
Result<std::vector<std::string>> ZkClient::GetEphemerals(std::string_view prefix_path) {
  return Block<Result<std::vector<std::string>>>(*impl_,
                                                 [&](auto cb) { AsyncGetEphemerals(prefix_path, std::move(cb)); });
}

void ZkClient::AsyncGetAllChildrenNumber(std::string_view path, ZkCallback<int32_t> cb) {
  if (Status st = ValidatePath(path); !st.ok()) return FailLater(*impl_, cb, BadArgs(st));
  Invoke<int32_t>(*impl_, OpCode::kGetAllChildrenNumber, GetAllChildrenNumberRequest{AddChroot(impl_->chroot(), path)},
                  fmt::format("{} (getAllChildrenNumber)", path), std::move(cb), [](ResponseBody& b) -> Result<int32_t> {
                    return std::get<GetAllChildrenNumberResponse>(b).total_number;
                  });
}
Awaitable<Result<int32_t>> ZkClient::CoGetAllChildrenNumber(std::string_view path) {
  return CoWait<Result<int32_t>>(
      [this, p = std::string(path)](auto cb) { AsyncGetAllChildrenNumber(p, std::move(cb)); });
}
Result<int32_t> ZkClient::GetAllChildrenNumber(std::string_view path) {
  return Block<Result<int32_t>>(*impl_, [&](auto cb) { AsyncGetAllChildrenNumber(path, std::move(cb)); });
}

void ZkClient::AsyncWhoAmI(ZkCallback<std::vector<ZkClientInfo>> cb) {
  using T = std::vector<ZkClientInfo>;
  Invoke<T>(*impl_, OpCode::kWhoAmI, std::monostate{}, "whoAmI", std::move(cb), [](ResponseBody& b) -> Result<T> {
    T out;
    for (auto& c : std::get<WhoAmIResponse>(b).client_info) out.push_back(ZkClientInfo{c.auth_scheme, c.user});
    return out;
  });
}
Awaitable<Result<std::vector<ZkClientInfo>>> ZkClient::CoWhoAmI() {
  return CoWait<Result<std::vector<ZkClientInfo>>>([this](auto cb) { AsyncWhoAmI(std::move(cb)); });
}
Result<std::vector<ZkClientInfo>> ZkClient::WhoAmI() {
  return Block<Result<std::vector<ZkClientInfo>>>(*impl_, [&](auto cb) { AsyncWhoAmI(std::move(cb)); });
}

Awaitable<Result<ZkCreated>> ZkClient::CoCreateNode(std::string_view path, std::string_view data) {
  return CoCreateNode(path, data, ZkCreateOptions{});
}
Awaitable<Result<std::optional<ZkStat>>> ZkClient::CoExists(std::string_view path) {
  return CoExists(path, ZkWatcher());
}
Awaitable<Result<ZkData>> ZkClient::CoGetData(std::string_view path) { return CoGetData(path, ZkWatcher()); }
Awaitable<Result<ZkChildren>> ZkClient::CoGetChildren(std::string_view path) {
  return CoGetChildren(path, ZkWatcher());
}

// addAuth / close

void ZkClient::AsyncAddAuth(std::string_view scheme, std::string_view auth, ZkDone cb) {
  if (scheme.empty()) {
    impl_->PostEvent([cb] { cb(ZkErrorStatus(ZkError::kBadArguments, "addAuth: empty scheme")); });
    return;
  }
  impl_->AddAuth(std::string(scheme), std::string(auth), std::move(cb));
}
Awaitable<Status> ZkClient::CoAddAuth(std::string_view scheme, std::string_view auth) {
  return CoWait<Status>([this, s = std::string(scheme), a = std::string(auth)](auto cb) {
    AsyncAddAuth(s, a, std::move(cb));
  });
}
Status ZkClient::AddAuth(std::string_view scheme, std::string_view auth) {
  return Block<Status>(*impl_, [&](auto cb) { AsyncAddAuth(scheme, auth, std::move(cb)); });
}

void ZkClient::AsyncClose(ZkDone cb) { impl_->Close(std::move(cb)); }
Awaitable<Status> ZkClient::CoClose() {
  return CoWait<Status>([this](auto cb) { AsyncClose(std::move(cb)); });
}
Status ZkClient::Close() {
  return Block<Status>(*impl_, [&](auto cb) { AsyncClose(std::move(cb)); });
}

}  // namespace dougong::zk
