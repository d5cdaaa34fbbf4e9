// StateMachine: what the transaction log rebuilds, the data tree plus the
// table of live sessions (id -> timeout). Applying a Txn is deterministic:
// two state machines fed the same txns with the same zxids end up equal and
// give the same answers, which is what recovery (and, later, replication)
// relies on. Runtime state that is not replicated (which connection holds
// a session, when it was last heard from) lives in the server.
//
// Snapshot stream: u64 length | sessions section | DataTree::Save stream.
// Sessions section: i32 count, then (i64 id, i32 timeout) sorted by id.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "dougong/base/result.h"
#include "dougong/base/status.h"
#include "keeper/data_tree.h"
#include "keeper/txn.h"

namespace dougong::keeper {

class StateMachine {
 public:
  explicit StateMachine(DataTreeOptions options) : tree_(std::make_unique<DataTree>(options)) {}

  // Applies `txn` at `zxid`. `decoded` may carry the already decoded request
  // body (the server has it); otherwise the body is decoded from txn.body.
  // A body that does not decode answers kMarshallingError and changes
  // nothing (it can only come from a damaged or foreign log).
  OpResult Apply(const Txn& txn, int64_t zxid, const zk::RequestBody* decoded = nullptr);

  DataTree& tree() { return *tree_; }
  const DataTree& tree() const { return *tree_; }
  // Live sessions: id -> negotiated timeout (ms).
  const std::map<int64_t, int32_t>& sessions() const { return sessions_; }
  int64_t last_zxid() const { return last_zxid_; }

  Status Save(const std::function<Status(std::string_view chunk)>& sink) const;

  // Rebuilds a state machine from the chunks of Save, split anywhere.
  class Loader {
   public:
    explicit Loader(DataTreeOptions options) : options_(options), tree_loader_(options) {}
    Status Feed(std::string_view bytes);
    Result<std::unique_ptr<StateMachine>> Finish(int64_t zxid);

   private:
    DataTreeOptions options_;
    DataTree::Loader tree_loader_;
    std::string head_;
    uint64_t head_len_ = 0;
    bool head_done_ = false;
    std::map<int64_t, int32_t> sessions_;
  };

 private:
  std::unique_ptr<DataTree> tree_;
  std::map<int64_t, int32_t> sessions_;
  int64_t last_zxid_ = 0;
};

}  // namespace dougong::keeper
