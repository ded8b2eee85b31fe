#include "server/provider.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "common/base64.hpp"
#include "crypto/digest.hpp"
#include "oauth/client_auth.hpp"
#include "store/memory/memory_store.hpp"

namespace latchkey::server {
namespace {

class ProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.issuer = "https://id.example";
    store_ = store::memory::NewMemoryStore();
    AddClient("svc", "s3cret", "client_secret_basic");
    provider_ = std::make_unique<Provider>(config_, *store_, clock_, random_, metrics_);
    ASSERT_TRUE(provider_->Load().has_value());
  }

  void AddClient(const std::string& id, const std::string& secret, const std::string& method) {
    store::ClientRecord c;
    c.client_id = id;
    c.secret_hash = oauth::HashClientSecret(secret);
    c.token_endpoint_auth_method = method;
    c.grant_types = {"client_credentials"};
    c.scopes = {"api"};
    ASSERT_TRUE(store_->CreateClient(c).has_value());
  }

  http::Response Post(std::string body, std::optional<std::string> basic = std::nullopt) {
    http::Request r;
    r.method = "POST";
    r.path = "/token";
    r.headers.emplace_back("content-type", "application/x-www-form-urlencoded");
    if (basic) r.headers.emplace_back("authorization", "Basic " + common::Base64Encode(*basic));
    r.body = std::move(body);
    return provider_->Token(r);
  }

  static std::string Error(const http::Response& r) {
    return std::string(boost::json::parse(r.body).as_object().at("error").as_string());
  }

  Config config_;
  std::unique_ptr<store::Store> store_;
  common::FakeClock clock_{1'700'000'000};
  crypto::SystemRandom random_;
  common::Metrics metrics_;
  std::unique_ptr<Provider> provider_;
};

// RFC 6749 §5.1: the response carries no-store and Pragma: no-cache.
TEST_F(ProviderTest, Rfc6749Section5_1SuccessIsNotCacheable) {
  auto r = Post("grant_type=client_credentials", "svc:s3cret");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("Cache-Control"), "no-store");
  EXPECT_EQ(r.Header("Pragma"), "no-cache");
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_TRUE(boost::json::parse(r.body).as_object().contains("access_token"));
  EXPECT_EQ(metrics_.CounterValue("latchkey_tokens_issued_total", {{"grant_type", "client_credentials"}}),
            1u);
}

// RFC 6749 §5.2: invalid_client is 401 with WWW-Authenticate after Basic authentication.
TEST_F(ProviderTest, Rfc6749Section5_2InvalidClientIs401WithChallenge) {
  auto wrong = Post("grant_type=client_credentials", "svc:wrong");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(Error(wrong), "invalid_client");
  ASSERT_TRUE(wrong.Header("WWW-Authenticate").has_value());
  EXPECT_EQ(wrong.Header("WWW-Authenticate")->rfind("Basic ", 0), 0u);
  EXPECT_EQ(wrong.Header("Cache-Control"), "no-store");

  // An unknown client gets exactly the same answer as a wrong secret.
  auto unknown = Post("grant_type=client_credentials", "nobody:wrong");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(unknown.body, wrong.body);
}

TEST_F(ProviderTest, Rfc6749Section5_2ErrorCodes) {
  const std::tuple<std::string, std::optional<std::string>, int, std::string> kCases[] = {
      {"grant_type=password", "svc:s3cret", 400, "unsupported_grant_type"},
      {"grant_type=client_credentials&scope=admin", "svc:s3cret", 400, "invalid_scope"},
      {"grant_type=client_credentials&grant_type=client_credentials", "svc:s3cret", 400, "invalid_request"},
      {"scope=api", "svc:s3cret", 400, "invalid_request"},
      {"grant_type=client_credentials&client_id=svc&client_secret=s3cret", std::nullopt, 401,
       "invalid_client"},
  };
  for (const auto& [body, basic, status, error] : kCases) {
    auto r = Post(body, basic);
    EXPECT_EQ(r.status, status) << body;
    EXPECT_EQ(Error(r), error) << body;
  }
}

TEST_F(ProviderTest, AdminChangesApplyAfterReloadWithoutRestart) {
  EXPECT_EQ(Post("grant_type=client_credentials", "late:pw").status, 401);
  AddClient("late", "pw", "client_secret_basic");
  ASSERT_TRUE(provider_->ReloadIfChanged());
  EXPECT_EQ(Post("grant_type=client_credentials", "late:pw").status, 200);
  ASSERT_TRUE(store_->DeleteClient("late").has_value());
  ASSERT_TRUE(provider_->ReloadIfChanged());
  EXPECT_EQ(Post("grant_type=client_credentials", "late:pw").status, 401);
}

TEST_F(ProviderTest, JwksAndDiscoveryAreTruthful) {
  http::Request get;
  get.method = "GET";
  auto jwks = provider_->Jwks(get);
  EXPECT_EQ(jwks.status, 200);
  auto keys = boost::json::parse(jwks.body).as_object().at("keys").as_array();
  EXPECT_EQ(keys.size(), 3u);
  for (const auto& k : keys) {
    EXPECT_FALSE(k.as_object().contains("d")) << "private key material published";
    EXPECT_TRUE(k.as_object().contains("kid"));
    EXPECT_TRUE(k.as_object().contains("alg"));
    EXPECT_EQ(k.as_object().at("use").as_string(), "sig");
  }
  auto meta = boost::json::parse(provider_->Discovery(get).body).as_object();
  EXPECT_EQ(meta.at("issuer").as_string(), "https://id.example");
  // Exactly the grants the token endpoint implements.
  auto grants = meta.at("grant_types_supported").as_array();
  EXPECT_EQ(grants.size(), 4u);
  for (const char* g : {"authorization_code", "refresh_token", "client_credentials",
                        "urn:ietf:params:oauth:grant-type:device_code"}) {
    EXPECT_NE(std::find(grants.begin(), grants.end(), boost::json::value(g)), grants.end()) << g;
  }
  EXPECT_EQ(meta.at("authorization_endpoint").as_string(), "https://id.example/authorize");
  EXPECT_EQ(meta.at("code_challenge_methods_supported").as_array(), boost::json::array{"S256"})
      << "plain is off unless configured";
  // Every endpoint the discovery document names is one the provider routes (RFC 8414 §2).
  http::Router router;
  provider_->Register(router);
  for (const char* member :
       {"token_endpoint", "authorization_endpoint", "userinfo_endpoint", "jwks_uri", "introspection_endpoint",
        "revocation_endpoint", "device_authorization_endpoint", "end_session_endpoint"}) {
    ASSERT_TRUE(meta.contains(member)) << member;
    std::string path(meta.at(member).as_string());
    path = path.substr(std::string("https://id.example").size());
    http::Request probe;
    probe.method = "OPTIONS";
    probe.target = path;
    probe.path = path;
    auto answer = router.DispatchInline(probe);
    // A routed path refuses OPTIONS with 405 (it exists); an unknown one answers 404.
    ASSERT_TRUE(answer.has_value()) << member;
    EXPECT_EQ(answer->status, 405) << member << " " << path;
  }
  // The ID token algorithms are the ones a key exists for.
  EXPECT_EQ(meta.at("id_token_signing_alg_values_supported").as_array().size(), 4u);
}

}  // namespace
}  // namespace latchkey::server
