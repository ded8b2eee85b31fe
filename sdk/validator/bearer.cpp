#include "latchkey/validator/bearer.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "common/strings.hpp"

namespace latchkey::validator {

namespace {

using client::Error;
using client::ErrorCode;
using client::TokenProblem;

Error NoCredentials() { return Error{ErrorCode::kInvalidArgument, "no Bearer credentials"}; }

Error InvalidRequest(std::string message) {
  return Error{ErrorCode::kInvalidArgument, std::move(message), std::string(kInvalidRequest)};
}

// RFC 6750 §2.1 b64token characters before the "=" padding.
bool IsB64TokenChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~' || c == '+' || c == '/';
}

// Description returns the error_description for a token that failed `problem`. Fixed sentences:
// Error::message may carry internal detail (URLs, key ids) that is for the log, not the client.
// RFC 6750 §3 limits the characters to %x20-21 / %x23-5B / %x5D-7E, which these respect.
std::string_view Description(TokenProblem problem) {
  switch (problem) {
    case TokenProblem::kMalformed: return "The access token is malformed";
    case TokenProblem::kAlgNotAllowed:
      return "The access token is signed with an algorithm that is not accepted";
    case TokenProblem::kUnknownKey: return "The access token is signed with an unknown key";
    case TokenProblem::kBadSignature: return "The access token signature is invalid";
    case TokenProblem::kWrongType: return "The token is not an access token";
    case TokenProblem::kWrongIssuer: return "The access token was issued by another issuer";
    case TokenProblem::kWrongAudience:
    case TokenProblem::kWrongAuthorizedParty: return "The access token is not intended for this resource";
    case TokenProblem::kExpired: return "The access token expired";
    case TokenProblem::kNotYetValid: return "The access token is not valid yet";
    case TokenProblem::kIssuedInFuture: return "The access token is issued in the future";
    case TokenProblem::kMissingClaim: return "The access token lacks a required claim";
    case TokenProblem::kInsufficientScope: return "The access token lacks a required scope";
    case TokenProblem::kInactive: return "The access token is not active";
    case TokenProblem::kNone:
    case TokenProblem::kNonceMismatch:
    case TokenProblem::kAtHashMismatch:
    case TokenProblem::kAuthTooOld: return "The access token is invalid";
  }
  return "The access token is invalid";
}

void AppendParam(std::string& out, std::string_view name, std::string_view value) {
  out += ", ";
  out += name;
  out += '=';
  out += QuotedString(value);
}

}  // namespace

Result<std::string_view> ParseBearerAuthorization(std::string_view header_value) {
  // Surrounding whitespace is not part of a field value (RFC 9110 §5.5); a server that did not
  // strip it should not turn it into a rejection.
  const std::string_view value = common::Trim(header_value);
  if (value.empty()) return NoCredentials();

  const size_t scheme_end = value.find_first_of(" \t");
  const std::string_view scheme = value.substr(0, scheme_end);
  // RFC 6750 §3.1: a request that uses another authentication method (Basic, DPoP, ...) "lacks any
  // authentication information" as far as Bearer is concerned: no error code.
  // The scheme is case-insensitive (RFC 9110 §11.1).
  if (!common::EqualsIgnoreCase(scheme, "Bearer")) return NoCredentials();
  if (scheme_end == std::string_view::npos) return InvalidRequest("Bearer credentials without a token");

  // credentials = "Bearer" 1*SP b64token (RFC 6750 §2.1): spaces only, no tabs.
  std::string_view rest = value.substr(scheme_end);
  const size_t token_start = rest.find_first_not_of(' ');
  if (token_start == 0) return InvalidRequest("Bearer must be followed by a space");
  rest.remove_prefix(token_start);

  // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" (RFC 6750 §2.1).
  // Anything after it (a second token, an auth-param list) is refused rather than ignored: two
  // components reading the header differently is how a check gets bypassed.
  size_t i = 0;
  while (i < rest.size() && IsB64TokenChar(rest[i])) ++i;
  if (i == 0) return InvalidRequest("Bearer token is empty or has a character outside b64token");
  while (i < rest.size() && rest[i] == '=') ++i;
  if (i != rest.size()) return InvalidRequest("Bearer credentials are not a single b64token");
  return rest;
}

