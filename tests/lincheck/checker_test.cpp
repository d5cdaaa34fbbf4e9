// The linearizability checker on hand-built histories (each violation kind
// must be caught, each legal interleaving accepted) and on generated ones.
#include "checker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "history_checks.h"
#include "history_gen.h"

namespace dougong::lincheck {
namespace {

constexpr int64_t kMs = 1'000'000;

// Builds a history; times in milliseconds.
class Builder {
 public:
  Builder() { h_.initial["x"] = {true, "init", 0}; }
  Builder& Initial(const std::string& key, std::string value, int32_t version) {
    h_.initial[key] = {true, std::move(value), version};
    return *this;
  }
  Builder& Absent(const std::string& key) {
    h_.initial[key] = {false, "", 0};
    return *this;
  }
  Builder& Read(int p, double t0, double t1, std::string value, int32_t version, std::string key = "x") {
    Operation& op = Add(p, OpKind::kRead, t0, t1, std::move(key));
    op.outcome = Outcome::kOk;
    op.read_value = std::move(value);
    op.version = version;
    return *this;
  }
  Builder& ReadNoNode(int p, double t0, double t1, std::string key = "x") {
    Operation& op = Add(p, OpKind::kRead, t0, t1, std::move(key));
    op.outcome = Outcome::kOk;
    op.found = false;
    return *this;
  }
  // new_version -1: the Stat's version not recorded.
  Builder& Write(int p, double t0, double t1, std::string value, int32_t new_version = -1, std::string key = "x") {
    Operation& op = Add(p, OpKind::kWrite, t0, t1, std::move(key));
    op.value = std::move(value);
    op.outcome = Outcome::kOk;
    op.version = new_version;
    return *this;
  }
  Builder& WriteMaybe(int p, double t0, std::string value, std::string key = "x") {
    Operation& op = Add(p, OpKind::kWrite, t0, t0, std::move(key));
    op.value = std::move(value);
    op.outcome = Outcome::kIndeterminate;
    return *this;
  }
  Builder& Cas(int p, double t0, double t1, int32_t expected, std::string value, Outcome outcome,
               Failure failure = Failure::kNone) {
    Operation& op = Add(p, OpKind::kCas, t0, t1, "x");
    op.expected_version = expected;
    op.value = std::move(value);
    op.outcome = outcome;
    op.failure = failure;
    if (outcome == Outcome::kOk) op.version = expected + 1;
    return *this;
  }
  const History& history() const { return h_; }

