#pragma once

// Logout: OpenID Connect RP-Initiated Logout 1.0 (the end_session_endpoint request, §2, §3) and
// the Logout Token of OpenID Connect Back-Channel Logout 1.0 (§2.4, §2.5). Pure: no I/O; the
// caller verifies signatures, looks up sessions, delivers logout tokens and renders pages.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/random.hpp"
#include "jose/jose.hpp"
#include "oauth/authorize.hpp"
#include "oauth/error.hpp"
#include "oauth/params.hpp"
#include "store/store.hpp"

namespace latchkey::oidc {

// ---------------------------------------------------------------------------------------------
// Back-Channel Logout 1.0

// kLogoutTokenType: the "typ" header of a Logout Token (Back-Channel Logout §2.4, §4.1: explicit
// typing keeps it from being accepted as an ID Token or access token).
inline constexpr std::string_view kLogoutTokenType = "logout+jwt";
// kBackchannelLogoutEvent: the member of the "events" claim that makes a JWT a Logout Token (§2.4).
inline constexpr std::string_view kBackchannelLogoutEvent =
    "http://schemas.openid.net/event/backchannel-logout";

// LogoutTokenInput: the facts one Logout Token states. Empty subject or sid mean "omit the claim";
// at least one must be set (§2.4).
struct LogoutTokenInput {
  std::string issuer;    // "iss": the issuer identifier, exactly as in discovery
  std::string audience;  // "aud": the client_id of the RP being notified
  std::string subject;   // "sub": the user's stable id (as in that RP's ID Tokens)
  std::string sid;       // "sid": the session id (as in that RP's ID Tokens)
  // lifetime: seconds from "iat" to "exp"; must be > 0. §4: "preferably at most two minutes".
  int64_t lifetime = 120;
};

// SignLogoutToken returns the compact JWS (header typ "logout+jwt", kid and alg from `key`) of a
// Logout Token (Back-Channel Logout §2.4) with claims iss, aud (one string), iat (= clock now),
// exp (= iat + lifetime), jti (128 random bits, base64url), events
// {"http://schemas.openid.net/event/backchannel-logout": {}}, and sub and/or sid. It never
// includes "nonce" (§2.4: PROHIBITED, so the token cannot pass as an ID Token). Errors:
// kMissingClaim when issuer or audience is empty or when both subject and sid are empty;
// kInvalidKey when `key` is public or does not fit its alg. It does NOT check that the client
// registered a backchannel_logout_uri or requires sid (backchannel_logout_session_required, §2.2):
// the caller decides those.
jose::Result<std::string> SignLogoutToken(const LogoutTokenInput& input, const jose::SigningKey& key,
                                          const common::Clock& clock, common::Random& random);

// LogoutRequestBody returns the form body of a Back-Channel Logout Request (§2.5):
// "logout_token=<token>", form-encoded.
std::string LogoutRequestBody(std::string_view logout_token);

// ---------------------------------------------------------------------------------------------
// RP-Initiated Logout 1.0

// EndSessionRequest: the parameters of a logout request (RP-Initiated Logout §2), as sent (GET
// query or POST form). Empty means absent.
struct EndSessionRequest {
  std::string id_token_hint;
  std::string logout_hint;  // §2: meaning left to the OP; passed through, never trusted
  std::string client_id;
  std::string post_logout_redirect_uri;
  std::string state;
  std::string ui_locales;  // §2: space-separated BCP47 tags; passed through unvalidated
};

// EndSessionRequestFrom copies the §2 parameters from `params` (already free of repeats and empty
// values, RFC 6749 §3.1) and ignores any other parameter. It validates nothing: DecideEndSession
// does.
EndSessionRequest EndSessionRequestFrom(const oauth::Params& params);

// ParseEndSessionRequest parses a query string (GET) or an application/x-www-form-urlencoded body
// (POST) (§2: the OP MUST support both). invalid_request when it is malformed or repeats a
// parameter.
oauth::Result<EndSessionRequest> ParseEndSessionRequest(std::string_view query_or_form);

// IdTokenHintClaims: what DecideEndSession needs from a verified id_token_hint.
struct IdTokenHintClaims {
  std::string sub;
  std::vector<std::string> aud;
  std::string sid;  // "" when the ID Token had none
};

// IdTokenHintClaimsFrom extracts sub, aud and sid from an id_token_hint whose signature the caller
// has verified with this OP's keys (jose::VerifyJws). Checks: "iss" equals `issuer` (§2: "the OP
// MUST validate that it was the issuer of the ID Token", kWrongIssuer); "typ", when present, is
// "JWT" (kMalformed otherwise: an access token ("at+jwt") or a Logout Token signed by the same
// keys must not stand in for an ID Token, RFC 8725 §3.11); sub a non-empty string and aud a
// non-empty string or array of strings (kMissingClaim); sid a string when present. It does NOT
// check exp, iat or nbf: §2 says the OP SHOULD accept an ID Token whose "exp" has passed.
jose::Result<IdTokenHintClaims> IdTokenHintClaimsFrom(const jose::ParsedJws& verified,
                                                      std::string_view issuer);

// CurrentSession: the browser's signed-in session at this OP, when there is one.
struct CurrentSession {
  std::string user_id;  // the "sub" of the signed-in user
  std::string sid;      // the "sid" this OP puts in ID Tokens for the session; "" when not known
};

// EndSessionDecision: what the logout endpoint should do.
struct EndSessionDecision {
  // client: the RP that sent the request, from client_id or the id_token_hint's aud; nullopt when
  // neither identified one.
  std::optional<store::ClientRecord> client;
  // confirm: ask the End-User before logging out of the OP (§2, §6). False only when a verified
  // id_token_hint names the current session's user (and session, when both carry a sid), or when
  // it was sent and there is no session to log out.
  bool confirm = true;
  // redirect_uri: where to send the browser after logout (§3): the validated
  // post_logout_redirect_uri with "state" appended; nullopt: show a page instead.
  std::optional<std::string> redirect_uri;
  // hint_subject: the "sub" of the id_token_hint ("" without one), e.g. to pick the session.
  std::string hint_subject;
};

// DecideEndSession applies RP-Initiated Logout §2-§4 to a parsed request:
// - `hint`: the claims of request.id_token_hint as returned by IdTokenHintClaimsFrom, or nullopt
//   when the request has none or it failed verification; a request whose id_token_hint is set but
//   `hint` is nullopt is rejected (§4: information that failed to validate MUST NOT be used).
// - The client: client_id, or the hint's aud when it names exactly one client; when both are
//   present client_id must be one of the hint's aud (§2: "the OP MUST verify that the Client
//   Identifier matches"). An unknown client_id is an error.
// - The redirect (§3): post_logout_redirect_uri needs an identified client and must equal one of
//   its post_logout_redirect_uris exactly; otherwise an error, and never a redirect. "state" is
//   appended as a query parameter, keeping any query the URI already has. Without an
//   id_token_hint, §3 allows the redirect only with "other means of confirming the legitimacy of
//   the post-logout redirection target": here that is the exact match with a URI the named client
//   registered, reached only after the End-User confirmed (confirm is always true then).
// - confirm: see EndSessionDecision::confirm.
// Every error is invalid_request with a description safe to show on the OP's HTML error page
// (never rendered as a redirect). It does NOT verify the id_token_hint's signature or issuer,
// look the session up, or log anyone out.
oauth::Result<EndSessionDecision> DecideEndSession(const EndSessionRequest& request,
                                                   const std::optional<IdTokenHintClaims>& hint,
                                                   const oauth::ClientLookup& clients,
                                                   const std::optional<CurrentSession>& session);

}  // namespace latchkey::oidc
