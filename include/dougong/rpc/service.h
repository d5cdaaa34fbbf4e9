// Service: the type-erased form of a protobuf service that the server
// dispatches to. Generated base classes (protoc-gen-dougong) derive from it
// and register one MethodDef per rpc.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "dougong/base/status.h"
#include "dougong/rpc/server_context.h"

namespace google::protobuf {
class Message;
class MethodDescriptor;
class ServiceDescriptor;
}  // namespace google::protobuf

namespace dougong::rpc {

template <class T>
using Awaitable = boost::asio::awaitable<T>;

// Where a handler runs. kBlocking: on the server's worker pool, may block.
// kCoroutine: on the connection's I/O thread as a C++20 coroutine; must not
// block, and is cancelled through its cancellation slot.
enum class HandlerMode { kBlocking, kCoroutine };

struct MethodDef {
  using Message = google::protobuf::Message;
  using BlockingFn = std::function<Status(ServerContext&, const Message&, Message*)>;
  using CoroutineFn = std::function<Awaitable<Status>(ServerContext&, const Message&, Message*)>;

  const google::protobuf::MethodDescriptor* descriptor = nullptr;
  std::string service;  // "package.Service"
  std::string method;   // "Method"
  const Message* request_prototype = nullptr;
  const Message* response_prototype = nullptr;
  HandlerMode mode = HandlerMode::kBlocking;
  BlockingFn blocking;
  CoroutineFn coroutine;
};

class Service {
 public:
  virtual ~Service() = default;
  virtual const google::protobuf::ServiceDescriptor* GetDescriptor() const = 0;

  const std::vector<MethodDef>& methods() const { return methods_; }
  // Chooses where one method runs; call before adding the service to a server.
  Status SetHandlerMode(std::string_view method, HandlerMode mode);

 protected:
  explicit Service(HandlerMode default_mode) : default_mode_(default_mode) {}

  // Used by generated code: registers a method with typed handlers.
  template <class Req, class Resp, class BlockingF, class CoroutineF>
  void AddMethod(const google::protobuf::MethodDescriptor* md, BlockingF blocking,
                 CoroutineF coroutine) {
    MethodDef def;
    FillNames(md, &def);
    def.request_prototype = &Req::default_instance();
    def.response_prototype = &Resp::default_instance();
    def.mode = default_mode_;
    def.blocking = [f = std::move(blocking)](ServerContext& ctx, const MethodDef::Message& req,
                                             MethodDef::Message* resp) {
      return f(ctx, static_cast<const Req&>(req), static_cast<Resp*>(resp));
    };
    def.coroutine = [f = std::move(coroutine)](ServerContext& ctx, const MethodDef::Message& req,
                                               MethodDef::Message* resp) {
      return f(ctx, static_cast<const Req&>(req), static_cast<Resp*>(resp));
    };
    methods_.push_back(std::move(def));
  }

 private:
  static void FillNames(const google::protobuf::MethodDescriptor* md, MethodDef* def);
  HandlerMode default_mode_;
  std::vector<MethodDef> methods_;
};

}  // namespace dougong::rpc
