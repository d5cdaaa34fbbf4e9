// keeper/storage: crc32c, the transaction log (round trip, group commit,
// torn tails, corruption and --repair, zxid order, purge), snapshots
// (round trip, fallback to an older valid one, concurrent with the log),
// retention, and a kill -9 test against a child process.
// Everything runs in temp dirs under /tmp (real disk, real fdatasync).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "base/crc32c.h"
#include "base/file_util.h"
#include "keeper/storage/log_format.h"
#include "keeper/storage/retention.h"
#include "keeper/storage/snapshot_reader.h"
#include "keeper/storage/snapshot_writer.h"
#include "keeper/storage/txn_log.h"
#include "storage_test_util.h"

extern char** environ;

namespace dougong::keeper::storage {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

using test_util::ReadFile;
using test_util::TempDir;
using test_util::WriteFile;

std::string Payload(int64_t zxid, size_t size) {
  std::string s = "z" + std::to_string(zxid) + ":";
  while (s.size() < size) s += static_cast<char>('A' + (zxid + s.size()) % 50);
  s.resize(size);
  return s;
}

std::unique_ptr<TxnLog> OpenLog(const std::string& dir, TxnLogOptions options = {}) {
  auto log = TxnLog::Open(dir, options);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(*log) : nullptr;
}

// Appends and waits; returns the callback's status.
Status AppendSync(TxnLog& log, int64_t zxid, std::string payload) {
  Status got = Internal("callback not run");
  log.Append(zxid, std::move(payload), [&](Status s) { got = std::move(s); });
  Status synced = log.Sync();
  if (!got.ok()) return got;
  return synced;
}

using Records = std::vector<std::pair<int64_t, std::string>>;

Result<RecoveryReport> ReplayAll(TxnLog& log, Records* out, int64_t after = 0,
                                 RecoveryMode mode = RecoveryMode::kStrict) {
  out->clear();
  return log.Replay(
      after,
      [&](int64_t zxid, std::string_view payload) {
        out->emplace_back(zxid, std::string(payload));
        return Status::Ok();
      },
      mode);
}

std::vector<std::string> SegmentPaths(const std::string& dir) {
  auto segs = ListSegments(dir);
  EXPECT_TRUE(segs.ok());
  std::vector<std::string> out;
  if (segs.ok()) {
    for (auto& s : *segs) out.push_back(s.path);
  }
  return out;
}

// ---------------------------------------------------------------- crc32c

TEST(Crc32c, KnownAnswers) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32cExtendPortable(0, "123456789", 9), 0xE3069283u);
  // RFC 3720 (iSCSI) B.4 vectors.
  std::string zeros(32, '\0'), ones(32, '\xff'), inc(32, '\0'), dec(32, '\0');
  for (int i = 0; i < 32; ++i) {
    inc[i] = static_cast<char>(i);
    dec[i] = static_cast<char>(31 - i);
  }
  EXPECT_EQ(Crc32c(zeros), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(ones), 0x62A8AB43u);
  EXPECT_EQ(Crc32c(inc), 0x46DD794Eu);
  EXPECT_EQ(Crc32c(dec), 0x113FDB5Cu);
  EXPECT_EQ(Crc32c(""), 0u);
  if (Crc32cHardwareAvailable()) {
    EXPECT_EQ(Crc32cExtendHardware(0, "123456789", 9), 0xE3069283u);
  } else {
    GTEST_LOG_(INFO) << "no SSE4.2: only the portable crc32c was tested";
  }
}

