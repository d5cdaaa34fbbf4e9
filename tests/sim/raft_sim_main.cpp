// raft_sim: runs the deterministic Raft simulator over a range of seeds.
//   raft_sim --seeds 2000 --steps 5000 --first-seed 0     (CTest shards)
//   raft_sim --seeds 100000 --steps 20000 --first-seed N  (long mode)
//   raft_sim --seed 1234 --steps 5000 --verbose           (replay one seed)
//   --keep-going: run all seeds and list every failing one.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "simulator.h"

using dougong::raft::sim::RunSimulation;
using dougong::raft::sim::SimOptions;
using dougong::raft::sim::SimResult;

int main(int argc, char** argv) {
  uint64_t first = 0, seeds = 1;
  int steps = 5000;
  bool verbose = false;
  bool keep_going = false;
  uint64_t failures = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--seeds") {
      seeds = std::strtoull(next(), nullptr, 10);
    } else if (a == "--first-seed" || a == "--seed") {
      first = std::strtoull(next(), nullptr, 10);
    } else if (a == "--steps") {
      steps = std::atoi(next());
    } else if (a == "--verbose") {
      verbose = true;
    } else if (a == "--keep-going") {
      keep_going = true;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--seeds N] [--first-seed S | --seed S] [--steps K] [--verbose] [--keep-going]\n", argv[0]);
      return 2;
    }
  }
  auto start = std::chrono::steady_clock::now();
  uint64_t total_steps = 0, elections = 0, writes = 0, reads = 0, confs = 0, snaps = 0, crashes = 0, heals = 0,
           transfers = 0;
  for (uint64_t s = first; s < first + seeds; ++s) {
    SimOptions opt;
    opt.seed = s;
    opt.steps = steps;
    opt.verbose = verbose;
    SimResult r = RunSimulation(opt);
    total_steps += r.stats.steps;
    elections += r.stats.elections;
    writes += r.stats.writes_acked;
    reads += r.stats.reads_served;
    confs += r.stats.conf_changes;
    snaps += r.stats.snapshots_installed;
    crashes += r.stats.crashes;
    heals += r.stats.heals;
    transfers += r.stats.transfers;
    if (!r.ok) {
      std::fprintf(stderr, "FAILED: %s\nreplay: %s --seed %llu --steps %d --verbose\n", r.failure.c_str(), argv[0],
                   static_cast<unsigned long long>(s), steps);
      if (!keep_going) return 1;
      ++failures;
    }
  }
  if (failures != 0) {
    std::fprintf(stderr, "raft_sim: %llu of %llu seeds failed\n", static_cast<unsigned long long>(failures),
                 static_cast<unsigned long long>(seeds));
    return 1;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "raft_sim: %llu seeds from %llu, %d steps each: OK in %.1fs (%llu steps, %llu leaders, %llu writes, "
      "%llu reads, %llu conf changes, %llu leader transfers, %llu snapshot installs, %llu crashes, %llu heals)\n",
      static_cast<unsigned long long>(seeds), static_cast<unsigned long long>(first), steps, secs,
      static_cast<unsigned long long>(total_steps), static_cast<unsigned long long>(elections),
      static_cast<unsigned long long>(writes), static_cast<unsigned long long>(reads),
      static_cast<unsigned long long>(confs), static_cast<unsigned long long>(transfers),
      static_cast<unsigned long long>(snaps), static_cast<unsigned long long>(crashes),
      static_cast<unsigned long long>(heals));
  return 0;
}
