#include "cluster/naming/dns_naming.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

#include "cluster/naming/background_loop.h"
#include "cluster/naming/listed_naming.h"
#include "cluster/naming/url.h"

namespace dougong::cluster::naming {

namespace {

Result<std::vector<Provider>> ResolveAddresses(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return Unavailable("resolving " + host + ": " + ::gai_strerror(rc));
  std::vector<Provider> out;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    std::string address;
    if (ai->ai_family == AF_INET) {
      ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr, text, sizeof text);
      address = std::string(text) + ":" + port;
    } else if (ai->ai_family == AF_INET6) {
      ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr, text, sizeof text);
      address = "[" + std::string(text) + "]:" + port;
    } else {
      continue;
    }
    // getaddrinfo lists an address once per socket type it could serve.
    bool seen = std::any_of(out.begin(), out.end(), [&](const Provider& p) { return p.address == address; });
    if (seen) continue;
    Provider p;
    p.address = std::move(address);
    out.push_back(std::move(p));
  }
  ::freeaddrinfo(res);
  if (out.empty()) return Unavailable("resolving " + host + ": no address");
  return out;
}

Result<std::vector<Provider>> ResolveSrv(const std::string& name) {
  struct __res_state state {};
  if (::res_ninit(&state) != 0) return Unavailable("res_ninit failed");
  unsigned char answer[NS_MAXMSG];
  int length = ::res_nquery(&state, name.c_str(), ns_c_in, ns_t_srv, answer, sizeof answer);
  int herr = state.res_h_errno;
  ::res_nclose(&state);
  if (length < 0) return Unavailable("SRV query for " + name + ": " + ::hstrerror(herr));
  Result<std::vector<SrvRecord>> records = ParseSrvAnswer(answer, length);
  if (!records.ok()) return records.status();
  std::vector<Provider> providers = ProvidersFromSrv(*records);
  if (providers.empty()) return Unavailable("SRV query for " + name + ": no record");
  return providers;
}

class DnsNaming : public ListedNaming {
 public:
  DnsNaming(std::string host, std::string port) : host_(std::move(host)), port_(std::move(port)) {}
  ~DnsNaming() override { loop_.Stop(); }

  void Start(std::chrono::milliseconds interval) {
    Resolve();
    loop_.Start(interval, [this] { Resolve(); });
  }

 private:
  void Resolve() {
    Result<std::vector<Provider>> providers =
        port_.empty() ? ResolveSrv(host_) : ResolveAddresses(host_, port_);
    if (!providers.ok()) {
      // Logged when it starts failing, not every interval.
      if (!failing_) spdlog::warn("naming: dns: {}; keeping the last good provider list", providers.status().message());
      failing_ = true;
      return;
    }
    failing_ = false;
    std::vector<ListedProvider> list;
    for (Provider& p : *providers) list.push_back(ListedProvider{std::move(p), {}});
    SetList(std::move(list));
  }

  std::string host_;
  std::string port_;  // empty: SRV
  bool failing_ = false;
  BackgroundLoop loop_;
};

}  // namespace

Result<std::vector<SrvRecord>> ParseSrvAnswer(const unsigned char* message, int length) {
  ns_msg msg;
  if (::ns_initparse(message, length, &msg) != 0) return InvalidArgument("malformed DNS answer");
  std::vector<SrvRecord> out;
  int count = ns_msg_count(msg, ns_s_an);
  for (int i = 0; i < count; ++i) {
    ns_rr rr;
    if (::ns_parserr(&msg, ns_s_an, i, &rr) != 0) return InvalidArgument("malformed DNS record");
    if (ns_rr_type(rr) != ns_t_srv) continue;  // e.g. a CNAME on the way
    const unsigned char* rdata = ns_rr_rdata(rr);
    if (ns_rr_rdlen(rr) < 7) return InvalidArgument("short SRV record");
    SrvRecord r;
    r.priority = ns_get16(rdata);
    r.weight = ns_get16(rdata + 2);
    r.port = ns_get16(rdata + 4);
    char target[NS_MAXDNAME];
    if (::ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), rdata + 6, target, sizeof target) < 0) {
      return InvalidArgument("bad SRV target name");
    }
    r.target = target;
    if (!r.target.empty() && r.target.back() == '.') r.target.pop_back();
    // "." means "no such service here" (RFC 2782).
    if (!r.target.empty()) out.push_back(std::move(r));
  }
  return out;
}

std::vector<Provider> ProvidersFromSrv(const std::vector<SrvRecord>& records) {
  std::vector<Provider> out;
  if (records.empty()) return out;
  uint16_t best = std::min_element(records.begin(), records.end(), [](const auto& a, const auto& b) {
                    return a.priority < b.priority;
                  })->priority;
  for (const SrvRecord& r : records) {
    if (r.priority != best) continue;
    std::string address = r.target + ":" + std::to_string(r.port);
    if (std::any_of(out.begin(), out.end(), [&](const Provider& p) { return p.address == address; })) continue;
    Provider p;
    p.address = std::move(address);
    p.weight = std::max<int>(r.weight, 1);
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::shared_ptr<NamingService>> NewDnsNaming(std::string_view authority,
                                                    std::chrono::milliseconds interval) {
  std::string host;
  std::string port;
  if (authority.starts_with("_")) {
    if (authority.find(':') != std::string_view::npos) {
      return InvalidArgument("dns://" + std::string(authority) + ": an SRV name takes no port");
    }
    host = authority;
  } else {
    if (Status st = CheckHostPort(authority); !st.ok()) {
      return InvalidArgument("dns://: " + st.message() + " (want dns://name:port, or dns://_service._proto.name for SRV)");
    }
    size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (host.front() == '[') host = host.substr(1, host.size() - 2);
  }
  auto naming = std::make_shared<DnsNaming>(std::move(host), std::move(port));
  naming->Start(interval);
  return std::shared_ptr<NamingService>(std::move(naming));
}

}  // namespace dougong::cluster::naming
