// Wing & Gong's linearizability search with Lowe's just-in-time
// linearization and state cache, per key (docs/linearizability.md).
#include "checker.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "register_model.h"

namespace dougong::lincheck {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

// One op of a key's sub-history, compiled for the model.
struct KeyOp {
  ModelOp m;
  int64_t invoke = 0;
  int64_t complete = kNever;  // kNever for indeterminate ops
  size_t source = 0;          // index into History::ops
  int cls = -1;               // class of interchangeable ops, -1 none
};

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The set of linearized ops as two independent 64-bit Zobrist hashes: a
// false match needs a 128-bit collision, so the cache does not have to
// hold bitsets of tens of thousands of bits per entry.
struct Fingerprint {
  uint64_t a = 0, b = 0;
  void Toggle(uint32_t op) {
    a ^= SplitMix(2ULL * op + 1);
    b ^= SplitMix((2ULL * op + 2) ^ 0x5bd1e9955bd1e995ULL);
  }
};

// Open-addressing set of (fingerprint, state): what was already explored.
class StateCache {
 public:
  StateCache() : slots_(1 << 14) {}
  // False if it was there already.
  bool Insert(const Fingerprint& fp, RegisterState s) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    return InsertInto(slots_, {fp.a, fp.b, s.value, s.version});
  }
  uint64_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t a = 0, b = 0;
    int32_t value = kEmpty, version = 0;
  };
  static constexpr int32_t kEmpty = std::numeric_limits<int32_t>::min();

  static size_t HashOf(const Slot& s) {
    return s.a ^ SplitMix((static_cast<uint64_t>(static_cast<uint32_t>(s.value)) << 32) ^
                          static_cast<uint32_t>(s.version));
  }
  bool InsertInto(std::vector<Slot>& table, const Slot& s) {
    const size_t mask = table.size() - 1;
    for (size_t i = HashOf(s) & mask;; i = (i + 1) & mask) {
      Slot& t = table[i];
      if (t.value == kEmpty) {
        t = s;
        if (&table == &slots_) ++size_;
        return true;
      }
      if (t.a == s.a && t.b == s.b && t.value == s.value && t.version == s.version) return false;
    }
  }
  void Grow() {
    std::vector<Slot> bigger(slots_.size() * 2);
    for (const Slot& s : slots_) {
      if (s.value != kEmpty) InsertInto(bigger, s);
    }
    slots_.swap(bigger);
  }

  std::vector<Slot> slots_;
  uint64_t size_ = 0;
};

// The highest version each determinate op still allows the register to
// have reached (a read of v: v; an acknowledged write that made v: v - 1; a
// cas expecting e: e), minimum over the ops not yet linearized. Versions
// never go down, so a step past that minimum can never be completed.
class VersionCeiling {
 public:
  explicit VersionCeiling(const std::vector<int32_t>& ceilings) {
    size_ = 1;
    while (size_ < ceilings.size()) size_ *= 2;
    tree_.assign(2 * size_, kNone);
    for (size_t i = 0; i < ceilings.size(); ++i) tree_[size_ + i] = ceilings[i];
    for (size_t i = size_ - 1; i >= 1; --i) tree_[i] = std::min(tree_[2 * i], tree_[2 * i + 1]);
    original_ = ceilings;
  }
  int32_t min() const { return tree_[1]; }
  // The op holding min() (valid when min() != kNone).
  uint32_t ArgMin() const {
    size_t i = 1;
    while (i < size_) i = tree_[2 * i] == tree_[i] ? 2 * i : 2 * i + 1;
    return static_cast<uint32_t>(i - size_);
  }
  void Remove(uint32_t op) { Set(op, kNone); }
  void Restore(uint32_t op) { Set(op, original_[op]); }
  static constexpr int32_t kNone = std::numeric_limits<int32_t>::max();

 private:
  void Set(uint32_t op, int32_t v) {
    size_t i = size_ + op;
    if (tree_[i] == v) return;
    tree_[i] = v;
    for (i /= 2; i >= 1; i /= 2) tree_[i] = std::min(tree_[2 * i], tree_[2 * i + 1]);
  }
  size_t size_ = 1;
  std::vector<int32_t> tree_;
  std::vector<int32_t> original_;
};

int32_t CeilingOf(const KeyOp& op) {
  using K = ModelOp::Kind;
  if (op.complete == kNever) return VersionCeiling::kNone;  // may never happen
  switch (op.m.kind) {
    case K::kReadFound: return op.m.version;
    case K::kWrite: return op.m.version >= 0 ? op.m.version - 1 : VersionCeiling::kNone;
    case K::kCas: return op.m.expected_version;
    default: return VersionCeiling::kNone;
  }
}