TEST(Crc32c, ImplementationsAgreeAtEveryLengthAndAlignment) {
  std::mt19937 rng(7);
  std::string data(1100, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  for (size_t start = 0; start < 9; ++start) {
    for (size_t len = 0; start + len <= data.size(); len += (len < 80 ? 1 : 97)) {
      uint32_t portable = Crc32cExtendPortable(0, data.data() + start, len);
      EXPECT_EQ(Crc32c(data.data() + start, len), portable);
      if (Crc32cHardwareAvailable()) {
        ASSERT_EQ(Crc32cExtendHardware(0, data.data() + start, len), portable) << start << "+" << len;
      }
      // Extend in two pieces.
      size_t cut = len / 3;
      EXPECT_EQ(Crc32cExtend(Crc32c(data.data() + start, cut), data.data() + start + cut, len - cut),
                portable);
    }
  }
}

// ---------------------------------------------------------------- txn log

TEST(TxnLog, RoundTripAcrossRotations) {
  TempDir tmp;
  TxnLogOptions options;
  options.segment_bytes = 4096;
  std::mt19937 rng(1);
  Records written;
  {
    auto log = OpenLog(tmp.path(), options);
    ASSERT_TRUE(log);
    std::atomic<int> acked{0};
    int64_t zxid = 0;
    for (int i = 0; i < 500; ++i) {
      zxid += 1 + rng() % 3;  // increasing, with gaps
      size_t size = i == 250 ? 10000 : rng() % 300;  // one record larger than a segment
      written.emplace_back(zxid, Payload(zxid, size));
      log->Append(zxid, written.back().second, [&](Status s) {
        EXPECT_TRUE(s.ok()) << s.ToString();
        acked++;
      });
    }
    ASSERT_TRUE(log->Sync().ok());
    EXPECT_EQ(acked.load(), 500);
    TxnLogStats st = log->stats();
    EXPECT_EQ(st.appends, 500u);
    EXPECT_GT(st.segments_created, 10u);
    ASSERT_TRUE(log->Close().ok());
  }
  // Every segment is named for its first record and within size, except the
  // one holding the big record alone.
  auto segs = ListSegments(tmp.path());
  ASSERT_TRUE(segs.ok());
  size_t next = 0;
  for (const auto& seg : *segs) {
    std::string data = ReadFile(seg.path);
    ASSERT_GE(data.size(), kSegmentHeaderSize);
    RecordView first;
    ASSERT_EQ(CheckRecord(data, kSegmentHeaderSize, &first), RecordCheck::kOk);
    EXPECT_EQ(first.zxid, seg.first_zxid);
    EXPECT_EQ(seg.path, tmp.path() + "/log." + Hex16(seg.first_zxid));
    if (data.size() > options.segment_bytes) {
      EXPECT_EQ(data.size(), kSegmentHeaderSize + kRecordHeaderSize + 10000);
    }
    while (next < written.size() && written[next].first < seg.first_zxid) ++next;
    EXPECT_EQ(written[next].first, seg.first_zxid);
  }

  auto log = OpenLog(tmp.path(), options);
  ASSERT_TRUE(log);
  Records got;
  auto report = ReplayAll(*log, &got);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(got, written);
  EXPECT_EQ(report->records, 500u);
  EXPECT_EQ(report->replayed, 500u);
  EXPECT_EQ(report->first_zxid, written.front().first);
  EXPECT_EQ(report->last_zxid, written.back().first);
  EXPECT_FALSE(report->torn_tail);
  EXPECT_EQ(report->segments, segs->size());

  // Replay after a zxid in the middle.
  const int64_t after = written[300].first;
  report = ReplayAll(*log, &got, after);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(got, Records(written.begin() + 301, written.end()));

  // And the log continues.
  const int64_t z = written.back().first + 1;
  ASSERT_TRUE(AppendSync(*log, z, "more").ok());
  report = ReplayAll(*log, &got, z - 1);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(got, (Records{{z, "more"}}));
}

TEST(TxnLog, ZxidOrderAndPreconditions) {
  TempDir tmp;
  auto log = OpenLog(tmp.path());
  ASSERT_TRUE(log);
  Status s = AppendSync(*log, 0, "x");
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_EQ(AppendSync(*log, -5, "x").code(), Code::kInvalidArgument);
  ASSERT_TRUE(AppendSync(*log, 5, "five").ok());
  s = AppendSync(*log, 5, "again");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("not greater than the last zxid 0x0000000000000005"), std::string::npos)
      << s.message();
  EXPECT_EQ(AppendSync(*log, 3, "three").code(), Code::kInvalidArgument);
  ASSERT_TRUE(AppendSync(*log, 6, "six").ok());
  // A refused append is reported at once, on the caller's thread.
  bool called = false;
  log->Append(6, "dup", [&](Status st) {
    called = true;
    EXPECT_EQ(st.code(), Code::kInvalidArgument);
  });
  EXPECT_TRUE(called);

  // Second opener of the same directory is refused.
  auto second = TxnLog::Open(tmp.path());
  EXPECT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kFailedPrecondition);
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(AppendSync(*log, 7, "closed").code(), Code::kFailedPrecondition);
  log.reset();

  // A log with segments must be replayed before it appends.
  log = OpenLog(tmp.path());
  ASSERT_TRUE(log);
  EXPECT_EQ(AppendSync(*log, 7, "x").code(), Code::kFailedPrecondition);
  Records got;
  auto report = ReplayAll(*log, &got);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(got, (Records{{5, "five"}, {6, "six"}}));
  EXPECT_EQ(AppendSync(*log, 6, "x").code(), Code::kInvalidArgument);
  EXPECT_TRUE(AppendSync(*log, 7, "seven").ok());
}

