// protoc-gen-dougong: protoc plugin that writes, for each foo.proto,
// foo.dougong.h/.cc with a server base class (FooBase) and a client stub
// (FooStub) per service. Usage:
//   protoc --plugin=protoc-gen-dougong=PATH --dougong_out=DIR --cpp_out=DIR foo.proto
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/compiler/code_generator.h>
#include <google/protobuf/compiler/plugin.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/printer.h>
#include <google/protobuf/io/zero_copy_stream.h>

namespace {

namespace pb = google::protobuf;
using Vars = std::map<std::string, std::string>;

std::string StripProto(const std::string& name) {
  for (const char* suffix : {".protodevel", ".proto"}) {
    std::string s(suffix);
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0)
      return name.substr(0, name.size() - s.size());
  }
  return name;
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
  return s;
}

// "a.b" -> "::a::b"; "" -> "" (the global namespace).
std::string NamespaceOf(const pb::FileDescriptor* file) {
  if (file->package().empty()) return "";
  return "::" + Replace(file->package(), ".", "::");
}

// The C++ class protoc's cpp generator emits for a message: nested types are
// flattened with '_' (pkg.Outer.Inner -> ::pkg::Outer_Inner).
std::string ClassName(const pb::Descriptor* d) {
  std::string name = d->full_name();
  const std::string& pkg = d->file()->package();
  if (!pkg.empty()) name = name.substr(pkg.size() + 1);
  return NamespaceOf(d->file()) + "::" + Replace(name, ".", "_");
}

std::string EnumClassName(const pb::EnumDescriptor* e) {
  std::string name = e->full_name();
  const std::string& pkg = e->file()->package();
  if (!pkg.empty()) name = name.substr(pkg.size() + 1);
  return NamespaceOf(e->file()) + "::" + Replace(name, ".", "_");
}

bool IsIdempotent(const pb::MethodDescriptor* m) {
  auto level = m->options().idempotency_level();
  return level == pb::MethodOptions::NO_SIDE_EFFECTS || level == pb::MethodOptions::IDEMPOTENT;
}

// Names the generated classes use themselves; an rpc with one of these names
// (or whose Co/Async form is one) would not compile, so it is refused early.
const std::set<std::string>& ReservedNames() {
  static const std::set<std::string> names = {
      "GetDescriptor", "SetHandlerMode", "AddMethod", "methods", "descriptor", "channel",
      "FillNames",     "Service",        "MethodDef",
  };
  return names;
}

bool CheckService(const pb::ServiceDescriptor* s, std::string* error) {
  std::set<std::string> generated;  // every member name the service produces
  const pb::FileDescriptor* file = s->file();
  for (const std::string& cls : {s->name() + "Base", s->name() + "Stub"}) {
    bool clash = file->FindMessageTypeByName(cls) || file->FindEnumTypeByName(cls) ||
                 file->FindServiceByName(cls);
    if (clash) {
      *error = "service " + s->full_name() + ": generated class name " + cls +
               " clashes with a type of the same name in " + file->name();
      return false;
    }
  }
  for (int i = 0; i < s->method_count(); ++i) {
    const pb::MethodDescriptor* m = s->method(i);
    if (m->client_streaming() || m->server_streaming()) {
      *error = "method " + s->full_name() + "/" + m->name() +
               ": streaming methods are not supported yet";
      return false;
    }
    for (const std::string& n : {m->name(), "Co" + m->name(), "Async" + m->name()}) {
      if (ReservedNames().count(n) || !generated.insert(n).second) {
        *error = "method " + s->full_name() + "/" + m->name() + ": generated member name " + n +
                 " clashes with another member of " + s->name() + "Base/" + s->name() + "Stub";
        return false;
      }
    }
  }
  return true;
}

// An expression yielding the service's descriptor. Going through a type
// defined in the same file both loads the file into the generated pool and
// forces its .pb.o into the link (matters when both live in a static library).
std::string ServiceDescriptorExpr(const pb::ServiceDescriptor* s) {
  const pb::FileDescriptor* file = s->file();
  std::string index = std::to_string(s->index());
  if (file->message_type_count() > 0)
    return ClassName(file->message_type(0)) + "::descriptor()->file()->service(" + index + ")";
  if (file->enum_type_count() > 0)
    return EnumClassName(file->enum_type(0)) + "_descriptor()->file()->service(" + index + ")";
  return "::google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(\"" +
         s->full_name() + "\")";
}

