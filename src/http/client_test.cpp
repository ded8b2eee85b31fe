#include "http/client.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>

#include <unistd.h>

#include <gtest/gtest.h>

#include "common/metrics.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "http/testing/test_listener.hpp"

namespace latchkey::http {
namespace {

using namespace std::chrono_literals;
using testing::TestListener;

OutboundRequest Post(std::string url, std::string body = "logout_token=abc") {
  OutboundRequest request;
  request.url = std::move(url);
  request.body = std::move(body);
  request.timeout = 5s;
  return request;
}

TEST(PostFormTest, SendsFormBodyAndHeadersAndReturnsResponse) {
  TestListener listener({200}, "delivered");
  OutboundRequest request = Post(listener.Url("/backchannel?tenant=a%20b"), "logout_token=eyJ.x.y&extra=1");
  request.headers = {{"X-Request-Id", "req-1"}, {"Accept-Language", "en"}};

  auto response = PostForm(request);

  ASSERT_TRUE(response) << response.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "delivered");
  EXPECT_FALSE(response->body_truncated);
  auto received = listener.Received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].method, "POST");
  EXPECT_EQ(received[0].target, "/backchannel?tenant=a%20b");
  EXPECT_EQ(received[0].body, "logout_token=eyJ.x.y&extra=1");
  // Back-Channel Logout §2.5: "The POST body uses the application/x-www-form-urlencoded encoding".
  EXPECT_EQ(received[0].Header("content-type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(received[0].Header("content-length"), "28");
  EXPECT_EQ(received[0].Header("host"), "127.0.0.1:" + std::to_string(listener.Port()));
  EXPECT_EQ(received[0].Header("x-request-id"), "req-1");
  EXPECT_EQ(received[0].Header("accept-language"), "en");
}

TEST(PostFormTest, EmptyPathIsSentAsSlash) {
  TestListener listener;
  auto response = PostForm(Post("http://127.0.0.1:" + std::to_string(listener.Port())));
  ASSERT_TRUE(response) << response.error();
  ASSERT_EQ(listener.Received().size(), 1u);
  EXPECT_EQ(listener.Received()[0].target, "/");
}

TEST(PostFormTest, ErrorStatusesAreValuesAndRedirectsAreNotFollowed) {
  for (int status : {204, 302, 400, 429, 503}) {
    TestListener listener({status}, status == 204 ? "" : "body");
    auto response = PostForm(Post(listener.Url()));
    ASSERT_TRUE(response) << status << ": " << response.error();
    EXPECT_EQ(response->status, status);
    EXPECT_EQ(listener.Received().size(), 1u) << status;
  }
}

TEST(PostFormTest, TruncatesTheBodyAtTheLimit) {
  TestListener listener({200}, std::string(100'000, 'x'));
  OutboundRequest request = Post(listener.Url());
  request.max_body_bytes = 1000;
  auto response = PostForm(request);
  ASSERT_TRUE(response) << response.error();
  EXPECT_EQ(response->body, std::string(1000, 'x'));
  EXPECT_TRUE(response->body_truncated);

  // Exactly at the limit is not truncated.
  TestListener exact({200}, std::string(1000, 'y'));
  response = PostForm([&] {
    OutboundRequest r = Post(exact.Url());
    r.max_body_bytes = 1000;
    return r;
  }());
  ASSERT_TRUE(response) << response.error();
  EXPECT_EQ(response->body, std::string(1000, 'y'));
  EXPECT_FALSE(response->body_truncated);
}

TEST(PostFormTest, ConnectionRefusedIsAnError) {
  auto response = PostForm(Post("http://127.0.0.1:" + std::to_string(testing::UnusedPort()) + "/"));
  ASSERT_FALSE(response);
  EXPECT_NE(response.error().find("connect failed"), std::string::npos) << response.error();
}

TEST(PostFormTest, SilentPeerTimesOutWithinTheTimeout) {
  TestListener listener({200}, "", /*silent=*/true);
  OutboundRequest request = Post(listener.Url());
  request.timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  auto response = PostForm(request);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(response);
  EXPECT_NE(response.error().find("timed out"), std::string::npos) << response.error();
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 300ms + 1500ms);
  EXPECT_EQ(listener.Received().size(), 1u);  // the request did arrive: only the answer is missing
}

TEST(PostFormTest, HttpsToAPlainHttpPortFailsTheHandshake) {
  TestListener listener;
  auto response = PostForm(Post("https://127.0.0.1:" + std::to_string(listener.Port()) + "/"));
  ASSERT_FALSE(response);
  EXPECT_NE(response.error().find("tls handshake"), std::string::npos) << response.error();
  EXPECT_TRUE(listener.Received().empty());
}

// A TLS peer: the real http::Server with a fresh self-signed certificate for DNS name "localhost"
// only (no IP address), made with the openssl command line as in server_test.cpp.
class PostFormTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("latchkey_client_tls_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    cert_ = (dir_ / "cert.pem").string();
    const std::string key = (dir_ / "key.pem").string();
    const std::string gen =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost "
        "-addext subjectAltName=DNS:localhost -keyout " +
        key + " -out " + cert_ + " 2>/dev/null";
    ASSERT_EQ(std::system(gen.c_str()), 0);
    router_.Add("/rp", {"POST"}, [](const Request& r) { return Response::Text(200, "tls " + r.body); });
    ServerOptions options;
    options.port = 0;
    options.tls = TlsOptions{cert_, key};
    server_ = std::make_unique<Server>(options, router_, metrics_);
    auto port = server_->Start();
    ASSERT_TRUE(port.has_value());
    port_ = *port;
    run_ = std::async(std::launch::async, [this] { server_->Run(); });
  }

  void TearDown() override {
    if (server_) {
      server_->Stop();
      if (run_.valid()) run_.wait();
    }
    std::filesystem::remove_all(dir_);
  }

  std::string Url(std::string_view host) const {
    return "https://" + std::string(host) + ":" + std::to_string(port_) + "/rp";
  }

  std::filesystem::path dir_;
  std::string cert_;
  Router router_;
  common::Metrics metrics_;
  std::unique_ptr<Server> server_;
  std::future<void> run_;
  uint16_t port_ = 0;
};

TEST_F(PostFormTlsTest, SucceedsWhenTheCertificateIsTrustedAndNamesTheHost) {
  OutboundRequest request = Post(Url("localhost"), "logout_token=t");
  request.ca_file = cert_;
  auto response = PostForm(request);
  ASSERT_TRUE(response) << response.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "tls logout_token=t");
}

