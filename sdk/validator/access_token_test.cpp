#include "latchkey/validator/access_token.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <variant>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "../client/testing/fake_transport.hpp"
#include "common/base64.hpp"
#include "crypto/digest.hpp"
#include "crypto/key.hpp"
#include "jose/jose.hpp"
#include "latchkey/validator/beast.hpp"
#include "latchkey/validator/validator.hpp"

namespace latchkey::validator {
namespace {

namespace json = boost::json;
using client::ErrorCode;
using client::TokenProblem;

constexpr int64_t kNow = 1'700'000'000;
constexpr const char* kIssuer = "https://issuer.example";
constexpr const char* kAudience = "https://api.example";

// GoodClaims: an RFC 9068 §2.2 payload with every required claim, valid at kNow.
json::object GoodClaims() {
  return json::object{
      {"iss", kIssuer},          {"aud", kAudience},
      {"sub", "user-1"},         {"client_id", "client-1"},
      {"jti", "jti-1"},          {"exp", kNow + 300},
      {"iat", kNow - 10},        {"scope", "orders:read profile"},
      {"auth_time", kNow - 100}, {"acr", "urn:example:mfa"},
  };
}

AccessTokenCheck Check() { return AccessTokenCheck{kIssuer, kAudience, 60}; }

client::VerifiedJws Jws(std::string typ, const json::object& claims) {
  return client::VerifiedJws{"ES256", "es-1", std::move(typ), json::serialize(claims)};
}

using Edit = std::function<void(json::object&)>;

// RFC 9068 §4: the checks a resource server makes, accepted side.
TEST(CheckAccessTokenTest, Accepted) {
  struct Case {
    std::string name;
    std::string typ;
    Edit edit;
  };
  const Case kCases[] = {
      {"typ at+jwt (RFC 9068 §2.1)", "at+jwt", [](json::object&) {}},
      {"typ application/at+jwt (RFC 9068 §4)", "application/at+jwt", [](json::object&) {}},
      {"typ in another case (RFC 7515 §4.1.9: media types are case-insensitive)", "AT+JWT",
       [](json::object&) {}},
      {"aud array containing us (RFC 7519 §4.1.3)", "at+jwt",
       [](json::object& c) {
         c["aud"] = json::array{"https://other.example", kAudience};
       }},
      {"expired but within leeway (RFC 9068 §4)", "at+jwt", [](json::object& c) { c["exp"] = kNow - 59; }},
      {"iat in the future within leeway", "at+jwt", [](json::object& c) { c["iat"] = kNow + 60; }},
      {"nbf in the past (RFC 7519 §4.1.5)", "at+jwt", [](json::object& c) { c["nbf"] = kNow - 10; }},
      {"nbf in the future within leeway", "at+jwt", [](json::object& c) { c["nbf"] = kNow + 60; }},
      {"exp with a fraction (RFC 7519 §2 NumericDate)", "at+jwt",
       [](json::object& c) { c["exp"] = static_cast<double>(kNow) + 300.5; }},
      {"no scope (RFC 9068 §2.2.3: only SHOULD)", "at+jwt", [](json::object& c) { c.erase("scope"); }},
      {"unknown claims are kept, not refused", "at+jwt",
       [](json::object& c) { c["roles"] = json::array{"a"}; }},
  };
  for (const auto& c : kCases) {
    json::object claims = GoodClaims();
    c.edit(claims);
    auto r = CheckAccessToken(Jws(c.typ, claims), Check(), kNow);
    EXPECT_TRUE(r.has_value()) << c.name << ": " << (r ? "" : client::Describe(r.error()));
  }
}

// RFC 9068 §2 and §4: one rejection per reason, each with the TokenProblem that names it.
TEST(CheckAccessTokenTest, Rejected) {
  struct Case {
    std::string name;
    std::string typ;
    Edit edit;
    TokenProblem problem;
  };
  const Case kCases[] = {
      {"typ JWT: an ID token (RFC 9068 §4, §5)", "JWT", [](json::object&) {}, TokenProblem::kWrongType},
      {"typ missing (RFC 9068 §2.1)", "", [](json::object&) {}, TokenProblem::kWrongType},
      {"typ application/jwt", "application/jwt", [](json::object&) {}, TokenProblem::kWrongType},
      {"typ with a suffix", "at+jwt2", [](json::object&) {}, TokenProblem::kWrongType},
      {"wrong iss (RFC 9068 §4)", "at+jwt", [](json::object& c) { c["iss"] = "https://evil.example"; },
       TokenProblem::kWrongIssuer},
      {"iss with a trailing slash: exact match only (RFC 9068 §4)", "at+jwt",
       [](json::object& c) { c["iss"] = std::string(kIssuer) + "/"; }, TokenProblem::kWrongIssuer},
      {"iss missing (RFC 9068 §2.2)", "at+jwt", [](json::object& c) { c.erase("iss"); },
       TokenProblem::kMissingClaim},
      {"wrong aud (RFC 9068 §4)", "at+jwt", [](json::object& c) { c["aud"] = "https://other.example"; },
       TokenProblem::kWrongAudience},
      {"aud array without us (RFC 9068 §4)", "at+jwt",
       [](json::object& c) { c["aud"] = json::array{"https://other.example"}; },
       TokenProblem::kWrongAudience},
      {"aud missing (RFC 9068 §2.2)", "at+jwt", [](json::object& c) { c.erase("aud"); },
       TokenProblem::kMissingClaim},
      {"expired beyond leeway (RFC 9068 §4)", "at+jwt", [](json::object& c) { c["exp"] = kNow - 61; },
       TokenProblem::kExpired},
      {"exp exactly now - leeway: not before exp (RFC 9068 §4)", "at+jwt",
       [](json::object& c) { c["exp"] = kNow - 60; }, TokenProblem::kExpired},
      {"exp missing (RFC 9068 §2.2)", "at+jwt", [](json::object& c) { c.erase("exp"); },
       TokenProblem::kMissingClaim},
      {"exp as a string (RFC 7519 §2)", "at+jwt", [](json::object& c) { c["exp"] = "1700000300"; },
       TokenProblem::kMissingClaim},
      {"iat in the future beyond leeway (RFC 7519 §4.1.6)", "at+jwt",
       [](json::object& c) { c["iat"] = kNow + 61; }, TokenProblem::kIssuedInFuture},
      {"iat missing (RFC 9068 §2.2)", "at+jwt", [](json::object& c) { c.erase("iat"); },
       TokenProblem::kMissingClaim},
      {"nbf in the future beyond leeway (RFC 7519 §4.1.5)", "at+jwt",
       [](json::object& c) { c["nbf"] = kNow + 61; }, TokenProblem::kNotYetValid},
      {"sub missing (RFC 9068 §2.2)", "at+jwt", [](json::object& c) { c.erase("sub"); },
       TokenProblem::kMissingClaim},
      {"sub empty (RFC 9068 §2.2)", "at+jwt", [](json::object& c) { c["sub"] = ""; },
       TokenProblem::kMissingClaim},
      {"sub not a string", "at+jwt", [](json::object& c) { c["sub"] = 7; }, TokenProblem::kMissingClaim},
      {"client_id missing (RFC 9068 §2.2)", "at+jwt", [](json::object& c) { c.erase("client_id"); },
       TokenProblem::kMissingClaim},
      {"jti missing (RFC 9068 §2.2)", "at+jwt", [](json::object& c) { c.erase("jti"); },
       TokenProblem::kMissingClaim},
      {"scope as an array (RFC 8693 §4.2: a string)", "at+jwt",
       [](json::object& c) { c["scope"] = json::array{"orders:read"}; }, TokenProblem::kMissingClaim},
      {"auth_time as a string (RFC 9068 §2.2.1)", "at+jwt", [](json::object& c) { c["auth_time"] = "x"; },
       TokenProblem::kMissingClaim},
  };
  for (const auto& c : kCases) {
    json::object claims = GoodClaims();
    c.edit(claims);
    auto r = CheckAccessToken(Jws(c.typ, claims), Check(), kNow);
    ASSERT_FALSE(r.has_value()) << c.name;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidToken) << c.name;
    EXPECT_EQ(r.error().token_problem, c.problem)
        << c.name << ": got " << client::TokenProblemName(r.error().token_problem);
  }
}

TEST(CheckAccessTokenTest, PayloadNotAJsonObjectIsMalformed) {
  for (const char* payload : {"not json", "[]", R"({"sub":"a","sub":"b"})"}) {
    auto r = CheckAccessToken(client::VerifiedJws{"ES256", "k", "at+jwt", payload}, Check(), kNow);
    ASSERT_FALSE(r.has_value()) << payload;
    EXPECT_EQ(r.error().token_problem, TokenProblem::kMalformed) << payload;
  }
}

// A repeated claim could be read one way here and another way elsewhere (RFC 7519 §4).
TEST(CheckAccessTokenTest, RepeatedClaimIsMalformed) {
  std::string payload = json::serialize(GoodClaims());
  payload.insert(1, R"("aud":"https://other.example",)");
  auto r = CheckAccessToken(client::VerifiedJws{"ES256", "k", "at+jwt", payload}, Check(), kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().token_problem, TokenProblem::kMalformed);
}

// A missing setting must not switch a check off.
TEST(CheckAccessTokenTest, EmptyAudienceMatchesNothing) {
  AccessTokenCheck check = Check();
  check.audience.clear();
  auto r = CheckAccessToken(Jws("at+jwt", GoodClaims()), check, kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().token_problem, TokenProblem::kWrongAudience);
}

TEST(CheckAccessTokenTest, EmptyIssuerMatchesNothing) {
  AccessTokenCheck check = Check();
  check.issuer.clear();
  auto r = CheckAccessToken(Jws("at+jwt", GoodClaims()), check, kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().token_problem, TokenProblem::kWrongIssuer);
}

TEST(CheckAccessTokenTest, LeewayIsConfigurable) {
  AccessTokenCheck check = Check();
  check.leeway_seconds = 0;
  json::object claims = GoodClaims();
  claims["exp"] = kNow;
  auto r = CheckAccessToken(Jws("at+jwt", claims), check, kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().token_problem, TokenProblem::kExpired);
}

// RFC 9068 §2.2 claims land in the typed struct.
TEST(CheckAccessTokenTest, TypedClaims) {
  json::object claims = GoodClaims();
  claims["aud"] = json::array{kAudience, "https://other.example"};
  claims["nbf"] = kNow - 5;
  auto r = CheckAccessToken(Jws("at+jwt", claims), Check(), kNow);
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_EQ(r->source, TokenSource::kJwt);
  EXPECT_EQ(r->iss, kIssuer);
  EXPECT_EQ(r->sub, "user-1");
  EXPECT_EQ(r->client_id, "client-1");
  EXPECT_EQ(r->aud, (std::vector<std::string>{kAudience, "https://other.example"}));
  EXPECT_EQ(r->jti, "jti-1");
  EXPECT_EQ(r->exp, kNow + 300);
  EXPECT_EQ(r->iat, kNow - 10);
  EXPECT_EQ(r->nbf, kNow - 5);
  EXPECT_EQ(r->auth_time, kNow - 100);
  EXPECT_EQ(r->acr, "urn:example:mfa");
  EXPECT_EQ(r->payload, json::serialize(claims));
}

TEST(CheckAccessTokenTest, OptionalClaimsAbsent) {
  json::object claims = GoodClaims();
  claims.erase("auth_time");
  claims.erase("acr");
  auto r = CheckAccessToken(Jws("at+jwt", claims), Check(), kNow);
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_FALSE(r->nbf.has_value());
  EXPECT_FALSE(r->auth_time.has_value());
  EXPECT_EQ(r->acr, "");
}

// RFC 8693 §4.2: scope is a space-separated list.
TEST(CheckAccessTokenTest, ScopeList) {
  struct Case {
    std::string scope;
    std::vector<std::string> scopes;
  };
  const Case kCases[] = {
      {"orders:read profile", {"orders:read", "profile"}},
      {"one", {"one"}},
      {"  a   b  ", {"a", "b"}},
      {"", {}},
  };
  for (const auto& c : kCases) {
    json::object claims = GoodClaims();
    claims["scope"] = c.scope;
    auto r = CheckAccessToken(Jws("at+jwt", claims), Check(), kNow);
    ASSERT_TRUE(r.has_value()) << c.scope;
    EXPECT_EQ(r->scopes, c.scopes) << c.scope;
  }
}

// RFC 6750 §3.1 insufficient_scope.
TEST(RequireScopesTest, Scopes) {
  AccessTokenClaims claims;
  claims.scopes = {"orders:read", "profile"};
  EXPECT_TRUE(RequireScopes(claims, {}).has_value());
  const std::vector<std::string> kSubset = {"profile"};
  EXPECT_TRUE(RequireScopes(claims, kSubset).has_value());
  const std::vector<std::string> kAll = {"profile", "orders:read"};
  EXPECT_TRUE(RequireScopes(claims, kAll).has_value());

  const std::vector<std::string> kMissing = {"orders:read", "orders:write"};
  auto r = RequireScopes(claims, kMissing);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidToken);
  EXPECT_EQ(r.error().token_problem, TokenProblem::kInsufficientScope);

  // RFC 6749 §3.3: scope values are case-sensitive.
  const std::vector<std::string> kUpper = {"PROFILE"};
  EXPECT_FALSE(RequireScopes(claims, kUpper).has_value());
}

// ---------------------------------------------------------------------------------------------
// Validator end to end: a FakeTransport serves the discovery document and a JWKS made from keys
// generated here; tokens are minted with the server's own JOSE code.

struct Keys {
  jose::SigningKey es256;
  jose::SigningKey rs256;
  jose::SigningKey stranger;  // not in the JWKS
};

const Keys& TestKeys() {
  static const Keys keys = [] {
    auto ec = crypto::GenerateKey(crypto::KeyType::kEcP256);
    auto rsa = crypto::GenerateKey(crypto::KeyType::kRsa, 2048);
    auto other = crypto::GenerateKey(crypto::KeyType::kEcP256);
    if (!ec || !rsa || !other) std::abort();
    return Keys{jose::SigningKey{"es-1", jose::Alg::kES256, *ec},
                jose::SigningKey{"rs-1", jose::Alg::kRS256, *rsa},
                jose::SigningKey{"other", jose::Alg::kES256, *other}};
  }();
  return keys;
}

std::string Discovery(bool with_introspection) {
  json::object doc{
      {"issuer", kIssuer},
      {"authorization_endpoint", std::string(kIssuer) + "/authorize"},
      {"token_endpoint", std::string(kIssuer) + "/token"},
      {"jwks_uri", std::string(kIssuer) + "/jwks"},
      {"response_types_supported", json::array{"code"}},
      {"subject_types_supported", json::array{"public"}},
      {"id_token_signing_alg_values_supported", json::array{"ES256", "RS256"}},
  };
  if (with_introspection) doc["introspection_endpoint"] = std::string(kIssuer) + "/introspect";
  return json::serialize(doc);
}

std::string JwksDocument() {
  jose::Jwks jwks;
  for (const jose::SigningKey* k : {&TestKeys().es256, &TestKeys().rs256}) {
    auto pub = k->key.PublicOnly();
    if (!pub) std::abort();
    jwks.keys.push_back(jose::Jwk{k->kid, k->alg, "sig", *pub});
  }
  return jose::SerializeJwks(jwks);
}

std::string Mint(const jose::SigningKey& key, const json::object& claims, std::string_view typ = "at+jwt") {
  auto token = jose::SignJws(key, typ, json::serialize(claims));
  if (!token) std::abort();
  return *token;
}

// Unsigned builds header.payload.signature from raw parts (for algorithms SignJws refuses to make).
std::string Unsigned(const json::object& header, const json::object& claims, std::string_view signature) {
  return common::Base64UrlEncode(json::serialize(header)) + "." +
         common::Base64UrlEncode(json::serialize(claims)) + "." + common::Base64UrlEncode(signature);
}

class ValidatorJwtTest : public ::testing::Test {
 protected:
  ValidatorJwtTest() {
    transport_.Json("GET", std::string(kIssuer) + "/.well-known/openid-configuration", 200, Discovery(false));
    transport_.Json("GET", std::string(kIssuer) + "/jwks", 200, JwksDocument());
  }

