#include "identity/csrf.hpp"

#include <cstdlib>
#include <utility>

#include "common/base64.hpp"
#include "crypto/digest.hpp"

namespace latchkey::identity {

CsrfGuard::CsrfGuard(std::string key) : key_(std::move(key)) {
  // Always on, not an assert: a release build with an empty key would accept tokens anyone can
  // compute.
  if (key_.size() < 32) std::abort();
}

std::string CsrfGuard::NewCookieValue(common::Random& random) const {
  return common::Base64UrlEncode(random.Bytes(kCsrfCookieBytes));
}

std::string CsrfGuard::TokenFor(std::string_view cookie_value, std::string_view context) const {
  std::string message("csrf", 4);
  message.push_back('\0');
  message.append(cookie_value);
  message.push_back('\0');
  message.append(context);
  return common::Base64UrlEncode(crypto::HmacSha256(key_, message));
}

bool CsrfGuard::Verify(std::string_view cookie_value, std::string_view context,
                       std::string_view token) const {
  if (token.empty()) return false;
  // Only values NewCookieValue could have made: this refuses an empty cookie (a form posted without
  // one) and any NUL, which would make the "\0"-separated MAC input ambiguous between cookie and
  // context.
  auto raw = common::Base64UrlDecode(cookie_value);
  if (!raw || raw->size() != kCsrfCookieBytes) return false;
  return crypto::ConstantTimeEquals(TokenFor(cookie_value, context), token);
}

}  // namespace latchkey::identity
