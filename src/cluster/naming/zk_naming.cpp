#include "cluster/naming/zk_naming.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "cluster/naming/background_loop.h"
#include "cluster/naming/provider_codec.h"
#include "dougong/cluster/warmup.h"
#include "cluster/naming/zk_util.h"

namespace dougong::cluster::naming {

namespace {

// A full re-read of every service and a check of every registration this
// often, as a safety net for anything a watch could not tell (a read that
// failed for another reason than a lost connection).
constexpr auto kFullSyncInterval = std::chrono::seconds(60);

std::string ConsumerId() {
  static std::atomic<int> instances{0};
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host) + ":" + std::to_string(::getpid()) + ":" + std::to_string(++instances);
}

// Creates an ephemeral node of this session, replacing one left by another
// session (an earlier run of the same instance whose session has not
// expired yet: the address is the instance's identity).
Status WriteEphemeral(zk::ZkClient& client, const std::string& path, const std::string& data) {
  size_t parent = path.rfind('/');
  if (Status st = EnsurePath(client, path.substr(0, parent)); !st.ok()) return st;
  zk::ZkCreateOptions ephemeral{zk::ZkCreateMode::kEphemeral};
  for (int attempt = 0; attempt < 2; ++attempt) {
    Result<zk::ZkCreated> made = client.CreateNode(path, data, ephemeral);
    if (made.ok() || made.status().code() != Code::kAlreadyExists) return made.status();
    Result<zk::ZkData> old = client.GetData(path);
    if (!old.ok()) {
      if (old.status().code() == Code::kNotFound) continue;  // gone meanwhile
      return old.status();
    }
    if (old->stat.ephemeral_owner == client.session_id()) {
      if (old->data == data) return Status::Ok();
      return client.SetData(path, data, old->stat.version).status();
    }
    Status deleted = client.Delete(path, old->stat.version);
    if (!deleted.ok() && deleted.code() != Code::kNotFound) return deleted;
  }
  return Unavailable("could not create " + path + ": another session keeps re-creating it");
}

}  // namespace

struct ZkNaming::Events {
  std::mutex mu;
  uint64_t generation = 0;  // of the client whose expiry counts
  bool new_client = false;
  bool sync_all = false;
  bool stopping = false;
  std::set<std::string> dirty;
  BackgroundLoop loop;

  void Dirty(std::string service) {
    {
      std::lock_guard lock(mu);
      dirty.insert(std::move(service));
    }
    loop.Wake();
  }
  void SyncAll() {
    {
      std::lock_guard lock(mu);
      sync_all = true;
    }
    loop.Wake();
  }
};

Result<std::shared_ptr<ZkNaming>> ZkNaming::Create(const NamingUrl& url) {
  Result<ZkTarget> target = ParseZkTarget(url);
  if (!target.ok()) return target.status();
  zk::ZkClientOptions options;
  options.session_timeout = target->session_timeout;
  std::shared_ptr<ZkNaming> naming(new ZkNaming(target->hosts, ZkLayout{target->root}, options));
  if (Status st = naming->StartClient(); !st.ok()) return Status(st.code(), "zk://: " + st.message());
  naming->last_full_sync_ = std::chrono::steady_clock::now();
  naming->events_->loop.Start(kFullSyncInterval, [n = naming.get()] { n->Work(); });
  return naming;
}

ZkNaming::ZkNaming(std::string hosts, ZkLayout layout, zk::ZkClientOptions options)
    : hosts_(std::move(hosts)),
      layout_(std::move(layout)),
      options_(std::move(options)),
      consumer_id_(ConsumerId()),
      events_(std::make_shared<Events>()) {}

ZkNaming::~ZkNaming() {
  {
    std::lock_guard lock(events_->mu);
    events_->stopping = true;
  }
  // Closing first fails the worker's calls in flight, so Stop does not wait
  // for a session timeout.
  if (auto c = client()) (void)c->Close();
  events_->loop.Stop();
}

bool ZkNaming::Stopping() const {
  std::lock_guard lock(events_->mu);
  return events_->stopping;
}

std::shared_ptr<zk::ZkClient> ZkNaming::client() const {
  std::lock_guard lock(mu_);
  return client_;
}

