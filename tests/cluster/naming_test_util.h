// Records the snapshots a naming listener receives and lets a test wait
// for one that satisfies a predicate, with a bounded timeout.
#pragma once

#include <chrono>
#include <gtest/gtest.h>

#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "dougong/cluster/naming.h"

namespace dougong::cluster::testing {

// A fresh directory for the running test, named after it and the process.
inline std::filesystem::path FreshTestDir(const std::string& prefix) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              (prefix + std::to_string(::getpid()) + "_" +
                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

class SnapshotRecorder {
 public:
  ProviderListener Listener() {
    return [this](const ProviderSetPtr& set) {
      std::lock_guard lock(mu_);
      snapshots_.push_back(set);
      cv_.notify_all();
    };
  }

  // Waits until the latest snapshot satisfies `pred`; false on timeout.
  bool WaitFor(const std::function<bool(const ProviderSet&)>& pred,
               std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return !snapshots_.empty() && pred(*snapshots_.back()); });
  }
  bool WaitForAddresses(const std::set<std::string>& want,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return WaitFor([&](const ProviderSet& s) { return Addresses(s) == want; }, timeout);
  }

  ProviderSetPtr latest() {
    std::lock_guard lock(mu_);
    return snapshots_.empty() ? nullptr : snapshots_.back();
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return snapshots_.size();
  }
  std::vector<ProviderSetPtr> all() {
    std::lock_guard lock(mu_);
    return snapshots_;
  }

  static std::set<std::string> Addresses(const ProviderSet& s) {
    std::set<std::string> out;
    for (const Provider& p : s.providers()) out.insert(p.address);
    return out;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ProviderSetPtr> snapshots_;
};

}  // namespace dougong::cluster::testing
