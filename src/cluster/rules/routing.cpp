// Applying service rules to a provider list and a call: weight overrides,
// condition routing, tag routing, access lists.
#include <algorithm>

#include "dougong/cluster/rules.h"

namespace dougong::cluster {
namespace {

bool MatchesAny(const std::vector<std::string>& patterns, std::string_view value) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) { return GlobMatch(p, value); });
}

bool Holds(const ConditionMatch& m, std::string_view value) { return MatchesAny(m.patterns, value) != m.negate; }

std::string_view PortOf(std::string_view address) {
  size_t colon = address.rfind(':');
  return colon == std::string_view::npos ? std::string_view() : address.substr(colon + 1);
}

std::string_view CallValue(const ConditionMatch& m, const RouteRequest& r) {
  if (m.key == "method") return r.method;
  if (m.key == "caller") return r.caller;
  if (m.key == "host") return r.caller_host;
  if (m.key == "tag") return r.tag;
  // metadata.NAME (the parser allows nothing else)
  if (r.metadata == nullptr) return {};
  const std::string* v = rpc::FindMetadata(*r.metadata, std::string_view(m.key).substr(9));
  return v ? std::string_view(*v) : std::string_view();
}

std::string_view ProviderValue(const ConditionMatch& m, const Provider& p) {
  if (m.key == "host") return p.host;
  if (m.key == "address") return p.address;
  if (m.key == "port") return PortOf(p.address);
  if (m.key == "zone") return p.zone;
  if (m.key == "version") return p.version;
  if (m.key == "group") return p.group;
  // tag.NAME
  auto it = p.tags.find(m.key.substr(4));
  return it == p.tags.end() ? std::string_view() : std::string_view(it->second);
}

// The tag of a provider: the tag rule listing its address, else its own.
std::string_view TagOf(const TagRoute& route, const Provider& p) {
  for (const auto& [tag, addresses] : route.addresses)
    if (std::find(addresses.begin(), addresses.end(), p.address) != addresses.end()) return tag;
  auto it = p.tags.find(std::string(kProviderTagKey));
  return it == p.tags.end() ? std::string_view() : std::string_view(it->second);
}

// Keeps the candidates for which `keep(i)` holds, if any; false (and
// nothing changed) if none would be left.
template <class Keep>
bool Narrow(const ProviderSet& set, ExclusionSet* out, Keep keep) {
  ExclusionSet next = *out;
  size_t left = 0;
  for (size_t i = 0; i < set.size(); ++i) {
    if (out->Contains(i)) continue;
    if (keep(i)) ++left;
    else next.Add(i);
  }
  if (left == 0) return false;
  *out = std::move(next);
  return true;
}

Status RouteByConditions(const ConditionRoute& route, const ProviderSet& set, const RouteRequest& r,
                         ExclusionSet* out) {
  for (const ConditionRule& rule : route.rules) {
    bool applies = std::all_of(rule.when.begin(), rule.when.end(),
                               [&](const ConditionMatch& m) { return Holds(m, CallValue(m, r)); });
    if (!applies) continue;
    if (rule.then.empty()) return Unavailable("condition rule '" + rule.text + "' refuses this call");
    bool narrowed = Narrow(set, out, [&](size_t i) {
      return std::all_of(rule.then.begin(), rule.then.end(),
                         [&](const ConditionMatch& m) { return Holds(m, ProviderValue(m, set[i])); });
    });
    if (!narrowed && route.force)
      return Unavailable("condition rule '" + rule.text + "' leaves no provider (force: true)");
    // Not forced: a rule that matches no provider is ignored (Dubbo's
    // force=false).
  }
  return Status();
}

Status RouteByTag(const TagRoute& route, const ProviderSet& set, const RouteRequest& r, ExclusionSet* out) {
  auto untagged = [&](size_t i) { return TagOf(route, set[i]).empty(); };
  if (!r.tag.empty()) {
    if (Narrow(set, out, [&](size_t i) { return TagOf(route, set[i]) == r.tag; })) return Status();
    if (route.force) return Unavailable("tag route: no provider tagged '" + std::string(r.tag) + "' (force: true)");
    if (Narrow(set, out, untagged)) return Status();
    return Unavailable("tag route: no provider tagged '" + std::string(r.tag) + "' and none untagged");
  }
  // An untagged call goes to untagged providers only: tagged ones are kept
  // for their traffic (a gray release sees no ordinary calls).
  if (Narrow(set, out, untagged)) return Status();
  return Unavailable("tag route: every provider is tagged and the call has no tag");
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // Iterative '*' matching with one backtrack point (no recursion).
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

ProviderSetPtr ApplyWeights(const ServiceRules& rules, const ProviderSetPtr& set) {
  if (!set || rules.weights.empty()) return set;
  std::vector<Provider> providers = set->providers();
  bool changed = false;
  for (Provider& p : providers) {
    auto it = rules.weights.find(p.address);
    if (it != rules.weights.end() && it->second != p.weight) {
      p.weight = it->second;
      changed = true;
    }
  }
  if (!changed) return set;
  Result<ProviderSetPtr> made = ProviderSet::Create(std::move(providers), set.get());
  return made.ok() ? *made : set;
}

Status Route(const ServiceRules& rules, const ProviderSet& set, const RouteRequest& request,
             ExclusionSet* routed_out) {
  if (rules.condition_route.enabled)
    if (Status st = RouteByConditions(rules.condition_route, set, request, routed_out); !st.ok()) return st;
  if (rules.tag_route.enabled)
    if (Status st = RouteByTag(rules.tag_route, set, request, routed_out); !st.ok()) return st;
  return Status();
}

Status CheckAccess(const AccessControl& access, std::string_view caller, std::string_view caller_host) {
  std::string_view host = HostOfAddress(caller_host);
  auto who = [&] {
    return "caller '" + std::string(caller) + "' (host " + std::string(host.empty() ? "unknown" : host) + ")";
  };
  const AccessList& black = access.blacklist;
  if ((!caller.empty() && MatchesAny(black.apps, caller)) || (!host.empty() && MatchesAny(black.hosts, host)))
    return Status(Code::kPermissionDenied, who() + " is on the blacklist");
  const AccessList& white = access.whitelist;
  if (!white.empty() && !(!caller.empty() && MatchesAny(white.apps, caller)) &&
      !(!host.empty() && MatchesAny(white.hosts, host)))
    return Status(Code::kPermissionDenied, who() + " is not on the whitelist");
  return Status();
}

}  // namespace dougong::cluster
