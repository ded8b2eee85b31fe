#pragma once

// CSRF protection for Latchkey's own HTML forms (login, consent): the "signed double-submit
// cookie" of the OWASP Cross-Site Request Forgery Prevention Cheat Sheet. The server sets a random
// cookie; each form carries an HMAC of that cookie and of what the form was rendered for. A
// cross-site attacker can make the browser send the cookie but can neither read it nor compute
// the HMAC, so cannot produce a matching form field.

#include <string>
#include <string_view>

#include "common/random.hpp"

namespace latchkey::identity {

// kCsrfCookieBytes is the entropy of a CSRF cookie value (base64url: 43 characters).
inline constexpr size_t kCsrfCookieBytes = 32;

// CsrfGuard mints and checks CSRF tokens under one server-side key. Immutable after construction;
// thread-safe. Does NOT set or read cookies (the HTTP layer does) and does NOT by itself stop a
// sibling subdomain from planting its own cookie and token pair: name the cookie "__Host-..." and
// mark it Secure when serving over TLS (RFC 6265bis §4.1.3).
class CsrfGuard {
 public:
  // CsrfGuard takes `key`: at least 32 random bytes from the caller (e.g. crypto::RandomBytes(32)),
  // owned by the guard. Aborts on a shorter key: a guessable key would make every token forgeable.
  explicit CsrfGuard(std::string key);

  // NewCookieValue returns a fresh base64url value of kCsrfCookieBytes random bytes from `random`
  // (borrowed for the call) for the latchkey_csrf cookie.
  std::string NewCookieValue(common::Random& random) const;

  // TokenFor returns base64url(HMAC-SHA256(key, "csrf\0" + cookie_value + "\0" + context)), the
  // value of the form's hidden field. `context` binds the form to what it was rendered for (e.g.
  // the opaque authorization request string), so a token lifted from one form does not validate
  // another. Does NOT check `cookie_value`; Verify does.
  std::string TokenFor(std::string_view cookie_value, std::string_view context) const;

  // Verify returns true only when `token` equals TokenFor(cookie_value, context), compared in
  // constant time. False for an empty or malformed cookie value (anything but base64url of exactly
  // kCsrfCookieBytes bytes, as NewCookieValue makes), an empty token, or any mismatch.
  bool Verify(std::string_view cookie_value, std::string_view context, std::string_view token) const;

 private:
  std::string key_;
};

}  // namespace latchkey::identity
