#include "dougong/keeper/cluster.h"

#include "keeper/raft/raft_replicator.h"

namespace dougong::keeper {

Result<std::unique_ptr<KeeperServer>> StartKeeper(const KeeperOptions& options) {
  if (!options.cluster.enabled()) return KeeperServer::Start(options);
  return KeeperServer::Start(options, std::make_unique<RaftReplicator>(options));
}

}  // namespace dougong::keeper
