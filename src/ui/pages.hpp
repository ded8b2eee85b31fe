#pragma once

// The sign-in pages: login, consent, error and the form_post response, rendered as complete HTML
// documents from plain view structs. Every string from a view or the Theme is escaped with
// EscapeHtml; the pages load only /assets/latchkey.css and run no script, except the form_post
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

// ScopeDescription returns what a scope lets the client do, in plain words, for the consent page:
// openid, profile, email, phone, address (OIDC Core §5.4) and offline_access (§11) have fixed
// sentences; any other scope gives "Access to “{scope}”". The result is NOT escaped (the page does).
std::string ScopeDescription(std::string_view scope);

}  // namespace latchkey::ui
