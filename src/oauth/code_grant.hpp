#pragma once

// The grants that act for a person: authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.6) and
// refresh_token (RFC 6749 §6, RFC 9700 §4.14, OAuth 2.1 §4.3). Pure decisions over records the
// caller has already read or redeemed from the store; the store calls and signing stay with the
// caller.

#include <string>
#include <string_view>
#include <vector>

#include "oauth/error.hpp"
#include "oauth/token.hpp"
#include "store/store.hpp"

namespace latchkey::oauth {

// CheckCodeRedemption checks a code the store has just redeemed against the token request of
// `client` (authenticated, or identified for a public client). Every failure is invalid_grant:
// - the code was issued to another client (RFC 6749 §4.1.3);
// - redirect_uri: required and identical when the authorization request carried one (§4.1.3); a
//   redirect_uri sent when the authorization request had none must equal the one used;
// - PKCE (RFC 7636 §4.6): with a stored challenge the code_verifier must be present and match;
//   without one, a code_verifier must be absent (OAuth 2.1 §4.1.3, prevents PKCE downgrade).
// A malformed code_verifier (not RFC 7636 §4.1 grammar) is invalid_grant as well: it cannot match.
Result<void> CheckCodeRedemption(const TokenRequest& request, const store::ClientRecord& client,
                                 const store::AuthorizationCodeRecord& code);

// IssuesRefreshToken: whether a grant of `scope` to `client` comes with a refresh token. The client
// must have registered the refresh_token grant, and be confidential or have been granted
// offline_access (OIDC Core §11: offline_access asks for a refresh token; public clients get one
// only then, and rotation makes it sender-unforgeable, RFC 9700 §4.14.2).
bool IssuesRefreshToken(const store::ClientRecord& client, const std::vector<std::string>& scope);

// RefreshFamilyForCode: the family id of the refresh tokens that descend from the code whose hash
// is `code_hash`, so that a replayed code can revoke them (RFC 6749 §4.1.2, §10.5).
std::string RefreshFamilyForCode(std::string_view code_hash);

// RefreshTokenSuccessor: the refresh token that replaces `token` on rotation,
// base64url(HMAC-SHA256(key, token)) with a server secret `key`. Deterministic, so a client
// retrying a refresh whose response was lost gets the very same successor within the grace window
// while the store keeps nothing but hashes; keyed, so the holder of an old token cannot compute the
// later ones offline and skip ahead of reuse detection (RFC 9700 §4.14.2).
std::string RefreshTokenSuccessor(std::string_view key, std::string_view token);

// RefreshScope decides the scope of the access token of a refresh request (RFC 6749 §6): the
// stored scope when none is requested, the requested scope when it is a subset of the stored
// one ("MUST NOT include any scope not originally granted"), else invalid_scope. invalid_grant
// when the token was issued to another client (§6: "bound to the client").
Result<std::vector<std::string>> RefreshScope(const TokenRequest& request, const store::ClientRecord& client,
                                              const store::RefreshTokenRecord& token);

}  // namespace latchkey::oauth
