// ZkClient against a real server: Apache ZooKeeper 3.8 (default) or keeper,
// chosen with ZK_TEST_SERVER=zookeeper|keeper (keeper runs $DOUGONG_BIN).
// The server is started once for the whole run on a free loopback port in a
// temp dir and killed by PID at the end. Waits are on events, bounded.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>

#include "dougong/zk/client.h"

namespace dougong::zk {
namespace {

using namespace std::chrono_literals;

int FreePort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

bool CanConnect(int port) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket s(io);
  boost::system::error_code ec;
  s.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}, ec);
  return !ec;
}

// The server under test, one per process.
class Server {
 public:
  static Server& Get() {
    static Server s;
    return s;
  }
  int port() const { return port_; }
  std::string connect() const { return "127.0.0.1:" + std::to_string(port_); }
  void Stop() { ::kill(pid_, SIGSTOP); }
  void Continue() { ::kill(pid_, SIGCONT); }
  bool started() const { return pid_ > 0; }
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(50ms);
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

 private:
  Server() {
    const char* kind = std::getenv("ZK_TEST_SERVER");
    std::string which = kind ? kind : "zookeeper";
    char tmpl[] = "/tmp/zk_client_test.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    port_ = FreePort();
    std::vector<std::string> args;
    if (which == "keeper") {
      const char* bin = std::getenv("DOUGONG_BIN");
      if (!bin) {
        ADD_FAILURE() << "ZK_TEST_SERVER=keeper needs DOUGONG_BIN";
        return;
      }
      args = {bin, "keeper", "--host", "127.0.0.1", "--port", std::to_string(port_), "--data-dir", dir_ + "/data",
              "--admin-port", "0", "--extended-types"};
    } else {
      args = {"/bin/bash", std::string(DOUGONG_SOURCE_DIR) + "/scripts/zookeeper-standalone.sh", dir_ + "/data",
              std::to_string(port_), "extendedTypesEnabled=true"};
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string log = dir_ + "/server.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      // Dies with the test (the script execs java, so the PID stays) and
      // keeps its output away from the test's pipes.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    if (pid_ < 0) {
      ADD_FAILURE() << "cannot start " << args[0];
      return;
    }
    auto until = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < until && !CanConnect(port_)) std::this_thread::sleep_for(50ms);
  }
  ~Server() { Kill(); }

  pid_t pid_ = -1;
  int port_ = 0;
  std::string dir_;
};

class KillServer : public ::testing::Environment {
 public:
  void TearDown() override { Server::Get().Kill(); }
};

// Records state changes and events from any thread; waits for them.
struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<ZkSessionState> states;
  std::vector<std::string> events;  // "Type path" or "read ..." markers

  ZkStateListener StateListener() {
    return [this](ZkSessionState s) {
      std::lock_guard lock(mu);
      states.push_back(s);
      cv.notify_all();
    };
  }
  ZkWatcher Watcher(std::string tag = "") {
    return [this, tag](const ZkWatchedEvent& ev) {
      std::lock_guard lock(mu);
      events.push_back(tag + std::string(ZkEventTypeName(ev.type)) + " " + ev.path +
                       (ev.type == ZkEventType::kNone ? " " + std::string(ZkKeeperStateName(ev.state)) : ""));
      cv.notify_all();
    };
  }
  void Note(std::string s) {
    std::lock_guard lock(mu);
    events.push_back(std::move(s));
    cv.notify_all();
  }
  bool WaitState(ZkSessionState s, std::chrono::milliseconds limit = 30s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, [&] { return std::count(states.begin(), states.end(), s) > 0; });
  }
  bool WaitEvents(size_t n, std::chrono::milliseconds limit = 15s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, [&] { return events.size() >= n; });
  }
  std::vector<std::string> Events() {
    std::lock_guard lock(mu);
    return events;
  }
  bool WaitContains(const std::string& e, std::chrono::milliseconds limit = 15s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, [&] { return std::count(events.begin(), events.end(), e) > 0; });
  }
};

