#include "server/keys.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "store/memory/memory_store.hpp"

namespace latchkey::server {
namespace {

constexpr int64_t kT0 = 1'700'000'000;
constexpr int64_t kDay = 86400;

KeyVault NewVault() { return *KeyVault::FromText(KeyVault::GenerateKekText()); }

RotationPolicy Policy(int64_t interval, int64_t lead, int64_t retention) {
  RotationPolicy p;
  p.rotation_interval = interval;
  p.publication_lead = lead;
  p.retired_retention = retention;
  return p;
}

store::SigningKeyRecord Key(std::string kid, std::string alg, std::string state, int64_t active_from,
                            int64_t retired_at = 0) {
  return {std::move(kid), std::move(alg), "sealed", std::move(state), 0, active_from, retired_at};
}

// Three active keys (one per algorithm), nothing else: the plan for one of them is what changes.
std::vector<store::SigningKeyRecord> Steady(int64_t active_from) {
  return {Key("rs", "RS256", "active", active_from), Key("es", "ES256", "active", active_from),
          Key("ed", "EdDSA", "active", active_from)};
}

TEST(PlanKeyMaintenance, EmptyStoreGetsOneActiveKeyPerAlgorithm) {
  auto plan = PlanKeyMaintenance({}, kT0, Policy(90 * kDay, kDay, 0));
  EXPECT_EQ(plan, (std::vector<KeyAction>{{KeyStep::kAddActive, "RS256", "", kT0},
                                          {KeyStep::kAddActive, "ES256", "", kT0},
                                          {KeyStep::kAddActive, "EdDSA", "", kT0}}));
}

TEST(PlanKeyMaintenance, NothingToDoBeforeThePublicationWindow) {
  const auto policy = Policy(90 * kDay, kDay, 0);
  EXPECT_TRUE(PlanKeyMaintenance(Steady(kT0), kT0 + 89 * kDay - 1, policy).empty());
  // Rotation off: never.
  EXPECT_TRUE(PlanKeyMaintenance(Steady(kT0), kT0 + 900 * kDay, Policy(0, kDay, 0)).empty());
}

// The next key is published `lead` before the active key's interval ends, and due exactly then.
TEST(PlanKeyMaintenance, NextKeyIsPublishedOneLeadBeforeItIsDue) {
  const auto policy = Policy(90 * kDay, kDay, 0);
  auto plan = PlanKeyMaintenance(Steady(kT0), kT0 + 89 * kDay, policy);
  ASSERT_EQ(plan.size(), 3u);
  for (const auto& step : plan) {
    EXPECT_EQ(step.step, KeyStep::kAddNext);
    EXPECT_EQ(step.active_from, kT0 + 90 * kDay);
  }
  // A node that was down past the due time still publishes a full lead before signing.
  plan = PlanKeyMaintenance(Steady(kT0), kT0 + 200 * kDay, policy);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].active_from, kT0 + 201 * kDay);
}

TEST(PlanKeyMaintenance, NextKeyActivatesWhenDueAndNotBefore) {
  const auto policy = Policy(90 * kDay, kDay, 0);
  auto keys = Steady(kT0);
  keys.push_back(Key("es-next", "ES256", "next", kT0 + 90 * kDay));
  for (const auto& step : PlanKeyMaintenance(keys, kT0 + 90 * kDay - 1, policy)) {
    EXPECT_NE(step.alg, "ES256");  // the other two get their next keys; ES256 has one
  }
  auto plan = PlanKeyMaintenance(keys, kT0 + 90 * kDay, policy);
  EXPECT_NE(std::find(plan.begin(), plan.end(), KeyAction{KeyStep::kActivate, "ES256", "es-next"}),
            plan.end());
}

TEST(PlanKeyMaintenance, NextKeyTakesOverAtOnceWhenNothingSigns) {
  std::vector<store::SigningKeyRecord> keys = {
      Key("rs", "RS256", "active", kT0), Key("ed", "EdDSA", "active", kT0),
      Key("es-old", "ES256", "retired", kT0, kT0 + 5), Key("es-next", "ES256", "next", kT0 + kDay)};
  auto plan = PlanKeyMaintenance(keys, kT0 + 10, Policy(0, kDay, kDay));
  EXPECT_EQ(plan, (std::vector<KeyAction>{{KeyStep::kActivate, "ES256", "es-next"}}));
}

// A retired key stays published for the retention (the longest token life), then goes.
TEST(PlanKeyMaintenance, RetiredKeyIsDeletedAfterTheRetention) {
  auto keys = Steady(kT0);
  keys.push_back(Key("old", "ES256", "retired", kT0 - kDay, kT0));
  const auto policy = Policy(0, kDay, 3600);
  EXPECT_TRUE(PlanKeyMaintenance(keys, kT0 + 3599, policy).empty());
  EXPECT_EQ(PlanKeyMaintenance(keys, kT0 + 3600, policy),
            (std::vector<KeyAction>{{KeyStep::kDelete, "ES256", "old"}}));
}

