#pragma once

// TestListener: a tiny plain-HTTP/1.1 server on 127.0.0.1 (ephemeral port) for tests of outbound
// requests. It records every request it reads and answers each with the next status of a script
// (the last status repeats), or, when silent, reads the request and never answers. One
// connection per request ("Connection: close"). Runs on its own thread until destroyed.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/strings.hpp"
#include "http/message.hpp"

namespace latchkey::http::testing {

// ReceivedRequest: one request as the listener read it. Header names are lowercased.
struct ReceivedRequest {
  std::string method;
  std::string target;
  Headers headers;
  std::string body;

  // Header returns the first value of header `name` (lowercase), or "".
  std::string Header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return "";
  }
};

class TestListener {
 public:
  // statuses: the status of the 1st, 2nd, ... response; the last one repeats. silent: never answer.
  explicit TestListener(std::vector<int> statuses = {200}, std::string body = "ok", bool silent = false)
      : statuses_(std::move(statuses)), body_(std::move(body)), silent_(silent) {
    acceptor_.open(boost::asio::ip::tcp::v4());
    acceptor_.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    boost::asio::co_spawn(ioc_, Accept(), boost::asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TestListener() {
    ioc_.stop();
    thread_.join();
  }
  TestListener(const TestListener&) = delete;
  TestListener& operator=(const TestListener&) = delete;

  uint16_t Port() const { return port_; }
  // Url returns "http://127.0.0.1:<port>" + path.
  std::string Url(std::string_view path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  std::vector<ReceivedRequest> Received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  static constexpr auto kAwait = boost::asio::as_tuple(boost::asio::use_awaitable);

  boost::asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kAwait);
      if (ec) co_return;
      boost::asio::co_spawn(ioc_, Serve(std::move(socket)), boost::asio::detached);
    }
  }

  boost::asio::awaitable<void> Serve(boost::asio::ip::tcp::socket socket) {
    namespace bhttp = boost::beast::http;
    boost::beast::tcp_stream stream(std::move(socket));
    boost::beast::flat_buffer buffer;
    bhttp::request<bhttp::string_body> request;
    auto [read_ec, read_bytes] = co_await bhttp::async_read(stream, buffer, request, kAwait);
    if (read_ec) co_return;  // e.g. a TLS ClientHello: close without answering
    int status = 0;
    {
      std::lock_guard lock(mutex_);
      ReceivedRequest received{
          std::string(request.method_string()), std::string(request.target()), {}, request.body()};
      for (const auto& field : request) {
        received.headers.emplace_back(common::ToLower(field.name_string()), std::string(field.value()));
      }
      received_.push_back(std::move(received));
      status = statuses_[std::min(received_.size(), statuses_.size()) - 1];
    }
    if (silent_) {
      // Hold the connection open until the listener is destroyed.
      boost::asio::steady_timer forever(ioc_, boost::asio::steady_timer::time_point::max());
      co_await forever.async_wait(kAwait);
      co_return;
    }
    bhttp::response<bhttp::string_body> response{static_cast<bhttp::status>(status), 11};
    response.set(bhttp::field::content_type, "text/plain");
    response.set(bhttp::field::connection, "close");
    response.body() = body_;
    response.prepare_payload();
    co_await bhttp::async_write(stream, response, kAwait);
    boost::beast::error_code ignored;
    stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
  }

  const std::vector<int> statuses_;
  const std::string body_;
  const bool silent_;
  boost::asio::io_context ioc_{1};
  boost::asio::ip::tcp::acceptor acceptor_{ioc_};
  uint16_t port_ = 0;
  mutable std::mutex mutex_;
  std::vector<ReceivedRequest> received_;
  std::thread thread_;
};

// UnusedPort returns a loopback port that nothing listens on (bound, then released).
inline uint16_t UnusedPort() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

}  // namespace latchkey::http::testing
