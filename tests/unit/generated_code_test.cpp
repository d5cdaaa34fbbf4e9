// Checks the code protoc-gen-dougong generates (via dougong_add_proto) for
// testdata/plugin_test.proto and testdata/sub/plugin_sub.proto: the shape of
// the API at compile time, and the server base class and client stub at run
// time, the stub running over a fake channel.
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include "plugin_test.dougong.h"
#include "sub/plugin_sub.dougong.h"
#include "sub/plugin_types.dougong.h"

namespace {

namespace pt = ::dougong::plugintest;
using ::dougong::Code;
using ::dougong::Result;
using ::dougong::Status;
using ::dougong::rpc::Awaitable;
using ::dougong::rpc::ClientContext;
using ::dougong::rpc::HandlerMode;
using ::dougong::rpc::ServerContext;

// ---- Compile-time shape of the generated API --------------------------------

static_assert(std::is_base_of_v<::dougong::rpc::Service, pt::PingServiceBase>);
static_assert(std::is_base_of_v<::dougong::rpc::Service, pt::AdminServiceBase>);
static_assert(std::is_base_of_v<::dougong::rpc::Service, ::SubServiceBase>);
static_assert(std::is_default_constructible_v<pt::PingServiceBase>);
static_assert(std::is_constructible_v<pt::PingServiceBase, HandlerMode>);
static_assert(!std::is_convertible_v<HandlerMode, pt::PingServiceBase>);  // explicit
static_assert(!std::is_copy_constructible_v<pt::PingServiceBase>);

// Server handlers, with the nested message as request/response.
static_assert(std::is_same_v<decltype(&pt::PingServiceBase::Ping),
                             Status (pt::PingServiceBase::*)(ServerContext&,
                                                             const pt::PingRequest&,
                                                             pt::PingResponse*)>);
static_assert(std::is_same_v<decltype(&pt::PingServiceBase::CoPing),
                             Awaitable<Status> (pt::PingServiceBase::*)(
                                 ServerContext&, const pt::PingRequest&, pt::PingResponse*)>);
static_assert(std::is_same_v<decltype(&pt::PingServiceBase::Lookup),
                             Status (pt::PingServiceBase::*)(ServerContext&,
                                                             const pt::Outer_Inner&,
                                                             pt::Outer*)>);
static_assert(std::is_same_v<decltype(&pt::AdminServiceBase::CoShutdown),
                             Awaitable<Status> (pt::AdminServiceBase::*)(
                                 ServerContext&, const pt::Outer_Inner&, pt::Outer_Inner*)>);
static_assert(std::is_same_v<decltype(&::SubServiceBase::Touch),
                             Status (::SubServiceBase::*)(ServerContext&,
                                                          const ::google::protobuf::Empty&,
                                                          ::SubReply*)>);

// Stub forms; ctx defaults to nullptr for the blocking and coroutine forms.
static_assert(std::is_constructible_v<pt::PingServiceStub,
                                      std::shared_ptr<::dougong::rpc::ChannelInterface>>);
static_assert(!std::is_convertible_v<std::shared_ptr<::dougong::rpc::ChannelInterface>,
                                     pt::PingServiceStub>);
static_assert(std::is_same_v<decltype(std::declval<pt::PingServiceStub&>().Ping(
                                 std::declval<const pt::PingRequest&>())),
                             Result<pt::PingResponse>>);
static_assert(std::is_same_v<decltype(std::declval<pt::PingServiceStub&>().Lookup(
                                 std::declval<const pt::Outer_Inner&>(),
                                 std::declval<ClientContext*>())),
                             Result<pt::Outer>>);
static_assert(std::is_same_v<decltype(std::declval<pt::PingServiceStub&>().CoPing(
                                 std::declval<const pt::PingRequest&>())),
                             Awaitable<Result<pt::PingResponse>>>);
static_assert(std::is_same_v<decltype(&pt::PingServiceStub::AsyncLookup),
                             void (pt::PingServiceStub::*)(
                                 const pt::Outer_Inner&, ClientContext*,
                                 std::function<void(Result<pt::Outer>)>)>);
static_assert(std::is_same_v<decltype(std::declval<::SubServiceStub&>().Touch(
                                 std::declval<const ::google::protobuf::Empty&>())),
                             Result<::SubReply>>);

// ---- Helpers ----------------------------------------------------------------

// Runs a coroutine to completion on a fresh io_context. The result is stored
// from inside the coroutine: co_spawn's own result passing needs a default-
// constructible T, which Result<T> is not.
template <class T>
T RunCoroutine(Awaitable<T> awaitable) {
  boost::asio::io_context io;
  std::optional<T> out;
  boost::asio::co_spawn(
      io,
      [&out, aw = std::move(awaitable)]() mutable -> Awaitable<void> {
        out.emplace(co_await std::move(aw));
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
  EXPECT_TRUE(out.has_value());
  return std::move(*out);
}

// A channel answering synchronously from `handler`, recording every call.
class FakeChannel : public ::dougong::rpc::ChannelInterface {
 public:
  struct Call {
    std::string service;
    std::string method;
    bool idempotent;
    ClientContext* ctx;
    std::string request_type;
  };
  using Handler = std::function<Status(const Message& request, Message* response,
                                       ClientContext* ctx)>;

  explicit FakeChannel(Handler handler) : handler_(std::move(handler)) {}

  void CallMethod(const ::dougong::rpc::MethodSpec& method, ClientContext* ctx,
                  const Message& request, Message* response, Done done) override {
    calls.push_back({std::string(method.service), std::string(method.method), method.idempotent,
                     ctx, request.GetDescriptor()->full_name()});
    done(handler_(request, response, ctx));
  }

  std::vector<Call> calls;

 private:
  Handler handler_;
};

// Echoes the request's text into the response's field of the same name, the
// nested one for Outer, and adds response metadata.
Status EchoText(const google::protobuf::Message& request, google::protobuf::Message* response,
                ClientContext* ctx) {
  std::string text;
  if (auto* r = dynamic_cast<const pt::PingRequest*>(&request)) text = r->text();
  if (auto* r = dynamic_cast<const pt::Outer_Inner*>(&request)) text = r->text();
  if (auto* p = dynamic_cast<pt::PingResponse*>(response)) p->set_text("re:" + text);
  if (auto* p = dynamic_cast<pt::Outer*>(response)) p->mutable_inner()->set_text("re:" + text);
  if (auto* p = dynamic_cast<pt::Outer_Inner*>(response)) p->set_text("re:" + text);
  if (auto* p = dynamic_cast<::SubReply*>(response)) p->set_text("touched");
  ctx->mutable_response_metadata().emplace_back("handled", "yes");
  return Status();
}

std::shared_ptr<FakeChannel> EchoChannel() { return std::make_shared<FakeChannel>(EchoText); }

std::shared_ptr<FakeChannel> FailingChannel() {
  return std::make_shared<FakeChannel>(
      [](const google::protobuf::Message&, google::protobuf::Message*, ClientContext*) {
        return Status(Code::kUnavailable, "no provider");
      });
}

pt::PingRequest MakePing(std::string text) {
  pt::PingRequest req;
  req.set_text(std::move(text));
  return req;
}

// ---- Server base class --------------------------------------------------------

TEST(GeneratedServiceTest, DescriptorComesFromGeneratedPool) {
  pt::PingServiceBase ping;
  const auto* d = ping.GetDescriptor();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->full_name(), "dougong.plugintest.PingService");
  EXPECT_EQ(d, google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
                   "dougong.plugintest.PingService"));
  EXPECT_EQ(d, pt::PingServiceBase::descriptor());
  EXPECT_EQ(d->file(), pt::PingRequest::descriptor()->file());

  pt::AdminServiceBase admin;
  EXPECT_EQ(admin.GetDescriptor()->full_name(), "dougong.plugintest.AdminService");

  ::SubServiceBase sub;  // no package, no message of its own in the file
  ASSERT_NE(sub.GetDescriptor(), nullptr);
  EXPECT_EQ(sub.GetDescriptor()->full_name(), "SubService");
  EXPECT_EQ(sub.GetDescriptor()->file()->name(), "sub/plugin_sub.proto");

  ::NoRpcServiceBase empty;
  EXPECT_EQ(empty.GetDescriptor()->full_name(), "NoRpcService");
  EXPECT_TRUE(empty.methods().empty());
}

TEST(GeneratedServiceTest, MethodsListNamesAndPrototypesInOrder) {
  pt::PingServiceBase ping;
  const auto& methods = ping.methods();
  ASSERT_EQ(methods.size(), 2u);
  EXPECT_EQ(methods[0].service, "dougong.plugintest.PingService");
  EXPECT_EQ(methods[0].method, "Ping");
  EXPECT_EQ(methods[0].descriptor, ping.GetDescriptor()->method(0));
  EXPECT_EQ(methods[0].request_prototype, &pt::PingRequest::default_instance());
  EXPECT_EQ(methods[0].response_prototype, &pt::PingResponse::default_instance());
  EXPECT_EQ(methods[1].service, "dougong.plugintest.PingService");
  EXPECT_EQ(methods[1].method, "Lookup");
  EXPECT_EQ(methods[1].descriptor, ping.GetDescriptor()->method(1));
  EXPECT_EQ(methods[1].request_prototype, &pt::Outer_Inner::default_instance());
  EXPECT_EQ(methods[1].response_prototype, &pt::Outer::default_instance());
  for (const auto& m : methods) {
    EXPECT_TRUE(m.blocking);
    EXPECT_TRUE(m.coroutine);
  }

  pt::AdminServiceBase admin;
  ASSERT_EQ(admin.methods().size(), 2u);
  EXPECT_EQ(admin.methods()[0].method, "Reset");
  EXPECT_EQ(admin.methods()[1].method, "Shutdown");
  EXPECT_EQ(admin.methods()[1].response_prototype, &pt::Outer_Inner::default_instance());
}

TEST(GeneratedServiceTest, DefaultHandlersAreUnimplemented) {
  pt::PingServiceBase ping;
  ServerContext ctx;
  pt::PingRequest req;
  pt::PingResponse resp;

  Status s = ping.Ping(ctx, req, &resp);
  EXPECT_EQ(s.code(), Code::kUnimplemented);
  EXPECT_EQ(s.message(), "method dougong.plugintest.PingService/Ping is not implemented");

  Status co = RunCoroutine(ping.CoPing(ctx, req, &resp));
  EXPECT_EQ(co.code(), Code::kUnimplemented);
  EXPECT_EQ(co.message(), "method dougong.plugintest.PingService/Ping is not implemented");

  // Through the type-erased MethodDef, as the server calls them.
  pt::Outer out;
  const auto& lookup = ping.methods()[1];
  Status erased = lookup.blocking(ctx, pt::Outer_Inner(), &out);
  EXPECT_EQ(erased.code(), Code::kUnimplemented);
  EXPECT_EQ(erased.message(), "method dougong.plugintest.PingService/Lookup is not implemented");
  Status erased_co = RunCoroutine(lookup.coroutine(ctx, pt::Outer_Inner(), &out));
  EXPECT_EQ(erased_co.code(), Code::kUnimplemented);

  ::SubServiceBase sub;
  ::SubReply reply;
  EXPECT_EQ(sub.Touch(ctx, google::protobuf::Empty(), &reply).message(),
            "method SubService/Touch is not implemented");
}

class PingImpl : public pt::PingServiceBase {
 public:
  using PingServiceBase::PingServiceBase;
  Status Ping(ServerContext&, const pt::PingRequest& request, pt::PingResponse* response) override {
    response->set_text("blocking:" + request.text());
    return Status();
  }
  Awaitable<Status> CoLookup(ServerContext&, const pt::Outer_Inner& request,
                             pt::Outer* response) override {
    response->mutable_inner()->set_text("coroutine:" + request.text());
    co_return Status();
  }
};

TEST(GeneratedServiceTest, MethodDefsDispatchToOverrides) {
  PingImpl impl;
  ServerContext ctx;
  pt::PingResponse resp;
  ASSERT_TRUE(impl.methods()[0].blocking(ctx, MakePing("a"), &resp).ok());
  EXPECT_EQ(resp.text(), "blocking:a");
  // The coroutine form of Ping was not overridden.
  EXPECT_EQ(RunCoroutine(impl.methods()[0].coroutine(ctx, MakePing("a"), &resp)).code(),
            Code::kUnimplemented);

  pt::Outer_Inner inner;
  inner.set_text("b");
  pt::Outer out;
  ASSERT_TRUE(RunCoroutine(impl.methods()[1].coroutine(ctx, inner, &out)).ok());
  EXPECT_EQ(out.inner().text(), "coroutine:b");
}

TEST(GeneratedServiceTest, HandlerModePerServiceAndPerMethod) {
  pt::PingServiceBase blocking;
  for (const auto& m : blocking.methods()) EXPECT_EQ(m.mode, HandlerMode::kBlocking);

  pt::PingServiceBase coroutine(HandlerMode::kCoroutine);
  for (const auto& m : coroutine.methods()) EXPECT_EQ(m.mode, HandlerMode::kCoroutine);

  EXPECT_TRUE(blocking.SetHandlerMode("Lookup", HandlerMode::kCoroutine).ok());
  EXPECT_EQ(blocking.methods()[0].mode, HandlerMode::kBlocking);
  EXPECT_EQ(blocking.methods()[1].mode, HandlerMode::kCoroutine);
  EXPECT_TRUE(coroutine.SetHandlerMode("Ping", HandlerMode::kBlocking).ok());
  EXPECT_EQ(coroutine.methods()[0].mode, HandlerMode::kBlocking);
  EXPECT_EQ(coroutine.methods()[1].mode, HandlerMode::kCoroutine);

  EXPECT_EQ(blocking.SetHandlerMode("NoSuchMethod", HandlerMode::kCoroutine).code(),
            Code::kNotFound);
}

// ---- Client stub --------------------------------------------------------------

TEST(GeneratedStubTest, MethodSpecNamesAndIdempotency) {
  auto channel = EchoChannel();
  pt::PingServiceStub ping(channel);
  pt::AdminServiceStub admin(channel);
  ::SubServiceStub sub(channel);
  EXPECT_EQ(ping.channel(), channel);

  ASSERT_TRUE(ping.Ping(MakePing("x")).ok());
  ASSERT_TRUE(ping.Lookup(pt::Outer_Inner()).ok());
  ASSERT_TRUE(admin.Reset(MakePing("x")).ok());
  ASSERT_TRUE(admin.Shutdown(pt::Outer_Inner()).ok());
  ASSERT_TRUE(sub.Touch(google::protobuf::Empty()).ok());

  ASSERT_EQ(channel->calls.size(), 5u);
  const auto& c = channel->calls;
  EXPECT_EQ(c[0].service, "dougong.plugintest.PingService");
  EXPECT_EQ(c[0].method, "Ping");
  EXPECT_FALSE(c[0].idempotent);
  EXPECT_EQ(c[0].request_type, "dougong.plugintest.PingRequest");
  EXPECT_EQ(c[1].method, "Lookup");
  EXPECT_TRUE(c[1].idempotent);  // NO_SIDE_EFFECTS
  EXPECT_EQ(c[1].request_type, "dougong.plugintest.Outer.Inner");
  EXPECT_EQ(c[2].service, "dougong.plugintest.AdminService");
  EXPECT_EQ(c[2].method, "Reset");
  EXPECT_TRUE(c[2].idempotent);  // IDEMPOTENT
  EXPECT_EQ(c[3].method, "Shutdown");
  EXPECT_FALSE(c[3].idempotent);
  EXPECT_EQ(c[4].service, "SubService");
  EXPECT_EQ(c[4].method, "Touch");
  for (const auto& call : c) EXPECT_NE(call.ctx, nullptr);  // a default context
}

TEST(GeneratedStubTest, BlockingFormReturnsResponse) {
  auto channel = EchoChannel();
  pt::PingServiceStub stub(channel);

  Result<pt::PingResponse> r = stub.Ping(MakePing("hello"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->text(), "re:hello");

  ClientContext ctx;
  pt::Outer_Inner inner;
  inner.set_text("nested");
  Result<pt::Outer> out = stub.Lookup(inner, &ctx);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->inner().text(), "re:nested");
  EXPECT_EQ(channel->calls.back().ctx, &ctx);
  ASSERT_EQ(ctx.response_metadata().size(), 1u);
  EXPECT_EQ(ctx.response_metadata()[0].first, "handled");
}

TEST(GeneratedStubTest, CoroutineFormReturnsResponse) {
  auto channel = EchoChannel();
  pt::PingServiceStub stub(channel);

  // The temporary request lives until the end of the full expression, which
  // includes the whole co_await.
  auto r = RunCoroutine([&]() -> Awaitable<Result<pt::PingResponse>> {
    co_return co_await stub.CoPing(MakePing("co"));
  }());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->text(), "re:co");
  EXPECT_NE(channel->calls.back().ctx, nullptr);

