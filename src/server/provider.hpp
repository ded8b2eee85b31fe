#pragma once

// Provider: the composition of Latchkey's endpoints. Holds immutable snapshots of the clients and
// keys (reloaded when the store's revision changes, so admin commands take effect without a
// restart) and adapts HTTP requests to the pure protocol functions in oauth/ and oidc/.

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "common/random.hpp"
#include "common/result.hpp"
#include "http/delivery.hpp"
#include "http/router.hpp"
#include "identity/csrf.hpp"
#include "identity/password.hpp"
#include "identity/throttle.hpp"
#include "oauth/authorize.hpp"
#include "oauth/introspection.hpp"
#include "oauth/token.hpp"
#include "server/config.hpp"
#include "server/keys.hpp"
#include "server/token_cache.hpp"
#include "store/store.hpp"
#include "ui/pages.hpp"
#include "ui/theme.hpp"

namespace latchkey::server {

class Provider {
 public:
  // All references must outlive the provider. `config.issuer` must be final. `vault` seals and
  // opens the private signing keys.
  Provider(const Config& config, store::Store& store, const common::Clock& clock, common::Random& random,
           common::Metrics& metrics, const KeyVault& vault);

  // Load reads clients and keys from the store (sealing keys stored bare, adding missing keys,
  // taking due rotation steps). Error: a message.
  common::Result<void, std::string> Load();

  // MaintainKeys takes the signing-key rotation steps that are due (server/keys.hpp) and reloads
  // when it took one. Returns false when the store could not be reached.
  bool MaintainKeys();

  // KeyMaintenanceInterval: seconds between MaintainKeys calls, short against the publication
  // lead so that a due step is taken well within it.
  int64_t KeyMaintenanceInterval() const;

  // ReloadIfChanged re-reads clients and keys when the store's revision moved, and forgets the
  // token cache when its revocation revision moved. Returns false when the store could not be
  // reached (the old snapshot stays in use).
  bool ReloadIfChanged();

  // Register adds every endpoint to `router`.
  void Register(http::Router& router);

  // The endpoint adapters (public for tests).
  // TokenInline answers client_credentials requests (and malformed ones) on the network thread and
  // returns nullopt for the grants that need the store, which Token answers on the pool.
  std::optional<http::Response> TokenInline(const http::Request& request);
  http::Response Token(const http::Request& request);
  http::Response Authorize(const http::Request& request);
  http::Response Login(const http::Request& request);
  http::Response Consent(const http::Request& request);
  http::Response UserInfo(const http::Request& request);
  // IntrospectInline answers on the network thread what needs no store: malformed requests, a
  // caller that fails to authenticate, and tokens whose answer is in the token cache; nullopt sends
  // the request to Introspect on the pool.
  std::optional<http::Response> IntrospectInline(const http::Request& request);
  http::Response Introspect(const http::Request& request);
  http::Response Revoke(const http::Request& request);
  http::Response DeviceAuthorization(const http::Request& request);
  http::Response Device(const http::Request& request);
  http::Response EndSession(const http::Request& request);
  http::Response Stylesheet(const http::Request& request) const;
  http::Response Jwks(const http::Request& request) const;
  http::Response Discovery(const http::Request& request) const;
  http::Response Healthz(const http::Request& request) const;
  http::Response Readyz(const http::Request& request);
  http::Response MetricsText(const http::Request& request) const;

 private:
  struct Snapshot {
    std::unordered_map<std::string, store::ClientRecord> clients;
    KeySet keys;
    std::string jwks_json;
    std::string discovery_json;
  };

  // Interaction: a validated authorization request travelling through login and consent.
  struct Interaction {
    oauth::ClientAndRedirect who;
    oauth::AuthorizationRequest request;
    std::string raw;  // the request's form-encoded parameters (the pages' opaque `request` field)
    // device_user_code: set (canonical form) when the person signs in to approve a device (RFC 8628
    // §3.3) rather than for an authorization request; `raw` is then kDeviceInteractionPrefix + code.
    std::string device_user_code;
  };
  static constexpr std::string_view kDeviceInteractionPrefix = "device_user_code=";
  // DevicePagePath: the device page for a canonical user code ("/device?user_code=WDJB-MJHT").
  static std::string DevicePagePath(std::string_view user_code);
  // ActiveSession: a browser's live session and its user.
  struct ActiveSession {
    store::SessionRecord session;
    store::UserRecord user;
  };
  // Authenticated: a token request whose client is known and authenticated.
  struct AuthenticatedClient {
    oauth::TokenRequest request;
    store::ClientRecord client;
  };

