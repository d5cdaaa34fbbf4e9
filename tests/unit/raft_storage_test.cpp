// Raft storage (src/raft/storage): the segmented entry log (rotation,
// reopen, torn tails at every byte, corruption and repair, truncation,
// compaction), the double-slot hard state, atomic snapshot files, the
// Ready/InitialState adapter driving a real Core, and a kill -9 test
// against a forked child. Everything runs in temp dirs under /tmp (real
// disk, real fdatasync).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "base/file_util.h"
#include "dougong/raft/core.h"
#include "dougong/raft/log_storage.h"
#include "dougong/raft/storage.h"
#include "raft/storage/format.h"
#include "storage_test_util.h"

namespace dougong::raft {
namespace {

namespace fs = std::filesystem;

using test_util::ReadFile;
using test_util::TempDir;
using test_util::WriteFile;

Entry MakeEntry(uint64_t index, uint64_t term, size_t size = 0) {
  if (size == 0) size = 1 + (index * 2654435761u) % 97;
  std::string data = std::to_string(index) + "/" + std::to_string(term) + ":";
  while (data.size() < size) data += static_cast<char>('a' + (index + data.size()) % 26);
  data.resize(size);
  auto type = index % 7 == 0 ? EntryType::kNoOp : EntryType::kNormal;
  return Entry{index, term, type, type == EntryType::kNoOp ? std::string() : data};
}

std::vector<Entry> MakeEntries(uint64_t lo, uint64_t hi, uint64_t term) {
  std::vector<Entry> out;
  for (uint64_t i = lo; i < hi; ++i) out.push_back(MakeEntry(i, term));
  return out;
}

std::unique_ptr<SegmentedLog> OpenLog(const std::string& dir, LogStorageOptions options = {}) {
  auto log = SegmentedLog::Open(dir, options);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(*log) : nullptr;
}

LogStorageOptions Small(uint64_t segment_bytes = 4096) {
  LogStorageOptions o;
  o.segment_bytes = segment_bytes;
  o.cache_bytes = 2048;  // most reads go to disk
  return o;
}

void ExpectEntries(const SegmentedLog& log, uint64_t lo, const std::vector<Entry>& want) {
  auto got = log.Entries(lo, lo + want.size());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ((*got)[i], want[i]) << "index " << lo + i;
}

// Record offsets of the last segment's records, read through the format.
std::vector<uint64_t> RecordOffsets(const std::string& file) {
  std::vector<uint64_t> out;
  uint64_t pos = storage::kSegmentHeaderSize;
  storage::RecordView rec;
  while (storage::CheckRecord(file, pos, &rec) == RecordCheck::kOk) {
    out.push_back(pos);
    pos += rec.size;
  }
  return out;
}

// ---------------------------------------------------------------- log

TEST(RaftSegmentedLog, RoundTripAcrossSegmentRotation) {
  TempDir dir;
  std::vector<Entry> all = MakeEntries(1, 401, 1);
  all[200].data.assign(10000, 'x');  // larger than a segment: one of its own
  all[200].type = EntryType::kConfChange;
  {
    auto log = OpenLog(dir.path(), Small());
    size_t at = 0, batch = 1;
    while (at < all.size()) {
      size_t n = std::min(batch, all.size() - at);
      ASSERT_TRUE(log->Append(std::span<const Entry>(all).subspan(at, n)).ok());
      at += n;
      batch = batch % 13 + 1;
    }
    EXPECT_EQ(log->first_index(), 1u);
    EXPECT_EQ(log->last_index(), 400u);
    EXPECT_GT(log->SegmentPaths().size(), 5u);
    EXPECT_LT(log->cached_entries(), 100u);
    ExpectEntries(*log, 1, all);
    EXPECT_EQ(*log->Term(400), 1u);
    EXPECT_FALSE(log->Term(401).ok());
    // max_bytes: at least one entry, then stops before exceeding.
    auto some = log->Entries(1, 401, 200);
    ASSERT_TRUE(some.ok());
    EXPECT_GE(some->size(), 1u);
    EXPECT_LT(some->size(), 10u);
  }
  auto log = OpenLog(dir.path(), Small());
  EXPECT_FALSE(log->recovery().torn_tail);
  EXPECT_EQ(log->recovery().entries, 400u);
  ExpectEntries(*log, 1, all);
  // Every segment is named after its first record and within its size (but
  // for the one oversized entry).
  for (const std::string& path : log->SegmentPaths()) {
    uint64_t first = 0;
    ASSERT_TRUE(storage::ParseSegmentName(fs::path(path).filename().string(), &first));
    std::string file = ReadFile(path);
    storage::RecordView rec;
    ASSERT_EQ(storage::CheckRecord(file, storage::kSegmentHeaderSize, &rec), RecordCheck::kOk);
    EXPECT_EQ(rec.index, first);
    if (first != 201) {
      EXPECT_LE(file.size(), 4096u);
    }
  }
}

TEST(RaftSegmentedLog, ReopenAfterCloseAndKeepAppending) {
  TempDir dir;
  std::vector<Entry> all = MakeEntries(1, 101, 3);
  {
    auto log = OpenLog(dir.path(), Small(1024));
    ASSERT_TRUE(log->Append(std::span<const Entry>(all).first(60)).ok());
  }
  {
    auto log = OpenLog(dir.path(), Small(1024));
    EXPECT_EQ(log->last_index(), 60u);
    ASSERT_TRUE(log->Append(std::span<const Entry>(all).subspan(60)).ok());
    // A gap and an index before the log are refused.
    EXPECT_EQ(log->Append(MakeEntries(102, 103, 3)).code(), Code::kInvalidArgument);
  }
  auto log = OpenLog(dir.path(), Small(1024));
  EXPECT_EQ(log->last_index(), 100u);
  ExpectEntries(*log, 1, all);
}

TEST(RaftSegmentedLog, EmptyLogStartsAnywhere) {
  TempDir dir;
  {
    auto log = OpenLog(dir.path());
    EXPECT_TRUE(log->empty());
    EXPECT_EQ(log->Entries(1, 1)->size(), 0u);
    ASSERT_TRUE(log->Append(MakeEntries(1000, 1010, 4)).ok());
  }
  auto log = OpenLog(dir.path());
  EXPECT_EQ(log->first_index(), 1000u);
  EXPECT_EQ(log->last_index(), 1009u);
  EXPECT_EQ(log->Entries(999, 1001).status().code(), Code::kOutOfRange);
}

// Cuts the last record of the last segment at every byte offset, and
// zero-fills it from every offset: recovery keeps everything before it.
TEST(RaftSegmentedLog, TornTailAtEveryByteOffsetOfTheLastRecord) {
  TempDir src;
  std::vector<Entry> all = MakeEntries(1, 31, 2);
  all.back().data.assign(150, 'q');
  all.back().type = EntryType::kNormal;
  {
    auto log = OpenLog(src.path(), Small(1 << 20));
    ASSERT_TRUE(log->Append(std::span<const Entry>(all).first(20)).ok());
    ASSERT_TRUE(log->Append(std::span<const Entry>(all).subspan(20)).ok());
  }
  const std::string seg_name = fs::path(OpenLog(src.path(), Small(1 << 20))->SegmentPaths().back()).filename();
  ASSERT_NE(seg_name, storage::SegmentName(30));  // the last segment keeps records before the cut
  const std::string full = ReadFile(JoinPath(src.path(), seg_name));
  const uint64_t last_off = RecordOffsets(full).back();
  ASSERT_LT(last_off, full.size());
  int cases = 0;
  for (int zero_fill = 0; zero_fill < 2; ++zero_fill) {
    for (uint64_t cut = last_off; cut < full.size(); ++cut) {
      TempDir dir;
      fs::copy(src.path(), dir.path(), fs::copy_options::overwrite_existing | fs::copy_options::recursive);
      std::string damaged = full.substr(0, cut);
      if (zero_fill) damaged.resize(full.size(), '\0');
      WriteFile(dir.sub(seg_name), damaged);
      auto log = OpenLog(dir.path(), Small(1 << 20));
      ASSERT_NE(log, nullptr) << "cut " << cut << " zero " << zero_fill;
      ASSERT_EQ(log->last_index(), 29u) << "cut " << cut;
      EXPECT_EQ(log->recovery().torn_tail, cut > last_off || zero_fill) << "cut " << cut;
      EXPECT_FALSE(log->recovery().repaired);
      EXPECT_EQ(fs::file_size(dir.sub(seg_name)), last_off) << "cut " << cut;
      // The log continues where the valid part ended.
      ASSERT_TRUE(log->Append(MakeEntries(30, 32, 5)).ok());
      log.reset();
      log = OpenLog(dir.path(), Small(1 << 20));
      ASSERT_NE(log, nullptr);
      EXPECT_EQ(log->last_index(), 31u);
      EXPECT_EQ(*log->Term(31), 5u);
      ExpectEntries(*log, 1, std::vector<Entry>(all.begin(), all.begin() + 29));
      ++cases;
    }
  }
  EXPECT_GT(cases, 300);
}

TEST(RaftSegmentedLog, TornHeaderOfANewLastSegmentIsDropped) {
  TempDir dir;
  {
    auto log = OpenLog(dir.path(), Small(1024));
    ASSERT_TRUE(log->Append(MakeEntries(1, 21, 1)).ok());
  }
  WriteFile(dir.sub(storage::SegmentName(21)), std::string(10, '\0'));
  auto log = OpenLog(dir.path(), Small(1024));
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->last_index(), 20u);
  EXPECT_TRUE(log->recovery().torn_tail);
  EXPECT_FALSE(fs::exists(dir.sub(storage::SegmentName(21))));
}

TEST(RaftSegmentedLog, CorruptMiddleRecordIsRefusedWithFileAndOffsetThenRepaired) {
  TempDir dir;
  {
    auto log = OpenLog(dir.path(), Small(1 << 20));
    ASSERT_TRUE(log->Append(MakeEntries(1, 41, 1)).ok());
  }
  const std::string path = dir.sub(storage::SegmentName(1));
  std::string file = ReadFile(path);
  const uint64_t bad = RecordOffsets(file)[19];  // index 20
  file[bad + storage::kRecordHeaderSize + 1] ^= 0x40;
  WriteFile(path, file);

  auto refused = SegmentedLog::Open(dir.path(), Small(1 << 20));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kDataLoss);
  const std::string& msg = refused.status().message();
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("at offset " + std::to_string(bad)), std::string::npos) << msg;
  EXPECT_NE(msg.find("checksum mismatch"), std::string::npos) << msg;
  EXPECT_NE(msg.find("valid records follow"), std::string::npos) << msg;
  EXPECT_EQ(ReadFile(path), file);  // nothing touched

  LogStorageOptions repair = Small(1 << 20);
  repair.repair = true;
  auto log = OpenLog(dir.path(), repair);
  ASSERT_NE(log, nullptr);
  EXPECT_TRUE(log->recovery().repaired);
  EXPECT_EQ(log->recovery().truncated_offset, bad);
  EXPECT_EQ(log->last_index(), 19u);
  log.reset();
  EXPECT_EQ(OpenLog(dir.path(), Small(1 << 20))->last_index(), 19u);
}

