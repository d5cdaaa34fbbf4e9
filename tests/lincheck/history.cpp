#include "history.h"

#include <chrono>
#include <cstdio>
#include <utility>

namespace dougong::lincheck {

int64_t MonotonicNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void HistoryRecorder::SetInitial(const std::string& key, InitialState state) {
  std::lock_guard lock(mu_);
  history_.initial[key] = std::move(state);
}

size_t HistoryRecorder::Invoke(Operation op) {
  std::lock_guard lock(mu_);
  op.invoke_ns = MonotonicNanos();
  op.outcome = Outcome::kIndeterminate;
  history_.ops.push_back(std::move(op));
  return history_.ops.size() - 1;
}

Operation& HistoryRecorder::Finish(size_t index, Outcome outcome) {
  Operation& op = history_.ops[index];
  op.complete_ns = MonotonicNanos();
  op.outcome = outcome;
  return op;
}

void HistoryRecorder::CompleteRead(size_t index, bool found, std::string value, int32_t version) {
  std::lock_guard lock(mu_);
  Operation& op = Finish(index, Outcome::kOk);
  op.found = found;
  op.read_value = std::move(value);
  op.version = version;
}

void HistoryRecorder::CompleteWrite(size_t index, int32_t new_version) {
  std::lock_guard lock(mu_);
  Finish(index, Outcome::kOk).version = new_version;
}

void HistoryRecorder::CompleteFailed(size_t index, Failure why) {
  std::lock_guard lock(mu_);
  Finish(index, Outcome::kFailed).failure = why;
}

void HistoryRecorder::CompleteIndeterminate(size_t index) {
  std::lock_guard lock(mu_);
  Finish(index, Outcome::kIndeterminate);
}

History HistoryRecorder::Take() {
  std::lock_guard lock(mu_);
  return std::exchange(history_, {});
}

size_t HistoryRecorder::size() const {
  std::lock_guard lock(mu_);
  return history_.ops.size();
}

const char* OpKindName(OpKind kind) {
  switch (kind) {
    case OpKind::kRead: return "read";
    case OpKind::kWrite: return "write";
    case OpKind::kCas: return "cas";
  }
  return "?";
}

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk: return "ok";
    case Outcome::kFailed: return "failed";
    case Outcome::kIndeterminate: return "indeterminate";
  }
  return "?";
}

namespace {
const char* FailureName(Failure f) {
  switch (f) {
    case Failure::kNone: return "";
    case Failure::kBadVersion: return "BADVERSION";
    case Failure::kNoNode: return "NONODE";
    case Failure::kOther: return "other";
  }
  return "?";
}

std::string Millis(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ns) / 1e6);
  return buf;
}
}  // namespace

std::string DescribeOp(const Operation& op, int64_t origin_ns) {
  std::string s = "p" + std::to_string(op.process) + " ";
  switch (op.kind) {
    case OpKind::kRead: s += "read"; break;
    case OpKind::kWrite: s += "write('" + op.value + "')"; break;
    case OpKind::kCas: s += "cas(v" + std::to_string(op.expected_version) + " -> '" + op.value + "')"; break;
  }
  switch (op.outcome) {
    case Outcome::kOk:
      if (op.kind == OpKind::kRead) {
        s += op.found ? " -> '" + op.read_value + "' v" + std::to_string(op.version) : " -> NONODE";
      } else {
        s += " ok";
        if (op.version >= 0) s += " v" + std::to_string(op.version);
      }
      break;
    case Outcome::kFailed: s += std::string(" failed ") + FailureName(op.failure); break;
    case Outcome::kIndeterminate: s += " indeterminate"; break;
  }
  s += " [" + Millis(op.invoke_ns - origin_ns) + ", " +
       (op.outcome == Outcome::kIndeterminate ? std::string("never") : Millis(op.complete_ns - origin_ns)) + " ms]";
  return s;
}

}  // namespace dougong::lincheck
