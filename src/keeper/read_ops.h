// The requests that are answered from the tree without a transaction: reads
// and watch management. One function, used by the server and by the
// dispatcher fuzz target.
#pragma once

#include <cstdint>

#include "keeper/data_tree.h"

namespace dougong::keeper {

// Answers `opcode` (exists, getData, getChildren, getChildren2, getACL,
// getAllChildrenNumber, getEphemerals, multiRead, sync, addWatch,
// checkWatches, removeWatches, setWatches, setWatches2) for `session`.
// setWatches' events for changes already missed come back in out->events.
// Returns false, leaving *out alone, for any other opcode or a body that
// does not belong to it.
bool ExecuteRead(DataTree& tree, int32_t opcode, const zk::RequestBody& body, const AuthContext& auth,
                 int64_t session, OpResult* out);

}  // namespace dougong::keeper