  Validator MakeValidator(ValidatorOptions options = {}) {
    if (options.audience.empty()) options.audience = kAudience;
    return Validator(provider_, std::move(options));
  }

  client::testing::FakeTransport transport_;
  client::testing::FakeClock clock_{kNow};
  client::Provider provider_{client::ProviderOptions{kIssuer}, transport_, clock_};
};

TEST_F(ValidatorJwtTest, GoodEs256Token) {
  Validator validator = MakeValidator();
  auto claims = validator.Validate(Mint(TestKeys().es256, GoodClaims()));
  ASSERT_TRUE(claims.has_value()) << claims.error();
  EXPECT_EQ(claims->sub, "user-1");
  EXPECT_EQ(claims->source, TokenSource::kJwt);
}

// RFC 9068 §2.1: RS256 is the algorithm every resource server must support.
TEST_F(ValidatorJwtTest, GoodRs256Token) {
  Validator validator = MakeValidator();
  auto claims = validator.Validate(Mint(TestKeys().rs256, GoodClaims()));
  ASSERT_TRUE(claims.has_value()) << claims.error();
  EXPECT_EQ(claims->client_id, "client-1");
}

TEST_F(ValidatorJwtTest, RequiredScopesPresent) {
  Validator validator = MakeValidator();
  const std::vector<std::string> kNeeds = {"orders:read"};
  EXPECT_TRUE(validator.Validate(Mint(TestKeys().es256, GoodClaims()), kNeeds).has_value());
}

// RFC 6750 §3.1 insufficient_scope.
TEST_F(ValidatorJwtTest, InsufficientScope) {
  Validator validator = MakeValidator();
  const std::vector<std::string> kNeeds = {"orders:write"};
  auto r = validator.Validate(Mint(TestKeys().es256, GoodClaims()), kNeeds);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidToken);
  EXPECT_EQ(r.error().token_problem, TokenProblem::kInsufficientScope);
}

