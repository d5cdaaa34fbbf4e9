// NamingService::FromUrl and Registry::FromUrl: the scheme picks the backend.
#include "dougong/cluster/naming.h"

#include <chrono>

#include "cluster/naming/dns_naming.h"
#include "cluster/naming/file_naming.h"
#include "cluster/naming/listed_naming.h"
#include "cluster/naming/multicast_naming.h"
#include "cluster/naming/url.h"
#include "cluster/naming/zk_naming.h"

namespace dougong::cluster {

namespace {

Result<std::chrono::milliseconds> Interval(const naming::NamingUrl& url, int64_t fallback_ms) {
  if (Status st = naming::CheckQueryKeys(url, {"interval_ms"}); !st.ok()) return st;
  Result<int64_t> ms = naming::QueryPositiveInt(url, "interval_ms", fallback_ms);
  if (!ms.ok()) return ms.status();
  return std::chrono::milliseconds(*ms);
}

// zk:// serves both sides; each factory hands out its own view of it.
template <class Side>
Result<std::shared_ptr<Side>> Zk(const naming::NamingUrl& url) {
  Result<std::shared_ptr<naming::ZkNaming>> zk = naming::ZkNaming::Create(url);
  if (!zk.ok()) return zk.status();
  return std::shared_ptr<Side>(std::move(*zk));
}

}  // namespace

Result<std::shared_ptr<NamingService>> NamingService::FromUrl(std::string_view text) {
  Result<naming::NamingUrl> url = naming::ParseNamingUrl(text);
  if (!url.ok()) return url.status();
  if (url->scheme == "zk") return Zk<NamingService>(*url);
  if (url->scheme == "list") {
    if (Status st = naming::CheckQueryKeys(*url, {}); !st.ok()) return st;
    if (!url->path.empty()) return InvalidArgument("list://: unexpected path '" + url->path + "'");
    return naming::NewListNaming(url->authority);
  }
  if (url->scheme == "file") {
    Result<std::chrono::milliseconds> interval = Interval(*url, 1000);
    if (!interval.ok()) return interval.status();
    // file:///abs/path, or file://relative/path (relative to the working dir).
    return naming::NewFileNaming(url->authority + url->path, *interval);
  }
  if (url->scheme == "dns") {
    Result<std::chrono::milliseconds> interval = Interval(*url, 5000);
    if (!interval.ok()) return interval.status();
    if (!url->path.empty() && url->path != "/") {
      return InvalidArgument("dns://: unexpected path '" + url->path + "'");
    }
    return naming::NewDnsNaming(url->authority, *interval);
  }
  if (url->scheme == "multicast") return naming::NewMulticastNaming(*url);
  return InvalidArgument("unknown naming scheme '" + url->scheme + "' (known: zk, list, file, dns, multicast)");
}

Result<std::shared_ptr<Registry>> Registry::FromUrl(std::string_view text) {
  Result<naming::NamingUrl> url = naming::ParseNamingUrl(text);
  if (!url.ok()) return url.status();
  if (url->scheme == "zk") return Zk<Registry>(*url);
  if (url->scheme == "multicast") return naming::NewMulticastRegistry(*url);
  if (url->scheme == "list" || url->scheme == "file" || url->scheme == "dns") {
    return InvalidArgument(url->scheme + ":// is read-only: providers are listed by its owner, not registered (use zk:// or multicast://)");
  }
  return InvalidArgument("unknown registry scheme '" + url->scheme + "' (known: zk, multicast)");
}

}  // namespace dougong::cluster