// Group commit: 1000 appends from a producer thread share far fewer fsyncs.
TEST(TxnLog, GroupCommitBatches) {
  std::vector<double> appends_per_s, fsyncs_per_s, batches;
  for (int round = 0; round < 3; ++round) {
    TempDir tmp;
    auto log = OpenLog(tmp.path());
    ASSERT_TRUE(log);
    std::vector<int64_t> order;
    order.reserve(1000);
    std::mutex order_mu;
    auto start = Clock::now();
    std::thread producer([&] {
      for (int64_t z = 1; z <= 1000; ++z) {
        log->Append(z, Payload(z, 100), [&, z](Status s) {
          EXPECT_TRUE(s.ok());
          std::lock_guard lk(order_mu);
          order.push_back(z);
        });
      }
      EXPECT_TRUE(log->Sync().ok());
    });
    producer.join();
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    TxnLogStats st = log->stats();
    ASSERT_EQ(order.size(), 1000u);
    EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));  // callbacks in append order
    EXPECT_EQ(st.appends, 1000u);
    EXPECT_LT(st.fdatasyncs, 200u) << "group commit did not batch";
    EXPECT_EQ(st.fdatasyncs, st.batches);  // no rotation here
    EXPECT_GT(st.max_batch_records, 5u);
    appends_per_s.push_back(1000 / secs);
    fsyncs_per_s.push_back(st.fdatasyncs / secs);
    batches.push_back(static_cast<double>(st.batches));
    std::printf("[ figures  ] round %d: 1000 appends in %.1f ms, %llu batches/fdatasyncs, max batch %llu, "
                "%.0f appends/s, %.0f fsyncs/s\n",
                round, secs * 1000, static_cast<unsigned long long>(st.batches),
                static_cast<unsigned long long>(st.max_batch_records), 1000 / secs,
                st.fdatasyncs / secs);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf("[ figures  ] median of 3: %.0f appends/s, %.0f fsyncs/s, %.0f batches per 1000 appends\n",
              median(appends_per_s), median(fsyncs_per_s), median(batches));

  // For comparison: one record per fsync (append, wait, append, ...).
  TempDir tmp;
  auto log = OpenLog(tmp.path());
  ASSERT_TRUE(log);
  auto start = Clock::now();
  for (int64_t z = 1; z <= 50; ++z) ASSERT_TRUE(AppendSync(*log, z, Payload(z, 100)).ok());
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("[ figures  ] unbatched: 50 append+Sync in %.1f ms = %.0f appends/s (fdatasync latency %.2f ms)\n",
              secs * 1000, 50 / secs, secs * 1000 / 50);
}

// Writes records 1..n with the given payload sizes; returns each record's
// offset in its segment file.
std::vector<uint64_t> WriteLog(const std::string& dir, const std::vector<size_t>& sizes,
                               TxnLogOptions options = {}) {
  auto log = OpenLog(dir, options);
  std::vector<uint64_t> offsets;
  uint64_t off = kSegmentHeaderSize;
  for (size_t i = 0; i < sizes.size(); ++i) {
    int64_t z = static_cast<int64_t>(i) + 1;
    log->Append(z, Payload(z, sizes[i]), [](Status s) { EXPECT_TRUE(s.ok()); });
    uint64_t rec = kRecordHeaderSize + sizes[i];
    if (off > kSegmentHeaderSize && off + rec > options.segment_bytes) off = kSegmentHeaderSize;
    offsets.push_back(off);
    off += rec;
  }
  EXPECT_TRUE(log->Close().ok());
  return offsets;
}

// Cut the last record at every byte (with and without a zero-filled tail as
// the zero fill leaves it, and with a flipped byte in an otherwise complete
// final record): recovery truncates cleanly and appends continue.
TEST(TxnLog, TornTailAtEveryOffsetTruncatesCleanly) {
  TempDir base;
  const std::vector<size_t> sizes = {40, 70, 0, 55, 90};
  auto offsets = WriteLog(base.path(), sizes);
  const std::string seg = base.path() + "/log." + Hex16(1);
  const std::string original = ReadFile(seg);
  const uint64_t last = offsets.back();
  ASSERT_EQ(original.size(), last + kRecordHeaderSize + sizes.back());

  int cases = 0;
  for (int variant = 0; variant < 3; ++variant) {
    for (uint64_t cut = last; cut < original.size(); ++cut) {
      std::string damaged;
      if (variant == 2) {
        if (cut == last) continue;
        damaged = original;  // whole record, one byte flipped
        damaged[cut] ^= 0x20;
      } else {
        damaged = original.substr(0, cut);
        if (variant == 1) damaged.append(4096, '\0');  // zero fill ahead of the writes
      }
      TempDir tmp;
      const std::string path = tmp.path() + "/log." + Hex16(1);
      WriteFile(path, damaged);
      auto log = OpenLog(tmp.path());
      ASSERT_TRUE(log);
      Records got;
      auto report = ReplayAll(*log, &got);
      ASSERT_TRUE(report.ok()) << "variant " << variant << " cut " << cut << ": "
                               << report.status().ToString();
      ASSERT_EQ(got.size(), 4u);
      EXPECT_EQ(report->last_zxid, 4);
      const bool clean = variant != 2 && cut == last;
      EXPECT_EQ(report->torn_tail, !clean) << variant << " " << cut;
      if (!clean) {
        EXPECT_EQ(report->truncated_path, path);
        EXPECT_EQ(report->truncated_offset, last);
        EXPECT_EQ(report->dropped_bytes, damaged.size() - last);
        EXPECT_EQ(fs::file_size(path), last);
      }
      ASSERT_TRUE(AppendSync(*log, 5, "new five").ok());
      ASSERT_TRUE(AppendSync(*log, 6, "six").ok());
      log.reset();
      log = OpenLog(tmp.path());
      report = ReplayAll(*log, &got);
      ASSERT_TRUE(report.ok()) << report.status().ToString();
      EXPECT_FALSE(report->torn_tail);
      ASSERT_EQ(got.size(), 6u);
      EXPECT_EQ(got[4], (std::pair<int64_t, std::string>{5, "new five"}));
      EXPECT_EQ(got[5].first, 6);
      ++cases;
    }
  }
  EXPECT_GT(cases, 250);
}

