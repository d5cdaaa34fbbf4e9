// Dougong load generator: closed-loop echo calls against bench/echo_server
// (or any server with dougong.example.EchoService).
//
//   rpc_bench --target=HOST:PORT --connections=N --outstanding=N
//             --payload=BYTES --duration=S --warmup=S [--mode=attachment|body]
//
// `connections` channels (ChannelOptions: a single connection and one I/O
// thread each) carry `outstanding` calls in flight in total, spread round
// robin; each slot re-issues its call from the completion callback. A slot
// owns its request, response, payload and ClientContext and reuses them, so
// a call allocates almost nothing on this side. The payload goes as the
// request attachment (default; the server echoes it back without copying) or
// in the `payload` bytes field with --mode=body.
//
// With --naming, `target` is a naming URL (list://h1:p1,h2:p2, zk://...) and
// each of the `connections` channels is a cluster::ClusterChannel over the
// providers it names (--lb picks the balancer): the cluster layer's overhead
// against direct channels (bench/compare_cluster.sh).
//
// Prints one key=value line (see bench/bench_common.h), identical in format
// to bench/grpc/grpc_bench.
#include <CLI/CLI.hpp>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.h"
#include "dougong/base/bytes.h"
#include "dougong/cluster/cluster_channel.h"
#include "dougong/rpc/channel.h"
#include "echo.pb.h"

namespace {

using dougong::Bytes;
using dougong::Status;
using dougong::example::EchoRequest;
using dougong::example::EchoResponse;
using dougong::rpc::ClientContext;

constexpr dougong::rpc::MethodSpec kEcho{"dougong.example.EchoService", "Echo", false};

std::atomic<int> g_phase{bench::kWarmup};
std::atomic<int> g_active{0};

struct Slot;

// Failed calls are re-issued from here after a short pause rather than from
// the callback: a channel may fail a call inline (e.g. while reconnecting),
// and re-issuing from inside would recurse and spin.
class Retrier {
 public:
  void Push(Slot* s) {
    std::lock_guard lock(mu_);
    pending_.push_back(s);
    cv_.notify_one();
  }
  void Start();
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Slot*> pending_;
  bool stop_ = false;
  std::thread thread_;
};
Retrier g_retrier;

struct Slot {
  dougong::rpc::ChannelInterface* channel = nullptr;
  bool attachment_mode = true;
  size_t payload_size = 0;
  Bytes payload;  // the request attachment; its own owner per slot (no shared refcount)
  EchoRequest request;
  EchoResponse response;
  // ClientContext is neither copyable nor movable; it is rebuilt in place
  // before each call (cheap: no heap allocation when empty), which resets the
  // response attachment/metadata and cancellation state left by the last call.
  std::optional<ClientContext> ctx;
  bench::Clock::time_point start;
  bench::SlotStats stats;

  void Issue() {
    ctx.emplace();
    if (attachment_mode) ctx->set_attachment(payload);
    start = bench::Clock::now();
    // Capturing one pointer keeps the std::function in its small buffer.
    channel->CallMethod(kEcho, &*ctx, request, &response,
                        [this](Status st) { Complete(st); });
  }

  void Complete(const Status& st) {
    auto end = bench::Clock::now();
    size_t got = attachment_mode ? ctx->response_attachment().size() : response.payload().size();
    bool ok = st.ok() && got == payload_size;
    int phase = g_phase.load(std::memory_order_acquire);
    if (phase == bench::kMeasuring) {
      if (ok) {
        ++stats.calls;
        stats.bytes += got;
        stats.hist.Record(static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count()));
      } else {
        ++stats.errors;
      }
    }
    if (!ok && !st.ok()) {
      static std::atomic<int> logged{0};
      if (logged.fetch_add(1) < 5)
        std::fprintf(stderr, "rpc_bench: call failed: %s\n", st.ToString().c_str());
    }
    // Drop the echoed attachment now (it pins the connection's read buffer).
    ctx->set_response_attachment(Bytes());
    if (phase == bench::kStopping) {
      g_active.fetch_sub(1, std::memory_order_acq_rel);
      return;
    }
    if (!st.ok()) {
      g_retrier.Push(this);
      return;
    }
    Issue();
  }
};

