// Fuzzes the token endpoint's request parsing: the first line of the input is the Authorization
// header, the rest the body.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "oauth/token.hpp"

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
  auto parsed = latchkey::oauth::ParseTokenRequest(request);
  if (parsed && parsed->grant_type.empty()) __builtin_trap();
  return 0;
}