std::shared_ptr<ZkClient> Connect(std::string suffix = "", ZkClientOptions o = {}) {
  o.session_timeout = o.session_timeout == 30000ms ? 10000ms : o.session_timeout;
  auto c = ZkClient::Create(Server::Get().connect() + suffix, o);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  if (!c.ok()) return nullptr;
  Status st = (*c)->WaitConnected(20s);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return *c;
}

class ZkClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Server::Get().started());
    client_ = Connect();
    ASSERT_TRUE(client_);
    root_ = std::string("/") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    (void)client_->CreateNode(root_, "");
  }
  std::shared_ptr<ZkClient> client_;
  std::string root_;
};

// Async → future, for the callback-form tests.
template <class T>
struct Promised {
  std::shared_ptr<std::promise<Result<T>>> p = std::make_shared<std::promise<Result<T>>>();
  ZkCallback<T> cb() {
    return [p = p](Result<T> r) { p->set_value(std::move(r)); };
  }
  Result<T> get() {
    auto f = p->get_future();
    if (f.wait_for(20s) != std::future_status::ready) return DeadlineExceeded("callback never ran");
    return f.get();
  }
};
struct PromisedDone {
  std::shared_ptr<std::promise<Status>> p = std::make_shared<std::promise<Status>>();
  ZkDone cb() {
    return [p = p](Status s) { p->set_value(std::move(s)); };
  }
  Status get() {
    auto f = p->get_future();
    if (f.wait_for(20s) != std::future_status::ready) return DeadlineExceeded("callback never ran");
    return f.get();
  }
};

TEST(ZkConnectString, BadStringsAreRejected) {
  for (const char* bad : {"", "host:notaport", "host:0", "host:70000", ":2181", "a:1,,b:2", "h:1/bad/", "h:1/a//b",
                          "[::1:2181", "::1:2181"}) {
    auto c = ZkClient::Create(bad, {});
    EXPECT_FALSE(c.ok()) << bad;
    if (!c.ok()) {
      EXPECT_EQ(c.status().code(), Code::kInvalidArgument) << bad;
      EXPECT_NE(c.status().message().find("connect string"), std::string::npos) << c.status().message();
    }
  }
}

