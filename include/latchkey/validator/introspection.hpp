#pragma once

// Token introspection (RFC 7662) as a resource server uses it: the request (§2.1), the checks on
// the answer (§2.2), and the bounded cache of answers (§4 allows caching, at the cost of noticing a
// revocation later). Validator uses all three; they are public so that the request can be seen and
// tested, and so an app with its own HTTP path can reuse them.

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "latchkey/client/error.hpp"
#include "latchkey/client/transport.hpp"
#include "latchkey/validator/access_token.hpp"

namespace latchkey::validator {

// kInactiveCacheSeconds: how long an answer that rejects the token (active:false, another issuer or
// audience, expired) is cached. Short, so a token that was just issued and not yet visible to the
// introspection endpoint is soon asked about again, yet long enough that a client repeating a bad
// token cannot make every one of its requests cost an introspection call.
inline constexpr int64_t kInactiveCacheSeconds = 5;

// IntrospectionRequest returns the RFC 7662 §2.1 request for `token`: a POST to `endpoint` with the
// form body token=...&token_type_hint=access_token, authenticated with HTTP Basic using the client
// id and secret form-urlencoded first (RFC 6749 §2.3.1), and Accept: application/json. The request
// holds the token and the secret: never log it.
client::HttpRequest IntrospectionRequest(std::string_view endpoint, std::string_view token,
                                         std::string_view client_id, std::string_view client_secret);

// CheckIntrospectionResponse reads the introspection endpoint's answer (RFC 7662 §2.2) and checks it
// against `check` at time `now`. Returns the claims (source kIntrospection) of an active token.
//
// Failures that judge the token, Error{kInvalidToken, token_problem}:
//   kInactive       "active": false
//   kWrongType      token_type present and not "Bearer" (a refresh token, say, is active too)
//   kWrongIssuer    iss present and not check.issuer
//   kWrongAudience  aud present and without check.audience (absent: the provider decided)
//   kExpired        exp present and now >= exp + leeway
//   kNotYetValid    nbf present and nbf - leeway > now
//   kMissingClaim   a member present with the wrong JSON type
// Failures of the endpoint, which say nothing about the token (answer 503, see ChallengeFor):
//   kOAuth          a non-200 answer carrying an RFC 6749 §5.2 error (invalid_client, ...)
//   kHttpStatus     any other non-200 answer (http_status holds it)
//   kInvalidResponse a 200 answer that is not a JSON object with a boolean "active"
// Does NOT check scopes (RequireScopes).
Result<AccessTokenClaims> CheckIntrospectionResponse(const client::HttpResponse& response,
                                                     const AccessTokenCheck& check, int64_t now);

// IntrospectionCache: a bounded, least-recently-used map from a token to the outcome of its
// introspection. Entries are keyed by the SHA-256 digest of the token: the cache never holds a
// token, so a memory dump of it cannot be replayed. Each entry carries its own expiry time and is
// dropped when looked up at or after it. Thread-safe.
class IntrospectionCache {
 public:
  // `max_entries` 0 disables the cache (Insert does nothing).
  explicit IntrospectionCache(size_t max_entries);
  IntrospectionCache(const IntrospectionCache&) = delete;
  IntrospectionCache& operator=(const IntrospectionCache&) = delete;

  // Find returns the outcome cached for `token` when it is still fresh at `now` (now < expiry), and
  // marks it most recently used; nullopt otherwise.
  std::optional<Result<AccessTokenClaims>> Find(std::string_view token, int64_t now);

  // Insert caches `outcome` for `token` until `expires_at` (seconds since the epoch), replacing an
  // earlier entry for the same token. When the cache is full the least recently used entry goes.
  void Insert(std::string_view token, Result<AccessTokenClaims> outcome, int64_t expires_at);

  // Size returns the number of entries held, fresh or not yet found stale.
  size_t Size() const;

 private:
  struct Entry {
    std::string key;  // SHA-256 of the token
    int64_t expires_at = 0;
    Result<AccessTokenClaims> outcome;
  };
  using List = std::list<Entry>;

  const size_t max_entries_;
  mutable std::mutex mutex_;
  List entries_;  // most recently used first
  std::unordered_map<std::string, List::iterator> index_;
};

}  // namespace latchkey::validator
