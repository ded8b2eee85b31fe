#pragma once

// Random: the injected source of unpredictable bytes. The production implementation lives in
// crypto/ (OpenSSL's CSPRNG); tests may inject a deterministic one.

#include <cstddef>
#include <string>

namespace latchkey::common {

// Random::Bytes returns `n` random bytes. Implementations are thread-safe and abort rather than
// return predictable output (a token minted from a failed RNG would be forgeable).
class Random {
 public:
  virtual ~Random() = default;
  virtual std::string Bytes(size_t n) = 0;
};

}  // namespace latchkey::common