Status ZkNaming::StartClient() {
  uint64_t generation;
  {
    std::lock_guard lock(events_->mu);
    generation = ++events_->generation;
    events_->new_client = false;
  }
  zk::ZkClientOptions options = options_;
  // Only the events are captured: the client may call these while the
  // naming service is being destroyed.
  options.state_listener = [events = events_, generation](zk::ZkSessionState state) {
    switch (state) {
      case zk::ZkSessionState::kConnected:
      case zk::ZkSessionState::kReconnected:
        // Watches are re-armed by the client, but changes missed while
        // disconnected are not replayed to persistent watches: re-read all.
        events->SyncAll();
        break;
      case zk::ZkSessionState::kExpired:
      case zk::ZkSessionState::kLost: {
        // LOST (no connection for a whole session timeout) is treated as an
        // expiry, as Curator does: the server has expired the session by
        // then, and a client that saw a newer zxid than a server that lost
        // its data would otherwise be refused by it forever.
        {
          std::lock_guard lock(events->mu);
          if (events->generation != generation || events->stopping) return;
          events->new_client = true;
        }
        spdlog::warn("naming: zk session {}; starting a new one (registrations are re-created)",
                     zk::ZkSessionStateName(state));
        events->loop.Wake();
        break;
      }
      case zk::ZkSessionState::kSuspended:
        // Consumers keep the last known providers until the registry is back.
        spdlog::info("naming: zk connection lost; keeping the last known providers");
        break;
      case zk::ZkSessionState::kClosed:
        break;
    }
  };
  Result<std::shared_ptr<zk::ZkClient>> made = zk::ZkClient::Create(hosts_, options);
  if (!made.ok()) return made.status();
  std::shared_ptr<zk::ZkClient> old;
  {
    std::lock_guard lock(mu_);
    old = std::move(client_);
    client_ = std::move(*made);
    client_generation_ = generation;
  }
  watched_.clear();
  return Status::Ok();  // `old` (expired) is closed here, off its event thread
}

Result<SubscriptionId> ZkNaming::Subscribe(std::string_view service, ProviderListener listener) {
  if (Status st = CheckServiceName(service); !st.ok()) return Status(st.code(), "Subscribe: " + st.message());
  SubscriptionId id = subscribers_.Add(service, std::move(listener));
  events_->Dirty(std::string(service));
  return id;
}

Status ZkNaming::Unsubscribe(SubscriptionId id) {
  bool last = false;
  Result<std::string> service = subscribers_.Remove(id, &last);
  if (!service.ok()) return service.status();
  if (last) events_->Dirty(*service);  // the worker drops the watch and the consumer node
  return Status::Ok();
}

Status ZkNaming::Register(const ProviderRegistration& registration) {
  if (Status st = CheckRegistration(registration); !st.ok()) {
    return Status(st.code(), "Register: " + st.message());
  }
  ProviderRegistration r = registration;
  if (r.provider.start_time_ms == 0) r.provider.start_time_ms = SystemClockMs();
  std::lock_guard write(write_mu_);
  {
    std::lock_guard lock(mu_);
    unfinished_deletes_.erase({r.service, r.provider.address});
    registrations_[{r.service, r.provider.address}] = r;
  }
  return WriteRegistration(*client(), r);
}

Status ZkNaming::Deregister(std::string_view service, std::string_view address) {
  std::lock_guard write(write_mu_);
  {
    std::lock_guard lock(mu_);
    if (registrations_.erase({std::string(service), std::string(address)}) == 0) {
      return NotFound("Deregister: " + std::string(address) + " is not registered for " + std::string(service));
    }
  }
  Status st = client()->Delete(layout_.Provider(service, address));
  if (st.ok() || st.code() == Code::kNotFound) return Status::Ok();
  // Unreachable (or between sessions): consumers may still see the node
  // until this is finished on reconnection, or its session ends.
  std::lock_guard lock(mu_);
  unfinished_deletes_.insert({std::string(service), std::string(address)});
  return Status(st.code(), "Deregister: " + st.message() + " (the node is deleted once the registry is back)");
}

void ZkNaming::FinishDeletes(zk::ZkClient& client) {
  std::lock_guard write(write_mu_);
  std::set<std::pair<std::string, std::string>> pending;
  {
    std::lock_guard lock(mu_);
    pending = unfinished_deletes_;
  }
  for (const auto& key : pending) {
    std::string path = layout_.Provider(key.first, key.second);
    Result<zk::ZkData> node = client.GetData(path);
    Status st = node.ok() ? Status::Ok() : node.status();
    // Only a node of this session: another session's node belongs to an
    // earlier session of ours (it goes with it) or to another instance.
    if (node.ok() && node->stat.ephemeral_owner == client.session_id()) st = client.Delete(path, node->stat.version);
    if (!st.ok() && st.code() != Code::kNotFound) continue;  // still unreachable: next time
    spdlog::info("naming: deregistration of {} for {} finished", key.second, key.first);
    std::lock_guard lock(mu_);
    unfinished_deletes_.erase(key);
  }
}

Status ZkNaming::WriteRegistration(zk::ZkClient& client, const ProviderRegistration& r) {
  return WriteEphemeral(client, layout_.Provider(r.service, r.provider.address), EncodeRegistration(r));
}

void ZkNaming::WriteConsumer(zk::ZkClient& client, const std::string& service) {
  KeyValues fields = {{"id", consumer_id_},
                      {"pid", std::to_string(::getpid())},
                      {"start_time_ms", std::to_string(SystemClockMs())}};
  Status st = WriteEphemeral(client, layout_.Consumer(service, consumer_id_), EncodeKeyValues(fields));
  if (!st.ok()) spdlog::warn("naming: registering consumer of {}: {}", service, st.ToString());
}

