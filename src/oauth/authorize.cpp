#include "oauth/authorize.hpp"

#include <algorithm>
#include <charconv>

#include "oauth/redirect_uri.hpp"
#include "oauth/scope.hpp"

namespace latchkey::oauth {
namespace {

Error Invalid(std::string what) { return MakeError(ErrorCode::kInvalidRequest, std::move(what)); }

bool Contains(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// HasSpaceSeparatedToken reports whether `text` split on spaces holds `token`. Used before the
// scope is validated, so it tolerates malformed text instead of failing.
bool HasSpaceSeparatedToken(std::string_view text, std::string_view token) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    if (text.substr(start, end - start) == token) return true;
    start = end + 1;
  }
  return false;
}

std::string Copy(const Params& params, std::string_view name) {
  auto value = params.Get(name);
  return value ? std::string(*value) : std::string();
}

// ParsePrompt: prompt = value *( SP value ), value in none / login / consent / select_account
// (OIDC Core §3.1.2.1). Duplicates are dropped.
Result<std::vector<std::string>> ParsePrompt(std::string_view text) {
  static constexpr std::string_view kKnown[] = {"none", "login", "consent", "select_account"};
  std::vector<std::string> values;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view value = text.substr(start, end - start);
    if (value.empty()) return Invalid("malformed prompt");
    if (std::find(std::begin(kKnown), std::end(kKnown), value) == std::end(kKnown)) {
      return Invalid("unsupported prompt value");
    }
    if (!Contains(values, value)) values.emplace_back(value);
    start = end + 1;
  }
  // OIDC Core §3.1.2.1: "If this parameter contains none with any other value, an error is
  // returned." "none" promises no UI; with "login" it would be contradictory.
  if (values.size() > 1 && Contains(values, "none")) return Invalid("prompt=none cannot be combined");
  return values;
}

// ParseMaxAge: max_age = 1*DIGIT (OIDC Core §3.1.2.1, non-negative seconds), within int64.
Result<int64_t> ParseMaxAge(std::string_view text) {
  if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Invalid("max_age must be a non-negative integer");
  }
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return Invalid("max_age is out of range");
  return value;
}

// CheckPkce fills the PKCE fields of `request` (RFC 7636 §4.3, §4.4.1; OAuth 2.1 §4.1.1).
Result<void> CheckPkce(const Params& params, bool required, const AuthorizePolicy& policy,
                       AuthorizationRequest& request) {
  auto challenge = params.Get("code_challenge");
  auto method_text = params.Get("code_challenge_method");
  if (!challenge) {
    // A method without a challenge is a client bug that would silently disable PKCE.
    if (method_text) return Invalid("code_challenge_method without code_challenge");
    // Without PKCE a public client's stolen code can be redeemed by anyone (RFC 7636 §1).
    if (required) return Invalid("code_challenge is required");
    return {};
  }
  auto method = ParseChallengeMethod(method_text, policy.allow_plain_pkce);
  if (!method) return method.error();
  if (!IsValidChallenge(*challenge, *method)) return Invalid("malformed code_challenge");
  request.code_challenge = std::string(*challenge);
  request.code_challenge_method = *method;
  return {};
}

}  // namespace

Result<ClientAndRedirect> IdentifyClient(const Params& params, const ClientLookup& lookup) {
  auto client_id = params.Get("client_id");
  if (!client_id) return Invalid("client_id is missing");
  auto client = lookup(*client_id);
  // The description does not echo the client_id: this text is shown on an HTML page.
  if (!client) return Invalid("unknown client");
  if (client->redirect_uris.empty()) {
    return MakeError(ErrorCode::kUnauthorizedClient, "the client has no registered redirect URI");
  }
  ClientAndRedirect who;
  auto requested = params.Get("redirect_uri");
  if (requested) {
    // RFC 6749 §3.1.2.4 / §4.1.2.1: an unregistered URI must not receive a redirect, or the
    // server becomes an open redirector and codes leak to an attacker's URI (RFC 9700 §4.1).
    if (!RedirectUriMatches(*requested, *client))
      return Invalid("redirect_uri is not registered for this client");
    who.redirect_uri = std::string(*requested);
    who.redirect_uri_sent = true;
  } else {
    auto scope = params.Get("scope");
    if (scope && HasSpaceSeparatedToken(*scope, "openid")) {
      return Invalid("redirect_uri is required (OpenID Connect Core section 3.1.2.1)");
    }
    // RFC 6749 §3.1.2.3: with several registered URIs the server cannot guess.
    if (client->redirect_uris.size() != 1) return Invalid("redirect_uri is required");
    who.redirect_uri = client->redirect_uris.front();
  }
  who.client = std::move(*client);
  return who;
}

