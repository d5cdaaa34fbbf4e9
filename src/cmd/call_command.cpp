// `dougong call HOST:PORT package.Service/Method '{json}'`: calls any method
// over the native protocol, like grpcurl. The schema comes from the server's
// built-in reflection service, so no .proto files are needed here.
#include <cstdio>
#include <iostream>
#include <iterator>

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>

#include "cmd/commands.h"
#include "dougong/rpc/channel.h"
#include "reflection.dougong.h"
#include "rpc/json_codec.h"

namespace dougong::cmd {

namespace {

struct CallArgs {
  std::string target;
  std::string method;  // "package.Service/Method"
  std::string json;
  int timeout_ms = 10000;
  std::vector<std::string> metadata;  // key=value
  std::string compression = "none";
  bool list = false;
};

int Fail(const Status& st) {
  fmt::print(stderr, "ERROR: {}\n", st.ToString());
  return 1;
}

int RunCall(const CallArgs& args) {
  auto channel = rpc::Channel::Create(args.target);
  if (!channel.ok()) return Fail(channel.status());
  auto shared = std::shared_ptr<rpc::ChannelInterface>(*channel);
  rpc::ReflectionStub reflection(shared);
  auto timeout = std::chrono::milliseconds(args.timeout_ms);

  if (args.list || args.method.empty()) {
    rpc::ClientContext ctx;
    ctx.set_timeout(timeout);
    auto services = reflection.ListServices(rpc::ListServicesRequest(), &ctx);
    if (!services.ok()) return Fail(services.status());
    for (const auto& s : services->services()) fmt::print("{}\n", s);
    return 0;
  }

  auto slash = args.method.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == args.method.size())
    return Fail(InvalidArgument(fmt::format("method '{}' is not package.Service/Method", args.method)));
  std::string service = args.method.substr(0, slash);
  std::string method_name = args.method.substr(slash + 1);

  rpc::GetServiceRequest greq;
  greq.set_service(service);
  rpc::ClientContext gctx;
  gctx.set_timeout(timeout);
  auto schema = reflection.GetService(greq, &gctx);
  if (!schema.ok()) return Fail(schema.status());

  google::protobuf::DescriptorPool pool;
  for (const auto& file : schema->files().file()) {
    if (!pool.BuildFile(file))
      return Fail(Internal(fmt::format("server sent a schema that does not build: {}", file.name())));
  }
  const auto* sd = pool.FindServiceByName(service);
  if (!sd) return Fail(NotFound(fmt::format("no service {}", service)));
  const auto* md = sd->FindMethodByName(method_name);
  if (!md) return Fail(Unimplemented(fmt::format("service {} has no method {}", service, method_name)));

  google::protobuf::DynamicMessageFactory factory(&pool);
  std::unique_ptr<google::protobuf::Message> request(factory.GetPrototype(md->input_type())->New());
  std::unique_ptr<google::protobuf::Message> response(factory.GetPrototype(md->output_type())->New());
  if (Status st = rpc::JsonToMessage(args.json, request.get()); !st.ok()) return Fail(st);

  rpc::ClientContext ctx;
  ctx.set_timeout(timeout);
  for (const auto& kv : args.metadata) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) return Fail(InvalidArgument(fmt::format("metadata '{}' is not key=value", kv)));
    ctx.AddMetadata(kv.substr(0, eq), kv.substr(eq + 1));
  }
  if (args.compression == "lz4") ctx.set_compression(rpc::Compression::kLz4);
  else if (args.compression == "zstd") ctx.set_compression(rpc::Compression::kZstd);
  else if (args.compression != "none")
    return Fail(InvalidArgument(fmt::format("unknown compression '{}'", args.compression)));

  rpc::MethodSpec spec{sd->full_name(), md->name()};
  Status st = shared->Call(spec, &ctx, *request, response.get());
  for (const auto& [k, v] : ctx.response_metadata()) fmt::print(stderr, "{}: {}\n", k, v);
  if (!st.ok()) return Fail(st);
  std::string json;
  if (Status jst = rpc::MessageToJson(*response, &json, /*pretty=*/true); !jst.ok()) return Fail(jst);
  fmt::print("{}", json);
  if (json.empty() || json.back() != '\n') fmt::print("\n");
  return 0;
}

}  // namespace

void AddCallCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<CallArgs>();
  auto* cmd = app.add_subcommand("call", "Call any method with a JSON request (schema from server reflection)");
  cmd->add_option("target", args->target, "HOST:PORT")->required();
  cmd->add_option("method", args->method, "package.Service/Method (omit to list services)");
  cmd->add_option("json", args->json, "Request as JSON ('-' reads stdin; default {})");
  cmd->add_option("--timeout-ms", args->timeout_ms, "Deadline of the call")->capture_default_str();
  cmd->add_option("-H,--metadata", args->metadata, "Request metadata key=value (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--compression", args->compression, "none, lz4 or zstd")->capture_default_str();
  cmd->add_flag("--list", args->list, "List the services of the server");
  cmd->callback([args, exit_code] {
    if (args->json == "-") args->json.assign(std::istreambuf_iterator<char>(std::cin), {});
    *exit_code = RunCall(*args);
  });
}

}  // namespace dougong::cmd