 private:
  Operation& Add(int p, OpKind kind, double t0, double t1, std::string key) {
    Operation op;
    op.process = p;
    op.kind = kind;
    op.key = std::move(key);
    op.invoke_ns = static_cast<int64_t>(t0 * kMs);
    op.complete_ns = static_cast<int64_t>(t1 * kMs);
    h_.ops.push_back(std::move(op));
    return h_.ops.back();
  }
  History h_;
};

Verdict Check(const Builder& b, std::string* why = nullptr) {
  const CheckReport r = CheckHistory(b.history());
  if (why) *why = r.Summary();
  return r.verdict;
}

// ---- linearizable ----

TEST(Lincheck, SequentialReadsWritesAndCas) {
  Builder b;
  b.Read(1, 0, 1, "init", 0)
      .Write(1, 2, 3, "a", 1)
      .Read(2, 4, 5, "a", 1)
      .Cas(2, 6, 7, 1, "b", Outcome::kOk)
      .Cas(1, 8, 9, 1, "c", Outcome::kFailed, Failure::kBadVersion)
      .Read(1, 10, 11, "b", 2);
  EXPECT_EQ(Check(b), Verdict::kLinearizable);
}

TEST(Lincheck, OverlappingOpsMayTakeEffectInEitherOrder) {
  // The write spans both reads; the first sees the new value, the second the old one
  // is illegal, but old then new is fine.
  Builder ok;
  ok.Write(1, 0, 10, "a", 1).Read(2, 1, 2, "init", 0).Read(3, 3, 4, "a", 1).Read(2, 5, 6, "a", 1);
  EXPECT_EQ(Check(ok), Verdict::kLinearizable);
  // Two concurrent writes and reads that saw them in the order b, a.
  Builder two;
  two.Write(1, 0, 10, "a").Write(2, 0, 10, "b").Read(3, 1, 2, "b", 1).Read(3, 3, 4, "a", 2);
  EXPECT_EQ(Check(two), Verdict::kLinearizable);
  // Concurrent cas on the same version: one wins, the other gets BADVERSION.
  Builder cas;
  cas.Cas(1, 0, 10, 0, "a", Outcome::kFailed, Failure::kBadVersion)
      .Cas(2, 1, 9, 0, "b", Outcome::kOk)
      .Read(3, 11, 12, "b", 1);
  EXPECT_EQ(Check(cas), Verdict::kLinearizable);
}

TEST(Lincheck, IndeterminateWriteThatHappenedLater) {
  // The answer was lost; a read long after shows it took effect.
  Builder b;
  b.WriteMaybe(1, 0, "a").Write(2, 5, 6, "b", 1).Read(3, 10, 11, "b", 1).Read(3, 20, 21, "a", 2);
  EXPECT_EQ(Check(b), Verdict::kLinearizable);
}

TEST(Lincheck, IndeterminateWriteThatNeverHappened) {
  Builder b;
  b.WriteMaybe(1, 0, "a").Read(2, 5, 6, "init", 0).Write(2, 7, 8, "b", 1).Read(3, 100, 101, "b", 1);
  EXPECT_EQ(Check(b), Verdict::kLinearizable);
}

TEST(Lincheck, AbsentNodes) {
  Builder b;
  b.Absent("y").ReadNoNode(1, 0, 1, "y");
  EXPECT_EQ(Check(b), Verdict::kLinearizable);
  Builder bad;
  bad.ReadNoNode(1, 0, 1, "x");  // x exists
  EXPECT_EQ(Check(bad), Verdict::kViolation);
}

TEST(Lincheck, ManyIndeterminateUnseenWritesStayCheap) {
  // 40 writes whose answers were lost, all concurrent; the final read says
  // 25 of them happened, the last being #7. Without treating the unseen
  // ones as interchangeable this is C(39, 24) subsets.
  Builder b;
  for (int i = 0; i < 40; ++i) b.WriteMaybe(i, i * 0.01, "w" + std::to_string(i));
  b.Read(100, 50, 51, "w7", 25);
  const CheckReport r = CheckHistory(b.history());
  EXPECT_EQ(r.verdict, Verdict::kLinearizable);
  EXPECT_LT(r.states, 5000u);
  Builder too_many;
  for (int i = 0; i < 40; ++i) too_many.WriteMaybe(i, i * 0.01, "w" + std::to_string(i));
  too_many.Read(100, 50, 51, "w7", 41);
  EXPECT_EQ(Check(too_many), Verdict::kViolation);
}

// ---- violations ----

TEST(Lincheck, StaleReadIsCaught) {
  Builder b;
  b.Write(1, 0, 1, "a", 1).Read(2, 2, 3, "init", 0);
  std::string why;
  EXPECT_EQ(Check(b, &why), Verdict::kViolation);
  EXPECT_NE(why.find("key x"), std::string::npos) << why;
  EXPECT_NE(why.find("p2 read -> 'init' v0"), std::string::npos) << why;
  EXPECT_NE(why.find("p1 write('a') ok v1"), std::string::npos) << why;
  std::printf("%s", why.c_str());
}

TEST(Lincheck, LostAcknowledgedWriteIsCaught) {
  // Acknowledged, then a final read (after faults healed) shows the old value.
  Builder b;
  b.Write(1, 0, 1, "a", 1).Write(2, 2, 3, "b", 2).Read(99, 10, 11, "a", 1);
  EXPECT_EQ(Check(b), Verdict::kViolation);
  // Or a version that went backwards with a fresh value.
  Builder c;
  c.Write(1, 0, 1, "a", 1).Write(2, 2, 3, "b", 1);
  EXPECT_EQ(Check(c), Verdict::kViolation);
}

TEST(Lincheck, CasAcceptedTwiceOnOneVersionIsCaught) {
  Builder sequential;
  sequential.Cas(1, 0, 1, 0, "a", Outcome::kOk).Cas(2, 2, 3, 0, "b", Outcome::kOk);
  EXPECT_EQ(Check(sequential), Verdict::kViolation);
  Builder concurrent;
  concurrent.Cas(1, 0, 10, 0, "a", Outcome::kOk).Cas(2, 1, 9, 0, "b", Outcome::kOk);
  std::string why;
  EXPECT_EQ(Check(concurrent, &why), Verdict::kViolation);
  std::printf("%s", why.c_str());
}

TEST(Lincheck, ReadOfAValueNeverWrittenIsCaught) {
  Builder b;
  b.Write(1, 0, 1, "a", 1).Read(2, 2, 3, "zzz", 1);
  std::string why;
  EXPECT_EQ(Check(b, &why), Verdict::kViolation);
  EXPECT_NE(why.find("never written"), std::string::npos) << why;
}

TEST(Lincheck, BadVersionWhenTheVersionMatchedIsCaught) {
  Builder b;
  b.Read(1, 0, 1, "init", 0).Cas(1, 2, 3, 0, "a", Outcome::kFailed, Failure::kBadVersion);
  EXPECT_EQ(Check(b), Verdict::kViolation);
}

TEST(Lincheck, ReadFromTheFutureIsCaught) {
  Builder b;
  b.Read(1, 0, 1, "a", 1).Write(2, 2, 3, "a", 1);
  EXPECT_EQ(Check(b), Verdict::kViolation);
}

TEST(Lincheck, KeysAreCheckedIndependently) {
  Builder b;
  b.Initial("y", "init", 0).Write(1, 0, 1, "a", 1, "x").Read(2, 2, 3, "a", 1, "x");
  b.Write(1, 0, 1, "b", 1, "y").Read(2, 2, 3, "init", 0, "y");
  const CheckReport r = CheckHistory(b.history());
  ASSERT_EQ(r.keys.size(), 2u);
  EXPECT_EQ(r.keys[0].verdict, Verdict::kLinearizable);
  EXPECT_EQ(r.keys[1].verdict, Verdict::kViolation);
  EXPECT_EQ(r.verdict, Verdict::kViolation);
}

TEST(Lincheck, CapGivesUnknownNotAHang) {
  GenOptions o;
  o.processes = 10;
  o.ops = 3000;
  o.indeterminate = 0.3;
  const History h = GenerateHistory(7, o);
  CheckOptions tight;
  tight.max_states_per_key = 50;
  const CheckReport r = CheckHistory(h, tight);
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.Summary().find("gave up after 50 states"), std::string::npos) << r.Summary();
}

TEST(Lincheck, LostAcknowledgedWritesAreCounted) {
  constexpr int kFinal = 99;
  Builder kept;
  kept.Write(1, 0, 1, "a", 1).Write(2, 2, 3, "b", 2).Read(kFinal, 10, 11, "b", 2);
  EXPECT_TRUE(LostAcknowledgedWrites(kept.history(), kFinal).empty());
  Builder older;
  older.Write(1, 0, 1, "a", 1).Write(2, 2, 3, "b", 2).Read(kFinal, 10, 11, "a", 1);
  const auto lost = LostAcknowledgedWrites(older.history(), kFinal);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_NE(lost[0].find("write('b') ok v2"), std::string::npos) << lost[0];
  // Same version, another value: an indeterminate write took v2's place.
  Builder replaced;
  replaced.Write(1, 0, 1, "a", 1).Write(2, 2, 3, "b", 2).WriteMaybe(3, 2, "c").Read(kFinal, 10, 11, "c", 2);
  EXPECT_EQ(LostAcknowledgedWrites(replaced.history(), kFinal).size(), 1u);
}

TEST(Lincheck, PlantedStaleReadNeedsAFinishedWriter) {
  Builder overlapping;  // the writer of v1 had not finished when the read began: nothing to plant
  overlapping.Write(1, 0, 10, "a", 1).Read(2, 5, 6, "a", 1);
  History h = overlapping.history();
  EXPECT_EQ(PlantStaleRead(h, 0), "");
  Builder after;
  after.Write(1, 0, 1, "a", 1).Read(2, 5, 6, "a", 1);
  h = after.history();
  EXPECT_NE(PlantStaleRead(h, 0).find("p2 read -> 'init' v0"), std::string::npos);
  EXPECT_EQ(CheckHistory(h).verdict, Verdict::kViolation);
}

// ---- generated ----

TEST(Lincheck, GeneratedHistoriesPassAndOneStaleReadFails) {
  int perturbed = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    GenOptions o;
    o.processes = 2 + seed % 7;
    o.keys = 1 + seed % 3;
    o.ops = 50 + static_cast<int>(seed % 150);
    History h = GenerateHistory(seed, o);
    const CheckReport ok = CheckHistory(h);
    ASSERT_EQ(ok.verdict, Verdict::kLinearizable) << "seed " << seed << "\n" << ok.Summary();
    // Without the writes' Stats the search has less to go on, same answer.
    History blind = h;
    for (Operation& op : blind.ops) {
      if (op.kind != OpKind::kRead) op.version = -1;
    }
    ASSERT_EQ(CheckHistory(blind).verdict, Verdict::kLinearizable) << "seed " << seed;
    if (PlantStaleRead(h, seed).empty()) continue;
    ++perturbed;
    const CheckReport bad = CheckHistory(h);
    ASSERT_EQ(bad.verdict, Verdict::kViolation) << "seed " << seed;
  }
  EXPECT_GT(perturbed, 150);
}

TEST(Lincheck, FortyThousandOpsTenClientsFiveKeysCheckInSeconds) {
  GenOptions o;
  o.processes = 10;
  o.keys = 5;
  o.ops = 40'000;
  o.indeterminate = 0.02;
  const History h = GenerateHistory(42, o);
  const CheckReport r = CheckHistory(h);
  EXPECT_EQ(r.verdict, Verdict::kLinearizable) << r.Summary();
  std::printf("[ lincheck ] %d ops, %d clients, %d keys, 2%% indeterminate: %.3f s, %llu states\n", o.ops,
              o.processes, o.keys, r.seconds, static_cast<unsigned long long>(r.states));
  EXPECT_LT(r.seconds, 30.0);
}

}  // namespace
}  // namespace dougong::lincheck
