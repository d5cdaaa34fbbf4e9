// Shared by the load generators (rpc_bench for Dougong, grpc_bench for gRPC):
// a fixed-size log-linear latency histogram, per-slot counters, the
// warmup/measure/stop phase clock and the one-line key=value report, so both
// stacks are measured and printed exactly the same way.
#pragma once

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

namespace bench {

using Clock = std::chrono::steady_clock;

// Log-linear histogram of nanosecond values: exact below 128 ns, then 64
// sub-buckets per power of two (relative bucket width <= 1/64; the reported
// value is the bucket midpoint, so the error is under 1%). Values above
// ~2^37 ns (137 s) land in the last bucket. 2048 buckets = 16 KiB, no
// allocation while recording.
class Histogram {
 public:
  static constexpr int kSubBits = 6;
  static constexpr int kSub = 1 << kSubBits;  // 64
  static constexpr int kBuckets = 2048;

  void Record(uint64_t ns) {
    ++counts_[Index(ns)];
    ++total_;
  }
  void Merge(const Histogram& o) {
    for (int i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
  }
  uint64_t total() const { return total_; }

  // Value (ns) at quantile q in [0, 1]; 0 when empty.
  double Quantile(double q) const {
    if (total_ == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(total_));
    if (rank >= total_) rank = total_ - 1;
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen > rank) return Mid(i);
    }
    return Mid(kBuckets - 1);
  }

  static int Index(uint64_t v) {
    if (v < 2 * kSub) return static_cast<int>(v);
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - kSubBits;  // keeps the top kSubBits+1 bits: sub in [64, 128)
    uint64_t sub = v >> shift;
    int idx = (shift + 1) * kSub + static_cast<int>(sub - kSub);
    return idx < kBuckets ? idx : kBuckets - 1;
  }
  static double Mid(int idx) {
    if (idx < 2 * kSub) return idx;
    int shift = idx / kSub - 1;
    uint64_t sub = static_cast<uint64_t>(idx % kSub + kSub);
    double lo = static_cast<double>(sub << shift);
    double hi = static_cast<double>((sub + 1) << shift);
    return (lo + hi) / 2;
  }

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
};

// Warmup -> measuring -> stopping. Completions record only while measuring;
// once stopping, slots stop re-issuing and report themselves idle.
enum Phase : int { kWarmup = 0, kMeasuring = 1, kStopping = 2 };

// Per outstanding slot: only ever touched by the completion of that slot's
// single in-flight call, so no locks; read after all slots went idle.
struct SlotStats {
  Histogram hist;
  uint64_t calls = 0;
  uint64_t errors = 0;
  uint64_t bytes = 0;  // echoed payload bytes received back
};

inline double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

struct Knobs {
  std::string stack;
  std::string target;
  int connections = 1;
  int outstanding = 1;
  size_t payload = 16;
  double duration = 10;
  double warmup = 2;
  std::string mode = "attachment";
};

// Benchmark servers stop on SIGINT/SIGTERM. Block them before any server
// thread exists (threads inherit the mask), then wait for one in main.
inline sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}
inline int WaitForStopSignal(const sigset_t& set) {
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

// The load knobs both generators take (each adds its own --mode).
inline void AddLoadOptions(CLI::App& app, Knobs& k) {
  app.add_option("--target", k.target, "HOST:PORT")->required();
  app.add_option("--connections", k.connections, "channels, one TCP connection each")
      ->default_val(1)
      ->check(CLI::PositiveNumber);
  app.add_option("--outstanding", k.outstanding, "calls in flight in total")
      ->default_val(1)
      ->check(CLI::PositiveNumber);
  app.add_option("--payload", k.payload, "payload bytes per request")->default_val(16);
  app.add_option("--duration", k.duration, "measured seconds")->default_val(10);
  app.add_option("--warmup", k.warmup, "seconds before measuring")->default_val(2);
}

// Drives the phases for `run` (already issuing calls): sleeps the warmup,
// measures `duration`, flips to stopping and waits (up to `drain`) for
// `active` to reach 0. Returns measured wall seconds and client CPU seconds.
struct Measured {
  double wall_s = 0;
  double cpu_s = 0;
  bool drained = true;
};

inline Measured RunPhases(std::atomic<int>& phase, std::atomic<int>& active, const Knobs& k,
                          std::chrono::seconds drain = std::chrono::seconds(30)) {
  using namespace std::chrono;
  std::this_thread::sleep_for(duration<double>(k.warmup));
  Measured m;
  double cpu0 = CpuSeconds();
  auto t0 = Clock::now();
  phase.store(kMeasuring, std::memory_order_release);
  std::this_thread::sleep_for(duration<double>(k.duration));
  phase.store(kStopping, std::memory_order_release);
  auto t1 = Clock::now();
  double cpu1 = CpuSeconds();
  m.wall_s = duration<double>(t1 - t0).count();
  m.cpu_s = cpu1 - cpu0;
  auto deadline = Clock::now() + drain;
  while (active.load(std::memory_order_acquire) > 0) {
    if (Clock::now() > deadline) {
      m.drained = false;
      break;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  return m;
}

// Prints the single result line. Both load generators print exactly this.
inline void PrintReport(const Knobs& k, const std::vector<const SlotStats*>& slots,
                        const Measured& m) {
  Histogram h;
  uint64_t calls = 0, errors = 0, bytes = 0;
  for (const SlotStats* s : slots) {
    h.Merge(s->hist);
    calls += s->calls;
    errors += s->errors;
    bytes += s->bytes;
  }
  double wall = m.wall_s > 0 ? m.wall_s : 1;
  std::printf(
      "stack=%s target=%s mode=%s connections=%d outstanding=%d payload=%zu duration=%g "
      "warmup=%g calls=%llu qps=%.1f p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f "
      "errors=%llu bytes_per_sec=%.0f client_cpu_s=%.3f drained=%d\n",
      k.stack.c_str(), k.target.c_str(), k.mode.c_str(), k.connections, k.outstanding,
      k.payload, k.duration, k.warmup, static_cast<unsigned long long>(calls), calls / wall,
      h.Quantile(0.50) / 1e3, h.Quantile(0.90) / 1e3, h.Quantile(0.99) / 1e3,
      h.Quantile(0.999) / 1e3, static_cast<unsigned long long>(errors), bytes / wall, m.cpu_s,
      m.drained ? 1 : 0);
  std::fflush(stdout);
}

}  // namespace bench
