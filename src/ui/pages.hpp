#pragma once

// The sign-in pages: login, consent, error, the form_post response, the device verification
// pages (RFC 8628 §3.3) and the logout pages (OpenID Connect RP-Initiated Logout 1.0), rendered as
// complete HTML documents from plain view structs. Every string from a view or the Theme is escaped
// with EscapeHtml; the pages load only /assets/latchkey.css and run no script, except the form_post
// page's one-line auto-submit.
//
// The caller sends them as `text/html; charset=utf-8` with the status it chooses, and a CSP such as
//   default-src 'none'; style-src 'self'; img-src 'self' https:; form-action 'self';
//   frame-ancestors 'none'; base-uri 'none'
// (the form_post page adds script-src 'nonce-{script_nonce}' and its redirect URI to form-action).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ui/theme.hpp"

namespace latchkey::ui {

// LoginView: the login page (GET /authorize without a session; POST /login after a failure).
struct LoginView {
  std::string csrf;         // hidden field `csrf`
  std::string request;      // hidden field `request`: the opaque authorization request
  std::string client_name;  // "to continue to {client_name}"; empty: the line is left out
  std::string username;     // prefill (login_hint, or what was typed before a failure)
  std::string message;      // error text shown with role="alert"; empty: none
  bool locked_out = false;  // throttled: shows a "wait and try again" message when `message` is empty
};

// ConsentView: the consent page after sign-in, when the user has not yet granted these scopes.
struct ConsentView {
  std::string csrf;
  std::string request;
  std::string client_name;          // empty: "This application"
  std::string username;             // the signed-in user, shown as "Signed in as ..."
  std::vector<std::string> scopes;  // each listed as ScopeDescription(scope)
};

// ErrorView: a page that ends the flow (unknown client, bad redirect_uri, bad CSRF token).
struct ErrorView {
  std::string title;       // heading; empty: "Something went wrong"
  std::string message;     // one short, safe sentence; empty: left out
  std::string error_code;  // e.g. "invalid_request", shown in small text; empty: left out
};

// FormPostView: OAuth 2.0 Form Post Response Mode §2.
struct FormPostView {
  std::string action;                                       // the client's redirect_uri
  std::vector<std::pair<std::string, std::string>> fields;  // e.g. code, state, iss, in order
  std::string script_nonce;                                 // the CSP nonce of this response
};

// DeviceEntryView: the verification page of the device authorization grant (RFC 8628 §3.3), where
// the signed-in user types the code their device shows.
struct DeviceEntryView {
  std::string csrf;                // hidden field `csrf`
  std::string action = "/device";  // where the form posts
  std::string user_code;           // prefill (from verification_uri_complete, §3.3.1, or a retry)
  std::string message;             // error text shown with role="alert"; empty: none
};

// DeviceConfirmView: the approval page once the code names a pending device authorization.
struct DeviceConfirmView {
  std::string csrf;                 // hidden field `csrf`
  std::string action = "/device";   // where the form posts
  std::string user_code;            // the formatted code being approved: shown, and hidden field `user_code`
  std::string client_name;          // empty: "An application"
  std::string device_info;          // what the device said of itself (User-Agent, address); empty: left out
  std::string username;             // the signed-in user, shown as "Signed in as ..."; empty: left out
  std::vector<std::string> scopes;  // each listed as ScopeDescription(scope)
};

// DeviceDoneView: the page after the user decided.
struct DeviceDoneView {
  bool approved = false;
  std::string client_name;  // empty: "The application"
};

// LogoutConfirmView: the page that asks the user before signing out, shown when a logout request
// cannot be trusted (OpenID Connect RP-Initiated Logout 1.0 §2, §6).
struct LogoutConfirmView {
  std::string csrf;                // hidden field `csrf`
  std::string action = "/logout";  // where the form posts
  std::string client_name;         // "{client_name} asks to sign you out"; empty: no application named
  std::string username;            // the signed-in user, shown as "Signed in as ..."; empty: left out
  // Hidden inputs carried over to the POST, in order: e.g. post_logout_redirect_uri, state,
  // client_id, id_token_hint.
  std::vector<std::pair<std::string, std::string>> fields;
};

// LoggedOutView: the page after the logout decision, when there is no post-logout redirect.
struct LoggedOutView {
  bool signed_out = true;   // false: the user chose to stay signed in
  std::string client_name;  // the application that asked; empty: left out
};

// RenderLogin returns the login page: title and heading "Sign in to {product}", then
// <form method="post" action="/login"> with hidden csrf and request, a username field
// (autocomplete="username"), a password field (autocomplete="current-password") and
// <button type="submit">Sign in</button>, in that focus order. Autofocus is on the username, or on
// the password when the username is prefilled.
std::string RenderLogin(const Theme& theme, const LoginView& view);

// RenderConsent returns the consent page: heading "{client_name} wants to access your account", the
// username, the scopes as a <ul> in plain words, and <form method="post" action="/consent"> with
// hidden csrf and request and the buttons name="decision" value="allow" ("Allow") and
// value="deny" ("Deny").
std::string RenderConsent(const Theme& theme, const ConsentView& view);

// RenderError returns an error page: heading, message and the error code in small text. It has no
// link back to the client: it is shown exactly when the client or its redirect URI is not trusted.
std::string RenderError(const Theme& theme, const ErrorView& view);

// RenderFormPost returns the page titled "Continue" that posts `fields` as hidden inputs to
// `action`, submitted by a one-line script carrying `script_nonce`, with a <noscript> Continue
// button for browsers without script (OAuth 2.0 Form Post Response Mode §2).
// Does NOT check `action`: it must be the client's registered redirect URI, already matched.
std::string RenderFormPost(const Theme& theme, const FormPostView& view);

// RenderDeviceEntry returns the page titled and headed "Connect a device" (RFC 8628 §3.3): the
// optional error (role="alert", which the field points at with aria-describedby), then
// <form method="post" action="{action}"> with hidden csrf, one labelled text field `user_code`
// (autocomplete="off", autocapitalize="characters", spellcheck="false", inputmode="text",
// maxlength="16", autofocus, value = user_code) and <button type="submit">Continue</button>.
// Does NOT check `action`: it is the server's own path.
std::string RenderDeviceEntry(const Theme& theme, const DeviceEntryView& view);

// RenderDeviceConfirm returns the approval page (RFC 8628 §3.3, §5.4 remote phishing): heading
// "Connect a device", "{client_name} on a device wants to access your account", the signed-in
// user, the code to compare with the one on the device, what the device said of itself, a warning
// to allow only a device the user has with them, the scopes as a <ul> in plain words, and
// <form method="post" action="{action}"> with hidden csrf and user_code and the buttons
// name="decision" value="approve" ("Allow") and value="deny" ("Deny").
// Shows device_info as text only: it comes from the device and is never a link.
std::string RenderDeviceConfirm(const Theme& theme, const DeviceConfirmView& view);

// RenderDeviceDone returns the page that ends the user's part (RFC 8628 §3.3: "instructs the user
// to return to their device"): "Device connected" and "You can return to your device" when
// approved, otherwise "Device not connected". No form and no link.
std::string RenderDeviceDone(const Theme& theme, const DeviceDoneView& view);

// RenderLogoutConfirm returns the page titled and headed "Sign out?" (OpenID Connect RP-Initiated
// Logout 1.0 §2, §6: the OP asks the user when the request may not come from their application):
// "{client_name} asks to sign you out of {product}." (without a client: "Do you want to sign out of
// {product}?"), the signed-in user, and <form method="post" action="{action}"> with hidden csrf,
// then `fields` as hidden inputs in order, and the buttons name="decision" value="logout"
// ("Sign out") and value="stay" ("Stay signed in").
// Does NOT check `action` (the server's own path) nor `fields`: the caller passes only the logout
// parameters it will validate again on the POST, and never a `csrf` or `decision` of its own. Does
// NOT show post_logout_redirect_uri anywhere but its hidden input: it is not yet trusted.
std::string RenderLogoutConfirm(const Theme& theme, const LogoutConfirmView& view);

// RenderLoggedOut returns the page that ends a logout without a post-logout redirect: "You are
// signed out" and "You have signed out of {product}." when signed_out, otherwise "You are still
// signed in". No form and no link: the application named is only text.
std::string RenderLoggedOut(const Theme& theme, const LoggedOutView& view);

// ScopeDescription returns what a scope lets the client do, in plain words, for the consent page:
// openid, profile, email, phone, address (OIDC Core §5.4) and offline_access (§11) have fixed
// sentences; any other scope gives "Access to “{scope}”". The result is NOT escaped (the page does).
std::string ScopeDescription(std::string_view scope);

}  // namespace latchkey::ui
