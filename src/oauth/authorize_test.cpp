#include "oauth/authorize.hpp"

#include <map>

#include <gtest/gtest.h>

namespace latchkey::oauth {
namespace {

constexpr const char* kChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";  // RFC 7636 App. B
constexpr const char* kPlainChallenge = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

store::ClientRecord PublicClient() {
  store::ClientRecord client;
  client.client_id = "native";
  client.token_endpoint_auth_method = "none";
  client.redirect_uris = {"http://127.0.0.1/cb"};
  client.grant_types = {"authorization_code"};
  client.scopes = {"openid", "profile", "api"};
  return client;
}

store::ClientRecord ConfidentialClient() {
  store::ClientRecord client;
  client.client_id = "web";
  client.secret_hash = std::string(32, 'x');
  client.token_endpoint_auth_method = "client_secret_basic";
  client.redirect_uris = {"https://web.example/cb", "https://web.example/cb2?tenant=1"};
  client.grant_types = {"authorization_code", "client_credentials"};
  client.scopes = {"openid", "api"};
  return client;
}

store::ClientRecord SingleUriClient() {
  store::ClientRecord client = ConfidentialClient();
  client.client_id = "single";
  client.redirect_uris = {"https://single.example/cb"};
  return client;
}

store::ClientRecord NoRedirectClient() {
  store::ClientRecord client = ConfidentialClient();
  client.client_id = "machine";
  client.redirect_uris = {};
  client.grant_types = {"client_credentials"};
  return client;
}

store::ClientRecord NoCodeGrantClient() {
  store::ClientRecord client = ConfidentialClient();
  client.client_id = "nocode";
  client.grant_types = {"client_credentials"};
  return client;
}

std::optional<store::ClientRecord> Lookup(std::string_view id) {
  for (auto client :
       {PublicClient(), ConfidentialClient(), SingleUriClient(), NoRedirectClient(), NoCodeGrantClient()}) {
    if (client.client_id == id) return client;
  }
  return std::nullopt;
}

Params P(const common::FormFields& fields) {
  auto params = Params::FromFields(fields);
  EXPECT_TRUE(params.has_value());
  return *params;
}

// ---------------------------------------------------------------------------------------------
// IdentifyClient

TEST(IdentifyClient, Accepted) {
  struct Case {
    const char* section;
    common::FormFields fields;
    const char* want_client;
    const char* want_uri;
    bool want_sent;
  };
  const Case kAccepted[] = {
      {"RFC 6749 §3.1.2.3 exact",
       {{"client_id", "web"}, {"redirect_uri", "https://web.example/cb"}},
       "web",
       "https://web.example/cb",
       true},
      {"RFC 6749 §3.1.2 registered query",
       {{"client_id", "web"}, {"redirect_uri", "https://web.example/cb2?tenant=1"}},
       "web",
       "https://web.example/cb2?tenant=1",
       true},
      {"RFC 8252 §7.3 loopback port",
       {{"client_id", "native"}, {"redirect_uri", "http://127.0.0.1:4711/cb"}},
       "native",
       "http://127.0.0.1:4711/cb",
       true},
      {"RFC 6749 §3.1.2.3 single registered URI",
       {{"client_id", "single"}},
       "single",
       "https://single.example/cb",
       false},
      {"RFC 6749 §3.1.2.3 single URI, non-OIDC scope",
       {{"client_id", "single"}, {"scope", "api"}},
       "single",
       "https://single.example/cb",
       false},
      {"OIDC Core §3.1.2.1 openid with redirect_uri",
       {{"client_id", "single"}, {"scope", "openid"}, {"redirect_uri", "https://single.example/cb"}},
       "single",
       "https://single.example/cb",
       true},
  };
  for (const auto& c : kAccepted) {
    auto got = IdentifyClient(P(c.fields), Lookup);
    ASSERT_TRUE(got.has_value()) << c.section << ": " << (got ? "" : got.error().description);
    EXPECT_EQ(got->client.client_id, c.want_client) << c.section;
    EXPECT_EQ(got->redirect_uri, c.want_uri) << c.section;
    EXPECT_EQ(got->redirect_uri_sent, c.want_sent) << c.section;
  }
}

TEST(IdentifyClient, RejectedForErrorPage) {
  struct Case {
    const char* section;
    common::FormFields fields;
    ErrorCode want;
  };
  const Case kRejected[] = {
      {"RFC 6749 §4.1.2.1 missing client_id",
       {{"redirect_uri", "https://web.example/cb"}},
       ErrorCode::kInvalidRequest},
      {"RFC 6749 §4.1.2.1 empty client_id (§3.1 = omitted)", {{"client_id", ""}}, ErrorCode::kInvalidRequest},
      {"RFC 6749 §4.1.2.1 unknown client_id",
       {{"client_id", "nobody"}, {"redirect_uri", "https://web.example/cb"}},
       ErrorCode::kInvalidRequest},
      {"RFC 6749 §4.1.2.1 unregistered redirect_uri",
       {{"client_id", "web"}, {"redirect_uri", "https://evil.example/cb"}},
       ErrorCode::kInvalidRequest},
      {"RFC 9700 §2.1 prefix redirect_uri",
       {{"client_id", "web"}, {"redirect_uri", "https://web.example/cb/x"}},
       ErrorCode::kInvalidRequest},
      {"RFC 9700 §2.1 registered query dropped",
       {{"client_id", "web"}, {"redirect_uri", "https://web.example/cb2"}},
       ErrorCode::kInvalidRequest},
      {"RFC 8252 §7.3 loopback for confidential is exact",
       {{"client_id", "native"}, {"redirect_uri", "http://127.0.0.1:4711/other"}},
       ErrorCode::kInvalidRequest},
      {"RFC 6749 §3.1.2.3 several registered, none sent", {{"client_id", "web"}}, ErrorCode::kInvalidRequest},
      {"OIDC Core §3.1.2.1 openid requires redirect_uri",
       {{"client_id", "single"}, {"scope", "api openid"}},
       ErrorCode::kInvalidRequest},
      {"OIDC Core §3.1.2.1 openid requires redirect_uri (malformed scope)",
       {{"client_id", "single"}, {"scope", "openid  api"}},
       ErrorCode::kInvalidRequest},
      {"RFC 6749 §3.1.2.2 no registered redirect URI",
       {{"client_id", "machine"}},
       ErrorCode::kUnauthorizedClient},
      {"RFC 6749 §3.1.2.2 no registered redirect URI, one sent",
       {{"client_id", "machine"}, {"redirect_uri", "https://web.example/cb"}},
       ErrorCode::kUnauthorizedClient},
  };
  for (const auto& c : kRejected) {
    auto got = IdentifyClient(P(c.fields), Lookup);
    ASSERT_FALSE(got.has_value()) << c.section;
    EXPECT_EQ(got.error().code, c.want) << c.section;
    EXPECT_FALSE(got.error().description.empty()) << c.section;
  }
}

// RFC 6749 §3.1: a repeated parameter never reaches IdentifyClient (Params refuses it).
TEST(IdentifyClient, Rfc6749Section3_1RepeatedRedirectUriIsRefusedByParams) {
  auto params = Params::FromFields({{"client_id", "web"},
                                    {"redirect_uri", "https://web.example/cb"},
                                    {"redirect_uri", "https://evil.example/"}});
  ASSERT_FALSE(params.has_value());
  EXPECT_EQ(params.error().code, ErrorCode::kInvalidRequest);
}

// ---------------------------------------------------------------------------------------------
// ParseAuthorizationRequest

ClientAndRedirect Who(store::ClientRecord client) {
  ClientAndRedirect who;
  who.redirect_uri = client.redirect_uris.front();
  who.redirect_uri_sent = true;
  who.client = std::move(client);
  return who;
}

// Base: a valid public-client request; each case overrides (empty value = remove).
common::FormFields With(std::map<std::string, std::string> overrides) {
  std::map<std::string, std::string> base = {
      {"client_id", "native"},           {"response_type", "code"}, {"redirect_uri", "http://127.0.0.1/cb"},
      {"scope", "openid api"},           {"state", "xyz"},          {"code_challenge", kChallenge},
      {"code_challenge_method", "S256"},
  };
  for (auto& [k, v] : overrides) base[k] = v;
  common::FormFields fields;
  for (auto& [k, v] : base) {
    if (!v.empty()) fields.emplace_back(k, v);
  }
  return fields;
}

TEST(ParseAuthorizationRequest, FullRequestIsCopied) {
  auto got = ParseAuthorizationRequest(P(With({{"nonce", "n-0S6_WzA2Mj"},
                                               {"prompt", "login consent"},
                                               {"max_age", "3600"},
                                               {"response_mode", "form_post"},
                                               {"login_hint", "alice"},
                                               {"id_token_hint", "eyJ.x.y"},
                                               {"ui_locales", "fr-CA fr"},
                                               {"display", "page"},
                                               {"claims_locales", "de"},
                                               {"acr_values", "urn:mace:incommon:iap:silver"},
                                               {"unknown_extension", "ignored"}})),
                                       Who(PublicClient()), {});
  ASSERT_TRUE(got.has_value()) << got.error().description;
  EXPECT_EQ(got->client_id, "native");
  EXPECT_EQ(got->redirect_uri, "http://127.0.0.1/cb");
  EXPECT_TRUE(got->redirect_uri_sent);
  EXPECT_EQ(got->response_type, "code");
  EXPECT_EQ(got->state, "xyz");
  EXPECT_EQ(got->nonce, "n-0S6_WzA2Mj");
  EXPECT_EQ(got->code_challenge, kChallenge);
  EXPECT_EQ(got->code_challenge_method, PkceMethod::kS256);
  EXPECT_EQ(got->scope, (std::vector<std::string>{"openid", "api"}));
  EXPECT_TRUE(got->openid);
  EXPECT_EQ(got->response_mode, "form_post");
  EXPECT_EQ(got->prompt, (std::vector<std::string>{"login", "consent"}));
  EXPECT_EQ(got->max_age, 3600);
  EXPECT_EQ(got->login_hint, "alice");
  EXPECT_EQ(got->id_token_hint, "eyJ.x.y");
  EXPECT_EQ(got->ui_locales, "fr-CA fr");
  EXPECT_EQ(got->display, "page");
  EXPECT_EQ(got->claims_locales, "de");
  EXPECT_EQ(got->acr_values, "urn:mace:incommon:iap:silver");
}

TEST(ParseAuthorizationRequest, Accepted) {
  struct Case {
    const char* section;
    std::map<std::string, std::string> overrides;
    store::ClientRecord client;
    AuthorizePolicy policy;
    std::function<void(const AuthorizationRequest&)> check;
  };
  const Case kAccepted[] = {
      {"OIDC Core §3.1.2.1 nonce optional for code flow",
       {},
       PublicClient(),
       {},
       [](const auto& r) { EXPECT_TRUE(r.nonce.empty()); }},
      {"RFC 6749 §4.1.2 state optional",
       {{"state", ""}},
       PublicClient(),
       {},
       [](const auto& r) { EXPECT_TRUE(r.state.empty()); }},
      {"RFC 6749 §3.3 non-OIDC scope",
       {{"scope", "api"}},
       PublicClient(),
       {},
       [](const auto& r) { EXPECT_FALSE(r.openid); }},
      {"RFC 6749 §3.3 default scope omits openid",
       {{"scope", ""}},
       PublicClient(),
       {},
       [](const auto& r) {
         EXPECT_EQ(r.scope, (std::vector<std::string>{"profile", "api"}));
         EXPECT_FALSE(r.openid);
       }},
      {"OIDC Core §3.1.2.1 response_mode default query",
       {},
       PublicClient(),
       {},
       [](const auto& r) { EXPECT_EQ(r.response_mode, "query"); }},
      {"OIDC Core §3.1.2.1 response_mode query",
       {{"response_mode", "query"}},
       PublicClient(),
       {},
       [](const auto& r) { EXPECT_EQ(r.response_mode, "query"); }},
      {"OIDC Core §3.1.2.1 prompt=none alone",
       {{"prompt", "none"}},
       PublicClient(),
       {},
       [](const auto& r) { EXPECT_EQ(r.prompt, std::vector<std::string>{"none"}); }},
      {"OIDC Core §3.1.2.1 prompt select_account, duplicate dropped",
       {{"prompt", "select_account login login"}},
       PublicClient(),
       {},
       [](const auto& r) {
         EXPECT_EQ(r.prompt, (std::vector<std::string>{"select_account", "login"}));
       }},
      {"OIDC Core §3.1.2.1 max_age=0",
       {{"max_age", "0"}},
       PublicClient(),
       {},
       [](const auto& r) { EXPECT_EQ(r.max_age, 0); }},
      {"OIDC Core §3.1.2.1 max_age absent",
       {},
       PublicClient(),
       {},
       [](const auto& r) { EXPECT_FALSE(r.max_age.has_value()); }},
      {"RFC 7636 §4.3 plain allowed by policy",
       {{"code_challenge", kPlainChallenge}, {"code_challenge_method", "plain"}},
       PublicClient(),
       {.allow_plain_pkce = true},
       [](const auto& r) { EXPECT_EQ(r.code_challenge_method, PkceMethod::kPlain); }},
      {"RFC 7636 §4.3 absent method = plain, allowed by policy",
       {{"code_challenge", kPlainChallenge}, {"code_challenge_method", ""}},
       PublicClient(),
       {.allow_plain_pkce = true},
       [](const auto& r) { EXPECT_EQ(r.code_challenge_method, PkceMethod::kPlain); }},
      {"RFC 6749 §4.1.1 confidential client without PKCE (policy off)",
       {{"client_id", "web"}, {"code_challenge", ""}, {"code_challenge_method", ""}},
       ConfidentialClient(),
       {},
       [](const auto& r) { EXPECT_TRUE(r.code_challenge.empty()); }},
      {"RFC 7636 §4.3 confidential client with PKCE",
       {{"client_id", "web"}},
       ConfidentialClient(),
       {.require_pkce_for_confidential = true},
       [](const auto& r) { EXPECT_EQ(r.code_challenge, kChallenge); }},
  };
  for (const auto& c : kAccepted) {
    auto got = ParseAuthorizationRequest(P(With(c.overrides)), Who(c.client), c.policy);
    ASSERT_TRUE(got.has_value()) << c.section << ": " << got.error().description;
    c.check(*got);
  }
}

TEST(ParseAuthorizationRequest, RejectedRedirectable) {
  struct Case {
    const char* section;
    std::map<std::string, std::string> overrides;
    ErrorCode want;
    store::ClientRecord client = PublicClient();
    AuthorizePolicy policy = {};
  };
  const Case kRejected[] = {
      {"RFC 6749 §4.1.1 response_type missing", {{"response_type", ""}}, ErrorCode::kInvalidRequest},
      {"RFC 6749 §4.1.2.1 response_type token",
       {{"response_type", "token"}},
       ErrorCode::kUnsupportedResponseType},
      {"RFC 9700 §2.1.2 hybrid code id_token",
       {{"response_type", "code id_token"}},
       ErrorCode::kUnsupportedResponseType},
      {"RFC 6749 §3.1.1 response_type case-sensitive",
       {{"response_type", "Code"}},
       ErrorCode::kUnsupportedResponseType},
      {"OIDC Core §6.1 request", {{"request", "eyJ.x.y"}}, ErrorCode::kRequestNotSupported},
      {"OIDC Core §6.2 request_uri",
       {{"request_uri", "https://c.example/r"}},
       ErrorCode::kRequestUriNotSupported},
      {"OIDC Core §7.2.1 registration", {{"registration", "{}"}}, ErrorCode::kRegistrationNotSupported},
      {"RFC 6749 §4.1.2.1 grant type not registered",
       {{"client_id", "nocode"}},
       ErrorCode::kUnauthorizedClient,
       NoCodeGrantClient()},
      {"RFC 6749 §3.3 scope not allowed", {{"scope", "openid admin"}}, ErrorCode::kInvalidScope},
      {"RFC 6749 §3.3 scope malformed", {{"scope", "openid  api"}}, ErrorCode::kInvalidScope},
      {"OAuth 2.1 §4.1.1 public client without code_challenge",
       {{"code_challenge", ""}, {"code_challenge_method", ""}},
       ErrorCode::kInvalidRequest},
      {"OAuth 2.1 §4.1.1 policy requires PKCE from confidential",
       {{"client_id", "web"}, {"code_challenge", ""}, {"code_challenge_method", ""}},
       ErrorCode::kInvalidRequest,
       ConfidentialClient(),
       {.require_pkce_for_confidential = true}},
      {"RFC 7636 §4.3 method without challenge",
       {{"client_id", "web"}, {"code_challenge", ""}},
       ErrorCode::kInvalidRequest,
       ConfidentialClient()},
      {"RFC 7636 §4.3 unknown method", {{"code_challenge_method", "S512"}}, ErrorCode::kInvalidRequest},
      {"RFC 7636 §4.3 plain refused by default",
       {{"code_challenge", kPlainChallenge}, {"code_challenge_method", "plain"}},
       ErrorCode::kInvalidRequest},
      {"RFC 7636 §4.3 absent method = plain, refused by default",
       {{"code_challenge_method", ""}},
       ErrorCode::kInvalidRequest},
      {"RFC 7636 §4.2 S256 challenge too short",
       {{"code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c"}},
       ErrorCode::kInvalidRequest},
      {"RFC 7636 §4.2 plain challenge too short",
       {{"code_challenge", "abc"}, {"code_challenge_method", "plain"}},
       ErrorCode::kInvalidRequest,
       PublicClient(),
       {.allow_plain_pkce = true}},
      {"OIDC Core §3.1.2.1 prompt none with login", {{"prompt", "none login"}}, ErrorCode::kInvalidRequest},
      {"OIDC Core §3.1.2.1 prompt unknown", {{"prompt", "create"}}, ErrorCode::kInvalidRequest},
      {"OIDC Core §3.1.2.1 prompt double space", {{"prompt", "login  consent"}}, ErrorCode::kInvalidRequest},
      {"OIDC Core §3.1.2.1 max_age negative", {{"max_age", "-1"}}, ErrorCode::kInvalidRequest},
      {"OIDC Core §3.1.2.1 max_age plus sign", {{"max_age", "+5"}}, ErrorCode::kInvalidRequest},
      {"OIDC Core §3.1.2.1 max_age not a number", {{"max_age", "1h"}}, ErrorCode::kInvalidRequest},
      {"OIDC Core §3.1.2.1 max_age overflow",
       {{"max_age", "99999999999999999999"}},
       ErrorCode::kInvalidRequest},
      {"OIDC Core §3.1.2.1 response_mode fragment",
       {{"response_mode", "fragment"}},
       ErrorCode::kInvalidRequest},
      {"OIDC Core §3.1.2.1 response_mode unknown", {{"response_mode", "jwt"}}, ErrorCode::kInvalidRequest},
  };
  for (const auto& c : kRejected) {
    auto got = ParseAuthorizationRequest(P(With(c.overrides)), Who(c.client), c.policy);
    ASSERT_FALSE(got.has_value()) << c.section;
    EXPECT_EQ(got.error().code, c.want) << c.section << ": " << got.error().description;
  }
}

TEST(ErrorResponseMode, FormPostOnlyWhenAsked) {
  EXPECT_EQ(ErrorResponseMode(P({{"response_mode", "form_post"}})), "form_post");
  EXPECT_EQ(ErrorResponseMode(P({{"response_mode", "fragment"}})), "query");
  EXPECT_EQ(ErrorResponseMode(P({})), "query");
}

// ---------------------------------------------------------------------------------------------
// Responses

// RFC 6749 §3.1.2: the query component of the redirect URI MUST be retained.
TEST(BuildRedirect, Rfc6749Section3_1_2Table) {
  const common::FormFields kFields = {{"code", "a b&c"}, {"state", "x=y"}};
  const std::pair<const char*, const char*> kCases[] = {
      {"https://c.example/cb", "https://c.example/cb?code=a+b%26c&state=x%3Dy"},
      {"https://c.example/cb?tenant=1", "https://c.example/cb?tenant=1&code=a+b%26c&state=x%3Dy"},
      {"https://c.example/cb?", "https://c.example/cb?code=a+b%26c&state=x%3Dy"},
      {"https://c.example/cb?tenant=1&", "https://c.example/cb?tenant=1&code=a+b%26c&state=x%3Dy"},
      {"https://c.example/cb#frag", "https://c.example/cb?code=a+b%26c&state=x%3Dy"},
      {"com.example.app:/cb", "com.example.app:/cb?code=a+b%26c&state=x%3Dy"},
  };
  for (const auto& [uri, want] : kCases) EXPECT_EQ(BuildRedirect(uri, kFields), want) << uri;
  EXPECT_EQ(BuildRedirect("https://c.example/cb?a=1", {}), "https://c.example/cb?a=1");
}

// RFC 6749 §4.1.2.1 and RFC 9207 §2.
TEST(ErrorResponseFields, Rfc6749Section4_1_2_1AndRfc9207) {
  auto fields = ErrorResponseFields(MakeError(ErrorCode::kAccessDenied, "user said \"no\" \\ caf\xc3\xa9"),
                                    "xyz", "https://issuer.example");
  EXPECT_EQ(fields, (common::FormFields{{"error", "access_denied"},
                                        {"error_description", "user said ?no? ? caf??"},
                                        {"state", "xyz"},
                                        {"iss", "https://issuer.example"}}));
  EXPECT_EQ(ErrorResponseFields(MakeError(ErrorCode::kLoginRequired, ""), "", "https://i.example"),
            (common::FormFields{{"error", "login_required"}, {"iss", "https://i.example"}}));
}

TEST(ErrorCodeName, AuthorizationEndpointCodes) {
  const std::pair<ErrorCode, const char*> kNames[] = {
      {ErrorCode::kAccessDenied, "access_denied"},
      {ErrorCode::kUnsupportedResponseType, "unsupported_response_type"},
      {ErrorCode::kLoginRequired, "login_required"},
      {ErrorCode::kConsentRequired, "consent_required"},
      {ErrorCode::kInteractionRequired, "interaction_required"},
      {ErrorCode::kAccountSelectionRequired, "account_selection_required"},
      {ErrorCode::kRequestNotSupported, "request_not_supported"},
      {ErrorCode::kRequestUriNotSupported, "request_uri_not_supported"},
      {ErrorCode::kRegistrationNotSupported, "registration_not_supported"},
  };
  for (const auto& [code, name] : kNames) EXPECT_EQ(ErrorCodeName(code), name);
}

TEST(SuccessResponseFields, Rfc6749Section4_1_2AndRfc9207) {
  EXPECT_EQ(SuccessResponseFields("SplxlOBeZQQYbYS6WxSbIA", "xyz", "https://i.example"),
            (common::FormFields{
                {"code", "SplxlOBeZQQYbYS6WxSbIA"}, {"state", "xyz"}, {"iss", "https://i.example"}}));
  EXPECT_EQ(SuccessResponseFields("c", "", ""), (common::FormFields{{"code", "c"}}));
}

}  // namespace
}  // namespace latchkey::oauth
