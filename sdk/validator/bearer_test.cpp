#include "latchkey/validator/bearer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace latchkey::validator {
namespace {

using client::Error;
using client::ErrorCode;
using client::TokenProblem;

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token.
TEST(ParseBearerAuthorizationTest, Accepted) {
  struct Case {
    std::string name;
    std::string header;
    std::string token;
  };
  const Case kCases[] = {
      {"RFC 6750 §2.1 example", "Bearer mF_9.B5f-4.1JqM", "mF_9.B5f-4.1JqM"},
      {"scheme in lower case (RFC 9110 §11.1)", "bearer abc", "abc"},
      {"scheme in upper case", "BEARER abc", "abc"},
      {"scheme in mixed case", "bEaReR abc", "abc"},
      {"several spaces (1*SP)", "Bearer    abc", "abc"},
      {"every b64token character", "Bearer AZaz09-._~+/", "AZaz09-._~+/"},
      {"trailing = padding", "Bearer abc==", "abc=="},
      {"one = padding", "Bearer abc=", "abc="},
      {"surrounding whitespace is not part of the field value (RFC 9110 §5.5)", " \tBearer abc \t", "abc"},
  };
  for (const auto& c : kCases) {
    auto token = ParseBearerAuthorization(c.header);
    ASSERT_TRUE(token.has_value()) << c.name << ": " << token.error();
    EXPECT_EQ(*token, c.token) << c.name;
  }
}

// RFC 6750 §3.1: a request without Bearer credentials gets no error code.
TEST(ParseBearerAuthorizationTest, NoCredentials) {
  struct Case {
    std::string name;
    std::string header;
  };
  const Case kCases[] = {
      {"no header", ""},
      {"only whitespace", "  \t "},
      {"Basic scheme", "Basic dXNlcjpwYXNz"},
      {"DPoP scheme", "DPoP abc"},
      {"scheme name that only starts with Bearer", "Bearerabc"},
      {"scheme name Bearer-ish", "Bearer2 abc"},
  };
  for (const auto& c : kCases) {
    auto token = ParseBearerAuthorization(c.header);
    ASSERT_FALSE(token.has_value()) << c.name;
    EXPECT_EQ(token.error().code, ErrorCode::kInvalidArgument) << c.name;
    EXPECT_EQ(token.error().oauth_error, "") << c.name;
    EXPECT_TRUE(IsMissingCredentials(token.error())) << c.name;
  }
}

// RFC 6750 §3.1 invalid_request: Bearer credentials that do not match the §2.1 grammar.
TEST(ParseBearerAuthorizationTest, Malformed) {
  struct Case {
    std::string name;
    std::string header;
  };
  const Case kCases[] = {
      {"scheme without token", "Bearer"},
      {"scheme and spaces only", "Bearer   "},
      {"tab instead of SP", "Bearer\tabc"},
      {"two tokens", "Bearer abc def"},
      {"token then auth-param", "Bearer abc, realm=\"x\""},
      {"comma (outside b64token)", "Bearer ab,cd"},
      {"percent (outside b64token)", "Bearer ab%cd"},
      {"quoted token", "Bearer \"abc\""},
      {"non-ASCII byte", "Bearer ab\xC3\xA9"},
      {"only padding: empty token", "Bearer =="},
      {"padding in the middle", "Bearer ab=cd"},
      {"NUL inside", std::string("Bearer ab\0cd", 12)},
  };
  for (const auto& c : kCases) {
    auto token = ParseBearerAuthorization(c.header);
    ASSERT_FALSE(token.has_value()) << c.name;
    EXPECT_EQ(token.error().code, ErrorCode::kInvalidArgument) << c.name;
    EXPECT_EQ(token.error().oauth_error, kInvalidRequest) << c.name;
    EXPECT_FALSE(IsMissingCredentials(token.error())) << c.name;
  }
}

// The token never shows up in an error message.
TEST(ParseBearerAuthorizationTest, ErrorsDoNotRepeatTheToken) {
  auto token = ParseBearerAuthorization("Bearer secret-value extra");
  ASSERT_FALSE(token.has_value());
  EXPECT_EQ(client::Describe(token.error()).find("secret-value"), std::string::npos);
}

Error TokenFailure(TokenProblem problem) {
  Error e{ErrorCode::kInvalidToken, "detail for the log"};
  e.token_problem = problem;
  return e;
}

// RFC 6750 §3 and §3.1, the example of §3.
TEST(ChallengeForTest, NoCredentialsIsABareChallenge) {
  auto c = ChallengeFor(Error{ErrorCode::kInvalidArgument, "no Bearer credentials"}, "example");
  EXPECT_EQ(c.status, 401);
  EXPECT_EQ(c.www_authenticate, R"(Bearer realm="example")");
  EXPECT_EQ(c.error, "");
}

// RFC 6750 §3, second example: an expired token.
TEST(ChallengeForTest, ExpiredTokenIsInvalidToken) {
  auto c = ChallengeFor(TokenFailure(TokenProblem::kExpired), "example");
  EXPECT_EQ(c.status, 401);
  EXPECT_EQ(c.www_authenticate,
            R"(Bearer realm="example", error="invalid_token", error_description="The access token expired")");
}

// RFC 6750 §3.1 invalid_token, for every reason a token can fail (RFC 9068 §4 requires this code).
TEST(ChallengeForTest, EveryTokenProblemIsInvalidToken) {
  const TokenProblem kProblems[] = {
      TokenProblem::kNone,         TokenProblem::kMalformed,     TokenProblem::kAlgNotAllowed,
      TokenProblem::kUnknownKey,   TokenProblem::kBadSignature,  TokenProblem::kWrongType,
      TokenProblem::kWrongIssuer,  TokenProblem::kWrongAudience, TokenProblem::kWrongAuthorizedParty,
      TokenProblem::kExpired,      TokenProblem::kNotYetValid,   TokenProblem::kIssuedInFuture,
      TokenProblem::kMissingClaim, TokenProblem::kNonceMismatch, TokenProblem::kAtHashMismatch,
      TokenProblem::kAuthTooOld,   TokenProblem::kInactive,
  };
  for (TokenProblem p : kProblems) {
    auto c = ChallengeFor(TokenFailure(p), "api");
    EXPECT_EQ(c.status, 401) << client::TokenProblemName(p);
    EXPECT_EQ(c.error, "invalid_token") << client::TokenProblemName(p);
    EXPECT_EQ(
        c.www_authenticate.rfind(R"(Bearer realm="api", error="invalid_token", error_description=")", 0), 0u)
        << c.www_authenticate;
    // The log detail stays in the log.
    EXPECT_EQ(c.www_authenticate.find("detail"), std::string::npos);
  }
}

// RFC 6750 §3.1 insufficient_scope: 403 with the scope needed.
TEST(ChallengeForTest, InsufficientScopeNamesTheRequiredScopes) {
  const std::vector<std::string> kNeeds = {"orders:read", "orders:write"};
  auto c = ChallengeFor(TokenFailure(TokenProblem::kInsufficientScope), "api", kNeeds);
  EXPECT_EQ(c.status, 403);
  EXPECT_EQ(
      c.www_authenticate,
      R"(Bearer realm="api", error="insufficient_scope", )"
      R"(error_description="The access token lacks a required scope", scope="orders:read orders:write")");
}

// RFC 6750 §3: scope is OPTIONAL; none known, none sent.
TEST(ChallengeForTest, InsufficientScopeWithoutScopes) {
  auto c = ChallengeFor(TokenFailure(TokenProblem::kInsufficientScope), "api");
  EXPECT_EQ(c.status, 403);
  EXPECT_EQ(c.www_authenticate, R"(Bearer realm="api", error="insufficient_scope", )"
                                R"(error_description="The access token lacks a required scope")");
}

// RFC 6750 §3.1 invalid_request: 400.
TEST(ChallengeForTest, MalformedHeaderIsInvalidRequest) {
  auto header = ParseBearerAuthorization("Bearer a b");
  ASSERT_FALSE(header.has_value());
  auto c = ChallengeFor(header.error(), "api");
  EXPECT_EQ(c.status, 400);
  EXPECT_EQ(
      c.www_authenticate,
      R"(Bearer realm="api", error="invalid_request", error_description="The Authorization header is malformed")");
}

// The scope attribute is only for insufficient_scope (RFC 6750 §3.1).
TEST(ChallengeForTest, ScopeOnlyOnInsufficientScope) {
  const std::vector<std::string> kNeeds = {"read"};
  EXPECT_EQ(ChallengeFor(TokenFailure(TokenProblem::kExpired), "api", kNeeds).www_authenticate.find("scope="),
            std::string::npos);
  EXPECT_EQ(ChallengeFor(Error{ErrorCode::kInvalidArgument}, "api", kNeeds).www_authenticate,
            R"(Bearer realm="api")");
}

// A provider failure is not a judgement of the token: 503, no challenge, no invalid_token.
TEST(ChallengeForTest, ProviderFailuresAreServiceUnavailable) {
  Error oauth{ErrorCode::kOAuth, "introspection endpoint refused the request", "invalid_client"};
  oauth.http_status = 401;
  Error status{ErrorCode::kHttpStatus, "HTTP 500"};
  status.http_status = 500;
  const Error kErrors[] = {
      Error{ErrorCode::kTransport, "connection refused"},
      status,
      Error{ErrorCode::kInvalidResponse, "garbage"},
      Error{ErrorCode::kDiscovery, "no introspection_endpoint"},
      oauth,
      Error{ErrorCode::kNone},
  };
  for (const auto& e : kErrors) {
    auto c = ChallengeFor(e, "api");
    EXPECT_EQ(c.status, 503) << e;
    EXPECT_EQ(c.www_authenticate, "") << e;
    EXPECT_EQ(c.error, "") << e;
  }
}

// RFC 9110 §5.6.4 quoted-string: '"' and '\' escaped, control characters dropped.
TEST(QuotedStringTest, EscapesAndDrops) {
  EXPECT_EQ(QuotedString("example"), R"("example")");
  EXPECT_EQ(QuotedString(""), R"("")");
  EXPECT_EQ(QuotedString(R"(a"b)"), R"("a\"b")");
  EXPECT_EQ(QuotedString(R"(a\b)"), R"("a\\b")");
  EXPECT_EQ(QuotedString("a\r\nSet-Cookie: x"), R"("aSet-Cookie: x")");
  EXPECT_EQ(QuotedString(std::string("a\0\tb\x7f", 5)), R"("ab")");
  EXPECT_EQ(QuotedString("caf\xC3\xA9"), "\"caf\xC3\xA9\"");
}

TEST(ChallengeForTest, RealmIsQuoted) {
  auto c = ChallengeFor(Error{ErrorCode::kInvalidArgument}, "my \"api\"\r\n\\");
  EXPECT_EQ(c.www_authenticate, R"(Bearer realm="my \"api\"\\")");
}

TEST(ChallengeBodyTest, Json) {
  EXPECT_EQ(ChallengeBody(ChallengeFor(TokenFailure(TokenProblem::kExpired), "api")),
            R"({"error":"invalid_token","error_description":"The access token expired"})");
  EXPECT_EQ(ChallengeBody(ChallengeFor(Error{ErrorCode::kInvalidArgument}, "api")), "{}");
  EXPECT_EQ(ChallengeBody(ChallengeFor(Error{ErrorCode::kTransport}, "api")),
            R"({"error_description":"The access token cannot be checked right now"})");
}

}  // namespace
}  // namespace latchkey::validator
