// Starting keeper alone or as a member of a replicated keeper (Raft;
// docs/replicated_keeper.md). Lives in dougong_keeper_raft, the library that
// joins keeper and Raft, so that neither knows the other.
#pragma once

#include <memory>

#include "dougong/base/result.h"
#include "dougong/keeper/server.h"

namespace dougong::keeper {

// options.cluster.enabled(): a member of the cluster it describes (the
// Raft log, snapshots and peer port replace the keeper's own log);
// otherwise the single-node keeper (KeeperServer::Start).
Result<std::unique_ptr<KeeperServer>> StartKeeper(const KeeperOptions& options);

}  // namespace dougong::keeper
