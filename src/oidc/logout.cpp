#include "oidc/logout.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/base64.hpp"
#include "common/form.hpp"
#include "common/strings.hpp"

namespace latchkey::oidc {
namespace {

// 128 bits: a jti that never repeats by chance (OIDC Core §9: "unique identifier for the token").
constexpr size_t kJtiBytes = 16;

oauth::Error Invalid(std::string what) {
  return oauth::MakeError(oauth::ErrorCode::kInvalidRequest, std::move(what));
}

bool Contains(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

std::string Copy(const oauth::Params& params, std::string_view name) {
  auto value = params.Get(name);
  return value ? std::string(*value) : std::string();
}

// NonEmptyString returns the member `name` of `claims` when it is a non-empty string.
std::optional<std::string> NonEmptyString(const boost::json::object& claims, std::string_view name) {
  const boost::json::value* value = claims.if_contains(name);
  if (!value || !value->is_string() || value->as_string().empty()) return std::nullopt;
  return std::string(value->as_string());
}

// NeedsConfirmation: RP-Initiated Logout §2: "the OP MUST ask the End-User this question if an
// id_token_hint was not provided or if the supplied ID Token does not belong to the current OP
// session with the RP and/or currently logged in End-User." Without the question any page could
// embed a logout URL and sign the user out (§6: "a potential means of denial of service").
bool NeedsConfirmation(const std::optional<IdTokenHintClaims>& hint,
                       const std::optional<CurrentSession>& session) {
  if (!hint) return true;
  // §4: logout is idempotent; with no session there is nothing at the OP to ask about.
  if (!session) return false;
  if (hint->sub != session->user_id) return true;
  // The hint names the right user but another of their sessions (an old ID Token from another
  // device): it does not belong to "the current OP session".
  if (!hint->sid.empty() && !session->sid.empty() && hint->sid != session->sid) return true;
  return false;
}

}  // namespace

jose::Result<std::string> SignLogoutToken(const LogoutTokenInput& input, const jose::SigningKey& key,
                                          const common::Clock& clock, common::Random& random) {
  assert(input.lifetime > 0);
  // §2.4: iss and aud are REQUIRED; "A Logout Token MUST contain either a sub or a sid Claim".
  // A token with neither would tell the RP to log out nobody in particular.
  if (input.issuer.empty() || input.audience.empty()) return jose::Errc::kMissingClaim;
  if (input.subject.empty() && input.sid.empty()) return jose::Errc::kMissingClaim;

  const int64_t now = clock.NowSeconds();
  boost::json::object claims;
  claims["iss"] = input.issuer;
  claims["aud"] = input.audience;
  claims["iat"] = now;
  claims["exp"] = now + input.lifetime;
  // jti lets the RP reject a replayed token (§2.6 step 8 suggests it MAY).
  claims["jti"] = common::Base64UrlEncode(random.Bytes(kJtiBytes));
  if (!input.subject.empty()) claims["sub"] = input.subject;
  if (!input.sid.empty()) claims["sid"] = input.sid;
  boost::json::object events;
  events[kBackchannelLogoutEvent] = boost::json::object();
  claims["events"] = std::move(events);
  // No "nonce", ever (§2.4: PROHIBITED): an RP checks the nonce of an ID Token, so a Logout Token
  // without one cannot be replayed as an authentication response (§4.1). No other field of the
  // input can introduce one.
  return jose::SignJws(key, kLogoutTokenType, boost::json::serialize(claims));
}

std::string LogoutRequestBody(std::string_view logout_token) {
  return common::BuildForm({{"logout_token", std::string(logout_token)}});
}

EndSessionRequest EndSessionRequestFrom(const oauth::Params& params) {
  EndSessionRequest request;
  request.id_token_hint = Copy(params, "id_token_hint");
  request.logout_hint = Copy(params, "logout_hint");
  request.client_id = Copy(params, "client_id");
  request.post_logout_redirect_uri = Copy(params, "post_logout_redirect_uri");
  request.state = Copy(params, "state");
  request.ui_locales = Copy(params, "ui_locales");
  return request;
}

oauth::Result<EndSessionRequest> ParseEndSessionRequest(std::string_view query_or_form) {
  auto params = oauth::ParseFormParams(query_or_form);
  if (!params) return params.error();
  return EndSessionRequestFrom(*params);
}

jose::Result<IdTokenHintClaims> IdTokenHintClaimsFrom(const jose::ParsedJws& verified,
                                                      std::string_view issuer) {
  // Cross-JWT confusion (RFC 8725 §2.8, §3.11): this OP signs access tokens ("at+jwt") and Logout
  // Tokens ("logout+jwt") with the same keys; either, handed in as id_token_hint, would otherwise
  // pass for an ID Token of its "sub". ID Tokens carry "JWT" (RFC 7519 §5.1: case-insensitive).
  if (const boost::json::value* typ = verified.header.if_contains("typ")) {
    if (!typ->is_string() || !common::EqualsIgnoreCase(typ->as_string(), "JWT"))
      return jose::Errc::kMalformed;
  }
  boost::system::error_code ec;
  boost::json::value payload = boost::json::parse(verified.payload, ec);
  if (ec || !payload.is_object()) return jose::Errc::kMalformed;
  const boost::json::object& claims = payload.as_object();

  // §2: "the OP MUST validate that it was the issuer of the ID Token". A valid signature is not
  // enough when the keys are shared with another issuer (several tenants, one key store).
  auto iss = NonEmptyString(claims, "iss");
  if (!iss) return jose::Errc::kMissingClaim;
  if (*iss != issuer) return jose::Errc::kWrongIssuer;

  IdTokenHintClaims out;
  auto sub = NonEmptyString(claims, "sub");
  if (!sub) return jose::Errc::kMissingClaim;
  out.sub = std::move(*sub);

  // OIDC Core §2: aud is a string or an array of strings.
  const boost::json::value* aud = claims.if_contains("aud");
  if (!aud) return jose::Errc::kMissingClaim;
  if (aud->is_string()) {
    out.aud.emplace_back(aud->as_string());
  } else if (aud->is_array()) {
    for (const auto& entry : aud->as_array()) {
      if (!entry.is_string()) return jose::Errc::kMissingClaim;
      out.aud.emplace_back(entry.as_string());
    }
  } else {
    return jose::Errc::kMissingClaim;
  }
  if (out.aud.empty() || Contains(out.aud, "")) return jose::Errc::kMissingClaim;

  if (const boost::json::value* sid = claims.if_contains("sid")) {
    if (!sid->is_string()) return jose::Errc::kMissingClaim;
    out.sid = std::string(sid->as_string());
  }
  // exp, iat and nbf are deliberately not checked: §2 "The OP SHOULD accept ID Tokens when the RP
  // identified by the ID Token's aud claim and/or sid claim has a current session or had a recent
  // session at the OP, even when the exp time has passed." The caller compares sub and sid with
  // the session (DecideEndSession), which is what makes an old token harmless.
  return out;
}

oauth::Result<EndSessionDecision> DecideEndSession(const EndSessionRequest& request,
                                                   const std::optional<IdTokenHintClaims>& hint,
                                                   const oauth::ClientLookup& clients,
                                                   const std::optional<CurrentSession>& session) {
  const bool hint_sent = !request.id_token_hint.empty();
  assert(hint_sent || !hint);  // claims without a token: a caller bug
  // §4: "the information that failed to validate MUST NOT be used": neither for the client nor
  // to skip the confirmation, and no redirect (§4: "MUST not perform post-logout redirection").
  if (hint_sent && !hint) return Invalid("id_token_hint is invalid");
  static const std::optional<IdTokenHintClaims> kNoHint;
  const std::optional<IdTokenHintClaims>& used_hint = hint_sent ? hint : kNoHint;

  EndSessionDecision decision;
  std::string client_id = request.client_id;
  if (used_hint) {
    decision.hint_subject = used_hint->sub;
    if (!client_id.empty()) {
      // §2: "When both client_id and id_token_hint are present, the OP MUST verify that the Client
      // Identifier matches the one used when issuing the ID Token." Otherwise RP A could present
      // RP B's ID Token and be redirected as though B had asked.
      if (!Contains(used_hint->aud, client_id)) return Invalid("client_id does not match the id_token_hint");
    } else if (used_hint->aud.size() == 1) {
      client_id = used_hint->aud.front();
    }
    // Several audiences and no client_id: which RP is asking is unknown, so no client (and no
    // redirect below).
  }
  if (!client_id.empty()) {
    auto client = clients(client_id);
    // The description does not echo the client_id: it is shown on an HTML page.
    if (!client) return Invalid("unknown client");
    decision.client = std::move(*client);
  }

  if (!request.post_logout_redirect_uri.empty()) {
    // §3: the URI "MUST have been previously registered" by the RP, so the RP must be known.
    if (!decision.client) return Invalid("post_logout_redirect_uri requires client_id or id_token_hint");
    // §3: "MUST NOT perform post-logout redirection if the post_logout_redirect_uri value supplied
    // does not exactly match one of the previously registered post_logout_redirect_uris": no
    // prefix or normalised matching, or the logout endpoint becomes an open redirector.
    if (!Contains(decision.client->post_logout_redirect_uris, request.post_logout_redirect_uri)) {
      return Invalid("post_logout_redirect_uri is not registered for this client");
    }
    common::FormFields fields;
    // §2 state: "the OP passes this value back to the RP using the state parameter".
    if (!request.state.empty()) fields.emplace_back("state", request.state);
    decision.redirect_uri = oauth::BuildRedirect(request.post_logout_redirect_uri, fields);
  }

  decision.confirm = NeedsConfirmation(used_hint, session);
  return decision;
}

}  // namespace latchkey::oidc