void Retrier::Start() {
  thread_ = std::thread([this] {
    std::vector<Slot*> batch;
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stop_ || !pending_.empty(); });
      if (stop_) return;
      batch.swap(pending_);
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      for (Slot* s : batch) {
        if (g_phase.load(std::memory_order_acquire) == bench::kStopping)
          g_active.fetch_sub(1, std::memory_order_acq_rel);
        else
          s->Issue();
      }
      batch.clear();
      lock.lock();
    }
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Dougong echo load generator (closed loop)"};
  bench::Knobs k;
  k.stack = "dougong";
  bench::AddLoadOptions(app, k);
  app.add_option("--mode", k.mode, "attachment | body")
      ->default_val("attachment")
      ->check(CLI::IsMember({"attachment", "body"}));
  bool naming = false;
  std::string lb = "roundrobin";
  app.add_flag("--naming", naming, "target is a naming URL: call through a cluster channel");
  app.add_option("--lb", lb, "load balancer of the cluster channel")->default_val("roundrobin");
  CLI11_PARSE(app, argc, argv);
  const bool attachment_mode = k.mode == "attachment";
  if (naming) k.stack = "dougong-cluster";

  std::vector<std::shared_ptr<dougong::rpc::ChannelInterface>> channels;
  for (int i = 0; i < k.connections; ++i) {
    dougong::rpc::ChannelOptions opts;
    opts.connection_type = dougong::rpc::ChannelOptions::ConnectionType::kSingle;
    opts.io_threads = 1;
    opts.connect_timeout = std::chrono::milliseconds(5000);
    dougong::Result<std::shared_ptr<dougong::rpc::ChannelInterface>> ch = [&]()
        -> dougong::Result<std::shared_ptr<dougong::rpc::ChannelInterface>> {
      if (!naming) {
        auto direct = dougong::rpc::Channel::Create(k.target, opts);
        if (!direct.ok()) return direct.status();
        return std::shared_ptr<dougong::rpc::ChannelInterface>(std::move(direct).value());
      }
      dougong::cluster::ClusterChannelOptions co;
      co.load_balancer = lb;
      co.channel = opts;
      auto cluster = dougong::cluster::ClusterChannel::Create(k.target, kEcho.service, co);
      if (!cluster.ok()) return cluster.status();
      if (!(*cluster)->WaitForProviders(1, std::chrono::seconds(10)))
        return dougong::Status(dougong::Code::kUnavailable, "no provider discovered in 10 s");
      return std::shared_ptr<dougong::rpc::ChannelInterface>(std::move(cluster).value());
    }();
    if (!ch.ok()) {
      std::fprintf(stderr, "rpc_bench: Channel::Create(%s): %s\n", k.target.c_str(),
                   ch.status().ToString().c_str());
      return 1;
    }
    channels.push_back(std::move(ch).value());
  }

  // One blocking call per channel first: connects every channel and checks
  // the server answers before the clock starts.
  for (auto& ch : channels) {
    EchoRequest req;
    req.set_message("ping");
    EchoResponse resp;
    ClientContext ctx;
    Status st = ch->Call(kEcho, &ctx, req, &resp);
    if (!st.ok()) {
      std::fprintf(stderr, "rpc_bench: first call to %s failed: %s\n", k.target.c_str(),
                   st.ToString().c_str());
      return 1;
    }
  }

  std::string payload(k.payload, 'x');
  std::vector<std::unique_ptr<Slot>> slots;
  for (int i = 0; i < k.outstanding; ++i) {
    auto s = std::make_unique<Slot>();
    s->channel = channels[i % channels.size()].get();
    s->attachment_mode = attachment_mode;
    s->payload_size = k.payload;
    if (attachment_mode)
      s->payload = Bytes::Copy(payload);
    else
      s->request.set_payload(payload);
    slots.push_back(std::move(s));
  }

  g_retrier.Start();
  g_active.store(k.outstanding);
  for (auto& s : slots) s->Issue();

  bench::Measured m = bench::RunPhases(g_phase, g_active, k);

  std::vector<const bench::SlotStats*> stats;
  for (auto& s : slots) stats.push_back(&s->stats);
  bench::PrintReport(k, stats, m);

  if (!m.drained) {
    // Calls still in flight reference the slots: do not tear down under them.
    std::fflush(nullptr);
    std::_Exit(0);
  }
  g_retrier.Stop();
  slots.clear();
  channels.clear();
  return 0;
}