TEST_F(ZkClientTest, BlockingForms) {
  auto created = client_->CreateNode(root_ + "/a", "hello");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->path, root_ + "/a");
  EXPECT_EQ(created->stat.data_length, 5);

  auto seq = client_->CreateNode(root_ + "/s-", "", {ZkCreateMode::kPersistentSequential});
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(seq->path, root_ + "/s-0000000001");
  auto eph = client_->CreateNode(root_ + "/e", "x", {ZkCreateMode::kEphemeral});
  ASSERT_TRUE(eph.ok());
  EXPECT_EQ(eph->stat.ephemeral_owner, client_->session_id());
  auto cont = client_->CreateNode(root_ + "/c", "", {ZkCreateMode::kContainer});
  ASSERT_TRUE(cont.ok()) << cont.status().ToString();
  ZkCreateOptions ttl{ZkCreateMode::kPersistentWithTtl};
  ttl.ttl_ms = 60000;
  auto t = client_->CreateNode(root_ + "/t", "", ttl);
  ASSERT_TRUE(t.ok()) << t.status().ToString();

  auto ex = client_->Exists(root_ + "/a");
  ASSERT_TRUE(ex.ok());
  ASSERT_TRUE(ex->has_value());
  EXPECT_EQ((*ex)->version, 0);
  auto missing = client_->Exists(root_ + "/nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  auto data = client_->GetData(root_ + "/a");
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->data, "hello");
  auto set = client_->SetData(root_ + "/a", "world", 0);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->version, 1);

  auto acl = client_->GetAcl(root_ + "/a");
  ASSERT_TRUE(acl.ok());
  EXPECT_EQ(acl->acl, ZkOpenAcl());
  std::vector<ZkAcl> read_admin{ZkAcl{zkperms::kRead | zkperms::kAdmin, "world", "anyone"}};
  auto setacl = client_->SetAcl(root_ + "/a", read_admin, 0);
  ASSERT_TRUE(setacl.ok()) << setacl.status().ToString();
  EXPECT_EQ(setacl->aversion, 1);
  ASSERT_TRUE(client_->SetAcl(root_ + "/a", ZkOpenAcl()).ok());

  auto kids = client_->GetChildren(root_);
  ASSERT_TRUE(kids.ok());
  auto names = kids->children;
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "c", "e", "s-0000000001", "t"}));
  EXPECT_EQ(kids->stat.num_children, 5);

  auto synced = client_->Sync(root_);
  ASSERT_TRUE(synced.ok());
  EXPECT_EQ(*synced, root_);

  auto ephs = client_->GetEphemerals(root_);
  ASSERT_TRUE(ephs.ok()) << ephs.status().ToString();
  EXPECT_EQ(*ephs, std::vector<std::string>{root_ + "/e"});
  auto n = client_->GetAllChildrenNumber(root_);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 5);
  auto who = client_->WhoAmI();
  ASSERT_TRUE(who.ok()) << who.status().ToString();
  ASSERT_FALSE(who->empty());
  EXPECT_EQ((*who)[0].auth_scheme, "ip");

  auto reads = client_->MultiRead({ZkOp::GetData(root_ + "/a"), ZkOp::GetChildren(root_),
                                   ZkOp::GetData(root_ + "/missing")});
  ASSERT_TRUE(reads.ok()) << reads.status().ToString();
  ASSERT_EQ(reads->size(), 3u);
  EXPECT_EQ((*reads)[0].data, "world");
  EXPECT_EQ((*reads)[1].children.size(), 5u);
  EXPECT_EQ((*reads)[2].err, ZkError::kNoNode);

  EXPECT_TRUE(client_->Delete(root_ + "/a", 1).ok());
  EXPECT_FALSE(client_->Exists(root_ + "/a")->has_value());
}

TEST_F(ZkClientTest, CallbackForms) {
  Promised<ZkCreated> c;
  client_->AsyncCreateNode(root_ + "/a", "v", {}, c.cb());
  auto created = c.get();
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->path, root_ + "/a");

  Promised<std::optional<ZkStat>> e;
  client_->AsyncExists(root_ + "/a", e.cb());
  auto ex = e.get();
  ASSERT_TRUE(ex.ok());
  EXPECT_TRUE(ex->has_value());

  Promised<ZkData> g;
  client_->AsyncGetData(root_ + "/a", g.cb());
  EXPECT_EQ(g.get()->data, "v");

  Promised<ZkStat> s;
  client_->AsyncSetData(root_ + "/a", "w", -1, s.cb());
  EXPECT_EQ(s.get()->version, 1);

  Promised<ZkAclResult> ga;
  client_->AsyncGetAcl(root_ + "/a", ga.cb());
  EXPECT_EQ(ga.get()->acl, ZkOpenAcl());
  Promised<ZkStat> sa;
  client_->AsyncSetAcl(root_ + "/a", ZkOpenAcl(), -1, sa.cb());
  EXPECT_TRUE(sa.get().ok());

  Promised<ZkChildren> ch;
  client_->AsyncGetChildren(root_, ch.cb());
  EXPECT_EQ(ch.get()->children, std::vector<std::string>{"a"});

  Promised<std::string> sy;
  client_->AsyncSync(root_, sy.cb());
  EXPECT_TRUE(sy.get().ok());

  Promised<std::vector<ZkOpResult>> m;
  client_->AsyncMulti(ZkTransaction().Check(root_ + "/a", 1).Create(root_ + "/b", "x"), m.cb());
  auto mr = m.get();
  ASSERT_TRUE(mr.ok()) << mr.status().ToString();
  EXPECT_EQ((*mr)[1].path, root_ + "/b");

  Promised<std::vector<ZkOpResult>> mrd;
  client_->AsyncMultiRead({ZkOp::GetData(root_ + "/b")}, mrd.cb());
  EXPECT_EQ(mrd.get()->at(0).data, "x");

  Promised<std::vector<std::string>> ep;
  client_->AsyncGetEphemerals("/", ep.cb());
  EXPECT_TRUE(ep.get().ok());
  Promised<int32_t> num;
  client_->AsyncGetAllChildrenNumber(root_, num.cb());
  EXPECT_EQ(*num.get(), 2);
  Promised<std::vector<ZkClientInfo>> who;
  client_->AsyncWhoAmI(who.cb());
  EXPECT_TRUE(who.get().ok());

  Recorder rec;
  PromisedDone aw;
  client_->AsyncAddWatch(root_, ZkWatchMode::kPersistent, rec.Watcher(), aw.cb());
  EXPECT_TRUE(aw.get().ok());
  PromisedDone rw;
  client_->AsyncRemoveWatches(root_, ZkWatcherType::kAny, rw.cb());
  EXPECT_TRUE(rw.get().ok());
  ASSERT_TRUE(rec.WaitEvents(1));
  EXPECT_EQ(rec.Events()[0], "PersistentWatchRemoved " + root_);

  PromisedDone au;
  client_->AsyncAddAuth("digest", "u:p", au.cb());
  EXPECT_TRUE(au.get().ok());

  PromisedDone d;
  client_->AsyncDelete(root_ + "/b", -1, d.cb());
  EXPECT_TRUE(d.get().ok());

  PromisedDone cl;
  client_->AsyncClose(cl.cb());
  EXPECT_TRUE(cl.get().ok());
  auto after = client_->GetData(root_ + "/a");
  EXPECT_EQ(ZkErrorOf(after.status()), ZkError::kConnectionLoss);
}