// Verification is on: a certificate no trusted CA signed is refused (the system store does not
// hold this self-signed one).
TEST_F(PostFormTlsTest, RefusesAnUntrustedCertificate) {
  auto response = PostForm(Post(Url("localhost")));
  ASSERT_FALSE(response);
  EXPECT_NE(response.error().find("tls handshake failed"), std::string::npos) << response.error();
  EXPECT_NE(response.error().find("certificate verify failed"), std::string::npos) << response.error();
}

// Host name verification is on: a trusted certificate for "localhost" does not vouch for
// 127.0.0.1 (RFC 6125 §6: IP addresses match only iPAddress subjectAltNames).
TEST_F(PostFormTlsTest, RefusesATrustedCertificateForAnotherHost) {
  OutboundRequest request = Post(Url("127.0.0.1"));
  request.ca_file = cert_;
  auto response = PostForm(request);
  ASSERT_FALSE(response);
  EXPECT_NE(response.error().find("certificate verify failed"), std::string::npos) << response.error();
}

TEST(PostFormTest, RejectsMalformedUrlsBeforeConnecting) {
  const std::string rejected[] = {
      "",
      "not a url",
      "/relative/path",
      "ftp://127.0.0.1/",
      "http://",
      "http:///path",
      "http://user:pass@127.0.0.1/",
      "http://127.0.0.1/#fragment",
      "http://127.0.0.1:99999/",
      "http://127.0.0.1:0/",
      "http://exa%00mple.com/",
      "http://[v1.fe]/",
  };
  for (const auto& url : rejected) {
    auto response = PostForm(Post(url));
    EXPECT_FALSE(response) << url;
  }
}

TEST(PostFormTest, RejectsReservedOrInjectedHeaders) {
  TestListener listener;
  const Headers rejected[] = {
      {{"Content-Length", "1"}},
      {{"transfer-encoding", "chunked"}},
      {{"Host", "evil.example"}},
      {{"X-Test", "a\r\nInjected: yes"}},
      {{"X-Test", "a\nb"}},
      {{"Bad Name", "v"}},
      {{"", "v"}},
  };
  for (const auto& headers : rejected) {
    OutboundRequest request = Post(listener.Url());
    request.headers = headers;
    EXPECT_FALSE(PostForm(request)) << headers.front().first;
  }
  EXPECT_TRUE(listener.Received().empty());
}

}  // namespace
}  // namespace latchkey::http
