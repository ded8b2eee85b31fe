#pragma once

// CountingRandom: a deterministic common::Random for tests. Each call returns bytes that differ
// from every earlier call's (byte i of call k is k * 31 + i), so code that must draw fresh
// randomness per use can be checked for it, and results are reproducible.

#include <cstddef>
#include <string>

#include "common/random.hpp"

namespace latchkey::common::testing {

class CountingRandom final : public Random {
 public:
  std::string Bytes(size_t n) override {
    std::string out(n, '\0');
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>(counter_ * 31 + i);
    ++counter_;
    return out;
  }

 private:
  unsigned counter_ = 1;
};

}  // namespace latchkey::common::testing
