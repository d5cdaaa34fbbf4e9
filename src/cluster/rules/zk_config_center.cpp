#include "cluster/rules/zk_config_center.h"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

#include "cluster/naming/background_loop.h"

namespace dougong::cluster::rules {
namespace {

// Every entry is re-read this often, as a safety net for anything a watch
// could not tell.
constexpr auto kFullSyncInterval = std::chrono::seconds(60);
// Keys per multiRead.
constexpr size_t kReadBatch = 256;

}  // namespace

struct ZkConfigCenter::Events {
  std::mutex mu;
  uint64_t generation = 0;  // of the client whose expiry counts
  bool new_client = false;
  bool sync_all = false;
  bool stopping = false;
  std::set<std::string> dirty;
  naming::BackgroundLoop loop;

  void Dirty(std::string key) {
    {
      std::lock_guard lock(mu);
      dirty.insert(std::move(key));
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

Result<std::shared_ptr<ZkConfigCenter>> ZkConfigCenter::Create(const naming::ZkTarget& target,
                                                               ConfigCenterOptions options) {
  std::shared_ptr<ZkConfigCenter> cc(new ZkConfigCenter(target, std::move(options)));
  if (!cc->options_.cache_file.empty()) {
    // A damaged cache must not stop a process: the registry has the truth.
    Result<ConfigValues> cached = LoadConfigCache(cc->options_.cache_file);
    if (!cached.ok()) {
      spdlog::warn("config: ignoring the cache: {}", cached.status().ToString());
    } else {
      for (auto& [key, value] : *cached) {
        Entry& e = cc->entries_[key];
        e.known = true;
        e.value = std::move(value);
        e.version = cc->next_version_++;
      }
    }
  }
  if (Status st = cc->StartClient(); !st.ok()) return Status(st.code(), "zk://: " + st.message());
  cc->last_full_sync_ = std::chrono::steady_clock::now();
  cc->events_->loop.Start(kFullSyncInterval, [p = cc.get()] { p->Work(); });
  return cc;
}

ZkConfigCenter::ZkConfigCenter(naming::ZkTarget target, ConfigCenterOptions options)
    : target_(std::move(target)),
      options_(std::move(options)),
      config_root_(target_.root + "/config"),
      events_(std::make_shared<Events>()) {}

ZkConfigCenter::~ZkConfigCenter() {
  {
    std::lock_guard lock(events_->mu);
    events_->stopping = true;
  }
  std::shared_ptr<zk::ZkClient> c;
  {
    std::lock_guard lock(mu_);
    c = client_;
  }
  if (c) (void)c->Close();  // fails the worker's calls in flight at once
  events_->loop.Stop();
}

Status ZkConfigCenter::StartClient() {
  uint64_t generation;
  {
    std::lock_guard lock(events_->mu);
    generation = ++events_->generation;
    events_->new_client = false;
  }
  zk::ZkClientOptions o;
  o.session_timeout = target_.session_timeout;
  o.state_listener = [events = events_, generation](zk::ZkSessionState state) {
    switch (state) {
      case zk::ZkSessionState::kConnected:
      case zk::ZkSessionState::kReconnected:
        // Changes missed while away are not replayed to persistent watches.
        events->SyncAll();
        break;
      case zk::ZkSessionState::kExpired:
      case zk::ZkSessionState::kLost: {
        // As naming does (docs/registry.md, "Lifecycle"): a new session.
        {
          std::lock_guard lock(events->mu);
          if (events->generation != generation || events->stopping) return;
          events->new_client = true;
        }
        spdlog::warn("config: zk session {}; starting a new one", zk::ZkSessionStateName(state));
        events->loop.Wake();
        break;
      }
      case zk::ZkSessionState::kSuspended:
        spdlog::info("config: zk connection lost; keeping the last known values");
        break;
      case zk::ZkSessionState::kClosed:
        break;
    }
  };
  Result<std::shared_ptr<zk::ZkClient>> made = zk::ZkClient::Create(target_.hosts, o);
  if (!made.ok()) return made.status();
  std::shared_ptr<zk::ZkClient> old;
  {
    std::lock_guard lock(mu_);
    old = std::move(client_);
    client_ = std::move(*made);
  }
  watch_armed_ = false;
  return Status::Ok();  // `old` is closed here, off its event thread
}

std::shared_ptr<zk::ZkClient> ZkConfigCenter::ConnectedClient() {
  std::shared_ptr<zk::ZkClient> c;
  {
    std::lock_guard lock(mu_);
    c = client_;
  }
  if (!c || !c->WaitConnected(options_.connect_wait).ok()) return nullptr;
  return c;
}

Result<std::string> ZkConfigCenter::Get(std::string_view key) {
  if (Status st = CheckConfigKey(key); !st.ok()) return st;
  std::unique_lock lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    it = entries_.emplace(std::string(key), Entry{}).first;
    lock.unlock();
    events_->Dirty(std::string(key));
    lock.lock();
  }
  // The worker reads it (entries never go away, so `it` stays valid).
  if (!cv_.wait_for(lock, options_.connect_wait, [&] { return it->second.known; }))
    return Unavailable("config " + std::string(key) + ": not known and the registry did not answer");
  if (!it->second.value) return NotFound("config " + std::string(key) + " does not exist");
  return *it->second.value;
}

Result<ConfigWatchId> ZkConfigCenter::Watch(std::string_view key, ConfigListener listener) {
  if (Status st = CheckConfigKey(key); !st.ok()) return st;
  if (!listener) return InvalidArgument("Watch: no listener");
  auto w = std::make_shared<Watcher>();
  w->key = std::string(key);
  w->listener = std::move(listener);
  ConfigWatchId id;
  bool known;
  {
    std::lock_guard lock(mu_);
    id = next_id_++;
    watchers_.emplace(id, w);
    auto [it, added] = entries_.try_emplace(w->key);
    known = it->second.known;
  }
  if (known) {
    Deliver(w);
  } else {
    events_->Dirty(w->key);
  }
  return id;
}

Status ZkConfigCenter::Unwatch(ConfigWatchId id) {
  std::shared_ptr<Watcher> w;
  {
    std::lock_guard lock(mu_);
    auto it = watchers_.find(id);
    if (it == watchers_.end()) return NotFound("Unwatch: no watch " + std::to_string(id));
    w = std::move(it->second);
    watchers_.erase(it);
  }
  std::lock_guard lock(w->mu);  // waits for a call in progress on another thread
  w->active = false;
  return Status();
}

void ZkConfigCenter::Deliver(const std::shared_ptr<Watcher>& w) {
  std::lock_guard wl(w->mu);
  if (!w->active) return;
  std::optional<std::string> value;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(w->key);
    if (it == entries_.end() || !it->second.known || it->second.version <= w->delivered) return;
    w->delivered = it->second.version;
    value = it->second.value;
  }
  w->listener(value);
}

bool ZkConfigCenter::WaitSynced(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return synced_; });
}

