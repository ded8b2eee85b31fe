// Fuzzes the request parsing of the introspection and revocation endpoints (RFC 7662 §2.1, RFC 7009
// §2.1): the first line of the input is the Authorization header, the rest the body.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "oauth/introspection.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t newline = text.find('\n');
  latchkey::oauth::TokenHttpRequest request;
  request.method = "POST";
  request.content_type = "application/x-www-form-urlencoded";
  if (newline != std::string_view::npos) {
    request.authorization = text.substr(0, newline);
    request.authorization_count = 1;
    request.body = text.substr(newline + 1);
  } else {
    request.body = text;
  }
  for (bool allow_bearer : {false, true}) {
    auto parsed = latchkey::oauth::ParseTokenLookupRequest(request, allow_bearer);
    if (!parsed) continue;
    // Invariants: a token is always present, and exactly one way of identifying the caller.
    if (parsed->token.empty()) __builtin_trap();
    if (parsed->credentials.has_value() == !parsed->bearer.empty()) __builtin_trap();
    if (!allow_bearer && !parsed->bearer.empty()) __builtin_trap();
    (void)latchkey::oauth::LooksLikeJwt(parsed->token);
  }
  return 0;
}
