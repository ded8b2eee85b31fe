// The checks on access token claims: JWT access tokens (RFC 9068 §2, §4), introspection answers
// (RFC 7662 §2.2) and required scopes (RFC 6750 §3.1). Pure: the time is an argument.

#include "latchkey/validator/access_token.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "../client/internal.hpp"
#include "common/clock.hpp"
#include "common/strings.hpp"
#include "jose/jose.hpp"
#include "latchkey/validator/introspection.hpp"

namespace latchkey::validator {

namespace {

namespace json = boost::json;
using client::Error;
using client::ErrorCode;
using client::TokenProblem;

using client::internal::FixedClock;
using client::internal::FromJose;
using client::internal::TokenError;

Error Failure(ErrorCode code, std::string message, int http_status) {
  Error e{code, std::move(message)};
  e.http_status = http_status;
  return e;
}

std::string_view View(const json::string& s) { return {s.data(), s.size()}; }

// StringClaim reads an optional string member: "" when absent, nullopt when of another type.
std::optional<std::string> StringClaim(const json::object& claims, std::string_view name) {
  const json::value* v = claims.if_contains(name);
  if (v == nullptr) return std::string();
  if (!v->is_string()) return std::nullopt;
  return std::string(View(v->get_string()));
}

// NumericDate reads an RFC 7519 §2 NumericDate ("a JSON numeric value", fractions allowed) as whole
// seconds. nullopt when absent; `ok` false when present with another JSON type.
std::optional<int64_t> NumericDate(const json::object& claims, std::string_view name, bool& ok) {
  const json::value* v = claims.if_contains(name);
  if (v == nullptr) return std::nullopt;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(std::min<uint64_t>(v->get_uint64(), kMax));
  if (v->is_double() && std::isfinite(v->get_double())) {
    const double d = std::floor(v->get_double());
    if (d >= static_cast<double>(kMax)) return kMax;
    if (d <= static_cast<double>(std::numeric_limits<int64_t>::min()))
      return std::numeric_limits<int64_t>::min();
    return static_cast<int64_t>(d);
  }
  ok = false;
  return std::nullopt;
}

// ReadClaims copies the claims this library names out of `claims`. Fails with kMissingClaim when
// one of them has the wrong JSON type; checks nothing else.
Result<AccessTokenClaims> ReadClaims(const json::object& claims, TokenSource source, std::string payload) {
  AccessTokenClaims out;
  out.source = source;
  out.payload = std::move(payload);

  const std::pair<std::string_view, std::string*> kStrings[] = {
      {"iss", &out.iss}, {"sub", &out.sub}, {"client_id", &out.client_id},
      {"jti", &out.jti}, {"acr", &out.acr},
  };
  for (const auto& [name, field] : kStrings) {
    auto value = StringClaim(claims, name);
    if (!value) return TokenError(TokenProblem::kMissingClaim, std::string(name) + " is not a string");
    *field = std::move(*value);
  }

  // RFC 7519 §4.1.3: aud is one StringOrURI or an array of them.
  if (const json::value* aud = claims.if_contains("aud")) {
    if (aud->is_string()) {
      out.aud.emplace_back(View(aud->get_string()));
    } else if (aud->is_array()) {
      for (const json::value& a : aud->get_array()) {
        if (!a.is_string()) return TokenError(TokenProblem::kMissingClaim, "aud holds a non-string");
        out.aud.emplace_back(View(a.get_string()));
      }
    } else {
      return TokenError(TokenProblem::kMissingClaim, "aud is neither a string nor an array");
    }
  }

  // RFC 8693 §4.2 (RFC 9068 §2.2.3, RFC 7662 §2.2): scope is one space-separated string. An array
  // is refused rather than ignored, so a token cannot look scope-less to us and scoped to others.
  if (const json::value* scope = claims.if_contains("scope")) {
    if (!scope->is_string()) return TokenError(TokenProblem::kMissingClaim, "scope is not a string");
    out.scopes = common::SplitSpaces(View(scope->get_string()));
  }

  bool ok = true;
  const auto exp = NumericDate(claims, "exp", ok);
  const auto iat = NumericDate(claims, "iat", ok);
  out.nbf = NumericDate(claims, "nbf", ok);
  out.auth_time = NumericDate(claims, "auth_time", ok);
  if (!ok) return TokenError(TokenProblem::kMissingClaim, "a time claim is not a NumericDate");
  out.exp = exp.value_or(0);
  out.iat = iat.value_or(0);
  return out;
}

// IsAccessTokenType: RFC 9068 §4 "verify that the typ header value is at+jwt or application/at+jwt
// and reject tokens carrying any other value". Media types compare case-insensitively
// (RFC 7515 §4.1.9). This is what keeps an ID token (typ JWT or none), which the same provider
// signs with the same keys, from being accepted as an access token (RFC 9068 §5).
bool IsAccessTokenType(std::string_view typ) {
  return common::EqualsIgnoreCase(typ, "at+jwt") || common::EqualsIgnoreCase(typ, "application/at+jwt");
}

}  // namespace

bool AccessTokenClaims::HasScope(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

Result<AccessTokenClaims> CheckAccessToken(const client::VerifiedJws& jws, const AccessTokenCheck& check,
                                           int64_t now) {
  if (!IsAccessTokenType(jws.typ)) return TokenError(TokenProblem::kWrongType, "typ is not at+jwt");

  // jose::CheckClaims skips the issuer or audience check when given "": fail closed instead of
  // accepting every issuer or audience because of a missing setting.
  if (check.issuer.empty()) return TokenError(TokenProblem::kWrongIssuer, "no issuer to compare with");
  if (check.audience.empty()) return TokenError(TokenProblem::kWrongAudience, "no audience configured");

  // RFC 9068 §4: iss equals the issuer exactly; aud contains this resource server; the current time
  // is before exp (with leeway). §2.2: exp and iat are REQUIRED. CheckClaims also refuses a payload
  // that repeats a member, which two JSON parsers could otherwise read differently.
  jose::ClaimsCheck claims_check;
  claims_check.issuer = check.issuer;
  claims_check.audience = check.audience;
  claims_check.leeway_seconds = check.leeway_seconds;
  claims_check.require_exp = true;
  claims_check.require_iat = true;
  auto object = jose::CheckClaims(jws.payload, claims_check, FixedClock(now));
  if (!object) {
    const TokenProblem problem = FromJose(object.error());
    return TokenError(problem, "access token claims: " + std::string(jose::ErrcName(object.error())));
  }

  auto claims = ReadClaims(*object, TokenSource::kJwt, jws.payload);
  if (!claims) return claims;
  // RFC 9068 §2.2: sub, client_id and jti are REQUIRED (iss, aud, exp, iat were checked above).
  const std::pair<std::string_view, const std::string*> kRequired[] = {
      {"sub", &claims->sub}, {"client_id", &claims->client_id}, {"jti", &claims->jti}};
  for (const auto& [name, value] : kRequired) {
    if (value->empty()) return TokenError(TokenProblem::kMissingClaim, std::string(name) + " is missing");
  }
  return claims;
}

Result<AccessTokenClaims> CheckIntrospectionResponse(const client::HttpResponse& response,
                                                     const AccessTokenCheck& check, int64_t now) {
  // Failures of the endpoint are not judgements of the token: they must not become invalid_token,
  // or an outage of the provider would log every client out (ChallengeFor answers 503).
  if (response.status != 200) return client::internal::HttpFailure(response, "the introspection endpoint");

  boost::system::error_code ec;
  json::value body = json::parse(response.body, ec);
  if (ec || !body.is_object()) {
    return Failure(ErrorCode::kInvalidResponse, "introspection answer is not a JSON object", response.status);
  }
  const json::object& answer = body.get_object();
  // RFC 7662 §2.2: active is REQUIRED and a boolean; "true" as a string is not an answer.
  const json::value* active = answer.if_contains("active");
  if (active == nullptr || !active->is_bool()) {
    return Failure(ErrorCode::kInvalidResponse, "introspection answer has no boolean active",
                   response.status);
  }
  if (!active->get_bool()) return TokenError(TokenProblem::kInactive, "introspection: token is not active");

  // RFC 7662 §2.2 token_type is the RFC 6749 §5.1 type, case-insensitive (RFC 6749 §7.1). The
  // endpoint searches every kind of token whatever the hint (§2.1), so a refresh token comes back
  // active as well; accepting it here would turn a long-lived refresh token into an access token.
  if (const json::value* type = answer.if_contains("token_type")) {
    if (!type->is_string()) return TokenError(TokenProblem::kMissingClaim, "token_type is not a string");
    if (!common::EqualsIgnoreCase(View(type->get_string()), "Bearer")) {
      return TokenError(TokenProblem::kWrongType, "introspection: not an access token");
    }
  }

  // Every member but active is OPTIONAL (§2.2): check iss and aud when present. A missing aud
  // leaves the decision to the provider, which may answer each resource server differently (§2.2).
  jose::ClaimsCheck claims_check;
  claims_check.issuer = answer.contains("iss") ? check.issuer : std::string();
  claims_check.audience = answer.contains("aud") ? check.audience : std::string();
  claims_check.leeway_seconds = check.leeway_seconds;
  claims_check.require_exp = false;
  claims_check.require_iat = false;
  if (answer.contains("iss") && check.issuer.empty()) {
    return TokenError(TokenProblem::kWrongIssuer, "no issuer to compare with");
  }
  if (answer.contains("aud") && check.audience.empty()) {
    return TokenError(TokenProblem::kWrongAudience, "no audience configured");
  }
  auto object = jose::CheckClaims(response.body, claims_check, FixedClock(now));
  if (!object) {
    if (object.error() == jose::Errc::kMalformed) {
      // A repeated member (the body parsed above, so that is what is left).
      return Failure(ErrorCode::kInvalidResponse, "introspection answer repeats a member", response.status);
    }
    return TokenError(FromJose(object.error()),
                      "introspection answer: " + std::string(jose::ErrcName(object.error())));
  }
  return ReadClaims(*object, TokenSource::kIntrospection, response.body);
}

Result<void> RequireScopes(const AccessTokenClaims& claims, std::span<const std::string> required_scopes) {
  for (const std::string& scope : required_scopes) {
    // RFC 6750 §3.1 insufficient_scope: "The request requires higher privileges than provided by
    // the access token." Scope values are case-sensitive (RFC 6749 §3.3).
    if (!claims.HasScope(scope)) {
      return TokenError(TokenProblem::kInsufficientScope, "the access token lacks scope \"" + scope + "\"");
    }
  }
  return {};
}

}  // namespace latchkey::validator
