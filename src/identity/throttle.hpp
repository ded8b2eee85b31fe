#pragma once

// Login throttling: exponential back-off after repeated failed sign-ins, against online password
// guessing (NIST SP 800-63B §5.2.2 "Rate Limiting (Throttling)"; OWASP Authentication Cheat Sheet,
// "Login Throttling"). The counts live in the store, so every node on one database counts the same
// failures and a restart forgets none of them.

#include <cstdint>
#include <string>
#include <string_view>

#include "store/store.hpp"

namespace latchkey::identity {

// ThrottlePolicy: when and how long a key is locked. Times are seconds.
struct ThrottlePolicy {
  int64_t free_failures = 5;  // failures allowed before the first lock (>= 0)
  int64_t base_delay = 1;     // >= 1
  int64_t max_delay = 900;    // cap on one lock, >= base_delay
  int64_t forget_after =
      3600;  // an entry without a failure for this long (or max_delay, if longer) is forgotten
};

// LockSeconds returns how long the `failures`-th failure locks its key: 0 while failures <=
// free_failures, then min(max_delay, base_delay * 2^(failures - free_failures)), so the first lock
// lasts 2 * base_delay. Saturates without overflow.
int64_t LockSeconds(const ThrottlePolicy& policy, int64_t failures);

// LoginThrottle counts failed attempts per key in a store (the caller keeps one throttle per kind
// of key, e.g. "user:<name>" and, with a larger free_failures, "ip:<addr>"). Thread-safe, and safe
// across processes sharing the store: concurrent failures of one key are each counted once.
//
// A key is locked until its last failure plus LockSeconds(failures). It is forgotten (counting
// starts again from zero) forget_after seconds after its last failure, or max_delay seconds when
// that is longer, so a lock always ends before its key is forgotten; housekeeping deletes forgotten
// entries (Store::DeleteExpiredThrottles). Store errors are returned as they are: the caller
// answers 503 rather than let an attempt through uncounted.
//
// Does NOT decide what a key is.
class LoginThrottle {
 public:
  // LoginThrottle aborts on a policy outside the ranges above (a configuration bug).
  LoginThrottle(ThrottlePolicy policy, store::ThrottleStore& store);

  // RetryAfter returns the seconds `key` must still wait before another attempt at `now` (0: it
  // may try now; also 0 for an unknown or forgotten key). Writes nothing.
  store::Result<int64_t> RetryAfter(const std::string& key, int64_t now) const;

  // RecordFailure counts one more failure of `key` at `now` (a forgotten entry starts again from
  // zero) and returns the new RetryAfter(key, now).
  store::Result<int64_t> RecordFailure(const std::string& key, int64_t now);

  // RecordSuccess forgets `key` (call it after a successful sign-in).
  store::Result<void> RecordSuccess(const std::string& key);

  // StoreKey is what `key` is stored under: its kind (the text up to the first ':') and the
  // base64url SHA-256 of the whole key. Fixed length, so a username of any length fits a database
  // index, and no typed username is kept (people type passwords into that field too).
  static std::string StoreKey(std::string_view key);

 private:
  const ThrottlePolicy policy_;
  store::ThrottleStore& store_;
};

}  // namespace latchkey::identity
