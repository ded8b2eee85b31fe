#include "latchkey/client/id_token.hpp"

#include <algorithm>

#include "crypto/digest.hpp"
#include "internal.hpp"

namespace latchkey::client {

namespace {

using internal::TokenError;

bool Contains(const std::vector<std::string>& list, std::string_view value) {
  return std::ranges::find(list, value) != list.end();
}

}  // namespace

Result<IdTokenClaims> CheckIdTokenClaims(const VerifiedJws& jws, std::string_view issuer,
                                         const IdTokenCheck& check, int64_t now) {
  auto parsed = internal::ParseJsonObject(jws.payload, "the ID token payload");
  if (!parsed) return TokenError(TokenProblem::kMalformed, "the ID token payload is not a JSON object");
  const auto& object = *parsed;
  IdTokenClaims c;
  c.json = jws.payload;

  const auto text = [&](std::string_view name, std::string& out) {
    auto v = internal::StringMember(object, name);
    if (!v) return false;
    out = std::move(*v);
    return true;
  };
  for (auto [name, field] : {std::pair<std::string_view, std::string*>{"iss", &c.iss},
                             {"sub", &c.sub},
                             {"azp", &c.azp},
                             {"nonce", &c.nonce},
                             {"acr", &c.acr},
                             {"sid", &c.sid},
                             {"at_hash", &c.at_hash},
                             {"name", &c.name},
                             {"preferred_username", &c.preferred_username},
                             {"email", &c.email}}) {
    if (!text(name, *field))
      return TokenError(TokenProblem::kMissingClaim, std::string(name) + " is not a string");
  }
  c.aud = internal::StringList(object, "aud");
  c.amr = internal::StringList(object, "amr");
  const auto* verified = object.if_contains("email_verified");
  c.email_verified = verified != nullptr && verified->is_bool() && verified->as_bool();

  // §2: iss, sub, aud, exp and iat are REQUIRED in every ID token.
  auto exp = internal::IntMember(object, "exp");
  auto iat = internal::IntMember(object, "iat");
  if (c.iss.empty() || c.sub.empty() || c.aud.empty() || !exp || !iat) {
    return TokenError(TokenProblem::kMissingClaim, "the ID token lacks iss, sub, aud, exp or iat");
  }
  c.exp = *exp;
  c.iat = *iat;
  if (object.contains("auth_time")) {
    auto auth_time = internal::IntMember(object, "auth_time");
    if (!auth_time) return TokenError(TokenProblem::kMissingClaim, "auth_time is not a number");
    c.auth_time = *auth_time;
  }

  // §3.1.3.7 step 2: "The Issuer Identifier ... MUST exactly match the value of the iss Claim."
  if (c.iss != issuer)
    return TokenError(TokenProblem::kWrongIssuer, "the ID token was issued by another issuer");
  // Step 3: aud must contain the client_id, and other audiences must be trusted.
  if (!Contains(c.aud, check.client_id)) {
    return TokenError(TokenProblem::kWrongAudience, "the ID token is not meant for this client");
  }
  for (const auto& aud : c.aud) {
    if (aud != check.client_id && !Contains(check.trusted_audiences, aud)) {
      return TokenError(TokenProblem::kWrongAudience,
                        "the ID token names an audience this client does not trust");
    }
  }
  // Steps 4-5: with several audiences azp must be present; when present it must be this client.
  if (c.aud.size() > 1 && c.azp.empty()) {
    return TokenError(TokenProblem::kWrongAuthorizedParty, "an ID token with several audiences lacks azp");
  }
  if (!c.azp.empty() && c.azp != check.client_id) {
    return TokenError(TokenProblem::kWrongAuthorizedParty, "the ID token's azp is another client");
  }
  // Step 9: "The current time MUST be before the time represented by the exp Claim" (with skew).
  if (c.exp + check.leeway_seconds <= now)
    return TokenError(TokenProblem::kExpired, "the ID token has expired");
  // Step 10: iat may be used to reject tokens issued too far from the current time.
  if (c.iat - check.leeway_seconds > now) {
    return TokenError(TokenProblem::kIssuedInFuture, "the ID token was issued in the future");
  }
  // Step 11: "If a nonce value was sent in the Authentication Request, a nonce Claim MUST be
  // present and its value checked"; compared in constant time like every secret.
  if (!check.nonce.empty() && !crypto::ConstantTimeEquals(c.nonce, check.nonce)) {
    return TokenError(TokenProblem::kNonceMismatch, "the ID token's nonce is not the one sent");
  }
  // Step 13: with max_age, auth_time is required and must not be older than max_age.
  if (check.max_age) {
    if (c.auth_time == 0)
      return TokenError(TokenProblem::kAuthTooOld, "max_age was sent but auth_time is missing");
    if (c.auth_time + *check.max_age + check.leeway_seconds < now) {
      return TokenError(TokenProblem::kAuthTooOld, "the sign-in is older than max_age");
    }
  }
  // §3.1.3.8: at_hash is the base64url of the left half of the alg's hash of the access token.
  // Only the SHA-256 algorithms define that hash (jose::HashHalf); for EdDSA it is not checked.
  const auto alg = jose::ParseAlg(jws.alg);
  if (alg && !c.at_hash.empty() && !check.access_token.empty()) {
    auto expected = jose::HashHalf(check.access_token, *alg);
    if (expected && !crypto::ConstantTimeEquals(*expected, c.at_hash)) {
      return TokenError(TokenProblem::kAtHashMismatch, "at_hash does not match the access token");
    }
  }
  return c;
}

Result<IdTokenClaims> ValidateIdToken(Provider& provider, std::string_view id_token,
                                      const IdTokenCheck& check) {
  auto jws = provider.Verify(id_token, check.allowed_algs);
  if (!jws) return jws.error();
  return CheckIdTokenClaims(*jws, provider.GetIssuer(), check, provider.GetClock().NowSeconds());
}

}  // namespace latchkey::client