TEST(RaftSegmentedLog, DamageInANonLastSegmentIsRefusedEvenAtItsEnd) {
  TempDir dir;
  {
    auto log = OpenLog(dir.path(), Small(1024));
    ASSERT_TRUE(log->Append(MakeEntries(1, 61, 1)).ok());
    ASSERT_GE(log->SegmentPaths().size(), 3u);
  }
  auto paths = OpenLog(dir.path(), Small(1024))->SegmentPaths();
  const std::string path = paths[0];
  std::string file = ReadFile(path);
  const uint64_t bad = RecordOffsets(file).back();
  WriteFile(path, file.substr(0, bad + 5));  // its last record torn
  auto refused = SegmentedLog::Open(dir.path(), Small(1024));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find(path + " at offset " + std::to_string(bad)), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("later segment(s) follow"), std::string::npos);

  LogStorageOptions repair = Small(1024);
  repair.repair = true;
  auto log = OpenLog(dir.path(), repair);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->SegmentPaths().size(), 1u);
  EXPECT_EQ(log->recovery().removed_files.size(), paths.size() - 1);
  EXPECT_EQ(log->last_index(), RecordOffsets(file).size() - 1);
}

TEST(RaftSegmentedLog, MissingMiddleSegmentIsRefused) {
  TempDir dir;
  std::vector<std::string> paths;
  {
    auto log = OpenLog(dir.path(), Small(1024));
    ASSERT_TRUE(log->Append(MakeEntries(1, 61, 1)).ok());
    paths = log->SegmentPaths();
  }
  ASSERT_GE(paths.size(), 3u);
  fs::remove(paths[1]);
  auto refused = SegmentedLog::Open(dir.path(), Small(1024));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("but the previous one ends at"), std::string::npos)
      << refused.status().message();
}

