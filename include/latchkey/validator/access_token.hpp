#pragma once

// Access token claims and the checks a resource server makes on them: the JWT profile of RFC 9068
// (§2, §4) for tokens whose signature the Provider already verified, and the scope check of
// RFC 6750 §3.1. Pure functions of their arguments and the time passed in: no I/O, thread-safe.
// Validator (latchkey/validator/validator.hpp) strings them together with signature verification
// and introspection; call these directly only to build something Validator does not do.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "latchkey/client/error.hpp"
#include "latchkey/client/provider.hpp"
#include "latchkey/validator/bearer.hpp"

namespace latchkey::validator {

// TokenSource: how the claims were obtained.
enum class TokenSource {
  kJwt,            // an RFC 9068 JWT access token, checked locally
  kIntrospection,  // an opaque token, described by the provider's introspection endpoint (RFC 7662)
};

// AccessTokenClaims: what a valid access token says. For a JWT every REQUIRED claim of RFC 9068
// §2.2 is present and non-empty. From introspection (RFC 7662 §2.2, where every member but
// "active" is OPTIONAL) absent strings are "" and absent times 0.
struct AccessTokenClaims {
  TokenSource source = TokenSource::kJwt;
  std::string iss;
  std::string sub;
  std::string client_id;            // RFC 8693 §4.3: the client the token was issued to
  std::vector<std::string> aud;     // "aud" as a list, whether it was a string or an array
  std::vector<std::string> scopes;  // "scope" split on spaces (RFC 8693 §4.2), in token order
  std::string jti;
  int64_t exp = 0;  // NumericDate, seconds; fractions are dropped
  int64_t iat = 0;
  std::optional<int64_t> nbf;
  std::optional<int64_t> auth_time;  // RFC 9068 §2.2.1, when the token carries it
  std::string acr;                   // RFC 9068 §2.2.1, "" when absent
  std::string payload;               // the JSON claims object (JWT payload or introspection answer), for
                                     // claims this struct does not name (roles, groups, ...)

  // HasScope is true when `scope` is one of `scopes` (case-sensitive, RFC 6749 §3.3).
  bool HasScope(std::string_view scope) const;
};

// AccessTokenCheck: what the tokens of this resource server must say.
struct AccessTokenCheck {
  std::string issuer;           // the provider's issuer identifier, compared exactly with "iss"
  std::string audience;         // this resource server's identifier; must be in "aud". "" matches nothing
  int64_t leeway_seconds = 60;  // clock skew allowed on exp, nbf and iat (RFC 9068 §4)
};

// CheckAccessToken checks the header and claims of a JWS whose signature was verified (by
// client::Provider::Verify) against `check` at time `now` (seconds since the epoch), following
// RFC 9068 §4, and returns the claims. Each failure is Error{kInvalidToken, token_problem}:
//   kWrongType      "typ" is not "at+jwt" or "application/at+jwt" (any case), or absent (§2.1, §4)
//   kMalformed      the payload is not a JSON object, or repeats a member
//   kMissingClaim   iss, aud, exp, iat, sub, client_id or jti absent, empty or of the wrong JSON
//                   type (§2.2); nbf, auth_time, scope or acr present with the wrong type
//   kWrongIssuer    iss differs from check.issuer (exact comparison, §4)
//   kWrongAudience  aud (a string or an array of strings) does not contain check.audience (§4)
//   kExpired        now >= exp + leeway (§4: "the current time MUST be before" exp)
//   kNotYetValid    nbf - leeway > now (RFC 7519 §4.1.5)
//   kIssuedInFuture iat - leeway > now (RFC 7519 §4.1.6)
// Does NOT check the signature or the alg (Provider::Verify did), nor any scope (RequireScopes).
Result<AccessTokenClaims> CheckAccessToken(const client::VerifiedJws& jws, const AccessTokenCheck& check,
                                           int64_t now);

// RequireScopes succeeds when every scope of `required_scopes` is among `claims.scopes` (none
// required: always). Otherwise Error{kInvalidToken, kInsufficientScope} (RFC 6750 §3.1
// insufficient_scope; ChallengeFor turns it into a 403 naming the required scopes).
Result<void> RequireScopes(const AccessTokenClaims& claims, std::span<const std::string> required_scopes);

}  // namespace latchkey::validator
