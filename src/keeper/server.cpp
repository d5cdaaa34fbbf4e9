#include "dougong/keeper/server.h"

#include <condition_variable>
#include <mutex>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "keeper/connection.h"
#include "keeper/core.h"
#include "net/io_pool.h"
#include "net/listener.h"

namespace dougong::keeper {

namespace http = boost::beast::http;
using boost::asio::ip::tcp;

namespace {

// One admin HTTP connection: /health, /metrics, POST /snapshot.
class AdminSession : public std::enable_shared_from_this<AdminSession> {
 public:
  AdminSession(tcp::socket socket, Core* core) : stream_(std::move(socket)), core_(core) {}
  void Start() { Read(); }

 private:
  void Read() {
    req_ = {};
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buf_, req_, [self = shared_from_this()](boost::beast::error_code ec, size_t) {
      if (ec) return;
      self->Handle();
    });
  }

  void Handle() {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(req_.version());
    res->keep_alive(req_.keep_alive());
    res->set(http::field::server, "dougong-keeper");
    std::string_view target = req_.target();
    if (target == "/health" || target == "/commands/ruok") {
      res->result(http::status::ok);
      res->set(http::field::content_type, "text/plain");
      res->body() = "OK\n";
    } else if (target == "/metrics") {
      res->result(http::status::ok);
      res->set(http::field::content_type, "text/plain; version=0.0.4");
      res->body() = core_->MetricsText();
    } else if (target == "/snapshot") {
      if (req_.method() != http::verb::post) {
        res->result(http::status::method_not_allowed);
        res->body() = "use POST /snapshot\n";
      } else {
        Status s = core_->TriggerSnapshot();
        res->result(s.ok() ? http::status::accepted : http::status::conflict);
        res->body() = s.ok() ? "snapshot started\n" : s.message() + "\n";
      }
    } else {
      res->result(http::status::not_found);
      res->set(http::field::content_type, "text/plain");
      res->body() = "not found; try /health, /metrics, POST /snapshot\n";
    }
    res->prepare_payload();
    http::async_write(stream_, *res, [self = shared_from_this(), res](boost::beast::error_code ec, size_t) {
      if (ec || !res->keep_alive()) {
        boost::beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        return;
      }
      self->Read();
    });
  }

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  Core* core_;
};

Result<tcp::endpoint> Endpoint(const std::string& host, int port) {
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(host, ec);
  if (ec) return Status(Code::kInvalidArgument, "bad listen address '" + host + "': " + ec.message());
  return tcp::endpoint(addr, static_cast<uint16_t>(port));
}

Status Listen(tcp::acceptor& acceptor, const tcp::endpoint& ep, const char* what) {
  boost::system::error_code ec = net::OpenListener(acceptor, ep, 1024);
  if (ec) {
    return Status(Code::kUnavailable,
                  std::string("cannot listen on ") + what + " " + ep.address().to_string() + ":" +
                      std::to_string(ep.port()) + ": " + ec.message());
  }
  return Status::Ok();
}

}  // namespace

struct KeeperServer::Impl {
  Impl(const KeeperOptions& o, std::unique_ptr<Replicator> replicator)
      : options(o), pool(o.io_threads > 0 ? o.io_threads : net::DefaultThreads()), core(o, std::move(replicator)),
        acceptor(pool.at(0)), admin_acceptor(pool.at(0)) {}

  void Accept() {
    acceptor.async_accept(pool.Next(), [this](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec == boost::asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) {
        boost::system::error_code rec;
        auto ep = socket.remote_endpoint(rec);
        std::string ip = rec ? std::string() : ep.address().to_string();
        if (ep.address().is_v6() && ep.address().to_v6().is_v4_mapped()) {
          ip = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, ep.address().to_v6()).to_string();
        }
        if (!core.AdmitConnection(ip)) {
          spdlog::warn("keeper: too many connections from {} (max_client_cnxns_per_ip {}); closing", ip,
                       options.max_client_cnxns_per_ip);
          socket.close(rec);
        } else {
          auto conn = std::make_shared<ZkConnection>(std::move(socket), &core, options.max_buffer);
          boost::asio::post(conn->executor(), [conn] { conn->Start(); });
        }
        Accept();
        return;
      }
      // EMFILE and friends: try again shortly instead of spinning.
      spdlog::warn("keeper: accept: {}", ec.message());
      auto timer = std::make_shared<boost::asio::steady_timer>(pool.at(0), std::chrono::milliseconds(100));
      timer->async_wait([this, timer](const boost::system::error_code&) { Accept(); });
    });
  }

  void AcceptAdmin() {
    admin_acceptor.async_accept(pool.Next(), [this](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec == boost::asio::error::operation_aborted || !admin_acceptor.is_open()) return;
      if (!ec) std::make_shared<AdminSession>(std::move(socket), &core)->Start();
      AcceptAdmin();
    });
  }

  KeeperOptions options;
  net::IoPool pool;  // outlives the core, which holds connections
  Core core;
  tcp::acceptor acceptor;
  tcp::acceptor admin_acceptor;
  int port = 0;
  int admin_port = 0;
  std::mutex mu;
  std::condition_variable cv;
  bool stopped = false;
};

Result<std::unique_ptr<KeeperServer>> KeeperServer::Start(const KeeperOptions& options) {
  return Start(options, nullptr);
}

Result<std::unique_ptr<KeeperServer>> KeeperServer::Start(const KeeperOptions& options,
                                                         std::unique_ptr<Replicator> replicator) {
  auto impl = std::make_unique<Impl>(options, std::move(replicator));
  if (Status s = impl->core.Recover(); !s.ok()) return s;
  Result<tcp::endpoint> ep = Endpoint(options.host, options.port);
  if (!ep.ok()) return ep.status();
  if (Status s = Listen(impl->acceptor, *ep, "the client port"); !s.ok()) return s;
  impl->port = impl->acceptor.local_endpoint().port();
  impl->core.client_port = impl->port;
  if (options.admin_port > 0) {
    Result<tcp::endpoint> aep = Endpoint(options.admin_host, options.admin_port);
    if (!aep.ok()) return aep.status();
    if (Status s = Listen(impl->admin_acceptor, *aep, "the admin port"); !s.ok()) return s;
    impl->admin_port = impl->admin_acceptor.local_endpoint().port();
  }
  if (Status s = impl->core.Start(); !s.ok()) {
    impl->core.Stop();
    return s;
  }
  impl->pool.Start();
  boost::asio::post(impl->pool.at(0), [p = impl.get()] {
    p->Accept();
    if (p->admin_acceptor.is_open()) p->AcceptAdmin();
  });
  return std::unique_ptr<KeeperServer>(new KeeperServer(std::move(impl)));
}

KeeperServer::KeeperServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KeeperServer::~KeeperServer() { Stop(); }

void KeeperServer::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  net::RunAndWait(impl_->pool.at(0), [this] {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    impl_->admin_acceptor.close(ec);
  });
  impl_->pool.Stop();
  impl_->core.Stop();
  impl_->cv.notify_all();
}

void KeeperServer::Wait() {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->cv.wait(lock, [this] { return impl_->stopped; });
}

int KeeperServer::port() const { return impl_->port; }
int KeeperServer::admin_port() const { return impl_->admin_port; }
Status KeeperServer::TriggerSnapshot() { return impl_->core.TriggerSnapshot(); }
std::string KeeperServer::recovery_summary() const { return impl_->core.recovery_summary(); }

}  // namespace dougong::keeper