// RFC 9068 §4: "MUST reject any JWT in which the value of alg is none".
TEST_F(ValidatorJwtTest, AlgNoneRefused) {
  Validator validator = MakeValidator();
  auto token = Unsigned(json::object{{"alg", "none"}, {"typ", "at+jwt"}}, GoodClaims(), "");
  auto r = validator.Validate(token);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidToken);
  EXPECT_EQ(r.error().token_problem, TokenProblem::kAlgNotAllowed);
}

// RFC 8725 §2.1 / §3.1: an HS256 token "signed" with the provider's public key as the HMAC secret
// must not verify (algorithm confusion).
TEST_F(ValidatorJwtTest, Hs256Refused) {
  Validator validator = MakeValidator();
  const json::object header{{"alg", "HS256"}, {"typ", "at+jwt"}, {"kid", "es-1"}};
  const std::string input = common::Base64UrlEncode(json::serialize(header)) + "." +
                            common::Base64UrlEncode(json::serialize(GoodClaims()));
  const std::string token = input + "." + common::Base64UrlEncode(crypto::HmacSha256(JwksDocument(), input));
  auto r = validator.Validate(token);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidToken);
  EXPECT_EQ(r.error().token_problem, TokenProblem::kAlgNotAllowed);
}

TEST_F(ValidatorJwtTest, AlgOutsideAllowListRefused) {
  ValidatorOptions options;
  options.allowed_algs = {"ES256"};
  Validator validator = MakeValidator(options);
  auto r = validator.Validate(Mint(TestKeys().rs256, GoodClaims()));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().token_problem, TokenProblem::kAlgNotAllowed);
}