bool IsMissingCredentials(const client::Error& error) {
  return error.code == ErrorCode::kInvalidArgument && error.oauth_error.empty();
}

Challenge ChallengeFor(const client::Error& error, std::string_view realm,
                       std::span<const std::string> required_scopes) {
  Challenge c;
  if (error.code == ErrorCode::kInvalidArgument && error.oauth_error == kInvalidRequest) {
    // RFC 6750 §3.1 invalid_request: "The resource server SHOULD respond with the HTTP 400".
    c.status = 400;
    c.error = kInvalidRequest;
    c.error_description = "The Authorization header is malformed";
  } else if (IsMissingCredentials(error)) {
    // RFC 6750 §3.1: no credentials -> "SHOULD NOT include an error code or other error
    // information"; §3 still requires the challenge (401 with only the realm).
    c.status = 401;
  } else if (error.code == ErrorCode::kInvalidToken &&
             error.token_problem == TokenProblem::kInsufficientScope) {
    // RFC 6750 §3.1 insufficient_scope: 403, and "MAY include the scope attribute with the scope
    // necessary to access the resource".
    c.status = 403;
    c.error = "insufficient_scope";
    c.error_description = Description(error.token_problem);
  } else if (error.code == ErrorCode::kInvalidToken) {
    // RFC 6750 §3.1 invalid_token: "expired, revoked, malformed, or invalid for other reasons",
    // 401; RFC 9068 §4 requires this code for every failed JWT access token check.
    c.status = 401;
    c.error = "invalid_token";
    c.error_description = Description(error.token_problem);
  } else {
    // The provider (JWKS, discovery, introspection) failed: the token was not judged. Neither 401
    // (the client would drop a possibly good token) nor 500 (nothing is wrong with this server's
    // code): 503, the usual answer when a dependency is unavailable (RFC 9110 §15.6.4).
    c.status = 503;
    c.error_description = "The access token cannot be checked right now";
    return c;
  }

  // RFC 6750 §3: "All challenges defined by this specification MUST use the auth-scheme value
  // Bearer. This scheme MUST be followed by one or more auth-param values."
  c.www_authenticate = "Bearer realm=" + QuotedString(realm);
  if (!c.error.empty()) {
    AppendParam(c.www_authenticate, "error", c.error);
    AppendParam(c.www_authenticate, "error_description", c.error_description);
  }
  if (c.status == 403 && !required_scopes.empty()) {
    // RFC 6750 §3: scope is "a space-delimited list of case-sensitive scope values".
    std::string scope;
    for (const std::string& s : required_scopes) {
      if (!scope.empty()) scope += ' ';
      scope += s;
    }
    AppendParam(c.www_authenticate, "scope", scope);
  }
  return c;
}

std::string ChallengeBody(const Challenge& challenge) {
  boost::json::object body;
  if (!challenge.error.empty()) body["error"] = challenge.error;
  if (!challenge.error_description.empty()) body["error_description"] = challenge.error_description;
  return boost::json::serialize(body);
}

std::string QuotedString(std::string_view value) {
  // quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE              (RFC 9110 §5.6.4)
  // qdtext        = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
  // quoted-pair   = "\" ( HTAB / SP / VCHAR / obs-text )
  std::string out;
  out.reserve(value.size() + 2);
  out += '"';
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    // Control characters are dropped, not escaped: CR or LF would end the header and let whoever
    // chose the value (a realm or scope from configuration) inject header lines.
    if (c < 0x20 || c == 0x7F) continue;
    if (c == '"' || c == '\\') out += '\\';
    out += ch;
  }
  out += '"';
  return out;
}

}  // namespace latchkey::validator
