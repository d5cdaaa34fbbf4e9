#include "dougong/base/observability.h"

#include <charconv>
#include <map>
#include <mutex>

namespace dougong {

// Sections are shared_ptrs so a page can render them outside the
// registry's lock; each has its own mutex, held while its functions run and
// taken by Reset, which is what makes removal during a render safe.
struct ObservabilityHandle::State {
  struct Section {
    std::string name;
    ObservabilityRegistry::StatusFn status;
    ObservabilityRegistry::MetricsFn metrics;
    std::mutex mu;
    bool removed = false;  // guarded by mu
  };

  std::vector<std::shared_ptr<Section>> Sections() const {
    std::vector<std::shared_ptr<Section>> out;
    std::lock_guard lock(mu);
    out.reserve(sections.size());
    for (const auto& [id, s] : sections) out.push_back(s);
    return out;
  }

  mutable std::mutex mu;
  uint64_t next_id = 1;
  std::map<uint64_t, std::shared_ptr<Section>> sections;  // by id: the order added
};

namespace {

// Shortest text that reads back as the same double ("42", "0.25").
std::string FormatValue(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace

std::string MetricFamilies::LabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

void MetricFamilies::Add(std::string_view name, MetricType type, std::string_view help, Labels labels,
                         double value) {
  auto [it, inserted] = index_.try_emplace(std::string(name), families_.size());
  if (inserted) families_.push_back(Family{std::string(name), type, std::string(help), {}});
  std::string& out = families_[it->second].samples;
  out += name;
  if (labels.size() > 0) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out += ',';
      first = false;
      out += k;
      out += "=\"";
      out += LabelValue(v);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += FormatValue(value);
  out += '\n';
}

std::string MetricFamilies::Text() const {
  std::string out;
  for (const Family& f : families_) {
    out += "# HELP " + f.name + " " + f.help + "\n";
    out += "# TYPE " + f.name + (f.type == MetricType::kCounter ? " counter\n" : " gauge\n");
    out += f.samples;
  }
  return out;
}

void ObservabilityHandle::Reset() {
  if (!state_) return;
  std::shared_ptr<State::Section> section;
  {
    std::lock_guard lock(state_->mu);
    auto it = state_->sections.find(id_);
    if (it != state_->sections.end()) {
      section = std::move(it->second);
      state_->sections.erase(it);
    }
  }
  if (section) {
    // Waits for a render running this section's functions right now.
    std::lock_guard lock(section->mu);
    section->removed = true;
  }
  state_.reset();
}

ObservabilityRegistry::ObservabilityRegistry() : state_(std::make_shared<ObservabilityHandle::State>()) {}
ObservabilityRegistry::~ObservabilityRegistry() = default;

ObservabilityRegistry& ObservabilityRegistry::Global() {
  // Never destroyed: handles in other static objects may outlive any order.
  static auto* registry = new ObservabilityRegistry();
  return *registry;
}

ObservabilityHandle ObservabilityRegistry::Add(std::string name, StatusFn status, MetricsFn metrics) {
  auto section = std::make_shared<ObservabilityHandle::State::Section>();
  section->name = std::move(name);
  section->status = std::move(status);
  section->metrics = std::move(metrics);
  std::lock_guard lock(state_->mu);
  uint64_t id = state_->next_id++;
  state_->sections.emplace(id, std::move(section));
  return ObservabilityHandle(state_, id);
}

std::string ObservabilityRegistry::StatusText() const {
  std::string out;
  for (const auto& s : state_->Sections()) {
    std::lock_guard lock(s->mu);
    if (s->removed || !s->status) continue;
    out += '\n';
    out += s->status();
  }
  return out;
}

void ObservabilityRegistry::CollectMetrics(MetricFamilies& out) const {
  for (const auto& s : state_->Sections()) {
    std::lock_guard lock(s->mu);
    if (s->removed || !s->metrics) continue;
    s->metrics(out);
  }
}

size_t ObservabilityRegistry::size() const {
  std::lock_guard lock(state_->mu);
  return state_->sections.size();
}

}  // namespace dougong
