#include "identity/throttle.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <latch>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace latchkey::identity {
namespace {

constexpr int64_t kT0 = 1'700'000'000;

// NIST SP 800-63B §5.2.2: after free_failures, each failure doubles the wait up to the cap.
TEST(ThrottleTest, BackoffSequenceNistSp800_63bSection5_2_2) {
  LoginThrottle throttle(ThrottlePolicy{.free_failures = 3, .base_delay = 1, .max_delay = 60});
  const std::string key = "user:alice";
  EXPECT_EQ(throttle.RetryAfter(key, kT0), 0);
  // Failure n at time kT0 + 100 n (each after the previous lock ran out).
  const int64_t kWant[] = {0, 0, 0, 2, 4, 8, 16, 32, 60, 60, 60};
  for (int n = 0; n < 11; ++n) {
    int64_t now = kT0 + 100 * n;
    EXPECT_EQ(throttle.RetryAfter(key, now), 0) << "failure " << n + 1;
    EXPECT_EQ(throttle.RecordFailure(key, now), kWant[n]) << "failure " << n + 1;
    EXPECT_EQ(throttle.RetryAfter(key, now), kWant[n]) << "failure " << n + 1;
  }
  // The lock counts down and then lifts.
  const int64_t last = kT0 + 100 * 10;
  EXPECT_EQ(throttle.RetryAfter(key, last + 1), 59);
  EXPECT_EQ(throttle.RetryAfter(key, last + 59), 1);
  EXPECT_EQ(throttle.RetryAfter(key, last + 60), 0);
  EXPECT_EQ(throttle.RetryAfter(key, last + 61), 0);
  // Other keys are untouched.
  EXPECT_EQ(throttle.RetryAfter("user:bob", last), 0);
  EXPECT_EQ(throttle.Size(), 1u);
}

TEST(ThrottleTest, BaseDelayScalesAndDefaultPolicy) {
  LoginThrottle scaled(ThrottlePolicy{.free_failures = 0, .base_delay = 5, .max_delay = 1000});
  EXPECT_EQ(scaled.RecordFailure("k", kT0), 10);
  EXPECT_EQ(scaled.RecordFailure("k", kT0), 20);
  EXPECT_EQ(scaled.RecordFailure("k", kT0), 40);

  LoginThrottle defaults(ThrottlePolicy{});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(defaults.RecordFailure("k", kT0), 0);
  EXPECT_EQ(defaults.RecordFailure("k", kT0), 2);
  for (int i = 0; i < 20; ++i) defaults.RecordFailure("k", kT0);
  EXPECT_EQ(defaults.RecordFailure("k", kT0), 900);
}

TEST(ThrottleTest, HugeFailureCountsSaturateWithoutOverflow) {
  LoginThrottle throttle(ThrottlePolicy{.free_failures = 0,
                                        .base_delay = int64_t{1} << 61,
                                        .max_delay = std::numeric_limits<int64_t>::max() / 2});
  for (int i = 0; i < 200; ++i) {
    int64_t wait = throttle.RecordFailure("k", 0);
    EXPECT_GT(wait, 0) << i;
    EXPECT_LE(wait, std::numeric_limits<int64_t>::max() / 2) << i;
  }
  EXPECT_EQ(throttle.RetryAfter("k", 0), std::numeric_limits<int64_t>::max() / 2);
}

TEST(ThrottleTest, SuccessResets) {
  LoginThrottle throttle(ThrottlePolicy{.free_failures = 2, .base_delay = 1, .max_delay = 900});
  for (int i = 0; i < 5; ++i) throttle.RecordFailure("user:alice", kT0);
  throttle.RecordFailure("user:bob", kT0);
  ASSERT_EQ(throttle.RetryAfter("user:alice", kT0), 8);
  throttle.RecordSuccess("user:alice");
  EXPECT_EQ(throttle.RetryAfter("user:alice", kT0), 0);
  EXPECT_EQ(throttle.Size(), 1u);
  // Counting starts again from zero: two free failures, then 2 s.
  EXPECT_EQ(throttle.RecordFailure("user:alice", kT0 + 1), 0);
  EXPECT_EQ(throttle.RecordFailure("user:alice", kT0 + 1), 0);
  EXPECT_EQ(throttle.RecordFailure("user:alice", kT0 + 1), 2);
  throttle.RecordSuccess("user:nobody");  // unknown keys are fine
  EXPECT_EQ(throttle.Size(), 2u);
}

TEST(ThrottleTest, UntouchedEntriesExpireAfterForgetAfter) {
  LoginThrottle throttle(
      ThrottlePolicy{.free_failures = 2, .base_delay = 1, .max_delay = 900, .forget_after = 3600});
  for (int i = 0; i < 2; ++i) throttle.RecordFailure("k", kT0);
  // Still remembered just before forget_after: the next failure locks.
  EXPECT_EQ(throttle.RecordFailure("k", kT0 + 3599), 2);
  // A failure refreshes the entry; forget_after counts from the last one.
  EXPECT_EQ(throttle.RetryAfter("k", kT0 + 3599 + 3599), 0);
  EXPECT_EQ(throttle.RecordFailure("k", kT0 + 3599 + 3599), 4);
  // Untouched for forget_after: forgotten, and counting starts again.
  const int64_t later = kT0 + 3599 + 3599 + 3600;
  EXPECT_EQ(throttle.RecordFailure("k", later), 0);
  EXPECT_EQ(throttle.RecordFailure("k", later), 0);
  EXPECT_EQ(throttle.RecordFailure("k", later), 2);
}

TEST(ThrottleTest, LockOutlivesForgetAfter) {
  LoginThrottle throttle(
      ThrottlePolicy{.free_failures = 0, .base_delay = 100, .max_delay = 1000, .forget_after = 10});
  EXPECT_EQ(throttle.RecordFailure("k", kT0), 200);
  EXPECT_EQ(throttle.RetryAfter("k", kT0 + 150), 50);
  EXPECT_EQ(throttle.RetryAfter("k", kT0 + 200), 0);
  // Past both the lock and forget_after: a fresh start.
  EXPECT_EQ(throttle.RecordFailure("k", kT0 + 200), 200);
}

TEST(ThrottleTest, FloodOfDistinctKeysStaysBounded) {
  LoginThrottle throttle(
      ThrottlePolicy{.free_failures = 3, .base_delay = 1, .max_delay = 900, .max_entries = 8});
  for (int i = 0; i < 1000; ++i) {
    throttle.RecordFailure("ip:10.0.0." + std::to_string(i), kT0 + i);
    ASSERT_LE(throttle.Size(), 8u) << i;
  }
  EXPECT_EQ(throttle.Size(), 8u);
  // The newest keys survive, the oldest were evicted.
  for (int i = 992; i < 1000; ++i) {
    throttle.RecordFailure("ip:10.0.0." + std::to_string(i), kT0 + 1000);
    throttle.RecordFailure("ip:10.0.0." + std::to_string(i), kT0 + 1000);
    EXPECT_EQ(throttle.RecordFailure("ip:10.0.0." + std::to_string(i), kT0 + 1000), 2) << i;
  }
  EXPECT_EQ(throttle.Size(), 8u);
}

TEST(ThrottleTest, EvictionPurgesExpiredFirstThenOldest) {
  LoginThrottle throttle(ThrottlePolicy{.free_failures = 3, .max_entries = 3, .forget_after = 100});
  // "old" went past free_failures (locked 2 s), so only the purge, not the eviction order, removes it.
  for (int i = 0; i < 4; ++i) throttle.RecordFailure("old", kT0);
  throttle.RecordFailure("a", kT0 + 50);
  throttle.RecordFailure("b", kT0 + 60);
  throttle.RecordFailure("a", kT0 + 70);  // "a" is now more recent than "b"
  // At kT0 + 100 "old" has expired: it alone goes, "a" and "b" stay.
  throttle.RecordFailure("c", kT0 + 100);
  EXPECT_EQ(throttle.Size(), 3u);
  EXPECT_EQ(throttle.RetryAfter("old", kT0 + 100), 0);
  // Nothing expired at kT0 + 101: the least recently failed ("b") is evicted, not "a".
  throttle.RecordFailure("d", kT0 + 101);
  EXPECT_EQ(throttle.Size(), 3u);
  // "a" kept its two failures; "b" starts from zero.
  throttle.RecordFailure("a", kT0 + 102);
  EXPECT_EQ(throttle.RecordFailure("a", kT0 + 102), 2);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(throttle.RecordFailure("b", kT0 + 102), 0) << i;
}

// A flood of cheap one-failure keys must not evict an account's lock.
TEST(ThrottleTest, EvictionSparesLockedKeys) {
  LoginThrottle throttle(
      ThrottlePolicy{.free_failures = 2, .base_delay = 1, .max_delay = 900, .max_entries = 4});
  for (int i = 0; i < 6; ++i) throttle.RecordFailure("user:alice", kT0);
  ASSERT_EQ(throttle.RetryAfter("user:alice", kT0), 16);
  for (int i = 0; i < 100; ++i) throttle.RecordFailure("user:guess" + std::to_string(i), kT0 + 1);
  EXPECT_EQ(throttle.Size(), 4u);
  EXPECT_EQ(throttle.RetryAfter("user:alice", kT0 + 1), 15);
  // Once every entry has gone past free_failures, the oldest goes after all.
  for (int k = 0; k < 4; ++k) {
    for (int i = 0; i < 3; ++i) throttle.RecordFailure("user:x" + std::to_string(k), kT0 + 2);
  }
  EXPECT_EQ(throttle.Size(), 4u);
  EXPECT_EQ(throttle.RetryAfter("user:alice", kT0 + 2), 0);
}

// RecordFailure from many threads at once: no update is lost and none is counted twice.
TEST(ThrottleTest, ConcurrentFailuresAreCountedExactly) {
  constexpr int kThreads = 8;
  constexpr int kHot = 50000;     // failures per thread on one shared key
  constexpr int kDistinct = 500;  // fresh keys per thread, so the map itself changes under contention
  // Several rounds: on a busy two-core machine one round may happen to run nearly serially.
  for (int round = 0; round < 4; ++round) {
    // The shared key locks exactly at failure kThreads * kHot: RetryAfter 0 means an update was
    // lost, 4 means one was counted twice, 2 means the count is exact.
    LoginThrottle throttle(ThrottlePolicy{.free_failures = kThreads * kHot - 1, .max_entries = 1'000'000});
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&throttle, &start, t] {
        start.arrive_and_wait();  // all threads race from the same moment
        for (int i = 0; i < kHot; ++i) {
          throttle.RecordFailure("user:alice", kT0);
          if (i < kDistinct) throttle.RecordFailure("ip:" + std::to_string(t) + "." + std::to_string(i), kT0);
        }
      });
    }
    for (auto& thread : threads) thread.join();
    ASSERT_EQ(throttle.RetryAfter("user:alice", kT0), 2) << "round " << round;
    ASSERT_EQ(throttle.Size(), static_cast<size_t>(1 + kThreads * kDistinct)) << "round " << round;
  }
}

TEST(ThrottleTest, BadPolicyAborts) {
  EXPECT_DEATH({ LoginThrottle t(ThrottlePolicy{.free_failures = -1}); }, "");
  EXPECT_DEATH({ LoginThrottle t(ThrottlePolicy{.base_delay = 0}); }, "");
  EXPECT_DEATH({ LoginThrottle t(ThrottlePolicy{.base_delay = 10, .max_delay = 5}); }, "");
  EXPECT_DEATH({ LoginThrottle t(ThrottlePolicy{.max_entries = 0}); }, "");
}

}  // namespace
}  // namespace latchkey::identity
