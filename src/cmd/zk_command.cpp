// `dougong zk [-s CONNECT] [--auth scheme:cred]... [--timeout-ms N] CMD ARGS
// [\; CMD ARGS]...`: a one-shot ZooKeeper shell in the manner of zkCli.sh,
// over the library's ZkClient. Works against ZooKeeper and keeper alike.
#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "cmd/commands.h"
#include "dougong/zk/client.h"

namespace dougong::cmd {

namespace {

using zk::ZkClient;

constexpr const char* kCommandsHelp = R"(Commands (zkCli syntax; several in one run are separated by a lone ';' argument,
quoted for the shell, e.g.  dougong zk addauth digest u:p \; get /secret):
  ls [-s] [-R] [-w] PATH           children (sorted); -s: and the node's stat; -R: recursive
                                   listing; -w: then wait for one child change and print it
  get [-s] [-w] PATH               data; -s: and the stat; -w: then wait for one change
  stat PATH                        the node's stat, one field per line
  set [-s] [-v VERSION] PATH DATA  set data (only at VERSION with -v); -s: print the new stat
  create [-e] [-s] [-c] [-t TTL] PATH [DATA]
                                   -e ephemeral, -s sequential, -c container, -t TTL ms
  delete [-v VERSION] PATH         delete one node
  deleteall PATH                   delete a node and everything under it
  getAcl PATH                      the ACL as zkCli prints it
  setAcl [-s] [-v VERSION] PATH ACL
                                   ACL as scheme:id:perms[,...], perms from crwda
                                   (e.g. world:anyone:cdrwa,digest:u:HASH:r)
  addauth SCHEME AUTH              authenticate this session (same as --auth SCHEME:AUTH)
  watch [-r] [--count N] PATH      add a persistent (-r: recursive) watch and print events
                                   until N have arrived (default: until interrupted)
  whoami                           the identities of this session
  sync PATH                        sync the server with the leader for PATH
Exit status: 0 on success, 1 with "ERROR: <ZooKeeper code>: ..." on stderr otherwise.)";

struct ZkArgs {
  std::string server = "127.0.0.1:2181";
  std::vector<std::string> auth;
  int timeout_ms = 30000;
};

int Fail(const Status& st) {
  fmt::print(stderr, "ERROR: {}\n", st.message().empty() ? st.ToString() : st.message());
  return 1;
}

int Usage(const std::string& msg) {
  fmt::print(stderr, "ERROR: {}\n{}\n", msg, kCommandsHelp);
  return 2;
}

std::string FormatTime(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a %b %d %H:%M:%S %Z %Y", &tm);
  return buf;
}

void PrintStat(const zk::ZkStat& s) {
  fmt::print("cZxid = 0x{:x}\n", s.czxid);
  fmt::print("ctime = {}\n", FormatTime(s.ctime));
  fmt::print("mZxid = 0x{:x}\n", s.mzxid);
  fmt::print("mtime = {}\n", FormatTime(s.mtime));
  fmt::print("pZxid = 0x{:x}\n", s.pzxid);
  fmt::print("cversion = {}\n", s.cversion);
  fmt::print("dataVersion = {}\n", s.version);
  fmt::print("aclVersion = {}\n", s.aversion);
  fmt::print("ephemeralOwner = 0x{:x}\n", s.ephemeral_owner);
  fmt::print("dataLength = {}\n", s.data_length);
  fmt::print("numChildren = {}\n", s.num_children);
}

std::string EventLine(const zk::ZkWatchedEvent& ev) {
  return fmt::format("WatchedEvent state:{} type:{} path:{}", zk::ZkKeeperStateName(ev.state),
                     zk::ZkEventTypeName(ev.type), ev.path);
}

// Events from watchers, waited for by the main thread.
struct EventQueue {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<zk::ZkWatchedEvent> events;
  zk::ZkWatcher Watcher() {
    return [this](const zk::ZkWatchedEvent& ev) {
      std::lock_guard lock(mu);
      events.push_back(ev);
      cv.notify_all();
    };
  }
  zk::ZkWatchedEvent Pop() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return !events.empty(); });
    auto ev = events.front();
    events.pop_front();
    return ev;
  }
};

// Splits "-x", "-v N" style flags from positionals. `with_value` lists the
// flags that take a value.
struct Parsed {
  std::vector<std::string> flags;
  std::map<std::string, std::string> values;
  std::vector<std::string> pos;
  bool Has(const std::string& f) const { return std::find(flags.begin(), flags.end(), f) != flags.end(); }
};