struct CoState {
  std::string failures;
  bool finished = false;
  void Check(bool ok, const char* what) {
    if (!ok) failures += std::string(what) + "; ";
  }
};

boost::asio::awaitable<void> AllOpsAsCoroutines(ZkClient* c, std::string root, CoState* st) {
  auto created = co_await c->CoCreateNode(root + "/a", "v");
  st->Check(created.ok() && created->path == root + "/a", "create");
  auto ex = co_await c->CoExists(root + "/a");
  st->Check(ex.ok() && ex->has_value(), "exists");
  auto g = co_await c->CoGetData(root + "/a");
  st->Check(g.ok() && g->data == "v", "getData");
  auto s = co_await c->CoSetData(root + "/a", "w");
  st->Check(s.ok() && s->version == 1, "setData");
  auto ga = co_await c->CoGetAcl(root + "/a");
  st->Check(ga.ok() && ga->acl == ZkOpenAcl(), "getAcl");
  auto sa = co_await c->CoSetAcl(root + "/a", ZkOpenAcl());
  st->Check(sa.ok(), "setAcl");
  auto ch = co_await c->CoGetChildren(root);
  st->Check(ch.ok() && ch->children.size() == 1, "getChildren");
  auto sy = co_await c->CoSync(root);
  st->Check(sy.ok(), "sync");
  ZkTransaction txn;
  txn.Create(root + "/b", "").Check(root + "/a", 1);
  auto m = co_await c->CoMulti(txn);
  st->Check(m.ok(), "multi");
  std::vector<ZkOp> reads{ZkOp::GetChildren(root)};
  auto mr = co_await c->CoMultiRead(reads);
  st->Check(mr.ok() && mr->at(0).children.size() == 2, "multiRead");
  auto ep = co_await c->CoGetEphemerals(root);
  st->Check(ep.ok() && ep->empty(), "getEphemerals");
  auto n = co_await c->CoGetAllChildrenNumber(root);
  st->Check(n.ok() && *n == 2, "getAllChildrenNumber");
  auto who = co_await c->CoWhoAmI();
  st->Check(who.ok(), "whoAmI");
  ZkWatcher ignore = [](const ZkWatchedEvent&) {};
  auto aw = co_await c->CoAddWatch(root, ZkWatchMode::kPersistentRecursive, ignore);
  st->Check(aw.ok(), "addWatch");
  auto rw = co_await c->CoRemoveWatches(root, ZkWatcherType::kAny);
  st->Check(rw.ok(), "removeWatches");
  auto au = co_await c->CoAddAuth("digest", "u:p");
  st->Check(au.ok(), "addAuth");
  auto d = co_await c->CoDelete(root + "/b");
  st->Check(d.ok(), "delete");
  auto nf = co_await c->CoDelete(root + "/b");
  st->Check(ZkErrorOf(nf) == ZkError::kNoNode, "delete missing");
  auto cl = co_await c->CoClose();
  st->Check(cl.ok(), "close");
  st->finished = true;
}

