#include "latchkey/client/relying_party.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "common/base64.hpp"
#include "common/form.hpp"
#include "crypto/digest.hpp"
#include "testing/test_provider.hpp"

namespace latchkey::client {
namespace {

using testing::kIssuer;
using testing::kNow;
using testing::TestProvider;

std::string Param(std::string_view url, std::string_view name) {
  auto u = boost::urls::parse_uri(url);
  auto it = u->params().find(name);
  return it == u->params().end() ? "" : std::string((*it).value);
}

class RelyingPartyTest : public ::testing::Test {
 protected:
  RelyingPartyTest() {
    config_.client_id = "web";
    config_.client_secret = "s3cret";
    config_.redirect_uri = "https://app.test/callback";
  }

  // AnswerToken makes the token endpoint answer with an ID token for `nonce` and record the form.
  void AnswerToken(const std::string& nonce, const std::string& access_token = "at-1") {
    op_.transport.On(
        "POST", "https://op.test/token", [=, this](const HttpRequest& request) -> Result<HttpResponse> {
          last_form_ = *common::ParseForm(request.body);
          auto claims = TestProvider::Claims();
          claims["nonce"] = nonce;
          const std::string digest = crypto::Sha256(access_token);
          claims["at_hash"] = common::Base64UrlEncode(std::string_view(digest).substr(0, 16));
          HttpResponse r;
          r.status = 200;
          r.body =
              boost::json::serialize(boost::json::object{{"access_token", access_token},
                                                         {"token_type", "Bearer"},
                                                         {"expires_in", 300},
                                                         {"refresh_token", "rt-1"},
                                                         {"id_token", TestProvider::Sign(op_.rsa_, claims)}});
          return r;
        });
  }

  std::string FormValue(std::string_view name) const {
    for (const auto& [k, v] : last_form_) {
      if (k == name) return v;
    }
    return "";
  }

  TestProvider op_;
  Provider provider_{{.issuer = kIssuer}, op_.transport, op_.clock};
  ClientConfig config_;
  common::FormFields last_form_;
};

// RFC 7636 §4.2 and OIDC Core §3.1.2.1: the authorization URL.
TEST_F(RelyingPartyTest, AuthorizationUrlCarriesPkceStateAndNonce) {
  RelyingParty rp(provider_, config_);
  auto p = rp.BeginAuthorization(
      {.prompt = "login", .max_age = 600, .login_hint = "alice", .extra = {{"ui_locales", "de"}}});
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->url.rfind("https://op.test/authorize?", 0), 0U);
  EXPECT_EQ(Param(p->url, "response_type"), "code");
  EXPECT_EQ(Param(p->url, "client_id"), "web");
  EXPECT_EQ(Param(p->url, "redirect_uri"), "https://app.test/callback");
  EXPECT_EQ(Param(p->url, "scope"), "openid");
  EXPECT_EQ(Param(p->url, "state"), p->state);
  EXPECT_EQ(Param(p->url, "nonce"), p->nonce);
  EXPECT_EQ(Param(p->url, "code_challenge_method"), "S256");
  EXPECT_EQ(Param(p->url, "code_challenge"), common::Base64UrlEncode(crypto::Sha256(p->code_verifier)));
  EXPECT_EQ(Param(p->url, "prompt"), "login");
  EXPECT_EQ(Param(p->url, "max_age"), "600");
  EXPECT_EQ(Param(p->url, "login_hint"), "alice");
  EXPECT_EQ(Param(p->url, "ui_locales"), "de");
  EXPECT_EQ(p->code_verifier.size(), 43U);  // 256 bits
  auto q = rp.BeginAuthorization();
  EXPECT_NE(q->state, p->state);
  EXPECT_NE(q->nonce, p->nonce);
  EXPECT_NE(q->code_verifier, p->code_verifier);
}

TEST_F(RelyingPartyTest, CompleteExchangesTheCodeAndValidatesTheIdToken) {
  RelyingParty rp(provider_, config_);
  auto p = rp.BeginAuthorization();
  ASSERT_TRUE(p);
  AnswerToken(p->nonce);
  auto t = rp.CompleteAuthorization(
      *p, "https://app.test/callback?code=c-1&state=" + p->state + "&iss=" + common::FormEncode(kIssuer));
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->access_token, "at-1");
  EXPECT_EQ(t->refresh_token, "rt-1");
  EXPECT_EQ(t->expires_at, kNow + 300);
  ASSERT_TRUE(t->id_claims);
  EXPECT_EQ(t->id_claims->sub, "alice");
  EXPECT_EQ(FormValue("grant_type"), "authorization_code");
  EXPECT_EQ(FormValue("code"), "c-1");
  EXPECT_EQ(FormValue("code_verifier"), p->code_verifier);
  EXPECT_EQ(FormValue("redirect_uri"), "https://app.test/callback");
  // client_secret_basic: the secret is not in the body.
  EXPECT_EQ(FormValue("client_secret"), "");
  // RFC 6749 §2.3.1: client_secret_basic with the form-encoded id and secret.
  std::string authorization;
  for (const auto& sent : op_.transport.Requests()) {
    if (sent.method != "POST") continue;
    for (const auto& [k, v] : sent.headers) {
      if (k == "Authorization") authorization = v;
    }
  }
  EXPECT_EQ(authorization, "Basic " + common::Base64Encode("web:s3cret"));
}

