#pragma once

// Errors of the Latchkey client SDK. Every operation that can fail returns Result<T>: a value or
// an Error saying what went wrong. Nothing in the SDK throws across its API, and no Error ever
// carries a token, code or secret.

#include <ostream>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

namespace latchkey::client {

// ErrorCode: what kind of failure. Switch on it; show `Error::message` to people.
enum class ErrorCode {
  kNone = 0,
  kInvalidArgument,  // the caller passed something unusable (an empty issuer, a relative URL, ...)
  kTransport,        // no HTTP answer: DNS, connection, TLS verification, timeout
  kHttpStatus,       // an HTTP answer with an unexpected status and no OAuth error in it
  kInvalidResponse,  // the provider answered something malformed (bad JSON, a missing member)
  kDiscovery,        // the discovery document is unusable (its issuer differs from the configured one)
  kOAuth,            // the provider answered an OAuth error; `oauth_error` holds its code
  kInvalidToken,     // a token failed validation; `token_problem` says which check
  kStateMismatch,    // the callback's state is not the one this authorization request sent
  kIssuerMismatch,   // the callback's iss (RFC 9207) names another issuer
  kSignInRequired,   // the refresh token is gone (revoked, expired, reused): the person must sign in
  kCancelled,        // the caller cancelled a long operation (device polling)
};

// TokenProblem: which validation check a token failed (ErrorCode::kInvalidToken).
enum class TokenProblem {
  kNone = 0,
  kMalformed,             // not a compact JWS, bad base64url or JSON
  kAlgNotAllowed,         // alg "none", an HMAC alg, or a known alg outside the allow-list
  kUnknownKey,            // no key in the provider's JWKS (even after one re-fetch) matches the kid
  kBadSignature,          // the signature does not verify
  kWrongType,             // the JOSE "typ" is not the one expected (RFC 9068 §2.1: at+jwt)
  kWrongIssuer,           // iss differs from the provider's issuer
  kWrongAudience,         // aud does not contain the expected audience
  kWrongAuthorizedParty,  // azp present and not this client, or absent with several audiences
  kExpired,               // exp + leeway <= now
  kNotYetValid,           // nbf - leeway > now
  kIssuedInFuture,        // iat - leeway > now
  kMissingClaim,          // a required claim is absent or of the wrong JSON type
  kNonceMismatch,         // the ID token's nonce is not the one sent
  kAtHashMismatch,        // at_hash does not match the access token
  kAuthTooOld,            // auth_time + max_age + leeway < now, or auth_time missing when max_age was sent
  kInsufficientScope,     // the access token lacks a required scope
  kInactive,              // introspection answered active: false
};

// Error: the failure. `message` is for people and logs; it never contains a token or secret.
struct Error {
  ErrorCode code = ErrorCode::kNone;
  std::string message;
  std::string oauth_error;  // RFC 6749 §5.2 "error" when the provider sent one (kOAuth, kSignInRequired)
  TokenProblem token_problem = TokenProblem::kNone;  // kInvalidToken only
  int http_status = 0;                               // the HTTP status when there was an answer
};

// ErrorCodeName and TokenProblemName: stable lowercase names ("invalid_token", "wrong_audience").
std::string_view ErrorCodeName(ErrorCode code);
std::string_view TokenProblemName(TokenProblem problem);

// Describe renders an Error on one line, e.g. "oauth: invalid_grant (refresh token expired)".
std::string Describe(const Error& error);

inline std::ostream& operator<<(std::ostream& out, const Error& error) { return out << Describe(error); }

template <class T>
using Result = boost::system::result<T, Error>;

}  // namespace latchkey::client
