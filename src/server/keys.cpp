#include "server/keys.hpp"

#include <algorithm>
#include <utility>

#include "common/log.hpp"

namespace latchkey::server {
namespace {

std::optional<crypto::KeyType> KeyTypeFor(const std::string& alg) {
  if (alg == "RS256") return crypto::KeyType::kRsa;
  if (alg == "ES256") return crypto::KeyType::kEcP256;
  if (alg == "EdDSA") return crypto::KeyType::kEd25519;
  return std::nullopt;
}

const char* StepName(KeyStep step) {
  switch (step) {
    case KeyStep::kAddActive: return "added an active signing key";
    case KeyStep::kAddNext: return "published the next signing key";
    case KeyStep::kActivate: return "activated the next signing key";
    case KeyStep::kDelete: return "removed a retired signing key from the JWKS";
  }
  return "";
}

}  // namespace

RotationPolicy RotationPolicyFor(const Config& config, int64_t longest_client_lifetime) {
  RotationPolicy policy;
  policy.rotation_interval = config.key_rotation_interval;
  policy.publication_lead = config.key_publication_lead;
  policy.rsa_bits = config.rsa_bits;
  policy.retired_retention =
      std::max({config.access_token_lifetime, config.id_token_lifetime, longest_client_lifetime}) + 300;
  return policy;
}

std::vector<KeyAction> PlanKeyMaintenance(const std::vector<store::SigningKeyRecord>& keys, int64_t now,
                                          const RotationPolicy& policy) {
  std::vector<KeyAction> plan;
  for (const auto& alg : kKeyAlgs) {
    const store::SigningKeyRecord* active = nullptr;
    const store::SigningKeyRecord* next = nullptr;
    for (const auto& k : keys) {
      if (k.alg != alg) continue;
      if (k.state == "active" && active == nullptr) active = &k;
      if (k.state == "next" && next == nullptr) next = &k;
    }
    if (active == nullptr) {
      // Nothing signs: a published next key takes over at once (better early than no key), else
      // a new key signs at once.
      if (next != nullptr) {
        plan.push_back({KeyStep::kActivate, alg, next->kid});
      } else {
        plan.push_back({KeyStep::kAddActive, alg, {}, now});
      }
      continue;
    }
    if (next != nullptr) {
      if (now >= next->active_from) plan.push_back({KeyStep::kActivate, alg, next->kid});
      continue;
    }
    if (policy.rotation_interval <= 0) continue;
    const int64_t due = active->active_from + policy.rotation_interval;
    if (now >= due - policy.publication_lead) {
      plan.push_back({KeyStep::kAddNext, alg, {}, std::max(due, now + policy.publication_lead)});
    }
  }
  for (const auto& k : keys) {
    if (k.state == "retired" && now >= k.retired_at + policy.retired_retention) {
      plan.push_back({KeyStep::kDelete, k.alg, k.kid});
    }
  }
  return plan;
}

common::Result<store::SigningKeyRecord, std::string> NewSigningKey(const std::string& alg,
                                                                   const std::string& state, int64_t now,
                                                                   int64_t active_from, const KeyVault& vault,
                                                                   int rsa_bits) {
  // The record is an aggregate that a string would also construct: say which half each return is.
  using Out = common::Result<store::SigningKeyRecord, std::string>;
  const auto fail = [](std::string message) {
    return Out(boost::system::in_place_error, std::move(message));
  };
  auto type = KeyTypeFor(alg);
  if (!type) return fail("no signing keys of algorithm " + alg);
  auto key = crypto::GenerateKey(*type, rsa_bits);
  if (!key) return fail("cannot generate a " + alg + " key");
  auto pem = key->PrivatePem();
  auto kid = jose::Thumbprint(*key);
  if (!pem || !kid) return fail("cannot encode the " + alg + " key");
  auto sealed = vault.Seal(*pem, *kid, alg);
  if (!sealed) return fail(sealed.error());
  return Out(boost::system::in_place_value,
             store::SigningKeyRecord{*kid, alg, std::move(*sealed), state, now, active_from, 0});
}

common::Result<std::vector<KeyAction>, std::string> MaintainSigningKeys(store::KeyStore& keys,
                                                                        const KeyVault& vault,
                                                                        const common::Clock& clock,
                                                                        const RotationPolicy& policy) {
  auto existing = keys.ListSigningKeys();
  if (!existing) return std::string("cannot list signing keys");
  const int64_t now = clock.NowSeconds();
  std::vector<KeyAction> taken;
  for (auto& action : PlanKeyMaintenance(*existing, now, policy)) {
    store::Result<void> done;
    switch (action.step) {
      case KeyStep::kAddActive:
      case KeyStep::kAddNext: {
        const bool next = action.step == KeyStep::kAddNext;
        auto record = NewSigningKey(action.alg, next ? "next" : "active", now, action.active_from, vault,
                                    policy.rsa_bits);
        if (!record) return record.error();
        if (next) {
          // The lead counts from when the key is stored, not from when the step was planned: the
          // key took time to generate (RSA: up to seconds), and whole seconds trail the real clock
          // by up to one. Hence the clock read again, and one second more.
          record->active_from =
              std::max(record->active_from, clock.NowSeconds() + policy.publication_lead + 1);
          action.active_from = record->active_from;
        }
        action.kid = record->kid;
        done = keys.AddSigningKey(*record);
        break;
      }
      case KeyStep::kActivate: done = keys.ActivateSigningKey(action.kid, now); break;
      case KeyStep::kDelete: done = keys.DeleteSigningKey(action.kid); break;
    }
    if (!done && (done.error() == store::Error::kConflict || done.error() == store::Error::kNotFound)) {
      continue;  // another node took this step first
    }
    if (!done) return std::string("cannot change the signing keys: the database is unavailable");
    common::LogInfo(StepName(action.step),
                    {{"kid", action.kid}, {"alg", action.alg}, {"active_from", action.active_from}});
    taken.push_back(std::move(action));
  }
  return taken;
}

common::Result<int, std::string> ResealSigningKeys(store::KeyStore& keys, const KeyVault& vault,
                                                   bool rewrap) {
  auto existing = keys.ListSigningKeys();
  if (!existing) return std::string("cannot list signing keys");
  int written = 0;
  for (const auto& record : *existing) {
    const bool bare = !KeyVault::KekId(record.private_key).has_value();
    if (!bare && (!rewrap || vault.SealedUnderCurrent(record.private_key))) continue;
    auto pem = vault.Open(record.private_key, record.kid, record.alg);
    if (!pem) return pem.error();
    auto sealed = vault.Seal(*pem, record.kid, record.alg);
    if (!sealed) return sealed.error();
    auto done = keys.ResealSigningKey(record.kid, record.private_key, *sealed);
    if (!done && (done.error() == store::Error::kConflict || done.error() == store::Error::kNotFound)) {
      continue;  // changed or removed meanwhile (another node sealed it, or it expired)
    }
    if (!done) return std::string("cannot re-seal the signing keys: the database is unavailable");
    ++written;
  }
  return written;
}

common::Result<KeySet, std::string> LoadKeySet(store::KeyStore& keys, const KeyVault& vault) {
  auto records = keys.ListSigningKeys();
  if (!records) return std::string("cannot list signing keys");
  KeySet set;
  for (const auto& record : *records) {
    auto alg = jose::ParseAlg(record.alg);
    if (!alg) return "signing key " + record.kid + " has an unknown algorithm";
    auto pem = vault.Open(record.private_key, record.kid, record.alg);
    if (!pem) return pem.error();
    auto key = crypto::KeyFromPrivatePem(*pem);
    if (!key) return "signing key " + record.kid + " cannot be decoded";
    if (!jose::AlgFitsKey(*alg, key->Type()))
      return "signing key " + record.kid + " does not fit its algorithm";
    auto public_key = key->PublicOnly();
    if (!public_key) return "signing key " + record.kid + " has no public half";
    // One active key per algorithm (the store enforces it); were there two, every node takes the
    // oldest, since keys are listed oldest first.
    if (record.state == "active" && set.signing.Find(*alg) == nullptr) {
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