// RFC 6749 §10.12: a callback with another state is refused before any code exchange.
TEST_F(RelyingPartyTest, WrongOrMissingStateIsRefused) {
  RelyingParty rp(provider_, config_);
  auto p = rp.BeginAuthorization();
  AnswerToken(p->nonce);
  EXPECT_EQ(rp.CompleteAuthorization(*p, "code=c&state=forged&iss=https%3A%2F%2Fop.test").error().code,
            ErrorCode::kStateMismatch);
  EXPECT_EQ(rp.CompleteAuthorization(*p, "code=c&iss=https%3A%2F%2Fop.test").error().code,
            ErrorCode::kStateMismatch);
  EXPECT_EQ(op_.transport.Count("POST", "https://op.test/token"), 0);
}

// RFC 9207 §2.4: iss must match, and must be present when the provider advertises it.
TEST_F(RelyingPartyTest, IssuerParameterIsChecked) {
  RelyingParty rp(provider_, config_);
  auto p = rp.BeginAuthorization();
  AnswerToken(p->nonce);
  EXPECT_EQ(
      rp.CompleteAuthorization(*p, "code=c&state=" + p->state + "&iss=https%3A%2F%2Fevil.test").error().code,
      ErrorCode::kIssuerMismatch);
  EXPECT_EQ(rp.CompleteAuthorization(*p, "code=c&state=" + p->state).error().code,
            ErrorCode::kIssuerMismatch);
  EXPECT_EQ(op_.transport.Count("POST", "https://op.test/token"), 0);
}

TEST_F(RelyingPartyTest, ErrorCallbackIsSurfaced) {
  RelyingParty rp(provider_, config_);
  auto p = rp.BeginAuthorization();
  auto r = rp.CompleteAuthorization(*p, "?error=access_denied&error_description=no+thanks&state=" + p->state +
                                            "&iss=https%3A%2F%2Fop.test");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kOAuth);
  EXPECT_EQ(r.error().oauth_error, "access_denied");
  EXPECT_EQ(r.error().message, "no thanks");
}

TEST_F(RelyingPartyTest, AnIdTokenForAnotherNonceIsRefused) {
  RelyingParty rp(provider_, config_);
  auto p = rp.BeginAuthorization();
  AnswerToken("someone-elses-nonce");
  auto r = rp.CompleteAuthorization(*p, "code=c&state=" + p->state + "&iss=https%3A%2F%2Fop.test");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().token_problem, TokenProblem::kNonceMismatch);
}