Vars MethodVars(const pb::MethodDescriptor* m) {
  const pb::ServiceDescriptor* s = m->service();
  return {
      {"service", s->name()},
      {"full_service", s->full_name()},
      {"method", m->name()},
      {"index", std::to_string(m->index())},
      {"req", ClassName(m->input_type())},
      {"resp", ClassName(m->output_type())},
      {"idempotent", IsIdempotent(m) ? "true" : "false"},
  };
}

void OpenNamespace(pb::io::Printer& p, const pb::FileDescriptor* file) {
  if (!file->package().empty())
    p.Print("namespace $ns$ {\n\n", "ns", Replace(file->package(), ".", "::"));
}

void CloseNamespace(pb::io::Printer& p, const pb::FileDescriptor* file) {
  if (!file->package().empty())
    p.Print("}  // namespace $ns$\n", "ns", Replace(file->package(), ".", "::"));
}

void GenerateHeaderService(pb::io::Printer& p, const pb::ServiceDescriptor* s) {
  Vars sv = {{"service", s->name()}, {"full_service", s->full_name()}};
  p.Print(sv,
          "// Server side of $full_service$: derive, override the handlers you serve\n"
          "// and add the object to a ::dougong::rpc::Server.\n"
          "// Each rpc M has two handlers; the handler mode picks which one runs:\n"
          "//   kBlocking:  M(ctx, request, response) on the server's worker pool;\n"
          "//   kCoroutine: CoM(ctx, request, response) as a coroutine on the I/O thread\n"
          "//               (must not block).\n"
          "// The mode is chosen for the whole service via the constructor and per\n"
          "// method via SetHandlerMode(\"M\", mode) before the service is added.\n"
          "// Handlers not overridden return UNIMPLEMENTED.\n"
          "class $service$Base : public ::dougong::rpc::Service {\n"
          " public:\n"
          "  explicit $service$Base(\n"
          "      ::dougong::rpc::HandlerMode mode = ::dougong::rpc::HandlerMode::kBlocking);\n"
          "  // Registered handlers capture `this`, so the object must not be copied.\n"
          "  $service$Base(const $service$Base&) = delete;\n"
          "  $service$Base& operator=(const $service$Base&) = delete;\n"
          "\n"
          "  static const ::google::protobuf::ServiceDescriptor* descriptor();\n"
          "  const ::google::protobuf::ServiceDescriptor* GetDescriptor() const override;\n");
  for (int i = 0; i < s->method_count(); ++i) {
    p.Print(MethodVars(s->method(i)),
            "\n"
            "  virtual ::dougong::Status $method$(::dougong::rpc::ServerContext& ctx,\n"
            "      const $req$& request, $resp$* response);\n"
            "  virtual ::dougong::rpc::Awaitable<::dougong::Status> Co$method$(\n"
            "      ::dougong::rpc::ServerContext& ctx, const $req$& request,\n"
            "      $resp$* response);\n");
  }
  p.Print("};\n\n");

  p.Print(sv,
          "// Client side of $full_service$. Each rpc M comes in three forms:\n"
          "//   M(request, ctx):          blocking; not from an I/O thread of the channel;\n"
          "//   CoM(request, ctx):        coroutine; `request` (and `ctx`, if given) must\n"
          "//                             stay alive until the co_await completes;\n"
          "//   AsyncM(request, ctx, done): returns at once, `done` runs on an I/O thread;\n"
          "//                             `request` and `ctx` must stay alive until then.\n"
          "// A null ctx means default options. The stub is cheap to copy.\n"
          "class $service$Stub {\n"
          " public:\n"
          "  explicit $service$Stub(std::shared_ptr<::dougong::rpc::ChannelInterface> channel);\n"
          "  const std::shared_ptr<::dougong::rpc::ChannelInterface>& channel() const {\n"
          "    return channel_;\n"
          "  }\n");
  for (int i = 0; i < s->method_count(); ++i) {
    p.Print(MethodVars(s->method(i)),
            "\n"
            "  ::dougong::Result<$resp$> $method$(\n"
            "      const $req$& request, ::dougong::rpc::ClientContext* ctx = nullptr);\n"
            "  ::dougong::rpc::Awaitable<::dougong::Result<$resp$>> Co$method$(\n"
            "      const $req$& request, ::dougong::rpc::ClientContext* ctx = nullptr);\n"
            "  void Async$method$(const $req$& request, ::dougong::rpc::ClientContext* ctx,\n"
            "      std::function<void(::dougong::Result<$resp$>)> done);\n");
  }
  p.Print(
      "\n"
      " private:\n"
      "  std::shared_ptr<::dougong::rpc::ChannelInterface> channel_;\n"
      "};\n\n");
}

