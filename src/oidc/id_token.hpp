#pragma once

// ID Token issuance: OpenID Connect Core 1.0 §2 (ID Token claims), §3.1.3.6 (at_hash) and
// §3.3.2.11 (c_hash).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "common/clock.hpp"
#include "jose/jose.hpp"

namespace latchkey::oidc {

// IdTokenInput: the facts an ID Token states. Empty strings, an empty amr and auth_time == 0 mean
// "omit the claim".
struct IdTokenInput {
  std::string issuer;            // "iss": the issuer identifier, exactly as in discovery
  std::string subject;           // "sub": the user's stable id
  std::string audience;          // "aud" and "azp": the client_id of the relying party
  std::string nonce;             // "nonce": copied unmodified from the authentication request (§3.1.2.1)
  std::string acr;               // "acr"
  std::vector<std::string> amr;  // "amr"
  int64_t auth_time = 0;         // "auth_time", seconds since the epoch
  int64_t lifetime = 300;        // seconds from "iat" to "exp"; must be > 0
  std::string access_token;      // when non-empty, "at_hash" is its hash (§3.1.3.6)
  std::string code;              // when non-empty, "c_hash" is its hash (§3.3.2.11)
  // extra_claims: further claims (e.g. from ClaimsForScopes). A member whose name is one this
  // function owns (iss, sub, aud, exp, iat, auth_time, nonce, acr, amr, azp, at_hash, c_hash) is
  // dropped, so extra claims can never override or inject a registered one.
  boost::json::object extra_claims;
};

// SignIdToken returns the compact JWS (header typ "JWT", kid and alg from `key`) of an ID Token
// with claims iss, sub, aud (a single string), azp (= aud), iat (= clock now), exp (= iat +
// lifetime), plus auth_time, nonce, acr, amr, at_hash, c_hash when given, plus extra_claims.
// Errors: kInvalidKey when `key` is public or does not fit its alg; kUnsupportedAlg when
// at_hash/c_hash is requested with EdDSA (see jose::HashHalf). It does NOT check that issuer, subject
// or audience are non-empty, that the client may receive the extra claims, or that the nonce
// came from this request: the caller decides those.
jose::Result<std::string> SignIdToken(const IdTokenInput& input, const jose::SigningKey& key,
                                      const common::Clock& clock);

}  // namespace latchkey::oidc
