#include "dougong/cluster/server_publisher.h"

#include <algorithm>
#include <mutex>

#include <google/protobuf/descriptor.h>
#include <spdlog/spdlog.h>

#include "dougong/rpc/server.h"

namespace dougong::cluster {

std::string DefaultAdvertisedAddress(std::string_view listen_address) {
  std::string_view host = HostOfAddress(listen_address);
  if (host != "0.0.0.0" && host != "::") return std::string(listen_address);
  size_t colon = listen_address.rfind(':');
  return "127.0.0.1" + std::string(listen_address.substr(colon));
}

// Shared by the publisher and the server's hooks, which may outlive it.
struct ServerPublisher::State {
  rpc::Server* server;
  std::shared_ptr<Registry> registry;
  PublishOptions options;

  mutable std::mutex mu;  // serializes Publish and Withdraw
  bool detached = false;  // the publisher is gone: the hooks do nothing
  std::vector<std::string> published;
  std::string address;

  // The advertised address: the option, else the bound one with loopback
  // for a wildcard host.
  std::string AdvertisedAddress() const {
    return options.address.empty() ? DefaultAdvertisedAddress(server->listen_address()) : options.address;
  }

  Status PublishLocked() {
    if (detached) return FailedPrecondition("publisher destroyed");
    if (!published.empty()) return Status();
    if (!server->serving()) return FailedPrecondition("the server is not serving");
    address = AdvertisedAddress();
    Status first;
    for (const rpc::Service* service : server->services()) {
      const std::string& name = service->GetDescriptor()->full_name();
      if (!options.services.empty() &&
          std::find(options.services.begin(), options.services.end(), name) == options.services.end())
        continue;
      ProviderRegistration r;
      r.service = name;
      r.provider.address = address;
      r.provider.weight = options.weight;
      r.provider.zone = options.zone;
      r.provider.version = options.version;
      r.provider.group = options.group;
      r.provider.tags = options.tags;
      r.provider.warmup_ms = options.warmup_ms;
      for (const rpc::MethodDef& m : service->methods()) r.methods.push_back(m.method);
      Status st = registry->Register(r);
      // Kept by the registry even when it failed (written when reachable),
      // so it is withdrawn later either way.
      published.push_back(name);
      if (!st.ok()) {
        spdlog::warn("publishing {} at {}: {}", name, address, st.ToString());
        if (first.ok()) first = st;
      }
    }
    return first;
  }

  Status WithdrawLocked() {
    Status first;
    for (const std::string& name : published) {
      Status st = registry->Deregister(name, address);
      if (!st.ok() && st.code() != Code::kNotFound) {
        spdlog::warn("withdrawing {} at {}: {}", name, address, st.ToString());
        if (first.ok()) first = st;
      }
    }
    published.clear();
    return first;
  }
};

Result<std::unique_ptr<ServerPublisher>> ServerPublisher::Attach(rpc::Server& server,
                                                                 std::shared_ptr<Registry> registry,
                                                                 PublishOptions options) {
  if (!registry) return InvalidArgument("no registry");
  if (options.weight < 0) return InvalidArgument("weight must be >= 0");
  auto state = std::make_shared<State>();
  state->server = &server;
  state->registry = std::move(registry);
  state->options = std::move(options);
  if (Status st = server.OnServing([state] {
        std::lock_guard lock(state->mu);
        if (!state->detached) (void)state->PublishLocked();
      });
      !st.ok())
    return st;
  if (Status st = server.OnStopping([state] {
        std::lock_guard lock(state->mu);
        (void)state->WithdrawLocked();
      });
      !st.ok())
    return st;
  return std::make_unique<ServerPublisher>(std::move(state));
}

Result<std::unique_ptr<ServerPublisher>> ServerPublisher::Attach(rpc::Server& server, std::string_view registry_url,
                                                                 PublishOptions options) {
  auto registry = Registry::FromUrl(registry_url);
  if (!registry.ok()) return registry.status();
  return Attach(server, std::move(*registry), std::move(options));
}

ServerPublisher::ServerPublisher(std::shared_ptr<State> state) : state_(std::move(state)) {}

ServerPublisher::~ServerPublisher() {
  std::lock_guard lock(state_->mu);
  (void)state_->WithdrawLocked();
  state_->detached = true;
}

Status ServerPublisher::Publish() {
  std::lock_guard lock(state_->mu);
  return state_->PublishLocked();
}

Status ServerPublisher::Withdraw() {
  std::lock_guard lock(state_->mu);
  return state_->WithdrawLocked();
}

std::vector<std::string> ServerPublisher::published() const {
  std::lock_guard lock(state_->mu);
  return state_->published;
}

std::string ServerPublisher::address() const {
  std::lock_guard lock(state_->mu);
  return state_->address;
}

}  // namespace dougong::cluster