std::vector<int32_t> Ceilings(const std::vector<KeyOp>& ops) {
  std::vector<int32_t> c;
  for (const KeyOp& op : ops) c.push_back(CeilingOf(op));
  return c;
}

// The search over one key's ops (sorted by invoke).
class KeySearch {
 public:
  KeySearch(const std::vector<KeyOp>& ops, RegisterState initial, const CheckOptions& options)
      : ops_(ops), initial_(initial), options_(options), ceiling_(Ceilings(ops)) {
    BuildEvents();
    for (uint32_t i = 0; i < ops_.size(); ++i) {
      if (ops_[i].cls < 0) continue;
      if (members_.size() <= static_cast<size_t>(ops_[i].cls)) members_.resize(ops_[i].cls + 1);
      members_[ops_[i].cls].push_back(i);
    }
    taken_.assign(members_.size(), 0);
  }

  Verdict Run();
  uint64_t states() const { return cache_.size(); }
  bool hit_time_cap() const { return hit_time_cap_; }

  // The deepest point the search reached: `stuck` had to take effect before
  // its return, after the ops `tail` (the last of the `depth` linearized),
  // in register state `state`, and could not.
  struct Deepest {
    size_t depth = 0;
    uint32_t stuck = 0;
    RegisterState state;
    std::vector<uint32_t> tail;
    int64_t blocker = -1;  // the op not linearized that needs the oldest version, besides `stuck`
    bool set = false;
  };
  const Deepest& deepest() const { return deepest_; }

 private:
  void BuildEvents();
  void Lift(int call);
  void Unlift(int call);
  void NoteDeepest(uint32_t stuck, RegisterState state, const std::vector<std::pair<int, RegisterState>>& stack);

  const std::vector<KeyOp>& ops_;
  RegisterState initial_;
  const CheckOptions& options_;
  // The doubly linked event list; node 0 is the head sentinel, -1 the end.
  std::vector<int> next_, prev_, match_;
  std::vector<uint32_t> op_of_;
  std::vector<bool> is_return_;
  std::vector<std::vector<uint32_t>> members_;  // per class, in invoke order
  std::vector<uint32_t> taken_;                 // per class: how many are linearized (always a prefix)
  VersionCeiling ceiling_;                      // over the determinate ops not linearized
  StateCache cache_;
  Deepest deepest_;
  bool hit_time_cap_ = false;
};

void KeySearch::BuildEvents() {
  struct Event {
    int64_t time;
    bool is_return;
    uint32_t op;
  };
  std::vector<Event> events;
  for (uint32_t i = 0; i < ops_.size(); ++i) {
    events.push_back({ops_[i].invoke, false, i});
    if (ops_[i].complete != kNever) events.push_back({ops_[i].complete, true, i});
  }
  // At equal times calls go first: the ops are then taken as concurrent,
  // never as ordered on a tie.
  std::sort(events.begin(), events.end(), [](const Event& x, const Event& y) {
    if (x.time != y.time) return x.time < y.time;
    if (x.is_return != y.is_return) return !x.is_return;
    return x.op < y.op;
  });
  const size_t n = events.size() + 1;
  next_.assign(n, -1);
  prev_.assign(n, -1);
  match_.assign(n, -1);
  op_of_.assign(n, 0);
  is_return_.assign(n, false);
  std::vector<int> call_node(ops_.size(), -1);
  for (size_t i = 0; i < events.size(); ++i) {
    const int node = static_cast<int>(i) + 1;
    op_of_[node] = events[i].op;
    is_return_[node] = events[i].is_return;
    prev_[node] = node - 1;
    next_[node - 1] = node;
    if (events[i].is_return) {
      match_[call_node[events[i].op]] = node;
    } else {
      call_node[events[i].op] = node;
    }
  }
}

void KeySearch::Lift(int call) {
  for (int node : {call, match_[call]}) {
    if (node < 0) continue;
    next_[prev_[node]] = next_[node];
    if (next_[node] >= 0) prev_[next_[node]] = prev_[node];
  }
}

void KeySearch::Unlift(int call) {
  for (int node : {match_[call], call}) {  // the reverse of Lift
    if (node < 0) continue;
    next_[prev_[node]] = node;
    if (next_[node] >= 0) prev_[next_[node]] = node;
  }
}