TEST(RaftSegmentedLog, TruncationThenAppendThenReopen) {
  TempDir dir;
  std::vector<Entry> want = MakeEntries(1, 201, 1);
  {
    auto log = OpenLog(dir.path(), Small(1024));
    ASSERT_TRUE(log->Append(want).ok());
    const size_t segments = log->SegmentPaths().size();
    // A conflicting suffix from the middle of an earlier segment.
    std::vector<Entry> repl = MakeEntries(90, 120, 2);
    ASSERT_TRUE(log->Append(repl).ok());
    EXPECT_LT(log->SegmentPaths().size(), segments);
    want.resize(89);
    want.insert(want.end(), repl.begin(), repl.end());
    EXPECT_EQ(log->last_index(), 119u);
    ExpectEntries(*log, 1, want);
    // Truncation exactly at a segment's first index removes that segment.
    auto paths = log->SegmentPaths();
    uint64_t first = 0;
    ASSERT_TRUE(storage::ParseSegmentName(fs::path(paths[1]).filename().string(), &first));
    ASSERT_TRUE(log->TruncateSuffix(first).ok());
    EXPECT_EQ(log->SegmentPaths().size(), 1u);
    EXPECT_EQ(log->last_index(), first - 1);
    want.resize(first - 1);
    std::vector<Entry> more = MakeEntries(first, first + 50, 3);
    ASSERT_TRUE(log->Append(more).ok());
    want.insert(want.end(), more.begin(), more.end());
  }
  auto log = OpenLog(dir.path(), Small(1024));
  EXPECT_FALSE(log->recovery().torn_tail);
  EXPECT_EQ(log->last_index(), want.size());
  ExpectEntries(*log, 1, want);
  // Replacing from the very first index empties the log first.
  ASSERT_TRUE(log->Append(MakeEntries(1, 3, 9)).ok());
  EXPECT_EQ(log->last_index(), 2u);
  EXPECT_EQ(*OpenLog(dir.path(), Small(1024))->Term(2), 9u);
}

