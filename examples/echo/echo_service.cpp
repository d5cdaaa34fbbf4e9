#include "echo_service.h"

#include <algorithm>
#include <chrono>

#include <boost/asio/error.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace dougong::example {

::dougong::rpc::Awaitable<::dougong::Status> EchoServiceImpl::CoEcho(
    ::dougong::rpc::ServerContext& ctx, const EchoRequest& request, EchoResponse* response) {
  response->set_message(request.message());
  response->set_payload(request.payload());
  ctx.set_response_attachment(ctx.request_attachment());  // shares the bytes
  for (const auto& [key, value] : ctx.request_metadata()) ctx.AddResponseMetadata(key, value);

  if (request.sleep_ms() > 0) {
    using Clock = ::dougong::rpc::ServerContext::Clock;
    // Never wait past the deadline: the caller has given up by then.
    Clock::time_point wake = Clock::now() + std::chrono::milliseconds(request.sleep_ms());
    if (ctx.has_deadline()) wake = std::min(wake, ctx.deadline());

    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, wake);
    boost::system::error_code ec;
    try {
      co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    } catch (const boost::system::system_error& e) {
      // Cancellation requested before the wait began: asio throws on co_await.
      ec = e.code();
    }
    if (ctx.has_deadline() && Clock::now() >= ctx.deadline())
      co_return ::dougong::DeadlineExceeded("deadline passed while sleeping");
    if (ec == boost::asio::error::operation_aborted || ctx.IsCanceled())
      co_return ::dougong::Cancelled("call cancelled while sleeping");
    if (ec) co_return ::dougong::Internal("timer failed: " + ec.message());
  }
  co_return ::dougong::Status();
}

}  // namespace dougong::example
