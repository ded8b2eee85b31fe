#include "server/provider.hpp"

#include <algorithm>

#include <boost/json/serialize.hpp>

#include "common/base64.hpp"
#include "common/log.hpp"
#include "oauth/client_registration.hpp"
#include "oidc/discovery.hpp"
#include "server/web.hpp"

namespace latchkey::server {
namespace {

int StatusFor(oauth::ErrorCode code) {
  switch (code) {
    case oauth::ErrorCode::kInvalidClient: return 401;
    case oauth::ErrorCode::kServerError: return 500;
    case oauth::ErrorCode::kTemporarilyUnavailable: return 503;
    default: return 400;
  }
}

}  // namespace

Provider::Provider(const Config& config, store::Store& store, const common::Clock& clock,
                   common::Random& random, common::Metrics& metrics, const KeyVault& vault)
    : config_(config),
      store_(store),
      clock_(clock),
      random_(random),
      metrics_(metrics),
      vault_(vault),
      account_throttle_(
          identity::ThrottlePolicy{config.login_account_free_failures, 1, config.login_max_lockout}, store),
      ip_throttle_(identity::ThrottlePolicy{config.login_ip_free_failures, 1, config.login_max_lockout},
                   store),
      device_throttle_(identity::ThrottlePolicy{config.device_free_failures, 1, config.login_max_lockout},
                       store),
      token_cache_(static_cast<std::size_t>(config.introspection_cache_size)) {
  policy_.issuer = config.issuer;
  policy_.audience = config.access_token_audience.empty() ? config.issuer : config.access_token_audience;
  policy_.access_token_lifetime = config.access_token_lifetime;
  policy_.access_token_alg = *jose::ParseAlg(config.access_token_alg);
  policy_.allowed_algs.clear();
  for (const auto& a : config.allowed_algs) policy_.allowed_algs.push_back(*jose::ParseAlg(a));
  authorize_policy_.allow_plain_pkce = config.pkce_allow_plain;
  authorize_policy_.require_pkce_for_confidential = config.pkce_required_for_all;
  password_params_ = PasswordParamsFor(config);
  // Timing equalisation for unknown users (OWASP Authentication Cheat Sheet): the same Argon2id
  // work is done whether or not the account exists.
  if (auto dummy =
          identity::HashPassword(common::Base64UrlEncode(random.Bytes(16)), password_params_, random)) {
    dummy_password_hash_ = std::move(*dummy);
  }
  theme_.product_name = config.ui_product_name;
  theme_.logo_url = config.ui_logo_url;
  theme_.primary_color = config.ui_primary_color;
  theme_.background_color = config.ui_background_color;
  theme_.surface_color = config.ui_surface_color;
  theme_.text_color = config.ui_text_color;
  stylesheet_ = ui::Stylesheet(theme_);
  secure_cookies_ = config.issuer.rfind("https://", 0) == 0;
  metrics_.Describe("latchkey_tokens_issued_total", "counter", "Tokens issued, by grant type.");
  backchannel_ = NewBackchannelQueue();
  metrics_.Describe("latchkey_oauth_errors_total", "counter",
                    "OAuth error responses, by endpoint and error code.");
  metrics_.Describe("latchkey_reload_failures_total", "counter",
                    "Failed attempts to load clients and signing keys after they changed in the store.");
}

common::Result<std::shared_ptr<const Provider::Snapshot>, std::string> Provider::BuildSnapshot() {
  auto snapshot = std::make_shared<Snapshot>();
  auto clients = store_.ListClients();
  if (!clients) return std::string("cannot list clients");
  for (auto& c : *clients) snapshot->clients.emplace(c.client_id, std::move(c));
  auto keys = LoadKeySet(store_, vault_);
  if (!keys) return keys.error();
  snapshot->keys = std::move(*keys);
  snapshot->jwks_json = jose::SerializeJwks(snapshot->keys.public_jwks);

  oidc::DiscoveryInput input;
  input.issuer = config_.issuer;
  input.grant_types = {"authorization_code", "refresh_token", "client_credentials",
                       std::string(oauth::kDeviceCodeGrantType)};
  input.token_endpoint_auth_methods = {"client_secret_basic", "client_secret_post", "none"};
  for (const auto& alg : policy_.allowed_algs) {
    if (snapshot->keys.signing.Find(alg) != nullptr) input.signing_algs.emplace_back(jose::AlgName(alg));
  }
  input.id_token_signing_algs = input.signing_algs;
  input.code_challenge_methods = {"S256"};
  if (config_.pkce_allow_plain) input.code_challenge_methods.emplace_back("plain");
  input.scopes = {"openid", "profile", "email", "phone", "address", "offline_access"};
  input.logout = true;
  snapshot->discovery_json = boost::json::serialize(oidc::BuildMetadata(input));
  return std::shared_ptr<const Snapshot>(std::move(snapshot));
}

common::Result<void, std::string> Provider::Load() {
  auto revision = store_.Revision();
  if (!revision) return std::string("cannot read the store");
  auto csrf_key = store_.EnsureSecret("csrf", random_.Bytes(32));
  auto rotation_key = store_.EnsureSecret("refresh_token_rotation", random_.Bytes(32));
  if (!csrf_key || !rotation_key || csrf_key->size() < 32 || rotation_key->size() < 32) {
    return std::string("cannot read the server secrets from the store");
  }
  csrf_.emplace(std::move(*csrf_key));
  rotation_key_ = std::move(*rotation_key);
  // Keys a database written before sealing holds as bare PEM are sealed now; keys sealed under a
  // previous KEK are left alone until `latchkey keys rewrap` (nodes not yet given the new KEK still
  // open them).
  if (auto sealed = ResealSigningKeys(store_, vault_, false); !sealed) return sealed.error();
  auto maintained = MaintainSigningKeys(store_, vault_, clock_, KeyRotationPolicy());
  if (!maintained) return maintained.error();
  revision = store_.Revision();
  auto snapshot = BuildSnapshot();
  if (!snapshot) return snapshot.error();
  {
    std::lock_guard lock(snapshot_mutex_);
    snapshot_ = std::move(*snapshot);
  }
  revision_.store(revision ? *revision : -1);
  if (auto revocations = store_.RevocationRevision()) revocation_revision_.store(*revocations);
  return {};
}

bool Provider::ReloadIfChanged() {
  // Revocations written by another node or an admin command: what the token cache remembers may
  // no longer be true (TokenCache).
  auto revocations = store_.RevocationRevision();
  if (!revocations) return false;
  if (revocation_revision_.exchange(*revocations) != *revocations) token_cache_.Forget();
  auto revision = store_.Revision();
  if (!revision) return false;
  if (*revision == revision_.load()) return true;
  auto snapshot = BuildSnapshot();
  if (!snapshot) {
    metrics_.Increment("latchkey_reload_failures_total", {});
    int64_t not_yet = 0;
    reload_failing_since_.compare_exchange_strong(not_yet, clock_.NowSeconds());
    // Retried at every poll (500 ms) until it works, but said once per revision and reason: a node
    // whose KEK cannot open a key another node stored would otherwise warn twice a second.
    std::lock_guard lock(reload_failure_mutex_);
    if (failed_revision_ != *revision || failed_reason_ != snapshot.error()) {
      common::LogWarn("reload failed", {{"reason", snapshot.error()}, {"revision", *revision}});
      failed_revision_ = *revision;
      failed_reason_ = snapshot.error();
    }
    return false;
  }
  {
    std::lock_guard lock(snapshot_mutex_);
    snapshot_ = std::move(*snapshot);
  }
  revision_.store(*revision);
  reload_failing_since_.store(0);
  common::LogInfo("configuration reloaded", {{"revision", *revision}});
  return true;
}

RotationPolicy Provider::KeyRotationPolicy() const {
  auto snapshot = Current();
  return RotationPolicyFor(config_, snapshot ? LongestAccessTokenLifetime(*snapshot) : 0);
}

bool Provider::MaintainKeys() {
  auto taken = MaintainSigningKeys(store_, vault_, clock_, KeyRotationPolicy());
  if (!taken) {
    common::LogWarn("signing key maintenance failed", {{"reason", taken.error()}});
    return false;
  }
  return taken->empty() || ReloadIfChanged();
}

int64_t Provider::KeyMaintenanceInterval() const {
  return std::clamp<int64_t>(config_.key_publication_lead / 10, 1, 60);
}

std::shared_ptr<const Provider::Snapshot> Provider::Current() const {
  std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

void Provider::Register(http::Router& router) {
  // Inline routes run on the network threads: in-memory work only.
  // The token endpoint answers client_credentials on the network thread and sends the grants that
  // read or write the store (authorization_code, refresh_token) to the handler pool.
  router.AddSplit(
      "/token", {"POST"}, [this](const http::Request& r) { return TokenInline(r); },
      [this](const http::Request& r) { return Token(r); });
  // The sign-in flow reads and writes sessions, codes and users, and hashes passwords: pool.
  router.Add("/authorize", {"GET", "POST"}, [this](const http::Request& r) { return Authorize(r); });
  router.Add("/login", {"POST"}, [this](const http::Request& r) { return Login(r); });
  router.Add("/consent", {"POST"}, [this](const http::Request& r) { return Consent(r); });
  router.Add("/userinfo", {"GET", "POST"}, [this](const http::Request& r) { return UserInfo(r); });
  // Introspection and revocation read the store (denylist, opaque tokens, refresh tokens): pool.
  // Introspection answers from the token cache on the network thread when it can.
  router.AddSplit(
      "/introspect", {"POST"}, [this](const http::Request& r) { return IntrospectInline(r); },
      [this](const http::Request& r) { return Introspect(r); });
  router.Add("/revoke", {"POST"}, [this](const http::Request& r) { return Revoke(r); });
  // RFC 8628: the device authorization endpoint and the page where people type the code.
  router.Add("/device_authorization", {"POST"},
             [this](const http::Request& r) { return DeviceAuthorization(r); });
  router.Add("/device", {"GET", "POST"}, [this](const http::Request& r) { return Device(r); });
  // RP-Initiated Logout 1.0 §2: the end_session_endpoint, GET and POST.
  router.Add("/logout", {"GET", "POST"}, [this](const http::Request& r) { return EndSession(r); });
  router.AddInline("/assets/latchkey.css", {"GET"}, [this](const http::Request& r) { return Stylesheet(r); });
  router.AddInline("/jwks", {"GET"}, [this](const http::Request& r) { return Jwks(r); });
  router.AddInline("/.well-known/openid-configuration", {"GET"},
                   [this](const http::Request& r) { return Discovery(r); });
  router.AddInline("/.well-known/oauth-authorization-server", {"GET"},
                   [this](const http::Request& r) { return Discovery(r); });
  router.AddInline("/healthz", {"GET"}, [this](const http::Request& r) { return Healthz(r); });
  router.AddInline("/metrics", {"GET"}, [this](const http::Request& r) { return MetricsText(r); });
  // Readiness asks the database, which may block: handler pool.
  router.Add("/readyz", {"GET"}, [this](const http::Request& r) { return Readyz(r); });
}

http::Response Provider::TokenError(const oauth::Error& error, std::string_view endpoint) {
  metrics_.Increment(
      "latchkey_oauth_errors_total",
      {{"endpoint", std::string(endpoint)}, {"error", std::string(oauth::ErrorCodeName(error.code))}});
  http::Response r = NoStoreJson(StatusFor(error.code), oauth::ErrorJson(error));
  if (error.code == oauth::ErrorCode::kInvalidClient) {
    // RFC 6749 §5.2: after HTTP authentication the server MUST answer 401 with WWW-Authenticate
    // matching the scheme the client used; RFC 9110 §15.5.2 requires the header on every 401.
    r.SetHeader("WWW-Authenticate", "Basic realm=\"latchkey\", charset=\"UTF-8\"");
  }
  return r;
}

common::Result<Provider::AuthenticatedClient, http::Response> Provider::AuthenticateTokenRequest(
    const http::Request& request, const Snapshot& snapshot) {
  auto parsed = oauth::ParseTokenRequest(TokenHttp(request));
  if (!parsed) return TokenError(parsed.error());

  auto it = snapshot.clients.find(parsed->credentials.client_id);
  // An unknown client and a wrong secret get the same answer: the response must not reveal which
  // client ids exist.
  if (it == snapshot.clients.end()) {
    return TokenError(oauth::MakeError(oauth::ErrorCode::kInvalidClient, "client authentication failed"));
  }
  if (auto auth = oauth::AuthenticateClient(parsed->credentials, it->second); !auth) {
    common::LogInfo("client authentication failed",
                    {{"request_id", request.request_id}, {"client_id", it->second.client_id}});
    return TokenError(auth.error());
  }
  return AuthenticatedClient{std::move(*parsed), it->second};
}

std::optional<http::Response> Provider::TokenInline(const http::Request& request) {
  // Only client_credentials is answered here: it signs in memory. The form is parsed again by
  // Token on the pool for the other grants; a malformed body is answered here as well.
  auto params = oauth::ParseFormParams(request.body);
  if (params) {
    auto grant = params->Get("grant_type");
    if (grant && *grant != "client_credentials") return std::nullopt;
    // An opaque access token is written to the store: pool.
    auto snapshot = Current();
    auto credentials = oauth::ExtractClientCredentials(request.Header("authorization"), *params);
    if (credentials) {
      auto it = snapshot->clients.find(credentials->client_id);
      if (it != snapshot->clients.end() && it->second.access_token_format == "opaque") return std::nullopt;
    }
  }
  return Token(request);
}

http::Response Provider::Token(const http::Request& request) {
  auto snapshot = Current();
  auto auth = AuthenticateTokenRequest(request, *snapshot);
  if (!auth) return auth.error();
  const std::string& grant_type = auth->request.grant_type;

  oauth::Result<oauth::TokenResponse> issued = oauth::MakeError(oauth::ErrorCode::kUnsupportedGrantType, "");
  if (grant_type == "client_credentials") {
    issued = oauth::ClientCredentialsGrant(auth->request, auth->client, policy_, snapshot->keys.signing,
                                           clock_, random_);
  } else if (grant_type == "authorization_code") {
    issued = CodeGrant(*auth, *snapshot, request);
  } else if (grant_type == "refresh_token") {
    issued = RefreshGrant(*auth, *snapshot, request);
  } else if (grant_type == oauth::kDeviceCodeGrantType) {
    issued = DeviceGrant(*auth, *snapshot, request);
  } else {
    issued = oauth::MakeError(oauth::ErrorCode::kUnsupportedGrantType, "grant_type is not supported");
  }
  if (!issued) {
    if (issued.error().code == oauth::ErrorCode::kServerError) {
      common::LogError("token issuance failed",
                       {{"request_id", request.request_id}, {"reason", issued.error().description}});
      return TokenError(oauth::MakeError(oauth::ErrorCode::kServerError, "internal error"));
    }
    return TokenError(issued.error());
  }
  // An opaque access token means nothing until its record is stored.
  if (issued->reference && !store_.CreateAccessToken(*issued->reference)) {
    return TokenError(
        oauth::MakeError(oauth::ErrorCode::kTemporarilyUnavailable, "the store is unavailable; retry later"));
  }
  metrics_.Increment("latchkey_tokens_issued_total", {{"grant_type", grant_type}});
  return NoStoreJson(200, oauth::TokenResponseJson(*issued));
}

http::Response Provider::Jwks(const http::Request&) const {
  http::Response r = http::Response::Json(200, Current()->jwks_json);
  r.SetHeader("Content-Type", "application/jwk-set+json");
  // Keys change rarely and new ones are published ahead of use: let clients cache briefly.
  r.SetHeader("Cache-Control", "public, max-age=300");
  return r;
}

http::Response Provider::Discovery(const http::Request&) const {
  http::Response r = http::Response::Json(200, Current()->discovery_json);
  r.SetHeader("Cache-Control", "public, max-age=300");
  return r;
}

http::Response Provider::Healthz(const http::Request&) const {
  return http::Response::Json(200, R"({"status":"ok"})");
}

http::Response Provider::Readyz(const http::Request&) {
  if (!store_.Revision())
    return http::Response::Json(503, R"({"status":"unavailable","store":"unreachable"})");
  // A node that cannot load what changed (most often a key sealed under a KEK it was not given)
  // still serves with what it has, so it stays ready: the same cause on every node (a record no
  // node can read) would otherwise take them all out at once. It says so here and in
  // latchkey_reload_failures_total, for a check or an alert that wants to act on it.
  if (const int64_t since = reload_failing_since_.load(); since != 0) {
    return http::Response::Json(
        200, boost::json::serialize(boost::json::object{
                 {"status", "ready"}, {"reload", "failing"}, {"reload_failing_since", since}}));
  }
  return http::Response::Json(200, R"({"status":"ready"})");
}

http::Response Provider::MetricsText(const http::Request&) const {
  return http::Response::Text(200, metrics_.Render(), "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace latchkey::server