// RFC 9068 §4: "The resource server MUST use the keys provided by the authorization server."
TEST_F(ValidatorJwtTest, UnknownKidRefused) {
  Validator validator = MakeValidator();
  auto r = validator.Validate(Mint(TestKeys().stranger, GoodClaims()));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidToken);
  EXPECT_EQ(r.error().token_problem, TokenProblem::kUnknownKey);
}

// A token signed by another key that claims the provider's kid.
TEST_F(ValidatorJwtTest, BadSignatureRefused) {
  Validator validator = MakeValidator();
  jose::SigningKey impostor = TestKeys().stranger;
  impostor.kid = "es-1";
  auto r = validator.Validate(Mint(impostor, GoodClaims()));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidToken);
  EXPECT_EQ(r.error().token_problem, TokenProblem::kBadSignature);
}

// RFC 9068 §5: an ID token from the same provider, same keys, is not an access token.
TEST_F(ValidatorJwtTest, IdTokenRefused) {
  Validator validator = MakeValidator();
  auto r = validator.Validate(Mint(TestKeys().es256, GoodClaims(), "JWT"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().token_problem, TokenProblem::kWrongType);
}

TEST_F(ValidatorJwtTest, ExpiredRefused) {
  Validator validator = MakeValidator();
  const std::string token = Mint(TestKeys().es256, GoodClaims());
  clock_.Advance(300 + 60);
  auto r = validator.Validate(token);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().token_problem, TokenProblem::kExpired);
}

