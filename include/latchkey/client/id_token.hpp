#pragma once

// ID token validation, OpenID Connect Core 1.0 §3.1.3.7 (and §3.1.3.8 for at_hash).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "latchkey/client/error.hpp"
#include "latchkey/client/provider.hpp"

namespace latchkey::client {

// IdTokenClaims: the claims of a validated ID token. Optional claims absent from the token are
// empty (strings, lists) or 0 (times). `json` holds the whole payload for any other claim.
struct IdTokenClaims {
  std::string iss;
  std::string sub;
  std::vector<std::string> aud;
  std::string azp;
  int64_t exp = 0;
  int64_t iat = 0;
  int64_t auth_time = 0;
  std::string nonce;
  std::string acr;
  std::vector<std::string> amr;
  std::string sid;
  std::string at_hash;
  // Standard profile claims (OIDC Core §5.1) when the provider put them in the ID token.
  std::string name;
  std::string preferred_username;
  std::string email;
  bool email_verified = false;
  std::string json;  // the payload as received
};

// IdTokenCheck: what the token must satisfy beyond its signature.
struct IdTokenCheck {
  std::string client_id;                       // must be in aud; azp, when present, must equal it
  std::vector<std::string> trusted_audiences;  // other audiences the client accepts (§3.1.3.7 step 3)
  std::string nonce;                           // the nonce sent with the request; "" when none was sent
  std::optional<int64_t> max_age;              // the max_age sent; auth_time is then required and checked
  std::string access_token;                    // when set and the token has at_hash, it must match
  std::vector<std::string> allowed_algs;       // empty: DefaultAllowedAlgs()
  int64_t leeway_seconds = 60;                 // clock skew allowed on exp, iat and auth_time
};

// CheckIdTokenClaims runs every §3.1.3.7 check except the signature on an already verified JWS
// (`issuer` is the provider's, `now` the current time). Exposed for tests and custom stacks;
// ValidateIdToken is what apps call.
Result<IdTokenClaims> CheckIdTokenClaims(const VerifiedJws& jws, std::string_view issuer,
                                         const IdTokenCheck& check, int64_t now);

// ValidateIdToken verifies the signature with the provider's keys (alg allow-list, key by kid,
// JWKS re-fetched once on an unknown kid) and then CheckIdTokenClaims at the provider's clock.
// Errors: kInvalidToken with the failed check in token_problem; transport/discovery errors when the
// keys could not be fetched.
Result<IdTokenClaims> ValidateIdToken(Provider& provider, std::string_view id_token,
                                      const IdTokenCheck& check);

}  // namespace latchkey::client