TEST_F(ZkClientTest, CoroutineForms) {
  boost::asio::io_context io;
  CoState st;
  boost::asio::co_spawn(io, AllOpsAsCoroutines(client_.get(), root_, &st), boost::asio::detached);
  io.run_for(30s);
  EXPECT_TRUE(st.finished);
  EXPECT_EQ(st.failures, "");
}

TEST_F(ZkClientTest, Errors) {
  auto nonode = client_->GetData(root_ + "/missing");
  EXPECT_EQ(ZkErrorOf(nonode.status()), ZkError::kNoNode);
  EXPECT_EQ(nonode.status().code(), Code::kNotFound);
  EXPECT_EQ(nonode.status().message().rfind("NONODE: ", 0), 0u) << nonode.status().message();

  ASSERT_TRUE(client_->CreateNode(root_ + "/a", "").ok());
  auto exists = client_->CreateNode(root_ + "/a", "");
  EXPECT_EQ(ZkErrorOf(exists.status()), ZkError::kNodeExists);
  EXPECT_EQ(exists.status().code(), Code::kAlreadyExists);

  auto badver = client_->SetData(root_ + "/a", "x", 7);
  EXPECT_EQ(ZkErrorOf(badver.status()), ZkError::kBadVersion);
  EXPECT_EQ(ZkErrorOf(client_->Delete(root_ + "/a", 3)), ZkError::kBadVersion);

  ASSERT_TRUE(client_->CreateNode(root_ + "/a/child", "").ok());
  Status notempty = client_->Delete(root_ + "/a");
  EXPECT_EQ(ZkErrorOf(notempty), ZkError::kNotEmpty) << notempty.ToString();

  // A node only user u can read.
  ZkClientOptions authed;
  authed.auth = {{"digest", "u:secret"}};
  auto owner = Connect("", authed);
  ASSERT_TRUE(owner);
  auto secret = owner->CreateNode(root_ + "/secret", "s", ZkCreateOptions{ZkCreateMode::kPersistent, ZkCreatorAllAcl()});
  ASSERT_TRUE(secret.ok()) << secret.status().ToString();
  auto acl = owner->GetAcl(root_ + "/secret");
  ASSERT_TRUE(acl.ok());
  ASSERT_EQ(acl->acl.size(), 1u);
  EXPECT_EQ(acl->acl[0].scheme, "digest");
  EXPECT_EQ(acl->acl[0].id.rfind("u:", 0), 0u);
  EXPECT_EQ(owner->GetData(root_ + "/secret")->data, "s");
  auto noauth = client_->GetData(root_ + "/secret");
  EXPECT_EQ(ZkErrorOf(noauth.status()), ZkError::kNoAuth);
  EXPECT_EQ(noauth.status().code(), Code::kPermissionDenied);
  // After addAuth the same client can read it.
  ASSERT_TRUE(client_->AddAuth("digest", "u:secret").ok());
  EXPECT_EQ(client_->GetData(root_ + "/secret")->data, "s");

  // Refused locally.
  EXPECT_EQ(ZkErrorOf(client_->GetData("relative").status()), ZkError::kBadArguments);
  EXPECT_EQ(ZkErrorOf(client_->RemoveWatches(root_, ZkWatcherType::kData)), ZkError::kNoWatcher);
}

