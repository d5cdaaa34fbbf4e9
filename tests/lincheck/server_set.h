// The servers a linearizability workload runs against, as separate
// processes it can kill and restart. The workload and the fault injector
// only see ServerSet; KeeperProcessSet starts `dougong keeper` members.
//
// Extension point (docs/linearizability.md): a replicated keeper cluster is
// another ServerSet (or KeeperProcessSet with members > 1 once `dougong
// keeper` takes a peer list): Start() writes each member's config, and
// ConnectString() lists every member so that clients fail over.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "dougong/base/status.h"

namespace dougong::lincheck {

class ServerSet {
 public:
  virtual ~ServerSet() = default;
  // Starts every member and waits until each accepts connections.
  virtual Status Start() = 0;
  // host:port of every member, comma separated (a ZooKeeper connect string).
  virtual std::string ConnectString() const = 0;
  virtual int size() const = 0;
  virtual bool IsUp(int member) const = 0;
  // SIGKILL, reaped: no shutdown path runs, whatever was not fsynced is gone.
  virtual Status Kill(int member) = 0;
  // Starts a killed member again on its data dir and port; waits until it
  // accepts connections.
  virtual Status Restart(int member) = 0;
  // Deletes a killed member's data dir: a fault no correct system survives
  // (it forgets acknowledged writes), used to show that the tests notice.
  virtual Status WipeData(int member) = 0;
  // SIGSTOP / SIGCONT: the member keeps its sockets but answers nothing.
  virtual Status Pause(int member) = 0;
  virtual Status Resume(int member) = 0;
  // Stops every member (SIGTERM, then SIGKILL).
  virtual void StopAll() = 0;
  virtual std::string Describe() const = 0;
};

struct KeeperProcessOptions {
  std::string dougong_bin;  // the `dougong` binary
  std::string work_dir;     // member i: work_dir/member-i/ (data) and member-i.log
  int members = 1;
  std::vector<std::string> extra_args;  // appended to every member's command line
  std::chrono::milliseconds start_timeout{30'000};
};

class KeeperProcessSet : public ServerSet {
 public:
  explicit KeeperProcessSet(KeeperProcessOptions options);
  ~KeeperProcessSet() override;

  Status Start() override;
  std::string ConnectString() const override;
  int size() const override { return static_cast<int>(members_.size()); }
  bool IsUp(int member) const override;
  Status Kill(int member) override;
  Status Restart(int member) override;
  Status WipeData(int member) override;
  Status Pause(int member) override;
  Status Resume(int member) override;
  void StopAll() override;
  std::string Describe() const override;

 private:
  struct Member {
    int port = 0;
    std::string data_dir, log_path;
    pid_t pid = -1;
    bool paused = false;
  };
  Status Launch(Member& m);
  Status WaitServing(Member& m);

  KeeperProcessOptions options_;
  std::vector<Member> members_;
};

}  // namespace dougong::lincheck
