// ParseServiceRules and ParseConditionRule: YAML (yaml-cpp) to ServiceRules,
// every field checked, errors naming the line and the field.
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <initializer_list>
#include <set>

#include "dougong/cluster/config_center.h"
#include "dougong/cluster/rules.h"
#include "cluster/naming/text.h"

namespace dougong::cluster {
namespace {

using naming::Trim;

const std::set<std::string_view> kWhenKeys = {"method", "caller", "host", "tag"};
const std::set<std::string_view> kThenKeys = {"host", "address", "port", "zone", "version", "group"};

// The parser's state: errors carry the line of the node and the field path.
class Parser {
 public:
  Status Fail(const YAML::Node& n, const std::string& field, std::string_view what) const {
    std::string where = n.Mark().is_null() ? "" : "line " + std::to_string(n.Mark().line + 1) + ": ";
    return InvalidArgument("rules: " + where + (field.empty() ? "the document" : field) + ": " + std::string(what));
  }

  Status Keys(const YAML::Node& n, const std::string& field, std::initializer_list<std::string_view> allowed) const {
    if (!n.IsMap()) return Fail(n, field, "want a mapping");
    for (const auto& kv : n) {
      std::string key = kv.first.Scalar();
      bool known = false;
      for (std::string_view a : allowed) known = known || a == key;
      if (!known) {
        std::string list;
        for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        return Fail(kv.first, field.empty() ? key : field + "." + key, "unknown field (known: " + list + ")");
      }
    }
    return Status();
  }