void ZkConfigCenter::Work() {
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
    // Its first connection asks for a full sync; the marked keys go with it.
    if (Status st = StartClient(); !st.ok()) spdlog::warn("config: zk: {}", st.ToString());
    return;
  }
  std::shared_ptr<zk::ZkClient> c;
  std::vector<std::string> keys;
  {
    std::lock_guard lock(mu_);
    c = client_;
    if (std::chrono::steady_clock::now() - last_full_sync_ >= kFullSyncInterval) sync_all = true;
    for (const auto& [key, entry] : entries_)
      if (sync_all || dirty.contains(key)) keys.push_back(key);
  }
  if (!watch_armed_) {
    // Before the reads, so no change between a read and the watch is lost.
    // Recursive: every key below, and it can be set before the node exists.
    std::shared_ptr<Events> events = events_;
    std::string prefix = config_root_ + "/";
    Status st = c->AddWatch(config_root_, zk::ZkWatchMode::kPersistentRecursive,
                            [events, prefix](const zk::ZkWatchedEvent& e) {
                              if (e.type == zk::ZkEventType::kNone ||
                                  e.type == zk::ZkEventType::kPersistentWatchRemoved ||
                                  !e.path.starts_with(prefix))
                                return;
                              events->Dirty(e.path.substr(prefix.size()));
                            });
    if (!st.ok()) {
      // The next (re)connection asks for a full sync and tries again.
      std::lock_guard lock(events_->mu);
      if (!events_->stopping) spdlog::info("config: watching {}: {}", config_root_, st.ToString());
      for (std::string& k : keys) events_->dirty.insert(std::move(k));
      return;
    }
    watch_armed_ = true;
    sync_all = true;
    std::lock_guard lock(mu_);
    keys.clear();
    for (const auto& [key, entry] : entries_) keys.push_back(key);
  }
  if (sync_all) last_full_sync_ = std::chrono::steady_clock::now();
  std::vector<std::string> changed;
  bool complete = ReadKeys(*c, keys, &changed);
  if (!changed.empty()) SaveCache();
  if (sync_all && complete) {
    std::lock_guard lock(mu_);
    synced_ = true;
  }
  cv_.notify_all();
  std::vector<std::shared_ptr<Watcher>> to_notify;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, w] : watchers_)
      if (std::find(changed.begin(), changed.end(), w->key) != changed.end()) to_notify.push_back(w);
  }
  for (const auto& w : to_notify) Deliver(w);
}

