#include "latchkey/client/curl_transport.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "common/metrics.hpp"
#include "common/strings.hpp"
#include "http/message.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "http/testing/test_listener.hpp"

namespace latchkey::client {
namespace {

using namespace std::chrono_literals;

// Seen: one request as the loopback server read it. Header names are lowercased.
struct Seen {
  std::string method;
  std::string target;
  http::Headers headers;
  std::string body;

  // Header returns the first value of `name` (lowercase), or "".
  std::string Header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return "";
  }
  // Count returns how many times header `name` (lowercase) was sent.
  size_t Count(std::string_view name) const {
    size_t count = 0;
    for (const auto& header : headers) count += header.first == name ? 1 : 0;
    return count;
  }
};

// Reply: the exact bytes to answer with, whether to close the connection after them, and how long
// to wait before answering.
struct Reply {
  std::string bytes;
  bool close = false;
  std::chrono::milliseconds delay{0};
};

// Raw renders an HTTP/1.1 response with a Content-Length.
std::string Raw(std::string_view status_line, const http::Headers& headers, std::string_view body,
                bool has_body = true) {
  std::string out = "HTTP/1.1 " + std::string(status_line) + "\r\n";
  for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  if (has_body) out += body;
  return out;
}

// LoopbackServer: plain HTTP/1.1 on 127.0.0.1 (ephemeral port) that answers each request with the
// bytes a script returns, keeps connections alive unless told otherwise, and records the requests
// and the number of connections accepted. The script runs on the server's thread.
class LoopbackServer {
 public:
  using Script = std::function<Reply(const Seen&)>;

  explicit LoopbackServer(Script script) : script_(std::move(script)) {
    acceptor_.open(boost::asio::ip::tcp::v4());
    acceptor_.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    boost::asio::co_spawn(ioc_, Accept(), boost::asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~LoopbackServer() {
    ioc_.stop();
    thread_.join();
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  uint16_t Port() const { return port_; }
  std::string Url(std::string_view path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  std::vector<Seen> Received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }
  int Connections() const { return connections_.load(); }

 private:
  static constexpr auto kAwait = boost::asio::as_tuple(boost::asio::use_awaitable);

  boost::asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kAwait);
      if (ec) co_return;
      ++connections_;
      boost::asio::co_spawn(ioc_, Serve(std::move(socket)), boost::asio::detached);
    }
  }

  boost::asio::awaitable<void> Serve(boost::asio::ip::tcp::socket socket) {
    namespace bhttp = boost::beast::http;
    boost::beast::flat_buffer buffer;
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(8 << 20);
      auto [read_ec, read_bytes] = co_await bhttp::async_read(socket, buffer, parser, kAwait);
      if (read_ec) co_return;
      const auto& request = parser.get();
      Seen seen{std::string(request.method_string()), std::string(request.target()), {}, request.body()};
      for (const auto& field : request) {
        seen.headers.emplace_back(common::ToLower(field.name_string()), std::string(field.value()));
      }
      {
        std::lock_guard lock(mutex_);
        received_.push_back(seen);
      }
      const Reply reply = script_(seen);
      if (reply.delay.count() > 0) {
        boost::asio::steady_timer timer(ioc_, reply.delay);
        co_await timer.async_wait(kAwait);
      }
      auto [write_ec, written] =
          co_await boost::asio::async_write(socket, boost::asio::buffer(reply.bytes), kAwait);
      if (write_ec || reply.close) {
        boost::system::error_code ignored;
        socket.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
        co_return;
      }
    }
  }

  const Script script_;
  boost::asio::io_context ioc_{1};
  boost::asio::ip::tcp::acceptor acceptor_{ioc_};
  uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  mutable std::mutex mutex_;
  std::vector<Seen> received_;
  std::thread thread_;
};

// Text answers every request with 200 and `body`.
LoopbackServer::Script Text(std::string body) {
  return [body = std::move(body)](const Seen&) {
    return Reply{Raw("200 OK", {{"Content-Type", "text/plain"}}, body)};
  };
}

// LoopbackOptions: the defaults, with the loopback address exempt from any proxy the environment
// of the test run names.
CurlOptions LoopbackOptions() {
  CurlOptions options;
  options.no_proxy = "127.0.0.1,localhost";
  return options;
}

HttpRequest Get(std::string url) {
  HttpRequest request;
  request.url = std::move(url);
  return request;
}

