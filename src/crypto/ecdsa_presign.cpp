// ECDSA_sign_setup and ECDSA_do_sign_ex, the only OpenSSL 3.0 interface that takes a precomputed
// nonce, belong to the deprecated EC_KEY family; this file alone uses them.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "crypto/ecdsa_presign.hpp"
#include "crypto/owned.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <pthread.h>

#include <atomic>
#include <memory>
#include <vector>

namespace latchkey::crypto::internal {

namespace {

constexpr int kP256Bytes = 32;
constexpr size_t kKeysPerThread = 8;

using SecretBnPtr = Owned<BIGNUM, BN_clear_free>;
using EcKeyPtr = Owned<EC_KEY, EC_KEY_free>;
using PkeyPtr = Owned<EVP_PKEY, EVP_PKEY_free>;
using BnCtxPtr = Owned<BN_CTX, BN_CTX_free>;
using EcdsaSigPtr = Owned<ECDSA_SIG, ECDSA_SIG_free>;

// Bumped in the child of every fork: a thread's nonces from before the fork are then dropped
// unused, since the parent may still use them (a nonce used twice gives the private key away).
std::atomic<uint64_t> g_fork_generation{0};

uint64_t ForkGeneration() {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, [] { g_fork_generation.fetch_add(1, std::memory_order_relaxed); });
    return true;
  }();
  (void)registered;
  return g_fork_generation.load(std::memory_order_relaxed);
}

struct Nonce {
  SecretBnPtr k_inverse;
  SecretBnPtr r;
};

// Supply: one key's nonces on one thread. It holds a reference on the key, so the key cannot be
// freed (and its address reused) while the cache remembers it.
struct Supply {
  PkeyPtr key;
  EcKeyPtr ec;
  std::vector<Nonce> nonces;
  uint64_t generation = 0;
};

std::vector<Supply>& Supplies() {
  thread_local std::vector<Supply> supplies;
  return supplies;
}

Supply* SupplyFor(EVP_PKEY* key, bool create) {
  auto& supplies = Supplies();
  for (auto& supply : supplies) {
    if (supply.key.get() == key) return &supply;
  }
  if (!create) return nullptr;
  EcKeyPtr ec(EVP_PKEY_get1_EC_KEY(key));
  if (!ec || EVP_PKEY_up_ref(key) != 1) return nullptr;
  // Oldest out first; keys rotate rarely.
  if (supplies.size() == kKeysPerThread) supplies.erase(supplies.begin());
  supplies.push_back({PkeyPtr(key), std::move(ec), {}, ForkGeneration()});
  return &supplies.back();
}

// Refill computes a batch of nonces: k from the CSPRNG, k^-1 mod n and r = (kG).x mod n.
bool Refill(Supply& supply) {
  BnCtxPtr ctx(BN_CTX_new());
  if (!ctx) return false;
  supply.nonces.reserve(kPresignBatch);
  for (size_t i = 0; i < kPresignBatch; ++i) {
    BIGNUM* k_inverse = nullptr;
    BIGNUM* r = nullptr;
    if (ECDSA_sign_setup(supply.ec.get(), ctx.get(), &k_inverse, &r) != 1) {
      BN_clear_free(k_inverse);
      BN_clear_free(r);
      return !supply.nonces.empty();
    }
    supply.nonces.push_back({SecretBnPtr(k_inverse), SecretBnPtr(r)});
  }
  return true;
}

}  // namespace

bool SignP256Digest(EVP_PKEY* key, const unsigned char* digest, unsigned char* out) {
  Supply* supply = SupplyFor(key, true);
  if (supply == nullptr) return false;
  if (const uint64_t generation = ForkGeneration(); supply->generation != generation) {
    supply->nonces.clear();
    supply->generation = generation;
  }
  if (supply->nonces.empty() && !Refill(*supply)) return false;
  // Taken out before use: whatever happens next, this nonce is never used again.
  Nonce nonce = std::move(supply->nonces.back());
  supply->nonces.pop_back();
  EcdsaSigPtr sig(
      ECDSA_do_sign_ex(digest, kP256Bytes, nonce.k_inverse.get(), nonce.r.get(), supply->ec.get()));
  // No signature: s = 0 (probability about 2^-256); the caller signs the usual way.
  return sig && WriteP256Signature(sig.get(), out);
}

bool WriteP256Signature(const ECDSA_SIG* sig, unsigned char* out) {
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  return BN_bn2binpad(r, out, kP256Bytes) == kP256Bytes &&
         BN_bn2binpad(s, out + kP256Bytes, kP256Bytes) == kP256Bytes;
}

size_t PresignedNoncesHeld(EVP_PKEY* key) {
  const Supply* supply = SupplyFor(key, false);
  if (supply == nullptr || supply->generation != ForkGeneration()) return 0;
  return supply->nonces.size();
}

}  // namespace latchkey::crypto::internal
