#include "server/keys.hpp"

#include <gtest/gtest.h>

#include "store/memory/memory_store.hpp"

namespace latchkey::server {
namespace {

TEST(SigningKeys, GeneratedOnceOfEachKindAndReloaded) {
  auto store = store::memory::NewMemoryStore();
  common::FakeClock clock(1'700'000'000);
  ASSERT_TRUE(EnsureSigningKeys(*store, clock).has_value());
  ASSERT_TRUE(EnsureSigningKeys(*store, clock).has_value());  // idempotent
  auto records = store->ListSigningKeys();
  ASSERT_TRUE(records.has_value());
  ASSERT_EQ(records->size(), 3u);

  auto set = LoadKeySet(*store);
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
}

TEST(SigningKeys, RsaSizeFollowsConfiguration) {
  auto store = store::memory::NewMemoryStore();
  common::FakeClock clock(1'700'000'000);
  ASSERT_TRUE(EnsureSigningKeys(*store, clock, 3072).has_value());
  auto set = LoadKeySet(*store);
  ASSERT_TRUE(set.has_value());
  auto rsa = set->signing.Find(jose::Alg::kRS256)->key.Rsa();
  ASSERT_TRUE(rsa.has_value());
  EXPECT_EQ(rsa->n.size(), 384u);  // 3072 bits
  // RFC 7518 §3.3: never below 2048 bits.
  EXPECT_FALSE(EnsureSigningKeys(*store::memory::NewMemoryStore(), clock, 1024).has_value());
}

TEST(SigningKeys, CorruptKeyIsReported) {
  auto store = store::memory::NewMemoryStore();
  ASSERT_TRUE(store->AddSigningKey({"bad", "ES256", "not a pem", "active", 1}).has_value());
  auto set = LoadKeySet(*store);
  ASSERT_FALSE(set.has_value());
  EXPECT_NE(set.error().find("bad"), std::string::npos);
}

}  // namespace
}  // namespace latchkey::server