HttpRequest Post(std::string url, std::string body, std::vector<Header> headers = {}) {
  HttpRequest request;
  request.method = "POST";
  request.url = std::move(url);
  request.body = std::move(body);
  request.headers = std::move(headers);
  return request;
}

TEST(CurlTransportTest, GetReturnsStatusHeadersAndBody) {
  LoopbackServer server([](const Seen&) {
    return Reply{Raw("200 OK",
                     {{"Content-Type", "application/json"},
                      {"Cache-Control", "no-store"},
                      {"X-Tag", "one"},
                      {"x-tag", "two"}},
                     R"({"issuer":"x"})")};
  });
  CurlTransport transport(LoopbackOptions());

  auto response = transport.Send(Get(server.Url("/.well-known/openid-configuration?a=1")));

  ASSERT_TRUE(response) << response.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"issuer":"x"})");
  EXPECT_EQ(response->HeaderValue("content-type"), "application/json");
  EXPECT_EQ(response->HeaderValue("CACHE-CONTROL"), "no-store");
  EXPECT_EQ(response->HeaderValue("X-Tag"), "one");
  EXPECT_EQ(response->HeaderValue("Content-Length"), "14");
  EXPECT_FALSE(response->HeaderValue("Location").has_value());
  // Names as sent, in order, repeats kept.
  std::vector<Header> tags;
  for (const auto& header : response->headers) {
    if (common::EqualsIgnoreCase(header.first, "x-tag")) tags.push_back(header);
  }
  EXPECT_EQ(tags, (std::vector<Header>{{"X-Tag", "one"}, {"x-tag", "two"}}));

  auto received = server.Received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].method, "GET");
  EXPECT_EQ(received[0].target, "/.well-known/openid-configuration?a=1");
  EXPECT_EQ(received[0].Header("host"), "127.0.0.1:" + std::to_string(server.Port()));
  EXPECT_EQ(received[0].Header("user-agent"), "latchkey-client/0.1");
  EXPECT_EQ(received[0].Count("content-type"), 0u);
  EXPECT_EQ(received[0].Count("content-length"), 0u);
  EXPECT_EQ(received[0].Count("accept-encoding"), 0u);
  EXPECT_EQ(received[0].body, "");
}

TEST(CurlTransportTest, PostSendsBodyContentTypeAndHeadersExactly) {
  LoopbackServer server(Text("ok"));
  CurlTransport transport(LoopbackOptions());
  // Past 1 MiB (1 KiB in older versions) libcurl would add "Expect: 100-continue" on its own.
  std::string body = "grant_type=authorization_code&code=" + std::string(1536 * 1024, 'c') + "&x=%00";
  body.push_back('\0');  // bytes, not a C string
  body += "tail";

  auto response = transport.Send(Post(server.Url("/token"), body,
                                      {{"Content-Type", "application/x-www-form-urlencoded"},
                                       {"Authorization", "Basic Y2xpZW50OnNlY3JldA=="},
                                       {"DPoP", ""},
                                       {"User-Agent", "my-app/2"},
                                       {"Accept", "application/json"}}));

  ASSERT_TRUE(response) << response.error();
  EXPECT_EQ(response->status, 200);
  auto received = server.Received();
  ASSERT_EQ(received.size(), 1u);
  const Seen& seen = received[0];
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/token");
  EXPECT_EQ(seen.body, body);
  EXPECT_EQ(seen.Header("content-length"), std::to_string(body.size()));
  EXPECT_EQ(seen.Count("content-type"), 1u);
  EXPECT_EQ(seen.Header("content-type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(seen.Header("authorization"), "Basic Y2xpZW50OnNlY3JldA==");
  EXPECT_EQ(seen.Count("dpop"), 1u);
  EXPECT_EQ(seen.Header("dpop"), "");
  EXPECT_EQ(seen.Count("user-agent"), 1u);
  EXPECT_EQ(seen.Header("user-agent"), "my-app/2");
  EXPECT_EQ(seen.Count("accept"), 1u);
  EXPECT_EQ(seen.Header("accept"), "application/json");
  EXPECT_EQ(seen.Count("expect"), 0u);
}

TEST(CurlTransportTest, PostWithoutBodySendsContentLengthZeroAndNoContentType) {
  LoopbackServer server(Text("ok"));
  CurlTransport transport(LoopbackOptions());

  auto response = transport.Send(Post(server.Url("/revoke"), ""));

  ASSERT_TRUE(response) << response.error();
  auto received = server.Received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].method, "POST");
  EXPECT_EQ(received[0].Count("content-length"), 1u);
  EXPECT_EQ(received[0].Header("content-length"), "0");
  EXPECT_EQ(received[0].Count("content-type"), 0u);
  EXPECT_EQ(received[0].body, "");
}

