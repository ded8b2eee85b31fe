#include "identity/throttle.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "common/base64.hpp"
#include "crypto/digest.hpp"

namespace latchkey::identity {

int64_t LockSeconds(const ThrottlePolicy& policy, int64_t failures) {
  if (failures <= policy.free_failures) return 0;
  // base_delay * 2^(failures - free_failures), saturating at max_delay without overflow.
  int64_t delay = policy.base_delay;
  for (int64_t i = policy.free_failures; i < failures && delay < policy.max_delay; ++i) {
    delay = delay > policy.max_delay / 2 ? policy.max_delay : delay * 2;
  }
  return std::min(delay, policy.max_delay);
}

LoginThrottle::LoginThrottle(ThrottlePolicy policy, store::ThrottleStore& store)
    : policy_(policy), store_(store) {
  if (policy_.free_failures < 0 || policy_.base_delay < 1 || policy_.max_delay < policy_.base_delay ||
      policy_.forget_after < 0) {
    std::abort();
  }
}

namespace {

// Wait returns how long the stored entry `t` still locks its key at `now`.
int64_t Wait(const ThrottlePolicy& policy, const store::ThrottleRecord& t, int64_t now) {
  if (t.forget_at <= now) return 0;
  const int64_t lock = LockSeconds(policy, t.failures);
  // last_failure + lock - now, without overflow for a saturated lock.
  return lock > now - t.last_failure ? lock - (now - t.last_failure) : 0;
}

}  // namespace

std::string LoginThrottle::StoreKey(std::string_view key) {
  const size_t colon = key.find(':');
  const std::string_view kind =
      colon == std::string_view::npos ? std::string_view() : key.substr(0, colon + 1);
  return std::string(kind) + common::Base64UrlEncode(crypto::Sha256(key));
}

store::Result<int64_t> LoginThrottle::RetryAfter(const std::string& key, int64_t now) const {
  auto t = store_.GetThrottle(StoreKey(key));
  if (!t) return t.error() == store::Error::kNotFound ? store::Result<int64_t>(int64_t{0}) : t.error();
  return Wait(policy_, *t, now);
}

store::Result<int64_t> LoginThrottle::RecordFailure(const std::string& key, int64_t now) {
  // Forgotten no earlier than the end of the longest lock, so no lock is cut short.
  const int64_t keep = std::max(policy_.forget_after, policy_.max_delay);
  auto t = store_.CountThrottleFailure(
      StoreKey(key), now,
      now > std::numeric_limits<int64_t>::max() - keep ? std::numeric_limits<int64_t>::max() : now + keep);
  if (!t) return t.error();
  return Wait(policy_, *t, now);
}

store::Result<void> LoginThrottle::RecordSuccess(const std::string& key) {
  return store_.DeleteThrottle(StoreKey(key));
}

}  // namespace latchkey::identity
