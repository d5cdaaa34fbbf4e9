#include "cluster/naming/multicast_naming.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "cluster/naming/multicast_codec.h"
#include "cluster/naming/multicast_socket.h"
#include "cluster/naming/provider_codec.h"
#include "cluster/naming/subscriber_set.h"
#include "dougong/cluster/warmup.h"

namespace dougong::cluster::naming {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A consumer keeps at most this many providers (all services), so a flood of
// announcements cannot grow it without bound.
constexpr size_t kMaxKnownProviders = 4096;

struct MulticastSettings {
  MulticastGroup group;
  milliseconds interval{1000};  // registry: announcement period
  milliseconds ttl{3000};       // registry: how long consumers keep an announcement
  milliseconds wait{300};       // consumer: answers to its start query collected this long
};

// Both sides take the same parameters (one URL serves both), each using its own.
Result<MulticastSettings> ParseSettings(const NamingUrl& url) {
  if (Status st = CheckQueryKeys(url, {"interval_ms", "ttl_ms", "wait_ms", "hops", "interface"}); !st.ok()) return st;
  if (!url.path.empty() && url.path != "/") return InvalidArgument("multicast://: unexpected path '" + url.path + "'");
  if (Status st = CheckHostPort(url.authority); !st.ok()) return Status(st.code(), "multicast://: " + st.message());
  MulticastSettings s;
  size_t colon = url.authority.rfind(':');
  s.group.group = url.authority.substr(0, colon);
  s.group.port = static_cast<uint16_t>(std::stoi(url.authority.substr(colon + 1)));
  Result<int64_t> interval = QueryPositiveInt(url, "interval_ms", 1000);
  if (!interval.ok()) return interval.status();
  Result<int64_t> ttl = QueryPositiveInt(url, "ttl_ms", 3 * *interval);
  if (!ttl.ok()) return ttl.status();
  Result<int64_t> wait = QueryPositiveInt(url, "wait_ms", 300);
  if (!wait.ok()) return wait.status();
  Result<int64_t> hops = QueryPositiveInt(url, "hops", 1);
  if (!hops.ok()) return hops.status();
  if (*ttl < *interval || *ttl > kMaxDatagramTtlMs) {
    return InvalidArgument("multicast://: ttl_ms must be at least interval_ms and at most a day");
  }
  if (*hops > 255) return InvalidArgument("multicast://: hops must be 1..255");
  s.interval = milliseconds(*interval);
  s.ttl = milliseconds(*ttl);
  s.wait = milliseconds(*wait);
  s.group.hops = static_cast<int>(*hops);
  if (auto it = url.query.find("interface"); it != url.query.end()) s.group.interface = it->second;
  return s;
}

Result<std::unique_ptr<MulticastSocket>> OpenSocket(const MulticastSettings& s) {
  Result<std::unique_ptr<MulticastSocket>> socket = MulticastSocket::Open(s.group);
  if (!socket.ok()) return Status(socket.status().code(), "multicast://: " + socket.status().message());
  return socket;
}

uint64_t NewInstanceId() {
  std::random_device rd;
  uint64_t id = 0;
  while (id == 0) id = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return id;
}

// The socket, the sender's identity and the thread serving the socket.
class MulticastPeer {
 protected:
  explicit MulticastPeer(std::unique_ptr<MulticastSocket> socket)
      : socket_(std::move(socket)), instance_(NewInstanceId()) {}

  template <class Fn>
  void StartThread(Fn fn) {
    thread_ = std::thread(std::move(fn));
  }
  void StopThread() {
    stop_ = true;
    socket_->Wake();
    if (thread_.joinable()) thread_.join();
  }
  bool stopping() const { return stop_.load(); }

  // Stamps the sender and the next sequence number. Callers that send the
  // state of something encode under the lock that guards it, so sequence
  // order is state order.
  Result<std::string> Encode(Datagram d) {
    d.instance = instance_;
    d.seq = ++seq_;
    return EncodeDatagram(d);
  }
  // Logs the first failure of a run of failures only.
  Status Send(const std::string& bytes) {
    Status st = socket_->Send(bytes);
    bool was_failing = send_failing_.exchange(!st.ok());
    if (!st.ok() && !was_failing) spdlog::warn("naming: multicast: {}", st.ToString());
    return st;
  }

  const std::unique_ptr<MulticastSocket> socket_;
  const uint64_t instance_;

