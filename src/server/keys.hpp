#pragma once

// Signing keys of the server: generated on first start (RSA-2048 for RS256/PS256, P-256 for ES256,
// Ed25519 for EdDSA), persisted as PKCS#8 PEM through the store, and loaded into the signing set
// and the public JWKS. kid is the RFC 7638 thumbprint.

#include <string>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "jose/jose.hpp"
#include "oauth/token.hpp"
#include "store/store.hpp"

namespace latchkey::server {

// KeySet: what the token endpoint signs with and what /jwks publishes.
struct KeySet {
  oauth::SigningKeys signing;
  jose::Jwks public_jwks;
};

// EnsureSigningKeys adds a key of each kind (RSA, P-256, Ed25519) that the store does not yet hold.
// Returns a description of the failure on error.
// New RSA keys have `rsa_bits`; keys already stored keep their size.
common::Result<void, std::string> EnsureSigningKeys(store::KeyStore& keys, const common::Clock& clock,
                                                    int rsa_bits = 2048);

// LoadKeySet reads every active key from `keys`. The RSA key signs both RS256 and PS256 under one
// kid; the JWKS lists each key once with the algorithm it is published for.
common::Result<KeySet, std::string> LoadKeySet(store::KeyStore& keys);

}  // namespace latchkey::server