Result<Parsed> ParseArgs(const std::vector<std::string>& args, const std::vector<std::string>& bool_flags,
                         const std::vector<std::string>& with_value) {
  Parsed p;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() > 1 && a[0] == '-' && p.pos.empty()) {
      if (std::find(with_value.begin(), with_value.end(), a) != with_value.end()) {
        if (i + 1 >= args.size()) return InvalidArgument(fmt::format("{} needs a value", a));
        p.values[a] = args[++i];
        continue;
      }
      // Combined boolean flags: -es.
      bool all_known = a[1] != '-';
      for (size_t k = 1; all_known && k < a.size(); ++k)
        all_known = std::find(bool_flags.begin(), bool_flags.end(), std::string("-") + a[k]) != bool_flags.end();
      if (!all_known) return InvalidArgument(fmt::format("unknown option {}", a));
      for (size_t k = 1; k < a.size(); ++k) p.flags.push_back(std::string("-") + a[k]);
      continue;
    }
    p.pos.push_back(a);
  }
  return p;
}

Result<int32_t> ParseInt(const std::string& s, const char* what) {
  try {
    size_t n = 0;
    long long v = std::stoll(s, &n);
    if (n != s.size() || v < INT32_MIN || v > INT32_MAX) throw std::out_of_range(s);
    return static_cast<int32_t>(v);
  } catch (...) {
    return InvalidArgument(fmt::format("bad {} '{}'", what, s));
  }
}

Status ListRecursive(ZkClient& c, const std::string& path) {
  fmt::print("{}\n", path);
  auto children = c.GetChildren(path);
  if (!children.ok()) return children.status();
  auto names = children->children;
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    if (Status st = ListRecursive(c, path == "/" ? "/" + n : path + "/" + n); !st.ok()) return st;
  }
  return Status::Ok();
}

Status DeleteAll(ZkClient& c, const std::string& path) {
  auto children = c.GetChildren(path);
  if (!children.ok()) return children.status();
  for (const auto& n : children->children) {
    if (Status st = DeleteAll(c, path == "/" ? "/" + n : path + "/" + n); !st.ok()) return st;
  }
  if (path == "/") return Status::Ok();
  Status st = c.Delete(path);
  if (zk::ZkErrorOf(st) == zk::ZkError::kNoNode) return Status::Ok();  // gone meanwhile
  return st;
}

std::string JoinNames(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ", ";
    out += names[i];
  }
  return out + "]";
}