void GenerateSourceService(pb::io::Printer& p, const pb::ServiceDescriptor* s) {
  Vars sv = {{"service", s->name()},
             {"full_service", s->full_name()},
             {"descriptor_expr", ServiceDescriptorExpr(s)}};

  // Method specs: names point at string literals, so the string_views stay valid.
  p.Print("namespace {\n");
  for (int i = 0; i < s->method_count(); ++i) {
    p.Print(MethodVars(s->method(i)),
            "constexpr ::dougong::rpc::MethodSpec k$service$_$method$_spec{\n"
            "    \"$full_service$\", \"$method$\", $idempotent$};\n");
  }
  p.Print("}  // namespace\n\n");

  p.Print(sv,
          "const ::google::protobuf::ServiceDescriptor* $service$Base::descriptor() {\n"
          "  static const ::google::protobuf::ServiceDescriptor* const d =\n"
          "      $descriptor_expr$;\n"
          "  return d;\n"
          "}\n"
          "\n"
          "const ::google::protobuf::ServiceDescriptor* $service$Base::GetDescriptor() const {\n"
          "  return descriptor();\n"
          "}\n"
          "\n"
          "$service$Base::$service$Base(::dougong::rpc::HandlerMode mode)\n"
          "    : ::dougong::rpc::Service(mode) {\n");
  if (s->method_count() > 0)  // unused (a warning) in a service without rpcs
    p.Print("  const ::google::protobuf::ServiceDescriptor* sd = descriptor();\n");
  for (int i = 0; i < s->method_count(); ++i) {
    p.Print(MethodVars(s->method(i)),
            "  AddMethod<$req$, $resp$>(\n"
            "      sd->method($index$),\n"
            "      [this](::dougong::rpc::ServerContext& ctx, const $req$& r, $resp$* p) {\n"
            "        return $method$(ctx, r, p);\n"
            "      },\n"
            "      [this](::dougong::rpc::ServerContext& ctx, const $req$& r, $resp$* p) {\n"
            "        return Co$method$(ctx, r, p);\n"
            "      });\n");
  }
  p.Print("}\n");

  for (int i = 0; i < s->method_count(); ++i) {
    p.Print(MethodVars(s->method(i)),
            "\n"
            "::dougong::Status $service$Base::$method$(::dougong::rpc::ServerContext&,\n"
            "    const $req$&, $resp$*) {\n"
            "  return ::dougong::Unimplemented(\"method $full_service$/$method$ is not "
            "implemented\");\n"
            "}\n"
            "\n"
            "::dougong::rpc::Awaitable<::dougong::Status> $service$Base::Co$method$(\n"
            "    ::dougong::rpc::ServerContext&, const $req$&, $resp$*) {\n"
            "  co_return ::dougong::Unimplemented(\"method $full_service$/$method$ is not "
            "implemented\");\n"
            "}\n");
  }

  p.Print(sv,
          "\n"
          "$service$Stub::$service$Stub(\n"
          "    std::shared_ptr<::dougong::rpc::ChannelInterface> channel)\n"
          "    : channel_(std::move(channel)) {}\n");
  for (int i = 0; i < s->method_count(); ++i) {
    p.Print(
        MethodVars(s->method(i)),
        "\n"
        "::dougong::Result<$resp$> $service$Stub::$method$(\n"
        "    const $req$& request, ::dougong::rpc::ClientContext* ctx) {\n"
        "  ::dougong::rpc::ClientContext local_ctx;\n"
        "  if (ctx == nullptr) ctx = &local_ctx;\n"
        "  $resp$ response;\n"
        "  ::dougong::Status status =\n"
        "      channel_->Call(k$service$_$method$_spec, ctx, request, &response);\n"
        "  if (!status.ok()) return status;\n"
        "  return response;  // implicitly moved\n"
        "}\n"
        "\n"
        "::dougong::rpc::Awaitable<::dougong::Result<$resp$>> $service$Stub::Co$method$(\n"
        "    const $req$& request, ::dougong::rpc::ClientContext* ctx) {\n"
        "  // Locals live in the coroutine frame until the call completes; the\n"
        "  // channel copy keeps it alive even if the stub goes away meanwhile.\n"
        "  std::shared_ptr<::dougong::rpc::ChannelInterface> channel = channel_;\n"
        "  ::dougong::rpc::ClientContext local_ctx;\n"
        "  if (ctx == nullptr) ctx = &local_ctx;\n"
        "  $resp$ response;\n"
        "  ::dougong::Status status =\n"
        "      co_await channel->CoCall(k$service$_$method$_spec, ctx, request, &response);\n"
        "  if (!status.ok()) co_return status;\n"
        "  co_return std::move(response);\n"
        "}\n"
        "\n"
        "void $service$Stub::Async$method$(const $req$& request,\n"
        "    ::dougong::rpc::ClientContext* ctx,\n"
        "    std::function<void(::dougong::Result<$resp$>)> done) {\n"
        "  // Response (and a default context if none was given) live on the heap,\n"
        "  // owned by the completion callback.\n"
        "  auto response = std::make_shared<$resp$>();\n"
        "  $resp$* response_ptr = response.get();\n"
        "  std::shared_ptr<::dougong::rpc::ClientContext> owned_ctx;\n"
        "  if (ctx == nullptr) {\n"
        "    owned_ctx = std::make_shared<::dougong::rpc::ClientContext>();\n"
        "    ctx = owned_ctx.get();\n"
        "  }\n"
        "  channel_->CallMethod(k$service$_$method$_spec, ctx, request, response_ptr,\n"
        "      [response = std::move(response), owned_ctx = std::move(owned_ctx),\n"
        "       done = std::move(done)](::dougong::Status status) mutable {\n"
        "        if (!status.ok()) {\n"
        "          done(::dougong::Result<$resp$>(std::move(status)));\n"
        "        } else {\n"
        "          done(::dougong::Result<$resp$>(std::move(*response)));\n"
        "        }\n"
        "      });\n"
        "}\n");
  }
  p.Print("\n");
}

