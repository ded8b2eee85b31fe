// Fuzzes the normalisation of typed device user codes (RFC 8628 §6.1): whatever is typed, the result
// is absent or exactly kUserCodeLength characters of the alphabet, and normalising its formatted
// form gives it back.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "oauth/device.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace oauth = latchkey::oauth;
  std::string_view typed(reinterpret_cast<const char*>(data), size);
  auto code = oauth::NormalizeUserCode(typed);
  if (!code) return 0;
  if (code->size() != oauth::kUserCodeLength) __builtin_trap();
  for (char c : *code) {
    if (oauth::kUserCodeAlphabet.find(c) == std::string_view::npos) __builtin_trap();
  }
  auto again = oauth::NormalizeUserCode(oauth::FormatUserCode(*code));
  if (!again || *again != *code) __builtin_trap();
  return 0;
}
