#pragma once

// Digests, MACs, randomness and constant-time comparison.

#include <cstddef>
#include <string>
#include <string_view>

#include "common/random.hpp"

struct evp_md_st;  // OpenSSL's EVP_MD, opaque outside crypto/

namespace latchkey::crypto {

// Sha256Md returns the process-wide prefetched SHA-256 implementation (for use inside crypto/).
const evp_md_st* Sha256Md();

// Sha256 returns the 32-byte SHA-256 digest of `data`.
std::string Sha256(std::string_view data);

// HmacSha256 returns the 32-byte HMAC-SHA-256 of `data` under `key`.
std::string HmacSha256(std::string_view key, std::string_view data);

// RandomBytes returns `n` bytes from OpenSSL's CSPRNG (seeded by the OS). Aborts on RNG failure:
// continuing would hand out predictable secrets.
std::string RandomBytes(size_t n);

// SystemRandom is the production common::Random.
class SystemRandom final : public common::Random {
 public:
  std::string Bytes(size_t n) override { return RandomBytes(n); }
};

// ConstantTimeEquals compares two byte strings in time that depends only on their lengths
// (use it for every secret, hash of a secret, state or PKCE comparison).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace latchkey::crypto
