// ZooKeeper-protocol load generator: drives Apache ZooKeeper or keeper through
// Apache's C client (libzookeeper_mt, async API), so both servers are measured
// with the same client code. See bench/README.md ("keeper vs ZooKeeper").
//
//   zk_bench --servers=127.0.0.1:PORT --workload=set --connections=4 --outstanding=32
//            --value-size=100 --keys=10000 --duration=10 --warmup=2 [--keep]
//   zk_bench --servers=... --load=1000000 --value-size=100 --root=/big   # fill, then exit
//   zk_bench --servers=... --probe=/big/marker [--expect=done]          # wait until readable
//   zk_bench --servers=A,B,C --spread ...        # connection i talks to server i % 3 only
//   zk_bench --servers=A,B,C --failover-writer   # writes through each member; SIGUSR1 marks a kill
//
// Closed loop: every connection (its own zhandle_t, own TCP connection, own
// I/O and completion threads) keeps `--outstanding` requests in flight; each
// slot re-issues from its completion callback. Latency is per operation, from
// submit to completion callback, for operations that complete during the
// measured interval. Prints one key=value line.
//
// The C client re-resolves its host string before nearly every poll by
// default; every handle here calls zoo_set_servers_resolution_delay (-1 by
// default: no routine re-resolution), and the scripts pass a numeric IP, so
// neither server pays for getaddrinfo in the client.
#define THREADED 1
#include <zookeeper/zookeeper.h>

#include <arpa/inet.h>
#include <signal.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.h"

