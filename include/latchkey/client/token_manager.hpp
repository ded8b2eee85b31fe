#pragma once

// TokenManager keeps a person's tokens fresh; ClientCredentialsCache keeps a service's. Both hand
// out an access token that is valid for at least `refresh_margin_seconds` more, fetch a new one
// when needed, and make sure that when many threads ask at the same moment only one request goes
// to the provider (single flight): the others wait for its answer.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "latchkey/client/relying_party.hpp"

namespace latchkey::client {

struct TokenManagerOptions {
  int64_t refresh_margin_seconds = 60;  // refresh this long before the access token expires
};

// TokenManager: the tokens of one signed-in person (one session). Thread-safe.
class TokenManager {
 public:
  // `app` must outlive the manager. `tokens` usually comes from RelyingParty::CompleteAuthorization.
  TokenManager(RelyingParty& app, TokenSet tokens, TokenManagerOptions options = {});
  ~TokenManager();
  TokenManager(const TokenManager&) = delete;
  TokenManager& operator=(const TokenManager&) = delete;

  // AccessToken returns a token valid for at least the margin, refreshing (with rotation: the new
  // refresh token replaces the old one) when needed. kSignInRequired when there is no refresh
  // token or the provider refused it; the manager then stays signed out (every later call fails
  // the same way without asking the provider again).
  Result<std::string> AccessToken();

  // Tokens returns a copy of the current token set.
  TokenSet Tokens() const;

  // UserInfo calls the userinfo endpoint with a fresh access token, checking sub against the ID
  // token's (OIDC Core §5.3.4).
  Result<std::string> UserInfo();

  // SignOut revokes the refresh token (or the access token when there is none) at the provider
  // (RFC 7009) and forgets the tokens; later calls get kSignInRequired.
  Result<void> SignOut();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ClientCredentialsCache: a service's own tokens (RFC 6749 §4.4), one per distinct request (scope
// plus extra parameters such as RFC 8707 "resource" or an "audience"). Thread-safe.
class ClientCredentialsCache {
 public:
  // `app` must outlive the cache.
  explicit ClientCredentialsCache(RelyingParty& app, TokenManagerOptions options = {});
  ~ClientCredentialsCache();
  ClientCredentialsCache(const ClientCredentialsCache&) = delete;
  ClientCredentialsCache& operator=(const ClientCredentialsCache&) = delete;

  // AccessToken returns a cached token for (scope, extra) valid for at least the margin, or asks
  // the provider for a new one (single flight per key). Errors are not cached.
  Result<std::string> AccessToken(std::string_view scope = {},
                                  const std::vector<std::pair<std::string, std::string>>& extra = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace latchkey::client
