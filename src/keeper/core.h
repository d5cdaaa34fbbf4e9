// Core: the keeper's request pipeline, on one thread that owns the state
// machine. For every connection it keeps ZooKeeper's ordering: requests of a
// session are answered in the order sent, and a read waits until the
// session's earlier writes are applied. Writes are given a zxid, logged
// (TxnLog group commit), and applied and answered only once durable, in
// zxid order, together with the watch events they trigger (events first).
// Sessions are created and closed through the log too, so they survive a
// restart; the server expires sessions that stay silent past their timeout.
//
// Replicated (a Replicator is given, replication.h): txns go to the
// replicated log instead of the TxnLog and are applied when committed, on
// every member; only the leader expires sessions and cleans containers;
// followers report the sessions they hear from; sync is a quorum read.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/latency_recorder.h"
#include "dougong/keeper/server.h"
#include "keeper/connection.h"
#include "keeper/replication.h"
#include "keeper/state_machine.h"
#include "keeper/storage/txn_log.h"

namespace dougong::keeper {

struct ServerStats {
  uint64_t packets_received = 0, packets_sent = 0;
  int64_t min_latency_ms = -1, max_latency_ms = 0, total_latency_ms = 0, latency_count = 0;
  uint64_t writes_applied = 0, reads_served = 0;
  uint64_t snapshots_taken = 0, snapshots_failed = 0;
  int64_t last_snapshot_ms = 0;   // duration of the last snapshot
  int64_t last_snapshot_zxid = 0;
  uint64_t sessions_expired = 0;
  uint64_t connections_refused = 0;
};

class Core : public ReplicationHost {
 public:
  explicit Core(const KeeperOptions& options, std::unique_ptr<Replicator> replicator = nullptr);
  ~Core() override;

  // Loads the newest snapshot and replays the log (before Start).
  Status Recover();
  // Starts the Core's thread, then the replicator (if any).
  Status Start();
  void Stop();

  // From I/O threads.
  void PostConnect(std::shared_ptr<ZkConnection> conn, zk::ConnectRequest req);
  void PostRequests(std::shared_ptr<ZkConnection> conn, std::vector<IncomingRequest> batch);
  void PostDisconnect(std::shared_ptr<ZkConnection> conn);
  void PostFourLetterWord(std::shared_ptr<ZkConnection> conn, std::string word);
  // Connection bookkeeping for limits and `cons`.
  bool AdmitConnection(const std::string& ip);
  void ReleaseConnection(const std::string& ip);

  // Any thread: runs `fn` on the Core thread and waits.
  void RunOnCore(const std::function<void()>& fn);
  Status TriggerSnapshot();
  // Prometheus text exposition of the keeper's metrics.
  std::string MetricsText();
  std::string recovery_summary() const { return recovery_summary_; }
  int client_port = 0;

  // ReplicationHost (any thread).
  void Committed(uint64_t index, std::string entry) override;
  std::string SaveState() override;
  bool SaveStateAsync(std::function<void(Result<std::string>)> done) override;
  Status LoadState(uint64_t index, std::string_view data) override;
  void ProposalFailed(uint64_t tag, Status why) override;
  void SyncDone(uint64_t tag, Status status) override;
  void RoleChanged(MemberRole role, uint64_t leader, uint64_t term) override;
  void SessionsTouched(std::vector<int64_t> sessions) override;

 private:
  struct PendingWrite {
    int64_t zxid = 0;
    Txn txn;
    zk::RequestBody body;
    std::shared_ptr<ZkConnection> conn;  // null: the server's own txn
    int32_t xid = 0;
    int64_t received_ns = 0;
    zk::ConnectRequest connect;          // createSession: what the client asked
    int64_t proposed_ms = 0;             // replicated: when it was proposed
  };
  struct PendingSync {
    std::shared_ptr<ZkConnection> conn;
    int32_t xid = 0;
    int64_t received_ns = 0;
    std::string path;
  };
  struct SessionRt {
    int32_t timeout_ms = 0;
    int64_t deadline_ms = 0;
    std::shared_ptr<ZkConnection> conn;
    bool closing = false;
  };

