#pragma once

// Validator: everything a resource server (an API) needs to decide whether a request's access token
// lets it in. JWT access tokens (RFC 9068) are checked locally against the provider's keys; any
// other token is sent to the provider's introspection endpoint (RFC 7662) when the Validator has
// credentials for it, and the answer is cached for a short while.
//
// Usage:
//   latchkey::client::CurlTransport transport;
//   latchkey::client::SystemClock clock;
//   latchkey::client::Provider provider({.issuer = "https://login.example.com"}, transport, clock);
//   latchkey::validator::Validator validator(provider, {.audience = "https://api.example.com"});
//
//   const std::vector<std::string> kNeeds = {"orders:read"};
//   auto claims = validator.ValidateAuthorization(request_authorization_header, kNeeds);
//   if (!claims) {
//     auto challenge = latchkey::validator::ChallengeFor(claims.error(), "api", kNeeds);
//     // answer challenge.status with WWW-Authenticate: challenge.www_authenticate
//   }
//
// With Boost.Beast, latchkey/validator/beast.hpp does the last two steps.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "latchkey/client/error.hpp"
#include "latchkey/client/provider.hpp"
#include "latchkey/validator/access_token.hpp"
#include "latchkey/validator/bearer.hpp"
#include "latchkey/validator/introspection.hpp"

namespace latchkey::validator {

// IntrospectionOptions: how to reach the introspection endpoint (taken from the provider's
// discovery document). An empty client_id turns introspection off: tokens that are not JWTs are
// then rejected as malformed.
struct IntrospectionOptions {
  std::string client_id;               // this resource server's client at the provider
  std::string client_secret;           // sent with HTTP Basic (RFC 6749 §2.3.1)
  size_t cache_max_entries = 10000;    // 0: no cache, every validation asks the provider
  int64_t cache_max_ttl_seconds = 60;  // the longest an active answer is trusted; 0: no cache
};

// ValidatorOptions: what this resource server accepts.
struct ValidatorOptions {
  // audience: this resource server's identifier, which tokens must carry in "aud" (RFC 9068 §4).
  // Required: an empty audience matches no token.
  std::string audience;
  // allowed_algs: the JWS algorithms accepted. "none" and HMAC algorithms are refused whatever is
  // listed here (RFC 9068 §4; an HMAC "key" would be the provider's public key).
  std::vector<std::string> allowed_algs = {"ES256", "RS256", "PS256", "EdDSA"};
  // leeway_seconds: clock skew tolerated on exp, nbf and iat.
  int64_t leeway_seconds = 60;
  IntrospectionOptions introspection;
};

// Validator checks access tokens for one resource server and one provider. Thread-safe: share one
// instance between all request handlers. Holds no token longer than a call (the introspection
// cache keeps SHA-256 digests), and no Error it returns contains a token.
class Validator {
 public:
  // `provider` must outlive the Validator; its transport and clock are used for introspection too.
  Validator(client::Provider& provider, ValidatorOptions options);
  ~Validator();
  Validator(const Validator&) = delete;
  Validator& operator=(const Validator&) = delete;

  // Validate checks `token` and that it grants every scope of `required_scopes`, and returns its
  // claims.
  //
  // A token that parses as a compact JWS (three base64url parts, the first a JSON object) is
  // verified with Provider::Verify using `allowed_algs`, then checked with CheckAccessToken against
  // the provider's issuer. Any other token goes to the introspection endpoint when introspection is
  // configured (cached as described for IntrospectionCache: an active answer until
  // min(exp, now + cache_max_ttl_seconds), a rejection for kInactiveCacheSeconds, endpoint failures
  // not at all), and is rejected with kInvalidToken + kMalformed otherwise.
  //
  // Errors: kInvalidToken with the token_problem of the failed check (kInsufficientScope when only
  // the scopes are missing); a provider failure as the Provider or CheckIntrospectionResponse
  // reports it (kTransport, kHttpStatus, kInvalidResponse, kOAuth), or kDiscovery when the provider
  // advertises no introspection_endpoint. ChallengeFor maps each to the answer to send.
  Result<AccessTokenClaims> Validate(std::string_view token,
                                     std::span<const std::string> required_scopes = {});

  // ValidateAuthorization is ParseBearerAuthorization followed by Validate: `header_value` is the
  // Authorization request header ("" when the request had none).
  Result<AccessTokenClaims> ValidateAuthorization(std::string_view header_value,
                                                  std::span<const std::string> required_scopes = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace latchkey::validator