int RunOne(ZkClient& c, const std::vector<std::string>& cmd) {
  const std::string& name = cmd[0];
  std::vector<std::string> rest(cmd.begin() + 1, cmd.end());
  auto need = [&](const Parsed& p, size_t lo, size_t hi) -> Status {
    if (p.pos.size() < lo || p.pos.size() > hi)
      return InvalidArgument(fmt::format("{}: wrong number of arguments", name));
    return Status::Ok();
  };

  if (name == "ls") {
    auto p = ParseArgs(rest, {"-s", "-R", "-w"}, {});
    if (!p.ok()) return Usage(p.status().message());
    if (Status st = need(*p, 1, 1); !st.ok()) return Usage(st.message());
    const std::string& path = p->pos[0];
    if (p->Has("-R")) {
      Status st = ListRecursive(c, path);
      return st.ok() ? 0 : Fail(st);
    }
    EventQueue q;
    auto r = c.GetChildren(path, p->Has("-w") ? q.Watcher() : nullptr);
    if (!r.ok()) return Fail(r.status());
    fmt::print("{}\n", JoinNames(r->children));
    if (p->Has("-s")) PrintStat(r->stat);
    if (p->Has("-w")) {
      std::fflush(stdout);
      fmt::print("{}\n", EventLine(q.Pop()));
    }
    return 0;
  }
  if (name == "get") {
    auto p = ParseArgs(rest, {"-s", "-w"}, {});
    if (!p.ok()) return Usage(p.status().message());
    if (Status st = need(*p, 1, 1); !st.ok()) return Usage(st.message());
    EventQueue q;
    auto r = c.GetData(p->pos[0], p->Has("-w") ? q.Watcher() : nullptr);
    if (!r.ok()) return Fail(r.status());
    fmt::print("{}\n", r->is_null ? "null" : r->data);
    if (p->Has("-s")) PrintStat(r->stat);
    if (p->Has("-w")) {
      std::fflush(stdout);
      fmt::print("{}\n", EventLine(q.Pop()));
    }
    return 0;
  }
  if (name == "stat") {
    auto p = ParseArgs(rest, {}, {});
    if (!p.ok()) return Usage(p.status().message());
    if (Status st = need(*p, 1, 1); !st.ok()) return Usage(st.message());
    auto r = c.Exists(p->pos[0]);
    if (!r.ok()) return Fail(r.status());
    if (!r->has_value()) return Fail(zk::ZkErrorStatus(zk::ZkError::kNoNode, p->pos[0] + " (stat)"));
    PrintStat(**r);
    return 0;
  }
  if (name == "set") {
    auto p = ParseArgs(rest, {"-s"}, {"-v"});
    if (!p.ok()) return Usage(p.status().message());
    if (Status st = need(*p, 2, 2); !st.ok()) return Usage(st.message());
    int32_t version = -1;
    if (p->values.count("-v")) {
      auto v = ParseInt(p->values["-v"], "version");
      if (!v.ok()) return Usage(v.status().message());
      version = *v;
    }
    auto r = c.SetData(p->pos[0], p->pos[1], version);
    if (!r.ok()) return Fail(r.status());
    if (p->Has("-s")) PrintStat(*r);
    return 0;
  }
  if (name == "create") {
    auto p = ParseArgs(rest, {"-e", "-s", "-c"}, {"-t"});
    if (!p.ok()) return Usage(p.status().message());
    if (Status st = need(*p, 1, 2); !st.ok()) return Usage(st.message());
    zk::ZkCreateOptions o;
    bool e = p->Has("-e"), s = p->Has("-s"), ct = p->Has("-c"), ttl = p->values.count("-t") > 0;
    if ((e && ct) || (e && ttl) || (ct && ttl) || (ct && s))
      return Usage("create: -e, -c and -t do not combine (and -c not with -s)");
    if (ttl) {
      try {
        o.ttl_ms = std::stoll(p->values["-t"]);
      } catch (...) {
        return Usage("create: bad TTL");
      }
      o.mode = s ? zk::ZkCreateMode::kPersistentSequentialWithTtl : zk::ZkCreateMode::kPersistentWithTtl;
    } else if (ct) {
      o.mode = zk::ZkCreateMode::kContainer;
    } else if (e) {
      o.mode = s ? zk::ZkCreateMode::kEphemeralSequential : zk::ZkCreateMode::kEphemeral;
    } else if (s) {
      o.mode = zk::ZkCreateMode::kPersistentSequential;
    }
    auto r = c.CreateNode(p->pos[0], p->pos.size() > 1 ? p->pos[1] : "", o);
    if (!r.ok()) return Fail(r.status());
    fmt::print("Created {}\n", r->path);
    return 0;
  }
  if (name == "delete") {
    auto p = ParseArgs(rest, {}, {"-v"});
    if (!p.ok()) return Usage(p.status().message());
    if (Status st = need(*p, 1, 1); !st.ok()) return Usage(st.message());
    int32_t version = -1;
    if (p->values.count("-v")) {
      auto v = ParseInt(p->values["-v"], "version");
      if (!v.ok()) return Usage(v.status().message());
      version = *v;
    }
    Status st = c.Delete(p->pos[0], version);
    return st.ok() ? 0 : Fail(st);
  }
  if (name == "deleteall" || name == "rmr") {
    auto p = ParseArgs(rest, {}, {});
    if (!p.ok()) return Usage(p.status().message());
    if (Status st = need(*p, 1, 1); !st.ok()) return Usage(st.message());
    Status st = DeleteAll(c, p->pos[0]);
    return st.ok() ? 0 : Fail(st);
  }
  if (name == "getAcl") {
    auto p = ParseArgs(rest, {"-s"}, {});
    if (!p.ok()) return Usage(p.status().message());
    if (Status st = need(*p, 1, 1); !st.ok()) return Usage(st.message());
    auto r = c.GetAcl(p->pos[0]);
    if (!r.ok()) return Fail(r.status());
    for (const auto& a : r->acl) fmt::print("'{},'{}\n: {}\n", a.scheme, a.id, zk::ZkPermsString(a.perms));
    if (p->Has("-s")) PrintStat(r->stat);
    return 0;
  }
  if (name == "setAcl") {
    auto p = ParseArgs(rest, {"-s"}, {"-v"});
    if (!p.ok()) return Usage(p.status().message());
    if (Status st = need(*p, 2, 2); !st.ok()) return Usage(st.message());
    auto acl = zk::ParseZkAcl(p->pos[1]);
    if (!acl.ok()) return Fail(acl.status());
    int32_t version = -1;
    if (p->values.count("-v")) {
      auto v = ParseInt(p->values["-v"], "version");
      if (!v.ok()) return Usage(v.status().message());
      version = *v;
    }
    auto r = c.SetAcl(p->pos[0], *acl, version);
    if (!r.ok()) return Fail(r.status());
    if (p->Has("-s")) PrintStat(*r);
    return 0;
  }
  if (name == "addauth") {
    if (rest.size() != 2) return Usage("addauth: expected SCHEME AUTH");
    Status st = c.AddAuth(rest[0], rest[1]);
    return st.ok() ? 0 : Fail(st);
  }
  if (name == "whoami") {
    auto r = c.WhoAmI();
    if (!r.ok()) return Fail(r.status());
    for (const auto& i : *r) fmt::print("{}:{}\n", i.auth_scheme, i.user);
    return 0;
  }
  if (name == "sync") {
    if (rest.size() != 1) return Usage("sync: expected PATH");
    auto r = c.Sync(rest[0]);
    if (!r.ok()) return Fail(r.status());
    fmt::print("Sync is OK\n");
    return 0;
  }
  if (name == "watch") {
    auto p = ParseArgs(rest, {"-r"}, {"--count"});
    if (!p.ok()) return Usage(p.status().message());
    if (Status st = need(*p, 1, 1); !st.ok()) return Usage(st.message());
    int32_t count = -1;
    if (p->values.count("--count")) {
      auto v = ParseInt(p->values["--count"], "count");
      if (!v.ok() || *v <= 0) return Usage("watch: --count needs a positive number");
      count = *v;
    }
    EventQueue q;
    Status st = c.AddWatch(p->pos[0], p->Has("-r") ? zk::ZkWatchMode::kPersistentRecursive
                                                   : zk::ZkWatchMode::kPersistent,
                           q.Watcher());
    if (!st.ok()) return Fail(st);
    fmt::print("watching {}{}\n", p->pos[0], p->Has("-r") ? " (recursive)" : "");
    std::fflush(stdout);
    for (int i = 0; count < 0 || i < count; ++i) {
      auto ev = q.Pop();
      fmt::print("{}\n", EventLine(ev));
      std::fflush(stdout);
      if (ev.type == zk::ZkEventType::kNone) return Fail(zk::ZkErrorStatus(zk::ZkError::kSessionExpired, "watch"));
    }
    return 0;
  }
  return Usage(fmt::format("unknown command '{}'", name));
}

