#include "server/keys.hpp"

#include <utility>

namespace latchkey::server {
namespace {

struct KeyKind {
  crypto::KeyType type;
  const char* alg;
};
constexpr KeyKind kKinds[] = {
    {crypto::KeyType::kRsa, "RS256"},
    {crypto::KeyType::kEcP256, "ES256"},
    {crypto::KeyType::kEd25519, "EdDSA"},
};

}  // namespace

common::Result<void, std::string> EnsureSigningKeys(store::KeyStore& keys, const common::Clock& clock,
                                                    int rsa_bits) {
  auto existing = keys.ListSigningKeys();
  if (!existing) return std::string("cannot list signing keys");
  for (const auto& kind : kKinds) {
    bool present = false;
    for (const auto& record : *existing)
      present = present || (record.alg == kind.alg && record.state == "active");
    if (present) continue;
    auto key = crypto::GenerateKey(kind.type, rsa_bits);
    if (!key) return std::string("cannot generate a ") + kind.alg + " key";
    auto pem = key->PrivatePem();
    auto kid = jose::Thumbprint(*key);
    if (!pem || !kid) return std::string("cannot encode the ") + kind.alg + " key";
    store::SigningKeyRecord record{*kid, kind.alg, *pem, "active", clock.NowSeconds()};
    auto added = keys.AddSigningKey(record);
    if (!added && added.error() != store::Error::kConflict)
      return std::string("cannot store the signing key");
  }
  return {};
}

common::Result<KeySet, std::string> LoadKeySet(store::KeyStore& keys) {
  auto records = keys.ListSigningKeys();
  if (!records) return std::string("cannot list signing keys");
  KeySet set;
  for (const auto& record : *records) {
    if (record.state != "active") continue;
    auto alg = jose::ParseAlg(record.alg);
    if (!alg) return "signing key " + record.kid + " has an unknown algorithm";
    auto key = crypto::KeyFromPrivatePem(record.private_pem);
    if (!key) return "signing key " + record.kid + " cannot be decoded";
    if (!jose::AlgFitsKey(*alg, key->Type()))
      return "signing key " + record.kid + " does not fit its algorithm";
    auto public_key = key->PublicOnly();
    if (!public_key) return "signing key " + record.kid + " has no public half";
    // Keys are listed oldest first: the first key of each algorithm is the one that signs, so
    // every node sharing the database agrees on it.
    if (set.signing.Find(*alg) == nullptr) {
      set.signing.keys.push_back({record.kid, *alg, *key});
      if (*alg == jose::Alg::kRS256 && set.signing.Find(jose::Alg::kPS256) == nullptr) {
        set.signing.keys.push_back({record.kid, jose::Alg::kPS256, *key});
      }
    }
    set.public_jwks.keys.push_back({record.kid, *alg, "sig", std::move(*public_key)});
  }
  return set;
}

}  // namespace latchkey::server
