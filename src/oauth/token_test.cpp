#include "oauth/token.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "common/base64.hpp"
#include "crypto/digest.hpp"

namespace latchkey::oauth {
namespace {

TokenHttpRequest Post(std::string_view body, std::optional<std::string_view> authorization = std::nullopt) {
  TokenHttpRequest r;
  r.method = "POST";
  r.content_type = "application/x-www-form-urlencoded";
  r.body = body;
  r.authorization = authorization;
  r.authorization_count = authorization ? 1 : 0;
  return r;
}

TEST(ParseTokenRequest, AcceptsFormPostWithCharset) {
  TokenHttpRequest r = Post("grant_type=client_credentials&client_id=c&client_secret=s");
  r.content_type = "Application/X-WWW-Form-Urlencoded; charset=UTF-8";
  auto got = ParseTokenRequest(r);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->grant_type, "client_credentials");
  EXPECT_EQ(got->credentials.client_id, "c");
}

// RFC 6749 §3.2 and §5.2: each rejection names the error code the client must receive.
TEST(ParseTokenRequest, Rfc6749Section5_2Rejected) {
  struct Case {
    const char* name;
    TokenHttpRequest request;
    ErrorCode want;
  };
  TokenHttpRequest get = Post("grant_type=client_credentials&client_id=c");
  get.method = "GET";
  TokenHttpRequest json = Post("{}");
  json.content_type = "application/json";
  TokenHttpRequest no_type = Post("grant_type=client_credentials&client_id=c");
  no_type.content_type = std::nullopt;
  TokenHttpRequest two_auth = Post("grant_type=client_credentials", "Basic Yzpz");
  two_auth.authorization_count = 2;
  const Case kCases[] = {
      {"GET", get, ErrorCode::kInvalidRequest},
      {"JSON body", json, ErrorCode::kInvalidRequest},
      {"no content type", no_type, ErrorCode::kInvalidRequest},
      {"two Authorization headers", two_auth, ErrorCode::kInvalidRequest},
      {"missing grant_type", Post("client_id=c&client_secret=s"), ErrorCode::kInvalidRequest},
      {"repeated grant_type", Post("grant_type=a&grant_type=b&client_id=c"), ErrorCode::kInvalidRequest},
      {"malformed escape", Post("grant_type=%ZZ"), ErrorCode::kInvalidRequest},
      {"no client", Post("grant_type=client_credentials"), ErrorCode::kInvalidClient},
      {"bad Basic", Post("grant_type=client_credentials", "Basic %%%"), ErrorCode::kInvalidClient},
  };
  for (const auto& c : kCases) {
    auto got = ParseTokenRequest(c.request);
    ASSERT_FALSE(got.has_value()) << c.name;
    EXPECT_EQ(got.error().code, c.want) << c.name;
  }
}

class FixedRandom : public common::Random {
 public:
  std::string Bytes(size_t n) override { return std::string(n, '\x42'); }
};

class ClientCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto es = crypto::GenerateKey(crypto::KeyType::kEcP256);
    ASSERT_TRUE(es.has_value());
    auto rsa = crypto::GenerateKey(crypto::KeyType::kRsa);
    ASSERT_TRUE(rsa.has_value());
    keys_.keys.push_back({"es-kid", jose::Alg::kES256, *es});
    keys_.keys.push_back({"rs-kid", jose::Alg::kRS256, *rsa});
    for (const auto& k : keys_.keys) {
      jwks_.keys.push_back({k.kid, k.alg, "sig", *k.key.PublicOnly()});
    }
    policy_.issuer = "https://issuer.example";
    policy_.audience = "https://api.example";
    policy_.access_token_lifetime = 600;
    client_.client_id = "svc";
    client_.secret_hash = HashClientSecret("secret");
    client_.grant_types = {"client_credentials"};
    client_.scopes = {"api", "read"};
  }

  Result<TokenResponse> Grant(std::string_view body) {
    auto request = ParseTokenRequest(Post(body));
    EXPECT_TRUE(request.has_value());
    return ClientCredentialsGrant(*request, client_, policy_, keys_, clock_, random_);
  }

  SigningKeys keys_;
  jose::Jwks jwks_;
  TokenPolicy policy_;
  store::ClientRecord client_;
  common::FakeClock clock_{1'700'000'000};
  FixedRandom random_;
};