void KeySearch::NoteDeepest(uint32_t stuck, RegisterState state,
                            const std::vector<std::pair<int, RegisterState>>& stack) {
  // (Not const: asks the ceiling tree with `stuck` left out.)
  if (deepest_.set && stack.size() <= deepest_.depth) return;
  deepest_.set = true;
  deepest_.depth = stack.size();
  deepest_.stuck = stuck;
  deepest_.state = state;
  deepest_.tail.clear();
  const size_t k = std::min(stack.size(), static_cast<size_t>(std::max(options_.explain_context, 0)));
  for (size_t i = stack.size() - k; i < stack.size(); ++i) deepest_.tail.push_back(op_of_[stack[i].first]);
  ceiling_.Remove(stuck);
  deepest_.blocker = ceiling_.min() == VersionCeiling::kNone ? -1 : ceiling_.ArgMin();
  ceiling_.Restore(stuck);
}

Verdict KeySearch::Run() {
  size_t remaining = 0;  // determinate ops not linearized yet
  for (const KeyOp& op : ops_) remaining += op.complete != kNever;
  if (remaining == 0) return Verdict::kLinearizable;

  const auto deadline = Clock::now() + options_.max_time_per_key;
  RegisterState state = initial_;
  Fingerprint fp;
  std::vector<std::pair<int, RegisterState>> stack;  // (call node, state before it)
  uint64_t steps = 0;
  // Two passes over the calls before the first pending return: determinate
  // ops first, then indeterminate ones. The order changes nothing about the
  // answer, but a lost write that lingers at the head of the list is then
  // tried only where no determinate op fits, instead of before every step.
  bool indeterminate_pass = false;
  int entry = next_[0];
  while (entry >= 0) {
    if ((++steps & 4095) == 0 && Clock::now() > deadline) {
      hit_time_cap_ = true;
      return Verdict::kUnknown;
    }
    const uint32_t id = op_of_[entry];
    const KeyOp& op = ops_[id];
    if (!is_return_[entry]) {
      if ((op.complete == kNever) != indeterminate_pass) {
        entry = next_[entry];
        continue;
      }
      // Of interchangeable ops only the earliest not yet linearized is tried:
      // any order of them gives the same states (see the doc).
      const bool allowed = op.cls < 0 || members_[op.cls][taken_[op.cls]] == id;
      RegisterState after;
      if (allowed && Step(op.m, state, &after)) {
        Fingerprint with = fp;
        with.Toggle(id);
        ceiling_.Remove(id);
        if (after.version > ceiling_.min() && after.value != kAbsent) {
          ceiling_.Restore(id);  // some op still needs an older version
        } else if (cache_.Insert(with, after)) {
          if (cache_.size() > options_.max_states_per_key) return Verdict::kUnknown;
          stack.emplace_back(entry, state);
          state = after;
          fp = with;
          Lift(entry);
          if (op.cls >= 0) ++taken_[op.cls];
          if (op.complete != kNever && --remaining == 0) return Verdict::kLinearizable;
          indeterminate_pass = false;
          entry = next_[0];
          continue;
        } else {
          ceiling_.Restore(id);
        }
      }
      entry = next_[entry];
      continue;
    }
    if (!indeterminate_pass) {
      indeterminate_pass = true;
      entry = next_[0];
      continue;
    }
    // A return: its op should have been linearized by now. Undo the last choice.
    NoteDeepest(id, state, stack);
    if (stack.empty()) return Verdict::kViolation;
    const auto [call, before] = stack.back();
    stack.pop_back();
    const uint32_t undone = op_of_[call];
    state = before;
    fp.Toggle(undone);
    Unlift(call);
    ceiling_.Restore(undone);
    if (ops_[undone].cls >= 0) --taken_[ops_[undone].cls];
    if (ops_[undone].complete != kNever) ++remaining;
    indeterminate_pass = ops_[undone].complete == kNever;
    entry = next_[call];
  }
  return Verdict::kViolation;  // not reached: a pending return always lies ahead
}

// ---- compiling a key's operations ----

struct CompiledKey {
  std::vector<KeyOp> ops;
  RegisterState initial;
  std::map<int32_t, std::string> names;  // value id -> value
  std::string early_violation;           // found before any search
  size_t early_op = 0;                   // source index of the op it names
};

