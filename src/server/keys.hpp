#pragma once

// Signing keys of the server and their lifecycle. Keys are generated with OpenSSL's CSPRNG
// (RSA-2048 for RS256/PS256, P-256 for ES256, Ed25519 for EdDSA), stored sealed under the
// key-encryption key (server/key_vault.hpp), and loaded into the signing set and the public JWKS.
// kid is the RFC 7638 thumbprint.
//
// Each algorithm has one active key (it signs), at most one next key (published, not signing
// yet) and any number of retired keys (no longer signing, published until every token they signed
// has expired). Rotation publishes the next key `publication_lead` seconds before it signs, so
// relying parties that cache the JWKS (this server says max-age=300) already hold it when the
// first token signed with it arrives (RFC 7517 §5 kid, OIDC Core §10.1.1 key rotation).

#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "jose/jose.hpp"
#include "oauth/token.hpp"
#include "server/key_vault.hpp"
#include "store/store.hpp"

namespace latchkey::server {

// KeySet: what the token endpoint signs with and what /jwks publishes.
struct KeySet {
  oauth::SigningKeys signing;
  jose::Jwks public_jwks;
};

// kKeyAlgs: the algorithms a key is kept for; the RSA key also signs PS256.
inline const std::vector<std::string> kKeyAlgs = {"RS256", "ES256", "EdDSA"};

// RotationPolicy: when keys change.
struct RotationPolicy {
  int64_t rotation_interval = 0;     // seconds an active key signs before the next takes over; 0: never
  int64_t publication_lead = 86400;  // seconds a next key is published before it signs
  int64_t retired_retention = 0;     // seconds a retired key stays published (longest token life)
  int rsa_bits = 2048;               // size of new RSA keys
};

// RotationPolicyFor: the policy `config` sets. A retired key stays published while a token it
// signed may still be checked: the longest access token (`longest_client_lifetime`: the longest
// any client has) or ID token lifetime, plus five minutes for clock skew and caches.
RotationPolicy RotationPolicyFor(const Config& config, int64_t longest_client_lifetime);

// KeyStep: one change PlanKeyMaintenance asks for.
enum class KeyStep {
  kAddActive,  // no key signs for `alg`: add one that signs at once
  kAddNext,    // publish a new key for `alg`, due to sign at `active_from`
  kActivate,   // the next key `kid` is due: it signs from now, the active one retires
  kDelete,     // the retired key `kid` outlived every token it signed
};

struct KeyAction {
  KeyStep step;
  std::string alg;
  std::string kid;
  int64_t active_from = 0;

  bool operator==(const KeyAction&) const = default;
};

// PlanKeyMaintenance decides, from the stored keys alone, what has to change at `now` (pure).
std::vector<KeyAction> PlanKeyMaintenance(const std::vector<store::SigningKeyRecord>& keys, int64_t now,
                                          const RotationPolicy& policy);

// NewSigningKey generates a key for `alg` and returns its record, sealed under `vault`.
common::Result<store::SigningKeyRecord, std::string> NewSigningKey(const std::string& alg,
                                                                   const std::string& state, int64_t now,
                                                                   int64_t active_from, const KeyVault& vault,
                                                                   int rsa_bits);

// MaintainSigningKeys applies the plan to `keys`. A step another node took first (kConflict) is
// not an error. Returns the steps this call took.
common::Result<std::vector<KeyAction>, std::string> MaintainSigningKeys(store::KeyStore& keys,
                                                                        const KeyVault& vault,
                                                                        const common::Clock& clock,
                                                                        const RotationPolicy& policy);

// ResealSigningKeys seals every key stored as bare PEM and, with `rewrap`, also re-seals under the
// current KEK every key sealed under a previous one. Returns how many keys were written.
common::Result<int, std::string> ResealSigningKeys(store::KeyStore& keys, const KeyVault& vault, bool rewrap);

// LoadKeySet reads every key from `keys`: the active key of each algorithm signs (the RSA key
// both RS256 and PS256 under one kid); next, active and retired keys are all published in the
// JWKS, each once with the algorithm it is published for.
common::Result<KeySet, std::string> LoadKeySet(store::KeyStore& keys, const KeyVault& vault);

}  // namespace latchkey::server