int RunZk(const ZkArgs& args, const std::vector<std::string>& words) {
  // Commands separated by a lone ';'.
  std::vector<std::vector<std::string>> cmds(1);
  for (const auto& w : words) {
    if (w == ";") {
      cmds.emplace_back();
    } else {
      cmds.back().push_back(w);
    }
  }
  cmds.erase(std::remove_if(cmds.begin(), cmds.end(), [](const auto& c) { return c.empty(); }), cmds.end());
  if (cmds.empty()) return Usage("no command");

  zk::ZkClientOptions options;
  options.session_timeout = std::chrono::milliseconds(args.timeout_ms);
  for (const auto& a : args.auth) {
    auto colon = a.find(':');
    if (colon == std::string::npos || colon == 0) return Usage(fmt::format("--auth '{}': expected scheme:credential", a));
    options.auth.emplace_back(a.substr(0, colon), a.substr(colon + 1));
  }
  auto client = ZkClient::Create(args.server, options);
  if (!client.ok()) return Fail(client.status());
  if (Status st = (*client)->WaitConnected(std::chrono::milliseconds(args.timeout_ms)); !st.ok()) {
    if (zk::ZkErrorOf(st) != zk::ZkError::kSystemError) return Fail(st);
    return Fail(zk::ZkErrorStatus(zk::ZkError::kConnectionLoss, st.message()));
  }
  int rc = 0;
  for (const auto& cmd : cmds) {
    rc = RunOne(**client, cmd);
    if (rc != 0) break;
  }
  std::fflush(stdout);
  (void)(*client)->Close();
  return rc;
}

}  // namespace

void AddZkCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<ZkArgs>();
  auto* cmd = app.add_subcommand("zk", "ZooKeeper shell: ls, get, set, create, delete, watch, ... (like zkCli.sh)");
  cmd->footer(kCommandsHelp);
  cmd->add_option("-s,--server", args->server, "host:port[,host:port...][/chroot]")->capture_default_str();
  cmd->add_option("--auth", args->auth, "scheme:credential sent before the commands, e.g. digest:user:pw (repeatable)")
      ->allow_extra_args(false)
      ->take_all();
  cmd->add_option("--timeout-ms", args->timeout_ms, "session timeout, and how long to wait for a connection")
      ->capture_default_str();
  // Everything from the command name on is the commands' own (their -s is
  // not --server).
  cmd->prefix_command();
  cmd->callback([args, cmd, exit_code] { *exit_code = RunZk(*args, cmd->remaining()); });
}

}  // namespace dougong::cmd
