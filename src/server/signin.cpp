// The sign-in flow: the authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2), the login and
// consent pages, and browser sessions. The protocol decisions are oauth/authorize.hpp's; this file
// adds the person: who is signed in, whether they agreed, and what the browser is shown.

#include <algorithm>

#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>

#include "common/base64.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "crypto/digest.hpp"
#include "http/cookie.hpp"
#include "identity/users.hpp"
#include "oauth/device.hpp"
#include "oauth/interaction.hpp"
#include "server/audit.hpp"
#include "server/provider.hpp"
#include "server/web.hpp"

namespace latchkey::server {
namespace {

bool Contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

http::Response Provider::ErrorPage(int status, std::string title, std::string message,
                                   std::string error_code) const {
  return http::Response::Html(
      status, ui::RenderError(theme_, {std::move(title), std::move(message), std::move(error_code)}));
}

http::Response Provider::Stylesheet(const http::Request&) const {
  http::Response r = http::Response::Text(200, stylesheet_, "text/css; charset=utf-8");
  r.SetHeader("Cache-Control", "public, max-age=3600");
  return r;
}

std::string Provider::RenderCookie(std::string name, std::string value, int64_t max_age) const {
  http::SetCookie cookie;
  cookie.name = std::move(name);
  cookie.value = std::move(value);
  cookie.max_age = max_age;
  cookie.secure = secure_cookies_;
  cookie.http_only = true;
  cookie.same_site = "Lax";
  return http::Render(cookie);
}

std::string Provider::CsrfCookie(const http::Request& request, std::vector<std::string>& set_cookies) {
  // Reuse the browser's CSRF cookie when it is one of ours (43 base64url characters, 32 bytes), so
  // several tabs share it; anything else is replaced.
  if (auto existing = http::CookieValue(request, CsrfCookieName(secure_cookies_));
      existing && existing->size() == 43) {
    if (auto decoded = common::Base64UrlDecode(*existing); decoded && decoded->size() == 32) return *existing;
  }
  std::string value = csrf_->NewCookieValue(random_);
  set_cookies.push_back(RenderCookie(CsrfCookieName(secure_cookies_), value, -1));
  return value;
}

common::Result<Provider::Interaction, http::Response> Provider::StartInteraction(std::string raw,
                                                                                 const Snapshot& snapshot) {
  auto lookup = [&](std::string_view id) -> std::optional<store::ClientRecord> {
    auto it = snapshot.clients.find(std::string(id));
    if (it == snapshot.clients.end()) return std::nullopt;
    return it->second;
  };
  auto bad_link = [&](const oauth::Error& error) {
    return ErrorPage(400, "This sign-in link is not valid",
                     "The application that sent you here is not registered, or asked to send you back to an "
                     "address it has not registered. Go back to the application and try again. (" +
                         error.description + ")",
                     std::string(oauth::ErrorCodeName(error.code)));
  };
  if (raw.starts_with(kDeviceInteractionPrefix)) {
    // Signing in to approve a device: the request is the user code, not an authorization request.
    auto code = oauth::NormalizeUserCode(std::string_view(raw).substr(kDeviceInteractionPrefix.size()));
    if (!code)
      return bad_link(oauth::MakeError(oauth::ErrorCode::kInvalidRequest, "the device code is not valid"));
    Interaction interaction;
    interaction.raw = std::move(raw);
    interaction.device_user_code = *code;
    interaction.who.client.client_name = "your device";
    if (auto device = store_.GetDeviceCodeByUserCode(crypto::Sha256(*code))) {
      if (auto client = lookup(device->client_id)) interaction.who.client = std::move(*client);
    }
    return interaction;
  }
  auto fields = common::ParseForm(raw);
  if (!fields) {
    return bad_link(
        oauth::MakeError(oauth::ErrorCode::kInvalidRequest, "the request is not correctly encoded"));
  }
  auto params = oauth::Params::FromFields(*fields);
  if (!params) {
    // A repeated parameter (RFC 6749 §3.1). When the client and redirect URI are still
    // unambiguous the error goes back to the client; otherwise it is shown here.
    common::FormFields unique;
    for (const char* name : {"client_id", "redirect_uri", "scope", "state", "response_mode"}) {
      auto n = std::count_if(fields->begin(), fields->end(), [&](const auto& f) { return f.first == name; });
      if (n != 1) continue;
      auto it = std::find_if(fields->begin(), fields->end(), [&](const auto& f) { return f.first == name; });
      unique.push_back(*it);
    }
    auto partial = oauth::Params::FromFields(unique);
    if (!partial) return bad_link(params.error());
    auto who = oauth::IdentifyClient(*partial, lookup);
    if (!who) return bad_link(params.error());
    auto state = partial->Get("state");
    return RedirectToClient(who->redirect_uri, oauth::ErrorResponseMode(*partial),
                            oauth::ErrorResponseFields(params.error(), state.value_or(""), config_.issuer),
                            302);
  }
  auto who = oauth::IdentifyClient(*params, lookup);
  if (!who) return bad_link(who.error());
  auto request = oauth::ParseAuthorizationRequest(*params, *who, authorize_policy_);
  if (!request) {
    metrics_.Increment(
        "latchkey_oauth_errors_total",
        {{"endpoint", "authorize"}, {"error", std::string(oauth::ErrorCodeName(request.error().code))}});
    auto state = params->Get("state");
    return RedirectToClient(who->redirect_uri, oauth::ErrorResponseMode(*params),
                            oauth::ErrorResponseFields(request.error(), state.value_or(""), config_.issuer),
                            302);
  }
  return Interaction{std::move(*who), std::move(*request), std::move(raw)};
}

store::Result<std::optional<Provider::ActiveSession>> Provider::CurrentSession(const http::Request& request) {
  using NoSession = std::optional<ActiveSession>;
  auto cookie = http::CookieValue(request, SessionCookie(secure_cookies_));
  if (!cookie || cookie->empty() || cookie->size() > kMaxCookieValue) return NoSession();
  const std::string id_hash = crypto::Sha256(*cookie);
  // Only an answer from the store that there is no such session (or user) signs the browser out. A
  // store that could not be read says nothing about it: taken as "signed out", it would send a
  // signed-in person to the login page and answer prompt=none with login_required.
  // The session and its user in one read (one round trip on PostgreSQL); a session whose user is
  // gone is gone too (deleting a user deletes their sessions).
  auto read = store_.GetSessionWithUser(id_hash);
  if (!read) {
    if (read.error() == store::Error::kNotFound) return NoSession();
    return read.error();
  }
  store::SessionRecord& session = read->session;
  if (session.revoked) return NoSession();
  const int64_t now = clock_.NowSeconds();
  if (now >= session.created_at + config_.session_absolute_lifetime) return NoSession();
  if (now >= session.last_seen_at + config_.session_idle_lifetime) return NoSession();
  if (read->user.status != "active") return NoSession();
  // The idle clock moves at most once a minute: one write per minute of activity, not per request.
  // A failed touch is not an error: the session was read, and the next request tries again.
  if (now - session.last_seen_at >= 60 && store_.TouchSession(id_hash, now)) session.last_seen_at = now;
  return NoSession(ActiveSession{std::move(session), std::move(read->user)});
}

std::optional<std::string> Provider::HintSubject(std::string_view id_token_hint,
                                                 const Snapshot& snapshot) const {
  // OIDC Core §3.1.2.1: an ID Token this server issued, possibly expired; only its subject is used.
  auto jws = jose::VerifyJws(id_token_hint, snapshot.keys.public_jwks, policy_.allowed_algs);
  if (!jws) return std::nullopt;
  boost::system::error_code ec;
  auto payload = boost::json::parse(jws->payload, ec);
  if (ec || !payload.is_object()) return std::nullopt;
  const auto& claims = payload.as_object();
  const auto* iss = claims.if_contains("iss");
  const auto* sub = claims.if_contains("sub");
  if (iss == nullptr || !iss->is_string() || iss->as_string() != config_.issuer) return std::nullopt;
  if (sub == nullptr || !sub->is_string()) return std::nullopt;
  return std::string(sub->as_string());
}

http::Response Provider::RedirectToClient(std::string_view redirect_uri, std::string_view response_mode,
                                          const common::FormFields& fields, int status) {
  if (response_mode == "form_post") {
    // OAuth 2.0 Form Post Response Mode §2: an HTML form that posts the fields to the client.
    ui::FormPostView view;
    view.action = std::string(redirect_uri);
    view.fields = fields;
    view.script_nonce = common::Base64UrlEncode(random_.Bytes(16));
    http::Response r = http::Response::Html(200, ui::RenderFormPost(theme_, view));
    r.SetHeader("Content-Security-Policy", PageCsp(redirect_uri, view.script_nonce));
    return r;
  }
  http::Response r;
  r.status = status;
  r.SetHeader("Location", oauth::BuildRedirect(redirect_uri, fields));
  return r;
}

http::Response Provider::ErrorRedirect(const Interaction& interaction, oauth::ErrorCode code,
                                       std::string description, int status) {
  metrics_.Increment("latchkey_oauth_errors_total",
                     {{"endpoint", "authorize"}, {"error", std::string(oauth::ErrorCodeName(code))}});
  return RedirectToClient(interaction.request.redirect_uri, interaction.request.response_mode,
                          oauth::ErrorResponseFields(oauth::MakeError(code, std::move(description)),
                                                     interaction.request.state, config_.issuer),
                          status);
}

template <class View>
void Provider::FillForm(const http::Request& http_request, const Interaction& interaction,
                        std::vector<std::string>& set_cookies, View& view) {
  // The fields both forms carry: the CSRF token bound to this request, the request itself, and
  // who is asking.
  view.csrf = csrf_->TokenFor(CsrfCookie(http_request, set_cookies), interaction.raw);
  view.request = interaction.raw;
  const auto& client = interaction.who.client;
  view.client_name = client.client_name.empty() ? client.client_id : client.client_name;
}

http::Response Provider::LoginPage(const http::Request& http_request, const Interaction& interaction,
                                   int status, std::string message, std::vector<std::string> set_cookies,
                                   std::string username) {
  ui::LoginView view;
  FillForm(http_request, interaction, set_cookies, view);
  view.username = username.empty() ? interaction.request.login_hint : username;
  view.message = std::move(message);
  view.locked_out = status == 429;
  http::Response r = http::Response::Html(status, ui::RenderLogin(theme_, view));
  r.SetHeader("Content-Security-Policy", PageCsp(interaction.request.redirect_uri));
  AddCookies(r, set_cookies);
  return r;
}

http::Response Provider::ConsentPage(const http::Request& http_request, const Interaction& interaction,
                                     const ActiveSession& session, const Snapshot&,
                                     std::vector<std::string> set_cookies) {
  ui::ConsentView view;
  FillForm(http_request, interaction, set_cookies, view);
  view.username = session.user.username;
  view.scopes = interaction.request.scope;
  http::Response r = http::Response::Html(200, ui::RenderConsent(theme_, view));
  r.SetHeader("Content-Security-Policy", PageCsp(interaction.request.redirect_uri));
  AddCookies(r, set_cookies);
  return r;
}

http::Response Provider::IssueCode(const Interaction& interaction, const ActiveSession& session, int status) {
  const auto& req = interaction.request;
  const int64_t now = clock_.NowSeconds();
  std::string code = common::Base64UrlEncode(random_.Bytes(32));
  store::AuthorizationCodeRecord record;
  record.code_hash = crypto::Sha256(code);
  record.client_id = req.client_id;
  record.user_id = session.user.user_id;
  record.session_id_hash = session.session.id_hash;
  record.redirect_uri = req.redirect_uri;
  record.redirect_uri_sent = req.redirect_uri_sent;
  record.scope = common::Join(req.scope, " ");
  record.nonce = req.nonce;
  record.code_challenge = req.code_challenge;
  if (!req.code_challenge.empty()) {
    record.code_challenge_method = req.code_challenge_method == oauth::PkceMethod::kPlain ? "plain" : "S256";
  }
  record.auth_time = session.session.auth_time;
  record.amr = session.session.amr;
  record.acr = session.session.acr;
  record.created_at = now;
  record.expires_at = now + config_.code_lifetime;
  // The session signs in to this client: logout will notify it (Back-Channel Logout §2.7).
  if (!store_.CreateCodeForSession(record)) {
    return ErrorRedirect(interaction, oauth::ErrorCode::kTemporarilyUnavailable, "please try again", status);
  }
  metrics_.Increment("latchkey_authorization_codes_issued_total", {});
  return RedirectToClient(req.redirect_uri, req.response_mode,
                          oauth::SuccessResponseFields(code, req.state, config_.issuer), status);
}

http::Response Provider::Continue(const http::Request& http_request, const Interaction& interaction,
                                  const std::optional<ActiveSession>& session, bool fresh_login,
                                  bool consented, const Snapshot& snapshot,
                                  std::vector<std::string> set_cookies) {
  const auto& req = interaction.request;
  const int status = (fresh_login || consented) ? 303 : 302;  // RFC 9110 §15.4.4: GET after a POST
  auto finish = [&](http::Response r) {
    AddCookies(r, set_cookies);
    return r;
  };
  if (!interaction.device_user_code.empty()) {
    // A sign-in on the way to approving a device (RFC 8628 §3.3): back to the device page.
    http::Response r;
    r.status = 303;
    r.SetHeader("Location", DevicePagePath(interaction.device_user_code));
    return finish(std::move(r));
  }

  oauth::InteractionState state;
  state.fresh_login = fresh_login;
  state.consented = consented;
  state.now = clock_.NowSeconds();
  if (session) state.session = oauth::SessionFacts{session->user.user_id, session->session.auth_time};
  if (!req.id_token_hint.empty()) {
    state.hint_subject = HintSubject(req.id_token_hint, snapshot);
    if (!state.hint_subject) {
      return finish(ErrorRedirect(interaction, oauth::ErrorCode::kInvalidRequest,
                                  "id_token_hint is not valid", status));
    }
  }
  bool store_failed = false;
  auto consent_covers = [&] {
    auto stored = store_.GetConsent(session->user.user_id, req.client_id);
    if (!stored) {
      store_failed = stored.error() != store::Error::kNotFound;
      return false;
    }
    auto approved = common::SplitSpaces(stored->scope);
    return std::all_of(req.scope.begin(), req.scope.end(),
                       [&](const std::string& s) { return Contains(approved, s); });
  };
  const oauth::NextStep next = oauth::DecideNextStep(req, state, consent_covers);
  if (store_failed) {
    return finish(
        ErrorRedirect(interaction, oauth::ErrorCode::kTemporarilyUnavailable, "please try again", status));
  }
  switch (next) {
    case oauth::NextStep::kShowLogin:
      return LoginPage(http_request, interaction, 200, "", std::move(set_cookies));
    case oauth::NextStep::kShowConsent:
      return ConsentPage(http_request, interaction, *session, snapshot, std::move(set_cookies));
    case oauth::NextStep::kLoginRequired:
      return finish(
          ErrorRedirect(interaction, oauth::ErrorCode::kLoginRequired, "the user is not signed in", status));
    case oauth::NextStep::kConsentRequired:
      return finish(ErrorRedirect(interaction, oauth::ErrorCode::kConsentRequired,
                                  "the user has not approved", status));
    case oauth::NextStep::kIssueCode: break;
  }
  return finish(IssueCode(interaction, *session, status));
}

http::Response Provider::Authorize(const http::Request& request) {
  // RFC 6749 §3.1: GET must be supported, POST may be; OIDC Core §3.1.2.1: both, POST form-encoded.
  if (request.method == "POST" && !IsFormPost(request)) {
    return ErrorPage(400, "This sign-in link is not valid", "The request is not a form submission.",
                     "invalid_request");
  }
  auto snapshot = Current();
  auto interaction = StartInteraction(request.method == "POST" ? request.body : request.query, *snapshot);
  if (!interaction) return interaction.error();
  auto session = CurrentSession(request);
  if (!session) {
    // Whether the person is signed in is unknown while the store cannot be read: neither the login
    // page nor login_required (prompt=none) is the answer. RFC 6749 §4.1.2.1: temporarily_unavailable,
    // to the redirect URI StartInteraction validated; a device sign-in has none, so a page.
    if (!interaction->device_user_code.empty()) {
      return ErrorPage(503, "Sign-in is unavailable", "Please try again in a moment.",
                       "temporarily_unavailable");
    }
    return ErrorRedirect(*interaction, oauth::ErrorCode::kTemporarilyUnavailable, "please try again", 302);
  }
  return Continue(request, *interaction, *session, false, false, *snapshot, {});
}

common::Result<Provider::FormPost, http::Response> Provider::ReadForm(const http::Request& request,
                                                                      std::string_view form_name) {
  auto unreadable = [&] {
    return ErrorPage(400, "Something went wrong", "The form could not be read. Go back and try again.",
                     "invalid_request");
  };
  if (!IsFormPost(request)) return unreadable();
  auto params = oauth::ParseFormParams(request.body);
  if (!params || !params->Has("request")) return unreadable();
  const std::string raw(*params->Get("request"));
  // OWASP CSRF Prevention: the signed double-submit token, bound to the authorization request.
  auto csrf_cookie = http::CookieValue(request, CsrfCookieName(secure_cookies_));
  if (!csrf_cookie || !csrf_->Verify(*csrf_cookie, raw, params->Get("csrf").value_or(""))) {
    Audit("csrf_rejected", request, {{"form", form_name}});
    return ErrorPage(403, "This page has expired",
                     "For your security this form can only be used from the browser it was shown in. Go back "
                     "to the application and start again.",
                     "invalid_csrf_token");
  }
  auto snapshot = Current();
  auto interaction = StartInteraction(raw, *snapshot);
  if (!interaction) return interaction.error();
  return FormPost{std::move(*params), std::move(*interaction), std::move(snapshot)};
}

http::Response Provider::Login(const http::Request& request) {
  auto post = ReadForm(request, "login");
  if (!post) return post.error();
  const oauth::Params& form = post->form;
  const Interaction* interaction = &post->interaction;
  const Snapshot* snapshot = post->snapshot.get();

  const std::string typed_username(form.Get("username").value_or(""));
  const std::string username = identity::NormalizeUsername(typed_username);
  const std::string password(form.Get("password").value_or(""));
  const std::string account_key = "user:" + username;
  const std::string ip_key = "ip:" + request.remote_address;
  const int64_t now = clock_.NowSeconds();

  // Per-account and per-address backoff (OWASP Authentication Cheat Sheet; NIST SP 800-63B §5.2.2),
  // counted in the store so that every node counts the same failures. Without the counts no
  // attempt is let through: it could not be counted either.
  const auto unavailable = [&] {
    return ErrorPage(503, "Sign-in is unavailable", "Please try again in a moment.",
                     "temporarily_unavailable");
  };
  auto account_wait = account_throttle_.RetryAfter(account_key, now);
  auto ip_wait = ip_throttle_.RetryAfter(ip_key, now);
  if (!account_wait || !ip_wait) return unavailable();
  if (int64_t wait = std::max(*account_wait, *ip_wait); wait > 0) {
    Audit("login_throttled", request, {{"username", username}, {"retry_after", wait}});
    http::Response r = LoginPage(
        request, *interaction, 429,
        "Too many failed sign-in attempts. Wait " + std::to_string(wait) + " seconds, then try again.", {},
        typed_username);
    r.SetHeader("Retry-After", std::to_string(wait));
    return r;
  }

  auto user = store_.GetUserByUsername(username);
  if (!user && user.error() != store::Error::kNotFound) return unavailable();
  bool ok = false;
  std::string reason = "wrong_password";
  if (user && user->status == "active" && !user->password_hash.empty()) {
    ok = identity::VerifyPassword(password, user->password_hash);
  } else {
    // Same Argon2id work for unknown, disabled and password-less accounts: the answer's timing
    // must not reveal which accounts exist.
    identity::VerifyPassword(password, dummy_password_hash_);
    reason = !user ? "unknown_user" : (user->status != "active" ? "disabled" : "no_password");
  }
  if (!ok) {
    auto account_locks = account_throttle_.RecordFailure(account_key, now);
    auto ip_locks = ip_throttle_.RecordFailure(ip_key, now);
    Audit("login_failed", request,
          {{"username", username},
           {"reason", reason},
           {"client_id", interaction->request.client_id},
           {"retry_after", std::max(account_locks ? *account_locks : 0, ip_locks ? *ip_locks : 0)}});
    if (!account_locks || !ip_locks) return unavailable();
    // One message for every failure (OWASP): it must not tell which part was wrong.
    return LoginPage(request, *interaction, 401, "Incorrect username or password.", {}, typed_username);
  }
  // A failure to forget only leaves the account's earlier failures counted until they expire.
  (void)account_throttle_.RecordSuccess(account_key);

  // Parameters raised since the hash was made: upgrade it now that the password is known.
  if (identity::NeedsRehash(user->password_hash, password_params_)) {
    if (auto rehashed = identity::HashPassword(password, password_params_, random_)) {
      store::UserRecord updated = *user;
      updated.password_hash = std::move(*rehashed);
      if (store_.UpdateUser(updated)) {
        *user = std::move(updated);
        Audit("password_rehashed", request, {{"user_id", user->user_id}});
      }
    }
  }

  // A new session id at every sign-in (OWASP Session Management: no fixation); the old one ends.
  if (auto old = http::CookieValue(request, SessionCookie(secure_cookies_));
      old && !old->empty() && old->size() <= kMaxCookieValue) {
    (void)store_.RevokeSession(crypto::Sha256(*old));
  }
  std::string session_value = common::Base64UrlEncode(random_.Bytes(32));
  store::SessionRecord session;
  session.id_hash = crypto::Sha256(session_value);
  session.user_id = user->user_id;
  session.created_at = now;
  session.last_seen_at = now;
  session.auth_time = now;
  session.amr = "pwd";  // RFC 8176 §2
  session.acr = "1";
  if (!store_.CreateSession(session)) {
    return ErrorPage(503, "Sign-in is unavailable", "Please try again in a moment.",
                     "temporarily_unavailable");
  }
  Audit("login_succeeded", request,
        {{"user_id", user->user_id}, {"client_id", interaction->request.client_id}});
  std::vector<std::string> set_cookies = {RenderCookie(SessionCookie(secure_cookies_), session_value, -1)};
  return Continue(request, *interaction, ActiveSession{std::move(session), std::move(*user)}, true, false,
                  *snapshot, std::move(set_cookies));
}

http::Response Provider::Consent(const http::Request& request) {
  auto post = ReadForm(request, "consent");
  if (!post) return post.error();
  const oauth::Params& form = post->form;
  const Interaction* interaction = &post->interaction;
  const Snapshot* snapshot = post->snapshot.get();
  auto current = CurrentSession(request);
  if (!current) {
    // The session could not be read: it has not ended, so the person is not asked to sign in again.
    return ErrorPage(503, "Sign-in is unavailable", "Please try again in a moment.",
                     "temporarily_unavailable");
  }
  const std::optional<ActiveSession>& session = *current;
  if (!session) return LoginPage(request, *interaction, 200, "Your session has ended. Sign in again.", {});

  auto decision = form.Get("decision");
  if (decision == "deny") {
    Audit("consent_denied", request,
          {{"user_id", session->user.user_id}, {"client_id", interaction->request.client_id}});
    // RFC 6749 §4.1.2.1: access_denied.
    return ErrorRedirect(*interaction, oauth::ErrorCode::kAccessDenied, "the user denied the request", 303);
  }
  if (decision != "allow") {
    return ErrorPage(400, "Something went wrong", "The form could not be read. Go back and try again.",
                     "invalid_request");
  }
  // Remember the approval (OIDC Core §3.1.2.4), adding to what was approved before.
  const int64_t now = clock_.NowSeconds();
  store::ConsentRecord consent;
  consent.user_id = session->user.user_id;
  consent.client_id = interaction->request.client_id;
  std::vector<std::string> scopes = interaction->request.scope;
  auto existing = store_.GetConsent(consent.user_id, consent.client_id);
  if (existing) {
    for (auto& s : common::SplitSpaces(existing->scope)) {
      if (!Contains(scopes, s)) scopes.push_back(std::move(s));
    }
    consent.created_at = existing->created_at;
  } else if (existing.error() == store::Error::kNotFound) {
    consent.created_at = now;
  } else {
    // Unreadable is not "none": writing now would drop what was approved before.
    return ErrorRedirect(*interaction, oauth::ErrorCode::kTemporarilyUnavailable, "please try again", 303);
  }
  consent.scope = common::Join(scopes, " ");
  consent.updated_at = now;
  if (!store_.PutConsent(consent)) {
    return ErrorRedirect(*interaction, oauth::ErrorCode::kTemporarilyUnavailable, "please try again", 303);
  }
  Audit("consent_granted", request,
        {{"user_id", consent.user_id}, {"client_id", consent.client_id}, {"scope", consent.scope}});
  return Continue(request, *interaction, session, false, true, *snapshot, {});
}

}  // namespace latchkey::server
