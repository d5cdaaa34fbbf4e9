// gRPC baseline load generator for bench/compare_grpc.sh. Same knobs and the
// same one-line report as bench/rpc_bench (see bench/bench_common.h):
//
//   grpc_bench --target=HOST:PORT --connections=N --outstanding=N
//              --payload=BYTES --duration=S --warmup=S [--api=cq|callback]
//
// Closed loop: `outstanding` calls in flight in total, spread round robin over
// `connections` channels; each slot re-issues its call as soon as the previous
// one completes. Every channel gets distinct channel args (its own channel id
// and a local subchannel pool), so each really is a separate TCP connection.
//
// --api=cq (default): one CompletionQueue and one polling thread per channel,
// the classic high-throughput async client (what gRPC's own QPS benchmarks
// use). --api=callback: the grpc++ callback API (stub->async()->Echo), whose
// completions run on gRPC's internal threads.
//
// gRPC has no attachments, so the payload always travels in the `payload`
// field (mode=body).
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.h"
#include "echo.grpc.pb.h"

namespace {

using dougong::example::EchoRequest;
using dougong::example::EchoResponse;
using dougong::example::EchoService;

std::atomic<int> g_phase{bench::kWarmup};
std::atomic<int> g_active{0};

struct Conn {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<EchoService::Stub> stub;
  grpc::CompletionQueue cq;  // used by --api=cq only
  std::thread poller;
};

// One outstanding call, reused for every call it makes. grpc::ClientContext
// cannot be reused, so it is rebuilt in place (no heap allocation of its own).
struct Slot {
  Conn* conn = nullptr;
  size_t payload = 0;
  EchoRequest request;
  EchoResponse response;
  std::optional<grpc::ClientContext> ctx;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<EchoResponse>> reader;
  bench::Clock::time_point start;
  bench::SlotStats stats;
  bool callback_api = false;

  void Issue() {
    ctx.emplace();
    start = bench::Clock::now();
    if (callback_api) {
      conn->stub->async()->Echo(&*ctx, &request, &response,
                                [this](grpc::Status s) { Complete(s.ok()); });
    } else {
      reader = conn->stub->AsyncEcho(&*ctx, request, &conn->cq);
      reader->Finish(&response, &status, this);
    }
  }

  // Runs when the in-flight call finished; re-issues unless stopping.
  void Complete(bool ok) {
    auto end = bench::Clock::now();
    int phase = g_phase.load(std::memory_order_acquire);
    if (phase == bench::kMeasuring) {
      if (ok && response.payload().size() == payload) {
        ++stats.calls;
        stats.bytes += response.payload().size();
        stats.hist.Record(static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count()));
      } else {
        ++stats.errors;
      }
    }
    if (phase == bench::kStopping) {
      g_active.fetch_sub(1, std::memory_order_acq_rel);
      return;
    }
    Issue();
  }
};

void Poll(Conn* conn) {
  void* tag = nullptr;
  bool ok = false;
  while (conn->cq.Next(&tag, &ok)) {
    auto* slot = static_cast<Slot*>(tag);
    slot->Complete(ok && slot->status.ok());
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gRPC echo load generator (closed loop)"};
  bench::Knobs k;
  k.stack = "grpc";
  k.mode = "body";
  std::string api = "cq";
  bench::AddLoadOptions(app, k);
  app.add_option("--mode", k.mode, "payload placement; gRPC only has body")
      ->default_val("body")
      ->check(CLI::IsMember({"body"}));
  app.add_option("--api", api, "cq | callback")->default_val("cq")->check(
      CLI::IsMember({"cq", "callback"}));
  CLI11_PARSE(app, argc, argv);
  const bool callback_api = api == "callback";
  k.stack = callback_api ? "grpc-callback" : "grpc";

  std::vector<std::unique_ptr<Conn>> conns;
  for (int i = 0; i < k.connections; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("grpc.channel_id", i);  // distinct args: no subchannel sharing
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    auto conn = std::make_unique<Conn>();
    conn->channel = grpc::CreateCustomChannel(k.target, grpc::InsecureChannelCredentials(), args);
    conn->stub = EchoService::NewStub(conn->channel);
    if (!conn->channel->WaitForConnected(std::chrono::system_clock::now() +
                                         std::chrono::seconds(5))) {
      std::fprintf(stderr, "grpc_bench: cannot connect to %s\n", k.target.c_str());
      return 1;
    }
    conns.push_back(std::move(conn));
  }
  if (!callback_api)
    for (auto& c : conns) c->poller = std::thread(Poll, c.get());

  std::string payload(k.payload, 'x');
  std::vector<std::unique_ptr<Slot>> slots;
  for (int i = 0; i < k.outstanding; ++i) {
    auto s = std::make_unique<Slot>();
    s->conn = conns[i % conns.size()].get();
    s->payload = k.payload;
    s->request.set_payload(payload);
    s->callback_api = callback_api;
    slots.push_back(std::move(s));
  }
  g_active.store(k.outstanding);
  for (auto& s : slots) s->Issue();

  bench::Measured m = bench::RunPhases(g_phase, g_active, k);

  std::vector<const bench::SlotStats*> stats;
  for (auto& s : slots) stats.push_back(&s->stats);
  bench::PrintReport(k, stats, m);

  if (!m.drained || callback_api) {
    // Calls still in flight (or, with the callback API, gRPC threads still
    // finishing the last calls) reference the slots: do not tear down under
    // them.
    std::fflush(nullptr);
    std::_Exit(0);
  }
  for (auto& c : conns) {
    if (!callback_api) {
      c->cq.Shutdown();
      c->poller.join();
    }
  }
  return 0;
}