TEST(RaftSegmentedLog, CompactionDropsOnlySegmentsWhollyBelowTheIndex) {
  TempDir dir;
  auto log = OpenLog(dir.path(), Small(1024));
  ASSERT_TRUE(log->Append(MakeEntries(1, 201, 1)).ok());
  auto paths = log->SegmentPaths();
  uint64_t second = 0;
  ASSERT_TRUE(storage::ParseSegmentName(fs::path(paths[1]).filename().string(), &second));
  // Index second - 2: the first segment still holds second - 1.
  EXPECT_EQ(*log->CompactTo(second - 2), 0u);
  EXPECT_EQ(*log->CompactTo(second - 1), 1u);
  EXPECT_EQ(log->first_index(), second);
  EXPECT_FALSE(fs::exists(paths[0]));
  EXPECT_EQ(log->Entries(second - 1, second + 1).status().code(), Code::kOutOfRange);
  // Everything: the last segment stays.
  EXPECT_EQ(*log->CompactTo(1000), paths.size() - 2);
  EXPECT_EQ(log->SegmentPaths().size(), 1u);
  EXPECT_EQ(*log->Term(200), 1u);
  const uint64_t first = log->first_index();
  log.reset();
  log = OpenLog(dir.path(), Small(1024));
  EXPECT_EQ(log->first_index(), first);
  EXPECT_EQ(log->last_index(), 200u);
  ExpectEntries(*log, first, MakeEntries(first, 201, 1));
  ASSERT_TRUE(log->Append(MakeEntries(201, 220, 1)).ok());
}

// ---------------------------------------------------------------- storage

std::unique_ptr<RaftStorage> OpenStorage(const std::string& dir, StorageOptions options = {}) {
  auto st = RaftStorage::Open(dir, options);
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  return st.ok() ? std::move(*st) : nullptr;
}