  common::Result<std::shared_ptr<const Snapshot>, std::string> BuildSnapshot();
  RotationPolicy KeyRotationPolicy() const;
  std::shared_ptr<const Snapshot> Current() const;
  http::Response TokenError(const oauth::Error& error, std::string_view endpoint = "token");
  common::Result<AuthenticatedClient, http::Response> AuthenticateTokenRequest(const http::Request& request,
                                                                               const Snapshot& snapshot);
  oauth::Result<oauth::TokenResponse> CodeGrant(const AuthenticatedClient& auth, const Snapshot& snapshot,
                                                const http::Request& http_request);
  oauth::Result<oauth::TokenResponse> RefreshGrant(const AuthenticatedClient& auth, const Snapshot& snapshot,
                                                   const http::Request& http_request);
  oauth::Result<oauth::TokenResponse> DeviceGrant(const AuthenticatedClient& auth, const Snapshot& snapshot,
                                                  const http::Request& http_request);
  // UserGrant: what a person's tokens carry, and the grant (refresh family) they belong to.
  struct UserGrant {
    std::vector<std::string> scope;
    int64_t auth_time = 0;
    std::string amr, acr, nonce, session_id_hash;
    std::string family_id;
    std::string opaque_access_token;  // an opaque access token's value drawn beforehand, or ""
  };
  // UserTokens issues the access token and (for openid) the ID token of `grant`.
  oauth::Result<oauth::TokenResponse> UserTokens(const store::ClientRecord& client, const Snapshot& snapshot,
                                                 const store::UserRecord& user, const UserGrant& grant);
  // NewGrantTokens: UserTokens plus the first refresh token of the grant's family, when the client
  // gets refresh tokens (the authorization code and device code grants). The records of the refresh
  // token and of an opaque access token go to `records`, for the caller to store before it spends
  // the grant.
  oauth::Result<oauth::TokenResponse> NewGrantTokens(const store::ClientRecord& client,
                                                     const Snapshot& snapshot, const store::UserRecord& user,
                                                     const UserGrant& grant, store::GrantTokens& records);

  // Token lifecycle (tokens.cpp).
  // ResolveAccessToken returns the claims of an active access token of this server (JWT or opaque,
  // not expired, not revoked), nullopt for any other token; an error when the store failed.
  store::Result<std::optional<oauth::AccessTokenClaims>> ResolveAccessToken(const std::string& token,
                                                                            const Snapshot& snapshot);
  // Inspect finds `token` among access and refresh tokens (in the hint's order): its introspection
  // when active, nullopt when not.
  store::Result<std::optional<oauth::Introspection>> Inspect(const std::string& token,
                                                             std::optional<oauth::TokenKind> hint,
                                                             const Snapshot& snapshot);
  // IntrospectionCaller: the client an introspection request authenticates as (nullptr for a
  // bearer token, which Introspect resolves), or the response refusing it.
  common::Result<const store::ClientRecord*, http::Response> IntrospectionCaller(
      const oauth::TokenLookupRequest& request, const Snapshot& snapshot);
  // TokensRevoked: called after every revocation this node writes, so that no introspection
  // after it answers from what the token cache remembered before it.
  void TokensRevoked();
  // RevokeGrant revokes a refresh token family and denylists the access tokens issued from it;
  // returns how many refresh tokens were newly revoked.
  store::Result<int64_t> RevokeGrant(const std::string& family_id, const Snapshot& snapshot);
  // Logout (logout.cpp).
  std::unique_ptr<http::DeliveryQueue> NewBackchannelQueue();
  // EndBrowserSession revokes the session (and, as configured, its refresh tokens) and queues a
  // back-channel logout notification for each of its clients; returns how many were queued.
  // An error when the session or its refresh tokens could not be revoked (nothing is queued then).
  store::Result<int64_t> EndBrowserSession(const ActiveSession& session, const Snapshot& snapshot,
                                           const http::Request& request);
  // LongestAccessTokenLifetime: the server's access token lifetime or any client's, if longer.
  int64_t LongestAccessTokenLifetime(const Snapshot& snapshot) const;
  // RevocationHorizon: until when a denylist entry written now must be kept.
  int64_t RevocationHorizon(const Snapshot& snapshot) const;