namespace {

using bench::Clock;
using bench::Histogram;
using namespace std::chrono;

enum class Workload { kCreate, kSet, kGet, kExists, kMixed, kEphSeq };

struct Options {
  std::string servers = "127.0.0.1:2181";
  bool spread = false;
  bool failover_writer = false;
  int connections = 4;
  int outstanding = 32;
  int value_size = 100;
  double duration = 10;
  double warmup = 2;
  std::string workload = "set";
  int keys = 10000;
  std::string root;
  bool keep = false;
  int64_t load = 0;
  int load_fanout = 1000;
  std::string probe;
  std::string expect;
  double probe_timeout = 120;
  int session_timeout_ms = 30000;
  int resolution_delay_ms = -1;
  std::string snap_dir;
  int interval_ms = 100;
  int snap_pad_ms = 200;
};

Options g_opt;
Workload g_work = Workload::kSet;
std::string g_value;                 // the value every write carries
std::vector<std::string> g_keys;     // key paths for set/get/exists/mixed
std::atomic<int> g_phase{bench::kWarmup};
std::atomic<int> g_active{0};        // slots still issuing
std::atomic<uint64_t> g_submit_errors{0};
Clock::time_point g_t_measure;       // written before g_phase becomes kMeasuring

// ---------------------------------------------------------------- connections

struct Conn {
  int index = 0;
  std::string servers;  // its connect string: --servers, or one of them with --spread
  zhandle_t* zh = nullptr;
  std::mutex mu;
  std::condition_variable cv;
  int state = 0;  // last session state seen by the watcher
  // Touched only from this handle's completion thread (libzookeeper_mt runs
  // every completion of a handle on one thread), read after the load stops.
  Histogram hist;
  uint64_t ops = 0;
  uint64_t errors = 0;
  std::vector<Histogram> timeline;  // per --interval-ms of the measured phase
};

void Watcher(zhandle_t*, int type, int state, const char*, void* ctx) {
  if (type != ZOO_SESSION_EVENT) return;
  auto* c = static_cast<Conn*>(ctx);
  std::lock_guard lock(c->mu);
  c->state = state;
  c->cv.notify_all();
}

// Opens the handle and waits for the session; false on timeout.
bool Connect(Conn& c, milliseconds wait) {
  c.state = 0;
  c.zh = zookeeper_init(c.servers.c_str(), Watcher, g_opt.session_timeout_ms, nullptr, &c, 0);
  if (c.zh == nullptr) return false;
  zoo_set_servers_resolution_delay(c.zh, g_opt.resolution_delay_ms);
  std::unique_lock lock(c.mu);
  return c.cv.wait_for(lock, wait, [&] { return c.state == ZOO_CONNECTED_STATE; });
}

void Close(Conn& c) {
  if (c.zh != nullptr) zookeeper_close(c.zh);
  c.zh = nullptr;
}

// The entries of --servers ("a:1,b:2" -> {"a:1", "b:2"}).
std::vector<std::string> ServerList() {
  std::vector<std::string> out;
  size_t begin = 0;
  while (begin <= g_opt.servers.size()) {
    size_t end = g_opt.servers.find(',', begin);
    if (end == std::string::npos) end = g_opt.servers.size();
    if (end > begin) out.push_back(g_opt.servers.substr(begin, end - begin));
    begin = end + 1;
  }
  return out;
}

// Without --spread every handle gets the whole list (the C client picks one
// at random and moves on when it fails); with it, connection i talks to
// server i % n only, so the load is spread evenly over an ensemble's members.
std::vector<std::unique_ptr<Conn>> OpenAll(int n) {
  std::vector<std::unique_ptr<Conn>> conns;
  const auto list = ServerList();
  for (int i = 0; i < n; ++i) {
    auto c = std::make_unique<Conn>();
    c->index = i;
    c->servers = g_opt.spread ? list[static_cast<size_t>(i) % list.size()] : g_opt.servers;
    if (!Connect(*c, seconds(15))) {
      std::fprintf(stderr, "zk_bench: connection %d to %s: no session within 15 s\n", i,
                   c->servers.c_str());
      std::exit(1);
    }
    conns.push_back(std::move(c));
  }
  return conns;
}

// ------------------------------------------------------------- bulk requests
//
// Setup, --load and cleanup: a list of operations spread over all
// connections with `outstanding` in flight per connection.

struct Bulk;
struct BulkReq {
  Bulk* bulk = nullptr;
  Conn* conn = nullptr;
  size_t index = 0;
  int retries = 0;  // of this index, after connection losses
  Clock::time_point t0;
  std::string path;
};

struct Bulk {
  enum Kind { kCreate, kDelete, kChildren } kind = kCreate;
  size_t count = 0;
  std::function<void(size_t, std::string&)> path_of;
  const std::string* value = nullptr;
  bool record = false;                                // latency into Conn::hist
  std::vector<std::vector<std::string>>* children = nullptr;  // kChildren output
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<int> busy{0};
  std::mutex mu;
  std::condition_variable cv;
};

void BulkIssue(BulkReq* r);
void BulkSend(BulkReq* r);

// A connection lost under an operation (an ensemble member restarting, a
// leader change that closes client connections) does not fail it: it is
// sent again once the handle has reconnected (up to kBulkRetries times).
// Creates and deletes are idempotent here (ZNODEEXISTS / ZNONODE count as
// done), so an operation that was applied before the loss is harmless.
constexpr int kBulkRetries = 50;
bool Retryable(int rc) { return rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT || rc == ZSESSIONMOVED; }

void BulkDone(BulkReq* r, bool ok, int rc = ZOK) {
  Bulk* b = r->bulk;
  if (!ok && Retryable(rc) && r->retries < kBulkRetries) {
    ++r->retries;
    std::this_thread::sleep_for(milliseconds(10));  // a completion thread: no harm in a bulk phase
    BulkSend(r);
    return;
  }
  r->retries = 0;
  if (ok && b->record) {
    r->conn->hist.Record(static_cast<uint64_t>(duration_cast<nanoseconds>(Clock::now() - r->t0).count()));
    ++r->conn->ops;
  }
  if (!ok) b->failed.fetch_add(1, std::memory_order_relaxed);
  BulkIssue(r);
}

void OnBulkCreate(int rc, const char*, const void* d) {
  BulkDone(static_cast<BulkReq*>(const_cast<void*>(d)), rc == ZOK || rc == ZNODEEXISTS, rc);
}
void OnBulkDelete(int rc, const void* d) {
  BulkDone(static_cast<BulkReq*>(const_cast<void*>(d)), rc == ZOK || rc == ZNONODE, rc);
}
void OnBulkChildren(int rc, const String_vector* v, const void* d) {
  auto* r = static_cast<BulkReq*>(const_cast<void*>(d));
  if (rc == ZOK && v != nullptr) {
    auto& out = (*r->bulk->children)[r->index];
    for (int i = 0; i < v->count; ++i) out.emplace_back(v->data[i]);
  }
  BulkDone(r, rc == ZOK || rc == ZNONODE, rc);
}

// Sends operation r->index of the list on r's connection; false if the
// handle refused it (then no callback comes).
bool BulkSubmit(BulkReq* r) {
  Bulk* b = r->bulk;
  b->path_of(r->index, r->path);
  r->t0 = Clock::now();
  int rc = ZOK;
  switch (b->kind) {
    case Bulk::kCreate:
      rc = zoo_acreate(r->conn->zh, r->path.c_str(), b->value->data(), static_cast<int>(b->value->size()),
                       &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, OnBulkCreate, r);
      break;
    case Bulk::kDelete:
      rc = zoo_adelete(r->conn->zh, r->path.c_str(), -1, OnBulkDelete, r);
      break;
    case Bulk::kChildren:
      rc = zoo_aget_children(r->conn->zh, r->path.c_str(), 0, OnBulkChildren, r);
      break;
  }
  return rc == ZOK;
}

// The same operation again (a retry); if the handle refuses it, it failed.
void BulkSend(BulkReq* r) {
  if (BulkSubmit(r)) return;
  r->retries = 0;
  r->bulk->failed.fetch_add(1, std::memory_order_relaxed);
  BulkIssue(r);
}

// Issues the next operation of the list on r's connection, or retires r.
void BulkIssue(BulkReq* r) {
  Bulk* b = r->bulk;
  for (;;) {
    size_t i = b->next.fetch_add(1, std::memory_order_relaxed);
    if (i >= b->count) {
      if (b->busy.fetch_sub(1) == 1) {
        std::lock_guard lock(b->mu);
        b->cv.notify_all();
      }
      return;
    }
    r->index = i;
    if (BulkSubmit(r)) return;  // the callback takes r from here
    b->failed.fetch_add(1, std::memory_order_relaxed);
  }
}

// Runs the whole list; returns the number of failed operations.
uint64_t RunBulk(std::vector<std::unique_ptr<Conn>>& conns, Bulk& b) {
  if (b.count == 0) return 0;
  std::vector<BulkReq> reqs(conns.size() * static_cast<size_t>(g_opt.outstanding));
  b.busy.store(static_cast<int>(reqs.size()));
  for (size_t i = 0; i < reqs.size(); ++i) {
    reqs[i].bulk = &b;
    reqs[i].conn = conns[i % conns.size()].get();
  }
  for (auto& r : reqs) BulkIssue(&r);
  std::unique_lock lock(b.mu);
  b.cv.wait(lock, [&] { return b.busy.load() == 0; });
  return b.failed.load();
}

uint64_t CreateAll(std::vector<std::unique_ptr<Conn>>& conns, size_t n,
                   std::function<void(size_t, std::string&)> path_of, const std::string& value,
                   bool record = false) {
  Bulk b;
  b.kind = Bulk::kCreate;
  b.count = n;
  b.path_of = std::move(path_of);
  b.value = &value;
  b.record = record;
  return RunBulk(conns, b);
}

uint64_t CreateList(std::vector<std::unique_ptr<Conn>>& conns, const std::vector<std::string>& paths,
                    const std::string& value) {
  return CreateAll(conns, paths.size(), [&](size_t i, std::string& p) { p = paths[i]; }, value);
}

// Deletes `root` and everything under it: lists level by level (one pipelined
// getChildren per node), then deletes the deepest level first.
uint64_t DeleteTree(std::vector<std::unique_ptr<Conn>>& conns, const std::string& root) {
  std::vector<std::vector<std::string>> levels{{root}};
  uint64_t failed = 0;
  while (!levels.back().empty()) {
    const auto& level = levels.back();
    std::vector<std::vector<std::string>> kids(level.size());
    Bulk b;
    b.kind = Bulk::kChildren;
    b.count = level.size();
    b.path_of = [&](size_t i, std::string& p) { p = level[i]; };
    b.children = &kids;
    failed += RunBulk(conns, b);
    std::vector<std::string> next;
    for (size_t i = 0; i < level.size(); ++i)
      for (auto& k : kids[i]) next.push_back(level[i] + "/" + k);
    levels.push_back(std::move(next));
  }
  for (auto it = levels.rbegin(); it != levels.rend(); ++it) {
    Bulk b;
    b.kind = Bulk::kDelete;
    b.count = it->size();
    b.path_of = [&](size_t i, std::string& p) { p = (*it)[i]; };
    failed += RunBulk(conns, b);
  }
  return failed;
}

// ------------------------------------------------------------ measured load

struct Slot {
  Conn* conn = nullptr;
  int id = 0;
  uint64_t seq = 0;
  std::mt19937_64 rng;
  Clock::time_point t0;
  std::string path;
};

void Issue(Slot* s);

void Complete(Slot* s, bool ok) {
  auto now = Clock::now();
  int phase = g_phase.load(std::memory_order_acquire);
  if (phase == bench::kMeasuring) {
    Conn* c = s->conn;
    if (ok) {
      auto ns = static_cast<uint64_t>(duration_cast<nanoseconds>(now - s->t0).count());
      c->hist.Record(ns);
      ++c->ops;
      if (!c->timeline.empty()) {
        auto slot = duration_cast<milliseconds>(now - g_t_measure).count() / g_opt.interval_ms;
        if (slot >= 0 && static_cast<size_t>(slot) < c->timeline.size()) c->timeline[slot].Record(ns);
      }
    } else {
      ++c->errors;
    }
  }
  if (phase == bench::kStopping) {
    g_active.fetch_sub(1, std::memory_order_acq_rel);
    return;
  }
  Issue(s);
}

Slot* SlotOf(const void* d) { return static_cast<Slot*>(const_cast<void*>(d)); }

void OnStat(int rc, const Stat*, const void* d) { Complete(SlotOf(d), rc == ZOK); }
void OnData(int rc, const char*, int len, const Stat*, const void* d) {
  Complete(SlotOf(d), rc == ZOK && len == g_opt.value_size);
}
void OnCreate(int rc, const char*, const void* d) { Complete(SlotOf(d), rc == ZOK); }
void OnEphDelete(int rc, const void* d) { Complete(SlotOf(d), rc == ZOK); }
// ephseq: the create's completion deletes the node it made (also while
// stopping, so no ephemeral is left behind); the pair is one operation.
void OnEphCreate(int rc, const char* created, const void* d) {
  Slot* s = SlotOf(d);
  if (rc != ZOK || created == nullptr) return Complete(s, false);
  s->path.assign(created);
  if (zoo_adelete(s->conn->zh, s->path.c_str(), -1, OnEphDelete, s) != ZOK) {
    g_submit_errors.fetch_add(1);
    g_active.fetch_sub(1);
  }
}

void Issue(Slot* s) {
  zhandle_t* zh = s->conn->zh;
  s->t0 = Clock::now();
  const int vlen = static_cast<int>(g_value.size());
  int rc = ZOK;
  Workload w = g_work;
  if (w == Workload::kMixed) w = (s->rng() % 10 == 0) ? Workload::kSet : Workload::kGet;
  switch (w) {
    case Workload::kCreate:
      s->path = g_opt.root + "/c/s" + std::to_string(s->id) + "/n" + std::to_string(s->seq++);
      rc = zoo_acreate(zh, s->path.c_str(), g_value.data(), vlen, &ZOO_OPEN_ACL_UNSAFE,
                       ZOO_PERSISTENT, OnCreate, s);
      break;
    case Workload::kSet:
      rc = zoo_aset(zh, g_keys[s->rng() % g_keys.size()].c_str(), g_value.data(), vlen, -1, OnStat, s);
      break;
    case Workload::kGet:
      rc = zoo_aget(zh, g_keys[s->rng() % g_keys.size()].c_str(), 0, OnData, s);
      break;
    case Workload::kExists:
      rc = zoo_aexists(zh, g_keys[s->rng() % g_keys.size()].c_str(), 0, OnStat, s);
      break;
    case Workload::kEphSeq:
      s->path = g_opt.root + "/e/n-";
      rc = zoo_acreate(zh, s->path.c_str(), g_value.data(), vlen, &ZOO_OPEN_ACL_UNSAFE,
                       ZOO_EPHEMERAL_SEQUENTIAL, OnEphCreate, s);
      break;
    case Workload::kMixed:
      break;
  }
  if (rc != ZOK) {  // the handle refused it (closed/broken): this slot stops
    g_submit_errors.fetch_add(1);
    g_active.fetch_sub(1);
  }
}

// ------------------------------------------------------- snapshot detection
//
// --snap-dir: inotify on the data directory and its subdirectories (new ones
// too). A snapshot is every file whose name starts with "snapshot"
// (ZooKeeper: version-2/snapshot.<zxid>; keeper: snapshot.<pid>-<n>.tmp renamed
// to snapshot.<zxid>); its window runs from its first event (create) to its
// last (close/rename).

class SnapWatcher {
 public:
  struct Window {
    Clock::time_point begin, end;
    std::string name;
  };
  bool Start(const std::string& dir) {
    fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ < 0) return false;
    if (!AddDir(dir)) return false;
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator(dir, ec))
      if (e.is_directory(ec)) AddDir(e.path().string());
    thread_ = std::thread([this] { Loop(); });
    return true;
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) close(fd_);
  }
  std::vector<Window> Windows() {
    std::lock_guard lock(mu_);
    std::vector<Window> out;
    for (auto& [name, w] : files_) {
      out.push_back(w);
      out.back().name = name;
    }
    return out;
  }

 private:
  bool AddDir(const std::string& d) {
    int wd = inotify_add_watch(fd_, d.c_str(),
                               IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_MODIFY);
    if (wd < 0) return false;
    std::lock_guard lock(mu_);
    dirs_[wd] = d;
    return true;
  }
  void Loop() {
    alignas(inotify_event) char buf[16384];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      ssize_t n = read(fd_, buf, sizeof buf);
      auto now = Clock::now();
      for (ssize_t off = 0; off < n;) {
        auto* ev = reinterpret_cast<inotify_event*>(buf + off);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        if (ev->len == 0) continue;
        std::string name(ev->name);
        if ((ev->mask & IN_ISDIR) && (ev->mask & IN_CREATE)) {
          std::string parent;
          {
            std::lock_guard lock(mu_);
            parent = dirs_[ev->wd];
          }
          AddDir(parent + "/" + name);
          continue;
        }
        if (name.rfind("snapshot", 0) != 0) continue;
        std::lock_guard lock(mu_);
        // A temporary file renamed into place (keeper: snapshot.<pid>-<n>.tmp
        // -> snapshot.<zxid>) is one snapshot: the rename's two events share
        // a cookie.
        if (ev->mask & IN_MOVED_FROM) moved_[ev->cookie] = name;
        if (ev->mask & IN_MOVED_TO) {
          auto m = moved_.find(ev->cookie);
          if (m != moved_.end()) {
            alias_[name] = m->second;  // later events on the new name (its close)
            name = m->second;
            moved_.erase(m);
          }
        }
        if (auto a = alias_.find(name); a != alias_.end()) name = a->second;
        auto [it, fresh] = files_.try_emplace(name, Window{now, now, {}});
        if (!fresh) it->second.end = now;
      }
    }
  }
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::map<int, std::string> dirs_;
  std::map<std::string, Window> files_;
  std::map<uint32_t, std::string> moved_;  // rename cookie -> old name
  std::map<std::string, std::string> alias_;  // renamed-to name -> its snapshot's key
};