TEST_F(ValidatorJwtTest, WrongAudienceRefused) {
  ValidatorOptions options;
  options.audience = "https://another-api.example";
  Validator validator = MakeValidator(options);
  auto r = validator.Validate(Mint(TestKeys().es256, GoodClaims()));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().token_problem, TokenProblem::kWrongAudience);
}

// Without introspection, a token that is not a JWT cannot be checked: invalid_token, no request.
TEST_F(ValidatorJwtTest, OpaqueTokenWithoutIntrospection) {
  Validator validator = MakeValidator();
  auto r = validator.Validate("mF_9.B5f-4.1JqM");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().token_problem, TokenProblem::kMalformed);
  EXPECT_EQ(transport_.Count("POST", std::string(kIssuer) + "/introspect"), 0);
}

TEST_F(ValidatorJwtTest, EmptyTokenIsMalformed) {
  Validator validator = MakeValidator();
  auto r = validator.Validate("");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().token_problem, TokenProblem::kMalformed);
}

// The keys cannot be fetched: not the token's fault, so not invalid_token (answer 503).
TEST_F(ValidatorJwtTest, JwksUnreachableIsNotInvalidToken) {
  transport_.Fail("GET", std::string(kIssuer) + "/jwks");
  Validator validator = MakeValidator();
  auto r = validator.Validate(Mint(TestKeys().es256, GoodClaims()));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().code, ErrorCode::kInvalidToken);
  EXPECT_EQ(ChallengeFor(r.error(), "api").status, 503);
}

