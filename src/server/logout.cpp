// Logout: OpenID Connect RP-Initiated Logout 1.0 (the end_session_endpoint, /logout) and
// Back-Channel Logout 1.0 (a logout token POSTed to every client the session signed in to).

#include "oidc/logout.hpp"
#include "common/base64.hpp"
#include "http/cookie.hpp"
#include "server/audit.hpp"
#include "server/provider.hpp"
#include "server/revocation.hpp"
#include "server/web.hpp"

namespace latchkey::server {
namespace {

// The CSRF token of the confirmation page is bound to this context.
constexpr std::string_view kLogoutCsrfContext = "logout";

}  // namespace

std::unique_ptr<http::DeliveryQueue> Provider::NewBackchannelQueue() {
  metrics_.Describe("latchkey_backchannel_logout_total", "counter",
                    "Back-channel logout notifications, by outcome (delivered, failed, dropped, abandoned).");
  http::DeliveryOptions options;
  options.max_attempts = static_cast<int>(config_.backchannel_max_attempts);
  options.initial_delay = std::chrono::milliseconds(1000);
  // The queue's own log lines are replaced by one audit event per outcome.
  options.event_prefix.clear();
  options.on_outcome = [this](const http::DeliveryOutcome& outcome) {
    const std::string name(http::DeliveryOutcomeName(outcome.kind));
    metrics_.Increment("latchkey_backchannel_logout_total", {{"outcome", name}});
    boost::json::object fields = outcome.labels;
    fields["attempts"] = outcome.attempts;
    fields["status"] = outcome.status;
    if (!outcome.error.empty()) fields["error"] = outcome.error;
    common::LogAudit("backchannel_logout_" + name, std::move(fields));
  };
  return std::make_unique<http::DeliveryQueue>(std::move(options));
}

store::Result<int64_t> Provider::EndBrowserSession(const ActiveSession& session, const Snapshot& snapshot,
                                                   const http::Request& request) {
  const std::string& id_hash = session.session.id_hash;
  const int64_t now = clock_.NowSeconds();
  // The session's refresh tokens first, the session last: when either write fails the session is
  // still live, the person is told to retry (not shown "signed out"), and the retry does both.
  if (config_.logout_revoke_refresh_tokens) {
    auto grants =
        RevokeUserGrants(store_, session.user.user_id, "", id_hash, now, RevocationHorizon(snapshot));
    TokensRevoked();
    if (!grants) return grants.error();
  }
  if (auto revoked = store_.RevokeSession(id_hash); !revoked && revoked.error() != store::Error::kNotFound) {
    return revoked.error();
  }
  // Back-Channel Logout §2.7: every RP the session signed in to that registered a
  // backchannel_logout_uri gets a logout token naming the user and the session.
  int64_t notified = 0;
  auto clients = store_.ListSessionClients(id_hash);
  if (!clients) return 0;
  const std::string sid = SessionSid(id_hash);
  for (const auto& client_id : *clients) {
    auto it = snapshot.clients.find(client_id);
    if (it == snapshot.clients.end() || it->second.backchannel_logout_uri.empty()) continue;
    const store::ClientRecord& client = it->second;
    // Signed like the client's ID tokens, so it verifies with the key the client already uses.
    auto alg =
        jose::ParseAlg(client.id_token_signed_response_alg.empty() ? config_.id_token_alg
                                                                   : client.id_token_signed_response_alg);
    const jose::SigningKey* key = alg ? snapshot.keys.signing.Find(*alg) : nullptr;
    if (key == nullptr) continue;
    oidc::LogoutTokenInput input;
    input.issuer = config_.issuer;
    input.audience = client.client_id;
    input.subject = session.user.user_id;
    // §2.4: sid whenever the OP knows it (required by clients with
    // backchannel_logout_session_required, §2.2); every ID token of this session carried it.
    input.sid = sid;
    auto token = oidc::SignLogoutToken(input, *key, clock_, random_);
    if (!token) continue;
    http::OutboundRequest post;
    post.url = client.backchannel_logout_uri;
    post.body = oidc::LogoutRequestBody(*token);
    post.timeout = std::chrono::milliseconds(config_.backchannel_timeout_ms);
    if (backchannel_->Enqueue(std::move(post), {{"client_id", client.client_id},
                                                {"user_id", session.user.user_id},
                                                {"request_id", request.request_id}})) {
      ++notified;
    }
  }
  return notified;
}

http::Response Provider::EndSession(const http::Request& request) {
  std::vector<std::string> set_cookies;
  const auto page = [&](int status, std::string html) {
    http::Response r = http::Response::Html(status, std::move(html));
    r.SetHeader("Content-Security-Policy", PageCsp(""));
    AddCookies(r, set_cookies);
    return r;
  };
  const auto bad_request = [&](const std::string& why) {
    return ErrorPage(
        400, "This sign-out link is not valid",
        "The application that sent you here made a request that cannot be trusted. (" + why + ")",
        "invalid_request");
  };
  // RP-Initiated Logout §2: "The OP MUST support the use of the HTTP GET and POST methods".
  if (request.method == "POST" && !IsFormPost(request)) return bad_request("the request is not a form");
  auto params = oauth::ParseFormParams(request.method == "POST" ? request.body : request.query);
  if (!params) return bad_request(params.error().description);
  const oidc::EndSessionRequest req = oidc::EndSessionRequestFrom(*params);

  // The answer to our own confirmation page carries the decision and its CSRF token.
  const auto decision = params->Get("decision");
  if (decision) {
    auto cookie = http::CookieValue(request, CsrfCookieName(secure_cookies_));
    if (request.method != "POST" || !cookie ||
        !csrf_->Verify(*cookie, kLogoutCsrfContext, params->Get("csrf").value_or(""))) {
      Audit("csrf_rejected", request, {{"form", "logout"}});
      return ErrorPage(403, "This page has expired",
                       "For your security this form can only be used from the browser it was shown in.",
                       "invalid_csrf_token");
    }
  }

  auto snapshot = Current();
  std::optional<oidc::IdTokenHintClaims> hint;
  if (!req.id_token_hint.empty()) {
    // §2: an ID token this OP issued, expired or not; §4: a hint that fails is not used at all.
    if (auto jws = jose::VerifyJws(req.id_token_hint, snapshot->keys.public_jwks, policy_.allowed_algs)) {
      if (auto claims = oidc::IdTokenHintClaimsFrom(*jws, config_.issuer)) hint = std::move(*claims);
    }
  }
  auto read = CurrentSession(request);
  if (!read) {
    // The session could not be read, so it cannot be ended either: answering "signed out" (and
    // clearing the cookie) would leave it live in the store. The person tries again.
    return ErrorPage(503, "Sign-out is unavailable", "Please try again in a moment.",
                     "temporarily_unavailable");
  }
  const std::optional<ActiveSession>& session = *read;
  std::optional<oidc::CurrentSession> current;
  if (session) current = oidc::CurrentSession{session->user.user_id, SessionSid(session->session.id_hash)};
  const oauth::ClientLookup lookup = [&](std::string_view id) -> std::optional<store::ClientRecord> {
    auto it = snapshot->clients.find(std::string(id));
    if (it == snapshot->clients.end()) return std::nullopt;
    return it->second;
  };
  auto decided = oidc::DecideEndSession(req, hint, lookup, current);
  if (!decided) {
    metrics_.Increment("latchkey_oauth_errors_total", {{"endpoint", "logout"}, {"error", "invalid_request"}});
    return bad_request(decided.error().description);
  }
  const std::string client_name =
      decided->client
          ? (decided->client->client_name.empty() ? decided->client->client_id : decided->client->client_name)
          : "";

  if (session && decided->confirm && !decision) {
    // §2 and §6: a request that cannot be trusted is confirmed by the person first, so that a
    // third-party site cannot sign people out (a denial of service) by linking here.
    ui::LogoutConfirmView view;
    view.csrf = csrf_->TokenFor(CsrfCookie(request, set_cookies), kLogoutCsrfContext);
    view.client_name = client_name;
    view.username = session->user.username;
    const std::pair<const char*, const std::string*> carried[] = {
        {"id_token_hint", &req.id_token_hint},
        {"logout_hint", &req.logout_hint},
        {"client_id", &req.client_id},
        {"post_logout_redirect_uri", &req.post_logout_redirect_uri},
        {"state", &req.state},
        {"ui_locales", &req.ui_locales}};
    for (const auto& [name, value] : carried) {
      if (!value->empty()) view.fields.emplace_back(name, *value);
    }
    return page(200, ui::RenderLogoutConfirm(theme_, view));
  }
  if (decision && *decision == "stay") {
    return page(200, ui::RenderLoggedOut(theme_, {false, client_name}));
  }
  if (decision && *decision != "logout") return bad_request("decision must be logout or stay");

  if (session) {
    auto notified = EndBrowserSession(*session, *snapshot, request);
    if (!notified) {
      // The session (or its grants) could not be revoked: the cookie stays and the person retries.
      return ErrorPage(503, "Sign-out is unavailable", "Please try again in a moment.",
                       "temporarily_unavailable");
    }
    Audit("logout", request,
          {{"user_id", session->user.user_id},
           {"client_id", decided->client ? decided->client->client_id : ""},
           {"backchannel_notifications", *notified}});
  }
  // The browser forgets the session cookie either way.
  set_cookies.push_back(RenderCookie(SessionCookie(secure_cookies_), "", 0));
  if (decided->redirect_uri) {
    // §3: back to the RP's registered post_logout_redirect_uri, with its state.
    http::Response r;
    r.status = request.method == "POST" ? 303 : 302;
    r.SetHeader("Location", *decided->redirect_uri);
    AddCookies(r, set_cookies);
    return r;
  }
  return page(200, ui::RenderLoggedOut(theme_, {true, client_name}));
}

}  // namespace latchkey::server
