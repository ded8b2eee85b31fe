#include "crypto/digest.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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

const evp_md_st* Sha256Md() {
  // Fetched once: EVP_sha256() makes every EVP_Digest look the implementation up in the provider
  // store again (locks and a hash lookup per call).
  static const EVP_MD* const kMd = [] {
    const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (md == nullptr) AbortWith("EVP_MD_fetch(SHA256)");
    return md;
  }();
  return kMd;
}

std::string Sha256(std::string_view data) {
  std::string out(32, '\0');
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len, Sha256Md(),
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
  // Small requests (token ids, secrets, nonces) are served from a per-thread pool refilled 4 KiB
  // at a time from OpenSSL's DRBG: the same CSPRNG output, one generate call per ~250 tokens instead
  // of one per token. Bytes are handed out once and wiped from the pool.
  constexpr size_t kPoolBytes = 4096;
  thread_local unsigned char pool[kPoolBytes];
  thread_local size_t available = 0;
  std::string out(n, '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  if (n > kPoolBytes / 4) {
    size_t done = 0;
    while (done < n) {
      const size_t chunk = std::min<size_t>(n - done, 1 << 20);
      // A failed RNG must never yield predictable tokens: abort instead of returning.
      if (RAND_bytes(dst + done, static_cast<int>(chunk)) != 1) AbortWith("RandomBytes");
      done += chunk;
    }
    return out;
  }
  if (available < n) {
    if (RAND_bytes(pool, static_cast<int>(kPoolBytes)) != 1) AbortWith("RandomBytes");
    available = kPoolBytes;
  }
  unsigned char* src = pool + (kPoolBytes - available);
  std::memcpy(dst, src, n);
  OPENSSL_cleanse(src, n);
  available -= n;
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
