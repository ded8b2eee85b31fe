#include "server/token_cache.hpp"

#include <gtest/gtest.h>

namespace latchkey::server {
namespace {

TokenCache::Entry MakeEntry(int64_t expires_at, std::string body = R"({"active":true})") {
  return TokenCache::Entry{"app", expires_at, std::move(body)};
}

TEST(TokenCacheTest, KeepsAnEntryUntilItsTokenExpires) {
  TokenCache cache(10);
  cache.Put(cache.Generation(), "h", MakeEntry(200, "body"), 100);
  auto hit = cache.Get("h", 199);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->body, "body");
  EXPECT_EQ(hit->client_id, "app");
  EXPECT_EQ(cache.Get("h", 200), nullptr) << "expired at exp";
  EXPECT_EQ(cache.Get("other", 100), nullptr);
}

TEST(TokenCacheTest, AnExpiredEntryIsNotKept) {
  TokenCache cache(10);
  cache.Put(cache.Generation(), "h", MakeEntry(100), 100);
  EXPECT_EQ(cache.Size(), 0u);
}

TEST(TokenCacheTest, ForgetDropsEverything) {
  TokenCache cache(10);
  cache.Put(cache.Generation(), "a", MakeEntry(200), 100);
  cache.Put(cache.Generation(), "b", MakeEntry(200), 100);
  cache.Forget();
  EXPECT_EQ(cache.Get("a", 100), nullptr);
  EXPECT_EQ(cache.Get("b", 100), nullptr);
  EXPECT_EQ(cache.Size(), 0u);
}

TEST(TokenCacheTest, ALookupThatRacedARevocationIsNotKept) {
  // A lookup reads the generation, asks the store (which still says active), a revocation lands
  // and calls Forget, then the lookup tries to keep what it found: it must be dropped.
  TokenCache cache(10);
  const uint64_t before = cache.Generation();
  cache.Forget();
  cache.Put(before, "h", MakeEntry(200), 100);
  EXPECT_EQ(cache.Get("h", 100), nullptr);
  cache.Put(cache.Generation(), "h", MakeEntry(200), 100);
  EXPECT_NE(cache.Get("h", 100), nullptr) << "a lookup after the revocation is kept";
}

TEST(TokenCacheTest, AFullCacheDropsExpiredEntriesFirst) {
  TokenCache cache(2);
  cache.Put(cache.Generation(), "old", MakeEntry(150), 100);
  cache.Put(cache.Generation(), "live", MakeEntry(500), 100);
  cache.Put(cache.Generation(), "new", MakeEntry(500), 200);  // "old" has expired at 200
  EXPECT_NE(cache.Get("live", 200), nullptr);
  EXPECT_NE(cache.Get("new", 200), nullptr);
  EXPECT_EQ(cache.Size(), 2u);
}

TEST(TokenCacheTest, AFullCacheOfLiveEntriesStartsOver) {
  TokenCache cache(2);
  cache.Put(cache.Generation(), "a", MakeEntry(500), 100);
  cache.Put(cache.Generation(), "b", MakeEntry(500), 100);
  cache.Put(cache.Generation(), "c", MakeEntry(500), 100);
  EXPECT_EQ(cache.Size(), 1u);
  EXPECT_NE(cache.Get("c", 100), nullptr);
  // Replacing an entry already kept does not count as growth.
  cache.Put(cache.Generation(), "d", MakeEntry(500), 100);
  cache.Put(cache.Generation(), "d", MakeEntry(600, "newer"), 100);
  EXPECT_EQ(cache.Size(), 2u);
  EXPECT_EQ(cache.Get("d", 100)->body, "newer");
}

TEST(TokenCacheTest, CapacityZeroKeepsNothing) {
  TokenCache cache(0);
  cache.Put(cache.Generation(), "h", MakeEntry(500), 100);
  EXPECT_EQ(cache.Get("h", 100), nullptr);
}

}  // namespace
}  // namespace latchkey::server
