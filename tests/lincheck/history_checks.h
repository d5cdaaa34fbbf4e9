// Checks on a recorded history besides linearizability, and the planted
// violation that shows a history could expose one (docs/linearizability.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "history.h"

namespace dougong::lincheck {

// Acknowledged writes (write/cas ok with their new version) missing from the
// state the `final_process`'s last read of their key found: a version above
// the final version, or the final version with another value. Versions only
// grow and each acknowledged write made its own, so either means it was lost.
// One line per lost write.
std::vector<std::string> LostAcknowledgedWrites(const History& h, int final_process);

// Makes one acknowledged read stale, so that no linearization explains it:
// a read of version v >= 1 whose writer (the acknowledged write that made v)
// completed before the read was invoked now returns what version v - 1
// held. `pick` chooses among the candidates. Returns the read as it now is,
// or "" (history unchanged) if no read qualifies.
std::string PlantStaleRead(History& h, uint64_t pick);

}  // namespace dougong::lincheck
