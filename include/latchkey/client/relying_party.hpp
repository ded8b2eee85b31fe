#pragma once

// RelyingParty: an app's side of the OAuth 2 / OpenID Connect flows against one provider.
//
//   client::CurlTransport http;
//   client::SystemClock clock;
//   client::Provider provider({.issuer = "https://id.example.com"}, http, clock);
//   client::RelyingParty app(provider, {.client_id = "web", .client_secret = secret,
//                                       .redirect_uri = "https://app.example.com/callback"});
//   auto pending = app.BeginAuthorization();          // keep *pending in the user's session
//   // ... redirect the browser to pending->url; on /callback:
//   auto tokens = app.CompleteAuthorization(*pending, callback_query);
//   if (tokens) greet(tokens->id_claims->sub);
//
// Thread-safe: one RelyingParty serves every request of an app.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "latchkey/client/error.hpp"
#include "latchkey/client/id_token.hpp"
#include "latchkey/client/provider.hpp"

namespace latchkey::client {

// ClientAuthMethod: how the client authenticates at the token endpoint (RFC 6749 §2.3.1).
enum class ClientAuthMethod { kBasic, kPost };

struct ClientConfig {
  std::string client_id;
  std::string client_secret;  // "" for a public client (it then sends only client_id)
  std::string redirect_uri;   // for the authorization code flow
  std::string scope = "openid";
  ClientAuthMethod auth_method = ClientAuthMethod::kBasic;
  std::vector<std::string> id_token_algs;  // empty: DefaultAllowedAlgs()
  int64_t leeway_seconds = 60;
};

// AuthorizationOptions: optional parameters of one authorization request (OIDC Core §3.1.2.1).
struct AuthorizationOptions {
  std::string scope;   // "" uses ClientConfig::scope
  std::string prompt;  // none, login, consent, select_account
  std::optional<int64_t> max_age;
  std::string login_hint;
  std::vector<std::pair<std::string, std::string>> extra;  // anything else (ui_locales, acr_values, ...)
};

// PendingAuthorization: what the app keeps (in its session) between redirecting the browser and
// the callback. `state`, `nonce` and `code_verifier` are 256-bit random values; keep them secret.
struct PendingAuthorization {
  std::string url;  // where to send the browser
  std::string state;
  std::string nonce;
  std::string code_verifier;
  std::string redirect_uri;
  std::optional<int64_t> max_age;
};

// TokenSet: a token response (RFC 6749 §5.1) with its ID token validated.
struct TokenSet {
  std::string access_token;
  std::string token_type;
  std::string refresh_token;  // "" when none was issued
  std::string id_token;       // "" when none was issued
  std::string scope;
  int64_t expires_at = 0;  // now + expires_in, 0 when the provider gave no lifetime
  std::optional<IdTokenClaims> id_claims;
};

// IntrospectionResult: an RFC 7662 §2.2 answer.
struct IntrospectionResult {
  bool active = false;
  std::string scope;
  std::string client_id;
  std::string username;
  std::string sub;
  std::string token_type;
  int64_t exp = 0;
  int64_t iat = 0;
  std::string json;  // the whole answer
};

// TokenTypeHint for revocation and introspection (RFC 7009 §2.1, RFC 7662 §2.1).
enum class TokenTypeHint { kNone, kAccessToken, kRefreshToken };

class RelyingParty {
 public:
  // `provider` must outlive the RelyingParty.
  RelyingParty(Provider& provider, ClientConfig config);

  const ClientConfig& GetConfig() const { return config_; }
  Provider& GetProvider() const { return provider_; }

  // BeginAuthorization builds the authorization URL with response_type=code, PKCE S256 (RFC 7636
  // §4.2), state and nonce. kInvalidArgument without a redirect_uri; discovery errors.
  Result<PendingAuthorization> BeginAuthorization(const AuthorizationOptions& options = {});

  // CompleteAuthorization handles the callback: `callback` is the query string of the redirect
  // (with or without a leading '?', or the whole callback URL). Checks state (constant time) and,
  // when present or promised by discovery, iss (RFC 9207 §2.4); surfaces error/error_description as
  // kOAuth; exchanges the code with the verifier; validates the ID token (nonce, max_age, at_hash).
  Result<TokenSet> CompleteAuthorization(const PendingAuthorization& pending, std::string_view callback);

  // Refresh exchanges a refresh token (RFC 6749 §6). A refused refresh token (invalid_grant) is
  // kSignInRequired. A new ID token, if any, is validated (OIDC Core §12.2: same iss, sub, aud).
  Result<TokenSet> Refresh(std::string_view refresh_token, std::string_view scope = {},
                           const std::optional<IdTokenClaims>& previous = std::nullopt);

  // ClientCredentials asks for a token for the client itself (RFC 6749 §4.4).
  Result<TokenSet> ClientCredentials(std::string_view scope = {},
                                     const std::vector<std::pair<std::string, std::string>>& extra = {});

  // UserInfo calls the userinfo endpoint with the access token (OIDC Core §5.3) and returns the
  // JSON object. If `expected_sub` is set the answer's sub must equal it (§5.3.4).
  Result<std::string> UserInfo(std::string_view access_token, std::string_view expected_sub = {});

  // Revoke asks the provider to revoke a token (RFC 7009 §2.1).
  Result<void> Revoke(std::string_view token, TokenTypeHint hint = TokenTypeHint::kNone);

  // Introspect asks the provider about a token (RFC 7662 §2.1), as this (confidential) client.
  Result<IntrospectionResult> Introspect(std::string_view token, TokenTypeHint hint = TokenTypeHint::kNone);

  // TokenRequest posts `params` to the token endpoint with this client's authentication and parses
  // the answer (no ID token validation). The building block of the grants above and of the device
  // flow.
  Result<TokenSet> TokenRequest(std::vector<std::pair<std::string, std::string>> params);

  // PostAuthenticated posts a form to `url` with this client's authentication and returns the
  // answer, whatever its status.
  Result<HttpResponse> PostAuthenticated(const std::string& url,
                                         std::vector<std::pair<std::string, std::string>> params);

  // PostToEndpoint posts a form with this client's authentication to the endpoint that discovery
  // names `name` (for example "device_authorization_endpoint", read from `endpoint`) and returns the
  // body of its 200 answer. kDiscovery when the provider has no such endpoint; any other status is
  // kOAuth (an RFC 6749 §5.2 error body) or kHttpStatus. Used by the device flow client.
  Result<std::string> PostToEndpoint(std::string ProviderMetadata::*endpoint, std::string_view name,
                                     std::vector<std::pair<std::string, std::string>> params);

  // ValidateIdTokenOf validates tokens.id_token (OIDC Core §3.1.3.7) with this client's client_id,
  // allowed algorithms and leeway on top of `check` (nonce, max_age, access_token for at_hash), and
  // returns the tokens with id_claims filled in.
  Result<TokenSet> ValidateIdTokenOf(TokenSet tokens, const IdTokenCheck& check);

 private:
  Provider& provider_;
  ClientConfig config_;
};

// ParseTokenResponse parses an RFC 6749 §5.1 answer body (no ID token validation); `now` sets
// expires_at.
Result<TokenSet> ParseTokenResponse(std::string_view body, int64_t now);

}  // namespace latchkey::client
