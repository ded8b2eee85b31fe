#include "latchkey/client/relying_party.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include "common/base64.hpp"
#include "common/form.hpp"
#include "crypto/digest.hpp"
#include "internal.hpp"

namespace latchkey::client {

namespace {

using internal::Fail;
using Params = std::vector<std::pair<std::string, std::string>>;

// RandomValue returns 256 bits from the OS CSPRNG, base64url (43 characters: a valid PKCE verifier,
// RFC 7636 §4.1, and an unguessable state and nonce, RFC 6749 §10.12).
std::string RandomValue() {
  static crypto::SystemRandom random;
  return common::Base64UrlEncode(random.Bytes(32));
}

std::string_view HintName(TokenTypeHint hint) {
  switch (hint) {
    case TokenTypeHint::kAccessToken: return "access_token";
    case TokenTypeHint::kRefreshToken: return "refresh_token";
    case TokenTypeHint::kNone: break;
  }
  return "";
}

// CallbackQuery accepts "?a=b", "a=b" or a whole URL and returns the query part.
std::string_view CallbackQuery(std::string_view callback) {
  if (auto q = callback.find('?'); q != std::string_view::npos) callback.remove_prefix(q + 1);
  if (auto f = callback.find('#'); f != std::string_view::npos) callback = callback.substr(0, f);
  return callback;
}

}  // namespace

Result<TokenSet> ParseTokenResponse(std::string_view body, int64_t now) {
  auto object = internal::ParseJsonObject(body, "the token response");
  if (!object) return object.error();
  TokenSet t;
  auto access = internal::StringMember(*object, "access_token");
  auto type = internal::StringMember(*object, "token_type");
  auto refresh = internal::StringMember(*object, "refresh_token");
  auto id = internal::StringMember(*object, "id_token");
  auto scope = internal::StringMember(*object, "scope");
  // RFC 6749 §5.1: access_token and token_type are REQUIRED.
  if (!access || access->empty() || !type || type->empty() || !refresh || !id || !scope) {
    return Fail(ErrorCode::kInvalidResponse, "the token response lacks access_token or token_type");
  }
  t.access_token = std::move(*access);
  t.token_type = std::move(*type);
  t.refresh_token = std::move(*refresh);
  t.id_token = std::move(*id);
  t.scope = std::move(*scope);
  if (auto expires_in = internal::IntMember(*object, "expires_in"); expires_in && *expires_in > 0) {
    t.expires_at = now + *expires_in;
  }
  return t;
}

RelyingParty::RelyingParty(Provider& provider, ClientConfig config)
    : provider_(provider), config_(std::move(config)) {}

Result<PendingAuthorization> RelyingParty::BeginAuthorization(const AuthorizationOptions& options) {
  if (config_.redirect_uri.empty())
    return Fail(ErrorCode::kInvalidArgument, "the client has no redirect_uri");
  auto metadata = provider_.Metadata();
  if (!metadata) return metadata.error();
  if (metadata->authorization_endpoint.empty()) {
    return Fail(ErrorCode::kDiscovery, "the provider has no authorization_endpoint");
  }
  PendingAuthorization p;
  p.state = RandomValue();
  p.nonce = RandomValue();
  p.code_verifier = RandomValue();
  p.redirect_uri = config_.redirect_uri;
  p.max_age = options.max_age;
  const std::string digest = crypto::Sha256(p.code_verifier);
  auto url = boost::urls::parse_uri(metadata->authorization_endpoint);
  if (!url) return Fail(ErrorCode::kDiscovery, "the authorization_endpoint is not a URL");
  boost::urls::url u(*url);
  auto params = u.params();
  params.append({"response_type", "code"});
  params.append({"client_id", config_.client_id});
  params.append({"redirect_uri", config_.redirect_uri});
  params.append({"scope", options.scope.empty() ? config_.scope : options.scope});
  params.append({"state", p.state});
  params.append({"nonce", p.nonce});
  // RFC 7636 §4.2-4.3: code_challenge = BASE64URL(SHA256(code_verifier)), method S256.
  params.append({"code_challenge", common::Base64UrlEncode(digest)});
  params.append({"code_challenge_method", "S256"});
  if (!options.prompt.empty()) params.append({"prompt", options.prompt});
  if (options.max_age) params.append({"max_age", std::to_string(*options.max_age)});
  if (!options.login_hint.empty()) params.append({"login_hint", options.login_hint});
  for (const auto& [name, value] : options.extra) params.append({name, value});
  p.url = std::string(u.buffer());
  return p;
}

Result<TokenSet> RelyingParty::CompleteAuthorization(const PendingAuthorization& pending,
                                                     std::string_view callback) {
  auto fields = common::ParseForm(CallbackQuery(callback));
  if (!fields) return Fail(ErrorCode::kInvalidArgument, "the callback query is malformed");
  std::optional<std::string> state, code, iss, error, description;
  for (auto& [name, value] : *fields) {
    std::optional<std::string>* slot = name == "state"               ? &state
                                       : name == "code"              ? &code
                                       : name == "iss"               ? &iss
                                       : name == "error"             ? &error
                                       : name == "error_description" ? &description
                                                                     : nullptr;
    if (slot == nullptr) continue;
    // RFC 6749 §3.1: parameters MUST NOT be included more than once.
    if (slot->has_value()) return Fail(ErrorCode::kInvalidArgument, "the callback repeats " + name);
    *slot = std::move(value);
  }
  // RFC 6749 §10.12: the state binds the callback to this browser's request (CSRF).
  if (!state || !crypto::ConstantTimeEquals(*state, pending.state)) {
    return Fail(ErrorCode::kStateMismatch, "the callback's state is not the one sent");
  }
  auto metadata = provider_.Metadata();
  if (!metadata) return metadata.error();
  // RFC 9207 §2.4: compare iss when present; reject its absence when the provider promised it.
  if (iss ? *iss != provider_.GetIssuer() : metadata->authorization_response_iss_parameter_supported) {
    return Fail(ErrorCode::kIssuerMismatch, "the callback's iss is not the provider's issuer");
  }
  if (error) {
    Error e = Fail(ErrorCode::kOAuth, description.value_or(""));
    e.oauth_error = *error;
    return e;
  }
  if (!code || code->empty())
    return Fail(ErrorCode::kInvalidArgument, "the callback has neither code nor error");
  auto tokens = TokenRequest({{"grant_type", "authorization_code"},
                              {"code", *code},
                              {"redirect_uri", pending.redirect_uri},
                              {"code_verifier", pending.code_verifier}});
  if (!tokens) return tokens.error();
  // OIDC Core §3.1.3.3: a successful response to an openid request carries an ID token.
  if (tokens->id_token.empty()) {
    return Fail(ErrorCode::kInvalidResponse, "the token response has no id_token");
  }
  IdTokenCheck check;
  check.nonce = pending.nonce;
  check.max_age = pending.max_age;
  check.access_token = tokens->access_token;
  return ValidateIdTokenOf(std::move(*tokens), check);
}

Result<TokenSet> RelyingParty::ValidateIdTokenOf(TokenSet tokens, const IdTokenCheck& base) {
  IdTokenCheck check = base;
  check.client_id = config_.client_id;
  check.allowed_algs = config_.id_token_algs;
  check.leeway_seconds = config_.leeway_seconds;
  auto claims = ValidateIdToken(provider_, tokens.id_token, check);
  if (!claims) return claims.error();
  tokens.id_claims = std::move(*claims);
  return tokens;
}

Result<TokenSet> RelyingParty::Refresh(std::string_view refresh_token, std::string_view scope,
                                       const std::optional<IdTokenClaims>& previous) {
  Params params = {{"grant_type", "refresh_token"}, {"refresh_token", std::string(refresh_token)}};
  if (!scope.empty()) params.emplace_back("scope", std::string(scope));
  auto tokens = TokenRequest(std::move(params));
  if (!tokens) {
    Error e = tokens.error();
    // RFC 6749 §5.2: invalid_grant means the refresh token is expired, revoked or reused.
    if (e.code == ErrorCode::kOAuth && e.oauth_error == "invalid_grant") e.code = ErrorCode::kSignInRequired;
    return e;
  }
  if (tokens->id_token.empty()) return tokens;
  IdTokenCheck check;
  check.access_token = tokens->access_token;
  auto validated = ValidateIdTokenOf(std::move(*tokens), check);
  if (!validated) return validated;
  // OIDC Core §12.2: a refreshed ID token has the same iss and sub as the original.
  if (previous &&
      (validated->id_claims->sub != previous->sub || validated->id_claims->iss != previous->iss)) {
    return internal::TokenError(TokenProblem::kMissingClaim, "the refreshed ID token names another subject");
  }
  return validated;
}

Result<TokenSet> RelyingParty::ClientCredentials(std::string_view scope, const Params& extra) {
  Params params = {{"grant_type", "client_credentials"}};
  if (!scope.empty()) params.emplace_back("scope", std::string(scope));
  params.insert(params.end(), extra.begin(), extra.end());
  return TokenRequest(std::move(params));
}

Result<HttpResponse> RelyingParty::PostAuthenticated(const std::string& url, Params params) {
  HttpRequest request;
  request.method = "POST";
  request.url = url;
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  request.headers.emplace_back("Accept", "application/json");
  if (config_.client_secret.empty()) {
    // RFC 6749 §2.3: a public client identifies itself with client_id.
    params.emplace_back("client_id", config_.client_id);
  } else if (config_.auth_method == ClientAuthMethod::kBasic) {
    request.headers.emplace_back("Authorization",
                                 internal::BasicCredentials(config_.client_id, config_.client_secret));
  } else {
    params.emplace_back("client_id", config_.client_id);
    params.emplace_back("client_secret", config_.client_secret);
  }
  request.body = common::BuildForm(params);
  return provider_.GetTransport().Send(request);
}

Result<std::string> RelyingParty::PostToEndpoint(std::string ProviderMetadata::*endpoint,
                                                 std::string_view name, Params params) {
  auto metadata = provider_.Metadata();
  if (!metadata) return metadata.error();
  const std::string& url = (*metadata).*endpoint;
  if (url.empty()) return Fail(ErrorCode::kDiscovery, "the provider has no " + std::string(name));
  auto response = PostAuthenticated(url, std::move(params));
  if (!response) return response.error();
  if (response->status != 200) return internal::HttpFailure(*response, "the " + std::string(name));
  return std::move(response->body);
}

Result<TokenSet> RelyingParty::TokenRequest(Params params) {
  auto body = PostToEndpoint(&ProviderMetadata::token_endpoint, "token_endpoint", std::move(params));
  if (!body) return body.error();
  return ParseTokenResponse(*body, provider_.GetClock().NowSeconds());
}

Result<std::string> RelyingParty::UserInfo(std::string_view access_token, std::string_view expected_sub) {
  auto metadata = provider_.Metadata();
  if (!metadata) return metadata.error();
  if (metadata->userinfo_endpoint.empty())
    return Fail(ErrorCode::kDiscovery, "the provider has no userinfo_endpoint");
  HttpRequest request;
  request.url = metadata->userinfo_endpoint;
  // RFC 6750 §2.1: the Authorization request header field.
  request.headers.emplace_back("Authorization", "Bearer " + std::string(access_token));
  request.headers.emplace_back("Accept", "application/json");
  auto response = provider_.GetTransport().Send(request);
  if (!response) return response.error();
  if (response->status != 200) return internal::HttpFailure(*response, "the userinfo endpoint");
  auto object = internal::ParseJsonObject(response->body, "the userinfo response");
  if (!object) return object.error();
  auto sub = internal::StringMember(*object, "sub");
  if (!sub || sub->empty()) return Fail(ErrorCode::kInvalidResponse, "the userinfo response has no sub");
  // OIDC Core §5.3.4: "the sub Claim in the UserInfo Response MUST be verified to exactly match".
  if (!expected_sub.empty() && *sub != expected_sub) {
    return Fail(ErrorCode::kInvalidResponse, "the userinfo response is about another subject");
  }
  return std::move(response->body);
}

Result<void> RelyingParty::Revoke(std::string_view token, TokenTypeHint hint) {
  Params params = {{"token", std::string(token)}};
  if (hint != TokenTypeHint::kNone) params.emplace_back("token_type_hint", std::string(HintName(hint)));
  // RFC 7009 §2.2: 200 whether or not the token was valid.
  auto body =
      PostToEndpoint(&ProviderMetadata::revocation_endpoint, "revocation_endpoint", std::move(params));
  if (!body) return body.error();
  return {};
}

Result<IntrospectionResult> RelyingParty::Introspect(std::string_view token, TokenTypeHint hint) {
  Params params = {{"token", std::string(token)}};
  if (hint != TokenTypeHint::kNone) params.emplace_back("token_type_hint", std::string(HintName(hint)));
  auto body =
      PostToEndpoint(&ProviderMetadata::introspection_endpoint, "introspection_endpoint", std::move(params));
  if (!body) return body.error();
  auto object = internal::ParseJsonObject(*body, "the introspection response");
  if (!object) return object.error();
  const auto* active = object->if_contains("active");
  // RFC 7662 §2.2: "active" is REQUIRED and boolean.
  if (active == nullptr || !active->is_bool()) {
    return Fail(ErrorCode::kInvalidResponse, "the introspection response has no boolean active");
  }
  IntrospectionResult r;
  r.active = active->as_bool();
  r.json = std::move(*body);
  if (!r.active) return r;
  r.scope = internal::StringMember(*object, "scope").value_or("");
  r.client_id = internal::StringMember(*object, "client_id").value_or("");
  r.username = internal::StringMember(*object, "username").value_or("");
  r.sub = internal::StringMember(*object, "sub").value_or("");
  r.token_type = internal::StringMember(*object, "token_type").value_or("");
  r.exp = internal::IntMember(*object, "exp").value_or(0);
  r.iat = internal::IntMember(*object, "iat").value_or(0);
  return r;
}

}  // namespace latchkey::client
