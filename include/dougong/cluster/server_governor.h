// ServerGovernor: the provider side of the service rules (docs/rules.md).
// For each call it answers, from the rules of the called service:
//   PERMISSION_DENIED   the caller is on the blacklist, or a whitelist exists
//                       and the caller is not on it;
//   RESOURCE_EXHAUSTED  a provider-side flow rule's token bucket (per method,
//                       per caller) is empty; answered at once, nothing queues;
//   OK                  otherwise (and for services without rules).
//
//   cluster::ServerGovernor governor;
//   governor.Govern(config_center, "pkg.Store");       // follows its rules live
//   server.AddAdmissionHook(governor.AdmissionHook());  // before server.Start()
//
// Admit() is a plain callable, so any admission point can use it (the
// server's admission hook, a gateway). The caller's application is the request metadata
// `dougong-caller` (ClusterChannelOptions::application sends it); the host
// is the peer's address ("10.0.0.7" or "10.0.0.7:51234").
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "dougong/base/status.h"
#include "dougong/cluster/clock.h"
#include "dougong/cluster/config_center.h"
#include "dougong/cluster/rules.h"
#include "dougong/rpc/server.h"

namespace dougong::cluster {

class ServiceRulesWatch;

struct ServerGovernorCounters {
  uint64_t admitted = 0;
  uint64_t denied = 0;   // PERMISSION_DENIED
  uint64_t limited = 0;  // RESOURCE_EXHAUSTED
  uint64_t rules_rejected = 0;  // bad rule documents ignored
};

class ServerGovernor {
 public:
  // `max_callers`: per-caller buckets kept per flow rule (least recently
  // used forgotten beyond it).
  explicit ServerGovernor(const Clock& clock = SteadyClock::Instance(), size_t max_callers = 10000);
  ~ServerGovernor();
  ServerGovernor(const ServerGovernor&) = delete;
  ServerGovernor& operator=(const ServerGovernor&) = delete;

  // Follows `services/SERVICE/rules` in the config center from now on.
  Status Govern(std::shared_ptr<ConfigCenter> config, std::string_view service);
  // Sets a service's rules directly (null: none). Buckets of flow rules that
  // did not change keep their state.
  void SetRules(std::string_view service, ServiceRulesPtr rules);

  Status Admit(std::string_view service, std::string_view method, std::string_view caller_app,
               std::string_view caller_host);

  // For rpc::Server::AddAdmissionHook: Admit with the caller's application
  // from the metadata `dougong-caller` and the peer's host (in-process calls
  // have the host "in-process"). The governor must outlive the server.
  rpc::AdmissionHook AdmissionHook();

  ServerGovernorCounters counters() const;

  struct ServiceState;

 private:
  const Clock& clock_;
  const size_t max_callers_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const ServiceState>, std::less<>> services_;
  std::vector<std::unique_ptr<ServiceRulesWatch>> watches_;
  std::atomic<uint64_t> admitted_{0};
  std::atomic<uint64_t> denied_{0};
  std::atomic<uint64_t> limited_{0};
};

}  // namespace dougong::cluster
