// A history of operations on ZooKeeper-style registers (one per key), as
// concurrent clients observed them: what each asked, when (monotonic
// invoke/complete times) and what came back. The input of the
// linearizability checker (checker.h). Standard library only.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace dougong::lincheck {

enum class OpKind : uint8_t {
  kRead,   // getData
  kWrite,  // setData(version -1)
  kCas,    // setData(expected_version): compare-and-set on the version
};

enum class Outcome : uint8_t {
  kOk,             // answered with a result
  kFailed,         // definitely did not take effect (see Failure)
  kIndeterminate,  // timeout / connection loss: may or may not have taken effect, at any time after invoke
};

// Why a kFailed op failed. Each one is also an observation of the register.
enum class Failure : uint8_t {
  kNone,
  kBadVersion,  // cas: the node existed with another version
  kNoNode,      // the node did not exist
  kOther,       // no effect and nothing observed (e.g. refused locally)
};

struct Operation {
  std::string key;
  int process = 0;      // who issued it (reports only; a process gets a new id after an indeterminate op)
  OpKind kind = OpKind::kRead;
  int64_t invoke_ns = 0;    // monotonic, before the request was issued
  int64_t complete_ns = 0;  // monotonic, after the answer arrived; ignored when indeterminate
  std::string value;              // write/cas: the value written
  int32_t expected_version = -1;  // cas
  Outcome outcome = Outcome::kIndeterminate;
  Failure failure = Failure::kNone;
  // kOk results. read: found (false = NONODE), read_value, version.
  // write/cas: version = the node's new version from the returned Stat (-1 unknown).
  bool found = true;
  std::string read_value;
  int32_t version = -1;
};

// What a key held before the first operation.
struct InitialState {
  bool exists = true;
  std::string value;
  int32_t version = 0;
};

struct History {
  std::map<std::string, InitialState> initial;  // keys missing here start absent
  std::vector<Operation> ops;                    // any order
};

// Collects a history from many threads: Invoke() before issuing the request,
// then exactly one of the Complete*() with the returned index.
class HistoryRecorder {
 public:
  void SetInitial(const std::string& key, InitialState state);
  size_t Invoke(Operation op);  // sets invoke_ns now
  void CompleteRead(size_t index, bool found, std::string value, int32_t version);
  void CompleteWrite(size_t index, int32_t new_version);
  void CompleteFailed(size_t index, Failure why);
  void CompleteIndeterminate(size_t index);
  History Take();
  size_t size() const;

 private:
  Operation& Finish(size_t index, Outcome outcome);

  mutable std::mutex mu_;
  History history_;
};

int64_t MonotonicNanos();

const char* OpKindName(OpKind kind);
const char* OutcomeName(Outcome outcome);

// One line: "p3 cas(v4 -> 'p3-17') ok v5 [1.204, 1.210 ms]". `origin_ns` is
// subtracted from the times.
std::string DescribeOp(const Operation& op, int64_t origin_ns);

}  // namespace dougong::lincheck
