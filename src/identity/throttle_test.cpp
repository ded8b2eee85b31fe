#include "identity/throttle.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <latch>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/base64.hpp"
#include "crypto/digest.hpp"
#include "store/memory/memory_store.hpp"

namespace latchkey::identity {
namespace {

constexpr int64_t kT0 = 1'700'000'000;

// Unwrap: a store answer the test expects to be there.
template <class T>
T Unwrap(store::Result<T> r) {
  EXPECT_TRUE(r.has_value());
  return r.has_value() ? *r : T{};
}

class ThrottleTest : public ::testing::Test {
 protected:
  std::unique_ptr<store::Store> store_ = store::memory::NewMemoryStore();

  int64_t Fail(LoginThrottle& t, const std::string& key, int64_t now) {
    return Unwrap(t.RecordFailure(key, now));
  }
  int64_t Wait(const LoginThrottle& t, const std::string& key, int64_t now) {
    return Unwrap(t.RetryAfter(key, now));
  }
};

// NIST SP 800-63B §5.2.2: after free_failures, each failure doubles the wait up to the cap.
TEST_F(ThrottleTest, BackoffSequenceNistSp800_63bSection5_2_2) {
  LoginThrottle throttle(ThrottlePolicy{.free_failures = 3, .base_delay = 1, .max_delay = 60}, *store_);
  const std::string key = "user:alice";
  EXPECT_EQ(Wait(throttle, key, kT0), 0);
  // Failure n at time kT0 + 100 n (each after the previous lock ran out).
  const int64_t kWant[] = {0, 0, 0, 2, 4, 8, 16, 32, 60, 60, 60};
  for (int n = 0; n < 11; ++n) {
    int64_t now = kT0 + 100 * n;
    EXPECT_EQ(Wait(throttle, key, now), 0) << "failure " << n + 1;
    EXPECT_EQ(Fail(throttle, key, now), kWant[n]) << "failure " << n + 1;
    EXPECT_EQ(Wait(throttle, key, now), kWant[n]) << "failure " << n + 1;
  }
  // The lock counts down and then lifts.
  const int64_t last = kT0 + 100 * 10;
  EXPECT_EQ(Wait(throttle, key, last + 1), 59);
  EXPECT_EQ(Wait(throttle, key, last + 59), 1);
  EXPECT_EQ(Wait(throttle, key, last + 60), 0);
  EXPECT_EQ(Wait(throttle, key, last + 61), 0);
  // Other keys are untouched, and the count is in the store.
  EXPECT_EQ(Wait(throttle, "user:bob", last), 0);
  EXPECT_EQ(Unwrap(store_->GetThrottle(LoginThrottle::StoreKey(key))).failures, 11);
}

TEST_F(ThrottleTest, BaseDelayScalesAndDefaultPolicy) {
  LoginThrottle scaled(ThrottlePolicy{.free_failures = 0, .base_delay = 5, .max_delay = 1000}, *store_);
  EXPECT_EQ(Fail(scaled, "k", kT0), 10);
  EXPECT_EQ(Fail(scaled, "k", kT0), 20);
  EXPECT_EQ(Fail(scaled, "k", kT0), 40);

  LoginThrottle defaults(ThrottlePolicy{}, *store_);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Fail(defaults, "d", kT0), 0);
  EXPECT_EQ(Fail(defaults, "d", kT0), 2);
  for (int i = 0; i < 20; ++i) Fail(defaults, "d", kT0);
  EXPECT_EQ(Fail(defaults, "d", kT0), 900);
}

TEST_F(ThrottleTest, HugeFailureCountsSaturateWithoutOverflow) {
  const ThrottlePolicy policy{.free_failures = 0,
                              .base_delay = int64_t{1} << 61,
                              .max_delay = std::numeric_limits<int64_t>::max() / 2};
  LoginThrottle throttle(policy, *store_);
  for (int i = 0; i < 200; ++i) {
    int64_t wait = Fail(throttle, "k", 0);
    EXPECT_GT(wait, 0) << i;
    EXPECT_LE(wait, std::numeric_limits<int64_t>::max() / 2) << i;
  }
  EXPECT_EQ(Wait(throttle, "k", 0), std::numeric_limits<int64_t>::max() / 2);
  EXPECT_EQ(LockSeconds(policy, std::numeric_limits<int64_t>::max()),
            std::numeric_limits<int64_t>::max() / 2);
}

TEST_F(ThrottleTest, SuccessResets) {
  LoginThrottle throttle(ThrottlePolicy{.free_failures = 2, .base_delay = 1, .max_delay = 900}, *store_);
  for (int i = 0; i < 5; ++i) Fail(throttle, "user:alice", kT0);
  Fail(throttle, "user:bob", kT0);
  ASSERT_EQ(Wait(throttle, "user:alice", kT0), 8);
  ASSERT_TRUE(throttle.RecordSuccess("user:alice"));
  EXPECT_EQ(Wait(throttle, "user:alice", kT0), 0);
  EXPECT_EQ(store_->GetThrottle(LoginThrottle::StoreKey("user:alice")).error(), store::Error::kNotFound);
  EXPECT_EQ(Wait(throttle, "user:bob", kT0), 0);
  EXPECT_EQ(Unwrap(store_->GetThrottle(LoginThrottle::StoreKey("user:bob"))).failures, 1);
  // Counting starts again from zero: two free failures, then 2 s.
  EXPECT_EQ(Fail(throttle, "user:alice", kT0 + 1), 0);
  EXPECT_EQ(Fail(throttle, "user:alice", kT0 + 1), 0);
  EXPECT_EQ(Fail(throttle, "user:alice", kT0 + 1), 2);
  EXPECT_TRUE(throttle.RecordSuccess("user:nobody"));  // unknown keys are fine
}

TEST_F(ThrottleTest, UntouchedEntriesExpireAfterForgetAfter) {
  LoginThrottle throttle(
      ThrottlePolicy{.free_failures = 2, .base_delay = 1, .max_delay = 900, .forget_after = 3600}, *store_);
  for (int i = 0; i < 2; ++i) Fail(throttle, "k", kT0);
  // Still remembered just before forget_after: the next failure locks.
  EXPECT_EQ(Fail(throttle, "k", kT0 + 3599), 2);
  // A failure refreshes the entry; forget_after counts from the last one.
  EXPECT_EQ(Wait(throttle, "k", kT0 + 3599 + 3599), 0);
  EXPECT_EQ(Fail(throttle, "k", kT0 + 3599 + 3599), 4);
  // Untouched for forget_after: forgotten, and counting starts again.
  const int64_t later = kT0 + 3599 + 3599 + 3600;
  EXPECT_EQ(Fail(throttle, "k", later), 0);
  EXPECT_EQ(Fail(throttle, "k", later), 0);
  EXPECT_EQ(Fail(throttle, "k", later), 2);
}

// A lock longer than forget_after is kept whole: the entry is forgotten max_delay after its last
// failure, not earlier.
TEST_F(ThrottleTest, LockOutlivesForgetAfter) {
  LoginThrottle throttle(
      ThrottlePolicy{.free_failures = 0, .base_delay = 100, .max_delay = 1000, .forget_after = 10}, *store_);
  EXPECT_EQ(Fail(throttle, "k", kT0), 200);
  EXPECT_EQ(Wait(throttle, "k", kT0 + 150), 50);
  EXPECT_EQ(Wait(throttle, "k", kT0 + 200), 0);
  EXPECT_EQ(Unwrap(store_->GetThrottle(LoginThrottle::StoreKey("k"))).forget_at, kT0 + 1000);
  EXPECT_EQ(Fail(throttle, "k", kT0 + 200), 400);  // still counted: the second failure
  // Past max_delay since the last failure: a fresh start.
  EXPECT_EQ(Fail(throttle, "k", kT0 + 1200), 200);
}

// Two throttles on one store (two nodes on one database) count the same failures.
TEST_F(ThrottleTest, ThrottlesOnOneStoreShareTheirCounts) {
  const ThrottlePolicy policy{.free_failures = 3, .base_delay = 1, .max_delay = 60};
  LoginThrottle node_a(policy, *store_);
  LoginThrottle node_b(policy, *store_);
  EXPECT_EQ(Fail(node_a, "user:alice", kT0), 0);
  EXPECT_EQ(Fail(node_b, "user:alice", kT0), 0);
  EXPECT_EQ(Fail(node_a, "user:alice", kT0), 0);
  EXPECT_EQ(Fail(node_b, "user:alice", kT0), 2);
  EXPECT_EQ(Wait(node_a, "user:alice", kT0 + 1), 1);
  ASSERT_TRUE(node_a.RecordSuccess("user:alice"));
  EXPECT_EQ(Wait(node_b, "user:alice", kT0 + 1), 0);
}

// RecordFailure from many threads at once: no update is lost and none is counted twice.
TEST_F(ThrottleTest, ConcurrentFailuresAreCountedExactly) {
  constexpr int kThreads = 8;
  constexpr int kHot = 5000;  // failures per thread on one shared key
  // The shared key locks exactly at failure kThreads * kHot: RetryAfter 0 means an update was
  // lost, 4 means one was counted twice, 2 means the count is exact.
  LoginThrottle throttle(ThrottlePolicy{.free_failures = kThreads * kHot - 1}, *store_);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&throttle, &start] {
      start.arrive_and_wait();  // all threads race from the same moment
      for (int i = 0; i < kHot; ++i) (void)throttle.RecordFailure("user:alice", kT0);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(Wait(throttle, "user:alice", kT0), 2);
}

// Keys are stored digested: a fixed length whatever was typed, its kind still readable, and the
// typed text itself nowhere in the store.
TEST_F(ThrottleTest, KeysAreStoredAsTheirKindAndADigest) {
  EXPECT_EQ(LoginThrottle::StoreKey("user:alice"),
            "user:" + common::Base64UrlEncode(crypto::Sha256("user:alice")));
  EXPECT_EQ(LoginThrottle::StoreKey("no-kind"), common::Base64UrlEncode(crypto::Sha256("no-kind")));
  EXPECT_NE(LoginThrottle::StoreKey("user:alice"), LoginThrottle::StoreKey("user:Alice"));
  EXPECT_NE(LoginThrottle::StoreKey("user:alice"), LoginThrottle::StoreKey("ip:alice"));
  const std::string typed = "user:" + std::string(100000, 'x');
  EXPECT_EQ(LoginThrottle::StoreKey(typed).size(), 5u + 43u);
  LoginThrottle throttle(ThrottlePolicy{.free_failures = 0}, *store_);
  EXPECT_EQ(Fail(throttle, typed, kT0), 2);
  EXPECT_EQ(Wait(throttle, typed, kT0), 2);
  EXPECT_EQ(store_->GetThrottle(typed).error(), store::Error::kNotFound);
  EXPECT_EQ(Unwrap(store_->GetThrottle(LoginThrottle::StoreKey(typed))).failures, 1);
}

TEST_F(ThrottleTest, BadPolicyAborts) {
  EXPECT_DEATH({ LoginThrottle t(ThrottlePolicy{.free_failures = -1}, *store_); }, "");
  EXPECT_DEATH({ LoginThrottle t(ThrottlePolicy{.base_delay = 0}, *store_); }, "");
  EXPECT_DEATH({ LoginThrottle t(ThrottlePolicy{.base_delay = 10, .max_delay = 5}, *store_); }, "");
  EXPECT_DEATH({ LoginThrottle t(ThrottlePolicy{.forget_after = -1}, *store_); }, "");
}

}  // namespace
}  // namespace latchkey::identity
