#pragma once

// Bearer tokens in HTTP (RFC 6750): reading the credentials of the Authorization request header
// (§2.1) and writing the answer to a refused request, status and WWW-Authenticate challenge (§3).
// Pure functions: no I/O, no state, safe to call from any thread.
//
// How a refusal travels: every check of this library fails with a client::Error, and ChallengeFor
// turns any such Error into the status and challenge to send. The Errors it understands:
//
//   what happened                          Error                                  answer
//   no Authorization header, or another    code kInvalidArgument,                 401, realm only
//     scheme (Basic, DPoP, ...)              oauth_error ""                         (§3.1: no error code)
//   "Bearer" with a malformed credential   code kInvalidArgument,                 400 invalid_request
//                                            oauth_error "invalid_request"
//   the token failed a check               code kInvalidToken, token_problem      401 invalid_token
//   the token lacks a required scope       kInvalidToken + kInsufficientScope     403 insufficient_scope
//   the provider could not be asked        any other Error (kTransport,           503, no challenge
//     (JWKS, discovery, introspection)       kHttpStatus, kInvalidResponse, ...)

#include <span>
#include <string>
#include <string_view>

#include "latchkey/client/error.hpp"

namespace latchkey::validator {

// Result: a value or the client::Error saying why not (the SDK's error type, shared with
// latchkey::client so that errors cross between the two without translation).
template <class T>
using Result = client::Result<T>;

// kInvalidRequest: the `oauth_error` of an Error for a malformed Authorization header
// (RFC 6750 §3.1 "invalid_request").
inline constexpr std::string_view kInvalidRequest = "invalid_request";

// ParseBearerAuthorization returns the access token carried by an Authorization header value,
// a view into `header_value` (so it lives as long as the caller's string):
//
//   credentials = "Bearer" 1*SP b64token                                  (RFC 6750 §2.1)
//   b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//
// The scheme name is matched case-insensitively (RFC 9110 §11.1). Spaces and tabs before and after
// the whole value are ignored (they are not part of a field value, RFC 9110 §5.5), but between the
// scheme and the token only spaces are allowed, and nothing may follow the token.
//
// Errors, both with code kInvalidArgument (see the table above):
//   - an empty value, or a scheme other than Bearer: oauth_error "" (IsMissingCredentials);
//   - "Bearer" with no token, two tokens, a character outside b64token, "=" before the end:
//     oauth_error "invalid_request".
// Does NOT check the token itself (that is Validator::Validate), and cannot see whether the request
// repeated the header or also sent the token in the body or query (§2.2, §2.3); a caller that
// receives several Authorization headers should answer invalid_request itself.
Result<std::string_view> ParseBearerAuthorization(std::string_view header_value);

// IsMissingCredentials is true for the Error of a request that sent no Bearer credentials at all
// (code kInvalidArgument with an empty oauth_error). Per RFC 6750 §3.1 such a request is answered
// with a bare challenge and no error information.
bool IsMissingCredentials(const client::Error& error);

// Challenge: what to answer to a refused request.
struct Challenge {
  int status = 0;                 // 400, 401, 403 or 503
  std::string www_authenticate;   // the WWW-Authenticate value; "" for 503 (send no header then)
  std::string error;              // the RFC 6750 §3.1 error code, "" when none applies
  std::string error_description;  // a short, fixed, safe sentence; never the token
};

// ChallengeFor maps a failure of this library to the answer RFC 6750 §3 asks for, following the
// table at the top of this file. `realm` is always included (§3: the scheme must be followed by
// at least one auth-param); `required_scopes` become the scope attribute of an insufficient_scope
// challenge (§3.1) and are ignored otherwise. Attribute values are written with QuotedString.
//
// Any Error that is not about the request or the token (the provider's JWKS, discovery document or
// introspection endpoint failed, code kNone included) maps to 503 without a challenge: the token
// was not judged, and answering 401 invalid_token would make a client throw away a token that may
// be perfectly good. The error_description never repeats Error::message, which may name internal
// URLs; it comes from a fixed table indexed by the TokenProblem.
//
// Examples (realm "api"):
//   401  Bearer realm="api"
//   401  Bearer realm="api", error="invalid_token", error_description="The access token expired"
//   403  Bearer realm="api", error="insufficient_scope",
//        error_description="The access token lacks a required scope", scope="read write"
Challenge ChallengeFor(const client::Error& error, std::string_view realm,
                       std::span<const std::string> required_scopes = {});

// ChallengeBody returns a small JSON object for the body of the answer:
// {"error":"...","error_description":"..."} with the members that are not empty ({} when none).
std::string ChallengeBody(const Challenge& challenge);

// QuotedString returns `value` as an HTTP quoted-string (RFC 9110 §5.6.4): in double quotes, with
// '"' and '\' backslash-escaped and every control character (0x00-0x1F, 0x7F; CR and LF above all,
// which would split the header) dropped. Bytes >= 0x80 are kept as obs-text.
std::string QuotedString(std::string_view value);

}  // namespace latchkey::validator
