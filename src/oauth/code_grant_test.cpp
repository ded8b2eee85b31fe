#include "oauth/code_grant.hpp"

#include <gtest/gtest.h>

#include "common/base64.hpp"
#include "crypto/digest.hpp"

namespace latchkey::oauth {
namespace {

// RFC 7636 Appendix B.
constexpr std::string_view kVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
constexpr std::string_view kChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

TokenRequest Request(std::string_view body) {
  auto params = ParseFormParams(body);
  EXPECT_TRUE(params.has_value()) << body;
  TokenRequest r;
  r.grant_type = "authorization_code";
  r.params = std::move(*params);
  return r;
}

store::ClientRecord Client(std::string id = "web", std::string method = "client_secret_basic") {
  store::ClientRecord c;
  c.client_id = std::move(id);
  c.token_endpoint_auth_method = std::move(method);
  c.grant_types = {"authorization_code", "refresh_token"};
  return c;
}

store::AuthorizationCodeRecord Code() {
  store::AuthorizationCodeRecord c;
  c.client_id = "web";
  c.redirect_uri = "https://app.example/cb";
  c.redirect_uri_sent = true;
  c.code_challenge = std::string(kChallenge);
  c.code_challenge_method = "S256";
  return c;
}

TEST(CheckCodeRedemption, Rfc7636AppendixBVerifierRedeems) {
  auto got = CheckCodeRedemption(
      Request("code=x&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier=" + std::string(kVerifier)),
      Client(), Code());
  EXPECT_TRUE(got.has_value()) << (got ? "" : got.error().description);
}

// RFC 6749 §4.1.3 and RFC 7636 §4.6: every mismatch is invalid_grant.
TEST(CheckCodeRedemption, Rfc6749Section4_1_3MismatchesAreInvalidGrant) {
  const std::string good_verifier = "code_verifier=" + std::string(kVerifier);
  struct Case {
    const char* name;
    std::string body;
    store::ClientRecord client;
    store::AuthorizationCodeRecord code;
  };
  store::AuthorizationCodeRecord no_pkce = Code();
  no_pkce.code_challenge.clear();
  no_pkce.code_challenge_method.clear();
  store::AuthorizationCodeRecord not_sent = Code();
  not_sent.redirect_uri_sent = false;
  const Case cases[] = {
      {"other client", "redirect_uri=https%3A%2F%2Fapp.example%2Fcb&" + good_verifier, Client("other"),
       Code()},
      {"redirect_uri missing", good_verifier, Client(), Code()},
      {"redirect_uri differs", "redirect_uri=https%3A%2F%2Fapp.example%2Fcb2&" + good_verifier, Client(),
       Code()},
      {"redirect_uri sent but differs from the single registered one",
       "redirect_uri=https%3A%2F%2Fevil.example%2Fcb&" + good_verifier, Client(), not_sent},
      {"verifier missing", "redirect_uri=https%3A%2F%2Fapp.example%2Fcb", Client(), Code()},
      {"verifier wrong",
       "redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier=aBjftJeZ4CVP-mB92K27uhbUJU1p1r_"
       "wW1gFWFOEjXk",
       Client(), Code()},
      {"verifier malformed (too short)", "redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier=abc",
       Client(), Code()},
      {"verifier is the challenge itself",
       "redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier=" + std::string(kChallenge), Client(),
       Code()},
      {"verifier without a challenge (PKCE downgrade, OAuth 2.1 §4.1.3)",
       "redirect_uri=https%3A%2F%2Fapp.example%2Fcb&" + good_verifier, Client(), no_pkce},
  };
  for (const auto& c : cases) {
    auto got = CheckCodeRedemption(Request(c.body), c.client, c.code);
    ASSERT_FALSE(got.has_value()) << c.name;
    EXPECT_EQ(got.error().code, ErrorCode::kInvalidGrant) << c.name;
  }
}

TEST(CheckCodeRedemption, SingleRegisteredUriMayBeOmittedOrRepeated) {
  store::AuthorizationCodeRecord code = Code();
  code.redirect_uri_sent = false;
  const std::string v = "code_verifier=" + std::string(kVerifier);
  EXPECT_TRUE(CheckCodeRedemption(Request(v), Client(), code).has_value());
  EXPECT_TRUE(CheckCodeRedemption(Request("redirect_uri=https%3A%2F%2Fapp.example%2Fcb&" + v), Client(), code)
                  .has_value());
}

TEST(CheckCodeRedemption, PlainMethodComparesTheVerifier) {
  store::AuthorizationCodeRecord code = Code();
  code.code_challenge = std::string(kVerifier);
  code.code_challenge_method = "plain";
  const std::string base = "redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier=";
  EXPECT_TRUE(CheckCodeRedemption(Request(base + std::string(kVerifier)), Client(), code).has_value());
  EXPECT_FALSE(CheckCodeRedemption(Request(base + std::string(kChallenge)), Client(), code).has_value());
}

TEST(IssuesRefreshToken, ConfidentialOrOfflineAccessWithTheGrantRegistered) {
  EXPECT_TRUE(IssuesRefreshToken(Client(), {"openid"}));
  EXPECT_FALSE(IssuesRefreshToken(Client("spa", "none"), {"openid"}));
  EXPECT_TRUE(IssuesRefreshToken(Client("spa", "none"), {"openid", "offline_access"}));
  store::ClientRecord no_grant = Client();
  no_grant.grant_types = {"authorization_code"};
  EXPECT_FALSE(IssuesRefreshToken(no_grant, {"openid", "offline_access"}));
}

TEST(RefreshTokenSuccessor, DeterministicPerKeyAndToken) {
  const std::string key(32, 'k');
  const std::string a = RefreshTokenSuccessor(key, "token-a");
  EXPECT_EQ(a, RefreshTokenSuccessor(key, "token-a"));
  EXPECT_NE(a, RefreshTokenSuccessor(key, "token-b"));
  EXPECT_NE(a, RefreshTokenSuccessor(std::string(32, 'j'), "token-a")) << "the server key matters";
  EXPECT_EQ(a, common::Base64UrlEncode(crypto::HmacSha256(key, "token-a")));
  EXPECT_EQ(a.size(), 43u);  // 256 bits, unpadded base64url
  EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
}

TEST(RefreshFamilyForCode, DistinctPerCode) {
  EXPECT_NE(RefreshFamilyForCode(crypto::Sha256("a")), RefreshFamilyForCode(crypto::Sha256("b")));
  EXPECT_EQ(RefreshFamilyForCode(std::string("\0x", 2)), common::Base64UrlEncode(std::string("\0x", 2)));
}

// RFC 6749 §6: the scope may be narrowed, never widened; the token is bound to its client.
TEST(RefreshScope, Rfc6749Section6NarrowingOnly) {
  store::RefreshTokenRecord token;
  token.client_id = "web";
  token.scope = "openid profile email";
  auto same = RefreshScope(Request(""), Client(), token);
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(*same, (std::vector<std::string>{"openid", "profile", "email"}));
  auto narrowed = RefreshScope(Request("scope=openid"), Client(), token);
  ASSERT_TRUE(narrowed.has_value());
  EXPECT_EQ(*narrowed, (std::vector<std::string>{"openid"}));
  auto widened = RefreshScope(Request("scope=openid+phone"), Client(), token);
  ASSERT_FALSE(widened.has_value());
  EXPECT_EQ(widened.error().code, ErrorCode::kInvalidScope);
  auto other = RefreshScope(Request(""), Client("other"), token);
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code, ErrorCode::kInvalidGrant);
}

}  // namespace
}  // namespace latchkey::oauth
