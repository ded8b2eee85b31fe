#pragma once

// The authorization request of the authorization code flow (RFC 6749 §4.1.1, OIDC Core
// §3.1.2.1) and its responses (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207 §2).
//
// Parsing is two steps because failures are rendered differently (RFC 6749 §4.1.2.1):
// 1. IdentifyClient: a missing, unknown or unregistered client_id or redirect_uri must be shown to
//    the resource owner on an error page and NEVER redirected (that would make the server an open
//    redirector).
// 2. ParseAuthorizationRequest: once the redirect URI is trusted, every other failure is sent back
//    to it with `error`, `state` and `iss` (ErrorResponseFields + BuildRedirect).
//
// Nothing here touches HTTP, a store or a clock: the caller looks up the client and renders.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/form.hpp"
#include "oauth/error.hpp"
#include "oauth/params.hpp"
#include "oauth/pkce.hpp"
#include "store/store.hpp"

namespace latchkey::oauth {

// ClientAndRedirect: the client named by client_id and the redirect URI its responses go to.
struct ClientAndRedirect {
  store::ClientRecord client;
  std::string redirect_uri;
  // redirect_uri_sent: whether redirect_uri was in the request (false: the single registered URI
  // was used). RFC 6749 §4.1.3: the token request must then repeat it.
  bool redirect_uri_sent = false;
};

// ClientLookup returns the client registered under a client_id, or nullopt when there is none.
using ClientLookup = std::function<std::optional<store::ClientRecord>(std::string_view)>;

// IdentifyClient finds the client and the redirect URI to use (RFC 6749 §3.1.2.3, §4.1.2.1).
// `redirect_uri` must match a registered URI (RedirectUriMatches); when absent the client's only
// registered URI is used, unless the scope holds "openid" (OIDC Core §3.1.2.1: REQUIRED) or the
// client has several. Every failure is an Error for the error page, never for a redirect:
// invalid_request when client_id is missing or unknown, or redirect_uri is missing, unregistered
// or not allowed; unauthorized_client when the client has no registered redirect URI. `lookup` is
// called at most once. It does not check response_type, grant types or anything else.
Result<ClientAndRedirect> IdentifyClient(const Params& params, const ClientLookup& lookup);

// AuthorizePolicy: server-wide choices left open by the specifications.
struct AuthorizePolicy {
  bool allow_plain_pkce = false;               // RFC 7636 §4.2 "plain" (RFC 9700 §2.1.1: S256)
  bool require_pkce_for_confidential = false;  // OAuth 2.1 §4.1.1, RFC 9700 §2.1.1
};

// AuthorizationRequest: a valid authorization request, protocol fields named as in the RFCs.
struct AuthorizationRequest {
  std::string client_id;
  std::string redirect_uri;  // the URI to redirect to (requested, or the single registered one)
  bool redirect_uri_sent = false;
  std::string response_type;   // always "code"
  std::string state;           // opaque, returned unchanged (RFC 6749 §4.1.2); may be empty
  std::string nonce;           // OIDC Core §3.1.2.1: optional in the code flow; may be empty
  std::string code_challenge;  // empty: no PKCE (only for confidential clients, if policy allows)
  PkceMethod code_challenge_method = PkceMethod::kS256;  // meaningful only with code_challenge
  std::vector<std::string> scope;   // granted-to-be scope, a subset of the client's scopes
  std::string response_mode;        // "query" or "form_post"
  std::vector<std::string> prompt;  // subset of none, login, consent, select_account
  std::optional<int64_t> max_age;   // seconds (OIDC Core §3.1.2.1)
  std::string login_hint, id_token_hint, ui_locales, display, claims_locales, acr_values;
  bool openid = false;  // scope holds "openid": an OpenID Connect request
};

// ParseAuthorizationRequest validates the rest of the request for a client and redirect URI that
// IdentifyClient accepted. Every failure may be redirected to `who.redirect_uri`:
// - response_type missing -> invalid_request; not exactly "code" -> unsupported_response_type
//   (RFC 6749 §4.1.1, §4.1.2.1);
// - request / request_uri / registration present -> request_not_supported /
//   request_uri_not_supported / registration_not_supported (OIDC Core §6.1, §6.2, §7.2.1);
// - the client lacks the authorization_code grant type -> unauthorized_client;
// - scope malformed or not a subset of the client's scopes -> invalid_scope (RFC 6749 §3.3). An
//   absent scope means the client's registered scopes without "openid", since OpenID Connect must
//   be asked for explicitly;
// - PKCE (RFC 7636 §4.3, §4.4.1; OAuth 2.1 §4.1.1): code_challenge is required from public clients
//   and, with the policy, from all; a bad method, a method without a challenge or a malformed
//   challenge -> invalid_request;
// - prompt (OIDC Core §3.1.2.1): values from none, login, consent, select_account, "none" alone;
//   max_age a non-negative decimal integer; response_mode "query" or "form_post"; else
//   invalid_request.
// It does not validate id_token_hint, nonce, ui_locales, display, claims_locales or acr_values
// beyond copying them, ignores unknown parameters (OIDC Core §3.1.2.1), and does not look at the
// end user's session (login_required etc. are the caller's decision).
Result<AuthorizationRequest> ParseAuthorizationRequest(const Params& params, const ClientAndRedirect& who,
                                                       const AuthorizePolicy& policy);

// ErrorResponseMode returns how an error from ParseAuthorizationRequest is delivered: "form_post"
// when the request asked for it, "query" otherwise (including an invalid response_mode).
std::string_view ErrorResponseMode(const Params& params);

// BuildRedirect returns `redirect_uri` with `fields` added to its query component, form-encoded:
// an existing query is retained (RFC 6749 §3.1.2: "MUST retain the query component") and joined
// with '&'. A fragment, which a validated redirect URI never has, is dropped (RFC 6749 §3.1.2).
// With no fields the URI is returned without its fragment.
std::string BuildRedirect(std::string_view redirect_uri, const common::FormFields& fields);

// ErrorResponseFields returns error, error_description (when non-empty; characters outside
// RFC 6749 §4.1.2.1's %x20-21 / %x23-5B / %x5D-7E replaced by '?'), state (when non-empty) and iss
// (when non-empty, RFC 9207 §2) for an authorization error response.
common::FormFields ErrorResponseFields(const Error& error, std::string_view state, std::string_view issuer);

// SuccessResponseFields returns code, state (when non-empty) and iss (when non-empty, RFC 9207
// §2) for an authorization response (RFC 6749 §4.1.2).
common::FormFields SuccessResponseFields(std::string_view code, std::string_view state,
                                         std::string_view issuer);

}  // namespace latchkey::oauth