// A torn last segment holding only a torn record (or only a partial header)
// is removed, and the next append starts a new segment.
TEST(TxnLog, TornLastSegmentIsRemoved) {
  TempDir tmp;
  TxnLogOptions options;
  options.segment_bytes = 200;
  WriteLog(tmp.path(), {100, 100, 100}, options);  // one record per segment
  auto paths = SegmentPaths(tmp.path());
  ASSERT_EQ(paths.size(), 3u);
  fs::resize_file(paths[2], kSegmentHeaderSize + 20);
  auto log = OpenLog(tmp.path(), options);
  Records got;
  auto report = ReplayAll(*log, &got);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->torn_tail);
  EXPECT_EQ(report->removed_files, std::vector<std::string>{paths[2]});
  EXPECT_EQ(report->last_zxid, 2);
  ASSERT_TRUE(AppendSync(*log, 10, Payload(10, 100)).ok());  // does not fit log.2: new segment
  log.reset();
  EXPECT_TRUE(fs::exists(tmp.path() + "/log." + Hex16(10)));

  fs::resize_file(tmp.path() + "/log." + Hex16(10), 7);  // header cut
  log = OpenLog(tmp.path(), options);
  report = ReplayAll(*log, &got);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->torn_tail);
  EXPECT_EQ(report->last_zxid, 2);
  EXPECT_EQ(got.size(), 2u);
}

TEST(TxnLog, CorruptionRefusesWithFileAndOffsetAndRepairTruncates) {
  TempDir base;
  TxnLogOptions options;
  options.segment_bytes = 1000;
  std::vector<size_t> sizes(30, 80);  // 96-byte records, 10 per segment
  auto offsets = WriteLog(base.path(), sizes, options);
  auto base_segs = SegmentPaths(base.path());
  ASSERT_EQ(base_segs.size(), 3u);

  auto copy = [&](const TempDir& to) {
    for (const auto& p : base_segs) fs::copy_file(p, to.path() + "/" + fs::path(p).filename().string());
  };

  {  // A flipped payload byte of record 4 (first segment).
    TempDir tmp;
    copy(tmp);
    const std::string seg = tmp.path() + "/log." + Hex16(1);
    std::string data = ReadFile(seg);
    const uint64_t bad = offsets[3];
    data[bad + kRecordHeaderSize + 7] ^= 1;
    WriteFile(seg, data);
    auto log = OpenLog(tmp.path(), options);
    Records got;
    auto report = ReplayAll(*log, &got);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), Code::kDataLoss);
    const std::string expect = "corrupt record in " + seg + " at offset " + std::to_string(bad) +
                               " (checksum mismatch)";
    EXPECT_NE(report.status().message().find(expect), std::string::npos) << report.status().message();
    EXPECT_NE(report.status().message().find("start with --repair to truncate the log there"),
              std::string::npos);
    EXPECT_TRUE(got.empty());  // nothing applied before refusing
    EXPECT_EQ(AppendSync(*log, 100, "x").code(), Code::kFailedPrecondition);
    EXPECT_EQ(SegmentPaths(tmp.path()).size(), 3u);  // untouched

    report = ReplayAll(*log, &got, 0, RecoveryMode::kRepair);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_TRUE(report->repaired);
    EXPECT_EQ(report->truncated_path, seg);
    EXPECT_EQ(report->truncated_offset, bad);
    EXPECT_EQ(report->removed_files.size(), 2u);
    EXPECT_EQ(report->last_zxid, 3);
    EXPECT_EQ(report->problem, "checksum mismatch");
    EXPECT_EQ(report->dropped_bytes, 2 * (16 + 10 * 96) + (16 + 10 * 96 - bad));
    EXPECT_EQ(got.size(), 3u);
    ASSERT_TRUE(AppendSync(*log, 4, "four again").ok());
    log.reset();
    log = OpenLog(tmp.path(), options);
    report = ReplayAll(*log, &got);
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(got.size(), 4u);
    EXPECT_EQ(got.back().second, "four again");
  }
  {  // Damage in the last segment followed by valid records: not a torn tail.
    TempDir tmp;
    copy(tmp);
    const std::string seg = tmp.path() + "/log." + Hex16(21);
    std::string data = ReadFile(seg);
    const uint64_t bad = offsets[24];
    data[bad + 5] ^= 0x40;  // the length field
    WriteFile(seg, data);
    auto log = OpenLog(tmp.path(), options);
    Records got;
    auto report = ReplayAll(*log, &got);
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.status().message().find(seg + " at offset " + std::to_string(bad)),
              std::string::npos)
        << report.status().message();
    report = ReplayAll(*log, &got, 0, RecoveryMode::kRepair);
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(report->last_zxid, 24);
    EXPECT_TRUE(report->removed_files.empty());
  }
  {  // A bad header of a middle segment.
    TempDir tmp;
    copy(tmp);
    const std::string seg = tmp.path() + "/log." + Hex16(11);
    std::string data = ReadFile(seg);
    data[1] = 'X';
    WriteFile(seg, data);
    auto log = OpenLog(tmp.path(), options);
    Records got;
    auto report = ReplayAll(*log, &got);
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.status().message().find(seg + " at offset 0 (bad magic or version)"),
              std::string::npos)
        << report.status().message();
    report = ReplayAll(*log, &got, 0, RecoveryMode::kRepair);
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(report->last_zxid, 10);
    EXPECT_EQ(report->removed_files.size(), 2u);
    EXPECT_EQ(SegmentPaths(tmp.path()).size(), 1u);
  }
  {  // A well-formed record out of zxid order is refused too.
    TempDir tmp;
    std::string data(kSegmentHeaderSize, '\0');
    EncodeSegmentHeader(1, data.data());
    AppendRecord(1, "a", &data);
    AppendRecord(3, "c", &data);
    AppendRecord(2, "b", &data);
    WriteFile(tmp.path() + "/log." + Hex16(1), data);
    auto log = OpenLog(tmp.path());
    Records got;
    auto report = ReplayAll(*log, &got);
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.status().message().find("not greater than the previous"), std::string::npos)
        << report.status().message();
  }
}