TEST(RaftStorage, HardStateSurvivesReopenATornSlotAndATornTmpFile) {
  TempDir dir;
  {
    auto st = OpenStorage(dir.path());
    EXPECT_EQ(st->hard_state(), HardState{});
    ASSERT_TRUE(st->log().Append(MakeEntries(1, 101, 1)).ok());
    for (uint64_t t = 1; t <= 5; ++t) ASSERT_TRUE(st->SaveHardState({t, t % 3, t * 10}).ok());
    EXPECT_TRUE(st->LoadInitialState().ok());
  }
  {
    auto st = OpenStorage(dir.path());
    EXPECT_EQ(st->hard_state(), (HardState{5, 2, 50}));
    EXPECT_FALSE(st->recovery().hard_state_slot_damaged);
  }
  // The newest save (sequence 4, slot 0) torn half-way: the previous one wins.
  const std::string path = dir.sub(storage::kHardStateName);
  std::string file = ReadFile(path);
  std::memset(file.data() + 20, 0, 30);
  WriteFile(path, file);
  // A leftover temp file of an interrupted creation is ignored.
  WriteFile(path + ".tmp", "garbage");
  {
    auto st = OpenStorage(dir.path());
    EXPECT_EQ(st->hard_state(), (HardState{4, 1, 40}));
    EXPECT_TRUE(st->recovery().hard_state_slot_damaged);
    EXPECT_EQ(st->recovery().removed_tmp_files.size(), 1u);
    ASSERT_TRUE(st->SaveHardState({6, 1, 60}).ok());  // overwrites the torn slot
  }
  EXPECT_EQ(OpenStorage(dir.path())->hard_state(), (HardState{6, 1, 60}));
  // Both slots bad: refused (a lost vote could elect two leaders).
  file = ReadFile(path);
  file[1] ^= 1;
  file[storage::kHardStateSlotStride + 1] ^= 1;
  WriteFile(path, file);
  auto refused = RaftStorage::Open(dir.path());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kDataLoss);
}

TEST(RaftStorage, HardStateCreationInterruptedLeavesNoState) {
  TempDir dir;
  WriteFile(dir.sub("hardstate.tmp"), std::string(100, 'x'));
  auto st = OpenStorage(dir.path());
  EXPECT_EQ(st->hard_state(), HardState{});
  EXPECT_FALSE(fs::exists(dir.sub("hardstate.tmp")));
}

Snapshot MakeSnapshot(uint64_t index, uint64_t term, std::string data) {
  Snapshot s;
  s.meta.index = index;
  s.meta.term = term;
  s.meta.conf.voters = {1, 2, 3};
  s.meta.conf.learners = {7};
  s.data = std::move(data);
  return s;
}

TEST(RaftStorage, SnapshotsAreAtomicAndTheNewestValidOneIsLoaded) {
  TempDir dir;
  StorageOptions options;
  options.log = Small(1024);
  {
    auto st = OpenStorage(dir.path(), options);
    Ready rd;
    rd.entries = MakeEntries(1, 301, 1);
    rd.hard_state = HardState{1, 1, 300};
    ASSERT_TRUE(st->SaveReady(rd).ok());
    const size_t segments = st->log().SegmentPaths().size();
    ASSERT_TRUE(st->SaveSnapshot(MakeSnapshot(100, 1, "state@100")).ok());
    EXPECT_LT(st->log().SegmentPaths().size(), segments);
    EXPECT_LE(st->log().first_index(), 101u);
    EXPECT_GT(st->log().first_index(), 60u);
    ASSERT_TRUE(st->SaveSnapshot(MakeSnapshot(250, 1, "state@250")).ok());
    EXPECT_LE(st->log().first_index(), 101u);  // compacted below the older kept snapshot only
    ASSERT_TRUE(st->SaveSnapshot(MakeSnapshot(280, 1, "state@280")).ok());
    EXPECT_LE(st->log().first_index(), 251u);
    EXPECT_GT(st->log().first_index(), 200u);
    EXPECT_FALSE(fs::exists(dir.sub(storage::SnapshotName(100))));  // two kept
    EXPECT_EQ(st->Term(280).value(), 1u);
    EXPECT_EQ(st->Term(279).status().code(), Code::kNotFound);
    EXPECT_EQ(st->first_index(), 281u);
    // A wrong term for the log's entry is refused.
    EXPECT_EQ(st->SaveSnapshot(MakeSnapshot(290, 7, "x")).code(), Code::kInvalidArgument);
  }
  // An interrupted newer snapshot write: its temp file is ignored.
  WriteFile(dir.sub(storage::SnapshotName(300) + ".tmp"), "half a snapshot");
  {
    auto st = OpenStorage(dir.path(), options);
    EXPECT_EQ(st->snapshot_meta().index, 280u);
    auto snap = st->LoadSnapshot();
    ASSERT_TRUE(snap.ok());
    EXPECT_EQ(snap->data, "state@280");
    EXPECT_EQ(snap->meta, MakeSnapshot(280, 1, "").meta);
    EXPECT_EQ(st->recovery().removed_tmp_files.size(), 1u);
    auto init = st->LoadInitialState();
    ASSERT_TRUE(init.ok());
    EXPECT_EQ(init->snapshot.index, 280u);
    ASSERT_EQ(init->entries.size(), 20u);
    EXPECT_EQ(init->entries.front().index, 281u);
  }
  // The newest snapshot damaged: the older kept one is used, and the log
  // still has the entries after it.
  std::string file = ReadFile(dir.sub(storage::SnapshotName(280)));
  file[file.size() / 2] ^= 1;
  WriteFile(dir.sub(storage::SnapshotName(280)), file);
  auto st = OpenStorage(dir.path(), options);
  EXPECT_EQ(st->snapshot_meta().index, 250u);
  EXPECT_EQ(st->recovery().skipped_snapshots.size(), 1u);
  EXPECT_EQ(st->LoadSnapshot()->data, "state@250");
  EXPECT_EQ(st->LoadInitialState()->entries.size(), 50u);
}

