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
      auto it = keys.find(key);
      if (it == keys.end()) {
        std::string known;
        for (const auto& [k, f] : keys) known += (known.empty() ? "" : ", ") + k;
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