// ------------------------------------------------------------------- modes

std::string RandomRoot() {
  std::random_device rd;
  char buf[32];
  std::snprintf(buf, sizeof buf, "/bench-%08x", static_cast<unsigned>(rd()));
  return buf;
}

void MustCreate(Conn& c, const std::string& path, const std::string& value = "") {
  int rc = zoo_create(c.zh, path.c_str(), value.data(), static_cast<int>(value.size()),
                      &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, nullptr, 0);
  if (rc != ZOK && rc != ZNODEEXISTS) {
    std::fprintf(stderr, "zk_bench: create %s: %s\n", path.c_str(), zerror(rc));
    std::exit(1);
  }
}

// Host and port of the first entry of --servers, for the probe's TCP check.
bool TcpOpen(const std::string& servers) {
  std::string first = servers.substr(0, servers.find(','));
  auto colon = first.rfind(':');
  if (colon == std::string::npos) return true;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(std::stoi(first.substr(colon + 1))));
  if (inet_pton(AF_INET, first.substr(0, colon).c_str(), &a.sin_addr) != 1) return true;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// One session attempt: true once connected; false as soon as the handshake
// failed (a starting server accepts TCP and then drops the connection: the
// handle leaves the associating state without connecting) or after `cap`.
bool ConnectOnce(Conn& c, milliseconds cap) {
  c.state = 0;
  c.zh = zookeeper_init(g_opt.servers.c_str(), Watcher, g_opt.session_timeout_ms, nullptr, &c, 0);
  if (c.zh == nullptr) return false;
  zoo_set_servers_resolution_delay(c.zh, g_opt.resolution_delay_ms);
  auto deadline = Clock::now() + cap;
  bool associating = false;
  std::unique_lock lock(c.mu);
  while (Clock::now() < deadline) {
    if (c.cv.wait_for(lock, milliseconds(2), [&] { return c.state == ZOO_CONNECTED_STATE; }))
      return true;
    int st = zoo_state(c.zh);
    if (st == ZOO_ASSOCIATING_STATE) associating = true;
    else if (associating && st != ZOO_CONNECTED_STATE) return false;  // dropped: 0 or connecting
  }
  return false;
}