void ZkNaming::Work() {
  bool new_client;
  bool sync_all;
  std::set<std::string> dirty;
  {
    std::lock_guard lock(events_->mu);
    if (events_->stopping) return;
    new_client = events_->new_client;
    sync_all = events_->sync_all;
    events_->sync_all = false;
    dirty.swap(events_->dirty);
  }
  if (new_client) {
    // Its first connection reports kConnected, which asks for a full sync.
    if (Status st = StartClient(); !st.ok()) spdlog::warn("naming: zk: {}", st.ToString());
    return;
  }
  std::shared_ptr<zk::ZkClient> c = client();
  if (std::chrono::steady_clock::now() - last_full_sync_ >= kFullSyncInterval) sync_all = true;
  if (sync_all) {
    last_full_sync_ = std::chrono::steady_clock::now();
    std::vector<ProviderRegistration> registrations;
    {
      std::lock_guard lock(mu_);
      for (const auto& [key, r] : registrations_) registrations.push_back(r);
    }
    for (const ProviderRegistration& r : registrations) {
      std::lock_guard write(write_mu_);
      {
        std::lock_guard lock(mu_);
        if (registrations_.count({r.service, r.provider.address}) == 0) continue;  // deregistered
      }
      if (Status st = WriteRegistration(*c, r); !st.ok() && !Stopping()) {
        spdlog::warn("naming: re-registering {} for {}: {}", r.provider.address, r.service, st.ToString());
      }
    }
    FinishDeletes(*c);
    for (std::string& s : subscribers_.Services()) dirty.insert(std::move(s));
    // And the watches of services nobody listens to any more.
    for (const std::string& s : watched_) dirty.insert(s);
  }
  for (const std::string& service : dirty) SyncService(c, service);
}

void ZkNaming::SyncService(const std::shared_ptr<zk::ZkClient>& client, const std::string& service) {
  std::vector<std::string> subscribed = subscribers_.Services();
  bool wanted = std::find(subscribed.begin(), subscribed.end(), service) != subscribed.end();
  bool watched = watched_.count(service) != 0;
  if (!wanted) {
    if (watched) {
      watched_.erase(service);
      (void)client->RemoveWatches(layout_.Providers(service), zk::ZkWatcherType::kAny);
      (void)client->Delete(layout_.Consumer(service, consumer_id_));
    }
    return;
  }
  if (!watched) {
    // Recursive: one watch sees providers come, go and change their data,
    // and it exists even before the providers node does.
    std::shared_ptr<Events> events = events_;
    Status st = client->AddWatch(layout_.Providers(service), zk::ZkWatchMode::kPersistentRecursive,
                                 [events, service](const zk::ZkWatchedEvent& e) {
                                   if (e.type == zk::ZkEventType::kNone ||
                                       e.type == zk::ZkEventType::kPersistentWatchRemoved) {
                                     return;
                                   }
                                   events->Dirty(service);
                                 });
    if (!st.ok()) {
      spdlog::warn("naming: watching {}: {}", service, st.ToString());
      return;  // the next (re)connection or full sync tries again
    }
    watched_.insert(service);
    WriteConsumer(*client, service);
  }
  if (Status st = ReadProviders(*client, service); !st.ok() && !Stopping()) {
    // A lost connection is followed by a full sync on reconnection; until
    // then the subscribers keep what they have.
    spdlog::info("naming: reading providers of {}: {}; keeping the last known list", service,
                 st.ToString());
  }
}

Status ZkNaming::ReadProviders(zk::ZkClient& client, const std::string& service) {
  std::string dir = layout_.Providers(service);
  Result<zk::ZkChildren> children = client.GetChildren(dir);
  if (!children.ok()) {
    if (children.status().code() != Code::kNotFound) return children.status();
    return subscribers_.Publish(service, {});  // no provider ever registered
  }
  std::vector<zk::ZkOp> reads;
  for (const std::string& child : children->children) reads.push_back(zk::ZkOp::GetData(dir + "/" + child));
  std::vector<Provider> providers;
  if (!reads.empty()) {
    Result<std::vector<zk::ZkOpResult>> data = client.MultiRead(reads);
    if (!data.ok()) return data.status();
    for (size_t i = 0; i < data->size(); ++i) {
      const zk::ZkOpResult& r = (*data)[i];
      if (r.err == zk::ZkError::kNoNode) continue;  // left between the two reads
      if (r.err != zk::ZkError::kOk) return Unavailable("reading " + reads[i].path + ": error " + std::to_string(static_cast<int>(r.err)));
      Result<ProviderRegistration> decoded = DecodeRegistration(r.data);
      if (!decoded.ok()) {
        // One unreadable entry must not hide the others.
        spdlog::warn("naming: skipping {}: {}", reads[i].path, decoded.status().message());
        continue;
      }
      providers.push_back(std::move(decoded->provider));
    }
  }
  return subscribers_.Publish(service, std::move(providers));
}

}  // namespace dougong::cluster::naming
