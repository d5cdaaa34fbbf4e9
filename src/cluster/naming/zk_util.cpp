#include "cluster/naming/zk_util.h"

namespace dougong::cluster::naming {

Result<ZkTarget> ParseZkTarget(const NamingUrl& url) {
  if (Status st = CheckQueryKeys(url, {"session_timeout_ms"}); !st.ok()) return st;
  Result<int64_t> timeout = QueryPositiveInt(url, "session_timeout_ms", 30000);
  if (!timeout.ok()) return timeout.status();
  if (url.authority.empty()) return InvalidArgument("zk://: no host (want zk://host:2181[,host:2181]/root)");
  ZkTarget target;
  target.hosts = url.authority;
  target.root = url.path;
  while (!target.root.empty() && target.root.back() == '/') target.root.pop_back();
  if (target.root.empty()) target.root = "/dougong";
  if (target.root.find("//") != std::string::npos) return InvalidArgument("zk://: bad root path '" + url.path + "'");
  target.session_timeout = std::chrono::milliseconds(*timeout);
  return target;
}

Status EnsurePath(zk::ZkClient& client, const std::string& path) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string prefix = path.substr(0, slash);
    Result<zk::ZkCreated> made = client.CreateNode(prefix, "");
    if (!made.ok() && made.status().code() != Code::kAlreadyExists) return made.status();
    if (slash == std::string::npos) return Status::Ok();
  }
}

}  // namespace dougong::cluster::naming
