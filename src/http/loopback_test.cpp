#include "http/loopback.hpp"

#include <chrono>
#include <future>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

namespace latchkey::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using WaitResult = common::Result<std::string, LoopbackError>;

// Connect opens a connection to the listener (blocking; the listener's own timeouts bound every
// read, since it closes all its connections when its wait ends).
tcp::socket Connect(asio::io_context& ioc, uint16_t port) {
  tcp::socket socket(ioc);
  boost::system::error_code ec;
  socket.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port), ec);
  EXPECT_FALSE(ec) << ec.message();
  return socket;
}

// Exchange sends `request` on a new connection and returns everything the listener answers before
// it closes the connection.
std::string Exchange(uint16_t port, const std::string& request) {
  asio::io_context ioc;
  tcp::socket socket = Connect(ioc, port);
  boost::system::error_code ec;
  asio::write(socket, asio::buffer(request), ec);
  EXPECT_FALSE(ec) << ec.message();
  std::string response;
  asio::read(socket, asio::dynamic_buffer(response), ec);  // until EOF
  return response;
}

std::string Get(uint16_t port, std::string_view target) {
  return Exchange(port, "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
}

int StatusOf(std::string_view response) {
  // "HTTP/1.1 200 OK"
  if (response.size() < 12 || response.substr(0, 9) != "HTTP/1.1 ") return 0;
  return std::stoi(std::string(response.substr(9, 3)));
}

bool StillWaiting(std::future<WaitResult>& wait) { return wait.wait_for(0ms) == std::future_status::timeout; }

class LoopbackTest : public ::testing::Test {
 protected:
  // StartWaiting starts the listener on a free port and waits for "/callback" on another thread,
  // accepting only queries that `accept` approves.
  std::future<WaitResult> StartWaiting(std::function<bool(std::string_view)> accept,
                                       std::chrono::milliseconds timeout = 10s) {
    auto port = listener_.Start(0);
    EXPECT_TRUE(port.has_value()) << (port ? "" : port.error().message);
    port_ = port ? *port : 0;
    EXPECT_NE(port_, 0);
    accept_ = std::move(accept);
    return std::async(std::launch::async,
                      [this, timeout] { return listener_.WaitForQuery("/callback", timeout, accept_); });
  }

  LoopbackRedirect listener_;
  uint16_t port_ = 0;
  std::function<bool(std::string_view)> accept_;
};

TEST_F(LoopbackTest, ReturnsTheQueryOfTheCallbackAndAnswersWithAPage) {
  auto wait = StartWaiting([](std::string_view) { return true; });
  const std::string response = Get(port_, "/callback?code=abc%2Fd&state=xyz");
  EXPECT_EQ(StatusOf(response), 200) << response;
  EXPECT_NE(response.find("You can close this window"), std::string::npos) << response;
  EXPECT_NE(response.find("Content-Type: text/html; charset=utf-8"), std::string::npos) << response;
  EXPECT_NE(response.find("Cache-Control: no-store"), std::string::npos) << response;
  EXPECT_NE(response.find("Referrer-Policy: no-referrer"), std::string::npos) << response;
  ASSERT_EQ(wait.wait_for(5s), std::future_status::ready);
  auto query = wait.get();
  ASSERT_TRUE(query.has_value()) << query.error().message;
  EXPECT_EQ(*query, "code=abc%2Fd&state=xyz");  // as sent: the caller decodes it
}

TEST_F(LoopbackTest, OtherRequestsGetAnErrorAndTheWaitGoesOn) {
  auto wait = StartWaiting([](std::string_view query) { return query == "state=ours"; });
  struct Case {
    std::string name;
    std::string request;
    int status;
  };
  const Case cases[] = {
      {"another path", "GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n", 404},
      {"a path that only decodes to it", "GET /%63allback?state=ours HTTP/1.1\r\nHost: x\r\n\r\n", 404},
      {"a longer path", "GET /callback/x?state=ours HTTP/1.1\r\nHost: x\r\n\r\n", 404},
      {"another method", "POST /callback?state=ours HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405},
      {"a query the caller refuses", "GET /callback?state=theirs HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"no query", "GET /callback HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"a header past 8 KiB",
       "GET /callback?state=ours HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n", 431},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string response = Exchange(port_, c.request);
    EXPECT_EQ(StatusOf(response), c.status) << response;
    EXPECT_EQ(response.find("close this window"), std::string::npos) << response;
    EXPECT_TRUE(StillWaiting(wait));
  }
  EXPECT_EQ(StatusOf(Get(port_, "/callback?state=ours")), 200);
  ASSERT_EQ(wait.wait_for(5s), std::future_status::ready);
  auto query = wait.get();
  ASSERT_TRUE(query.has_value()) << query.error().message;
  EXPECT_EQ(*query, "state=ours");
}

TEST_F(LoopbackTest, AnIdleConnectionDoesNotHoldUpTheCallback) {
  auto wait = StartWaiting([](std::string_view) { return true; });
  asio::io_context ioc;
  tcp::socket idle = Connect(ioc, port_);  // connected, never sends anything
  EXPECT_EQ(StatusOf(Get(port_, "/callback?code=1")), 200);
  ASSERT_EQ(wait.wait_for(5s), std::future_status::ready);
  auto query = wait.get();
  ASSERT_TRUE(query.has_value()) << query.error().message;
  EXPECT_EQ(*query, "code=1");
}

TEST_F(LoopbackTest, TheListenerClosesWhenTheWaitEnds) {
  auto wait = StartWaiting([](std::string_view) { return true; });
  EXPECT_EQ(StatusOf(Get(port_, "/callback?code=1")), 200);
  ASSERT_EQ(wait.wait_for(5s), std::future_status::ready);
  ASSERT_TRUE(wait.get().has_value());
  asio::io_context ioc;
  tcp::socket socket(ioc);
  boost::system::error_code ec;
  socket.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port_), ec);
  EXPECT_EQ(ec, asio::error::connection_refused);
}

