#pragma once

// Token introspection (RFC 7662) and revocation (RFC 7009): request parsing, the checks of a
// self-contained (RFC 9068) access token, who may see which token, and the response bodies. Pure:
// the caller looks the token up in the store and passes what it found.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "jose/jose.hpp"
#include "oauth/client_auth.hpp"
#include "oauth/error.hpp"
#include "oauth/token.hpp"
#include "store/store.hpp"

namespace latchkey::oauth {

// TokenKind: the token types a token_type_hint can name (RFC 7009 §2.1, RFC 7662 §2.1).
enum class TokenKind { kAccessToken, kRefreshToken };

// TokenLookupRequest: an introspection or revocation request; both carry `token` and an optional
// `token_type_hint` in a form-encoded POST body.
struct TokenLookupRequest {
  std::string token;
  // hint: nullopt when absent or not a type this server knows. RFC 7662 §2.1 and RFC 7009 §2.1: the
  // hint only orders the search; a token not found under it is searched for under every type.
  std::optional<TokenKind> hint;
  // Exactly one way the caller identifies itself: client credentials, or (introspection only,
  // RFC 7662 §2.1 "a separate OAuth 2.0 access token") a bearer token in `bearer`.
  std::optional<PresentedCredentials> credentials;
  std::string bearer;
};

// ParseTokenLookupRequest checks the transport (POST, form content type, at most one Authorization
// header, no repeated parameters) and requires `token`. With `allow_bearer`, an Authorization
// header with the Bearer scheme (RFC 6750 §2.1, case-insensitive) identifies the caller instead of
// client credentials. Errors: invalid_request, or invalid_client when no caller is identified.
Result<TokenLookupRequest> ParseTokenLookupRequest(const TokenHttpRequest& http, bool allow_bearer);

// VerifiedAccessToken: the claims of a self-contained access token that verified.
struct VerifiedAccessToken {
  AccessTokenClaims claims;
};

// VerifyAccessTokenJwt checks a JWT access token this server issued: RFC 9068 §4 — the header's
// typ is "at+jwt", the signature verifies with one of `keys` under an `allowed` alg, iss is
// `issuer`, exp is in the future (no leeway: introspection answers for the server itself). Any
// failure is nullopt: introspection reports such a token as inactive, whatever the reason.
std::optional<VerifiedAccessToken> VerifyAccessTokenJwt(std::string_view jwt, const jose::Jwks& keys,
                                                        std::span<const jose::Alg> allowed,
                                                        std::string_view issuer, const common::Clock& clock);

// LooksLikeJwt: three dot-separated parts (an opaque or refresh token never has a dot).
bool LooksLikeJwt(std::string_view token);

// GrantId: the access tokens' handle on the grant they were issued from (the refresh token family,
// or the code for grants without refresh tokens): an unkeyed digest of the family id, so a token
// does not disclose the stored key of the family. Carried as the "gid" claim (RFC 7519 §4.3
// private claim) and in opaque token records.
std::string GrantId(std::string_view family_id);

// RevocationKey builders: the denylist keys of the store's RevocationStore.
std::string JtiRevocationKey(std::string_view jti);
std::string GrantRevocationKey(std::string_view grant_id);
std::string UserRevocationKey(std::string_view user_id);

// RevocationKeys: every denylist key that can make the access token with these claims inactive: its
// jti, its grant, and (for tokens issued to a person) its user.
std::vector<std::string> RevocationKeys(const AccessTokenClaims& claims);

// RevokedBy: whether a token issued at `iat` is revoked by a denylist entry whose latest
// revoked_at is `latest_revocation` (0: no entry).
bool RevokedBy(int64_t iat, int64_t latest_revocation);

// Introspection: an RFC 7662 §2.2 response.
struct Introspection {
  bool active = false;
  std::string scope, client_id, username, token_type, sub, aud, iss, jti;
  int64_t exp = 0, iat = 0, nbf = 0;
};

// IntrospectionJson renders the response: {"active":false} and nothing else for an inactive token
// (RFC 7662 §2.2: "SHOULD NOT include any additional information"), else every non-empty member.
std::string IntrospectionJson(const Introspection& introspection);

// AccessTokenIntrospection / OpaqueTokenIntrospection / RefreshTokenIntrospection describe an
// active token; `username` is the person's username ("" for tokens issued to a client).
Introspection AccessTokenIntrospection(const AccessTokenClaims& claims, std::string username);
Introspection OpaqueTokenIntrospection(const store::AccessTokenRecord& token, std::string_view issuer,
                                       std::string username);
Introspection RefreshTokenIntrospection(const store::RefreshTokenRecord& token, std::string_view issuer,
                                        std::string username);

// MayIntrospect: RFC 7662 §4 ("the authorization server MUST determine whether or not the token can
// be introspected by the caller"): a client sees its own tokens; a client registered as a resource
// server (introspect_any) sees every token. Anything else is reported inactive.
bool MayIntrospect(const store::ClientRecord& caller, std::string_view token_client_id);

// RefreshTokenActive: not revoked, not expired (idle or absolute) and not rotated away (a rotated
// token is spent, RFC 9700 §4.14.2).
bool RefreshTokenActive(const store::RefreshTokenRecord& token, int64_t now);

// OpaqueTokenActive: not revoked and not expired.
bool OpaqueTokenActive(const store::AccessTokenRecord& token, int64_t now);

}  // namespace latchkey::oauth
