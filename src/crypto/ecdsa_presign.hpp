#pragma once

// Internal to crypto/: ECDSA P-256 signing from precomputed nonces. Not a public interface; only
// key.cpp includes it.

#include <openssl/ec.h>
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>

namespace latchkey::crypto::internal {

// kPresignBatch: nonces computed together when a thread's supply for a key runs out.
constexpr size_t kPresignBatch = 16;

// SignP256Digest signs the SHA-256 `digest` (32 bytes) with `key`, an EC P-256 private key, and
// writes the signature as R || S (32 bytes each, RFC 7518 §3.4) to `out`. False on failure (the
// caller then signs with EVP_PKEY_sign).
//
// Nearly all of an ECDSA signature's cost is independent of the message and of the private key:
// drawing the nonce k and computing R = kG and k^-1 (SEC 1 v2 §4.1.3 steps 1-3). Each thread
// computes those for kPresignBatch signatures at a time, with OpenSSL's constant-time code for
// them (ECDSA_sign_setup), while the curve's tables are in the cache; a signature then only
// computes s = k^-1 (e + r d) mod n. Every nonce is used once and cleared after use. A fork starts
// the child with no nonces, so parent and child never sign with the same one.
bool SignP256Digest(EVP_PKEY* key, const unsigned char* digest, unsigned char* out);

// WriteP256Signature writes `sig` as JWS carries an ECDSA P-256 signature: R || S, 32 bytes each
// (RFC 7518 §3.4), to `out` (64 bytes). False when a value does not fit.
bool WriteP256Signature(const ECDSA_SIG* sig, unsigned char* out);

// PresignedNoncesHeld: nonces this thread holds for `key`, ready for use (for tests).
size_t PresignedNoncesHeld(EVP_PKEY* key);

}  // namespace latchkey::crypto::internal