// --probe: until the node reads back (with --expect's value), retry: wait for
// the port, open a session (one attempt = ConnectOnce), read. Prints the time
// taken from the probe's start.
int Probe() {
  auto t0 = Clock::now();
  // Refused sessions while the server starts are expected: keep the C
  // client's error log quiet.
  if (FILE* null = std::fopen("/dev/null", "w")) zoo_set_log_stream(null);
  auto deadline = t0 + duration_cast<Clock::duration>(duration<double>(g_opt.probe_timeout));
  int attempts = 0;
  std::vector<char> buf(1 << 20);
  while (Clock::now() < deadline) {
    if (!TcpOpen(g_opt.servers)) {
      std::this_thread::sleep_for(milliseconds(5));
      continue;
    }
    ++attempts;
    Conn c;
    if (ConnectOnce(c, milliseconds(1000))) {
      int len = static_cast<int>(buf.size());
      int rc = zoo_get(c.zh, g_opt.probe.c_str(), 0, buf.data(), &len, nullptr);
      if (rc == ZOK && (g_opt.expect.empty() ||
                        std::string(buf.data(), len > 0 ? len : 0) == g_opt.expect)) {
        Close(c);
        std::printf("probe=ok path=%s elapsed_ms=%.1f attempts=%d\n", g_opt.probe.c_str(),
                    duration<double, std::milli>(Clock::now() - t0).count(), attempts);
        return 0;
      }
    }
    Close(c);
    std::this_thread::sleep_for(milliseconds(5));
  }
  std::printf("probe=timeout path=%s elapsed_ms=%.1f attempts=%d\n", g_opt.probe.c_str(),
              duration<double, std::milli>(Clock::now() - t0).count(), attempts);
  return 1;
}