// A clock that moves on by `step` seconds every time it is read, like time spent generating keys.
class SteppingClock final : public common::Clock {
 public:
  SteppingClock(int64_t start, int64_t step) : now_(start), step_(step) {}
  int64_t NowSeconds() const override { return now_ += step_; }

 private:
  mutable int64_t now_;
  int64_t step_;
};

// The publication lead is counted from when the next key is stored, one second more for the whole
// seconds the clock is read in: never from the earlier moment at which the step was planned.
TEST(SigningKeys, NextKeyGetsTheFullLeadFromWhenItIsStored) {
  auto store = store::memory::NewMemoryStore();
  const KeyVault vault = NewVault();
  common::FakeClock start(kT0);
  ASSERT_TRUE(MaintainSigningKeys(*store, vault, start, Policy(90 * kDay, kDay, 0)).has_value());

  SteppingClock clock(kT0 + 89 * kDay, 7);
  auto taken = MaintainSigningKeys(*store, vault, clock, Policy(90 * kDay, kDay, 0));
  ASSERT_TRUE(taken.has_value()) << taken.error();
  ASSERT_EQ(taken->size(), 3u);
  auto records = store->ListSigningKeys();
  ASSERT_TRUE(records.has_value());
  int next_keys = 0;
  for (const auto& r : *records) {
    if (r.state != "next") continue;
    ++next_keys;
    // Planned at kT0 + 89 days + 7 s for kT0 + 90 days; each key is stored after at least one more
    // reading of the clock, so at least 7 s later.
    EXPECT_GE(r.active_from, kT0 + 89 * kDay + 14 + kDay + 1) << r.alg;
    const auto step =
        std::find_if(taken->begin(), taken->end(), [&](const KeyAction& a) { return a.kid == r.kid; });
    ASSERT_NE(step, taken->end());
    EXPECT_EQ(step->active_from, r.active_from) << "the log says what was stored";
  }
  EXPECT_EQ(next_keys, 3);
}

TEST(SigningKeys, GeneratedOnceOfEachKindSealedAndReloaded) {
  auto store = store::memory::NewMemoryStore();
  common::FakeClock clock(kT0);
  const KeyVault vault = NewVault();
  auto first = MaintainSigningKeys(*store, vault, clock, Policy(90 * kDay, kDay, 0));
  ASSERT_TRUE(first.has_value()) << first.error();
  EXPECT_EQ(first->size(), 3u);
  auto again = MaintainSigningKeys(*store, vault, clock, Policy(90 * kDay, kDay, 0));
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->empty());  // idempotent
  auto records = store->ListSigningKeys();
  ASSERT_TRUE(records.has_value());
  ASSERT_EQ(records->size(), 3u);
  for (const auto& r : *records) {
    EXPECT_TRUE(vault.SealedUnderCurrent(r.private_key)) << r.kid;
    EXPECT_EQ(r.private_key.find("PRIVATE KEY"), std::string::npos);
    EXPECT_EQ(r.state, "active");
    EXPECT_EQ(r.active_from, kT0);
  }

  auto set = LoadKeySet(*store, vault);
  ASSERT_TRUE(set.has_value()) << set.error();
  for (auto alg : {jose::Alg::kRS256, jose::Alg::kPS256, jose::Alg::kES256, jose::Alg::kEdDSA}) {
    EXPECT_NE(set->signing.Find(alg), nullptr) << jose::AlgName(alg);
  }
  // RS256 and PS256 share the one RSA key.
  EXPECT_EQ(set->signing.Find(jose::Alg::kRS256)->kid, set->signing.Find(jose::Alg::kPS256)->kid);
  ASSERT_EQ(set->public_jwks.keys.size(), 3u);
  for (const auto& jwk : set->public_jwks.keys) {
    EXPECT_FALSE(jwk.key.HasPrivate());
    // RFC 7638: the kid is the key's thumbprint.
    EXPECT_EQ(jwk.kid, *jose::Thumbprint(jwk.key));
  }
  // Another KEK does not open them.
  EXPECT_FALSE(LoadKeySet(*store, NewVault()).has_value());
}

// A whole rotation through the store: next published (in the JWKS, not signing), then signing
// while the old key stays published, then the old key gone after the retention.
TEST(SigningKeys, ScheduledRotationPublishesFirstAndRetiresLater) {
  auto store = store::memory::NewMemoryStore();
  common::FakeClock clock(kT0);
  const KeyVault vault = NewVault();
  const auto policy = Policy(10 * kDay, kDay, 3600);
  ASSERT_TRUE(MaintainSigningKeys(*store, vault, clock, policy).has_value());
  const std::string old_es = LoadKeySet(*store, vault)->signing.Find(jose::Alg::kES256)->kid;

  clock.Set(kT0 + 9 * kDay);
  auto published = MaintainSigningKeys(*store, vault, clock, policy);
  ASSERT_TRUE(published.has_value());
  ASSERT_EQ(published->size(), 3u);
  auto set = LoadKeySet(*store, vault);
  ASSERT_TRUE(set.has_value());
  EXPECT_EQ(set->public_jwks.keys.size(), 6u);
  EXPECT_EQ(set->signing.Find(jose::Alg::kES256)->kid, old_es);

  // Due at the end of the interval, one second later for the whole seconds of the clock.
  clock.Set(kT0 + 10 * kDay);
  EXPECT_TRUE(MaintainSigningKeys(*store, vault, clock, policy)->empty());
  clock.Set(kT0 + 10 * kDay + 1);
  ASSERT_EQ(MaintainSigningKeys(*store, vault, clock, policy)->size(), 3u);
  set = LoadKeySet(*store, vault);
  const std::string new_es = set->signing.Find(jose::Alg::kES256)->kid;
  EXPECT_NE(new_es, old_es);
  EXPECT_EQ(set->public_jwks.keys.size(), 6u);  // the retired keys are still published

  clock.Set(kT0 + 10 * kDay + 1 + 3600);
  ASSERT_EQ(MaintainSigningKeys(*store, vault, clock, policy)->size(), 3u);
  set = LoadKeySet(*store, vault);
  EXPECT_EQ(set->public_jwks.keys.size(), 3u);
  EXPECT_EQ(set->signing.Find(jose::Alg::kES256)->kid, new_es);
}