// RFC 9068 §2.1/§2.2: typ at+jwt; iss, exp, aud, sub, client_id, iat, jti are required.
TEST_F(ClientCredentialsTest, Rfc9068Section2IssuesSignedJwtAccessToken) {
  auto got = Grant("grant_type=client_credentials&client_id=svc&client_secret=secret&scope=read");
  ASSERT_TRUE(got.has_value()) << got.error().description;
  EXPECT_EQ(got->token_type, "Bearer");
  EXPECT_EQ(got->expires_in, 600);
  EXPECT_EQ(got->scope, "read");

  const jose::Alg allowed[] = {jose::Alg::kES256};
  auto verified = jose::VerifyJws(got->access_token, jwks_, allowed);
  ASSERT_TRUE(verified.has_value());
  EXPECT_EQ(verified->header.at("typ").as_string(), "at+jwt");
  EXPECT_EQ(verified->header.at("kid").as_string(), "es-kid");
  auto claims = boost::json::parse(verified->payload).as_object();
  EXPECT_EQ(claims.at("iss").as_string(), "https://issuer.example");
  EXPECT_EQ(claims.at("aud").as_string(), "https://api.example");
  EXPECT_EQ(claims.at("sub").as_string(), "svc");
  EXPECT_EQ(claims.at("client_id").as_string(), "svc");
  EXPECT_EQ(claims.at("scope").as_string(), "read");
  EXPECT_EQ(claims.at("iat").as_int64(), 1'700'000'000);
  EXPECT_EQ(claims.at("exp").as_int64(), 1'700'000'600);
  EXPECT_EQ(claims.at("jti").as_string(), common::Base64UrlEncode(std::string(16, '\x42')));
}

TEST_F(ClientCredentialsTest, PerClientAlgorithmAndLifetime) {
  client_.access_token_alg = "RS256";
  client_.access_token_lifetime = 60;
  auto got = Grant("grant_type=client_credentials&client_id=svc&client_secret=secret");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->expires_in, 60);
  EXPECT_EQ(got->scope, "api read");  // RFC 6749 §3.3 default: the registered scopes
  const jose::Alg es_only[] = {jose::Alg::kES256};
  EXPECT_FALSE(jose::VerifyJws(got->access_token, jwks_, es_only).has_value());
  const jose::Alg rs_only[] = {jose::Alg::kRS256};
  EXPECT_TRUE(jose::VerifyJws(got->access_token, jwks_, rs_only).has_value());
}

TEST_F(ClientCredentialsTest, Rfc6749Section4_4UnregisteredGrantIsUnauthorizedClient) {
  client_.grant_types = {"authorization_code"};
  auto got = Grant("grant_type=client_credentials&client_id=svc&client_secret=secret");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, ErrorCode::kUnauthorizedClient);
}

TEST_F(ClientCredentialsTest, Rfc6749Section4_4PublicClientIsUnauthorizedClient) {
  client_.secret_hash.clear();
  client_.token_endpoint_auth_method = "none";
  auto got = Grant("grant_type=client_credentials&client_id=svc");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, ErrorCode::kUnauthorizedClient);
}

TEST_F(ClientCredentialsTest, Rfc6749Section5_2ScopeOutsideRegistrationIsInvalidScope) {
  auto got = Grant("grant_type=client_credentials&client_id=svc&client_secret=secret&scope=admin");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, ErrorCode::kInvalidScope);
}

TEST_F(ClientCredentialsTest, DisallowedAlgorithmIsServerError) {
  policy_.allowed_algs = {jose::Alg::kRS256};
  auto got = Grant("grant_type=client_credentials&client_id=svc&client_secret=secret");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, ErrorCode::kServerError);
}

TEST(TokenResponseJson, Rfc6749Section5_1Members) {
  auto body = boost::json::parse(TokenResponseJson({"tok", "Bearer", 3600, "a b"})).as_object();
  EXPECT_EQ(body.at("access_token").as_string(), "tok");
  EXPECT_EQ(body.at("token_type").as_string(), "Bearer");
  EXPECT_EQ(body.at("expires_in").as_int64(), 3600);
  EXPECT_EQ(body.at("scope").as_string(), "a b");
  EXPECT_FALSE(body.contains("id_token"));
  EXPECT_FALSE(body.contains("refresh_token"));
}

// OIDC Core §3.1.3.3 and RFC 6749 §5.1: id_token and refresh_token appear only when issued.
TEST(TokenResponseJson, OidcCoreSection3_1_3_3IdAndRefreshTokens) {
  auto body = boost::json::parse(TokenResponseJson({"tok", "Bearer", 60, "openid", "idt", "rt"})).as_object();
  EXPECT_EQ(body.at("id_token").as_string(), "idt");
  EXPECT_EQ(body.at("refresh_token").as_string(), "rt");
}

}  // namespace
}  // namespace latchkey::oauth