// RFC 6750 §2.1 + §3.1 through ValidateAuthorization.
TEST_F(ValidatorJwtTest, ValidateAuthorization) {
  Validator validator = MakeValidator();
  const std::string token = Mint(TestKeys().es256, GoodClaims());
  auto good = validator.ValidateAuthorization("bearer  " + token);
  ASSERT_TRUE(good.has_value()) << good.error();

  auto none = validator.ValidateAuthorization("");
  ASSERT_FALSE(none.has_value());
  EXPECT_TRUE(IsMissingCredentials(none.error()));

  auto basic = validator.ValidateAuthorization("Basic dXNlcjpwYXNz");
  ASSERT_FALSE(basic.has_value());
  EXPECT_TRUE(IsMissingCredentials(basic.error()));

  auto two = validator.ValidateAuthorization("Bearer " + token + " " + token);
  ASSERT_FALSE(two.has_value());
  EXPECT_EQ(two.error().oauth_error, kInvalidRequest);
}

// No Error carries the token.
TEST_F(ValidatorJwtTest, ErrorsDoNotCarryTheToken) {
  Validator validator = MakeValidator();
  json::object claims = GoodClaims();
  claims["exp"] = kNow - 3600;
  const std::string token = Mint(TestKeys().es256, claims);
  auto r = validator.ValidateAuthorization("Bearer " + token);
  ASSERT_FALSE(r.has_value());
  const std::string text = client::Describe(r.error());
  EXPECT_EQ(text.find(token.substr(token.rfind('.') + 1)), std::string::npos) << text;
  EXPECT_EQ(text.find(token.substr(0, token.find('.'))), std::string::npos) << text;
}