TEST_F(ZkClientTest, WatchesFireOnceAndBeforeLaterReads) {
  auto other = Connect();
  ASSERT_TRUE(other);
  ASSERT_TRUE(client_->CreateNode(root_ + "/a", "0").ok());
  Recorder rec;
  ASSERT_TRUE(client_->GetData(root_ + "/a", rec.Watcher("data ")).ok());
  ASSERT_TRUE(client_->Exists(root_ + "/b", rec.Watcher("exists ")).ok());
  ASSERT_TRUE(client_->GetChildren(root_, rec.Watcher("child ")).ok());

  ASSERT_TRUE(other->SetData(root_ + "/a", "1").ok());
  // Read after the change: its result comes after the watch event.
  std::promise<void> read_done;
  client_->AsyncGetData(root_ + "/a", [&](Result<ZkData> r) {
    rec.Note("read " + (r.ok() ? r->data : r.status().ToString()));
    read_done.set_value();
  });
  ASSERT_EQ(read_done.get_future().wait_for(10s), std::future_status::ready);
  ASSERT_TRUE(other->SetData(root_ + "/a", "2").ok());  // no watch left: no event
  ASSERT_TRUE(other->CreateNode(root_ + "/b", "").ok());
  ASSERT_TRUE(rec.WaitEvents(4));
  ASSERT_TRUE(other->CreateNode(root_ + "/c", "").ok());  // child watch already fired
  ASSERT_TRUE(client_->Sync(root_).ok());
  ASSERT_TRUE(client_->GetData(root_ + "/a").ok());  // a round trip after the last change
  auto ev = rec.Events();
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0], "data NodeDataChanged " + root_ + "/a");
  EXPECT_EQ(ev[1], "read 1");
  EXPECT_EQ(ev[2], "exists NodeCreated " + root_ + "/b");
  EXPECT_EQ(ev[3], "child NodeChildrenChanged " + root_);
}

TEST_F(ZkClientTest, PersistentRecursiveWatch) {
  auto other = Connect();
  ASSERT_TRUE(other);
  Recorder rec;
  ASSERT_TRUE(client_->AddWatch(root_, ZkWatchMode::kPersistentRecursive, rec.Watcher()).ok());
  ASSERT_TRUE(other->CreateNode(root_ + "/x", "").ok());
  ASSERT_TRUE(other->CreateNode(root_ + "/x/y", "").ok());
  ASSERT_TRUE(other->SetData(root_ + "/x/y", "1").ok());
  ASSERT_TRUE(other->SetData(root_ + "/x/y", "2").ok());
  ASSERT_TRUE(other->Delete(root_ + "/x/y").ok());
  ASSERT_TRUE(rec.WaitEvents(5));
  EXPECT_EQ(rec.Events(), (std::vector<std::string>{
                              "NodeCreated " + root_ + "/x",
                              "NodeCreated " + root_ + "/x/y",
                              "NodeDataChanged " + root_ + "/x/y",
                              "NodeDataChanged " + root_ + "/x/y",
                              "NodeDeleted " + root_ + "/x/y",
                          }));
  ASSERT_TRUE(client_->RemoveWatches(root_, ZkWatcherType::kAny).ok());
  ASSERT_TRUE(rec.WaitEvents(6));
  EXPECT_EQ(rec.Events()[5], "PersistentWatchRemoved " + root_);
  ASSERT_TRUE(other->CreateNode(root_ + "/z", "").ok());
  ASSERT_TRUE(client_->Sync(root_).ok());
  ASSERT_TRUE(client_->GetData(root_).ok());
  EXPECT_EQ(rec.Events().size(), 6u);
}