CompiledKey CompileKey(const History& h, const std::string& key, const std::vector<size_t>& indexes) {
  CompiledKey ck;
  const auto init_it = h.initial.find(key);
  const InitialState init = init_it != h.initial.end() ? init_it->second : InitialState{false, "", 0};

  // Values some read returned get their own id; the rest share kUnseenValue.
  std::map<std::string, int32_t> ids;
  std::set<std::string> written;
  if (init.exists) written.insert(init.value);
  for (size_t i : indexes) {
    const Operation& op = h.ops[i];
    if (op.kind != OpKind::kRead) written.insert(op.value);
  }
  for (size_t i : indexes) {
    const Operation& op = h.ops[i];
    if (op.kind != OpKind::kRead || op.outcome != Outcome::kOk || !op.found) continue;
    if (!written.count(op.read_value)) {
      ck.early_violation = "it returned '" + op.read_value + "', a value never written to this key";
      ck.early_op = i;
      return ck;
    }
    if (!ids.count(op.read_value)) {
      const int32_t id = static_cast<int32_t>(ids.size()) + 1;
      ids[op.read_value] = id;
      ck.names[id] = op.read_value;
    }
  }
  auto value_id = [&](const std::string& v) {
    auto it = ids.find(v);
    return it == ids.end() ? kUnseenValue : it->second;
  };
  ck.initial = init.exists ? RegisterState{value_id(init.value), init.version} : RegisterState{kAbsent, 0};

  std::map<std::pair<int, int32_t>, int> classes;
  using K = ModelOp::Kind;
  for (size_t i : indexes) {
    const Operation& op = h.ops[i];
    KeyOp k;
    k.source = i;
    k.invoke = op.invoke_ns;
    k.complete = op.outcome == Outcome::kIndeterminate ? kNever : std::max(op.complete_ns, op.invoke_ns);
    k.m.expected_version = op.expected_version;
    if (op.kind == OpKind::kRead) {
      if (op.outcome != Outcome::kOk) continue;  // a read without an answer constrains nothing
      k.m.kind = op.found ? K::kReadFound : K::kReadAbsent;
      k.m.value = op.found ? value_id(op.read_value) : kAbsent;
      k.m.version = op.version;
    } else if (op.outcome == Outcome::kFailed) {
      if (op.failure == Failure::kNoNode) {
        k.m.kind = K::kObservedAbsent;
      } else if (op.failure == Failure::kBadVersion && op.kind == OpKind::kCas) {
        k.m.kind = K::kCasBadVersion;
      } else {
        continue;  // no effect, nothing observed
      }
    } else {
      k.m.kind = op.kind == OpKind::kWrite ? K::kWrite : K::kCas;
      k.m.value = value_id(op.value);
      k.m.maybe = op.outcome == Outcome::kIndeterminate;
      k.m.version = op.outcome == Outcome::kOk ? op.version : -1;
      if (k.m.maybe && k.m.value == kUnseenValue) {
        // Same effect whichever of them it is: interchangeable.
        const std::pair<int, int32_t> cls_key{static_cast<int>(k.m.kind), k.m.kind == K::kCas ? op.expected_version : 0};
        auto [it, fresh] = classes.emplace(cls_key, static_cast<int>(classes.size()));
        k.cls = it->second;
      }
    }
    ck.ops.push_back(k);
  }
  // Class members must be in invoke order, and ops sorted by invoke.
  std::stable_sort(ck.ops.begin(), ck.ops.end(), [](const KeyOp& x, const KeyOp& y) { return x.invoke < y.invoke; });
  return ck;
}

// ---- explanations ----

std::string StateText(const RegisterState& s, const CompiledKey& ck) {
  if (s.value == kAbsent) return "absent";
  auto it = ck.names.find(s.value);
  if (it == ck.names.end()) return "v" + std::to_string(s.version) + " (a value no read returned)";
  return "'" + it->second + "' v" + std::to_string(s.version);
}

std::string WhyNot(const ModelOp& m, const RegisterState& s, const CompiledKey& ck, const History& h,
                   const KeyOp* blocker, int64_t origin) {
  using K = ModelOp::Kind;
  RegisterState after;
  if (Step(m, s, &after)) {
    if (blocker && after.version > CeilingOf(*blocker)) {
      return "it would make v" + std::to_string(after.version) + ", but " + DescribeOp(h.ops[blocker->source], origin) +
             " is still to take effect and needs v" + std::to_string(CeilingOf(*blocker)) +
             " or older (versions never go back)";
    }
    return "its effect fits this state, but every order of the ops concurrent with it was tried and each "
           "failed later";
  }
  const std::string held = "the register held " + StateText(s, ck);
  switch (m.kind) {
    case K::kReadFound: return "it read " + StateText({m.value, m.version}, ck) + " but " + held;
    case K::kReadAbsent:
    case K::kObservedAbsent: return "it saw NONODE but " + held;
    case K::kCasBadVersion: return "it failed BADVERSION but " + held + ", its expected version";
    case K::kWrite:
    case K::kCas:
      if (s.value == kAbsent) return "the node was absent";
      if (m.kind == K::kCas && s.version != m.expected_version) {
        return "it expected v" + std::to_string(m.expected_version) + " but " + held;
      }
      return "it reported v" + std::to_string(m.version) + " but would have made v" + std::to_string(s.version + 1) +
             " (" + held + ")";
  }
  return "?";
}