void PrintLatency(const Histogram& h) {
  std::printf("p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f", h.Quantile(0.5) / 1e3,
              h.Quantile(0.9) / 1e3, h.Quantile(0.99) / 1e3, h.Quantile(0.999) / 1e3,
              h.Quantile(1.0) / 1e3);
}

// --load: ROOT/l/b<i/fanout>/n<i>, then ROOT/marker = "done" once all are in.
int Load(std::vector<std::unique_ptr<Conn>>& conns) {
  const std::string base = g_opt.root + "/l";
  MustCreate(*conns[0], g_opt.root);
  MustCreate(*conns[0], base);
  const size_t n = static_cast<size_t>(g_opt.load);
  const size_t fan = static_cast<size_t>(g_opt.load_fanout);
  const size_t buckets = (n + fan - 1) / fan;
  uint64_t failed = CreateAll(
      conns, buckets, [&](size_t i, std::string& p) { p = base + "/b" + std::to_string(i); }, "");
  double cpu0 = bench::CpuSeconds();
  auto t0 = Clock::now();
  failed += CreateAll(
      conns, n,
      [&](size_t i, std::string& p) {
        p = base + "/b" + std::to_string(i / fan) + "/n" + std::to_string(i);
      },
      g_value, /*record=*/true);
  double wall = duration<double>(Clock::now() - t0).count();
  double cpu = bench::CpuSeconds() - cpu0;
  MustCreate(*conns[0], g_opt.root + "/marker", "done");
  Histogram h;
  uint64_t ops = 0;
  for (auto& c : conns) {
    h.Merge(c->hist);
    ops += c->ops;
  }
  std::printf("workload=load servers=%s spread=%d connections=%d outstanding=%d value_size=%d root=%s znodes=%zu ",
              g_opt.servers.c_str(), g_opt.spread ? 1 : 0, g_opt.connections, g_opt.outstanding, g_opt.value_size,
              g_opt.root.c_str(), n);
  std::printf("ops=%llu seconds=%.2f ops_per_sec=%.1f ", static_cast<unsigned long long>(ops), wall,
              ops / (wall > 0 ? wall : 1));
  PrintLatency(h);
  std::printf(" errors=%llu client_cpu_s=%.3f\n", static_cast<unsigned long long>(failed), cpu);
  std::fflush(stdout);
  return failed == 0 ? 0 : 1;
}

