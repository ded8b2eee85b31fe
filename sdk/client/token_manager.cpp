#include "latchkey/client/token_manager.hpp"

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>

#include "internal.hpp"

namespace latchkey::client {

namespace {

using internal::Fail;

bool Fresh(const TokenSet& tokens, int64_t now, int64_t margin) {
  // A token response without expires_in (RFC 6749 §5.1: RECOMMENDED, not required) gives no
  // lifetime: the token is used until the provider or the API refuses it.
  return !tokens.access_token.empty() && (tokens.expires_at == 0 || tokens.expires_at - margin > now);
}

// Flight: single-flight bookkeeping shared by both classes. One thread fetches; the others wait on
// `done` and take the fetcher's outcome (success or error) instead of asking again.
struct Flight {
  bool running = false;
  uint64_t generation = 0;  // incremented when a fetch ends
  std::optional<Error> last_error;
};

}  // namespace

struct TokenManager::Impl {
  Impl(RelyingParty& a, TokenSet t, TokenManagerOptions o) : app(a), tokens(std::move(t)), options(o) {}

  RelyingParty& app;
  mutable std::mutex mutex;
  std::condition_variable done;
  TokenSet tokens;
  TokenManagerOptions options;
  Flight flight;
  bool signed_out = false;

  Error SignInRequired() const { return Fail(ErrorCode::kSignInRequired, "the person has to sign in again"); }
};

TokenManager::TokenManager(RelyingParty& app, TokenSet tokens, TokenManagerOptions options)
    : impl_(std::make_unique<Impl>(app, std::move(tokens), options)) {}

TokenManager::~TokenManager() = default;

TokenSet TokenManager::Tokens() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->tokens;
}

Result<std::string> TokenManager::AccessToken() {
  Impl& m = *impl_;
  std::unique_lock lock(m.mutex);
  for (;;) {
    if (m.signed_out) return m.SignInRequired();
    const int64_t now = m.app.GetProvider().GetClock().NowSeconds();
    if (Fresh(m.tokens, now, m.options.refresh_margin_seconds)) return m.tokens.access_token;
    if (m.flight.running) {
      // Someone is refreshing: wait for that refresh and share its outcome.
      const uint64_t waited_for = m.flight.generation;
      m.done.wait(lock, [&] { return m.flight.generation != waited_for; });
      if (m.flight.last_error && !m.signed_out) return *m.flight.last_error;
      continue;
    }
    if (m.tokens.refresh_token.empty()) {
      m.signed_out = true;
      return m.SignInRequired();
    }
    m.flight.running = true;
    const std::string refresh_token = m.tokens.refresh_token;
    const std::optional<IdTokenClaims> previous = m.tokens.id_claims;
    lock.unlock();
    auto refreshed = m.app.Refresh(refresh_token, {}, previous);
    lock.lock();
    m.flight.running = false;
    ++m.flight.generation;
    m.flight.last_error.reset();
    if (refreshed) {
      // RFC 6749 §6: the provider MAY issue a new refresh token (rotation); keep the old one if not.
      if (refreshed->refresh_token.empty()) refreshed->refresh_token = refresh_token;
      if (refreshed->id_token.empty()) {
        refreshed->id_token = m.tokens.id_token;
        refreshed->id_claims = m.tokens.id_claims;
      }
      m.tokens = std::move(*refreshed);
    } else if (refreshed.error().code == ErrorCode::kSignInRequired) {
      m.signed_out = true;
      m.tokens = TokenSet();
    } else {
      m.flight.last_error = refreshed.error();
    }
    m.done.notify_all();
    if (!refreshed) return refreshed.error();
    return m.tokens.access_token;
  }
}

Result<std::string> TokenManager::UserInfo() {
  auto token = AccessToken();
  if (!token) return token.error();
  std::string sub;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->tokens.id_claims) sub = impl_->tokens.id_claims->sub;
  }
  return impl_->app.UserInfo(*token, sub);
}

Result<void> TokenManager::SignOut() {
  TokenSet tokens;
  {
    std::lock_guard lock(impl_->mutex);
    tokens = std::move(impl_->tokens);
    impl_->tokens = TokenSet();
    impl_->signed_out = true;
  }
  // RFC 7009 §2.1: revoking the refresh token lets the provider drop the whole grant.
  if (!tokens.refresh_token.empty())
    return impl_->app.Revoke(tokens.refresh_token, TokenTypeHint::kRefreshToken);
  if (!tokens.access_token.empty())
    return impl_->app.Revoke(tokens.access_token, TokenTypeHint::kAccessToken);
  return {};
}

struct ClientCredentialsCache::Impl {
  Impl(RelyingParty& a, TokenManagerOptions o) : app(a), options(o) {}

  struct Entry {
    TokenSet tokens;
    Flight flight;
  };

  RelyingParty& app;
  TokenManagerOptions options;
  std::mutex mutex;
  std::condition_variable done;
  std::map<std::string, Entry> entries;
};

ClientCredentialsCache::ClientCredentialsCache(RelyingParty& app, TokenManagerOptions options)
    : impl_(std::make_unique<Impl>(app, options)) {}

ClientCredentialsCache::~ClientCredentialsCache() = default;

Result<std::string> ClientCredentialsCache::AccessToken(
    std::string_view scope, const std::vector<std::pair<std::string, std::string>>& extra) {
  Impl& c = *impl_;
  // The key names the request exactly: scope and every extra parameter, NUL-separated.
  std::string key(scope);
  for (const auto& [name, value] : extra) key += std::string(1, '\0') + name + '=' + value;
  std::unique_lock lock(c.mutex);
  Impl::Entry& entry = c.entries[key];  // std::map: references stay valid while others insert
  for (;;) {
    const int64_t now = c.app.GetProvider().GetClock().NowSeconds();
    if (Fresh(entry.tokens, now, c.options.refresh_margin_seconds)) return entry.tokens.access_token;
    if (entry.flight.running) {
      const uint64_t waited_for = entry.flight.generation;
      c.done.wait(lock, [&] { return entry.flight.generation != waited_for; });
      if (entry.flight.last_error) return *entry.flight.last_error;
      continue;
    }
    entry.flight.running = true;
    lock.unlock();
    auto issued = c.app.ClientCredentials(scope, extra);
    lock.lock();
    entry.flight.running = false;
    ++entry.flight.generation;
    entry.flight.last_error.reset();
    if (issued) {
      entry.tokens = std::move(*issued);
    } else {
      entry.flight.last_error = issued.error();  // shared with the waiters, not cached beyond them
    }
    c.done.notify_all();
    if (!issued) return issued.error();
    return entry.tokens.access_token;
  }
}

}  // namespace latchkey::client