// Two nodes deciding at the same instant: each step is taken once (the second sees kConflict).
TEST(SigningKeys, TwoNodesTakeEachStepOnce) {
  auto store = store::memory::NewMemoryStore();
  common::FakeClock clock(kT0);
  const KeyVault vault = NewVault();
  const auto policy = Policy(10 * kDay, kDay, 3600);
  ASSERT_TRUE(MaintainSigningKeys(*store, vault, clock, policy).has_value());
  clock.Set(kT0 + 9 * kDay);
  ASSERT_EQ(MaintainSigningKeys(*store, vault, clock, policy)->size(), 3u);
  EXPECT_TRUE(MaintainSigningKeys(*store, vault, clock, policy)->empty());
  EXPECT_EQ(store->ListSigningKeys()->size(), 6u);
}

TEST(SigningKeys, BarePemIsSealedAndRewrapMovesToTheNewKek) {
  auto store = store::memory::NewMemoryStore();
  common::FakeClock clock(kT0);
  const std::string old_text = KeyVault::GenerateKekText();
  const KeyVault old_vault = *KeyVault::FromText(old_text);
  ASSERT_TRUE(MaintainSigningKeys(*store, old_vault, clock, Policy(0, kDay, 0)).has_value());
  // A database from before sealing: one key stored as bare PEM.
  auto bare = *old_vault.Open(store->ListSigningKeys()->front().private_key,
                              store->ListSigningKeys()->front().kid, store->ListSigningKeys()->front().alg);
  auto first = store->ListSigningKeys()->front();
  ASSERT_TRUE(store->ResealSigningKey(first.kid, first.private_key, bare).has_value());
  EXPECT_EQ(*ResealSigningKeys(*store, old_vault, false), 1);
  for (const auto& r : *store->ListSigningKeys()) EXPECT_TRUE(old_vault.SealedUnderCurrent(r.private_key));

  const KeyVault rotated = *KeyVault::FromText(KeyVault::GenerateKekText(), old_text);
  EXPECT_EQ(*ResealSigningKeys(*store, rotated, false), 0);  // without rewrap nothing moves
  EXPECT_EQ(*ResealSigningKeys(*store, rotated, true), 3);
  EXPECT_EQ(*ResealSigningKeys(*store, rotated, true), 0);
  for (const auto& r : *store->ListSigningKeys()) EXPECT_TRUE(rotated.SealedUnderCurrent(r.private_key));
  EXPECT_FALSE(LoadKeySet(*store, old_vault).has_value());
  EXPECT_TRUE(LoadKeySet(*store, rotated).has_value());
}

TEST(SigningKeys, RsaSizeFollowsConfiguration) {
  auto store = store::memory::NewMemoryStore();
  common::FakeClock clock(kT0);
  const KeyVault vault = NewVault();
  auto policy = Policy(0, kDay, 0);
  policy.rsa_bits = 3072;
  ASSERT_TRUE(MaintainSigningKeys(*store, vault, clock, policy).has_value());
  auto set = LoadKeySet(*store, vault);
  ASSERT_TRUE(set.has_value());
  auto rsa = set->signing.Find(jose::Alg::kRS256)->key.Rsa();
  ASSERT_TRUE(rsa.has_value());
  EXPECT_EQ(rsa->n.size(), 384u);  // 3072 bits
  // RFC 7518 §3.3: never below 2048 bits.
  policy.rsa_bits = 1024;
  EXPECT_FALSE(MaintainSigningKeys(*store::memory::NewMemoryStore(), vault, clock, policy).has_value());
}

TEST(SigningKeys, CorruptKeyIsReported) {
  auto store = store::memory::NewMemoryStore();
  ASSERT_TRUE(store->AddSigningKey({"bad", "ES256", "not a pem", "active", 1}).has_value());
  auto set = LoadKeySet(*store, NewVault());
  ASSERT_FALSE(set.has_value());
  EXPECT_NE(set.error().find("bad"), std::string::npos);
}

}  // namespace
}  // namespace latchkey::server