TEST(RaftStorage, InstalledSnapshotResetsTheLogAndACrashInBetweenIsRepaired) {
  TempDir dir;
  {
    auto st = OpenStorage(dir.path());
    Ready rd;
    rd.entries = MakeEntries(1, 51, 1);
    rd.hard_state = HardState{2, 1, 10};
    ASSERT_TRUE(st->SaveReady(rd).ok());
  }
  // A snapshot at 30, term 5 (our entry 30 has term 1) written by an install
  // that crashed before resetting the log.
  TempDir other;
  {
    auto st = OpenStorage(other.path());
    Ready rd;
    rd.snapshot = MakeSnapshot(30, 5, "leader state");
    rd.entries = MakeEntries(31, 33, 5);
    rd.hard_state = HardState{5, 0, 30};
    ASSERT_TRUE(st->SaveReady(rd).ok());
    EXPECT_EQ(st->log().first_index(), 31u);
    EXPECT_EQ(st->last_index(), 32u);
  }
  fs::copy_file(other.sub(storage::SnapshotName(30)), dir.sub(storage::SnapshotName(30)));
  auto st = OpenStorage(dir.path());
  EXPECT_TRUE(st->recovery().log_reset);
  EXPECT_EQ(st->last_index(), 30u);
  EXPECT_TRUE(st->log().empty());
  auto init = st->LoadInitialState();
  ASSERT_TRUE(init.ok());
  EXPECT_TRUE(init->entries.empty());
  EXPECT_EQ(init->snapshot.term, 5u);
}

