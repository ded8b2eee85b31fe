#include "http/server.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <latch>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include <unistd.h>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace latchkey::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

using RawResponse = bhttp::response<bhttp::string_body>;

// TestClient: a bounded client; every operation gives up after `timeout` so a broken server fails
// the test instead of hanging it.
class TestClient {
 public:
  explicit TestClient(uint16_t port) {
    beast::error_code ec;
    stream_.socket().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    connected_ = !ec;
  }

  bool connected() const { return connected_; }

  bool Send(const std::string& data) {
    beast::error_code result = asio::error::would_block;
    stream_.expires_after(5s);
    asio::async_write(stream_, asio::buffer(data), [&](beast::error_code ec, size_t) { result = ec; });
    Run();
    return !result;
  }

  // Read returns the next response, or nullopt on error/EOF/timeout.
  std::optional<RawResponse> Read(bool head = false, std::chrono::seconds timeout = 5s) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.skip(head);
    beast::error_code result = asio::error::would_block;
    stream_.expires_after(timeout);
    bhttp::async_read(stream_, buffer_, parser, [&](beast::error_code ec, size_t) { result = ec; });
    Run();
    if (result) return std::nullopt;
    return parser.release();
  }

  // ClosedByPeerWithin returns true when the server closes the connection before `timeout`.
  bool ClosedByPeerWithin(std::chrono::milliseconds timeout) {
    char byte;
    beast::error_code result = asio::error::would_block;
    stream_.expires_after(timeout);
    stream_.async_read_some(asio::buffer(&byte, 1), [&](beast::error_code ec, size_t) { result = ec; });
    Run();
    return result == asio::error::eof || result == asio::error::connection_reset;
  }

 private:
  void Run() {
    ioc_.restart();
    ioc_.run_for(30s);
  }

  asio::io_context ioc_;
  beast::tcp_stream stream_{ioc_};
  beast::flat_buffer buffer_;
  bool connected_ = false;
};

std::string Get(std::string_view path, std::string_view extra = "") {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: localhost\r\n" + std::string(extra) + "\r\n";
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.port = 0;
    options_.read_timeout = 2s;
    options_.idle_timeout = 2s;
    options_.shutdown_grace = 5s;
    router_.Add(
        "/hello", {"GET"}, [](const Request& r) { return Response::Text(200, "hello " + r.query); }, "hello");
    router_.Add("/page", {"GET"}, [](const Request&) {
      Response response = Response::Html(200, "<p>hi</p>");
      response.SetHeader("Cache-Control", "max-age=60");
      return response;
    });
    router_.Add("/echo", {"POST"}, [](const Request& r) {
      return Response::Json(200, std::string(r.Header("x-test").value_or("")) + "|" + r.body + "|" +
                                     r.remote_address + "|" + r.path);
    });
    router_.Add("/throw", {"GET"}, [](const Request&) -> Response { throw std::runtime_error("boom"); });
    router_.Add("/split", {"GET"}, [](const Request&) {
      Response response = Response::Text(404, "tea");
      response.AddHeader("X-Injected", "a\r\nSet-Cookie: evil=1");
      response.AddHeader("Bad Name", "x");
      response.AddHeader("Content-Length", "999");
      response.AddHeader("Set-Cookie", "a=1");
      response.AddHeader("Set-Cookie", "b=2");
      return response;
    });
    router_.Add("/block", {"GET"}, [this](const Request&) {
      entered_.count_down();
      release_.wait();
      return Response::Text(200, "done");
    });
  }

  void TearDown() override {
    if (!release_.try_wait()) release_.count_down();
    if (server_) {
      server_->Stop();
      if (run_.valid()) {
        EXPECT_EQ(run_.wait_for(10s), std::future_status::ready);
      }
    }
  }

  uint16_t StartServer() {
    server_ = std::make_unique<Server>(options_, router_, metrics_);
    auto port = server_->Start();
    EXPECT_TRUE(port.has_value());
    run_ = std::async(std::launch::async, [this] { server_->Run(); });
    return *port;
  }

  ServerOptions options_;
  Router router_;
  common::Metrics metrics_;
  std::latch entered_{1};
  std::latch release_{1};
  std::unique_ptr<Server> server_;
  std::future<void> run_;
};