namespace http = boost::beast::http;

http::request<http::string_body> Request(const std::vector<std::string>& authorization) {
  http::request<http::string_body> request{http::verb::get, "/orders", 11};
  for (const auto& value : authorization) request.insert(http::field::authorization, value);
  return request;
}

TEST_F(ValidatorJwtTest, BeastGrantsAccess) {
  Validator validator = MakeValidator();
  auto outcome =
      AuthorizeRequest(Request({"Bearer " + Mint(TestKeys().es256, GoodClaims())}), validator, "api");
  ASSERT_TRUE(std::holds_alternative<AccessTokenClaims>(outcome));
  EXPECT_EQ(std::get<AccessTokenClaims>(outcome).sub, "user-1");
}

// RFC 6750 §3: 401 with the bare challenge, not cacheable.
TEST_F(ValidatorJwtTest, BeastNoCredentials) {
  Validator validator = MakeValidator();
  auto outcome = AuthorizeRequest(Request({}), validator, "api");
  ASSERT_TRUE(std::holds_alternative<BeastResponse>(outcome));
  const auto& response = std::get<BeastResponse>(outcome);
  EXPECT_EQ(response.result_int(), 401u);
  EXPECT_EQ(response[http::field::www_authenticate], R"(Bearer realm="api")");
  EXPECT_EQ(response[http::field::cache_control], "no-store");
  EXPECT_EQ(response[http::field::content_type], "application/json");
  EXPECT_EQ(response.body(), "{}");
}

// RFC 6750 §3.1 insufficient_scope: 403 naming the scope.
TEST_F(ValidatorJwtTest, BeastInsufficientScope) {
  Validator validator = MakeValidator();
  const std::vector<std::string> kNeeds = {"orders:write"};
  auto outcome =
      AuthorizeRequest(Request({"Bearer " + Mint(TestKeys().es256, GoodClaims())}), validator, "api", kNeeds);
  ASSERT_TRUE(std::holds_alternative<BeastResponse>(outcome));
  const auto& response = std::get<BeastResponse>(outcome);
  EXPECT_EQ(response.result_int(), 403u);
  EXPECT_EQ(response[http::field::www_authenticate],
            R"(Bearer realm="api", error="insufficient_scope", )"
            R"(error_description="The access token lacks a required scope", scope="orders:write")");
  EXPECT_EQ(
      response.body(),
      R"({"error":"insufficient_scope","error_description":"The access token lacks a required scope"})");
}

// RFC 6750 §3.1 invalid_request: the request "repeats the same parameter".
TEST_F(ValidatorJwtTest, BeastTwoAuthorizationHeaders) {
  Validator validator = MakeValidator();
  const std::string token = "Bearer " + Mint(TestKeys().es256, GoodClaims());
  auto outcome = AuthorizeRequest(Request({token, token}), validator, "api");
  ASSERT_TRUE(std::holds_alternative<BeastResponse>(outcome));
  EXPECT_EQ(std::get<BeastResponse>(outcome).result_int(), 400u);
}

}  // namespace
}  // namespace latchkey::validator
