#pragma once

// Login throttling: exponential back-off after repeated failed sign-ins, against online password
// guessing (NIST SP 800-63B §5.2.2 "Rate Limiting (Throttling)"; OWASP Authentication Cheat Sheet,
// "Login Throttling"). In memory, per process, bounded.

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace latchkey::identity {

// ThrottlePolicy: when and how long a key is locked. Times are seconds.
struct ThrottlePolicy {
  int free_failures = 5;        // failures allowed before the first lock (>= 0)
  int64_t base_delay = 1;       // >= 1
  int64_t max_delay = 900;      // cap on one lock, >= base_delay
  size_t max_entries = 100000;  // bound on tracked keys, >= 1
  int64_t forget_after = 3600;  // an entry untouched this long (and no longer locked) is forgotten
};

// LoginThrottle counts failed attempts per key (the caller keeps one throttle per kind of key,
// e.g. "user:<name>" and, with a larger free_failures, "ip:<addr>"). Thread-safe: one mutex, held
// only for map operations. Time is passed in by the caller (seconds since the epoch, from its
// common::Clock) so tests need no sleeping.
//
// Memory: at most max_entries keys. When a new key arrives at the bound, forgotten (expired)
// entries are purged first, then the least recently failed entry that never went past
// free_failures is evicted, and only when there is none the least recently failed of the others.
// So a flood of distinct keys with a failure or two each (cheap for an attacker) cannot evict an
// account's lock; an attacker must push max_entries keys past free_failures to do that.
//
// Does NOT decide what a key is, and does NOT persist across restarts or share state between
// processes.
class LoginThrottle {
 public:
  // LoginThrottle aborts on a policy outside the ranges above (a configuration bug).
  explicit LoginThrottle(ThrottlePolicy policy);

  // RetryAfter returns the seconds `key` must still wait before another attempt at `now`
  // (0: it may try now; also 0 for an unknown or forgotten key). Does not refresh the entry.
  int64_t RetryAfter(std::string_view key, int64_t now) const;

  // RecordFailure counts one more failure of `key` at `now` (a forgotten entry starts again from
  // zero). While failures <= free_failures nothing is locked; each further failure locks the key
  // for min(max_delay, base_delay * 2^(failures - free_failures)) seconds from `now`, so the first
  // lock lasts 2 * base_delay. Returns the new RetryAfter(key, now).
  int64_t RecordFailure(std::string_view key, int64_t now);

  // RecordSuccess forgets `key` (call it after a successful sign-in).
  void RecordSuccess(std::string_view key);

  // Size returns the number of tracked keys, including expired ones not yet purged.
  size_t Size() const;

 private:
  struct Entry {
    int failures = 0;
    int64_t locked_until = 0;  // epoch seconds; <= now: not locked
    int64_t last_failure = 0;
    bool in_locked_list = false;
    std::list<std::string_view>::iterator position;  // in unlocked_ or locked_
  };
  using Map = std::map<std::string, Entry, std::less<>>;

  bool Expired(const Entry& entry, int64_t now) const;
  std::list<std::string_view>& ListOf(const Entry& entry);
  void Erase(Map::iterator it);
  void MakeRoom(int64_t now);

  const ThrottlePolicy policy_;
  mutable std::mutex mutex_;
  Map entries_;
  // Keys (views into entries_' nodes, which never move) by last failure, oldest first; split by
  // whether the key ever went past free_failures, so eviction can spare locked keys.
  std::list<std::string_view> unlocked_;
  std::list<std::string_view> locked_;
};

}  // namespace latchkey::identity
