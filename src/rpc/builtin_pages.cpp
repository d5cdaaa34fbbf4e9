// The built-in pages: /status for people, /metrics for Prometheus.
#include <fmt/format.h>

#include "dougong/base/observability.h"
#include "rpc/server_impl.h"

namespace dougong::rpc {

namespace {

size_t OpenConnections(Server::Impl& s) {
  std::lock_guard lock(s.conn_mu);
  return s.connections.size();
}

double Seconds(uint64_t micros) { return static_cast<double>(micros) / 1e6; }

// Label values escape backslash, quote and newline (exposition format).
std::string LabelValue(std::string_view v) { return MetricFamilies::LabelValue(v); }

constexpr double kQuantiles[] = {0.5, 0.9, 0.99, 0.999};

}  // namespace

std::string Server::StatusPage() const { return impl_->StatusPage(); }
std::string Server::MetricsPage() const { return impl_->MetricsPage(); }

std::string Server::Impl::StatusPage() {
  Impl& s = *this;
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - s.started_at);
  std::string out = fmt::format(
      "server: port={} uptime_s={} connections={} accepted_total={} rejected_total={} protocol_errors={} "
      "inflight={}\n",
      s.port, uptime.count(), OpenConnections(s), s.connections_total.load(), s.rejected_connections.load(),
      s.protocol_errors.load(), s.inflight.load());
  std::string current_service;
  for (const MethodEntry& m : s.methods) {
    if (m.def.service != current_service) {
      current_service = m.def.service;
      out += fmt::format("\nservice {}\n", current_service);
    }
    auto snap = m.stats.latency.Take();
    uint64_t total = 0;
    std::string errors;
    for (int c = 0; c < kNumCodes; ++c) {
      uint64_t n = m.stats.by_code[c].load(std::memory_order_relaxed);
      total += n;
      if (c != 0 && n) errors += fmt::format(" {}={}", CodeName(static_cast<Code>(c)), n);
    }
    out += fmt::format(
        "  {} mode={} count={} inflight={} max_concurrency={} latency_us p50={} p90={} p99={} p999={} max={}\n",
        m.def.method, m.def.mode == HandlerMode::kCoroutine ? "coroutine" : "blocking", total,
        m.stats.inflight.load(), m.max_concurrency ? fmt::format("{}", m.max_concurrency) : std::string("none"),
        snap.Quantile(0.5), snap.Quantile(0.9), snap.Quantile(0.99), snap.Quantile(0.999), snap.max_us);
    out += fmt::format("    errors:{}\n", errors.empty() ? " none" : errors);
  }
  // What other components of the process show (cluster channels, ...).
  out += ObservabilityRegistry::Global().StatusText();
  return out;
}

std::string Server::Impl::MetricsPage() {
  Impl& s = *this;
  std::string out;
  auto gauge = [&](std::string_view name, std::string_view help, double v) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} gauge\n{0} {2}\n", name, help, v);
  };
  auto counter = [&](std::string_view name, std::string_view help, uint64_t v) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} counter\n{0} {2}\n", name, help, v);
  };
  gauge("dougong_rpc_server_connections", "Open client connections.", static_cast<double>(OpenConnections(s)));
  counter("dougong_rpc_server_connections_accepted_total", "Connections accepted.", s.connections_total.load());
  counter("dougong_rpc_server_connections_rejected_total", "Connections refused by the connection limit.",
          s.rejected_connections.load());
  counter("dougong_rpc_server_protocol_errors_total", "Connections closed for malformed input.",
          s.protocol_errors.load());
  gauge("dougong_rpc_server_inflight_requests", "Requests being handled.", static_cast<double>(s.inflight.load()));
  gauge("dougong_rpc_server_uptime_seconds", "Seconds since the server started.",
        std::chrono::duration<double>(std::chrono::steady_clock::now() - s.started_at).count());

  out += "# HELP dougong_rpc_server_requests_total Requests completed or refused, by method and status code.\n"
         "# TYPE dougong_rpc_server_requests_total counter\n";
  for (const MethodEntry& m : s.methods) {
    std::string method = LabelValue(m.full_name);
    for (int c = 0; c < kNumCodes; ++c) {
      uint64_t n = m.stats.by_code[c].load(std::memory_order_relaxed);
      if (n || c == 0)
        out += fmt::format("dougong_rpc_server_requests_total{{method=\"{}\",code=\"{}\"}} {}\n", method,
                           CodeName(static_cast<Code>(c)), n);
    }
  }
  out += "# HELP dougong_rpc_server_method_inflight_requests Requests being handled, by method.\n"
         "# TYPE dougong_rpc_server_method_inflight_requests gauge\n";
  for (const MethodEntry& m : s.methods)
    out += fmt::format("dougong_rpc_server_method_inflight_requests{{method=\"{}\"}} {}\n", LabelValue(m.full_name),
                       m.stats.inflight.load());
  out += "# HELP dougong_rpc_server_request_duration_seconds Handling time of requests, by method.\n"
         "# TYPE dougong_rpc_server_request_duration_seconds summary\n";
  for (const MethodEntry& m : s.methods) {
    std::string method = LabelValue(m.full_name);
    auto snap = m.stats.latency.Take();
    for (double q : kQuantiles)
      out += fmt::format("dougong_rpc_server_request_duration_seconds{{method=\"{}\",quantile=\"{}\"}} {}\n", method,
                         q, Seconds(snap.Quantile(q)));
    out += fmt::format("dougong_rpc_server_request_duration_seconds_sum{{method=\"{}\"}} {}\n", method,
                       Seconds(snap.sum_us));
    out += fmt::format("dougong_rpc_server_request_duration_seconds_count{{method=\"{}\"}} {}\n", method, snap.count);
  }
  MetricFamilies sections;
  ObservabilityRegistry::Global().CollectMetrics(sections);
  out += sections.Text();
  return out;
}

}  // namespace dougong::rpc
