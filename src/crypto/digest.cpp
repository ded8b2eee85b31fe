#include "crypto/digest.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>

namespace latchkey::crypto {

namespace {

const unsigned char* Bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// AbortWith stops the process: a digest or MAC that silently failed would make every comparison
// against it meaningless (e.g. a zero MAC matching a zero MAC).
[[noreturn]] void AbortWith(const char* what) {
  std::fprintf(stderr, "latchkey: fatal OpenSSL failure in %s\n", what);
  std::abort();
}

}  // namespace

std::string Sha256(std::string_view data) {
  std::string out(32, '\0');
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len, EVP_sha256(),
                 nullptr) != 1 ||
      len != 32) {
    AbortWith("Sha256");
  }
  return out;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  std::string out(32, '\0');
  unsigned int len = 0;
  // HMAC() with a zero-length key needs a non-null pointer.
  static const unsigned char kEmpty = 0;
  const unsigned char* key_ptr = key.empty() ? &kEmpty : Bytes(key);
  if (key.size() > INT_MAX ||
      HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()), Bytes(data), data.size(),
           reinterpret_cast<unsigned char*>(out.data()), &len) == nullptr ||
      len != 32) {
    AbortWith("HmacSha256");
  }
  return out;
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  size_t done = 0;
  while (done < n) {
    const size_t chunk = std::min<size_t>(n - done, 1 << 20);
    // A failed RNG must never yield predictable tokens: abort instead of returning.
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()) + done, static_cast<int>(chunk)) != 1) {
      AbortWith("RandomBytes");
    }
    done += chunk;
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Lengths are not secret (a token's length is public); contents are compared without an early
  // exit so response timing leaks nothing about how many leading bytes matched.
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace latchkey::crypto
