// Fuzzes HTTP Basic parsing (RFC 7617 with the RFC 6749 §2.3.1 form-urlencoding).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "oauth/client_auth.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view header(reinterpret_cast<const char*>(data), size);
  auto basic = latchkey::oauth::ParseBasicAuthorization(header);
  if (basic && basic->user.empty()) __builtin_trap();  // an empty client id is never accepted
  auto params = latchkey::oauth::ParseFormParams("grant_type=client_credentials");
  if (params) (void)latchkey::oauth::ExtractClientCredentials(header, *params);
  return 0;
}
