// KeeperServer: a coordination server that speaks the Apache ZooKeeper 3.8
// client protocol (docs/keeper.md). Alone, writes are logged and fsync'ed
// (group commit) before they are applied and answered, and the data tree is
// rebuilt from the newest snapshot and the log at start. As a member of a
// cluster (KeeperOptions::cluster, started by StartKeeper in
// dougong/keeper/cluster.h), writes are entries of a Raft log
// (docs/replicated_keeper.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/base/status.h"

namespace dougong::keeper {

// Membership of a replicated keeper (docs/replicated_keeper.md). No members:
// a single node.
struct ClusterMember {
  uint64_t id = 0;
  std::string peer;    // "host:port" of its Raft and forwarding port
  std::string client;  // "host:port" of its ZooKeeper port (for tools)
  bool observer = false;  // a Raft learner: serves reads, never votes
};

struct ClusterOptions {
  uint64_t id = 0;  // this member
  std::vector<ClusterMember> members;
  int tick_ms = 100;       // Raft tick
  int election_ticks = 10;  // election timeout, randomized in [1x, 2x)
  int heartbeat_ticks = 1;
  // A member added at run time: no bootstrap, it waits for the leader.
  bool join = false;
  // Session passwords are derived from it: the same on every member.
  std::string secret = "dougong-keeper";
  // A forwarded write not committed within this time fails (the client sees
  // CONNECTIONLOSS and retries). 0: 4 election timeouts.
  int proposal_timeout_ms = 0;
  bool enabled() const { return !members.empty(); }
};

struct KeeperOptions {
  // Client port (ZooKeeper protocol and four-letter words). 0 = any free port.
  std::string host = "0.0.0.0";
  int port = 2181;
  // HTTP admin port (/health, /metrics, POST /snapshot). 0 = off.
  std::string admin_host = "127.0.0.1";
  int admin_port = 8081;
  // Transaction log, snapshots and the session-password secret.
  std::string data_dir = "./data";
  // ZooKeeper's tickTime; session timeouts are negotiated into
  // [min, max] (0: 2x and 20x tick, as ZooKeeper).
  int tick_ms = 2000;
  int min_session_timeout_ms = 0;
  int max_session_timeout_ms = 0;
  // Limits. max_buffer is jute.maxbuffer: longer packets close the
  // connection, as in ZooKeeper. 0 = unlimited for the counts.
  int32_t max_buffer = 0xfffff;
  int max_client_cnxns_per_ip = 60;
  int max_connections = 0;
  int max_sessions = 0;
  // zookeeper.extendedTypesEnabled (TTL nodes).
  bool extended_types = false;
  // DigestAuthenticationProvider.superDigest ("super:base64sha1"), empty = none.
  std::string super_digest;
  // Container/TTL cleanup interval (znode.container.checkIntervalMs).
  int container_check_interval_ms = 60000;
  int64_t container_max_never_used_ms = 0;
  // A snapshot is taken after this many transactions (ZooKeeper's snapCount).
  uint64_t snap_count = 100000;
  // Snapshots kept (with the log needed to replay from the oldest kept one).
  int snap_retain_count = 3;
  // The snapshot writer's pace in MiB/s (0 = as fast as the disk takes it):
  // the log's fdatasyncs share the disk, and an unpaced 200 MB snapshot
  // tripled the write p999 while it was written (docs/keeper.md).
  int snapshot_write_mb_per_sec = 48;
  // I/O threads for client connections (0 = cores).
  int io_threads = 0;
  // Truncate the log at a damaged record instead of refusing to start.
  bool repair = false;
  // Testing: the first zxid of an empty data dir (e.g. near a 32-bit wrap).
  int64_t initial_zxid = 0;
  ClusterOptions cluster;
};

class Replicator;

class KeeperServer {
 public:
  // Recovers the data dir, binds the ports and starts serving. With a
  // replicator (src/keeper/replication.h) the state comes from, and writes
  // go to, its log instead of the keeper's own; see StartKeeper.
  static Result<std::unique_ptr<KeeperServer>> Start(const KeeperOptions& options);
  static Result<std::unique_ptr<KeeperServer>> Start(const KeeperOptions& options,
                                                     std::unique_ptr<Replicator> replicator);
  ~KeeperServer();  // Stop()

  // Closes the listeners and connections, syncs and closes the log.
  void Stop();
  // Blocks until Stop() or a fatal error.
  void Wait();

  int port() const;
  int admin_port() const;
  // Starts a snapshot now (no-op if one is running).
  Status TriggerSnapshot();
  // A one-line summary of recovery (snapshot, log records replayed, torn tail).
  std::string recovery_summary() const;

  struct Impl;

 private:
  explicit KeeperServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dougong::keeper