bool ZkConfigCenter::ReadKeys(zk::ZkClient& client, const std::vector<std::string>& keys,
                              std::vector<std::string>* changed) {
  bool complete = true;
  for (size_t from = 0; from < keys.size(); from += kReadBatch) {
    size_t to = std::min(keys.size(), from + kReadBatch);
    // The config root first: a registry without it (one that lost its data,
    // or a new one) was not set up rather than emptied. It makes unknown
    // keys known as absent but deletes no known value: wiping the settings
    // of every process on its word would be the outage this class exists
    // to survive.
    std::vector<zk::ZkOp> reads = {zk::ZkOp::GetData(config_root_)};
    for (size_t i = from; i < to; ++i) reads.push_back(zk::ZkOp::GetData(PathOf(keys[i])));
    Result<std::vector<zk::ZkOpResult>> data = client.MultiRead(reads);
    if (!data.ok()) {
      // Lost connection: the reconnection re-reads everything; until then
      // the last known values stay.
      std::lock_guard lock(events_->mu);
      if (!events_->stopping) spdlog::info("config: reading: {}; keeping the last known values", data.status().ToString());
      for (size_t i = from; i < keys.size(); ++i) events_->dirty.insert(keys[i]);
      return false;
    }
    const bool root_missing = (*data)[0].err == zk::ZkError::kNoNode;
    if (root_missing && !root_missing_logged_)
      spdlog::warn("config: {} does not exist in the registry; keeping the last known values", config_root_);
    root_missing_logged_ = root_missing;
    std::lock_guard lock(mu_);
    for (size_t i = from; i < to; ++i) {
      const zk::ZkOpResult& r = (*data)[i - from + 1];
      std::optional<std::string> value;
      if (r.err == zk::ZkError::kOk) {
        value = r.data;
      } else if (r.err != zk::ZkError::kNoNode) {
        complete = false;
        continue;
      }
      Entry& e = entries_[keys[i]];
      if (e.known && (e.value == value || (root_missing && !value))) continue;
      e.known = true;
      e.value = std::move(value);
      e.version = next_version_++;
      changed->push_back(keys[i]);
    }
  }
  return complete;
}

void ZkConfigCenter::SaveCache() {
  if (options_.cache_file.empty()) return;
  ConfigValues values;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, e] : entries_)
      if (e.known && e.value) values.emplace(key, *e.value);
  }
  if (Status st = SaveConfigCache(options_.cache_file, values); !st.ok())
    spdlog::warn("config: writing the cache: {}", st.ToString());
}

Status ZkConfigCenter::Set(std::string_view key, std::string_view value) {
  if (Status st = CheckConfigKey(key); !st.ok()) return st;
  std::shared_ptr<zk::ZkClient> c = ConnectedClient();
  if (!c) return Unavailable("config: the registry " + target_.hosts + " did not answer");
  std::string path = PathOf(key);
  for (int attempt = 0; attempt < 3; ++attempt) {
    Result<zk::ZkStat> set = c->SetData(path, value);
    if (set.ok() || set.status().code() != Code::kNotFound) return set.status();
    if (Status st = naming::EnsurePath(*c, path.substr(0, path.rfind('/'))); !st.ok()) return st;
    Result<zk::ZkCreated> made = c->CreateNode(path, value);
    if (made.ok() || made.status().code() != Code::kAlreadyExists) return made.status();
  }
  return Status(Code::kAborted, "config " + std::string(key) + ": created and deleted concurrently, try again");
}

Status ZkConfigCenter::Delete(std::string_view key) {
  if (Status st = CheckConfigKey(key); !st.ok()) return st;
  std::shared_ptr<zk::ZkClient> c = ConnectedClient();
  if (!c) return Unavailable("config: the registry " + target_.hosts + " did not answer");
  Status st = c->Delete(PathOf(key));
  if (st.code() == Code::kNotFound) return NotFound("config " + std::string(key) + " does not exist");
  return st;
}

Result<std::vector<std::string>> ZkConfigCenter::List(std::string_view prefix) {
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  if (!prefix.empty())
    if (Status st = CheckConfigKey(prefix); !st.ok()) return st;
  std::shared_ptr<zk::ZkClient> c = ConnectedClient();
  if (!c) return Unavailable("config: the registry " + target_.hosts + " did not answer");
  std::vector<std::string> keys;
  std::vector<std::string> pending = {std::string(prefix)};
  while (!pending.empty()) {
    std::string key = std::move(pending.back());
    pending.pop_back();
    Result<zk::ZkChildren> children = c->GetChildren(key.empty() ? config_root_ : PathOf(key));
    if (!children.ok()) {
      if (children.status().code() == Code::kNotFound) continue;  // deleted meanwhile, or no config at all
      return children.status();
    }
    if (children->children.empty() && !key.empty()) keys.push_back(key);
    for (const std::string& child : children->children) pending.push_back(key.empty() ? child : key + "/" + child);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

}  // namespace dougong::cluster::rules

namespace dougong::cluster {

Result<std::shared_ptr<ConfigCenter>> ConfigCenter::Create(std::string_view url, ConfigCenterOptions options) {
  Result<naming::NamingUrl> parsed = naming::ParseNamingUrl(url);
  if (!parsed.ok()) return parsed.status();
  if (parsed->scheme != "zk")
    return InvalidArgument("config center: unsupported URL scheme '" + parsed->scheme + "' (want zk://)");
  Result<naming::ZkTarget> target = naming::ParseZkTarget(*parsed);
  if (!target.ok()) return target.status();
  Result<std::shared_ptr<rules::ZkConfigCenter>> made = rules::ZkConfigCenter::Create(*target, std::move(options));
  if (!made.ok()) return made.status();
  return std::shared_ptr<ConfigCenter>(std::move(*made));
}

}  // namespace dougong::cluster
