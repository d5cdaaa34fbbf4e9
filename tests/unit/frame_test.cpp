// The native frame codec, compression and the latency histogram.
#include <gtest/gtest.h>

#include <random>

#include "base/latency_recorder.h"
#include "dougong/rpc/meta.pb.h"
#include "rpc/compression.h"
#include "rpc/frame.h"

namespace dougong::rpc {
namespace {

std::string Wire(const OutgoingFrame& f) { return f.head + f.attachment.ToString(); }

OutgoingFrame Request(uint64_t id, std::string_view attachment) {
  wire::RpcMeta meta;
  meta.set_correlation_id(id);
  meta.set_service("s.S");
  meta.set_method("M");
  OutgoingFrame out;
  wire::RpcMeta body;  // any message will do as a body
  body.set_status_message("body-" + std::to_string(id));
  EXPECT_TRUE(BuildFrame(FrameType::kRequest, meta, &body, Bytes::Copy(attachment), 1 << 20, &out).ok());
  return out;
}

TEST(FrameHeader, RoundTripAndValidation) {
  FrameHeader h;
  h.type = FrameType::kCancel;
  h.flags = 0x0102;
  h.meta_size = 3;
  h.body_size = 70000;
  h.attachment_size = 5;
  char buf[kFrameHeaderSize];
  EncodeFrameHeader(h, buf);
  EXPECT_EQ(std::string(buf, 3), std::string("DG\x01", 3));
  FrameHeader back;
  ASSERT_TRUE(DecodeFrameHeader(buf, 1 << 20, &back).ok());
  EXPECT_EQ(back.type, FrameType::kCancel);
  EXPECT_EQ(back.flags, 0x0102);
  EXPECT_EQ(back.body_size, 70000u);
  EXPECT_EQ(back.total_size(), kFrameHeaderSize + 3 + 70000 + 5);

  EXPECT_EQ(DecodeFrameHeader(buf, 1000, &back).code(), Code::kResourceExhausted);
  char bad[kFrameHeaderSize];
  std::memcpy(bad, buf, sizeof bad);
  bad[2] = 2;
  EXPECT_NE(DecodeFrameHeader(bad, 1 << 20, &back).message().find("version"), std::string::npos);
  std::memcpy(bad, buf, sizeof bad);
  bad[3] = 9;
  EXPECT_EQ(DecodeFrameHeader(bad, 1 << 20, &back).code(), Code::kInvalidArgument);
  std::memcpy(bad, buf, sizeof bad);
  bad[7] = 1;
  EXPECT_EQ(DecodeFrameHeader(bad, 1 << 20, &back).code(), Code::kInvalidArgument);
}

TEST(FrameHeader, SniffingByMagic) {
  EXPECT_TRUE(LooksLikeNativeFrame(""));
  EXPECT_TRUE(LooksLikeNativeFrame("D"));
  EXPECT_TRUE(LooksLikeNativeFrame("DG\x01"));
  EXPECT_FALSE(LooksLikeNativeFrame("DELETE / HTTP/1.1"));
  EXPECT_FALSE(LooksLikeNativeFrame("GET /"));
}

TEST(FrameReader, EverySplitOfAStreamOfFramesDecodesTheSame) {
  std::string stream;
  for (int i = 1; i <= 3; ++i) stream += Wire(Request(i, std::string(i * 1000, 'a' + i)));
  for (size_t cut = 0; cut <= stream.size(); cut += 7) {
    FrameReader reader(1 << 20, 4096);
    reader.Append(stream.substr(0, cut));
    std::vector<Frame> frames;
    Frame f;
    Status err;
    auto drain = [&] {
      while (reader.Next(&f, &err) == FrameReader::Result::kFrame) frames.push_back(f);
    };
    drain();
    reader.Append(stream.substr(cut));
    drain();
    ASSERT_EQ(frames.size(), 3u) << "cut " << cut;
    for (int i = 0; i < 3; ++i) {
      wire::RpcMeta meta;
      ASSERT_TRUE(meta.ParseFromArray(frames[i].meta.data(), static_cast<int>(frames[i].meta.size())));
      EXPECT_EQ(meta.correlation_id(), static_cast<uint64_t>(i + 1));
      EXPECT_EQ(frames[i].attachment.view(), std::string((i + 1) * 1000, 'a' + i + 1));
      wire::RpcMeta body;
      ASSERT_TRUE(ParseBody(frames[i], 0, 1 << 20, &body).ok());
      EXPECT_EQ(body.status_message(), "body-" + std::to_string(i + 1));
    }
  }
}

TEST(FrameReader, FramesHandedOutStayValidWhileReadingContinues) {
  FrameReader reader(1 << 20, 4096);
  std::vector<Frame> kept;
  Frame f;
  Status err;
  for (int i = 1; i <= 50; ++i) {
    reader.Append(Wire(Request(i, std::string(300, static_cast<char>('A' + i % 26)))));
    while (reader.Next(&f, &err) == FrameReader::Result::kFrame) kept.push_back(f);
  }
  ASSERT_EQ(kept.size(), 50u);
  for (int i = 1; i <= 50; ++i)
    EXPECT_EQ(kept[i - 1].attachment.view(), std::string(300, static_cast<char>('A' + i % 26)));
}

TEST(FrameReader, OversizedFrameFailsAndStaysFailed) {
  FrameReader reader(100);
  reader.Append(Wire(Request(1, std::string(200, 'x'))));
  Frame f;
  Status err;
  EXPECT_EQ(reader.Next(&f, &err), FrameReader::Result::kError);
  EXPECT_EQ(err.code(), Code::kResourceExhausted);
  EXPECT_EQ(reader.Next(&f, &err), FrameReader::Result::kError);
}

TEST(FrameBuilder, RefusesFramesOverTheLimit) {
  wire::RpcMeta meta;
  OutgoingFrame out;
  EXPECT_EQ(BuildFrame(FrameType::kRequest, meta, nullptr, Bytes::Copy(std::string(100, 'x')), 50, &out).code(),
            Code::kResourceExhausted);
}

TEST(Compression, RoundTripsAndRefusesBombsAndCorruption) {
  std::mt19937 rng(1);
  std::string text;
  for (int i = 0; i < 100000; ++i) text += static_cast<char>('a' + rng() % 4);
  for (auto c : {Compression::kNone, Compression::kLz4, Compression::kZstd}) {
    std::string packed, back;
    ASSERT_TRUE(Compress(c, text, &packed).ok());
    ASSERT_TRUE(Decompress(c, packed, text.size(), &back).ok());
    EXPECT_EQ(back, text);
    if (c == Compression::kNone) continue;
    EXPECT_LT(packed.size(), text.size());
    // Expanding beyond the limit is refused before allocating.
    EXPECT_EQ(Decompress(c, packed, text.size() - 1, &back).code(), Code::kResourceExhausted);
    std::string corrupt = packed;
    for (size_t i = 4; i < corrupt.size(); i += 3) corrupt[i] ^= 0x5a;
    EXPECT_FALSE(Decompress(c, corrupt, text.size(), &back).ok());
  }
  std::string out;
  EXPECT_EQ(Decompress(Compression::kLz4, "ab", 100, &out).code(), Code::kDataLoss);
}

TEST(LatencyRecorder, QuantilesWithinBucketError) {
  LatencyRecorder r;
  for (uint64_t v = 1; v <= 10000; ++v) r.Record(v);
  auto s = r.Take();
  EXPECT_EQ(s.count, 10000u);
  EXPECT_EQ(s.max_us, 10000u);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    double want = q * 10000;
    double got = static_cast<double>(s.Quantile(q));
    EXPECT_GE(got, want * 0.999) << q;
    EXPECT_LE(got, want * 1.07) << q;
  }
  for (int b = 1; b < LatencyRecorder::kBuckets - 1; ++b)
    ASSERT_LT(LatencyRecorder::BucketUpperBound(b - 1), LatencyRecorder::BucketUpperBound(b));
  EXPECT_EQ(LatencyRecorder::BucketOf(LatencyRecorder::BucketUpperBound(100)), 100);
}

}  // namespace
}  // namespace dougong::rpc