TEST(TxnLog, WithoutSyncThreadTheProducerCommits) {
  TempDir tmp;
  TxnLogOptions options;
  options.sync_thread = false;
  options.segment_bytes = 12 << 10;
  options.max_unsynced_bytes = 8 << 10;  // some Appends must commit first
  options.prefill_bytes = 16 << 10;
  auto log = OpenLog(tmp.path(), options);
  std::vector<int64_t> durable;
  const auto on_durable = [&](int64_t z) { return [&durable, z](Status s) { if (s.ok()) durable.push_back(z); }; };
  for (int64_t z = 1; z <= 50; ++z) log->Append(z, Payload(z, 500), on_durable(z));
  // Appends past max_unsynced_bytes committed what was before them, inline.
  EXPECT_GT(durable.size(), 0u);
  EXPECT_LT(durable.size(), 50u);
  log->SyncPending();
  ASSERT_EQ(durable.size(), 50u);
  for (int64_t z = 1; z <= 50; ++z) EXPECT_EQ(durable[z - 1], z);  // in append order
  const uint64_t batches = log->stats().batches;
  log->SyncPending();  // nothing pending: no batch
  EXPECT_EQ(log->stats().batches, batches);
  ASSERT_TRUE(AppendSync(*log, 51, "via Sync").ok());
  log->Append(52, "left for Close", on_durable(52));
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(durable.back(), 52);
  log.reset();  // releases log.lock
  log = OpenLog(tmp.path(), options);
  Records got;
  auto report = ReplayAll(*log, &got);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(got.size(), 52u);
  EXPECT_EQ(got[10].second, Payload(11, 500));
  EXPECT_EQ(got.back().second, "left for Close");
  EXPECT_GE(SegmentPaths(tmp.path()).size(), 2u);
}

TEST(TxnLog, PrefilledSegmentsEndInZerosAndReplayCleanly) {
  TempDir tmp;
  TxnLogOptions options;
  options.segment_bytes = 64 << 10;
  options.prefill_bytes = 16 << 10;
  auto log = OpenLog(tmp.path(), options);
  for (int64_t z = 1; z <= 300; ++z) log->Append(z, Payload(z, 300), [](Status s) { EXPECT_TRUE(s.ok()); });
  ASSERT_TRUE(log->Sync().ok());
  log->WaitForPrefill();
  EXPECT_GT(log->stats().prefill_bytes, 0u);
  // While the log is open the last segment carries a zero tail.
  auto paths = SegmentPaths(tmp.path());
  ASSERT_GE(paths.size(), 2u);
  std::string last = ReadFile(paths.back());
  auto segs = ListSegments(tmp.path());
  ASSERT_TRUE(segs.ok());
  auto scan = ScanSegment(last, segs->back().first_zxid, 0);
  EXPECT_FALSE(scan.damaged);
  EXPECT_LT(scan.valid_end, last.size());  // zero fill after the records
  // Rotated segments were trimmed.
  for (size_t i = 0; i + 1 < paths.size(); ++i) EXPECT_LE(fs::file_size(paths[i]), options.segment_bytes);
  // Copy the files as a crash would leave them and recover the copy.
  TempDir crashed;
  for (const auto& p : paths) fs::copy_file(p, crashed.path() + "/" + fs::path(p).filename().string());
  auto log2 = OpenLog(crashed.path(), options);
  Records got;
  auto report = ReplayAll(*log2, &got);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_FALSE(report->torn_tail);
  EXPECT_EQ(got.size(), 300u);
  ASSERT_TRUE(AppendSync(*log2, 301, "after").ok());
  log2.reset();
  log2 = OpenLog(crashed.path(), options);
  report = ReplayAll(*log2, &got);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(got.size(), 301u);
}