TEST_F(ServerTest, GetRoundTripWithSecurityHeaders) {
  TestClient client(StartServer());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send(Get("/hello?code=secret")));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 200);
  EXPECT_EQ(response->body(), "hello code=secret");
  EXPECT_EQ((*response)["Content-Length"], "17");
  EXPECT_EQ((*response)["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ((*response)["Referrer-Policy"], "no-referrer");
  EXPECT_EQ((*response)["Cache-Control"], "no-store");
  EXPECT_EQ((*response)["Server"], "latchkey");
  EXPECT_EQ((*response)["X-Request-Id"].size(), 16u);
  EXPECT_EQ((*response)["Content-Security-Policy"], "");    // not HTML
  EXPECT_EQ((*response)["Strict-Transport-Security"], "");  // not TLS
}

// RFC 9110 §5.5: a field value with CR or LF would split the response; such a header is dropped,
// as is a name that is not a token, and the server's own Content-Length wins over a handler's.
TEST_F(ServerTest, HeadersThatWouldSplitTheResponseAreDropped) {
  TestClient client(StartServer());
  ASSERT_TRUE(client.Send(Get("/split") + Get("/hello?after")));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 404);
  EXPECT_EQ(response->reason(), "Not Found");
  EXPECT_EQ(response->body(), "tea");
  EXPECT_EQ(response->count("X-Injected"), 0u);
  EXPECT_EQ(response->count("Bad Name"), 0u);
  EXPECT_EQ((*response)["Content-Length"], "3");
  EXPECT_EQ(response->count("Content-Length"), 1u);
  // Repeatable fields keep every value, in order (RFC 6265 §3).
  std::vector<std::string> cookies;
  auto [first, last] = response->equal_range("Set-Cookie");
  for (auto it = first; it != last; ++it) cookies.emplace_back(it->value());
  EXPECT_EQ(cookies, (std::vector<std::string>{"a=1", "b=2"}));
  auto next = client.Read();
  ASSERT_TRUE(next) << "the connection is still in step";
  EXPECT_EQ(next->body(), "hello after");
}

TEST_F(ServerTest, HtmlGetsCspAndHandlerCacheControlWins) {
  TestClient client(StartServer());
  ASSERT_TRUE(client.Send(Get("/page")));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ((*response)["Cache-Control"], "max-age=60");
  EXPECT_EQ((*response)["X-Frame-Options"], "DENY");
  EXPECT_EQ((*response)["Content-Security-Policy"],
            "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'");
}

TEST_F(ServerTest, KeepAliveServesTwoRequestsAndRequestIdsDiffer) {
  TestClient client(StartServer());
  ASSERT_TRUE(client.Send(Get("/hello?a") + Get("/hello?b")));  // pipelined
  auto first = client.Read();
  auto second = client.Read();
  ASSERT_TRUE(first);
  ASSERT_TRUE(second);
  EXPECT_EQ(first->body(), "hello a");
  EXPECT_EQ(second->body(), "hello b");
  EXPECT_NE((*first)["X-Request-Id"], (*second)["X-Request-Id"]);
  ASSERT_TRUE(client.Send(Get("/hello?c", "Connection: close\r\n")));
  auto third = client.Read();
  ASSERT_TRUE(third);
  EXPECT_EQ(third->body(), "hello c");
  EXPECT_TRUE(client.ClosedByPeerWithin(1000ms));
}

TEST_F(ServerTest, Http10WithoutKeepAliveCloses) {
  TestClient client(StartServer());
  ASSERT_TRUE(client.Send("GET /hello HTTP/1.0\r\n\r\n"));
  ASSERT_TRUE(client.Read());
  EXPECT_TRUE(client.ClosedByPeerWithin(1000ms));
}