 private:
  std::atomic<uint64_t> seq_{0};
  std::atomic<bool> send_failing_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class MulticastRegistry final : public Registry, MulticastPeer {
 public:
  MulticastRegistry(std::unique_ptr<MulticastSocket> socket, MulticastSettings settings)
      : MulticastPeer(std::move(socket)), settings_(std::move(settings)) {
    StartThread([this] { Run(); });
  }

  // Goodbye for every registration left, as a closed ZooKeeper session
  // drops its nodes at once.
  ~MulticastRegistry() override {
    StopThread();
    std::vector<std::string> goodbyes;
    {
      std::lock_guard lock(mu_);
      for (const auto& [key, r] : registrations_) {
        if (Result<std::string> bytes = Encode(Goodbye(r.service, r.provider.address)); bytes.ok()) {
          goodbyes.push_back(std::move(*bytes));
        }
      }
    }
    for (const std::string& bytes : goodbyes) (void)Send(bytes);
  }

  Status Register(const ProviderRegistration& registration) override {
    if (Status st = CheckRegistration(registration); !st.ok()) return Status(st.code(), "Register: " + st.message());
    ProviderRegistration r = registration;
    if (r.provider.start_time_ms == 0) r.provider.start_time_ms = SystemClockMs();
    Result<std::string> bytes = std::string();
    {
      std::lock_guard lock(mu_);
      bytes = Encode(Announce(r));
      if (!bytes.ok()) return Status(bytes.status().code(), "Register: " + bytes.status().message());
      registrations_[{r.service, r.provider.address}] = std::move(r);
    }
    // Kept even if this send fails: the next period announces it.
    return Send(*bytes);
  }

  Status Deregister(std::string_view service, std::string_view address) override {
    Result<std::string> bytes = std::string();
    {
      std::lock_guard lock(mu_);
      if (registrations_.erase({std::string(service), std::string(address)}) == 0) {
        return NotFound("Deregister: " + std::string(address) + " is not registered for " + std::string(service));
      }
      bytes = Encode(Goodbye(service, address));
    }
    if (!bytes.ok()) return bytes.status();
    return Send(*bytes);
  }

 private:
  Datagram Announce(const ProviderRegistration& r) const {
    Datagram d;
    d.kind = DatagramKind::kAnnounce;
    d.registration = r;
    d.ttl_ms = settings_.ttl.count();
    return d;
  }
  static Datagram Goodbye(std::string_view service, std::string_view address) {
    Datagram d;
    d.kind = DatagramKind::kGoodbye;
    d.registration.service = service;
    d.registration.provider.address = address;
    return d;
  }

  // Announces the registrations of `services` (all when empty).
  void AnnounceAll(const std::vector<std::string>& services) {
    std::vector<std::string> out;
    {
      std::lock_guard lock(mu_);
      for (const auto& [key, r] : registrations_) {
        if (!services.empty() && std::find(services.begin(), services.end(), r.service) == services.end()) continue;
        // Register refused whatever does not encode.
        if (Result<std::string> bytes = Encode(Announce(r)); bytes.ok()) out.push_back(std::move(*bytes));
      }
    }
    for (const std::string& bytes : out) (void)Send(bytes);
  }

  void Run() {
    Clock::time_point next = Clock::now() + settings_.interval;
    std::string buf;
    while (!stopping()) {
      auto left = std::chrono::duration_cast<milliseconds>(next - Clock::now()) + milliseconds(1);
      if (socket_->Receive(&buf, kMaxDatagramSize, left) == MulticastSocket::Received::kDatagram) {
        Result<Datagram> d = DecodeDatagram(buf);
        // Consumers that just started ask; everything else is not for us.
        if (d.ok() && d->kind == DatagramKind::kQuery && d->instance != instance_) AnnounceAll(d->services);
      }
      if (stopping()) return;
      if (Clock::now() >= next) {
        AnnounceAll({});
        next = Clock::now() + settings_.interval;
      }
    }
  }

  const MulticastSettings settings_;
  std::mutex mu_;  // registrations_, and the encoding of their datagrams
  std::map<std::pair<std::string, std::string>, ProviderRegistration> registrations_;
};

class MulticastNaming final : public NamingService, MulticastPeer {
 public:
  MulticastNaming(std::unique_ptr<MulticastSocket> socket, MulticastSettings settings)
      : MulticastPeer(std::move(socket)), settle_at_(Clock::now() + settings.wait) {
    // Providers answer at once instead of at their next period.
    Datagram query;
    query.kind = DatagramKind::kQuery;  // no services: all of them
    if (Result<std::string> bytes = Encode(query); bytes.ok()) (void)Send(*bytes);
    StartThread([this] { Run(); });
  }
  ~MulticastNaming() override { StopThread(); }

  Result<SubscriptionId> Subscribe(std::string_view service, ProviderListener listener) override {
    if (Status st = CheckServiceName(service); !st.ok()) return Status(st.code(), "Subscribe: " + st.message());
    std::lock_guard lock(mu_);
    SubscriptionId id = subscribers_.Add(service, std::move(listener));
    // Before the start query's answers are in, the thread publishes it then.
    if (settled_) Publish(std::string(service));
    return id;
  }

  Status Unsubscribe(SubscriptionId id) override {
    bool last = false;
    return subscribers_.Remove(id, &last).status();
  }

 private:
  struct Entry {
    uint64_t instance = 0;
    uint64_t seq = 0;
    bool alive = false;  // false: a goodbye, kept so that older announcements stay ignored
    Provider provider;
    milliseconds ttl{0};
    Clock::time_point expires;
  };