TEST(TxnLog, PurgeBeforeKeepsTheSegmentWithTheNextZxid) {
  TempDir tmp;
  TxnLogOptions options;
  options.segment_bytes = 1000;
  WriteLog(tmp.path(), std::vector<size_t>(40, 80), options);  // segments 1, 11, 21, 31
  auto names = [&] {
    std::vector<int64_t> z;
    auto segs = ListSegments(tmp.path());
    EXPECT_TRUE(segs.ok());
    if (segs.ok()) {
      for (auto& s : *segs) z.push_back(s.first_zxid);
    }
    return z;
  };
  ASSERT_EQ(names(), (std::vector<int64_t>{1, 11, 21, 31}));
  auto log = OpenLog(tmp.path(), options);
  ASSERT_TRUE(log->PurgeBefore(9).ok());
  EXPECT_EQ(names(), (std::vector<int64_t>{1, 11, 21, 31}));  // 10 is still in log.1
  ASSERT_TRUE(log->PurgeBefore(10).ok());
  EXPECT_EQ(names(), (std::vector<int64_t>{11, 21, 31}));
  ASSERT_TRUE(log->PurgeBefore(25).ok());
  EXPECT_EQ(names(), (std::vector<int64_t>{21, 31}));
  ASSERT_TRUE(log->PurgeBefore(1000).ok());
  EXPECT_EQ(names(), (std::vector<int64_t>{31}));  // never the last one
  Records got;
  auto report = ReplayAll(*log, &got, 30);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->first_zxid, 31);
  EXPECT_EQ(got.size(), 10u);
}

// ---------------------------------------------------------------- snapshots

std::vector<std::string> Chunks(int seed) {
  std::vector<std::string> out = {"", "tiny", std::string(3 << 20, 'x'), ""};
  std::mt19937 rng(seed);
  for (int i = 0; i < 500; ++i) out.push_back(Payload(seed * 1000 + i, rng() % 2000));
  return out;
}

SnapshotInfo WriteSnapshot(const std::string& dir, int64_t zxid, const std::vector<std::string>& chunks) {
  auto w = SnapshotWriter::Create(dir);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  for (const auto& c : chunks) EXPECT_TRUE((*w)->Append(c).ok());
  auto info = (*w)->Finish(zxid);
  EXPECT_TRUE(info.ok()) << info.status().ToString();
  return info.ok() ? *info : SnapshotInfo{};
}

std::vector<std::string> ReadAll(SnapshotReader& r) {
  std::vector<std::string> out;
  std::string chunk;
  while (true) {
    auto more = r.Next(&chunk);
    EXPECT_TRUE(more.ok()) << more.status().ToString();
    if (!more.ok() || !*more) break;
    out.push_back(chunk);
  }
  return out;
}

TEST(Snapshot, RoundTrip) {
  TempDir tmp;
  auto none = SnapshotReader::OpenNewest(tmp.path());
  EXPECT_EQ(none.status().code(), Code::kNotFound);
  const auto chunks = Chunks(1);
  SnapshotInfo info = WriteSnapshot(tmp.path(), 0x100000042, chunks);
  EXPECT_EQ(info.path, tmp.path() + "/snapshot.0000000100000042");
  auto list = ListSnapshots(tmp.path());
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].zxid, 0x100000042);
  EXPECT_EQ((*list)[0].size, fs::file_size(info.path));
  for (auto& e : fs::directory_iterator(tmp.path()))
    EXPECT_NE(e.path().extension(), ".tmp") << "leftover " << e.path();
  auto reader = SnapshotReader::OpenNewest(tmp.path());
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->zxid(), 0x100000042);
  EXPECT_TRUE((*reader)->info().warnings.empty());
  EXPECT_EQ(ReadAll(**reader), chunks);
  std::string chunk;
  EXPECT_FALSE(*(*reader)->Next(&chunk));

  // An abandoned writer leaves nothing behind.
  {
    auto w = SnapshotWriter::Create(tmp.path());
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append("half").ok());
    EXPECT_TRUE(fs::exists((*w)->tmp_path()));
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()), 1);
}