class DougongGenerator : public pb::compiler::CodeGenerator {
 public:
  uint64_t GetSupportedFeatures() const override { return FEATURE_PROTO3_OPTIONAL; }

  bool Generate(const pb::FileDescriptor* file, const std::string& parameter,
                pb::compiler::GeneratorContext* context, std::string* error) const override {
    if (file->service_count() > 0 &&
        file->options().optimize_for() == pb::FileOptions::LITE_RUNTIME) {
      *error = "dougong services need full protobuf messages; "
               "remove `option optimize_for = LITE_RUNTIME`";
      return false;
    }
    for (int i = 0; i < file->service_count(); ++i)
      if (!CheckService(file->service(i), error)) return false;

    // protoc's cpp generator names its output after the proto's path relative
    // to the import dir; the same is done here so the include below matches.
    const std::string base = StripProto(file->name());
    Vars fv = {{"proto", file->name()}, {"pb_h", base + ".pb.h"},
               {"dougong_h", base + ".dougong.h"}};
    {
      std::unique_ptr<pb::io::ZeroCopyOutputStream> out(context->Open(base + ".dougong.h"));
      pb::io::Printer p(out.get(), '$');
      p.Print(fv,
              "// Generated by protoc-gen-dougong from $proto$. Do not edit.\n"
              "#pragma once\n"
              "\n"
              "#include <functional>\n"
              "#include <memory>\n"
              "\n"
              "#include \"$pb_h$\"\n"
              "#include <dougong/base/result.h>\n"
              "#include <dougong/rpc/channel.h>\n"
              "#include <dougong/rpc/service.h>\n"
              "\n");
      if (file->service_count() > 0) {
        OpenNamespace(p, file);
        for (int i = 0; i < file->service_count(); ++i) GenerateHeaderService(p, file->service(i));
        CloseNamespace(p, file);
      }
    }
    {
      std::unique_ptr<pb::io::ZeroCopyOutputStream> out(context->Open(base + ".dougong.cc"));
      pb::io::Printer p(out.get(), '$');
      p.Print(fv,
              "// Generated by protoc-gen-dougong from $proto$. Do not edit.\n"
              "#include \"$dougong_h$\"\n"
              "\n");
      if (file->service_count() > 0) {
        p.Print(
            "#include <utility>\n"
            "\n"
            "#include <google/protobuf/descriptor.h>\n"
            "\n");
        OpenNamespace(p, file);
        for (int i = 0; i < file->service_count(); ++i) GenerateSourceService(p, file->service(i));
        CloseNamespace(p, file);
      }
    }
    return true;
  }
};

}  // namespace

int main(int argc, char* argv[]) {
  DougongGenerator generator;
  return google::protobuf::compiler::PluginMain(argc, argv, &generator);
}