TEST_F(LoopbackTest, GivesUpAfterTheTimeout) {
  const auto started = std::chrono::steady_clock::now();
  auto wait = StartWaiting([](std::string_view) { return true; }, 300ms);
  ASSERT_EQ(wait.wait_for(10s), std::future_status::ready);
  auto query = wait.get();
  ASSERT_FALSE(query.has_value());
  EXPECT_EQ(query.error().message, "timed out");
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 5s);
}

TEST(LoopbackRedirect, StartFailsOnAPortInUse) {
  LoopbackRedirect first;
  auto port = first.Start(0);
  ASSERT_TRUE(port.has_value()) << port.error().message;
  LoopbackRedirect second;
  auto again = second.Start(*port);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().message.rfind("cannot listen on 127.0.0.1:" + std::to_string(*port), 0), 0u)
      << again.error().message;
  EXPECT_EQ(second.WaitForQuery("/callback", 10ms, [](std::string_view) { return true; }).error().message,
            "not started");
}

TEST(LoopbackRedirect, StartsOnTheRequestedPortAndOnlyOnce) {
  uint16_t free_port = 0;
  {
    LoopbackRedirect probe;
    auto port = probe.Start(0);
    ASSERT_TRUE(port.has_value()) << port.error().message;
    free_port = *port;
  }
  LoopbackRedirect listener;
  auto port = listener.Start(free_port);
  ASSERT_TRUE(port.has_value()) << port.error().message;
  EXPECT_EQ(*port, free_port);
  EXPECT_EQ(listener.Start(0).error().message, "already started");
}

TEST(LoopbackRedirect, WaitingWithoutStartFails) {
  LoopbackRedirect listener;
  auto query = listener.WaitForQuery("/callback", 10ms, [](std::string_view) { return true; });
  ASSERT_FALSE(query.has_value());
  EXPECT_EQ(query.error().message, "not started");
}

}  // namespace
}  // namespace latchkey::http