TEST_F(ZkClientTest, Chroot) {
  auto rooted = Connect(root_);
  ASSERT_TRUE(rooted);
  Recorder rec;
  ASSERT_TRUE(rooted->Exists("/n", rec.Watcher()).ok());
  auto created = rooted->CreateNode("/n-", "v", {ZkCreateMode::kPersistentSequential});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->path, "/n-0000000000");
  ASSERT_TRUE(rooted->CreateNode("/n", "").ok());
  ASSERT_TRUE(rec.WaitEvents(1));
  EXPECT_EQ(rec.Events()[0], "NodeCreated /n");
  EXPECT_TRUE(client_->Exists(root_ + "/n-0000000000")->has_value());
  auto kids = rooted->GetChildren("/");
  ASSERT_TRUE(kids.ok());
  EXPECT_EQ(kids->children.size(), 2u);
  auto synced = rooted->Sync("/n");
  ASSERT_TRUE(synced.ok());
  EXPECT_EQ(*synced, "/n");
  auto m = rooted->Multi(ZkTransaction().Create("/m", "").SetData("/n", "x"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)[0].path, "/m");
  EXPECT_EQ(client_->GetData(root_ + "/n")->data, "x");
}

TEST_F(ZkClientTest, MultiSuccessAndFailure) {
  ASSERT_TRUE(client_->CreateNode(root_ + "/a", "").ok());
  auto ok = client_->Multi(ZkTransaction()
                               .Check(root_ + "/a", 0)
                               .Create(root_ + "/b", "b")
                               .SetData(root_ + "/a", "x", 0)
                               .Create(root_ + "/s-", "", {ZkCreateMode::kPersistentSequential}));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  ASSERT_EQ(ok->size(), 4u);
  EXPECT_EQ((*ok)[1].path, root_ + "/b");
  EXPECT_EQ((*ok)[2].stat.version, 1);
  EXPECT_EQ((*ok)[3].path.substr(0, root_.size() + 3), root_ + "/s-");

  auto bad = client_->Multi(ZkTransaction().Create(root_ + "/c", "").Check(root_ + "/a", 0).Delete(root_ + "/b"));
  EXPECT_EQ(ZkErrorOf(bad.status()), ZkError::kBadVersion);
  EXPECT_NE(bad.status().message().find("multi op 1 (check"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(client_->Exists(root_ + "/c")->has_value());  // nothing applied
  EXPECT_TRUE(client_->Exists(root_ + "/b")->has_value());
}

TEST_F(ZkClientTest, MultiHostWithDeadHostFirst) {
  ZkClientOptions o;
  o.shuffle_hosts = false;
  o.connect_timeout = 2000ms;
  std::string dead = "127.0.0.1:" + std::to_string(FreePort());
  auto c = ZkClient::Create(dead + "," + Server::Get().connect(), o);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->WaitConnected(20s).ok());
  EXPECT_EQ((*c)->connected_host(), Server::Get().connect());
  EXPECT_TRUE((*c)->Exists("/")->has_value());
}

// These stop the server: last.
class ZkSessionTest : public ZkClientTest {};

TEST_F(ZkSessionTest, SessionReestablishedAfterServerPause) {
  Recorder rec;
  ZkClientOptions o;
  o.session_timeout = 12000ms;
  o.state_listener = rec.StateListener();
  auto c = Connect("", o);
  ASSERT_TRUE(c);
  ASSERT_TRUE(rec.WaitState(ZkSessionState::kConnected));
  ZkClientOptions patient;
  patient.session_timeout = 40000ms;
  auto other = Connect("", patient);
  ASSERT_TRUE(other);
  ASSERT_TRUE(c->CreateNode(root_ + "/w", "0").ok());
  ASSERT_TRUE(c->GetData(root_ + "/w", rec.Watcher("data ")).ok());
  ASSERT_TRUE(c->GetChildren(root_, rec.Watcher("child ")).ok());
  ASSERT_TRUE(c->AddWatch(root_ + "/p", ZkWatchMode::kPersistent, rec.Watcher("persistent ")).ok());
  int64_t session = c->session_id();

  Server::Get().Stop();
  bool suspended = rec.WaitState(ZkSessionState::kSuspended, 15s);
  // The change happens while `c` is disconnected: `other`'s request waits in
  // its socket until the server continues.
  Promised<ZkStat> changed;
  other->AsyncSetData(root_ + "/w", "1", -1, changed.cb());
  Promised<ZkCreated> created;
  other->AsyncCreateNode(root_ + "/p", "", {}, created.cb());
  Server::Get().Continue();
  ASSERT_TRUE(suspended);
  ASSERT_TRUE(changed.get().ok());
  ASSERT_TRUE(created.get().ok());
  ASSERT_TRUE(rec.WaitState(ZkSessionState::kReconnected, 20s));
  EXPECT_EQ(c->session_id(), session);
  // The one-shot watches fire for the changes made while disconnected
  // (setWatches2 with the last zxid seen), whichever came first.
  EXPECT_TRUE(rec.WaitContains("data NodeDataChanged " + root_ + "/w"));
  EXPECT_TRUE(rec.WaitContains("child NodeChildrenChanged " + root_));
  // The persistent watch is armed again (ZooKeeper does not replay missed
  // events to persistent watches).
  ASSERT_TRUE(other->SetData(root_ + "/p", "x").ok());
  EXPECT_TRUE(rec.WaitContains("persistent NodeDataChanged " + root_ + "/p"));
  auto ev = rec.Events();
  EXPECT_EQ(std::count(ev.begin(), ev.end(), "data NodeDataChanged " + root_ + "/w"), 1);
  EXPECT_EQ(std::count(ev.begin(), ev.end(), "child NodeChildrenChanged " + root_), 1);
  if (HasFailure()) {
    for (const auto& e : ev) std::fprintf(stderr, "event: %s\n", e.c_str());
  }
  EXPECT_EQ(c->GetData(root_ + "/w")->data, "1");
  {
    std::lock_guard lock(rec.mu);
    EXPECT_EQ(std::count(rec.states.begin(), rec.states.end(), ZkSessionState::kLost), 0);
  }
}

TEST_F(ZkSessionTest, SessionExpiresWhenServerPausedTooLong) {
  Recorder rec;
  ZkClientOptions o;
  o.session_timeout = 4000ms;
  o.state_listener = rec.StateListener();
  auto c = Connect("", o);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->CreateNode(root_ + "/eph", "", {ZkCreateMode::kEphemeral}).ok());
  ASSERT_TRUE(c->GetData(root_ + "/eph", rec.Watcher()).ok());
  auto timeout = c->negotiated_session_timeout();

  Server::Get().Stop();
  bool lost = rec.WaitState(ZkSessionState::kLost, 30s);
  // Past the server's own expiry (rounded up to a tick) before it continues.
  std::this_thread::sleep_for(timeout / 2 + 2s);
  Server::Get().Continue();
  ASSERT_TRUE(lost);
  bool expired = rec.WaitState(ZkSessionState::kExpired, 30s);
  if (!expired) {
    std::lock_guard lock(rec.mu);
    for (auto st : rec.states) std::fprintf(stderr, "state: %s\n", std::string(ZkSessionStateName(st)).c_str());
  }
  ASSERT_TRUE(expired);
  ASSERT_TRUE(rec.WaitEvents(1));
  EXPECT_EQ(rec.Events()[0], "None  Expired");
  auto after = c->GetData(root_);
  EXPECT_EQ(ZkErrorOf(after.status()), ZkError::kSessionExpired);
  EXPECT_EQ(ZkErrorOf(c->WaitConnected(1s)), ZkError::kSessionExpired);
  // The server dropped the ephemeral node with the session.
  auto fresh = Connect();
  ASSERT_TRUE(fresh);
  EXPECT_FALSE(fresh->Exists(root_ + "/eph")->has_value());
}

}  // namespace
}  // namespace dougong::zk

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new dougong::zk::KillServer);
  return RUN_ALL_TESTS();
}