TEST(CurlTransportTest, OtherMethodsAreSentAsGiven) {
  LoopbackServer server([](const Seen& seen) {
    return Reply{Raw("200 OK", {{"X-Method", seen.method}}, "body of " + seen.method, seen.method != "HEAD")};
  });
  CurlTransport transport(LoopbackOptions());
  struct Case {
    std::string method;
    std::string body;
  };
  const Case cases[] = {{"PUT", "{\"a\":1}"}, {"PATCH", "p"}, {"DELETE", ""}, {"OPTIONS", ""}, {"HEAD", ""}};
  for (const auto& c : cases) {
    HttpRequest request = Get(server.Url("/r"));
    request.method = c.method;
    request.body = c.body;
    auto response = transport.Send(request);
    ASSERT_TRUE(response) << c.method << ": " << response.error();
    EXPECT_EQ(response->status, 200) << c.method;
    EXPECT_EQ(response->HeaderValue("x-method"), c.method);
    EXPECT_EQ(response->body, c.method == "HEAD" ? "" : "body of " + c.method);
  }
  auto received = server.Received();
  ASSERT_EQ(received.size(), std::size(cases));
  for (size_t i = 0; i < received.size(); ++i) {
    EXPECT_EQ(received[i].method, cases[i].method);
    EXPECT_EQ(received[i].body, cases[i].body) << cases[i].method;
    EXPECT_EQ(received[i].Count("content-length"), cases[i].body.empty() ? 0u : 1u) << cases[i].method;
  }
}

TEST(CurlTransportTest, ErrorStatusesAreAnswersNotErrors) {
  for (int status : {400, 401, 404, 429, 500, 503}) {
    http::testing::TestListener listener({status}, R"({"error":"invalid_grant"})");
    CurlTransport transport(LoopbackOptions());
    auto response = transport.Send(Post(listener.Url("/token"), "grant_type=refresh_token"));
    ASSERT_TRUE(response) << status << ": " << response.error();
    EXPECT_EQ(response->status, status);
    EXPECT_EQ(response->body, R"({"error":"invalid_grant"})");
  }
}

TEST(CurlTransportTest, RedirectIsReturnedNotFollowed) {
  LoopbackServer server([](const Seen& seen) {
    if (seen.target == "/token") return Reply{Raw("302 Found", {{"Location", "/elsewhere"}}, "moved")};
    return Reply{Raw("200 OK", {}, "followed")};
  });
  CurlTransport transport(LoopbackOptions());

  auto response = transport.Send(Post(server.Url("/token"), "code=abc"));

  ASSERT_TRUE(response) << response.error();
  EXPECT_EQ(response->status, 302);
  EXPECT_EQ(response->HeaderValue("location"), "/elsewhere");
  EXPECT_EQ(response->body, "moved");
  auto received = server.Received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].target, "/token");
}

TEST(CurlTransportTest, OnlyTheFinalResponseHeadersAreReturned) {
  LoopbackServer server([](const Seen&) {
    return Reply{"HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\nX-Interim: yes\r\n\r\n" +
                 Raw("200 OK", {{"X-Final", "yes"}}, "done")};
  });
  CurlTransport transport(LoopbackOptions());

  auto response = transport.Send(Get(server.Url("/")));

  ASSERT_TRUE(response) << response.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "done");
  EXPECT_EQ(response->HeaderValue("x-final"), "yes");
  EXPECT_FALSE(response->HeaderValue("x-interim").has_value());
  EXPECT_FALSE(response->HeaderValue("link").has_value());
}

TEST(CurlTransportTest, ConnectionRefusedIsTransportError) {
  CurlTransport transport(LoopbackOptions());

  auto response =
      transport.Send(Get("http://127.0.0.1:" + std::to_string(http::testing::UnusedPort()) + "/"));

  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kTransport);
  EXPECT_EQ(response.error().http_status, 0);
}

