// `dougong rules get|set|list|delete` (service rules, checked before they
// are written) and `dougong config get|set|list|delete` (plain keys), over
// the config center in ZooKeeper or keeper (docs/rules.md).
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "base/file_util.h"
#include "cmd/commands.h"
#include "dougong/cluster/config_center.h"
#include "dougong/cluster/rules.h"

namespace dougong::cmd {
namespace {

// The dev stack's keeper (`dougong dev`).
constexpr const char* kDefaultRegistry = "zk://127.0.0.1:2181/dougong";

struct ConfigArgs {
  std::string registry = kDefaultRegistry;
  int timeout_ms = 5000;
  std::string action;
  std::string key;    // rules: the service
  std::string value;  // config set: the value; rules set: the file ("-" or empty: stdin)
};

int Fail(const Status& st, int code = 1) {
  fmt::print(stderr, "ERROR: {}\n", st.message().empty() ? st.ToString() : st.message());
  return code;
}

Result<std::shared_ptr<cluster::ConfigCenter>> Connect(const ConfigArgs& a) {
  cluster::ConfigCenterOptions o;
  o.connect_wait = std::chrono::milliseconds(a.timeout_ms);
  return cluster::ConfigCenter::Create(a.registry, o);
}

Result<std::string> ReadInput(const std::string& file) {
  if (!file.empty() && file != "-") return ReadWholeFile(file);
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

// `rules`: keys are services; `config`: keys as they are.
int Run(const ConfigArgs& a, bool rules) {
  auto cc = Connect(a);
  if (!cc.ok()) return Fail(cc.status(), 2);
  cluster::ConfigCenter& c = **cc;
  std::string key = rules ? cluster::ServiceRulesKey(a.key) : a.key;
  if (a.action == "list") {
    auto keys = c.List(rules ? "services" : a.key);
    if (!keys.ok()) return Fail(keys.status());
    for (const std::string& k : *keys) {
      if (!rules) {
        fmt::print("{}\n", k);
      } else if (k.starts_with("services/") && k.ends_with("/rules")) {
        fmt::print("{}\n", k.substr(9, k.size() - 9 - 6));
      }
    }
    return 0;
  }
  if (a.key.empty()) return Fail(InvalidArgument(rules ? "which service?" : "which key?"), 2);
  if (a.action == "get") {
    auto v = c.Get(key);
    if (!v.ok()) return Fail(v.status());
    fmt::print("{}{}", *v, v->empty() || v->back() == '\n' ? "" : "\n");
    return 0;
  }
  if (a.action == "delete") {
    Status st = c.Delete(key);
    return st.ok() ? 0 : Fail(st);
  }
  if (a.action == "set") {
    std::string value = a.value;
    if (rules) {
      auto text = ReadInput(a.value);
      if (!text.ok()) return Fail(text.status(), 2);
      // Refused here rather than by every process that would receive it.
      auto parsed = cluster::ParseServiceRules(*text);
      if (!parsed.ok()) return Fail(parsed.status(), 2);
      value = std::move(*text);
    }
    Status st = c.Set(key, value);
    return st.ok() ? 0 : Fail(st);
  }
  return Fail(InvalidArgument("unknown action '" + a.action + "' (want get, set, list or delete)"), 2);
}

void AddCommand(CLI::App& app, int* exit_code, bool rules) {
  auto a = std::make_shared<ConfigArgs>();
  auto* cmd = rules ? app.add_subcommand("rules", "service rules (routing, weights, access, limits): "
                                                  "get|set|list|delete SERVICE [FILE|-]")
                    : app.add_subcommand("config", "config center keys: get|set|list|delete KEY [VALUE]");
  cmd->add_option("--registry", a->registry, "the config center, zk://HOST:PORT[,...]/ROOT")->capture_default_str();
  cmd->add_option("--timeout-ms", a->timeout_ms, "how long to wait for the registry")->capture_default_str();
  cmd->add_option("action", a->action, "get, set, list or delete")->required();
  cmd->add_option("key", a->key, rules ? "the service" : "the key (list: a prefix)");
  cmd->add_option("value", a->value, rules ? "set: the YAML file ('-' or none: stdin)" : "set: the value");
  if (rules)
    cmd->footer("`set` checks the rules first: a bad document is refused with the parser's error (exit 2).\n"
                "Schema: docs/rules.md.");
  cmd->callback([a, exit_code, rules] { *exit_code = Run(*a, rules); });
}

}  // namespace

void AddRulesCommand(CLI::App& app, int* exit_code) {
  AddCommand(app, exit_code, true);
  AddCommand(app, exit_code, false);
}

}  // namespace dougong::cmd
