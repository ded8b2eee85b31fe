// The device authorization grant (RFC 8628): the device authorization endpoint (§3.1, §3.2), the
// device code grant at the token endpoint (§3.4, §3.5) and the verification page where a person
// types the code, signs in if needed, and approves or denies (§3.3).

#include <algorithm>

#include "common/base64.hpp"
#include "common/strings.hpp"
#include "crypto/digest.hpp"
#include "http/cookie.hpp"
#include "oauth/device.hpp"
#include "oauth/scope.hpp"
#include "server/audit.hpp"
#include "server/provider.hpp"
#include "server/web.hpp"

namespace latchkey::server {
namespace {

// The CSRF token of the device page is bound to this context (the sign-in pages bind theirs to the
// authorization request).
constexpr std::string_view kDeviceCsrfContext = "device";
constexpr size_t kMaxDeviceInfo = 200;

std::string DeviceFamily(std::string_view device_code_hash) {
  return "device:" + common::Base64UrlEncode(device_code_hash);
}

bool Contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

std::string Provider::DevicePagePath(std::string_view user_code) {
  return "/device?user_code=" + oauth::FormatUserCode(user_code);
}

http::Response Provider::DeviceAuthorization(const http::Request& request) {
  auto snapshot = Current();
  // RFC 8628 §3.1: the client authenticates (or, public, identifies itself) as at the token
  // endpoint; §3.2 errors are those of RFC 6749 §5.2.
  auto post = oauth::ParseClientPost(TokenHttp(request));
  if (!post) return TokenError(post.error(), "device_authorization");
  auto it = snapshot->clients.find(post->credentials.client_id);
  if (it == snapshot->clients.end() || !oauth::AuthenticateClient(post->credentials, it->second)) {
    return TokenError(oauth::MakeError(oauth::ErrorCode::kInvalidClient, "client authentication failed"),
                      "device_authorization");
  }
  const store::ClientRecord& client = it->second;
  if (!Contains(client.grant_types, oauth::kDeviceCodeGrantType)) {
    return TokenError(oauth::MakeError(oauth::ErrorCode::kUnauthorizedClient,
                                       "client may not use the device authorization grant"),
                      "device_authorization");
  }
  auto scope = oauth::GrantScope(post->params.Get("scope"), client.scopes);
  if (!scope) return TokenError(scope.error(), "device_authorization");

  const int64_t now = clock_.NowSeconds();
  store::DeviceCodeRecord record;
  record.client_id = client.client_id;
  record.scope = common::Join(*scope, " ");
  // Shown on the approval page so the person can tell which device asks (RFC 8628 §5.4).
  std::string agent(request.Header("user-agent").value_or("unknown device"));
  record.device_info = common::ToValidUtf8(agent.substr(0, kMaxDeviceInfo)) + " at " + request.remote_address;
  record.created_at = now;
  record.expires_at = now + config_.device_code_lifetime;
  record.interval = config_.device_poll_interval;
  std::string device_code, user_code;
  bool stored = false;
  // A user code has 34.6 bits: a collision with a live one is rare but possible; draw again.
  for (int attempt = 0; attempt < 5 && !stored; ++attempt) {
    device_code = oauth::NewDeviceCode(random_);
    user_code = oauth::NewUserCode(random_);
    record.device_code_hash = crypto::Sha256(device_code);
    record.user_code_hash = crypto::Sha256(user_code);
    auto created = store_.CreateDeviceCode(record);
    if (created) {
      stored = true;
    } else if (created.error() != store::Error::kConflict) {
      break;
    }
  }
  if (!stored) {
    return TokenError(oauth::MakeError(oauth::ErrorCode::kTemporarilyUnavailable, "the store is unavailable"),
                      "device_authorization");
  }
  Audit("device_authorization_started", request, {{"client_id", client.client_id}, {"scope", record.scope}});
  oauth::DeviceAuthorizationResponse response;
  response.device_code = std::move(device_code);
  response.user_code = oauth::FormatUserCode(user_code);
  response.verification_uri = config_.issuer + "/device";
  response.verification_uri_complete =
      oauth::VerificationUriComplete(response.verification_uri, response.user_code);
  response.expires_in = config_.device_code_lifetime;
  response.interval = config_.device_poll_interval;
  return NoStoreJson(200, oauth::DeviceAuthorizationResponseJson(response));
}

oauth::Result<oauth::TokenResponse> Provider::DeviceGrant(const AuthenticatedClient& auth,
                                                          const Snapshot& snapshot,
                                                          const http::Request& http_request) {
  const store::ClientRecord& client = auth.client;
  if (!Contains(client.grant_types, oauth::kDeviceCodeGrantType)) {
    return oauth::MakeError(oauth::ErrorCode::kUnauthorizedClient,
                            "client may not use the device_code grant");
  }
  auto device_code = auth.request.params.Get("device_code");
  if (!device_code) return oauth::MakeError(oauth::ErrorCode::kInvalidRequest, "device_code is required");
  const std::string hash = crypto::Sha256(*device_code);
  const int64_t now = clock_.NowSeconds();
  auto before = store_.PollDeviceCode(hash, now);
  if (!before) {
    if (before.error() == store::Error::kNotFound) {
      return oauth::MakeError(oauth::ErrorCode::kInvalidGrant, "the device code is invalid");
    }
    return oauth::MakeError(oauth::ErrorCode::kTemporarilyUnavailable,
                            "the store is unavailable; retry later");
  }
  // A device code used twice: like a replayed authorization code (RFC 6749 §10.5), revoke what it
  // granted.
  const auto replayed = [&] {
    auto revoked = RevokeGrant(DeviceFamily(hash), snapshot);
    Audit("device_code_replayed", http_request,
          {{"client_id", client.client_id}, {"refresh_tokens_revoked", revoked ? *revoked : -1}});
    return oauth::MakeError(oauth::ErrorCode::kInvalidGrant, "the device_code has already been used");
  };
  if (auto decided = oauth::DecideDevicePoll(*before, client.client_id, now); !decided) {
    if (decided.error().code == oauth::ErrorCode::kInvalidGrant && before->status == "consumed")
      return replayed();
    return decided.error();
  }
  // As with authorization codes (CodeGrant), the approval is spent by the last store write, once
  // everything it grants is written: a poll answered temporarily_unavailable because the store
  // failed on the way leaves the approval in place, and the device's next poll gets the tokens.
  auto user = ActiveUser(store_, before->user_id);
  if (!user) return user.error();
  UserGrant grant;
  grant.scope = common::SplitSpaces(before->scope);
  grant.auth_time = before->auth_time;
  grant.amr = before->amr;
  grant.acr = before->acr;
  // The device's tokens are not tied to the browser session that approved them: signing out of
  // that browser does not sign the television out.
  grant.family_id = DeviceFamily(hash);
  store::GrantTokens records;
  auto issued = NewGrantTokens(client, snapshot, *user, grant, records);
  if (!issued) return issued;
  // The tokens mean nothing until their records are stored: stored before the approval is spent.
  if (!store_.CreateGrantTokens(records)) return StoreUnavailable();
  if (auto consumed = store_.ConsumeDeviceCode(hash, now); !consumed) {
    // kConflict: a concurrent poll spent the approval after this one read it; its tokens and the
    // ones just written share the family, and the replay revokes both.
    if (consumed.error() == store::Error::kConflict) return replayed();
    if (consumed.error() == store::Error::kNotFound) {
      // Expired (or its user deleted) since it was read: what was written for it goes.
      (void)RevokeGrant(DeviceFamily(hash), snapshot);
      return oauth::MakeError(oauth::ErrorCode::kExpiredToken, "the device_code has expired");
    }
    return StoreUnavailable();
  }
  Audit("token_issued", http_request,
        {{"client_id", client.client_id}, {"user_id", user->user_id}, {"grant_type", "device_code"}});
  return issued;
}

http::Response Provider::Device(const http::Request& request) {
  std::vector<std::string> set_cookies;
  const auto page = [&](int status, std::string html) {
    http::Response r = http::Response::Html(status, std::move(html));
    r.SetHeader("Content-Security-Policy", PageCsp(""));
    r.SetHeader("Cache-Control", "no-store");
    AddCookies(r, set_cookies);
    return r;
  };
  const auto entry = [&](int status, std::string typed, std::string message) {
    ui::DeviceEntryView view;
    view.csrf = csrf_->TokenFor(CsrfCookie(request, set_cookies), kDeviceCsrfContext);
    view.user_code = std::move(typed);
    view.message = std::move(message);
    return page(status, ui::RenderDeviceEntry(theme_, view));
  };

  oauth::Params form;
  if (request.method == "POST") {
    auto parsed = oauth::ParseFormParams(request.body);
    if (!IsFormPost(request) || !parsed)
      return entry(400, "", "The form could not be read. Type the code again.");
    form = std::move(*parsed);
    auto cookie = http::CookieValue(request, CsrfCookieName(secure_cookies_));
    if (!cookie || !csrf_->Verify(*cookie, kDeviceCsrfContext, form.Get("csrf").value_or(""))) {
      Audit("csrf_rejected", request, {{"form", "device"}});
      return entry(403, "", "This page had expired. Type the code again.");
    }
  } else {
    auto query = oauth::ParseFormParams(request.query);
    if (query) form = std::move(*query);
  }
  const std::string typed(form.Get("user_code").value_or(""));
  if (typed.empty()) return entry(200, "", "");
  const int64_t now = clock_.NowSeconds();
  const std::string ip_key = "device:" + request.remote_address;

  // RFC 8628 §5.1: user codes are short, so guessing is limited per address (counted in the store,
  // across nodes; without the count no guess is let through).
  const auto unavailable = [&] {
    return ErrorPage(503, "Unavailable", "Please try again in a moment.", "temporarily_unavailable");
  };
  auto retry_after = device_throttle_.RetryAfter(ip_key, now);
  if (!retry_after) return unavailable();
  if (int64_t wait = *retry_after; wait > 0) {
    Audit("device_code_throttled", request, {{"retry_after", wait}});
    http::Response r =
        entry(429, typed, "Too many wrong codes. Wait " + std::to_string(wait) + " seconds, then try again.");
    r.SetHeader("Retry-After", std::to_string(wait));
    return r;
  }
  auto code = oauth::NormalizeUserCode(typed);
  std::optional<store::DeviceCodeRecord> device;
  if (code) {
    auto found = store_.GetDeviceCodeByUserCode(crypto::Sha256(*code));
    if (!found && found.error() != store::Error::kNotFound) return unavailable();
    if (found && found->status == "pending" && found->expires_at > now) device = std::move(*found);
  }
  if (!device) {
    auto locks = device_throttle_.RecordFailure(ip_key, now);
    if (!locks) return unavailable();
    Audit("device_code_rejected", request, {{"retry_after", *locks}});
    return entry(code ? 404 : 400, typed,
                 "That code is not valid or has expired. Check the code on your device and try again.");
  }
  auto snapshot = Current();
  auto client_it = snapshot->clients.find(device->client_id);
  const std::string client_name = client_it == snapshot->clients.end()    ? device->client_id
                                  : client_it->second.client_name.empty() ? client_it->second.client_id
                                                                          : client_it->second.client_name;

  auto current = CurrentSession(request);
  if (!current) {
    // Whether anyone is signed in is unknown: not the login page, as if the person were signed out.
    return unavailable();
  }
  const std::optional<ActiveSession>& session = *current;
  if (!session) {
    // Sign in first; the login page brings the person back here (Continue).
    Interaction interaction;
    interaction.raw = std::string(kDeviceInteractionPrefix) + *code;
    interaction.device_user_code = *code;
    if (client_it != snapshot->clients.end()) interaction.who.client = client_it->second;
    return LoginPage(request, interaction, 200, "", std::move(set_cookies));
  }

  const auto decision = form.Get("decision");
  if (request.method != "POST" || !decision) {
    ui::DeviceConfirmView view;
    view.csrf = csrf_->TokenFor(CsrfCookie(request, set_cookies), kDeviceCsrfContext);
    view.user_code = oauth::FormatUserCode(*code);
    view.client_name = client_name;
    view.device_info = device->device_info;
    view.username = session->user.username;
    view.scopes = common::SplitSpaces(device->scope);
    return page(200, ui::RenderDeviceConfirm(theme_, view));
  }
  if (*decision != "approve" && *decision != "deny") return entry(400, typed, "Choose Allow or Deny.");
  const bool approve = *decision == "approve";
  store::DeviceCodeRecord who;
  who.user_id = session->user.user_id;
  who.session_id_hash = session->session.id_hash;
  who.auth_time = session->session.auth_time;
  who.amr = session->session.amr;
  who.acr = session->session.acr;
  auto decided = store_.DecideDeviceCode(crypto::Sha256(*code), approve, who, now);
  if (!decided) {
    if (decided.error() == store::Error::kUnavailable || decided.error() == store::Error::kCorrupt) {
      return unavailable();
    }
    return entry(409, "", "That code was already used or has expired. Start again on your device.");
  }
  // A failure to forget only leaves this address's earlier wrong codes counted until they expire.
  (void)device_throttle_.RecordSuccess(ip_key);
  Audit(approve ? "device_approved" : "device_denied", request,
        {{"client_id", device->client_id}, {"user_id", session->user.user_id}});
  ui::DeviceDoneView done;
  done.approved = approve;
  done.client_name = client_name;
  return page(200, ui::RenderDeviceDone(theme_, done));
}

}  // namespace latchkey::server
