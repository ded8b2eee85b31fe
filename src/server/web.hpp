#pragma once

// What the server's endpoints share: for the HTML pages (sign-in, device approval, logout) cookie
// names, the form check and the Content-Security-Policy; for the back-channel endpoints the request
// view and the uncacheable JSON response.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"
#include "oauth/error.hpp"
#include "oauth/token.hpp"
#include "store/store.hpp"

namespace latchkey::server {

// Cookie names: over https the __Host- prefix makes the browser refuse the cookie unless it is
// Secure, host-only and Path=/, so a sibling subdomain cannot plant one (RFC 6265bis §4.1.3.2).
std::string SessionCookie(bool secure);
std::string CsrfCookieName(bool secure);
// A cookie value Latchkey minted is 43 base64url characters; anything much longer is not ours.
inline constexpr size_t kMaxCookieValue = 64;

// IsFormPost: the request carries an application/x-www-form-urlencoded body.
bool IsFormPost(const http::Request& request);

// FormActionSource: the CSP source that lets a page's form (or the redirect after it: browsers
// apply form-action to redirects) reach the client's redirect URI (CSP Level 3 §6.3.1); empty when
// `redirect_uri` is empty or not absolute.
std::string FormActionSource(std::string_view redirect_uri);

// PageCsp: the policy of every page: nothing but our stylesheet and images, forms to ourselves (and
// to `redirect_uri`'s origin when given), a script only with `script_nonce`, never framed.
std::string PageCsp(std::string_view redirect_uri, std::string_view script_nonce = {});

// SessionSid: the OIDC "sid" of a session (Back-Channel Logout §2.1, RP-Initiated Logout §2),
// derived from the stored hash so that neither the cookie nor the stored key is disclosed to
// relying parties; "" for an empty hash.
std::string SessionSid(std::string_view session_id_hash);

// NoStoreJson: a JSON response that must not be cached (RFC 6749 §5.1: token responses and
// errors; RFC 7662 §2.2, RFC 8628 §3.2 alike).
http::Response NoStoreJson(int status, std::string body);

// TokenHttp: the parts of a back-channel request (token, introspection, revocation, device
// authorization) that the protocol parsers read. Views into `request`.
oauth::TokenHttpRequest TokenHttp(const http::Request& request);

void AddCookies(http::Response& response, const std::vector<std::string>& set_cookies);

// StoreUnavailable: the token endpoint's answer when the store failed (temporarily_unavailable,
// 503): the client may retry, and nothing it was given is spent.
oauth::Error StoreUnavailable();

// ActiveUser: the user a grant acts for, who must still exist and be active (invalid_grant);
// StoreUnavailable when the store cannot tell.
oauth::Result<store::UserRecord> ActiveUser(store::UserStore& users, const std::string& user_id);
// ActiveUser with the user already read: `user` as GetUser returned it.
oauth::Result<store::UserRecord> ActiveUser(store::Result<store::UserRecord> user);

}  // namespace latchkey::server