  Result<std::string> String(const YAML::Node& n, const std::string& field) const {
    if (!n.IsScalar()) return Fail(n, field, "want a string");
    return n.Scalar();
  }
  Result<bool> Bool(const YAML::Node& n, const std::string& field) const {
    if (!n.IsScalar()) return Fail(n, field, "want true or false");
    Result<bool> b = ParseConfigBool(n.Scalar());
    if (!b.ok()) return Fail(n, field, b.status().message());
    return b;
  }
  Result<double> Number(const YAML::Node& n, const std::string& field, double min) const {
    if (!n.IsScalar()) return Fail(n, field, "want a number");
    Result<double> d = ParseConfigDouble(n.Scalar());
    if (!d.ok()) return Fail(n, field, d.status().message());
    if (*d < min) return Fail(n, field, "must be >= " + std::to_string(static_cast<int64_t>(min)));
    return d;
  }
  Result<int64_t> Int(const YAML::Node& n, const std::string& field, int64_t min, int64_t max) const {
    if (!n.IsScalar()) return Fail(n, field, "want an integer");
    Result<int64_t> i = ParseConfigInt(n.Scalar());
    if (!i.ok()) return Fail(n, field, i.status().message());
    if (*i < min || *i > max)
      return Fail(n, field, "must be in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return i;
  }
  Result<std::chrono::milliseconds> Duration(const YAML::Node& n, const std::string& field) const {
    if (!n.IsScalar()) return Fail(n, field, "want a duration (500ms, 2s)");
    Result<std::chrono::milliseconds> d = ParseConfigDuration(n.Scalar());
    if (!d.ok()) return Fail(n, field, d.status().message());
    return d;
  }
  Result<std::vector<std::string>> Strings(const YAML::Node& n, const std::string& field) const {
    if (n.IsScalar()) return std::vector<std::string>{n.Scalar()};
    if (!n.IsSequence()) return Fail(n, field, "want a list of strings");
    std::vector<std::string> out;
    for (size_t i = 0; i < n.size(); ++i) {
      Result<std::string> s = String(n[i], field + "[" + std::to_string(i) + "]");
      if (!s.ok()) return s.status();
      out.push_back(std::move(*s));
    }
    return out;
  }
  // A list of mappings; calls `item` for each.
  template <class F>
  Status Each(const YAML::Node& n, const std::string& field, F item) const {
    if (!n.IsSequence()) return Fail(n, field, "want a list");
    for (size_t i = 0; i < n.size(); ++i)
      if (Status st = item(n[i], field + "[" + std::to_string(i) + "]"); !st.ok()) return st;
    return Status();
  }
};

#define DG_ASSIGN(lhs, expr)         \
  do {                               \
    auto dg_r = (expr);              \
    if (!dg_r.ok()) return dg_r.status(); \
    lhs = std::move(*dg_r);          \
  } while (0)

Status ParseWeights(const Parser& p, const YAML::Node& n, ServiceRules* r) {
  return p.Each(n, "weights", [&](const YAML::Node& item, const std::string& f) -> Status {
    if (Status st = p.Keys(item, f, {"address", "weight"}); !st.ok()) return st;
    if (!item["address"] || !item["weight"]) return p.Fail(item, f, "needs address and weight");
    std::string address;
    DG_ASSIGN(address, p.String(item["address"], f + ".address"));
    int64_t weight;
    DG_ASSIGN(weight, p.Int(item["weight"], f + ".weight", 0, 1'000'000));
    if (!r->weights.emplace(address, static_cast<int>(weight)).second)
      return p.Fail(item, f + ".address", "'" + address + "' is listed twice");
    return Status();
  });
}

Status ParseTagRoute(const Parser& p, const YAML::Node& n, TagRoute* t) {
  if (Status st = p.Keys(n, "tag_route", {"enabled", "force", "tags"}); !st.ok()) return st;
  if (n["enabled"]) DG_ASSIGN(t->enabled, p.Bool(n["enabled"], "tag_route.enabled"));
  if (n["force"]) DG_ASSIGN(t->force, p.Bool(n["force"], "tag_route.force"));
  if (!n["tags"]) return Status();
  return p.Each(n["tags"], "tag_route.tags", [&](const YAML::Node& item, const std::string& f) -> Status {
    if (Status st = p.Keys(item, f, {"name", "addresses"}); !st.ok()) return st;
    if (!item["name"]) return p.Fail(item, f, "needs a name");
    std::string name;
    DG_ASSIGN(name, p.String(item["name"], f + ".name"));
    if (name.empty()) return p.Fail(item["name"], f + ".name", "empty");
    std::vector<std::string> addresses;
    if (item["addresses"]) DG_ASSIGN(addresses, p.Strings(item["addresses"], f + ".addresses"));
    if (!t->addresses.emplace(name, std::move(addresses)).second)
      return p.Fail(item, f + ".name", "tag '" + name + "' is listed twice");
    return Status();
  });
}

Status ParseConditionRoute(const Parser& p, const YAML::Node& n, ConditionRoute* c) {
  if (Status st = p.Keys(n, "condition_route", {"enabled", "force", "conditions"}); !st.ok()) return st;
  if (n["enabled"]) DG_ASSIGN(c->enabled, p.Bool(n["enabled"], "condition_route.enabled"));
  if (n["force"]) DG_ASSIGN(c->force, p.Bool(n["force"], "condition_route.force"));
  if (!n["conditions"]) return Status();
  std::vector<std::string> texts;
  DG_ASSIGN(texts, p.Strings(n["conditions"], "condition_route.conditions"));
  for (size_t i = 0; i < texts.size(); ++i) {
    Result<ConditionRule> rule = ParseConditionRule(texts[i]);
    const YAML::Node item = n["conditions"].IsSequence() ? n["conditions"][i] : n["conditions"];
    if (!rule.ok()) return p.Fail(item, "condition_route.conditions[" + std::to_string(i) + "]", rule.status().message());
    c->rules.push_back(std::move(*rule));
  }
  return Status();
}

Status ParseAccessList(const Parser& p, const YAML::Node& n, const std::string& f, AccessList* list) {
  if (Status st = p.Keys(n, f, {"apps", "hosts"}); !st.ok()) return st;
  if (n["apps"]) DG_ASSIGN(list->apps, p.Strings(n["apps"], f + ".apps"));
  if (n["hosts"]) DG_ASSIGN(list->hosts, p.Strings(n["hosts"], f + ".hosts"));
  return Status();
}

Status ParseAccess(const Parser& p, const YAML::Node& n, AccessControl* a) {
  if (Status st = p.Keys(n, "access", {"blacklist", "whitelist"}); !st.ok()) return st;
  if (n["blacklist"])
    if (Status st = ParseAccessList(p, n["blacklist"], "access.blacklist", &a->blacklist); !st.ok()) return st;
  if (n["whitelist"])
    if (Status st = ParseAccessList(p, n["whitelist"], "access.whitelist", &a->whitelist); !st.ok()) return st;
  return Status();
}

Status ParseFlow(const Parser& p, const YAML::Node& n, ServiceRules* r) {
  return p.Each(n, "flow", [&](const YAML::Node& item, const std::string& f) -> Status {
    if (Status st = p.Keys(item, f, {"method", "caller", "per_caller", "qps", "burst", "warmup", "side"}); !st.ok())
      return st;
    FlowRule rule;
    if (!item["qps"]) return p.Fail(item, f, "needs qps");
    DG_ASSIGN(rule.qps, p.Number(item["qps"], f + ".qps", 0));
    if (rule.qps <= 0) return p.Fail(item["qps"], f + ".qps", "must be > 0");
    if (item["method"]) DG_ASSIGN(rule.method, p.String(item["method"], f + ".method"));
    if (rule.method.empty()) return p.Fail(item, f + ".method", "empty (use \"*\" for every method)");
    if (item["caller"]) DG_ASSIGN(rule.caller, p.String(item["caller"], f + ".caller"));
    if (item["per_caller"]) DG_ASSIGN(rule.per_caller, p.Bool(item["per_caller"], f + ".per_caller"));
    if (item["burst"]) DG_ASSIGN(rule.burst, p.Number(item["burst"], f + ".burst", 0));
    if (item["warmup"]) DG_ASSIGN(rule.warmup, p.Duration(item["warmup"], f + ".warmup"));
    if (item["side"]) {
      std::string side;
      DG_ASSIGN(side, p.String(item["side"], f + ".side"));
      if (side == "provider") rule.side = RuleSide::kProvider;
      else if (side == "consumer") rule.side = RuleSide::kConsumer;
      else return p.Fail(item["side"], f + ".side", "want provider or consumer");
    }
    if (rule.side == RuleSide::kConsumer && (rule.per_caller || !rule.caller.empty()))
      return p.Fail(item, f, "caller and per_caller are for provider rules (a consumer is one caller)");
    r->flow.push_back(std::move(rule));
    return Status();
  });
}

Status ParseConcurrency(const Parser& p, const YAML::Node& n, ServiceRules* r) {
  return p.Each(n, "concurrency", [&](const YAML::Node& item, const std::string& f) -> Status {
    if (Status st = p.Keys(item, f, {"method", "max"}); !st.ok()) return st;
    if (!item["method"] || !item["max"]) return p.Fail(item, f, "needs method and max");
    ConcurrencyRule rule;
    DG_ASSIGN(rule.method, p.String(item["method"], f + ".method"));
    int64_t max;
    DG_ASSIGN(max, p.Int(item["max"], f + ".max", 0, 1'000'000'000));
    rule.max = static_cast<size_t>(max);
    r->concurrency.push_back(std::move(rule));
    return Status();
  });
}

Status ParseBreakers(const Parser& p, const YAML::Node& n, ServiceRules* r) {
  return p.Each(n, "breakers", [&](const YAML::Node& item, const std::string& f) -> Status {
    if (Status st = p.Keys(item, f, {"method", "enabled", "window", "buckets", "request_volume", "error_percent",
                                     "sleep_window", "half_open_trials"});
        !st.ok())
      return st;
    if (!item["method"]) return p.Fail(item, f, "needs a method (\"*\" for every method)");
    BreakerRule rule;
    CircuitBreakerOptions& o = rule.options;
    DG_ASSIGN(rule.method, p.String(item["method"], f + ".method"));
    if (item["enabled"]) DG_ASSIGN(rule.enabled, p.Bool(item["enabled"], f + ".enabled"));
    if (item["window"]) DG_ASSIGN(o.window, p.Duration(item["window"], f + ".window"));
    if (item["sleep_window"]) DG_ASSIGN(o.sleep_window, p.Duration(item["sleep_window"], f + ".sleep_window"));
    int64_t i;
    if (item["buckets"]) {
      DG_ASSIGN(i, p.Int(item["buckets"], f + ".buckets", 1, 1000));
      o.buckets = static_cast<int>(i);
    }
    if (item["request_volume"]) {
      DG_ASSIGN(i, p.Int(item["request_volume"], f + ".request_volume", 1, 1'000'000'000));
      o.request_volume_threshold = static_cast<uint64_t>(i);
    }
    if (item["error_percent"]) {
      DG_ASSIGN(i, p.Int(item["error_percent"], f + ".error_percent", 1, 100));
      o.error_threshold_percent = static_cast<int>(i);
    }
    if (item["half_open_trials"]) {
      DG_ASSIGN(i, p.Int(item["half_open_trials"], f + ".half_open_trials", 1, 1000));
      o.half_open_trials = static_cast<int>(i);
    }
    if (Status st = o.Validate(); !st.ok()) return p.Fail(item, f, st.message());
    r->breakers.push_back(std::move(rule));
    return Status();
  });
}

Result<ConditionMatch> ParseMatch(std::string_view text, bool then_side) {
  ConditionMatch m;
  size_t op = text.find("!=");
  size_t len = 2;
  if (op != std::string_view::npos) {
    m.negate = true;
  } else {
    op = text.find('=');
    len = 1;
    if (op == std::string_view::npos) return InvalidArgument("'" + std::string(text) + "': want KEY = VALUE or KEY != VALUE");
  }
  m.key = std::string(Trim(text.substr(0, op)));
  const std::set<std::string_view>& keys = then_side ? kThenKeys : kWhenKeys;
  std::string_view prefix = then_side ? "tag." : "metadata.";
  if (!keys.contains(m.key) && !(m.key.starts_with(prefix) && m.key.size() > prefix.size())) {
    std::string list;
    for (std::string_view k : keys) list += std::string(k) + ", ";
    return InvalidArgument("unknown " + std::string(then_side ? "provider" : "call") + " key '" + m.key +
                           "' (known: " + list + std::string(prefix) + "NAME)");
  }
  std::string_view values = text.substr(op + len);
  while (true) {
    size_t comma = values.find(',');
    std::string_view v = Trim(values.substr(0, comma));
    if (v.empty()) return InvalidArgument("'" + std::string(Trim(text)) + "': empty value");
    m.patterns.emplace_back(v);
    if (comma == std::string_view::npos) break;
    values.remove_prefix(comma + 1);
  }
  return m;
}

Result<std::vector<ConditionMatch>> ParseMatches(std::string_view text, bool then_side) {
  std::vector<ConditionMatch> out;
  text = Trim(text);
  if (text.empty()) return out;
  while (true) {
    size_t amp = text.find('&');
    Result<ConditionMatch> m = ParseMatch(text.substr(0, amp), then_side);
    if (!m.ok()) return m.status();
    out.push_back(std::move(*m));
    if (amp == std::string_view::npos) return out;
    text.remove_prefix(amp + 1);
  }
}

}  // namespace

std::string ServiceRulesKey(std::string_view service) { return "services/" + std::string(service) + "/rules"; }

Result<ConditionRule> ParseConditionRule(std::string_view text) {
  size_t arrow = text.find("=>");
  if (arrow == std::string_view::npos) return InvalidArgument("'" + std::string(text) + "': no '=>'");
  ConditionRule rule;
  rule.text = std::string(Trim(text));
  Result<std::vector<ConditionMatch>> when = ParseMatches(text.substr(0, arrow), false);
  if (!when.ok()) return when.status();
  Result<std::vector<ConditionMatch>> then = ParseMatches(text.substr(arrow + 2), true);
  if (!then.ok()) return then.status();
  rule.when = std::move(*when);
  rule.then = std::move(*then);
  return rule;
}

Result<ServiceRules> ParseServiceRules(std::string_view yaml) {
  Parser p;
  ServiceRules r;
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (root.IsNull()) return r;
    if (Status st = p.Keys(root, "", {"weights", "tag_route", "condition_route", "access", "flow", "concurrency",
                                      "breakers"});
        !st.ok())
      return st;
    Status st;
    if (st.ok() && root["weights"]) st = ParseWeights(p, root["weights"], &r);
    if (st.ok() && root["tag_route"]) st = ParseTagRoute(p, root["tag_route"], &r.tag_route);
    if (st.ok() && root["condition_route"]) st = ParseConditionRoute(p, root["condition_route"], &r.condition_route);
    if (st.ok() && root["access"]) st = ParseAccess(p, root["access"], &r.access);
    if (st.ok() && root["flow"]) st = ParseFlow(p, root["flow"], &r);
    if (st.ok() && root["concurrency"]) st = ParseConcurrency(p, root["concurrency"], &r);
    if (st.ok() && root["breakers"]) st = ParseBreakers(p, root["breakers"], &r);
    if (!st.ok()) return st;
  } catch (const YAML::Exception& e) {
    // Syntax errors: yaml-cpp's message has the line and column.
    return InvalidArgument("rules: line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return r;
}

}  // namespace dougong::cluster