int Run(std::vector<std::unique_ptr<Conn>>& conns) {
  Conn& c0 = *conns[0];
  MustCreate(c0, g_opt.root);
  const int nslots = g_opt.connections * g_opt.outstanding;
  switch (g_work) {
    case Workload::kCreate: {
      MustCreate(c0, g_opt.root + "/c");
      std::vector<std::string> dirs;
      for (int i = 0; i < nslots; ++i) dirs.push_back(g_opt.root + "/c/s" + std::to_string(i));
      if (CreateList(conns, dirs, "") != 0) {
        std::fprintf(stderr, "zk_bench: setup failed\n");
        return 1;
      }
      break;
    }
    case Workload::kEphSeq:
      MustCreate(c0, g_opt.root + "/e");
      break;
    default:
      for (int i = 0; i < g_opt.keys; ++i) g_keys.push_back(g_opt.root + "/k" + std::to_string(i));
      if (CreateList(conns, g_keys, g_value) != 0) {
        std::fprintf(stderr, "zk_bench: creating %d keys failed\n", g_opt.keys);
        return 1;
      }
      break;
  }

  SnapWatcher snaps;
  bool watching = false;
  if (!g_opt.snap_dir.empty()) {
    watching = snaps.Start(g_opt.snap_dir);
    if (!watching) std::fprintf(stderr, "zk_bench: cannot watch %s\n", g_opt.snap_dir.c_str());
    size_t n = static_cast<size_t>(g_opt.duration * 1000 / g_opt.interval_ms) + 2;
    for (auto& c : conns) c->timeline.resize(n);
  }

  std::vector<Slot> slots(static_cast<size_t>(nslots));
  for (int i = 0; i < nslots; ++i) {
    slots[i].conn = conns[i % g_opt.connections].get();
    slots[i].id = i;
    slots[i].rng.seed(0x9e3779b97f4a7c15ULL * (i + 1));
  }
  g_active.store(nslots);
  for (auto& s : slots) Issue(&s);

  std::this_thread::sleep_for(duration<double>(g_opt.warmup));
  double cpu0 = bench::CpuSeconds();
  g_t_measure = Clock::now();
  g_phase.store(bench::kMeasuring, std::memory_order_release);
  std::this_thread::sleep_for(duration<double>(g_opt.duration));
  g_phase.store(bench::kStopping, std::memory_order_release);
  auto t1 = Clock::now();
  double cpu = bench::CpuSeconds() - cpu0;
  double wall = duration<double>(t1 - g_t_measure).count();
  bool drained = true;
  auto deadline = Clock::now() + seconds(30);
  while (g_active.load() > 0) {
    if (Clock::now() > deadline) {
      drained = false;
      break;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  if (watching) snaps.Stop();

  Histogram h;
  uint64_t ops = 0, errors = g_submit_errors.load();
  for (auto& c : conns) {
    h.Merge(c->hist);
    ops += c->ops;
    errors += c->errors;
  }
  std::printf("workload=%s servers=%s spread=%d connections=%d outstanding=%d value_size=%d keys=%d "
              "duration=%g warmup=%g ops=%llu ops_per_sec=%.1f ",
              g_opt.workload.c_str(), g_opt.servers.c_str(), g_opt.spread ? 1 : 0, g_opt.connections, g_opt.outstanding,
              g_opt.value_size, g_work == Workload::kCreate || g_work == Workload::kEphSeq ? 0 : g_opt.keys,
              g_opt.duration, g_opt.warmup, static_cast<unsigned long long>(ops), ops / wall);
  PrintLatency(h);
  std::printf(" errors=%llu client_cpu_s=%.3f drained=%d", static_cast<unsigned long long>(errors), cpu,
              drained ? 1 : 0);

  if (watching) {
    // Intervals overlapping a snapshot window (padded by --snap-pad-ms on both
    // sides) against all the others.
    auto pad = milliseconds(g_opt.snap_pad_ms);
    std::vector<std::pair<double, double>> wins;  // seconds from the start of measuring
    for (auto& w : snaps.Windows()) {
      double b = duration<double>(w.begin - pad - g_t_measure).count();
      double e = duration<double>(w.end + pad - g_t_measure).count();
      std::fprintf(stderr, "zk_bench: snapshot file %s written from %.3f s to %.3f s of the measured phase\n",
                   w.name.c_str(), duration<double>(w.begin - g_t_measure).count(),
                   duration<double>(w.end - g_t_measure).count());
      if (e >= 0 && b <= wall) wins.emplace_back(b, e);
    }
    Histogram in, out;
    double step = g_opt.interval_ms / 1e3;
    size_t n = conns[0]->timeline.size();
    double in_s = 0;
    for (size_t i = 0; i < n; ++i) {
      double lo = i * step, hi = lo + step;
      bool hit = false;
      for (auto& [b, e] : wins) hit = hit || (lo < e && hi > b);
      if (hit && lo < wall) in_s += std::min(hi, wall) - lo;
      for (auto& c : conns) (hit ? in : out).Merge(c->timeline[i]);
    }
    double first = -1;  // start of the first snapshot, seconds into the measured phase
    for (auto& [b, e] : wins) {
      double s = b + pad.count() / 1e3;
      if (first < 0 || s < first) first = s;
    }
    std::printf(" snapshots=%zu snap_first_s=%.2f snap_s=%.2f snap_ops=%llu snap_p99_us=%.1f "
                "snap_p999_us=%.1f snap_max_us=%.1f calm_ops=%llu calm_p99_us=%.1f calm_p999_us=%.1f "
                "calm_max_us=%.1f",
                wins.size(), first, in_s, static_cast<unsigned long long>(in.total()),
                in.Quantile(0.99) / 1e3, in.Quantile(0.999) / 1e3, in.Quantile(1.0) / 1e3,
                static_cast<unsigned long long>(out.total()), out.Quantile(0.99) / 1e3,
                out.Quantile(0.999) / 1e3, out.Quantile(1.0) / 1e3);
  }
  std::printf("\n");
  std::fflush(stdout);

  if (!drained) std::_Exit(2);  // handles still busy: don't tear them down
  if (!g_opt.keep) {
    uint64_t f = DeleteTree(conns, g_opt.root);
    if (f != 0) std::fprintf(stderr, "zk_bench: cleanup of %s: %llu failures\n", g_opt.root.c_str(),
                             static_cast<unsigned long long>(f));
  }
  return 0;
}


// --failover-writer: one handle per entry of --servers (each pinned to its
// member), each thread setting ROOT/w in a loop, one synchronous set at a
// time, so writes keep flowing through every member that is alive. SIGUSR1
// marks "now" (the script sends it just before it kills the leader); the
// first set submitted after the mark that succeeds prints
// `first_write_ms=<completion - mark> via=<member>`. Writes submitted before
// the mark do not count, even if they complete after it. Every mark re-arms
// the report. SIGTERM or SIGINT: prints the totals and exits.
int FailoverWriter() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any client thread exists
  // Connection losses are the point here: keep the C client's log quiet.
  if (FILE* null = std::fopen("/dev/null", "w")) zoo_set_log_stream(null);

  g_opt.spread = true;
  auto conns = OpenAll(static_cast<int>(ServerList().size()));
  const std::string path = g_opt.root + "/w";
  MustCreate(*conns[0], g_opt.root);
  MustCreate(*conns[0], path);

  auto now_ns = [] { return duration_cast<nanoseconds>(Clock::now().time_since_epoch()).count(); };
  std::atomic<int64_t> mark{-1};
  std::atomic<bool> reported{true};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> ok{0}, failed{0};
  std::vector<std::thread> writers;
  for (auto& c : conns) {
    writers.emplace_back([&, conn = c.get()] {
      while (!stop.load(std::memory_order_relaxed)) {
        int64_t t0 = now_ns();
        int rc = zoo_set(conn->zh, path.c_str(), g_value.data(), static_cast<int>(g_value.size()), -1);
        int64_t t1 = now_ns();
        if (rc != ZOK) {
          failed.fetch_add(1, std::memory_order_relaxed);
          std::this_thread::sleep_for(milliseconds(1));  // a refusing handle fails at once
          continue;
        }
        ok.fetch_add(1, std::memory_order_relaxed);
        int64_t m = mark.load(std::memory_order_acquire);
        if (m >= 0 && t0 >= m && !reported.exchange(true)) {
          std::printf("first_write_ms=%.1f via=%s\n", (t1 - m) / 1e6, conn->servers.c_str());
          std::fflush(stdout);
        }
      }
    });
  }
  std::printf("writer=ready servers=%s root=%s\n", g_opt.servers.c_str(), g_opt.root.c_str());
  std::fflush(stdout);
  for (;;) {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig == SIGUSR1) {
      mark.store(now_ns(), std::memory_order_release);
      reported.store(false);
      continue;
    }
    break;
  }
  std::printf("writer=stopped ok=%llu failed=%llu\n", static_cast<unsigned long long>(ok.load()),
              static_cast<unsigned long long>(failed.load()));
  std::fflush(stdout);
  // A handle pinned to a dead member may sit in a blocking call: don't join
  // or close, just leave.
  std::_Exit(0);
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ZooKeeper-protocol load generator (Apache C client, async API)"};
  Options& o = g_opt;
  app.add_option("--servers", o.servers, "host:port[,host:port...] (use a numeric IP)")->capture_default_str();
  app.add_flag("--spread", o.spread, "connection i talks only to server i % n of --servers");
  app.add_flag("--failover-writer", o.failover_writer,
               "one writer per server; SIGUSR1 marks a kill, prints first_write_ms after it; SIGTERM stops");
  app.add_option("--connections", o.connections, "zhandles (one TCP connection each)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--outstanding", o.outstanding, "requests in flight per connection")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--value-size", o.value_size, "bytes per written value")->capture_default_str();
  app.add_option("--duration", o.duration, "measured seconds")->capture_default_str();
  app.add_option("--warmup", o.warmup, "seconds of load before measuring")->capture_default_str();
  app.add_option("--workload", o.workload, "create|set|get|exists|mixed|ephseq")
      ->capture_default_str()
      ->check(CLI::IsMember({"create", "set", "get", "exists", "mixed", "ephseq"}));
  app.add_option("--keys", o.keys, "key space for set/get/exists/mixed (created first)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--root", o.root, "parent of everything this run creates (default /bench-<random>)");
  app.add_flag("--keep", o.keep, "leave --root in place at the end");
  app.add_option("--load", o.load, "create this many znodes of --value-size under ROOT/l, then exit");
  app.add_option("--load-fanout", o.load_fanout, "children per bucket for --load")->capture_default_str();
  app.add_option("--probe", o.probe, "wait until this node can be read, print the time, exit");
  app.add_option("--expect", o.expect, "with --probe: the value it must have");
  app.add_option("--probe-timeout", o.probe_timeout, "seconds")->capture_default_str();
  app.add_option("--session-timeout-ms", o.session_timeout_ms)->capture_default_str();
  app.add_option("--resolution-delay-ms", o.resolution_delay_ms,
                 "zoo_set_servers_resolution_delay for every handle (-1: no routine re-resolution; 0: "
                 "the C client's default, re-resolve on every poll)")
      ->capture_default_str();
  app.add_option("--snap-dir", o.snap_dir,
                 "server data dir: split latency into intervals during / outside snapshot writes");
  app.add_option("--interval-ms", o.interval_ms, "timeline resolution for --snap-dir")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--snap-pad-ms", o.snap_pad_ms, "widen each snapshot window by this on both sides")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  if (!o.probe.empty()) return Probe();

  static const std::map<std::string, Workload> kWork{
      {"create", Workload::kCreate}, {"set", Workload::kSet},     {"get", Workload::kGet},
      {"exists", Workload::kExists}, {"mixed", Workload::kMixed}, {"ephseq", Workload::kEphSeq}};
  g_work = kWork.at(o.workload);
  if (o.root.empty()) o.root = RandomRoot();
  g_value.assign(static_cast<size_t>(o.value_size), 'v');
  if (o.failover_writer) return FailoverWriter();

  auto conns = OpenAll(o.connections);
  int rc = o.load > 0 ? Load(conns) : Run(conns);
  for (auto& c : conns) Close(*c);
  return rc;
}
