#include "crypto/digest.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

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
  // One MAC context per thread, its digest set once: HMAC() goes through EVP_Q_mac, which fetches
  // the MAC and the digest by name and builds a context on every call (about as much CPU as the
  // MAC itself for short inputs). EVP_MAC_init with a key and no parameters starts afresh with the
  // digest already set.
  static EVP_MAC* const kHmac = [] {
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac == nullptr) AbortWith("EVP_MAC_fetch(HMAC)");
    return mac;
  }();
  struct ContextDeleter {
    void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
  };
  thread_local const std::unique_ptr<EVP_MAC_CTX, ContextDeleter> ctx = [] {
    std::unique_ptr<EVP_MAC_CTX, ContextDeleter> c(EVP_MAC_CTX_new(kHmac));
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (c == nullptr || EVP_MAC_CTX_set_params(c.get(), params) != 1) AbortWith("HmacSha256 context");
    return c;
  }();
  std::string out(32, '\0');
  size_t len = 0;
  // A zero-length key still needs a non-null pointer.
  static const unsigned char kEmpty = 0;
  const unsigned char* key_ptr = key.empty() ? &kEmpty : Bytes(key);
  if (EVP_MAC_init(ctx.get(), key_ptr, key.size(), nullptr) != 1 ||
      EVP_MAC_update(ctx.get(), Bytes(data), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, out.size()) != 1 ||
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
