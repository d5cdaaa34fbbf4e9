// ObservabilityRegistry: named sections that components (cluster channels,
// governors, ...) add to every server's /status and /metrics pages. The
// process-wide instance is the one kind of global state Dougong allows: a
// metrics registry.
//
//   auto section = ObservabilityRegistry::Global().Add(
//       "cluster/pkg.Echo",
//       [] { return std::string("cluster pkg.Echo providers=3\n"); },
//       [](MetricFamilies& m) {
//         m.Add("dougong_cluster_calls_total", MetricType::kCounter, "Calls.",
//               {{"service", "pkg.Echo"}, {"method", "Echo"}}, 42);
//       });
//   // ... the section is shown until `section` is destroyed or Reset().
//
// Sections write metrics as samples into MetricFamilies, which groups them
// by family name across sections: several cluster channels each add
// dougong_cluster_calls_total, and the page still has one HELP and TYPE for it
// (the exposition format requires that).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dougong {

enum class MetricType { kCounter, kGauge };

// Prometheus text exposition (format 0.0.4), grouped by family name in the
// order families were first added.
class MetricFamilies {
 public:
  using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  // One sample. The first sample of a family fixes its type and help.
  void Add(std::string_view name, MetricType type, std::string_view help, Labels labels, double value);
  std::string Text() const;
  bool empty() const { return families_.empty(); }

  // Escapes backslash, quote and newline for a label value.
  static std::string LabelValue(std::string_view v);

 private:
  struct Family {
    std::string name;
    MetricType type;
    std::string help;
    std::string samples;  // lines "name{labels} value\n"
  };
  std::vector<Family> families_;
  std::unordered_map<std::string, size_t> index_;
};

class ObservabilityRegistry;

// Keeps a section on the pages; destroying it (or Reset) removes the
// section. Once Reset returns, the section's functions are not running and
// will not run again, so they may point into the owner being destroyed.
class ObservabilityHandle {
 public:
  ObservabilityHandle() = default;
  ~ObservabilityHandle() { Reset(); }
  ObservabilityHandle(ObservabilityHandle&& other) noexcept = default;
  ObservabilityHandle& operator=(ObservabilityHandle&& other) noexcept {
    if (this != &other) {
      Reset();
      state_ = std::move(other.state_);
      id_ = other.id_;
    }
    return *this;
  }
  ObservabilityHandle(const ObservabilityHandle&) = delete;
  ObservabilityHandle& operator=(const ObservabilityHandle&) = delete;

  void Reset();
  explicit operator bool() const { return state_ != nullptr; }

 private:
  friend class ObservabilityRegistry;
  struct State;
  ObservabilityHandle(std::shared_ptr<State> state, uint64_t id) : state_(std::move(state)), id_(id) {}
  std::shared_ptr<State> state_;
  uint64_t id_ = 0;
};

class ObservabilityRegistry {
 public:
  using StatusFn = std::function<std::string()>;       // text lines, ending in '\n'
  using MetricsFn = std::function<void(MetricFamilies&)>;

  ObservabilityRegistry();
  ~ObservabilityRegistry();
  ObservabilityRegistry(const ObservabilityRegistry&) = delete;
  ObservabilityRegistry& operator=(const ObservabilityRegistry&) = delete;

  // The process-wide registry the servers' pages show.
  static ObservabilityRegistry& Global();

  // Either function may be empty. Names need not be unique; sections are
  // shown in the order they were added. The functions run on the thread
  // rendering a page (a server's I/O thread): keep them quick, never block
  // on I/O, and never destroy their own handle from inside them.
  [[nodiscard]] ObservabilityHandle Add(std::string name, StatusFn status, MetricsFn metrics);

  // Every section's status text, each preceded by an empty line.
  std::string StatusText() const;
  // Every section's samples, added to `out`.
  void CollectMetrics(MetricFamilies& out) const;
  size_t size() const;

 private:
  std::shared_ptr<ObservabilityHandle::State> state_;
};

}  // namespace dougong