TEST(CurlTransportTest, SilentServerTimesOutWithinTheConfiguredTimeout) {
  // The answer comes only after 10 s, long past the timeout (and the test's own limit of 5 s).
  LoopbackServer server([](const Seen&) { return Reply{Raw("200 OK", {}, "late"), /*close=*/true, 10s}; });
  CurlOptions options = LoopbackOptions();
  options.timeout = 300ms;
  CurlTransport transport(options);

  const auto start = std::chrono::steady_clock::now();
  auto response = transport.Send(Get(server.Url("/")));
  const auto elapsed = std::chrono::steady_clock::now() - start;

  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kTransport);
  EXPECT_NE(response.error().message.find("Timeout"), std::string::npos) << response.error();
  EXPECT_LT(elapsed, 5s);
  EXPECT_EQ(server.Received().size(), 1u);  // the request was sent; the answer did not come in time
}

TEST(CurlTransportTest, ResponseLargerThanTheLimitIsTransportError) {
  CurlOptions options = LoopbackOptions();
  options.max_response_bytes = 1000;
  // With a Content-Length, and without one (the body ends when the connection closes), so that
  // both the announced size and the bytes actually read are checked.
  LoopbackServer sized([](const Seen& seen) {
    return Reply{Raw("200 OK", {}, std::string(seen.target == "/fits" ? 1000 : 1001, 'x'))};
  });
  LoopbackServer unsized([](const Seen& seen) {
    return Reply{"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" +
                     std::string(seen.target == "/fits" ? 1000 : 1001, 'x'),
                 /*close=*/true};
  });
  CurlTransport transport(options);
  for (const LoopbackServer* server : {&sized, &unsized}) {
    auto fits = transport.Send(Get(server->Url("/fits")));
    ASSERT_TRUE(fits) << fits.error();
    EXPECT_EQ(fits->body.size(), 1000u);

    auto too_large = transport.Send(Get(server->Url("/big")));
    ASSERT_FALSE(too_large);
    EXPECT_EQ(too_large.error().code, ErrorCode::kTransport);
    EXPECT_EQ(too_large.error().message, "response larger than 1000 bytes");
  }
}

TEST(CurlTransportTest, ResponseHeadersLargerThanTheLimitAreTransportError) {
  CurlOptions options = LoopbackOptions();
  options.max_response_bytes = 1000;
  LoopbackServer server([](const Seen&) {
    return Reply{Raw("200 OK", {{"X-Big", std::string(1200, 'h')}}, "")};
  });
  CurlTransport transport(options);

  auto response = transport.Send(Get(server.Url("/")));

  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kTransport);
  EXPECT_EQ(response.error().message, "response headers larger than 1000 bytes");
}

TEST(CurlTransportTest, NonHttpUrlsAreInvalidArgumentsAndNothingIsSent) {
  LoopbackServer server(Text("ok"));
  const std::string port = std::to_string(server.Port());
  const std::string rejected[] = {
      "file:///etc/passwd",
      "ftp://127.0.0.1:" + port + "/",
      "gopher://127.0.0.1:" + port + "/",
      "dict://127.0.0.1:" + port + "/",
      "javascript:alert(1)",
      "",
      "/relative/path",
      "127.0.0.1:" + port + "/",
      "http://",
      "http:///path",
      "http:/127.0.0.1:" + port + "/",
      "http:/127.0.0.1:" + port + "/?next=://x",
      "http:127.0.0.1:" + port + "/",
      "http://127.0.0.1:" + port + "/\t",
      "http://127.0.0.1:" + port + "/\x7f",
      " http://127.0.0.1:" + port + "/",
      "http://127.0.0.1:" + port + "/a b",
      "http://127.0.0.1:" + port + std::string("/\0/other", 8),
  };
  CurlTransport transport(LoopbackOptions());
  for (const auto& url : rejected) {
    auto response = transport.Send(Get(url));
    ASSERT_FALSE(response) << url;
    EXPECT_EQ(response.error().code, ErrorCode::kInvalidArgument) << url << ": " << response.error();
  }
  EXPECT_EQ(server.Connections(), 0);
  // The same server is reachable, so the refusals above are about the URLs.
  for (const auto& url : {server.Url("/"), "HTTP://127.0.0.1:" + port + "/"}) {
    auto response = transport.Send(Get(url));
    ASSERT_TRUE(response) << url << ": " << response.error();
  }
}

