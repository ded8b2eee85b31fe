#include "server/provider.hpp"

#include <boost/json/serialize.hpp>

#include "common/log.hpp"
#include "oidc/discovery.hpp"

namespace latchkey::server {
namespace {

http::Response NoStoreJson(int status, std::string body) {
  http::Response r = http::Response::Json(status, std::move(body));
  // RFC 6749 §5.1: "Cache-Control: no-store" and "Pragma: no-cache" on token responses.
  r.SetHeader("Cache-Control", "no-store");
  r.SetHeader("Pragma", "no-cache");
  return r;
}

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
                   common::Random& random, common::Metrics& metrics)
    : config_(config), store_(store), clock_(clock), random_(random), metrics_(metrics) {
  policy_.issuer = config.issuer;
  policy_.audience = config.access_token_audience.empty() ? config.issuer : config.access_token_audience;
  policy_.access_token_lifetime = config.access_token_lifetime;
  policy_.access_token_alg = *jose::ParseAlg(config.access_token_alg);
  policy_.allowed_algs.clear();
  for (const auto& a : config.allowed_algs) policy_.allowed_algs.push_back(*jose::ParseAlg(a));
  metrics_.Describe("latchkey_tokens_issued_total", "counter", "Tokens issued, by grant type.");
  metrics_.Describe("latchkey_oauth_errors_total", "counter",
                    "OAuth error responses, by endpoint and error code.");
}

common::Result<std::shared_ptr<const Provider::Snapshot>, std::string> Provider::BuildSnapshot() {
  auto snapshot = std::make_shared<Snapshot>();
  auto clients = store_.ListClients();
  if (!clients) return std::string("cannot list clients");
  for (auto& c : *clients) snapshot->clients.emplace(c.client_id, std::move(c));
  auto keys = LoadKeySet(store_);
  if (!keys) return keys.error();
  snapshot->keys = std::move(*keys);
  snapshot->jwks_json = jose::SerializeJwks(snapshot->keys.public_jwks);

  oidc::DiscoveryInput input;
  input.issuer = config_.issuer;
  input.grant_types = {"client_credentials"};
  input.token_endpoint_auth_methods = {"client_secret_basic", "client_secret_post"};
  for (const auto& alg : policy_.allowed_algs) {
    if (snapshot->keys.signing.Find(alg) != nullptr) input.signing_algs.emplace_back(jose::AlgName(alg));
  }
  snapshot->discovery_json = boost::json::serialize(oidc::BuildMetadata(input));
  return std::shared_ptr<const Snapshot>(std::move(snapshot));
}

common::Result<void, std::string> Provider::Load() {
  auto revision = store_.Revision();
  if (!revision) return std::string("cannot read the store");
  auto ensured = EnsureSigningKeys(store_, clock_, config_.rsa_bits);
  if (!ensured) return ensured.error();
  revision = store_.Revision();
  auto snapshot = BuildSnapshot();
  if (!snapshot) return snapshot.error();
  {
    std::lock_guard lock(snapshot_mutex_);
    snapshot_ = std::move(*snapshot);
  }
  revision_.store(revision ? *revision : -1);
  return {};
}

bool Provider::ReloadIfChanged() {
  auto revision = store_.Revision();
  if (!revision) return false;
  if (*revision == revision_.load()) return true;
  auto snapshot = BuildSnapshot();
  if (!snapshot) {
    common::LogWarn("reload failed", {{"reason", snapshot.error()}});
    return false;
  }
  {
    std::lock_guard lock(snapshot_mutex_);
    snapshot_ = std::move(*snapshot);
  }
  revision_.store(*revision);
  common::LogInfo("configuration reloaded", {{"revision", *revision}});
  return true;
}

std::shared_ptr<const Provider::Snapshot> Provider::Current() const {
  std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

void Provider::Register(http::Router& router) {
  // Inline routes run on the network threads: in-memory work only. The token endpoint qualifies
  // while its only grant (client_credentials) signs without touching the database; grants that
  // read or write the store must run on the handler pool.
  router.AddInline("/token", {"POST"}, [this](const http::Request& r) { return Token(r); });
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

http::Response Provider::TokenError(const oauth::Error& error) {
  metrics_.Increment("latchkey_oauth_errors_total",
                     {{"endpoint", "token"}, {"error", std::string(oauth::ErrorCodeName(error.code))}});
  http::Response r = NoStoreJson(StatusFor(error.code), oauth::ErrorJson(error));
  if (error.code == oauth::ErrorCode::kInvalidClient) {
    // RFC 6749 §5.2: after HTTP authentication the server MUST answer 401 with WWW-Authenticate
    // matching the scheme the client used; RFC 9110 §15.5.2 requires the header on every 401.
    r.SetHeader("WWW-Authenticate", "Basic realm=\"latchkey\", charset=\"UTF-8\"");
  }
  return r;
}

http::Response Provider::Token(const http::Request& request) {
  oauth::TokenHttpRequest http_request;
  http_request.method = request.method;
  http_request.content_type = request.Header("content-type");
  http_request.authorization_count = request.HeaderCount("authorization");
  http_request.authorization = request.Header("authorization");
  http_request.body = request.body;

  auto parsed = oauth::ParseTokenRequest(http_request);
  if (!parsed) return TokenError(parsed.error());

  auto snapshot = Current();
  auto it = snapshot->clients.find(parsed->credentials.client_id);
  // An unknown client and a wrong secret get the same answer: the response must not reveal which
  // client ids exist.
  if (it == snapshot->clients.end()) {
    return TokenError(oauth::MakeError(oauth::ErrorCode::kInvalidClient, "client authentication failed"));
  }
  const store::ClientRecord& client = it->second;
  if (auto auth = oauth::AuthenticateClient(parsed->credentials, client); !auth) {
    common::LogInfo("client authentication failed",
                    {{"request_id", request.request_id}, {"client_id", client.client_id}});
    return TokenError(auth.error());
  }

  oauth::Result<oauth::TokenResponse> issued = oauth::MakeError(oauth::ErrorCode::kUnsupportedGrantType, "");
  if (parsed->grant_type == "client_credentials") {
    issued = oauth::ClientCredentialsGrant(*parsed, client, policy_, snapshot->keys.signing, clock_, random_);
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
  metrics_.Increment("latchkey_tokens_issued_total", {{"grant_type", parsed->grant_type}});
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
  return http::Response::Json(200, R"({"status":"ready"})");
}

http::Response Provider::MetricsText(const http::Request&) const {
  return http::Response::Text(200, metrics_.Render(), "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace latchkey::server
