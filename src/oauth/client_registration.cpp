#include "oauth/client_registration.hpp"

#include <algorithm>

#include <boost/url/parse.hpp>

#include "jose/jose.hpp"
#include "oauth/redirect_uri.hpp"
#include "oauth/scope.hpp"

namespace latchkey::oauth {
namespace {

bool IsClientIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '~' || c == '-';
}

Error Invalid(std::string what) { return MakeError(ErrorCode::kInvalidRequest, std::move(what)); }

bool IsAbsoluteUriWithoutFragment(const std::string& uri) {
  auto parsed = boost::urls::parse_absolute_uri(uri);
  // parse_absolute_uri already refuses a fragment (RFC 3986 §4.3 absolute-URI); RFC 6749 §3.1.2:
  // "The endpoint URI MUST NOT include a fragment component."
  return parsed.has_value() && uri.find('#') == std::string::npos;
}

}  // namespace

const std::vector<std::string>& ImplementedGrantTypes() {
  static const std::vector<std::string> kGrantTypes = {
      "authorization_code", "refresh_token", "client_credentials", std::string(kDeviceCodeGrantType)};
  return kGrantTypes;
}

Result<void> ValidateClient(const store::ClientRecord& client) {
  const std::string& id = client.client_id;
  if (id.empty() || id.size() > 128 || !std::all_of(id.begin(), id.end(), IsClientIdChar)) {
    return Invalid("client_id must be 1-128 characters of A-Z a-z 0-9 . _ ~ -");
  }
  const std::string& method = client.token_endpoint_auth_method;
  if (method != "client_secret_basic" && method != "client_secret_post" && method != "none") {
    return Invalid("token_endpoint_auth_method must be client_secret_basic, client_secret_post or none");
  }
  if ((method == "none") != client.secret_hash.empty()) {
    return Invalid("a public client uses token_endpoint_auth_method none, a confidential client a secret");
  }
  if (client.grant_types.empty()) return Invalid("at least one grant type is required");
  for (const auto& grant : client.grant_types) {
    const auto& implemented = ImplementedGrantTypes();
    if (std::find(implemented.begin(), implemented.end(), grant) == implemented.end()) {
      return Invalid("grant type '" + grant + "' is not supported");
    }
    if (grant == "client_credentials" && client.secret_hash.empty()) {
      return Invalid("client_credentials requires a confidential client (RFC 6749 section 4.4)");
    }
  }
  const auto has = [&](std::string_view g) {
    return std::find(client.grant_types.begin(), client.grant_types.end(), g) != client.grant_types.end();
  };
  // OAuth 2.1 §2.3.1: every client of the authorization code flow registers its redirect URIs.
  if (has("authorization_code") && client.redirect_uris.empty()) {
    return Invalid("authorization_code requires at least one redirect URI (OAuth 2.1 section 2.3.1)");
  }
  // Latchkey issues refresh tokens only from grants that act for a person: authorization code and
  // device code (RFC 6749 §4.4.3: not with client_credentials).
  if (has("refresh_token") && !has("authorization_code") && !has(kDeviceCodeGrantType)) {
    return Invalid("refresh_token requires the authorization_code or the device_code grant");
  }
  for (const auto& uri : client.redirect_uris) {
    // RFC 9700 §2.1 / RFC 8252 §7: https, or loopback and private-use schemes for native clients.
    if (auto valid = ValidateRedirectUriForRegistration(uri, client.token_endpoint_auth_method == "none");
        !valid) {
      return Invalid("redirect URI '" + uri + "': " + valid.error().description);
    }
  }

  for (const auto& uri : client.post_logout_redirect_uris) {
    if (!IsAbsoluteUriWithoutFragment(uri)) {
      return Invalid("post-logout redirect URI '" + uri + "' is not an absolute URI");
    }
  }
  // OIDC Back-Channel Logout §2.2: "an absolute URI ... MAY contain port, path, and query
  // parameter components ... MUST NOT include a fragment".
  if (!client.backchannel_logout_uri.empty() &&
      !IsAbsoluteUriWithoutFragment(client.backchannel_logout_uri)) {
    return Invalid("back-channel logout URI '" + client.backchannel_logout_uri + "' is not an absolute URI");
  }
  if (client.backchannel_logout_session_required && client.backchannel_logout_uri.empty()) {
    return Invalid("backchannel_logout_session_required needs a back-channel logout URI");
  }
  if (client.access_token_format != "jwt" && client.access_token_format != "opaque") {
    return Invalid("access token format must be jwt or opaque");
  }
  for (const auto& scope : client.scopes) {
    auto parsed = ParseScope(scope);
    if (!parsed || parsed->size() != 1) return Invalid("scope '" + scope + "' is not a valid scope token");
  }
  if (!client.access_token_alg.empty() && !jose::ParseAlg(client.access_token_alg)) {
    return Invalid("access token algorithm must be ES256, RS256, PS256 or EdDSA");
  }
  // OIDC Registration §2 id_token_signed_response_alg. Only the asymmetric algorithms the server
  // signs with: "none" (which OIDC Core §2 merely permits for the code flow) would make ID tokens
  // that anyone can forge, and an HMAC alg would key them with the client secret, so that every
  // holder of the secret could mint them.
  if (!client.id_token_signed_response_alg.empty() && !jose::ParseAlg(client.id_token_signed_response_alg)) {
    return Invalid("ID token algorithm (id_token_signed_response_alg) must be RS256, PS256, ES256 or EdDSA");
  }
  if (client.access_token_lifetime < 0 || client.access_token_lifetime > 86400) {
    return Invalid("access token lifetime must be 0 (server default) to 86400 seconds");
  }
  return {};
}

}  // namespace latchkey::oauth
