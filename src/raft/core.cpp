#include "dougong/raft/core.h"

#include "raft/raft.h"

namespace dougong::raft {

InitialState BootstrapState(const ConfState& voters) {
  InitialState st;
  st.snapshot.index = 1;
  st.snapshot.term = 1;
  st.snapshot.conf = voters;
  st.hard_state = HardState{1, kNoNode, 1};
  return st;
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kFollower: return "follower";
    case Role::kPreCandidate: return "pre-candidate";
    case Role::kCandidate: return "candidate";
    case Role::kLeader: return "leader";
  }
  return "unknown";
}

Result<std::unique_ptr<Core>> Core::Create(const Config& config, InitialState state) {
  Result<std::unique_ptr<Raft>> raft = Raft::Create(config, std::move(state));
  if (!raft.ok()) return raft.status();
  return std::unique_ptr<Core>(new Core(std::move(*raft)));
}

Core::Core(std::unique_ptr<Raft> raft) : raft_(std::move(raft)) {}
Core::~Core() = default;

void Core::Tick() { raft_->Tick(); }
Status Core::Step(const Message& message) { return raft_->Step(message); }
Result<uint64_t> Core::Propose(std::string data) { return raft_->Propose(std::move(data)); }
Result<uint64_t> Core::ProposeConfChange(const ConfChange& change) { return raft_->ProposeConfChange(change); }
Status Core::ReadIndex(std::string context) { return raft_->ReadIndex(std::move(context)); }
Status Core::TransferLeadership(NodeId to) { return raft_->TransferLeadership(to); }
Status Core::Campaign() { return raft_->Campaign(); }
Result<SnapshotMeta> Core::Compact(uint64_t index) { return raft_->Compact(index); }
void Core::ReportSnapshot(NodeId to, bool ok) { raft_->ReportSnapshot(to, ok); }
void Core::ReportUnreachable(NodeId to) { raft_->ReportUnreachable(to); }
bool Core::HasReady() const { return raft_->HasReady(); }
Ready Core::GetReady() { return raft_->GetReady(); }
void Core::Advance(const Ready& ready) { raft_->Advance(ready); }
CoreStatus Core::GetStatus() const { return raft_->GetStatus(); }
NodeId Core::id() const { return raft_->id(); }
Role Core::role() const { return raft_->role(); }
NodeId Core::leader() const { return raft_->leader(); }
uint64_t Core::term() const { return raft_->term(); }
uint64_t Core::commit() const { return raft_->log().commit(); }
uint64_t Core::last_index() const { return raft_->log().last_index(); }
Result<uint64_t> Core::TermAt(uint64_t index) const { return raft_->log().Term(index); }

Result<std::vector<Entry>> Core::Entries(uint64_t lo, uint64_t hi) const {
  const RaftLog& log = raft_->log();
  if (lo < log.first_index()) return NotFound("raft: entries compacted");
  if (hi > log.last_index() + 1) return NotFound("raft: entries beyond the log");
  return log.Slice(lo, hi, UINT64_MAX);
}

}  // namespace dougong::raft