std::string Explain(const History& h, const CompiledKey& ck, const KeySearch& search, int64_t origin) {
  const KeySearch::Deepest& d = search.deepest();
  const KeyOp& stuck = ck.ops[d.stuck];
  const KeyOp* blocker = d.blocker >= 0 ? &ck.ops[d.blocker] : nullptr;
  std::string s = "op " + DescribeOp(h.ops[stuck.source], origin) + " cannot take effect: " +
                  WhyNot(stuck.m, d.state, ck, h, blocker, origin) + ".\n";
  s += "  Deepest consistent order: " + std::to_string(d.depth) + " of " + std::to_string(ck.ops.size()) +
       " ops, leaving the register at " + StateText(d.state, ck) + (d.tail.empty() ? ".\n" : "; its last ops:\n");
  std::set<uint32_t> in_tail(d.tail.begin(), d.tail.end());
  for (uint32_t id : d.tail) s += "    " + DescribeOp(h.ops[ck.ops[id].source], origin) + "\n";
  std::string concurrent;
  int listed = 0;
  for (uint32_t i = 0; i < ck.ops.size() && listed < 12; ++i) {
    const KeyOp& o = ck.ops[i];
    if (i == d.stuck || in_tail.count(i) || o.invoke > stuck.complete || o.complete < stuck.invoke) continue;
    concurrent += "    " + DescribeOp(h.ops[o.source], origin) + "\n";
    ++listed;
  }
  if (!concurrent.empty()) s += "  Other ops overlapping it:\n" + concurrent;
  return s;
}

}  // namespace

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kLinearizable: return "linearizable";
    case Verdict::kViolation: return "NOT linearizable";
    case Verdict::kUnknown: return "unknown (too expensive)";
  }
  return "?";
}

CheckReport CheckHistory(const History& history, const CheckOptions& options) {
  const auto start = Clock::now();
  CheckReport report;
  std::map<std::string, std::vector<size_t>> by_key;
  int64_t origin = std::numeric_limits<int64_t>::max();
  for (size_t i = 0; i < history.ops.size(); ++i) {
    by_key[history.ops[i].key].push_back(i);
    origin = std::min(origin, history.ops[i].invoke_ns);
  }
  for (const auto& [key, indexes] : by_key) {
    const auto key_start = Clock::now();
    KeyReport kr;
    kr.key = key;
    const CompiledKey ck = CompileKey(history, key, indexes);
    kr.ops = ck.ops.size();
    if (!ck.early_violation.empty()) {
      kr.verdict = Verdict::kViolation;
      kr.explanation = "op " + DescribeOp(history.ops[ck.early_op], origin) + " cannot take effect: " +
                       ck.early_violation + ".\n";
    } else {
      KeySearch search(ck.ops, ck.initial, options);
      kr.verdict = search.Run();
      kr.states = search.states();
      if (kr.verdict == Verdict::kViolation) {
        kr.explanation = Explain(history, ck, search, origin);
      } else if (kr.verdict == Verdict::kUnknown) {
        kr.explanation = search.hit_time_cap()
                             ? "gave up after " + std::to_string(options.max_time_per_key.count()) + " ms\n"
                             : "gave up after " + std::to_string(options.max_states_per_key) + " states\n";
      }
    }
    kr.seconds = std::chrono::duration<double>(Clock::now() - key_start).count();
    report.states += kr.states;
    if (kr.verdict == Verdict::kViolation ||
        (kr.verdict == Verdict::kUnknown && report.verdict == Verdict::kLinearizable)) {
      report.verdict = kr.verdict;
    }
    report.keys.push_back(std::move(kr));
  }
  report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return report;
}

std::string CheckReport::Summary() const {
  std::string s;
  for (const KeyReport& k : keys) {
    if (k.verdict == Verdict::kLinearizable) continue;
    s += "key " + k.key + ": " + VerdictName(k.verdict) + " (" + std::to_string(k.ops) + " ops, " +
         std::to_string(k.states) + " states): " + k.explanation;
  }
  return s;
}

}  // namespace dougong::lincheck