  // The sign-in flow (signin.cpp).
  common::Result<Interaction, http::Response> StartInteraction(std::string raw, const Snapshot& snapshot);
  // CurrentSession: the browser's live session and its active user; nullopt when there is none (no
  // or malformed cookie, unknown, revoked or expired session, user gone or disabled). An error
  // (kUnavailable, kCorrupt) when the store could not be read: whether anyone is signed in is then
  // unknown, and callers answer temporarily_unavailable rather than treat the person as signed out.
  store::Result<std::optional<ActiveSession>> CurrentSession(const http::Request& request);
  http::Response Continue(const http::Request& http_request, const Interaction& interaction,
                          const std::optional<ActiveSession>& session, bool fresh_login, bool consented,
                          const Snapshot& snapshot, std::vector<std::string> set_cookies);
  http::Response IssueCode(const Interaction& interaction, const ActiveSession& session, int status);
  // RedirectToClient delivers an authorization response (RFC 6749 §4.1.2) to `redirect_uri`: a
  // redirect with `status` for response_mode query, an auto-posting page for form_post.
  http::Response RedirectToClient(std::string_view redirect_uri, std::string_view response_mode,
                                  const common::FormFields& fields, int status);
  http::Response ErrorRedirect(const Interaction& interaction, oauth::ErrorCode code, std::string description,
                               int status);
  std::optional<std::string> HintSubject(std::string_view id_token_hint, const Snapshot& snapshot) const;
  http::Response LoginPage(const http::Request& http_request, const Interaction& interaction, int status,
                           std::string message, std::vector<std::string> set_cookies,
                           std::string username = {});
  // FormPost: a sign-in page's POST whose CSRF token and authorization request checked out.
  struct FormPost {
    oauth::Params form;
    Interaction interaction;
    std::shared_ptr<const Snapshot> snapshot;
  };
  // ReadForm parses a sign-in page's POST (fields once each), verifies its CSRF token and restarts
  // its authorization request; or returns the page to answer instead.
  common::Result<FormPost, http::Response> ReadForm(const http::Request& request, std::string_view form_name);
  http::Response ConsentPage(const http::Request& http_request, const Interaction& interaction,
                             const ActiveSession& session, const Snapshot& snapshot,
                             std::vector<std::string> set_cookies);
  http::Response ErrorPage(int status, std::string title, std::string message, std::string error_code) const;
  // FillForm sets the csrf, request and client_name fields of a login or consent page's view.
  template <class View>
  void FillForm(const http::Request& http_request, const Interaction& interaction,
                std::vector<std::string>& set_cookies, View& view);
  // CsrfCookie returns the request's CSRF cookie value, or a new one with its Set-Cookie header.
  std::string CsrfCookie(const http::Request& request, std::vector<std::string>& set_cookies);
  std::string RenderCookie(std::string name, std::string value, int64_t max_age) const;

  const Config& config_;
  store::Store& store_;
  const common::Clock& clock_;
  common::Random& random_;
  common::Metrics& metrics_;
  const KeyVault& vault_;
  oauth::TokenPolicy policy_;
  oauth::AuthorizePolicy authorize_policy_;
  identity::PasswordParams password_params_;
  std::string dummy_password_hash_;  // verified for unknown users, so timing does not reveal them
  // Set by Load from the store's shared secrets, so every node and restart agrees on them.
  std::optional<identity::CsrfGuard> csrf_;
  std::string rotation_key_;
  identity::LoginThrottle account_throttle_;
  identity::LoginThrottle ip_throttle_;
  identity::LoginThrottle device_throttle_;  // wrong user codes per address (RFC 8628 §5.1)
  ui::Theme theme_;
  std::string stylesheet_;
  bool secure_cookies_ = false;

  mutable std::mutex snapshot_mutex_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::atomic<int64_t> revision_{-1};
  std::atomic<int64_t> revocation_revision_{-1};
  // The last reload that failed (ReloadIfChanged): warned about once, retried quietly.
  std::atomic<int64_t> reload_failing_since_{0};  // when reloads began to fail (epoch seconds); 0: they work
  std::mutex reload_failure_mutex_;
  int64_t failed_revision_ = -1;
  std::string failed_reason_;
  TokenCache token_cache_;
  // Back-channel logout deliveries (last: destroyed first, while what it reports to still exists).
  std::unique_ptr<http::DeliveryQueue> backchannel_;
};

}  // namespace latchkey::server
