// Helper of keeper_storage_test's kill -9 test: appends records to a TxnLog
// as fast as it can and writes each zxid (8 bytes, native order) to stdout
// only after its durable callback fired. The test SIGKILLs it at a random
// moment and checks that every acknowledged zxid survived.
//
//   txn_log_crash_child DIR SEGMENT_BYTES PREFILL_BYTES
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

#include "keeper/storage/txn_log.h"

using dougong::Status;
using dougong::keeper::storage::TxnLog;
using dougong::keeper::storage::TxnLogOptions;

// The payload of zxid z: the test rebuilds it to check what was replayed.
std::string CrashPayload(int64_t zxid) {
  size_t size = static_cast<size_t>((static_cast<uint64_t>(zxid) * 2654435761u) % 700);
  std::string s = std::to_string(zxid) + ":";
  while (s.size() < size) s += static_cast<char>('a' + zxid % 26);
  return s;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s DIR SEGMENT_BYTES PREFILL_BYTES\n", argv[0]);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  TxnLogOptions options;
  options.segment_bytes = std::strtoull(argv[2], nullptr, 10);
  options.prefill_bytes = std::strtoull(argv[3], nullptr, 10);
  options.max_unsynced_bytes = 1 << 20;
  auto log = TxnLog::Open(argv[1], options);
  if (!log.ok()) {
    std::fprintf(stderr, "open: %s\n", log.status().ToString().c_str());
    return 1;
  }
  auto replayed = (*log)->Replay(0, [](int64_t, std::string_view) { return Status::Ok(); });
  if (!replayed.ok()) {
    std::fprintf(stderr, "replay: %s\n", replayed.status().ToString().c_str());
    return 1;
  }
  for (int64_t zxid = replayed->last_zxid + 1;; ++zxid) {
    (*log)->Append(zxid, CrashPayload(zxid), [zxid](Status s) {
      if (!s.ok()) {
        std::fprintf(stderr, "append %lld: %s\n", static_cast<long long>(zxid), s.ToString().c_str());
        std::_Exit(1);
      }
      // A full ack; the parent never reads a torn one (8 bytes < PIPE_BUF).
      if (::write(1, &zxid, sizeof zxid) != sizeof zxid) std::_Exit(1);
    });
  }
}
