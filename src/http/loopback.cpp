#include "http/loopback.hpp"

#include <exception>
#include <optional>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace latchkey::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr std::uint32_t kMaxHeaderBytes = 8 * 1024;
constexpr auto kRequestTimeout = std::chrono::seconds(10);
constexpr int kMaxConnections = 16;

constexpr std::string_view kDonePage =
    "<!doctype html>\n<html lang=\"en\"><meta charset=\"utf-8\"><title>Latchkey</title>\n"
    "<p>The sign-in answer reached the command line. You can close this window.</p></html>\n";
constexpr std::string_view kNotFoundPage =
    "<!doctype html>\n<html lang=\"en\"><meta charset=\"utf-8\"><title>Latchkey</title>\n"
    "<p>Not found.</p></html>\n";
constexpr std::string_view kNotMethodPage =
    "<!doctype html>\n<html lang=\"en\"><meta charset=\"utf-8\"><title>Latchkey</title>\n"
    "<p>Method not allowed.</p></html>\n";
constexpr std::string_view kNotOursPage =
    "<!doctype html>\n<html lang=\"en\"><meta charset=\"utf-8\"><title>Latchkey</title>\n"
    "<p>This is not the answer to the sign-in the command line is waiting for.</p></html>\n";

// Answer: what one request gets, decided from its method and target alone.
struct Answer {
  bhttp::status status = bhttp::status::not_found;
  std::string_view page = kNotFoundPage;
  std::optional<std::string> query;  // set when this request ends the wait
};

// State: what the connections of one WaitForQuery share (all on one thread).
struct State {
  std::string_view path;
  const std::function<bool(std::string_view)>& accept;
  asio::io_context& ioc;
  std::optional<std::string> query;
  std::string failure;  // why the listener stopped early
  int connections = 0;
};

// Decide: request-target = origin-form = absolute-path [ "?" query ] (RFC 9112 §3.2.1). The path is
// compared as sent, without percent-decoding, so "/%63allback" is not "/callback".
Answer Decide(bhttp::verb method, std::string_view target, const State& state) {
  const auto question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query = question == std::string_view::npos ? "" : target.substr(question + 1);
  if (path != state.path) return {};
  if (method != bhttp::verb::get) return {bhttp::status::method_not_allowed, kNotMethodPage, std::nullopt};
  // Once one answer was taken, later ones (a reload, a second tab) cannot replace it.
  if (state.query || !state.accept(query)) return {bhttp::status::bad_request, kNotOursPage, std::nullopt};
  return {bhttp::status::ok, kDonePage, std::string(query)};
}

asio::awaitable<void> Respond(beast::tcp_stream& stream, bhttp::status status, std::string_view page) {
  bhttp::response<bhttp::string_body> response{status, 11};
  response.set(bhttp::field::content_type, "text/html; charset=utf-8");
  response.set(bhttp::field::cache_control, "no-store");
  // The page loads nothing and runs nothing; the URL it answers carries an authorization code, so
  // it must not leak through a Referer either.
  response.set("Content-Security-Policy", "default-src 'none'");
  response.set("Referrer-Policy", "no-referrer");
  response.set("X-Content-Type-Options", "nosniff");
  if (status == bhttp::status::method_not_allowed) response.set(bhttp::field::allow, "GET");
  response.keep_alive(false);
  response.body() = std::string(page);
  response.prepare_payload();
  co_await bhttp::async_write(stream, response, kAwait);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> Serve(tcp::socket socket, State& state) {
  beast::tcp_stream stream(std::move(socket));
  // A connection that never sends a request (a browser's speculative pre-connect, a port scan)
  // gives up its slot after the timeout instead of holding it for the whole wait.
  stream.expires_after(kRequestTimeout);
  beast::flat_buffer buffer;
  bhttp::request_parser<bhttp::empty_body> parser;
  parser.header_limit(kMaxHeaderBytes);
  auto [read_ec, read_bytes] = co_await bhttp::async_read(stream, buffer, parser, kAwait);
  if (read_ec == bhttp::error::header_limit) {
    co_await Respond(stream, bhttp::status::request_header_fields_too_large, kNotOursPage);
    co_return;
  }
  if (read_ec) co_return;  // closed, timed out or not HTTP: nobody to answer
  const auto& request = parser.get();
  Answer answer = Decide(request.method(), request.target(), state);
  if (answer.query) state.query = std::move(answer.query);
  co_await Respond(stream, answer.status, answer.page);
  if (state.query) state.ioc.stop();
}

asio::awaitable<void> Accept(tcp::acceptor& acceptor, State& state) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kAwait);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec == asio::error::connection_aborted) continue;  // reset before it was accepted
    if (ec) {
      // Out of file descriptors and the like: retrying at once would only spin.
      state.failure = "accept failed: " + ec.message();
      co_return;
    }
    if (state.connections >= kMaxConnections) continue;  // the socket closes as it goes out of scope
    ++state.connections;
    asio::co_spawn(acceptor.get_executor(), Serve(std::move(socket), state), [&state](std::exception_ptr) {
      // Only allocation failure can throw in Serve; the connection is gone either way.
      --state.connections;
    });
  }
}

}  // namespace

struct LoopbackRedirect::Impl {
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
};

LoopbackRedirect::LoopbackRedirect() : impl_(std::make_unique<Impl>()) {}

LoopbackRedirect::~LoopbackRedirect() = default;

common::Result<uint16_t, LoopbackError> LoopbackRedirect::Start(uint16_t port) {
  if (!impl_ || impl_->acceptor.is_open())
    return LoopbackError{LoopbackError::Code::kWrongState, "already started"};
  const tcp::endpoint endpoint(asio::ip::address_v4::loopback(), port);
  const auto fail = [&](std::string_view step, const beast::error_code& ec) {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    return LoopbackError{LoopbackError::Code::kCannotListen,
                         std::string(step) + " 127.0.0.1:" + std::to_string(port) + ": " + ec.message()};
  };
  beast::error_code ec;
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("cannot open a socket for", ec);
  // SO_REUSEADDR: a fixed --port must be reusable at once, while the connection of the previous
  // run (closed by this side) still sits in TIME_WAIT. Linux still refuses a port that another
  // socket listens on.
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("cannot open a socket for", ec);
  impl_->acceptor.bind(endpoint, ec);
  if (ec) return fail("cannot listen on", ec);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("cannot listen on", ec);
  auto local = impl_->acceptor.local_endpoint(ec);
  if (ec) return fail("cannot listen on", ec);
  return local.port();
}

common::Result<std::string, LoopbackError> LoopbackRedirect::WaitForQuery(
    std::string_view path, std::chrono::milliseconds timeout,
    const std::function<bool(std::string_view query)>& accept) {
  if (!impl_ || !impl_->acceptor.is_open())
    return LoopbackError{LoopbackError::Code::kWrongState, "not started"};
  std::unique_ptr<Impl> impl = std::move(impl_);
  State state{path, accept, impl->ioc, std::nullopt, {}, 0};
  asio::co_spawn(impl->ioc, Accept(impl->acceptor, state), [](std::exception_ptr) {});
  impl->ioc.run_for(timeout);
  // One-shot: destroying the io_context closes the listener and every connection still open (their
  // coroutines are destroyed without running further) while `state`, which they refer to, exists.
  impl.reset();
  if (state.query) return std::move(*state.query);
  if (!state.failure.empty())
    return LoopbackError{LoopbackError::Code::kAcceptFailed, std::move(state.failure)};
  return LoopbackError{LoopbackError::Code::kTimedOut, "timed out"};
}

}  // namespace latchkey::http