// A single-node cluster driven through the Ready contract with RaftStorage,
// restarted from disk twice.
TEST(RaftStorage, DrivesACoreAndRestartsIt) {
  TempDir dir;
  StorageOptions options;
  options.log = Small(2048);
  Config config;
  config.id = 1;
  auto drain = [](Core& core, RaftStorage& st, uint64_t* applied) {
    while (core.HasReady()) {
      Ready rd = core.GetReady();
      ASSERT_TRUE(st.SaveReady(rd).ok());
      for (const Entry& e : rd.committed_entries) *applied = e.index;
      core.Advance(rd);
    }
  };
  uint64_t last = 0;
  {
    auto st = OpenStorage(dir.path(), options);
    ASSERT_TRUE(st->Bootstrap(BootstrapState(ConfState{{1}, {}}), "empty").ok());
    EXPECT_EQ(st->Bootstrap(BootstrapState(ConfState{{1}, {}}), "empty").code(), Code::kFailedPrecondition);
    auto core = Core::Create(config, *st->LoadInitialState());
    ASSERT_TRUE(core.ok());
    uint64_t applied = 0;
    ASSERT_TRUE((*core)->Campaign().ok());
    drain(**core, *st, &applied);
    ASSERT_EQ((*core)->role(), Role::kLeader);
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE((*core)->Propose("write " + std::to_string(i)).ok());
      drain(**core, *st, &applied);
    }
    last = (*core)->last_index();
    EXPECT_EQ(applied, last);
    auto meta = (*core)->Compact(60);
    ASSERT_TRUE(meta.ok());
    ASSERT_TRUE(st->SaveSnapshot(Snapshot{*meta, "state@60"}).ok());
  }
  for (int restart = 0; restart < 2; ++restart) {
    auto st = OpenStorage(dir.path(), options);
    auto init = st->LoadInitialState();
    ASSERT_TRUE(init.ok());
    EXPECT_EQ(init->snapshot.index, 60u);
    EXPECT_EQ(init->hard_state.commit, last);
    auto core = Core::Create(config, std::move(*init));
    ASSERT_TRUE(core.ok()) << core.status().ToString();
    EXPECT_EQ((*core)->last_index(), last);
    EXPECT_EQ(*(*core)->TermAt(last), *st->Term(last));
    uint64_t applied = 0;
    ASSERT_TRUE((*core)->Campaign().ok());
    drain(**core, *st, &applied);
    ASSERT_TRUE((*core)->Propose("after restart").ok());
    drain(**core, *st, &applied);
    last = (*core)->last_index();
    EXPECT_EQ(applied, last);
  }
}

TEST(RaftStorage, SecondOpenerIsRefused) {
  TempDir dir;
  auto st = OpenStorage(dir.path());
  auto second = RaftStorage::Open(dir.path());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kFailedPrecondition);
}

// ---------------------------------------------------------------- kill -9

// A forked child appends batches as fast as it can and writes each
// acknowledged (fdatasync'ed) last index to a pipe; the parent SIGKILLs it
// at a random moment, reopens the log and checks every acknowledged index
// is there with its content.
TEST(RaftStorageCrash, KillNineKeepsEveryAcknowledgedEntry) {
  TempDir dir;
  std::mt19937_64 rng(std::random_device{}());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int rounds = 0, torn = 0;
  uint64_t acked_total = 0;
  for (; rounds < 20 && std::chrono::steady_clock::now() < deadline; ++rounds) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      auto log = SegmentedLog::Open(dir.path(), Small(16384));
      if (!log.ok()) ::_exit(3);
      std::mt19937_64 crng(static_cast<uint64_t>(::getpid()));
      uint64_t next = (*log)->empty() ? 1 : (*log)->last_index() + 1;
      while (true) {
        const uint64_t n = 1 + crng() % 8;
        std::vector<Entry> batch = MakeEntries(next, next + n, 1);
        if (!(*log)->Append(batch).ok()) ::_exit(4);
        next += n;
        const uint64_t acked = next - 1;
        if (::write(fds[1], &acked, sizeof acked) != sizeof acked) ::_exit(5);
      }
    }
    ::close(fds[1]);
    // The kill comes at a random moment after the child's first
    // acknowledgement (its recovery takes longer as the log grows).
    uint64_t acked = 0, v = 0;
    if (::read(fds[0], &v, sizeof v) == sizeof v) acked = v;
    ::usleep(static_cast<useconds_t>(rng() % 200'000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    ASSERT_GT(acked, 0u) << "round " << rounds;
    while (::read(fds[0], &v, sizeof v) == sizeof v) acked = v;
    ::close(fds[0]);
    auto log = OpenLog(dir.path(), Small(16384));
    ASSERT_NE(log, nullptr) << "round " << rounds;
    ASSERT_GE(log->last_index(), acked) << "round " << rounds;
    EXPECT_EQ(log->first_index(), 1u);
    ExpectEntries(*log, 1, MakeEntries(1, log->last_index() + 1, 1));
    torn += log->recovery().torn_tail ? 1 : 0;
    acked_total = acked;
  }
  EXPECT_GE(rounds, 5);
  std::printf("kill -9: %d rounds, %d torn tails cut, last acknowledged index %llu\n", rounds, torn,
              static_cast<unsigned long long>(acked_total));
}

}  // namespace
}  // namespace dougong::raft