  void OnConnect(const std::shared_ptr<ZkConnection>& conn, const zk::ConnectRequest& req);
  void OnRequests(const std::shared_ptr<ZkConnection>& conn, std::vector<IncomingRequest>& batch);
  void OnDisconnect(const std::shared_ptr<ZkConnection>& conn);
  void Drain(const std::shared_ptr<ZkConnection>& conn);
  void SubmitWrite(const std::shared_ptr<ZkConnection>& conn, IncomingRequest req);
  void SubmitTxn(PendingWrite pw);
  void Execute(const std::shared_ptr<ZkConnection>& conn, IncomingRequest& req);
  void OnDurable();
  void ApplyOne(PendingWrite& pw);
  void FinishConnect(const std::shared_ptr<ZkConnection>& conn, int64_t session, int32_t timeout);
  void RefuseSession(const std::shared_ptr<ZkConnection>& conn);
  void SendConnectResponse(ZkConnection& c, const zk::ConnectResponse& rsp);
  void DeliverEvents(const std::vector<WatchEvent>& events);
  void Reply(ZkConnection& c, int32_t xid, int64_t zxid, zk::ErrorCode err, const zk::ResponseBody* body);
  void CountLatency(ZkConnection& c, int64_t received_ns);
  void MarkDirty(ZkConnection& c);
  void Flush();
  void Touch(int64_t session);
  void Tick();
  void ScheduleTick();
  void CleanupContainers();
  void ScheduleCleanup();
  void ExpireSession(int64_t session);
  void MaybeSnapshot();
  void StartSnapshot();
  void OnSnapshotDone(bool ok, int64_t zxid, int64_t started_ms, std::string error);
  // Replicated mode (core_replication.cpp).
  bool replicated() const { return replicator_ != nullptr; }
  // Decides session expiry and container cleanup: the leader, or a single node.
  bool decides() const { return role_ == MemberRole::kStandalone || role_ == MemberRole::kLeader; }
  Status RecoverReplicated();
  void Propose(PendingWrite pw);
  void OnCommitted(uint64_t index, const std::string& entry);
  void OnProposalFailed(uint64_t tag, const Status& why);
  void StartSync(const std::shared_ptr<ZkConnection>& conn, IncomingRequest& req);
  void OnSyncDone(uint64_t tag, const Status& status);
  void OnRoleChanged(MemberRole role, uint64_t leader, uint64_t term);
  void ReplicationTick(int64_t now);
  void InstallState(std::unique_ptr<StateMachine> sm);
  void ForkStateWriter(std::function<void(Result<std::string>)> done);
  void DropConnection(const std::shared_ptr<ZkConnection>& conn);
  std::string ReplicationFourLetterLines(bool mntr) const;
  std::string ReplicationMetrics() const;
  std::string FourLetterWord(const std::string& word);
  std::string Password(int64_t session) const;
  int64_t NextSessionId();
  int64_t NowMs() const;

  const KeeperOptions options_;
  boost::asio::io_context io_;
  std::thread thread_;
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer cleanup_timer_;

  std::unique_ptr<StateMachine> sm_;
  std::unique_ptr<storage::TxnLog> log_;
  std::string secret_;
  std::string recovery_summary_;

  int64_t next_zxid_ = 1;
  int64_t last_session_id_ = 0;
  std::deque<PendingWrite> pending_;
  std::atomic<int64_t> durable_zxid_{0};
  std::atomic<bool> durable_posted_{false};
  Status log_error_;

  std::unordered_map<int64_t, SessionRt> sessions_;
  std::vector<std::shared_ptr<ZkConnection>> dirty_;
  std::unordered_map<uint64_t, std::weak_ptr<ZkConnection>> connections_;  // for cons/stat

  uint64_t txns_since_snapshot_ = 0;
  bool snapshot_running_ = false;
  std::atomic<int> snapshot_pid_{0};  // the child writing a snapshot, 0 when none
  std::thread snapshot_waiter_;
  std::thread state_reader_;  // replicated: reads a forked child's state for a Raft snapshot
  ServerStats stats_;
  LatencyRecorder request_latency_;  // receipt to reply queued, microseconds

  std::unique_ptr<Replicator> replicator_;
  std::atomic<bool> running_{false};
  MemberRole role_ = MemberRole::kStandalone;
  uint64_t leader_ = 0;
  uint64_t next_tag_ = 1;
  std::unordered_map<uint64_t, PendingWrite> proposed_;  // by tag
  std::unordered_map<uint64_t, PendingSync> syncs_;      // by tag
  std::unordered_set<int64_t> touched_;                  // follower: to report to the leader
  int64_t proposal_timeout_ms_ = 0;

  std::mutex ip_mu_;
  std::unordered_map<std::string, int> per_ip_;
  int total_connections_ = 0;
};

}  // namespace dougong::keeper