  void Run() {
    std::string buf;
    while (!stopping()) {
      Clock::time_point now = Clock::now();
      auto left = std::chrono::duration_cast<milliseconds>(NextDeadline(now) - now) + milliseconds(1);
      MulticastSocket::Received got = socket_->Receive(&buf, kMaxDatagramSize, left);
      if (stopping()) return;
      now = Clock::now();
      std::lock_guard lock(mu_);
      std::set<std::string> changed;
      if (got == MulticastSocket::Received::kDatagram) Handle(buf, now, &changed);
      Expire(now, &changed);
      if (!settled_ && now >= settle_at_) {
        settled_ = true;
        for (std::string& s : subscribers_.Services()) changed.insert(std::move(s));
      }
      if (settled_) {
        for (const std::string& service : changed) Publish(service);
      }
    }
  }

  // mu_ held.
  void Handle(std::string_view bytes, Clock::time_point now, std::set<std::string>* changed) {
    Result<Datagram> d = DecodeDatagram(bytes);
    if (!d.ok()) {
      if (++rejected_ == 1) spdlog::warn("naming: multicast: ignoring a bad datagram: {} (logged once)", d.status().message());
      return;
    }
    if (d->kind == DatagramKind::kQuery) return;  // for the registries
    const std::string& service = d->registration.service;
    const std::string& address = d->registration.provider.address;
    auto svc = known_.find(service);
    Entry* e = nullptr;
    if (svc != known_.end()) {
      auto it = svc->second.find(address);
      if (it != svc->second.end()) e = &it->second;
    }
    // The same sender: only newer datagrams count (UDP may reorder). Another
    // sender for the same address is a restarted instance: it replaces.
    if (e != nullptr && e->instance == d->instance && d->seq <= e->seq) return;
    if (d->kind == DatagramKind::kGoodbye) {
      if (e == nullptr || e->instance != d->instance || !e->alive) return;
      e->alive = false;
      e->seq = d->seq;
      e->expires = now + e->ttl;
      changed->insert(service);
      return;
    }
    if (e == nullptr) {
      if (known_count_ >= kMaxKnownProviders) {
        if (++dropped_ == 1) spdlog::warn("naming: multicast: more than {} providers; ignoring new ones", kMaxKnownProviders);
        return;
      }
      ++known_count_;
      e = &known_[service][address];
    }
    e->instance = d->instance;
    e->seq = d->seq;
    e->alive = true;
    e->provider = std::move(d->registration.provider);
    e->ttl = milliseconds(d->ttl_ms);
    e->expires = now + e->ttl;
    changed->insert(service);
  }

  // mu_ held.
  void Expire(Clock::time_point now, std::set<std::string>* changed) {
    for (auto svc = known_.begin(); svc != known_.end();) {
      for (auto it = svc->second.begin(); it != svc->second.end();) {
        if (it->second.expires > now) {
          ++it;
          continue;
        }
        if (it->second.alive) changed->insert(svc->first);
        it = svc->second.erase(it);
        --known_count_;
      }
      svc = svc->second.empty() ? known_.erase(svc) : std::next(svc);
    }
  }

  Clock::time_point NextDeadline(Clock::time_point now) {
    std::lock_guard lock(mu_);
    Clock::time_point next = now + std::chrono::seconds(1);
    if (!settled_) next = std::min(next, settle_at_);
    for (const auto& [service, entries] : known_) {
      for (const auto& [address, e] : entries) next = std::min(next, e.expires);
    }
    return next;
  }

  // mu_ held. Publish ignores services nobody listens to.
  void Publish(const std::string& service) {
    std::vector<Provider> providers;
    if (auto svc = known_.find(service); svc != known_.end()) {
      for (const auto& [address, e] : svc->second) {
        if (e.alive) providers.push_back(e.provider);
      }
    }
    (void)subscribers_.Publish(service, std::move(providers));
  }

  // Guards the table, and orders publications with the first delivery of a
  // new subscription. Recursive: a listener may subscribe.
  std::recursive_mutex mu_;
  std::map<std::string, std::map<std::string, Entry>, std::less<>> known_;
  size_t known_count_ = 0;
  uint64_t rejected_ = 0;
  uint64_t dropped_ = 0;
  const Clock::time_point settle_at_;
  bool settled_ = false;
  SubscriberSet subscribers_;
};

}  // namespace

Result<std::shared_ptr<Registry>> NewMulticastRegistry(const NamingUrl& url) {
  Result<MulticastSettings> settings = ParseSettings(url);
  if (!settings.ok()) return settings.status();
  Result<std::unique_ptr<MulticastSocket>> socket = OpenSocket(*settings);
  if (!socket.ok()) return socket.status();
  return std::shared_ptr<Registry>(std::make_shared<MulticastRegistry>(std::move(*socket), std::move(*settings)));
}

Result<std::shared_ptr<NamingService>> NewMulticastNaming(const NamingUrl& url) {
  Result<MulticastSettings> settings = ParseSettings(url);
  if (!settings.ok()) return settings.status();
  Result<std::unique_ptr<MulticastSocket>> socket = OpenSocket(*settings);
  if (!socket.ok()) return socket.status();
  return std::shared_ptr<NamingService>(std::make_shared<MulticastNaming>(std::move(*socket), std::move(*settings)));
}

}  // namespace dougong::cluster::naming
