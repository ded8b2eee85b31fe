#include "http/cookie.hpp"

#include <algorithm>

#include "common/strings.hpp"

namespace latchkey::http {
namespace {

bool IsControl(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

bool HasControl(std::string_view s) { return std::any_of(s.begin(), s.end(), IsControl); }

// tchar (RFC 9110 §5.6.2): the cookie-name grammar of RFC 6265 §4.1.1 is `token`.
bool IsTchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// cookie-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E (RFC 6265 §4.1.1): US-ASCII
// without CTLs, whitespace, DQUOTE, comma, semicolon and backslash. A ';' or space in a value
// would let it smuggle attributes (e.g. "; Domain=evil.example") into the header.
bool IsCookieOctet(char c) {
  auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
}

void ParseCookieString(std::string_view header, std::vector<std::pair<std::string, std::string>>& out) {
  while (true) {
    size_t semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos) {
      std::string_view name = common::Trim(pair.substr(0, eq));
      std::string_view value = common::Trim(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      if (!name.empty() && !HasControl(name) && !HasControl(value)) out.emplace_back(name, value);
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ParseCookies(const Request& request) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : request.headers) {
    if (name == "cookie") ParseCookieString(value, out);
  }
  return out;
}

std::optional<std::string> CookieValue(const Request& request, std::string_view name) {
  for (auto& [key, value] : ParseCookies(request)) {
    if (key == name) return std::move(value);
  }
  return std::nullopt;
}

std::string Render(const SetCookie& cookie) {
  const std::string& name = cookie.name;
  if (name.empty() || !std::all_of(name.begin(), name.end(), IsTchar)) return {};
  if (!std::all_of(cookie.value.begin(), cookie.value.end(), IsCookieOctet)) return {};
  // A path must start with '/' or the browser silently uses the default path (RFC 6265 §5.2.4);
  // a ';' would start a new attribute.
  if (cookie.path.empty() || cookie.path.front() != '/' || HasControl(cookie.path) ||
      cookie.path.find(';') != std::string::npos) {
    return {};
  }
  if (cookie.max_age < -1) return {};
  const std::string& same_site = cookie.same_site;
  if (!same_site.empty() && same_site != "Strict" && same_site != "Lax" && same_site != "None") return {};
  if (same_site == "None" && !cookie.secure) return {};
  // Name prefixes (RFC 6265bis §4.1.3): a browser rejects a cookie that breaks them, so refuse
  // here where the mistake is visible. __Host- is what stops a sibling subdomain from tossing in
  // its own cookie of the same name.
  if (name.starts_with("__Secure-") && !cookie.secure) return {};
  if (name.starts_with("__Host-") && (!cookie.secure || cookie.path != "/")) return {};

  std::string out = name;
  out += '=';
  out += cookie.value;
  out += "; Path=";
  out += cookie.path;
  if (cookie.max_age >= 0) {
    out += "; Max-Age=";
    out += std::to_string(cookie.max_age);
  }
  if (cookie.secure) out += "; Secure";
  if (cookie.http_only) out += "; HttpOnly";
  if (!same_site.empty()) {
    out += "; SameSite=";
    out += same_site;
  }
  return out;
}

}  // namespace latchkey::http