TEST_F(RelyingPartyTest, RepeatedCallbackParametersAreRefused) {
  RelyingParty rp(provider_, config_);
  auto p = rp.BeginAuthorization();
  EXPECT_EQ(rp.CompleteAuthorization(*p, "code=a&code=b&state=" + p->state).error().code,
            ErrorCode::kInvalidArgument);
}

// RFC 6749 §5.2: invalid_grant on refresh means the person has to sign in again.
TEST_F(RelyingPartyTest, RefusedRefreshIsSignInRequired) {
  op_.transport.Json("POST", "https://op.test/token", 400,
                     R"({"error":"invalid_grant","error_description":"refresh token revoked"})");
  RelyingParty rp(provider_, config_);
  auto r = rp.Refresh("rt-old");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kSignInRequired);
  EXPECT_EQ(r.error().oauth_error, "invalid_grant");
  EXPECT_EQ(r.error().http_status, 400);
}

TEST_F(RelyingPartyTest, PublicClientAndPostAuthentication) {
  op_.transport.Json("POST", "https://op.test/token", 200, R"({"access_token":"x","token_type":"Bearer"})");
  config_.auth_method = ClientAuthMethod::kPost;
  RelyingParty post(provider_, config_);
  ASSERT_TRUE(post.ClientCredentials("api"));
  auto body = *common::ParseForm(op_.transport.Requests().back().body);
  EXPECT_EQ(body, (common::FormFields{{"grant_type", "client_credentials"},
                                      {"scope", "api"},
                                      {"client_id", "web"},
                                      {"client_secret", "s3cret"}}));
  config_.client_secret.clear();
  RelyingParty pub(provider_, config_);
  ASSERT_TRUE(pub.ClientCredentials());
  body = *common::ParseForm(op_.transport.Requests().back().body);
  EXPECT_EQ(body, (common::FormFields{{"grant_type", "client_credentials"}, {"client_id", "web"}}));
}

TEST_F(RelyingPartyTest, MalformedTokenResponses) {
  for (const char* body :
       {"{}", R"({"access_token":"x"})", R"({"access_token":1,"token_type":"Bearer"})", "<html>"}) {
    EXPECT_EQ(ParseTokenResponse(body, kNow).error().code, ErrorCode::kInvalidResponse) << body;
  }
}

TEST_F(RelyingPartyTest, UserInfoChecksTheSubject) {
  op_.transport.Json("GET", "https://op.test/userinfo", 200, R"({"sub":"alice","name":"Alice"})");
  RelyingParty rp(provider_, config_);
  auto info = rp.UserInfo("at-1", "alice");
  ASSERT_TRUE(info) << info.error();
  EXPECT_NE(info->find("Alice"), std::string::npos);
  EXPECT_EQ(rp.UserInfo("at-1", "bob").error().code, ErrorCode::kInvalidResponse);
}

TEST_F(RelyingPartyTest, RevokeAndIntrospect) {
  op_.transport.Json("POST", "https://op.test/revoke", 200, "{}");
  op_.transport.Json("POST", "https://op.test/introspect", 200,
                     R"({"active":true,"scope":"api","client_id":"web","exp":1700000300})");
  RelyingParty rp(provider_, config_);
  ASSERT_TRUE(rp.Revoke("rt-1", TokenTypeHint::kRefreshToken));
  EXPECT_EQ(op_.transport.Requests().back().body, "token=rt-1&token_type_hint=refresh_token");
  auto i = rp.Introspect("at-1");
  ASSERT_TRUE(i) << i.error();
  EXPECT_TRUE(i->active);
  EXPECT_EQ(i->scope, "api");
  EXPECT_EQ(i->exp, 1700000300);
  op_.transport.Json("POST", "https://op.test/introspect", 200, R"({"scope":"api"})");
  EXPECT_EQ(rp.Introspect("at-1").error().code, ErrorCode::kInvalidResponse);
}

}  // namespace
}  // namespace latchkey::client
