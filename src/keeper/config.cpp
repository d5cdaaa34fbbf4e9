#include "keeper/config.h"

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace dougong::keeper {

namespace {

template <class T>
std::function<void(const YAML::Node&)> Set(T* field) {
  return [field](const YAML::Node& n) { *field = n.as<T>(); };
}

// `cluster:` (docs/replicated_keeper.md): this member's id, the members,
// Raft timing. Errors name the key.
Status ParseCluster(const YAML::Node& node, const std::string& origin, ClusterOptions* c) {
  if (!node.IsMap()) return Status(Code::kInvalidArgument, origin + ": cluster: expected a mapping");
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    const std::string where = origin + ": cluster." + key + " (line " + std::to_string(v.Mark().line + 1) + ")";
    try {
      if (key == "id") c->id = v.as<uint64_t>();
      else if (key == "tick_ms") c->tick_ms = v.as<int>();
      else if (key == "election_ticks") c->election_ticks = v.as<int>();
      else if (key == "heartbeat_ticks") c->heartbeat_ticks = v.as<int>();
      else if (key == "join") c->join = v.as<bool>();
      else if (key == "secret") c->secret = v.as<std::string>();
      else if (key == "proposal_timeout_ms") c->proposal_timeout_ms = v.as<int>();
      else if (key == "members") {
        if (!v.IsSequence()) return Status(Code::kInvalidArgument, where + ": expected a list of members");
        for (const YAML::Node& m : v) {
          if (!m.IsMap()) return Status(Code::kInvalidArgument, where + ": each member is a mapping {id, peer, client}");
          ClusterMember member;
          for (const auto& f : m) {
            const std::string fk = f.first.as<std::string>();
            if (fk == "id") member.id = f.second.as<uint64_t>();
            else if (fk == "peer") member.peer = f.second.as<std::string>();
            else if (fk == "client") member.client = f.second.as<std::string>();
            else if (fk == "role") {
              const std::string role = f.second.as<std::string>();
              if (role != "voter" && role != "observer")
                return Status(Code::kInvalidArgument, where + ": role must be voter or observer, not '" + role + "'");
              member.observer = role == "observer";
            } else {
              return Status(Code::kInvalidArgument, where + ": unknown member field '" + fk + "' (known: id, peer, client, role)");
            }
          }
          if (member.id == 0 || member.id > 255)
            return Status(Code::kInvalidArgument, where + ": a member needs an id in 1..255");
          if (member.peer.empty()) return Status(Code::kInvalidArgument, where + ": member " + std::to_string(member.id) + " has no peer address");
          for (const ClusterMember& other : c->members)
            if (other.id == member.id)
              return Status(Code::kInvalidArgument, where + ": member id " + std::to_string(member.id) + " appears twice");
          c->members.push_back(std::move(member));
        }
      } else {
        return Status(Code::kInvalidArgument,
                      where + ": unknown setting (known: id, members, tick_ms, election_ticks, heartbeat_ticks, join, "
                              "secret, proposal_timeout_ms)");
      }
    } catch (const YAML::Exception&) {
      return Status(Code::kInvalidArgument, where + ": a value of the wrong type");
    }
  }
  if (c->members.empty()) return Status(Code::kInvalidArgument, origin + ": cluster: no members");
  bool self_listed = false;
  bool voter = false;
  for (const ClusterMember& m : c->members) {
    self_listed |= m.id == c->id;
    voter |= !m.observer;
  }
  if (!self_listed) return Status(Code::kInvalidArgument, origin + ": cluster.id " + std::to_string(c->id) + " is not among cluster.members");
  if (!voter) return Status(Code::kInvalidArgument, origin + ": cluster: at least one member must be a voter");
  if (c->tick_ms <= 0 || c->election_ticks < 2 || c->heartbeat_ticks <= 0 || c->heartbeat_ticks >= c->election_ticks)
    return Status(Code::kInvalidArgument,
                  origin + ": cluster: need tick_ms > 0, election_ticks >= 2 and 0 < heartbeat_ticks < election_ticks");
  return Status::Ok();
}

}  // namespace

Result<KeeperOptions> ParseKeeperConfig(const std::string& yaml, const std::string& origin, KeeperOptions base) {
  KeeperOptions o = std::move(base);
  const std::map<std::string, std::function<void(const YAML::Node&)>> keys = {
      {"host", Set(&o.host)},
      {"port", Set(&o.port)},
      {"admin_host", Set(&o.admin_host)},
      {"admin_port", Set(&o.admin_port)},
      {"data_dir", Set(&o.data_dir)},
      {"tick_ms", Set(&o.tick_ms)},
      {"min_session_timeout_ms", Set(&o.min_session_timeout_ms)},
      {"max_session_timeout_ms", Set(&o.max_session_timeout_ms)},
      {"max_buffer", Set(&o.max_buffer)},
      {"max_client_cnxns_per_ip", Set(&o.max_client_cnxns_per_ip)},
      {"max_connections", Set(&o.max_connections)},
      {"max_sessions", Set(&o.max_sessions)},
      {"extended_types", Set(&o.extended_types)},
      {"super_digest", Set(&o.super_digest)},
      {"container_check_interval_ms", Set(&o.container_check_interval_ms)},
      {"container_max_never_used_ms", Set(&o.container_max_never_used_ms)},
      {"snap_count", Set(&o.snap_count)},
      {"snap_retain_count", Set(&o.snap_retain_count)},
      {"snapshot_write_mb_per_sec", Set(&o.snapshot_write_mb_per_sec)},
      {"io_threads", Set(&o.io_threads)},
  };
  try {
    YAML::Node root = YAML::Load(yaml);
    if (root.IsNull()) return o;
    if (!root.IsMap()) return Status(Code::kInvalidArgument, origin + ": expected a mapping of settings");
    for (const auto& kv : root) {
      std::string key = kv.first.as<std::string>();
      if (key == "cluster") {
        o.cluster = ClusterOptions{};
        if (Status s = ParseCluster(kv.second, origin, &o.cluster); !s.ok()) return s;
        continue;
      }
      auto it = keys.find(key);
      if (it == keys.end()) {
        std::string known;
        for (const auto& [k, f] : keys) known += (known.empty() ? "" : ", ") + k;
        known += ", cluster";
        return Status(Code::kInvalidArgument,
                      origin + ": unknown setting '" + key + "' (known: " + known + ")");
      }
      try {
        it->second(kv.second);
      } catch (const YAML::Exception& e) {
        return Status(Code::kInvalidArgument,
                      origin + ": setting '" + key + "' has a value of the wrong type (line " +
                          std::to_string(kv.second.Mark().line + 1) + ")");
      }
    }
  } catch (const YAML::Exception& e) {
    return Status(Code::kInvalidArgument, origin + ": " + e.what());
  }
  if (o.tick_ms <= 0) return Status(Code::kInvalidArgument, origin + ": tick_ms must be > 0");
  if (o.max_buffer <= 0) return Status(Code::kInvalidArgument, origin + ": max_buffer must be > 0");
  if (o.snapshot_write_mb_per_sec < 0) {
    return Status(Code::kInvalidArgument, origin + ": snapshot_write_mb_per_sec must be >= 0 (0 = unpaced)");
  }
  return o;
}

Result<KeeperOptions> LoadKeeperConfig(const std::string& path, KeeperOptions base) {
  std::ifstream in(path);
  if (!in) return Status(Code::kNotFound, "cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseKeeperConfig(ss.str(), path, std::move(base));
}

}  // namespace dougong::keeper
