#pragma once

// The token endpoint (RFC 6749 §3.2, §4.4, §5): request parsing, the client_credentials grant, and
// RFC 9068 JWT access tokens. Pure: no sockets, no database; the client is handed in already
// looked up, keys and time are injected.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/random.hpp"
#include "jose/jose.hpp"
#include "oauth/client_auth.hpp"
#include "oauth/error.hpp"
#include "oauth/params.hpp"
#include "store/store.hpp"

namespace latchkey::oauth {

// TokenHttpRequest: the parts of an HTTP request the token endpoint reads.
struct TokenHttpRequest {
  std::string_view method;
  std::optional<std::string_view> content_type;
  size_t authorization_count = 0;
  std::optional<std::string_view> authorization;
  std::string_view body;
};

// ClientPost: a form-encoded POST from a client to one of the server's back-channel endpoints
// (token, device authorization), with the client's credentials extracted.
struct ClientPost {
  PresentedCredentials credentials;
  Params params;
};

// ParseClientPost checks the transport rules shared by those endpoints (RFC 6749 §3.2: POST, a
// form-encoded body, no repeated parameters; at most one Authorization header) and extracts the
// client's credentials: invalid_request, or invalid_client when no client is identified.
Result<ClientPost> ParseClientPost(const TokenHttpRequest& http);

// TokenRequest: a syntactically valid token request.
struct TokenRequest {
  std::string grant_type;
  PresentedCredentials credentials;
  Params params;
};

// ParseTokenRequest checks the transport rules of RFC 6749 §3.2 (POST, form-encoded body) and
// §3.1/§3.2 (no repeated parameters) and extracts the client's credentials. invalid_request for a
// wrong content type, a malformed or repeated parameter, a missing grant_type or more than one
// Authorization header; invalid_client when no client is identified.
Result<TokenRequest> ParseTokenRequest(const TokenHttpRequest& http);

// SigningKeys: the active signing key per algorithm (nullptr when there is none).
struct SigningKeys {
  std::vector<jose::SigningKey> keys;
  const jose::SigningKey* Find(jose::Alg alg) const;
};

// TokenPolicy: server-wide settings the grants apply.
struct TokenPolicy {
  std::string issuer;
  std::string audience;                  // aud of access tokens (RFC 9068 §3)
  int64_t access_token_lifetime = 3600;  // seconds, when the client sets none
  jose::Alg access_token_alg = jose::Alg::kES256;
  std::vector<jose::Alg> allowed_algs = {jose::Alg::kES256, jose::Alg::kRS256, jose::Alg::kPS256,
                                         jose::Alg::kEdDSA};
};

// TokenResponse: a successful RFC 6749 §5.1 response.
struct TokenResponse {
  std::string access_token;
  std::string token_type = "Bearer";
  int64_t expires_in = 0;
  std::string scope;
  std::string id_token;       // OIDC Core §3.1.3.3; empty: omitted
  std::string refresh_token;  // RFC 6749 §5.1; empty: omitted
  // reference: for an opaque access token, the record the caller must store before it answers
  // (never rendered); nullopt for a JWT access token.
  std::optional<store::AccessTokenRecord> reference;
};

// TokenResponseJson renders the §5.1 JSON body.
std::string TokenResponseJson(const TokenResponse& response);

// AccessTokenClaims: the RFC 9068 §2.2 claims of a JWT access token.
struct AccessTokenClaims {
  std::string iss, sub, aud, client_id, scope, jti;
  int64_t iat = 0, exp = 0;
  int64_t auth_time = 0;  // RFC 9068 §2.2.1: when a person authenticated; 0 (omitted) for clients
  std::string gid;        // the grant it was issued from (GrantId in introspection.hpp); "" for clients
};

// AccessTokenPayload renders the claims as the JWT payload JSON.
std::string AccessTokenPayload(const AccessTokenClaims& claims);

// IssueAccessToken issues an access token for `client` with `scope`: by default a signed RFC 9068
// JWT (`typ: at+jwt`); for a client whose access_token_format is "opaque", 256 random bits whose
// record (hash, subject, scope, grant) is returned in `reference` for the caller to store.
// server_error when no key exists for the algorithm chosen (a configuration fault). `auth_time`
// is non-zero for tokens issued for a person (and marks them as such, RFC 9068 §2.2.1);
// `grant_id` names the grant the token belongs to (GrantId), so revoking the grant revokes it.
// `opaque_value`, when not empty, is the opaque token's value, drawn by the caller beforehand
// (NewOpaqueAccessToken); otherwise it is drawn here.
Result<TokenResponse> IssueAccessToken(const store::ClientRecord& client, std::string subject,
                                       const std::vector<std::string>& scope, const TokenPolicy& policy,
                                       const SigningKeys& keys, const common::Clock& clock,
                                       common::Random& random, int64_t auth_time = 0,
                                       std::string grant_id = {}, std::string opaque_value = {});

// OpaqueAccessToken: an opaque access token's value drawn ahead of IssueAccessToken, and the part
// of its record known before the grant is read: token_hash, client_id, audience, created_at and
// expires_at (store::CurrentRotation::access_token).
struct OpaqueAccessToken {
  std::string value;
  store::AccessTokenRecord record;
};

// NewOpaqueAccessToken draws an opaque access token for `client` (256 random bits), valid for the
// client's access-token lifetime (else the policy's) from now.
OpaqueAccessToken NewOpaqueAccessToken(const store::ClientRecord& client, const TokenPolicy& policy,
                                       const common::Clock& clock, common::Random& random);

// ClientCredentialsGrant decides an RFC 6749 §4.4 request from an authenticated `client`:
// unauthorized_client unless the client registered the grant (public clients can never use it,
// §4.4), invalid_scope per GrantScope, then an access token whose sub is the client id.
Result<TokenResponse> ClientCredentialsGrant(const TokenRequest& request, const store::ClientRecord& client,
                                             const TokenPolicy& policy, const SigningKeys& keys,
                                             const common::Clock& clock, common::Random& random);

}  // namespace latchkey::oauth
