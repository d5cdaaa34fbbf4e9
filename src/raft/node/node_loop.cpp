// The loop thread of a RaftNode: the only thread that touches the core, the
// storage and the state machine.
#include <fcntl.h>

#include "base/file_util.h"
#include "raft/node/node_impl.h"
#include "raft/storage/format.h"

namespace dougong::raft {

void RaftNode::Impl::Run() {
  using Clock = node::Inbox::Clock;
  auto next_tick = Clock::now() + options.tick;
  std::vector<node::Inbox::Task> tasks;
  while (inbox->Wait(next_tick, &tasks)) {
    for (auto& task : tasks) task(true);
    tasks.clear();
    if (!deferred_error.ok()) {
      Fail(deferred_error);
      return;
    }
    auto now = Clock::now();
    if (now >= next_tick) {
      core->Tick();
      OnTick();
      next_tick += options.tick;
      // After a pause (a stopped process, a slow fsync) skip the missed
      // ticks: a burst of them would start elections nobody needs.
      if (next_tick <= now) next_tick = now + options.tick;
    }
    if (!HandleReadies()) return;
    Publish();
  }
}

bool RaftNode::Impl::HandleReadies() {
  while (core->HasReady()) {
    Ready rd = core->GetReady();
    ++readies;
    // 1. Durable first: every message below may depend on it (a vote, a
    // term, entries it acknowledges or, on the leader, entries it counts).
    if (Status s = storage->SaveReady(rd); !s.ok()) {
      Fail(s);
      return false;
    }
    // 2. Send.
    if (!rd.messages.empty()) transport->Send(rd.messages);
    for (const Message& m : rd.snapshots_to_send) SendSnapshot(m);
    // 3. Apply.
    if (!rd.snapshot.empty()) {
      const uint64_t index = rd.snapshot.meta.index;
      if (Status s = sm->Restore(index, rd.snapshot.data); !s.ok()) {
        Fail(s);
        return false;
      }
      applied = snapshot_index = index;
      // Entries up to the snapshot were not applied here: their outcome is
      // unknown to this node.
      while (!proposals.empty() && proposals.begin()->first <= index) {
        IndexCallback done = std::move(proposals.begin()->second.done);
        proposals.erase(proposals.begin());
        done(Unavailable("raft: outcome unknown, the log was replaced by a snapshot"));
      }
    }
    ApplyCommitted(rd.committed_entries);
    for (const ReadState& rs : rd.read_states) {
      auto it = reads.find(rs.context);
      if (it == reads.end()) continue;  // timed out meanwhile
      it->second.confirmed = true;
      it->second.index = rs.index;
    }
    ServeReads();
    // 4. Advance, then maybe snapshot what was applied.
    core->Advance(rd);
    if (Status s = MaybeSnapshot(); !s.ok()) {
      Fail(s);
      return false;
    }
  }
  return true;
}

void RaftNode::Impl::SendSnapshot(const Message& m) {
  const std::string path = JoinPath(storage->dir(), raft::storage::SnapshotName(m.snapshot.meta.index));
  auto file = OpenFile(path, O_RDONLY | O_CLOEXEC);
  if (!file.ok()) {
    // Replaced by a newer one meanwhile: the core asks again after the failure.
    NodeId to = m.to;
    inbox->Post([this, to](bool live) {
      if (live) core->ReportSnapshot(to, false);
    });
    return;
  }
  transport->SendSnapshot(m, std::move(*file), path);
}

void RaftNode::Impl::ApplyCommitted(const std::vector<Entry>& entries) {
  for (const Entry& e : entries) {
    if (e.type == EntryType::kNormal) sm->Apply(e.index, e.data);
    applied = e.index;
    auto it = proposals.find(e.index);
    if (it == proposals.end()) continue;
    PendingProposal p = std::move(it->second);
    proposals.erase(it);
    if (p.term == e.term) {
      p.done(e.index);
    } else {
      p.done(Status(Code::kAborted, "raft: the proposal at index " + std::to_string(e.index) +
                                        " was replaced by another leader's entry"));
    }
  }
}

void RaftNode::Impl::ServeReads() {
  for (auto it = reads.begin(); it != reads.end();) {
    if (it->second.confirmed && applied >= it->second.index) {
      IndexCallback done = std::move(it->second.done);
      uint64_t index = it->second.index;
      it = reads.erase(it);
      done(index);
    } else {
      ++it;
    }
  }
}

void RaftNode::Impl::OnTick() {
  // The core drops reads it cannot answer (a leader change); the caller
  // retries after this timeout.
  for (auto it = reads.begin(); it != reads.end();) {
    if (!it->second.confirmed && --it->second.ticks_left <= 0) {
      IndexCallback done = std::move(it->second.done);
      it = reads.erase(it);
      done(Unavailable("raft: read index not confirmed in time; retry"));
    } else {
      ++it;
    }
  }
}

Status RaftNode::Impl::MaybeSnapshot() {
  if (snapshot_running) return Status::Ok();
  if (options.snapshot_entries == 0 || applied < snapshot_index + options.snapshot_entries) return Status::Ok();
  const uint64_t index = applied;
  const bool async = sm->SnapshotAsync([this, index, inbox = inbox](Result<std::string> data) {
    inbox->Post([this, index, data = std::move(data)](bool live) mutable {
      if (!live) return;
      snapshot_running = false;
      if (!data.ok()) {
        // The state machine could not capture its state (e.g. fork failed):
        // the log keeps everything; the next threshold tries again.
        snapshot_failures++;
        return;
      }
      if (Status s = FinishSnapshot(index, std::move(*data)); !s.ok()) deferred_error = s;
    });
  });
  if (async) {
    snapshot_running = true;
    return Status::Ok();
  }
  return FinishSnapshot(index, sm->Snapshot());
}

Status RaftNode::Impl::FinishSnapshot(uint64_t index, std::string data) {
  // A snapshot received from the leader meanwhile may already cover it.
  if (index <= snapshot_index) return Status::Ok();
  auto meta = core->Compact(index);
  if (!meta.ok()) return meta.status();
  if (Status s = storage->SaveSnapshot(Snapshot{*meta, std::move(data)}); !s.ok()) return s;
  snapshot_index = index;
  return Status::Ok();
}

void RaftNode::Impl::Publish() {
  CoreStatus cs = core->GetStatus();
  {
    std::lock_guard lock(stats_mu);
    published.role = cs.role;
    published.leader = cs.leader;
    published.term = cs.hard_state.term;
    published.commit = cs.hard_state.commit;
    published.applied = applied;
    published.snapshot_index = snapshot_index;
    published.snapshot_failures = snapshot_failures;
    published.conf = cs.conf;
    published.progress = cs.progress;
    published.readies = readies;
  }
  if (cs.leader != seen_leader || cs.hard_state.term != seen_term) {
    bool leader_changed = cs.leader != seen_leader;
    seen_leader = cs.leader;
    seen_term = cs.hard_state.term;
    if (leader_changed && options.on_leader_change) options.on_leader_change(cs.leader, cs.hard_state.term);
  }
}

void RaftNode::Impl::Fail(Status error) {
  // After a failed write the files are in an unknown state: stop, and let
  // the operator restart the node from disk.
  {
    std::lock_guard lock(stats_mu);
    published.error = error;
    published.running = false;
  }
  for (auto& task : inbox->Close()) task(false);
  FailPending(Status(Code::kUnavailable, "raft node stopped: " + error.ToString()));
}

void RaftNode::Impl::FailPending(const Status& error) {
  auto proposals_left = std::move(proposals);
  auto reads_left = std::move(reads);
  proposals.clear();
  reads.clear();
  for (auto& [index, p] : proposals_left) p.done(error);
  for (auto& [ctx, r] : reads_left) r.done(error);
}

}  // namespace dougong::raft