TEST(Snapshot, DamagedNewestFallsBackToPreviousValid) {
  TempDir tmp;
  WriteSnapshot(tmp.path(), 100, Chunks(1));
  WriteSnapshot(tmp.path(), 200, Chunks(2));
  SnapshotInfo s300 = WriteSnapshot(tmp.path(), 300, Chunks(3));
  SnapshotInfo s400 = WriteSnapshot(tmp.path(), 400, Chunks(4));
  // 400: a flipped body byte; 300: cut short.
  std::string data = ReadFile(s400.path);
  data[data.size() / 2] ^= 1;
  WriteFile(s400.path, data);
  fs::resize_file(s300.path, fs::file_size(s300.path) - 5);
  // A crashed writer's leftover, and one a live writer is busy with.
  WriteFile(tmp.path() + "/snapshot.4242-1.tmp", "partial");
  auto live = SnapshotWriter::Create(tmp.path());
  ASSERT_TRUE(live.ok());
  ASSERT_TRUE((*live)->Append("in progress").ok());

  auto reader = SnapshotReader::OpenNewest(tmp.path());
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->zxid(), 200);
  const auto& warnings = (*reader)->info().warnings;
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find(s400.path), std::string::npos);
  EXPECT_NE(warnings[0].find("body checksum mismatch"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find(s300.path), std::string::npos);
  EXPECT_EQ((*reader)->info().removed_tmp, std::vector<std::string>{tmp.path() + "/snapshot.4242-1.tmp"});
  EXPECT_TRUE(fs::exists((*live)->tmp_path()));
  EXPECT_EQ(ReadAll(**reader), Chunks(2));
  ASSERT_TRUE((*live)->Finish(500).ok());

  // Nothing valid at all: data loss, not "no snapshot".
  TempDir bad;
  SnapshotInfo only = WriteSnapshot(bad.path(), 7, {"a", "b"});
  fs::resize_file(only.path, 30);
  auto none = SnapshotReader::OpenNewest(bad.path());
  EXPECT_EQ(none.status().code(), Code::kDataLoss);
}

// A snapshot written on a background thread while the log appends to the
// same directory.
TEST(Snapshot, WrittenInBackgroundWhileLogAppends) {
  TempDir tmp;
  auto log = OpenLog(tmp.path());
  std::atomic<bool> done{false};
  std::thread snapper([&] {
    WriteSnapshot(tmp.path(), 1, Chunks(5));
    done = true;
  });
  int64_t z = 0;
  while (!done || z < 200) {
    ++z;
    log->Append(z, Payload(z, 50), [](Status s) { EXPECT_TRUE(s.ok()); });
    if (z % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  snapper.join();
  ASSERT_TRUE(log->Sync().ok());
  Records got;
  auto report = ReplayAll(*log, &got);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->last_zxid, z);
  auto reader = SnapshotReader::OpenNewest(tmp.path());
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(ReadAll(**reader), Chunks(5));
}

TEST(FileUtil, RemoveFilePacedUnlinksFirstThenFreesStepByStep) {
  TempDir tmp;
  const std::string path = tmp.path() + "/big";
  {
    std::ofstream f(path, std::ios::binary);
    std::string mib(1 << 20, 'z');
    for (int i = 0; i < 20; ++i) f << mib;
  }
  // 20 MiB at 160 MiB/s: two 8 MiB steps of 50 ms each after the unlink.
  std::atomic<bool> done{false};
  auto start = Clock::now();
  std::thread remover([&] {
    EXPECT_TRUE(RemoveFilePaced(path, 160 << 20).ok());
    done = true;
  });
  // The name goes first, before the pacing ends.
  while (fs::exists(path) && !done) std::this_thread::yield();
  EXPECT_FALSE(fs::exists(path));
  remover.join();
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(90));
  // Missing files and pacing 0 (at once) are fine.
  EXPECT_TRUE(RemoveFilePaced(path, 160 << 20).ok());
  std::ofstream(path) << "x";
  EXPECT_TRUE(RemoveFilePaced(path, 0).ok());
  EXPECT_FALSE(fs::exists(path));
}

TEST(Retention, KeepsNewestSnapshotsAndTheLogToReplayFromTheOldest) {
  TempDir tmp;
  TxnLogOptions options;
  options.segment_bytes = 1000;
  WriteLog(tmp.path(), std::vector<size_t>(40, 80), options);  // segments 1, 11, 21, 31
  for (int64_t z : {5, 15, 25, 35}) WriteSnapshot(tmp.path(), z, {"state at " + std::to_string(z)});

  EXPECT_EQ(PurgeSnapshots(tmp.path(), 0).status().code(), Code::kInvalidArgument);
  auto report = ApplyRetention(tmp.path(), tmp.path(), 2);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->snapshots.kept.size(), 2u);
  EXPECT_EQ(report->snapshots.kept[0].zxid, 25);
  EXPECT_EQ(report->snapshots.kept[1].zxid, 35);
  EXPECT_EQ(report->snapshots.removed.size(), 2u);
  EXPECT_EQ(report->log_purged_before, 25);
  // log.21 holds 26..30, needed after snapshot 25.
  EXPECT_EQ(report->removed_segments,
            (std::vector<std::string>{tmp.path() + "/log." + Hex16(1), tmp.path() + "/log." + Hex16(11)}));

  // The newest snapshot damaged: it does not count, the older one stays.
  WriteSnapshot(tmp.path(), 38, {"state at 38"});
  std::string data = ReadFile(tmp.path() + "/snapshot." + Hex16(38));
  data[kSnapshotHeaderSize + 6] ^= 1;
  WriteFile(tmp.path() + "/snapshot." + Hex16(38), data);
  report = ApplyRetention(tmp.path(), tmp.path(), 1);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->snapshots.kept.size(), 1u);
  EXPECT_EQ(report->snapshots.kept[0].zxid, 35);
  EXPECT_EQ(report->log_purged_before, 35);
  EXPECT_TRUE(fs::exists(tmp.path() + "/snapshot." + Hex16(38)));  // left for the reader to skip
  EXPECT_FALSE(fs::exists(tmp.path() + "/snapshot." + Hex16(25)));
  EXPECT_EQ(SegmentPaths(tmp.path()), std::vector<std::string>{tmp.path() + "/log." + Hex16(31)});

  // Recovery from what is left: snapshot 35, then the log after it.
  auto reader = SnapshotReader::OpenNewest(tmp.path());
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->zxid(), 35);
  auto log = OpenLog(tmp.path(), options);
  Records got;
  auto rr = ReplayAll(*log, &got, (*reader)->zxid());
  ASSERT_TRUE(rr.ok());
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got.front().first, 36);
}

