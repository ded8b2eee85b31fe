#include "latchkey/validator/introspection.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "../client/testing/fake_transport.hpp"
#include "latchkey/validator/validator.hpp"

namespace latchkey::validator {
namespace {

namespace json = boost::json;
using client::ErrorCode;
using client::HttpResponse;
using client::TokenProblem;

constexpr int64_t kNow = 1'700'000'000;
constexpr const char* kIssuer = "https://issuer.example";
constexpr const char* kAudience = "https://api.example";
constexpr const char* kEndpoint = "https://issuer.example/introspect";

AccessTokenCheck Check() { return AccessTokenCheck{kIssuer, kAudience, 60}; }

// ActiveAnswer: an RFC 7662 §2.2 answer for an active access token, valid at kNow.
json::object ActiveAnswer() {
  return json::object{
      {"active", true},          {"scope", "orders:read profile"},
      {"client_id", "client-1"}, {"username", "jdoe"},
      {"token_type", "Bearer"},  {"exp", kNow + 3600},
      {"iat", kNow - 10},        {"sub", "user-1"},
      {"aud", kAudience},        {"iss", kIssuer},
      {"jti", "jti-1"},
  };
}

HttpResponse Answer(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

// RFC 7662 §2.1: POST, form body, HTTP Basic with form-urlencoded credentials (RFC 6749 §2.3.1).
TEST(IntrospectionRequestTest, Shape) {
  auto request = IntrospectionRequest(kEndpoint, "a+b/c=", "rs:1", "p@ss w+");
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.url, kEndpoint);
  EXPECT_EQ(request.body, "token=a%2Bb%2Fc%3D&token_type_hint=access_token");
  HttpResponse headers;
  headers.headers = request.headers;
  // base64("rs%3A1:p%40ss+w%2B")
  EXPECT_EQ(headers.HeaderValue("Authorization"), "Basic cnMlM0ExOnAlNDBzcyt3JTJC");
  EXPECT_EQ(headers.HeaderValue("Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(headers.HeaderValue("Accept"), "application/json");
}

using Edit = std::function<void(json::object&)>;

// RFC 7662 §2.2, accepted answers.
TEST(CheckIntrospectionResponseTest, Accepted) {
  struct Case {
    std::string name;
    Edit edit;
  };
  const Case kCases[] = {
      {"full answer", [](json::object&) {}},
      {"only active (RFC 7662 §2.2: the rest is OPTIONAL)",
       [](json::object& a) {
         a = {{"active", true}};
       }},
      {"iss absent", [](json::object& a) { a.erase("iss"); }},
      {"aud absent: the provider decided", [](json::object& a) { a.erase("aud"); }},
      {"aud array containing us",
       [](json::object& a) {
         a["aud"] = json::array{"x", kAudience};
       }},
      {"token_type in lower case (RFC 6749 §5.1)", [](json::object& a) { a["token_type"] = "bearer"; }},
      {"exp past but within leeway", [](json::object& a) { a["exp"] = kNow - 59; }},
      {"extension members", [](json::object& a) { a["extension_field"] = "twenty-seven"; }},
  };
  for (const auto& c : kCases) {
    json::object answer = ActiveAnswer();
    c.edit(answer);
    auto r = CheckIntrospectionResponse(Answer(200, json::serialize(answer)), Check(), kNow);
    EXPECT_TRUE(r.has_value()) << c.name << ": " << (r ? "" : client::Describe(r.error()));
  }
}

// RFC 7662 §2.2: judgements of the token, one per reason.
TEST(CheckIntrospectionResponseTest, RejectedTokens) {
  struct Case {
    std::string name;
    Edit edit;
    TokenProblem problem;
  };
  const Case kCases[] = {
      {"active false (RFC 7662 §2.2)",
       [](json::object& a) {
         a = {{"active", false}};
       },
       TokenProblem::kInactive},
      {"wrong iss", [](json::object& a) { a["iss"] = "https://evil.example"; }, TokenProblem::kWrongIssuer},
      {"wrong aud", [](json::object& a) { a["aud"] = "https://other.example"; },
       TokenProblem::kWrongAudience},
      {"aud array without us", [](json::object& a) { a["aud"] = json::array{"x"}; },
       TokenProblem::kWrongAudience},
      {"expired beyond leeway", [](json::object& a) { a["exp"] = kNow - 60; }, TokenProblem::kExpired},
      {"nbf in the future", [](json::object& a) { a["nbf"] = kNow + 61; }, TokenProblem::kNotYetValid},
      {"a refresh token (token_type, RFC 7662 §2.2)",
       [](json::object& a) { a["token_type"] = "refresh_token"; }, TokenProblem::kWrongType},
      {"exp as a string", [](json::object& a) { a["exp"] = "soon"; }, TokenProblem::kMissingClaim},
      {"scope as an array", [](json::object& a) { a["scope"] = json::array{"a"}; },
       TokenProblem::kMissingClaim},
  };
  for (const auto& c : kCases) {
    json::object answer = ActiveAnswer();
    c.edit(answer);
    auto r = CheckIntrospectionResponse(Answer(200, json::serialize(answer)), Check(), kNow);
    ASSERT_FALSE(r.has_value()) << c.name;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidToken) << c.name;
    EXPECT_EQ(r.error().token_problem, c.problem)
        << c.name << ": got " << client::TokenProblemName(r.error().token_problem);
  }
}

// Failures of the endpoint say nothing about the token: never kInvalidToken (answer 503).
TEST(CheckIntrospectionResponseTest, EndpointFailures) {
  struct Case {
    std::string name;
    HttpResponse response;
    ErrorCode code;
  };
  const Case kCases[] = {
      {"401 invalid_client (RFC 6749 §5.2)", Answer(401, R"({"error":"invalid_client"})"), ErrorCode::kOAuth},
      {"401 without a body", Answer(401, ""), ErrorCode::kHttpStatus},
      {"500", Answer(500, "<html>oops</html>"), ErrorCode::kHttpStatus},
      {"200 garbage", Answer(200, "<html>"), ErrorCode::kInvalidResponse},
      {"200 array", Answer(200, "[]"), ErrorCode::kInvalidResponse},
      {"200 without active (RFC 7662 §2.2: REQUIRED)", Answer(200, R"({"sub":"x"})"),
       ErrorCode::kInvalidResponse},
      {"200 active as a string", Answer(200, R"({"active":"true"})"), ErrorCode::kInvalidResponse},
      {"200 repeated member", Answer(200, R"({"active":true,"aud":"x","aud":"https://api.example"})"),
       ErrorCode::kInvalidResponse},
  };
  for (const auto& c : kCases) {
    auto r = CheckIntrospectionResponse(c.response, Check(), kNow);
    ASSERT_FALSE(r.has_value()) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name << ": " << r.error();
    EXPECT_EQ(ChallengeFor(r.error(), "api").status, 503) << c.name;
  }
}

TEST(CheckIntrospectionResponseTest, TypedClaims) {
  auto r = CheckIntrospectionResponse(Answer(200, json::serialize(ActiveAnswer())), Check(), kNow);
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_EQ(r->source, TokenSource::kIntrospection);
  EXPECT_EQ(r->iss, kIssuer);
  EXPECT_EQ(r->sub, "user-1");
  EXPECT_EQ(r->client_id, "client-1");
  EXPECT_EQ(r->aud, std::vector<std::string>{kAudience});
  EXPECT_EQ(r->scopes, (std::vector<std::string>{"orders:read", "profile"}));
  EXPECT_EQ(r->jti, "jti-1");
  EXPECT_EQ(r->exp, kNow + 3600);
  EXPECT_EQ(r->iat, kNow - 10);
}

Result<AccessTokenClaims> Claims(std::string sub) {
  AccessTokenClaims c;
  c.sub = std::move(sub);
  return c;
}

TEST(IntrospectionCacheTest, FindsWhatWasInserted) {
  IntrospectionCache cache(10);
  EXPECT_FALSE(cache.Find("t1", kNow).has_value());
  cache.Insert("t1", Claims("a"), kNow + 10);
  auto hit = cache.Find("t1", kNow);
  ASSERT_TRUE(hit.has_value());
  ASSERT_TRUE(hit->has_value());
  EXPECT_EQ((*hit)->sub, "a");
  EXPECT_FALSE(cache.Find("t2", kNow).has_value());
}

TEST(IntrospectionCacheTest, CachesRejections) {
  IntrospectionCache cache(10);
  client::Error inactive{ErrorCode::kInvalidToken, "inactive"};
  inactive.token_problem = TokenProblem::kInactive;
  cache.Insert("t1", inactive, kNow + 5);
  auto hit = cache.Find("t1", kNow);
  ASSERT_TRUE(hit.has_value());
  ASSERT_FALSE(hit->has_value());
  EXPECT_EQ(hit->error().token_problem, TokenProblem::kInactive);
}

TEST(IntrospectionCacheTest, EntriesExpire) {
  IntrospectionCache cache(10);
  cache.Insert("t1", Claims("a"), kNow + 10);
  EXPECT_TRUE(cache.Find("t1", kNow + 9).has_value());
  EXPECT_FALSE(cache.Find("t1", kNow + 10).has_value());
  EXPECT_EQ(cache.Size(), 0u);  // a stale entry found is dropped
}

TEST(IntrospectionCacheTest, InsertReplaces) {
  IntrospectionCache cache(10);
  cache.Insert("t1", Claims("a"), kNow + 10);
  cache.Insert("t1", Claims("b"), kNow + 20);
  EXPECT_EQ(cache.Size(), 1u);
  auto hit = cache.Find("t1", kNow + 15);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ((*hit)->sub, "b");
}

// Bounded, least recently used first out.
TEST(IntrospectionCacheTest, EvictsLeastRecentlyUsed) {
  IntrospectionCache cache(2);
  cache.Insert("t1", Claims("a"), kNow + 10);
  cache.Insert("t2", Claims("b"), kNow + 10);
  EXPECT_TRUE(cache.Find("t1", kNow).has_value());  // t1 now more recent than t2
  cache.Insert("t3", Claims("c"), kNow + 10);
  EXPECT_EQ(cache.Size(), 2u);
  EXPECT_TRUE(cache.Find("t1", kNow).has_value());
  EXPECT_FALSE(cache.Find("t2", kNow).has_value());
  EXPECT_TRUE(cache.Find("t3", kNow).has_value());
}

TEST(IntrospectionCacheTest, ZeroEntriesDisables) {
  IntrospectionCache cache(0);
  cache.Insert("t1", Claims("a"), kNow + 10);
  EXPECT_FALSE(cache.Find("t1", kNow).has_value());
  EXPECT_EQ(cache.Size(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Validator with introspection, end to end over a FakeTransport.

std::string Discovery(bool with_introspection) {
  json::object doc{
      {"issuer", kIssuer},
      {"authorization_endpoint", std::string(kIssuer) + "/authorize"},
      {"token_endpoint", std::string(kIssuer) + "/token"},
      {"jwks_uri", std::string(kIssuer) + "/jwks"},
      {"response_types_supported", json::array{"code"}},
      {"subject_types_supported", json::array{"public"}},
      {"id_token_signing_alg_values_supported", json::array{"ES256"}},
  };
  if (with_introspection) doc["introspection_endpoint"] = kEndpoint;
  return json::serialize(doc);
}

class ValidatorIntrospectionTest : public ::testing::Test {
 protected:
  ValidatorIntrospectionTest() {
    transport_.Json("GET", std::string(kIssuer) + "/.well-known/openid-configuration", 200, Discovery(true));
    transport_.Json("GET", std::string(kIssuer) + "/jwks", 200, R"({"keys":[]})");
    // Tokens starting with "active-" are active, everything else inactive.
    transport_.On("POST", kEndpoint, [](const client::HttpRequest& request) -> client::Result<HttpResponse> {
      if (request.body.rfind("token=active-", 0) == 0) return Answer(200, json::serialize(ActiveAnswer()));
      return Answer(200, R"({"active":false})");
    });
  }

  ValidatorOptions Options(size_t max_entries = 10000, int64_t max_ttl = 60) {
    ValidatorOptions options;
    options.audience = kAudience;
    options.introspection.client_id = "rs-1";
    options.introspection.client_secret = "secret";
    options.introspection.cache_max_entries = max_entries;
    options.introspection.cache_max_ttl_seconds = max_ttl;
    return options;
  }

  int Posts() const { return transport_.Count("POST", kEndpoint); }

  // PostsFor counts the introspection requests about `token`.
  int PostsFor(const std::string& token) const {
    int n = 0;
    for (const auto& r : transport_.Requests()) {
      n += r.method == "POST" && r.body == "token=" + token + "&token_type_hint=access_token" ? 1 : 0;
    }
    return n;
  }

  client::testing::FakeTransport transport_;
  client::testing::FakeClock clock_{kNow};
  client::Provider provider_{client::ProviderOptions{kIssuer}, transport_, clock_};
};

TEST_F(ValidatorIntrospectionTest, ActiveToken) {
  Validator validator(provider_, Options());
  const std::vector<std::string> kNeeds = {"orders:read"};
  auto r = validator.Validate("active-1", kNeeds);
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_EQ(r->source, TokenSource::kIntrospection);
  EXPECT_EQ(r->sub, "user-1");
  // RFC 7662 §2.1 request, authenticated per RFC 6749 §2.3.1.
  ASSERT_EQ(Posts(), 1);
  const auto requests = transport_.Requests();
  HttpResponse sent;
  sent.headers = requests.back().headers;
  EXPECT_EQ(requests.back().body, "token=active-1&token_type_hint=access_token");
  EXPECT_EQ(sent.HeaderValue("Authorization"), "Basic cnMtMTpzZWNyZXQ=");  // base64("rs-1:secret")
}

// RFC 7662 §2.2 active:false -> invalid_token.
TEST_F(ValidatorIntrospectionTest, InactiveToken) {
  Validator validator(provider_, Options());
  auto r = validator.Validate("revoked-1");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidToken);
  EXPECT_EQ(r.error().token_problem, TokenProblem::kInactive);
  EXPECT_EQ(ChallengeFor(r.error(), "api").status, 401);
}

// An opaque token may contain dots (RFC 6750 §2.1's example); it is still introspected.
TEST_F(ValidatorIntrospectionTest, DottedOpaqueTokenIsIntrospected) {
  Validator validator(provider_, Options());
  auto r = validator.Validate("active-mF_9.B5f-4.1JqM");
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_EQ(Posts(), 1);
}

TEST_F(ValidatorIntrospectionTest, InsufficientScope) {
  Validator validator(provider_, Options());
  const std::vector<std::string> kNeeds = {"orders:write"};
  auto r = validator.Validate("active-1", kNeeds);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().token_problem, TokenProblem::kInsufficientScope);
}

// RFC 7662 §4: the answer may be cached; the second validation sends nothing.
TEST_F(ValidatorIntrospectionTest, CacheHit) {
  Validator validator(provider_, Options());
  ASSERT_TRUE(validator.Validate("active-1").has_value());
  ASSERT_TRUE(validator.Validate("active-1").has_value());
  EXPECT_EQ(Posts(), 1);
}

// Scopes are checked on every call, also for a cached answer.
TEST_F(ValidatorIntrospectionTest, CacheHitStillChecksScopes) {
  Validator validator(provider_, Options());
  ASSERT_TRUE(validator.Validate("active-1").has_value());
  const std::vector<std::string> kNeeds = {"orders:write"};
  auto r = validator.Validate("active-1", kNeeds);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().token_problem, TokenProblem::kInsufficientScope);
  EXPECT_EQ(Posts(), 1);
}

// An active answer is trusted for at most cache_max_ttl_seconds.
TEST_F(ValidatorIntrospectionTest, CacheTtlExpiry) {
  Validator validator(provider_, Options(10000, 60));
  ASSERT_TRUE(validator.Validate("active-1").has_value());
  clock_.Advance(59);
  ASSERT_TRUE(validator.Validate("active-1").has_value());
  EXPECT_EQ(Posts(), 1);
  clock_.Advance(1);
  ASSERT_TRUE(validator.Validate("active-1").has_value());
  EXPECT_EQ(Posts(), 2);
}

// ... and never past the token's own exp.
TEST_F(ValidatorIntrospectionTest, CacheTtlBoundedByExp) {
  transport_.On("POST", kEndpoint, [](const client::HttpRequest&) -> client::Result<HttpResponse> {
    json::object answer = ActiveAnswer();
    answer["exp"] = kNow + 10;
    return Answer(200, json::serialize(answer));
  });
  Validator validator(provider_, Options(10000, 60));
  ASSERT_TRUE(validator.Validate("active-1").has_value());
  clock_.Advance(9);
  ASSERT_TRUE(validator.Validate("active-1").has_value());
  EXPECT_EQ(Posts(), 1);
  clock_.Advance(1);
  validator.Validate("active-1");
  EXPECT_EQ(Posts(), 2);
}

// Rejections are cached for kInactiveCacheSeconds only.
TEST_F(ValidatorIntrospectionTest, InactiveCachedBriefly) {
  Validator validator(provider_, Options());
  ASSERT_FALSE(validator.Validate("revoked-1").has_value());
  clock_.Advance(kInactiveCacheSeconds - 1);
  ASSERT_FALSE(validator.Validate("revoked-1").has_value());
  EXPECT_EQ(Posts(), 1);
  clock_.Advance(1);
  ASSERT_FALSE(validator.Validate("revoked-1").has_value());
  EXPECT_EQ(Posts(), 2);
}

// Bounded: past max entries, the least recently used answers are asked for again.
TEST_F(ValidatorIntrospectionTest, CacheBounded) {
  Validator validator(provider_, Options(2, 60));
  for (const char* token : {"active-1", "active-2", "active-3"}) {
    ASSERT_TRUE(validator.Validate(token).has_value());
  }
  ASSERT_TRUE(validator.Validate("active-3").has_value());
  ASSERT_TRUE(validator.Validate("active-2").has_value());
  ASSERT_TRUE(validator.Validate("active-1").has_value());
  EXPECT_EQ(PostsFor("active-3"), 1);
  EXPECT_EQ(PostsFor("active-2"), 1);
  EXPECT_EQ(PostsFor("active-1"), 2);
}

TEST_F(ValidatorIntrospectionTest, CacheDisabled) {
  Validator validator(provider_, Options(0, 60));
  ASSERT_TRUE(validator.Validate("active-1").has_value());
  ASSERT_TRUE(validator.Validate("active-1").has_value());
  EXPECT_EQ(Posts(), 2);
}

// The introspection endpoint fails: a clear error that is not invalid_token (the resource server
// answers 503), and nothing is cached.
TEST_F(ValidatorIntrospectionTest, EndpointFailures) {
  struct Case {
    std::string name;
    int status;
    std::string body;
    ErrorCode code;
  };
  const Case kCases[] = {
      {"401 invalid_client", 401, R"({"error":"invalid_client"})", ErrorCode::kOAuth},
      {"500", 500, "internal error", ErrorCode::kHttpStatus},
      {"garbage", 200, "<html>", ErrorCode::kInvalidResponse},
  };
  for (const auto& c : kCases) {
    client::testing::FakeTransport transport;
    transport.Json("GET", std::string(kIssuer) + "/.well-known/openid-configuration", 200, Discovery(true));
    transport.Json("POST", kEndpoint, c.status, c.body);
    client::Provider provider(client::ProviderOptions{kIssuer}, transport, clock_);
    Validator validator(provider, Options());
    for (int i = 0; i < 2; ++i) {
      auto r = validator.Validate("active-1");
      ASSERT_FALSE(r.has_value()) << c.name;
      EXPECT_EQ(r.error().code, c.code) << c.name << ": " << r.error();
      EXPECT_EQ(ChallengeFor(r.error(), "api").status, 503) << c.name;
    }
    EXPECT_EQ(transport.Count("POST", kEndpoint), 2) << c.name << ": failures must not be cached";
  }
}

TEST_F(ValidatorIntrospectionTest, TransportFailure) {
  transport_.Fail("POST", kEndpoint);
  Validator validator(provider_, Options());
  auto r = validator.Validate("active-1");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kTransport);
  EXPECT_EQ(ChallengeFor(r.error(), "api").status, 503);
}

TEST_F(ValidatorIntrospectionTest, ProviderWithoutIntrospectionEndpoint) {
  transport_.Json("GET", std::string(kIssuer) + "/.well-known/openid-configuration", 200, Discovery(false));
  Validator validator(provider_, Options());
  auto r = validator.Validate("active-1");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kDiscovery);
  EXPECT_EQ(Posts(), 0);
}

// No Error carries the token.
TEST_F(ValidatorIntrospectionTest, ErrorsDoNotCarryTheToken) {
  transport_.Json("POST", kEndpoint, 401, R"({"error":"invalid_client","error_description":"bad secret"})");
  Validator validator(provider_, Options());
  auto r = validator.Validate("active-sensitive");
  ASSERT_FALSE(r.has_value());
  const std::string text = client::Describe(r.error());
  EXPECT_EQ(text.find("active-sensitive"), std::string::npos) << text;
}

}  // namespace
}  // namespace latchkey::validator