TEST(CurlTransportTest, InjectedMethodsAndHeadersAreInvalidArguments) {
  LoopbackServer server(Text("ok"));
  CurlTransport transport(LoopbackOptions());
  std::vector<HttpRequest> rejected;
  for (const char* method : {"", "GET / HTTP/1.1\r\nX-Injected: 1\r\n\r\nGET", "G ET", "GET\n", "PO:ST"}) {
    HttpRequest request = Get(server.Url("/"));
    request.method = method;
    rejected.push_back(request);
  }
  const std::vector<Header> bad_headers = {
      {"X-Value", "a\r\nX-Injected: 1"},
      {"X-Value", "a\nb"},
      {"X-Value", std::string("a\0b", 3)},
      {"X Name", "v"},
      {"X-Name:", "v"},
      {"", "v"},
      {"X-Name;", "v"},
  };
  for (const auto& header : bad_headers) {
    HttpRequest request = Get(server.Url("/"));
    request.headers = {header};
    rejected.push_back(request);
  }
  HttpRequest head_with_body = Get(server.Url("/"));
  head_with_body.method = "HEAD";
  head_with_body.body = "x";
  rejected.push_back(head_with_body);

  for (const auto& request : rejected) {
    auto response = transport.Send(request);
    ASSERT_FALSE(response) << request.method;
    EXPECT_EQ(response.error().code, ErrorCode::kInvalidArgument)
        << request.method << ": " << response.error();
  }
  EXPECT_EQ(server.Connections(), 0);
}

TEST(CurlTransportTest, ErrorMessagesNameOnlyTheOrigin) {
  CurlTransport transport(LoopbackOptions());
  const std::string origin = "http://127.0.0.1:" + std::to_string(http::testing::UnusedPort());

  auto response = transport.Send(Post(origin + "/token/path?secret=xyz#frag", "client_secret=hunter2"));

  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kTransport);
  const std::string& message = response.error().message;
  EXPECT_NE(message.find(origin), std::string::npos) << message;
  for (const char* secret : {"secret", "xyz", "/token", "path", "frag", "hunter2"}) {
    EXPECT_EQ(message.find(secret), std::string::npos) << message;
  }
}

TEST(CurlTransportTest, SequentialRequestsReuseOneConnection) {
  LoopbackServer server(Text("ok"));
  CurlTransport transport(LoopbackOptions());
  for (int i = 0; i < 5; ++i) {
    auto response = transport.Send(Get(server.Url("/n" + std::to_string(i))));
    ASSERT_TRUE(response) << response.error();
  }
  EXPECT_EQ(server.Received().size(), 5u);
  EXPECT_EQ(server.Connections(), 1);
}

TEST(CurlTransportTest, ManyThreadsShareOneTransport) {
  constexpr int kThreads = 8;
  constexpr int kRequestsPerThread = 50;
  LoopbackServer server(
      [](const Seen& seen) { return Reply{Raw("200 OK", {}, "echo " + seen.target + seen.body)}; });
  CurlTransport transport(LoopbackOptions());
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRequestsPerThread; ++i) {
        const std::string path = "/t" + std::to_string(t) + "?i=" + std::to_string(i);
        const std::string body = i % 2 == 0 ? "" : "b" + std::to_string(t);
        HttpRequest request = body.empty() ? Get(server.Url(path)) : Post(server.Url(path), body);
        auto response = transport.Send(request);
        // Each answer belongs to its own request: handles are never shared mid-transfer.
        if (response && response->status == 200 && response->body == "echo " + path + body) ++succeeded;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(succeeded.load(), kThreads * kRequestsPerThread);
  EXPECT_EQ(server.Received().size(), static_cast<size_t>(kThreads * kRequestsPerThread));
  // At most one handle, and so one connection, per thread: connections were kept and reused.
  EXPECT_LE(server.Connections(), kThreads);
}

TEST(CurlTransportTest, ProxyOptionRoutesRequestsThroughTheProxy) {
  LoopbackServer proxy(Text("via proxy"));
  LoopbackServer direct(Text("direct"));
  CurlOptions options;
  options.proxy = proxy.Url("");
  CurlTransport through_proxy(options);

  auto response = through_proxy.Send(Get("http://service.invalid/path?q=1"));

  ASSERT_TRUE(response) << response.error();
  EXPECT_EQ(response->body, "via proxy");
  auto received = proxy.Received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].target, "http://service.invalid/path?q=1");  // absolute form (RFC 9112 §3.2.2)
  EXPECT_EQ(received[0].Header("host"), "service.invalid");

  // no_proxy exempts a host: it is reached directly even though the proxy is unreachable.
  options.proxy = "http://127.0.0.1:" + std::to_string(http::testing::UnusedPort());
  options.no_proxy = "127.0.0.1";
  auto bypassed = CurlTransport(options).Send(Get(direct.Url("/")));
  ASSERT_TRUE(bypassed) << bypassed.error();
  EXPECT_EQ(bypassed->body, "direct");
  options.no_proxy = "";
  auto proxied = CurlTransport(options).Send(Get(direct.Url("/")));
  ASSERT_FALSE(proxied);
  EXPECT_EQ(proxied.error().code, ErrorCode::kTransport);
  EXPECT_EQ(direct.Received().size(), 1u);
}