Result<AuthorizationRequest> ParseAuthorizationRequest(const Params& params, const ClientAndRedirect& who,
                                                       const AuthorizePolicy& policy) {
  const store::ClientRecord& client = who.client;
  AuthorizationRequest request;
  request.client_id = client.client_id;
  request.redirect_uri = who.redirect_uri;
  request.redirect_uri_sent = who.redirect_uri_sent;

  auto response_type = params.Get("response_type");
  if (!response_type) return Invalid("response_type is missing");
  // Only the code flow: the implicit and hybrid flows put tokens in the front channel
  // (RFC 9700 §2.1.2, OAuth 2.1 omits them).
  if (*response_type != "code") {
    return MakeError(ErrorCode::kUnsupportedResponseType, "response_type must be code");
  }
  request.response_type = "code";

  if (params.Has("request"))
    return MakeError(ErrorCode::kRequestNotSupported, "request objects are not supported");
  if (params.Has("request_uri")) {
    return MakeError(ErrorCode::kRequestUriNotSupported, "request_uri is not supported");
  }
  if (params.Has("registration")) {
    return MakeError(ErrorCode::kRegistrationNotSupported, "the registration parameter is not supported");
  }

  if (!Contains(client.grant_types, "authorization_code")) {
    return MakeError(ErrorCode::kUnauthorizedClient, "the client may not use the authorization code grant");
  }

  auto scope_text = params.Get("scope");
  if (scope_text) {
    auto scope = GrantScope(scope_text, client.scopes);
    if (!scope) return scope.error();
    request.scope = std::move(*scope);
  } else {
    // RFC 6749 §3.3 allows a default; "openid" is left out so that a request that never mentioned
    // OpenID Connect does not receive an ID token.
    for (const auto& s : client.scopes) {
      if (s != "openid") request.scope.push_back(s);
    }
  }
  request.openid = Contains(request.scope, "openid");

  const bool public_client = client.token_endpoint_auth_method == "none";
  auto pkce = CheckPkce(params, public_client || policy.require_pkce_for_confidential, policy, request);
  if (!pkce) return pkce.error();

  if (auto prompt = params.Get("prompt")) {
    auto values = ParsePrompt(*prompt);
    if (!values) return values.error();
    request.prompt = std::move(*values);
  }
  if (auto max_age = params.Get("max_age")) {
    auto seconds = ParseMaxAge(*max_age);
    if (!seconds) return seconds.error();
    request.max_age = *seconds;
  }
  request.response_mode = Copy(params, "response_mode");
  if (request.response_mode.empty()) request.response_mode = "query";
  // Only modes that keep the code out of the fragment and out of a JavaScript-visible URL longer
  // than needed; "fragment" is for the implicit and hybrid flows (OAuth 2.0 Multiple Response
  // Types §2.1), which are not offered.
  if (request.response_mode != "query" && request.response_mode != "form_post") {
    return Invalid("response_mode must be query or form_post");
  }

  request.state = Copy(params, "state");
  request.nonce = Copy(params, "nonce");
  request.login_hint = Copy(params, "login_hint");
  request.id_token_hint = Copy(params, "id_token_hint");
  request.ui_locales = Copy(params, "ui_locales");
  request.display = Copy(params, "display");
  request.claims_locales = Copy(params, "claims_locales");
  request.acr_values = Copy(params, "acr_values");
  return request;
}

std::string_view ErrorResponseMode(const Params& params) {
  auto mode = params.Get("response_mode");
  return mode && *mode == "form_post" ? "form_post" : "query";
}

std::string BuildRedirect(std::string_view redirect_uri, const common::FormFields& fields) {
  std::string_view base = redirect_uri.substr(0, redirect_uri.find('#'));
  std::string out(base);
  if (fields.empty()) return out;
  size_t query = base.find('?');
  if (query == std::string_view::npos) {
    out += '?';
  } else if (query + 1 != base.size() && base.back() != '&') {
    out += '&';
  }
  out += common::BuildForm(fields);
  return out;
}

common::FormFields ErrorResponseFields(const Error& error, std::string_view state, std::string_view issuer) {
  common::FormFields fields;
  fields.emplace_back("error", std::string(ErrorCodeName(error.code)));
  if (!error.description.empty()) {
    std::string description = error.description;
    for (char& c : description) {
      auto u = static_cast<unsigned char>(c);
      bool allowed = u == 0x20 || u == 0x21 || (u >= 0x23 && u <= 0x5B) || (u >= 0x5D && u <= 0x7E);
      if (!allowed) c = '?';
    }
    fields.emplace_back("error_description", std::move(description));
  }
  if (!state.empty()) fields.emplace_back("state", std::string(state));
  if (!issuer.empty()) fields.emplace_back("iss", std::string(issuer));
  return fields;
}

common::FormFields SuccessResponseFields(std::string_view code, std::string_view state,
                                         std::string_view issuer) {
  common::FormFields fields;
  fields.emplace_back("code", std::string(code));
  if (!state.empty()) fields.emplace_back("state", std::string(state));
  if (!issuer.empty()) fields.emplace_back("iss", std::string(issuer));
  return fields;
}

}  // namespace latchkey::oauth
