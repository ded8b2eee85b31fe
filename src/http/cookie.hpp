#pragma once

// HTTP cookies (RFC 6265): reading the Cookie request header (§4.2.1, §5.4) and writing one
// Set-Cookie response header value (§4.1). Host-only cookies only: Latchkey never sets Domain.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/message.hpp"

namespace latchkey::http {

// ParseCookies returns the cookie-pairs of every Cookie header value of `request`, in order
// (repeats kept):
//
//   cookie-string = cookie-pair *( ";" SP cookie-pair )        RFC 6265 §4.2.1
//   cookie-pair   = cookie-name "=" cookie-value
//
// Tolerant like browsers (§5.4 gives no parsing algorithm for servers): splits on ';' alone,
// trims spaces and tabs around names and values, strips one pair of DQUOTEs around a value, and
// keeps '=' inside a value. Skips a malformed pair (no '=', an empty name, or a control character
// in the name or value) instead of failing the whole header. Does NOT decode anything and does NOT
// check that values are cookie-octets: a cookie is attacker-controlled input like any other.
std::vector<std::pair<std::string, std::string>> ParseCookies(const Request& request);

// CookieValue returns the value of the FIRST cookie named `name` (case-sensitive), or nullopt.
// A request carrying two cookies of that name (e.g. one tossed in by a sibling domain with a wider
// Path) yields the first; browsers send longer paths first, then older cookies (§5.4 step 2).
std::optional<std::string> CookieValue(const Request& request, std::string_view name);

// SetCookie: one cookie to set. Defaults: session cookie, Path=/, HttpOnly, SameSite=Lax.
struct SetCookie {
  std::string name;
  std::string value;
  std::string path = "/";
  int64_t max_age = -1;  // -1: session cookie (no Max-Age); 0: delete now; > 0: seconds to live
  bool secure = false;
  bool http_only = true;
  std::string same_site = "Lax";  // "Strict", "Lax", "None", or "" for no SameSite attribute
};

// Render returns the Set-Cookie header value (RFC 6265 §4.1.1), attributes in this order:
//   name=value; Path=/; Max-Age=N; Secure; HttpOnly; SameSite=Lax
// Host-only: never a Domain attribute. Returns an empty string (a bug in the caller, so nothing is
// set) when the name is not a non-empty token, the value is not *cookie-octet (callers pass
// base64url; no DQUOTE form), the path is not '/'-prefixed or holds a control character or ';',
// max_age is below -1, same_site is not one of the four spellings above, SameSite=None lacks
// Secure (browsers drop such cookies), or a "__Host-" / "__Secure-" name prefix
// (RFC 6265bis §4.1.3) lacks what it promises (Secure; for __Host- also Path=/).
std::string Render(const SetCookie& cookie);

}  // namespace latchkey::http