// TlsPeer: the real http::Server over TLS with a certificate made at test time by the openssl
// command line, self-signed for the given subjectAltName.
class TlsPeer {
 public:
  TlsPeer(const std::filesystem::path& dir, const std::string& name, const std::string& subject_alt_name) {
    cert_ = (dir / (name + "_cert.pem")).string();
    const std::string key = (dir / (name + "_key.pem")).string();
    const std::string command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost "
        "-addext subjectAltName=" +
        subject_alt_name + " -keyout " + key + " -out " + cert_ + " 2>/dev/null";
    if (std::system(command.c_str()) != 0) return;
    router_.Add("/userinfo", {"GET"},
                [](const http::Request& r) { return http::Response::Text(200, "tls " + r.query); });
    http::ServerOptions options;
    options.port = 0;
    options.tls = http::TlsOptions{cert_, key};
    server_ = std::make_unique<http::Server>(options, router_, metrics_);
    auto port = server_->Start();
    if (!port.has_value()) {
      server_.reset();
      return;
    }
    port_ = *port;
    run_ = std::async(std::launch::async, [this] { server_->Run(); });
  }
  ~TlsPeer() {
    if (server_) {
      server_->Stop();
      if (run_.valid()) run_.wait();
    }
  }
  TlsPeer(const TlsPeer&) = delete;
  TlsPeer& operator=(const TlsPeer&) = delete;

  bool Running() const { return server_ != nullptr; }
  const std::string& Cert() const { return cert_; }
  std::string Url(std::string_view path_and_query) const {
    return "https://127.0.0.1:" + std::to_string(port_) + std::string(path_and_query);
  }

 private:
  std::string cert_;
  http::Router router_;
  common::Metrics metrics_;
  std::unique_ptr<http::Server> server_;
  std::future<void> run_;
  uint16_t port_ = 0;
};

class CurlTransportTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("latchkey_curl_tls_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    peer_ = std::make_unique<TlsPeer>(dir_, "loopback", "IP:127.0.0.1,DNS:localhost");
    ASSERT_TRUE(peer_->Running());
  }
  void TearDown() override {
    peer_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  std::unique_ptr<TlsPeer> peer_;
};

TEST_F(CurlTransportTlsTest, TrustedCertificateForTheHostSucceeds) {
  CurlOptions options = LoopbackOptions();
  options.ca_file = peer_->Cert();
  CurlTransport transport(options);

  auto response = transport.Send(Get(peer_->Url("/userinfo?x=1")));

  ASSERT_TRUE(response) << response.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "tls x=1");
}

// Verification is on by default: the system store does not hold this self-signed certificate.
TEST_F(CurlTransportTlsTest, UntrustedCertificateIsRefused) {
  CurlTransport transport(LoopbackOptions());

  auto response = transport.Send(Get(peer_->Url("/userinfo?secret=xyz")));

  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kTransport);
  const std::string& message = response.error().message;
  EXPECT_NE(message.find(peer_->Url("")), std::string::npos) << message;  // https://127.0.0.1:port
  EXPECT_EQ(message.find("secret"), std::string::npos) << message;
  EXPECT_EQ(message.find("xyz"), std::string::npos) << message;
  EXPECT_EQ(message.find("userinfo"), std::string::npos) << message;
}

// Host name verification is on: a trusted certificate that names another host does not vouch for
// 127.0.0.1 (RFC 6125 §6).
TEST_F(CurlTransportTlsTest, TrustedCertificateForAnotherHostIsRefused) {
  TlsPeer other(dir_, "other", "DNS:other.example");
  ASSERT_TRUE(other.Running());
  CurlOptions options = LoopbackOptions();
  options.ca_file = other.Cert();
  CurlTransport transport(options);

  auto response = transport.Send(Get(other.Url("/userinfo")));

  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kTransport);
}

}  // namespace
}  // namespace latchkey::client