TEST_F(ServerTest, HeadHasHeadersButNoBody) {
  TestClient client(StartServer());
  ASSERT_TRUE(client.Send("HEAD /hello?xy HTTP/1.1\r\nHost: x\r\n\r\n" + Get("/hello?z")));
  auto head = client.Read(/*head=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->result_int(), 200);
  EXPECT_EQ((*head)["Content-Length"], "8");
  EXPECT_EQ(head->body(), "");
  // If the HEAD response had carried a body, this read would see it instead of the next response.
  auto next = client.Read();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body(), "hello z");
}

TEST_F(ServerTest, RequestFieldsArePassed) {
  TestClient client(StartServer());
  ASSERT_TRUE(
      client.Send("POST /echo?q=1 HTTP/1.1\r\nHost: x\r\nX-Test: yes\r\nContent-Length: 4\r\n\r\nbody"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body(), "yes|body|127.0.0.1|/echo");
  EXPECT_EQ((*response)["Content-Type"], "application/json");
}

TEST_F(ServerTest, NotFoundAndMethodNotAllowed) {
  TestClient client(StartServer());
  ASSERT_TRUE(client.Send(Get("/missing") + "DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto missing = client.Read();
  auto wrong = client.Read();
  ASSERT_TRUE(missing);
  ASSERT_TRUE(wrong);
  EXPECT_EQ(missing->result_int(), 404);
  EXPECT_EQ(wrong->result_int(), 405);
  EXPECT_EQ((*wrong)["Allow"], "GET, HEAD");
}

TEST_F(ServerTest, OversizedHeaderIs431AndCloses) {
  options_.max_header_bytes = 1024;
  TestClient client(StartServer());
  ASSERT_TRUE(client.Send(Get("/hello", "X-Big: " + std::string(4000, 'a') + "\r\n")));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 431);
  EXPECT_TRUE(client.ClosedByPeerWithin(1000ms));
}

TEST_F(ServerTest, OversizedBodyIs413AndCloses) {
  options_.max_body_bytes = 100;
  TestClient client(StartServer());
  ASSERT_TRUE(
      client.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n" + std::string(101, 'b')));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 413);
  EXPECT_TRUE(client.ClosedByPeerWithin(1000ms));
}

TEST_F(ServerTest, BodyAtLimitIsAccepted) {
  options_.max_body_bytes = 100;
  TestClient client(StartServer());
  ASSERT_TRUE(
      client.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'b')));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 200);
}

TEST_F(ServerTest, MalformedRequestLineIs400AndCloses) {
  TestClient client(StartServer());
  ASSERT_TRUE(client.Send("GET\x01 / HTTP/1.1\r\n\r\n"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 400);
  EXPECT_TRUE(client.ClosedByPeerWithin(1000ms));
}

TEST_F(ServerTest, SlowLorisIsCutOffAtReadTimeout) {
  options_.read_timeout = 1s;
  options_.idle_timeout = 10s;
  TestClient client(StartServer());
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(client.Send("GET /hello HTTP/1.1\r\nHost: x\r\n"));  // never finishes the header
  EXPECT_TRUE(client.ClosedByPeerWithin(3000ms));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 2500ms);
}

TEST_F(ServerTest, SlowLorisTricklingBytesIsCutOff) {
  options_.read_timeout = 1s;
  TestClient client(StartServer());
  auto start = std::chrono::steady_clock::now();
  std::string request = Get("/hello");
  bool closed = false;
  // One byte every 100 ms would take 3.5 s; the server must not extend the deadline per byte. Once
  // the server has closed, a write fails (EPIPE/ECONNRESET).
  for (size_t i = 0; i < request.size() - 2 && !closed; ++i) {
    closed = !client.Send(request.substr(i, 1));
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);
}

TEST_F(ServerTest, OverInFlightCapIs503) {
  options_.max_in_flight = 1;
  options_.handler_threads = 1;
  uint16_t port = StartServer();
  TestClient blocked(port);
  ASSERT_TRUE(blocked.Send(Get("/block")));
  entered_.wait();
  TestClient second(port);
  ASSERT_TRUE(second.Send(Get("/hello")));
  auto busy = second.Read();
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->result_int(), 503);
  EXPECT_EQ((*busy)["Retry-After"], "1");
  EXPECT_NE(busy->body().find("\"error\":\"temporarily_unavailable\""), std::string::npos);
  release_.count_down();
  auto done = blocked.Read();
  ASSERT_TRUE(done);
  EXPECT_EQ(done->result_int(), 200);
  // Capacity is back.
  ASSERT_TRUE(second.Send(Get("/hello")));
  auto ok = second.Read();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->result_int(), 200);
}

TEST_F(ServerTest, RateLimitIs429AndCloses) {
  options_.max_requests_per_second_per_connection = 3;
  TestClient client(StartServer());
  std::string burst;
  for (int i = 0; i < 5; ++i) burst += Get("/hello");
  ASSERT_TRUE(client.Send(burst));
  int ok = 0;
  std::optional<RawResponse> limited;
  for (int i = 0; i < 4; ++i) {
    auto response = client.Read();
    ASSERT_TRUE(response) << i;
    if (response->result_int() == 200) {
      ++ok;
    } else {
      limited = response;
      break;
    }
  }
  EXPECT_EQ(ok, 3);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->result_int(), 429);
  EXPECT_EQ((*limited)["Retry-After"], "1");
  EXPECT_TRUE(client.ClosedByPeerWithin(1000ms));
}

TEST_F(ServerTest, ThrowingHandlerIs500AndServerKeepsServing) {
  TestClient client(StartServer());
  ASSERT_TRUE(client.Send(Get("/throw")));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 500);
  EXPECT_EQ(response->body(), R"({"error":"server_error","error_description":"internal error"})");
  ASSERT_TRUE(client.Send(Get("/hello")));
  auto next = client.Read();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->result_int(), 200);
}

TEST_F(ServerTest, GracefulStopFinishesInFlightRequest) {
  options_.idle_timeout = 10s;  // so only shutdown can close the idle connection in time
  uint16_t port = StartServer();
  TestClient idle(port);
  ASSERT_TRUE(idle.Send(Get("/hello")));
  ASSERT_TRUE(idle.Read());
  TestClient busy(port);
  ASSERT_TRUE(busy.Send(Get("/block")));
  entered_.wait();
  server_->Stop();
  // Idle keep-alive connections are closed; the server stops accepting.
  EXPECT_TRUE(idle.ClosedByPeerWithin(1000ms));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(run_.wait_for(0s), std::future_status::timeout);  // still draining
  release_.count_down();
  auto response = busy.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 200);
  EXPECT_EQ(response->body(), "done");
  EXPECT_FALSE(response->keep_alive());
  EXPECT_EQ(run_.wait_for(5s), std::future_status::ready);
  TestClient late(port);
  EXPECT_FALSE(late.connected());
}

TEST_F(ServerTest, MetricsAreCounted) {
  TestClient client(StartServer());
  ASSERT_TRUE(client.Send(Get("/hello") + Get("/hello") + Get("/nope")));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client.Read());
  EXPECT_EQ(metrics_.CounterValue("latchkey_http_requests_total",
                                  {{"route", "hello"}, {"method", "GET"}, {"status", "200"}}),
            2u);
  EXPECT_EQ(metrics_.CounterValue("latchkey_http_requests_total",
                                  {{"route", "unmatched"}, {"method", "GET"}, {"status", "404"}}),
            1u);
  std::string text = metrics_.Render();
  EXPECT_NE(text.find("# TYPE latchkey_http_request_duration_seconds histogram"), std::string::npos);
  EXPECT_NE(text.find("latchkey_http_request_duration_seconds_count{route=\"hello\"} 2"), std::string::npos)
      << text;
}

TEST_F(ServerTest, BindFailureIsReported) {
  uint16_t port = StartServer();
  options_.port = port;
  Server second(options_, router_, metrics_);
  auto result = second.Start();
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error(), StartError::kBindFailed);
}

TEST_F(ServerTest, BadTlsFilesAreReported) {
  options_.tls = TlsOptions{"/nonexistent/cert.pem", "/nonexistent/key.pem"};
  Server server(options_, router_, metrics_);
  auto result = server.Start();
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error(), StartError::kTlsConfig);
}

std::string Capture(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  pclose(pipe);
  return out;
}

TEST_F(ServerTest, TlsRoundTrip) {
  auto dir = std::filesystem::temp_directory_path() / ("latchkey_http_tls_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string cert = (dir / "cert.pem").string();
  std::string key = (dir / "key.pem").string();
  std::string gen =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
      "-subj /CN=localhost -keyout " +
      key + " -out " + cert + " 2>/dev/null";
  ASSERT_EQ(std::system(gen.c_str()), 0);
  options_.tls = TlsOptions{cert, key};
  uint16_t port = StartServer();
  std::string url = "https://127.0.0.1:" + std::to_string(port);
  std::string out = Capture("curl -sk --max-time 5 -D - " + url + "/hello?x " + url + "/hello?y");
  std::filesystem::remove_all(dir);
  EXPECT_NE(out.find("HTTP/1.1 200"), std::string::npos) << out;
  EXPECT_NE(out.find("Strict-Transport-Security: max-age=31536000"), std::string::npos) << out;
  EXPECT_NE(out.find("hello x"), std::string::npos) << out;
  EXPECT_NE(out.find("hello y"), std::string::npos) << out;
  // Plain HTTP to the TLS port gets no HTTP answer.
  std::string plain =
      Capture("curl -s --max-time 3 -o /dev/null -w '%{http_code}' http://127.0.0.1:" + std::to_string(port) +
              "/hello");
  EXPECT_EQ(plain, "000");
}

}  // namespace
}  // namespace latchkey::http
