// The four-letter words and the Prometheus page: ZooKeeper 3.8's output
// formats (FourLetterCommands, the *Command classes of
// org.apache.zookeeper.server.command), since monitoring tools parse them.
#include <sys/resource.h>
#include <unistd.h>

#include <dirent.h>

#include <map>
#include <set>

#include <fmt/format.h>

#include "keeper/core.h"

namespace dougong::keeper {

namespace {

constexpr const char* kVersion = "3.8.0-dougong-keeper";

int CountOpenFds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
    n -= 3;  // ".", "..", and the directory itself
  }
  return n;
}

int64_t MaxFds() {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  return static_cast<int64_t>(rl.rlim_cur);
}

std::string Latency(int64_t min, int64_t total, int64_t count, int64_t max) {
  double avg = count > 0 ? static_cast<double>(total) / static_cast<double>(count) : 0.0;
  return fmt::format("{}/{:.4f}/{}", min < 0 ? 0 : min, avg, max);
}

}  // namespace

std::string Core::FourLetterWord(const std::string& word) {
  const DataTree& tree = sm_->tree();
  std::vector<std::shared_ptr<ZkConnection>> conns;
  for (auto& [id, weak] : connections_) {
    if (auto c = weak.lock()) conns.push_back(std::move(c));
  }
  uint64_t outstanding = 0;
  for (auto& c : conns) outstanding += c->core.queue.size() + c->core.pending_writes;
  auto client_line = [](const ZkConnection& c, bool detailed) {
    const auto& cs = c.core;
    std::string s = fmt::format(" /{}:{}[1](queued={},recved={},sent={}", c.remote_ip(), c.remote_port(),
                                cs.queue.size() + cs.pending_writes, c.packets_received.load(),
                                c.packets_sent.load());
    if (detailed) {
      s += fmt::format(",sid=0x{:x},lop={},est={},to={},lcxid=0x{:x},lzxid=0x{:x},lresp={},llat={},minlat={},avglat={},maxlat={}",
                       cs.session, zk::OpCodeName(cs.last_op), c.established_ms(), cs.timeout_ms, cs.last_cxid,
                       cs.last_zxid, cs.last_response_ms, cs.last_latency_ms,
                       cs.min_latency_ms < 0 ? 0 : cs.min_latency_ms,
                       cs.latency_count ? cs.total_latency_ms / cs.latency_count : 0, cs.max_latency_ms);
    }
    return s + ")\n";
  };
  auto server_lines = [&](bool with_clients) {
    std::string s = fmt::format("Zookeeper version: {}, built on dougong\n", kVersion);
    if (with_clients) {
      s += "Clients:\n";
      for (auto& c : conns) s += client_line(*c, false);
      s += "\n";
    }
    s += fmt::format("Latency min/avg/max: {}\n",
                     Latency(stats_.min_latency_ms, stats_.total_latency_ms, stats_.latency_count,
                             stats_.max_latency_ms));
    s += fmt::format("Received: {}\nSent: {}\nConnections: {}\nOutstanding: {}\nZxid: 0x{:x}\n{}"
                     "Node count: {}\n",
                     stats_.packets_received, stats_.packets_sent, conns.size(), outstanding, sm_->last_zxid(),
                     ReplicationFourLetterLines(false), tree.node_count() + 1);
    return s;
  };

  // Counts follow ZooKeeper's: its node map holds the root twice ("" and
  // "/"), so node counts are one above the number of znodes, and wchs
  // counts data watches only.
  if (word == "ruok") return "imok";
  if (word == "isro") return "rw";
  if (word == "srvr") return server_lines(false);
  if (word == "stat") return server_lines(true);
  if (word == "cons") {
    std::string s;
    for (auto& c : conns) s += client_line(*c, true);
    return s + "\n";
  }
  if (word == "wchs") {
    size_t watches = tree.data_watches().watch_count();
    size_t sessions_watching = 0;
    std::set<std::string> paths;
    for (auto& [id, rt] : sessions_) {
      std::vector<std::string> mine = tree.data_watches().PathsOf(id);
      if (!mine.empty()) ++sessions_watching;
      paths.insert(mine.begin(), mine.end());
    }
    return fmt::format("{} connections watching {} paths\nTotal watches:{}\n", sessions_watching, paths.size(),
                       watches);
  }
  if (word == "wchc" || word == "wchp") {
    // Data watches, by session (wchc) or by path (wchp), as ZooKeeper's
    // DataTree.dumpWatches.
    std::map<std::string, std::vector<int64_t>> by_path;
    std::string s;
    for (auto& [id, rt] : sessions_) {
      std::vector<std::string> mine = tree.data_watches().PathsOf(id);
      if (mine.empty()) continue;
      if (word == "wchc") {
        s += fmt::format("0x{:x}\n", id);
        for (auto& p : mine) s += "\t" + p + "\n";
      }
      for (auto& p : mine) by_path[p].push_back(id);
    }
    if (word == "wchp") {
      for (auto& [p, ids] : by_path) {
        s += p + "\n";
        for (int64_t id : ids) s += fmt::format("\t0x{:x}\n", id);
      }
    }
    return s;
  }
  if (word == "conf") {
    int min_to = options_.min_session_timeout_ms > 0 ? options_.min_session_timeout_ms : 2 * options_.tick_ms;
    int max_to = options_.max_session_timeout_ms > 0 ? options_.max_session_timeout_ms : 20 * options_.tick_ms;
    return fmt::format(
        "clientPort={}\nsecureClientPort=-1\ndataDir={}\ndataDirSize=0\ndataLogDir={}\ndataLogSize=0\n"
        "tickTime={}\nmaxClientCnxns={}\nminSessionTimeout={}\nmaxSessionTimeout={}\n"
        "clientPortListenBacklog=-1\nserverId=0\n",
        client_port, options_.data_dir, options_.data_dir, options_.tick_ms, options_.max_client_cnxns_per_ip,
        min_to, max_to);
  }
  if (word == "envi") {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    return fmt::format(
        "Environment:\nzookeeper.version={}\nhost.name={}\njava.version=n/a (dougong keeper, C++)\n"
        "java.vendor=n/a\njava.home=n/a\njava.class.path=n/a\njava.library.path=n/a\njava.io.tmpdir=/tmp\n"
        "java.compiler=<NA>\nos.name=Linux\nos.arch=amd64\nos.version=\nuser.name=\nuser.home=\nuser.dir={}\n"
        "os.memory.free=\nos.memory.max=\nos.memory.total=\n",
        kVersion, host, options_.data_dir);
  }
  if (word == "mntr") {
    size_t watches = tree.data_watches().watch_count() + tree.child_watches().watch_count();
    std::string s;
    auto kv = [&](std::string_view k, auto v) { s += fmt::format("{}\t{}\n", k, v); };
    kv("zk_version", fmt::format("{}, built on dougong", kVersion));
    s += ReplicationFourLetterLines(true);
    kv("zk_avg_latency",
       stats_.latency_count ? static_cast<double>(stats_.total_latency_ms) / stats_.latency_count : 0.0);
    kv("zk_max_latency", stats_.max_latency_ms);
    kv("zk_min_latency", stats_.min_latency_ms < 0 ? 0 : stats_.min_latency_ms);
    kv("zk_packets_received", stats_.packets_received);
    kv("zk_packets_sent", stats_.packets_sent);
    kv("zk_num_alive_connections", conns.size());
    kv("zk_outstanding_requests", outstanding);
    kv("zk_znode_count", tree.node_count() + 1);
    kv("zk_watch_count", watches);
    kv("zk_ephemerals_count", tree.ephemeral_count());
    kv("zk_approximate_data_size", 0);
    kv("zk_open_file_descriptor_count", CountOpenFds());
    kv("zk_max_file_descriptor_count", MaxFds());
    kv("zk_global_sessions", sessions_.size());
    kv("zk_local_sessions", 0);
    kv("zk_last_proposal_size", -1);
    kv("zk_max_proposal_size", -1);
    kv("zk_min_proposal_size", -1);
    if (log_) kv("zk_fsynccount", log_->stats().fdatasyncs);
    return s;
  }
  return "";
}

