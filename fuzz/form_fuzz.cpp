// Fuzzes application/x-www-form-urlencoded parsing and the RFC 6749 parameter rules.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/form.hpp"
#include "oauth/params.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto fields = latchkey::common::ParseForm(text);
  if (fields) {
    // Encoding what was parsed and parsing it again must give the same fields.
    auto again = latchkey::common::ParseForm(latchkey::common::BuildForm(*fields));
    if (!again || *again != *fields) __builtin_trap();
  }
  (void)latchkey::oauth::ParseFormParams(text);
  return 0;
}