  ClientContext ctx;
  pt::Outer_Inner inner;
  inner.set_text("co-nested");
  Result<pt::Outer> out = RunCoroutine(stub.CoLookup(inner, &ctx));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->inner().text(), "re:co-nested");
  EXPECT_EQ(channel->calls.back().ctx, &ctx);
  EXPECT_EQ(ctx.response_metadata().size(), 1u);
}

TEST(GeneratedStubTest, CallbackFormReturnsResponse) {
  auto channel = EchoChannel();
  pt::PingServiceStub stub(channel);

  ClientContext ctx;
  pt::PingRequest req = MakePing("cb");
  std::optional<Result<pt::PingResponse>> got;
  stub.AsyncPing(req, &ctx, [&](Result<pt::PingResponse> r) { got.emplace(std::move(r)); });
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->ok()) << got->status().ToString();
  EXPECT_EQ((*got)->text(), "re:cb");
  EXPECT_EQ(channel->calls.back().ctx, &ctx);
  EXPECT_EQ(ctx.response_metadata().size(), 1u);

  // A null context gets a default one owned by the call.
  std::optional<Result<pt::Outer>> out;
  pt::Outer_Inner inner;
  inner.set_text("cb-nested");
  stub.AsyncLookup(inner, nullptr, [&](Result<pt::Outer> r) { out.emplace(std::move(r)); });
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE(out->ok());
  EXPECT_EQ((*out)->inner().text(), "re:cb-nested");
  EXPECT_NE(channel->calls.back().ctx, nullptr);
}

TEST(GeneratedStubTest, ErrorsPropagateInAllForms) {
  auto channel = FailingChannel();
  pt::PingServiceStub stub(channel);
  const Status expected(Code::kUnavailable, "no provider");

  Result<pt::PingResponse> blocking = stub.Ping(MakePing("x"));
  EXPECT_FALSE(blocking.ok());
  EXPECT_EQ(blocking.status(), expected);

  Result<pt::Outer> co = RunCoroutine(stub.CoLookup(pt::Outer_Inner()));
  EXPECT_FALSE(co.ok());
  EXPECT_EQ(co.status(), expected);

  ClientContext ctx;
  pt::PingRequest req;
  std::optional<Result<pt::PingResponse>> cb;
  stub.AsyncPing(req, &ctx, [&](Result<pt::PingResponse> r) { cb.emplace(std::move(r)); });
  ASSERT_TRUE(cb.has_value());
  EXPECT_FALSE(cb->ok());
  EXPECT_EQ(cb->status(), expected);

  EXPECT_EQ(channel->calls.size(), 3u);
}

}  // namespace