// ---------------------------------------------------------------- kill -9

// Same as in txn_log_crash_child.cpp.
std::string CrashPayload(int64_t zxid) {
  size_t size = static_cast<size_t>((static_cast<uint64_t>(zxid) * 2654435761u) % 700);
  std::string s = std::to_string(zxid) + ":";
  while (s.size() < size) s += static_cast<char>('a' + zxid % 26);
  return s;
}

TEST(TxnLog, KillNineLosesNoAcknowledgedRecord) {
  const auto test_start = Clock::now();
  std::mt19937 rng(std::random_device{}());
  int torn = 0;
  uint64_t total_acked = 0;
  for (int iter = 0; iter < 20; ++iter) {
    TempDir tmp;
    const uint64_t segment_bytes = iter % 3 == 0 ? (64 << 10) : (64ull << 20);
    const uint64_t prefill = iter % 2 == 0 ? (32 << 10) : 0;
    const int kill_after = 50 + static_cast<int>(rng() % 1951);
    int pipefd[2];
    ASSERT_EQ(::pipe2(pipefd, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1);
    std::string seg = std::to_string(segment_bytes), pre = std::to_string(prefill);
    std::string child_path = DOUGONG_TXN_LOG_CRASH_CHILD;
    std::vector<char*> argv = {child_path.data(), const_cast<char*>(tmp.path().c_str()), seg.data(),
                               pre.data(), nullptr};
    pid_t pid;
    ASSERT_EQ(::posix_spawn(&pid, child_path.c_str(), &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipefd[1]);

    std::vector<int64_t> acks;
    auto read_acks = [&](size_t until) {
      char buf[8 * 512];
      size_t have = 0;
      while (acks.size() < until) {
        ssize_t n = ::read(pipefd[0], buf + have, sizeof buf - have);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        have += static_cast<size_t>(n);
        size_t whole = have / 8 * 8;
        for (size_t i = 0; i < whole; i += 8) {
          int64_t z;
          std::memcpy(&z, buf + i, 8);
          acks.push_back(z);
        }
        std::memmove(buf, buf + whole, have - whole);
        have -= whole;
      }
    };
    read_acks(static_cast<size_t>(kill_after));
    if (rng() % 2) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
    read_acks(SIZE_MAX);  // acks written before the kill are acks too
    ::close(pipefd[0]);
    ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
        << "child exited by itself, status " << wstatus;
    ASSERT_GE(acks.size(), static_cast<size_t>(kill_after));
    for (size_t i = 0; i < acks.size(); ++i) ASSERT_EQ(acks[i], static_cast<int64_t>(i) + 1);

    auto log = OpenLog(tmp.path());
    ASSERT_TRUE(log);
    int64_t expect = 0;
    bool payload_ok = true;
    auto report = log->Replay(0, [&](int64_t zxid, std::string_view payload) {
      ++expect;
      if (zxid != expect) return Internal("gap: zxid " + std::to_string(zxid) + " after " + std::to_string(expect - 1));
      if (payload != CrashPayload(zxid)) payload_ok = false;
      return Status::Ok();
    });
    ASSERT_TRUE(report.ok()) << "iteration " << iter << ": " << report.status().ToString();
    EXPECT_TRUE(payload_ok);
    EXPECT_GE(report->last_zxid, acks.back()) << "acknowledged records lost in iteration " << iter;
    EXPECT_EQ(static_cast<int64_t>(report->records), report->last_zxid);
    if (report->torn_tail) ++torn;
    total_acked += acks.size();
    // The recovered log takes further appends.
    ASSERT_TRUE(AppendSync(*log, report->last_zxid + 1, "after crash").ok());
  }
  double secs = std::chrono::duration<double>(Clock::now() - test_start).count();
  std::printf("[ figures  ] kill -9: 20 kills, %llu acks checked, %d torn tails cut, %.1f s\n",
              static_cast<unsigned long long>(total_acked), torn, secs);
  EXPECT_LT(secs, 60);
}

}  // namespace
}  // namespace dougong::keeper::storage