std::string Core::MetricsText() {
  std::string s;
  RunOnCore([&] {
    const DataTree& tree = sm_->tree();
    storage::TxnLogStats ls = log_ ? log_->stats() : storage::TxnLogStats{};
    size_t conns = 0;
    for (auto& [id, weak] : connections_) conns += weak.expired() ? 0 : 1;
    auto metric = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
      s += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
    };
    auto summary = [&](std::string_view name, std::string_view help, const LatencyRecorder::Snapshot& snap) {
      s += fmt::format("# HELP {} {}\n# TYPE {} summary\n", name, help, name);
      for (double q : {0.5, 0.9, 0.99, 0.999})
        s += fmt::format("{}{{quantile=\"{}\"}} {}\n", name, q, snap.count ? snap.Quantile(q) : 0);
      s += fmt::format("{}_sum {}\n{}_count {}\n", name, snap.sum_us, name, snap.count);
    };
    metric("keeper_znodes", "gauge", "Znodes in the data tree.", tree.node_count());
    metric("keeper_ephemerals", "gauge", "Ephemeral znodes.", tree.ephemeral_count());
    metric("keeper_watches", "gauge", "Registered (session, path) watches.",
           tree.data_watches().watch_count() + tree.child_watches().watch_count());
    metric("keeper_sessions", "gauge", "Live sessions.", sessions_.size());
    metric("keeper_connections", "gauge", "Open client connections.", conns);
    metric("keeper_last_zxid", "gauge", "Last applied zxid.", sm_->last_zxid());
    metric("keeper_packets_received_total", "counter", "Request packets received.", stats_.packets_received);
    metric("keeper_packets_sent_total", "counter", "Reply batches sent.", stats_.packets_sent);
    metric("keeper_writes_applied_total", "counter", "Transactions applied.", stats_.writes_applied);
    metric("keeper_reads_total", "counter", "Reads and session requests served.", stats_.reads_served);
    metric("keeper_sessions_expired_total", "counter", "Sessions expired.", stats_.sessions_expired);
    metric("keeper_log_appends_total", "counter", "Transactions appended to the log.", ls.appends);
    metric("keeper_log_fsyncs_total", "counter", "fdatasync calls of the log.", ls.fdatasyncs);
    metric("keeper_log_batches_total", "counter", "Group commits of the log.", ls.batches);
    metric("keeper_log_bytes_written_total", "counter", "Bytes written to the log.", ls.bytes_written);
    metric("keeper_log_prefill_bytes_total", "counter", "Zeros written ahead of the log's writes.",
           ls.prefill_bytes);
    metric("keeper_snapshots_total", "counter", "Snapshots written.", stats_.snapshots_taken);
    metric("keeper_snapshot_failures_total", "counter", "Snapshots that failed.", stats_.snapshots_failed);
    metric("keeper_last_snapshot_seconds", "gauge", "Duration of the last snapshot.",
           static_cast<double>(stats_.last_snapshot_ms) / 1000.0);
    summary("keeper_request_latency_microseconds",
            "Request latency from receipt to the reply being queued (cumulative since start).",
            request_latency_.Take());
    if (log_) {
      summary("keeper_log_fsync_microseconds", "Time of each fdatasync of the transaction log.",
              log_->fsync_latency());
    }
    metric("keeper_latency_max_milliseconds", "gauge", "Largest request latency seen.", stats_.max_latency_ms);
    metric("keeper_latency_avg_milliseconds", "gauge", "Average request latency.",
           stats_.latency_count ? static_cast<double>(stats_.total_latency_ms) / stats_.latency_count : 0.0);
    s += ReplicationMetrics();
  });
  return s;
}

}  // namespace dougong::keeper
