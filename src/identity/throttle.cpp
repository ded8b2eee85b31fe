#include "identity/throttle.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>

namespace latchkey::identity {

LoginThrottle::LoginThrottle(ThrottlePolicy policy) : policy_(policy) {
  if (policy_.free_failures < 0 || policy_.base_delay < 1 || policy_.max_delay < policy_.base_delay ||
      policy_.max_entries < 1 || policy_.forget_after < 0) {
    std::abort();
  }
}

bool LoginThrottle::Expired(const Entry& entry, int64_t now) const {
  // A lock outlives forget_after when max_delay > forget_after: never forget a key while locked.
  return now - entry.last_failure >= policy_.forget_after && now >= entry.locked_until;
}

std::list<std::string_view>& LoginThrottle::ListOf(const Entry& entry) {
  return entry.in_locked_list ? locked_ : unlocked_;
}

void LoginThrottle::Erase(Map::iterator it) {
  ListOf(it->second).erase(it->second.position);
  entries_.erase(it);
}

void LoginThrottle::MakeRoom(int64_t now) {
  // The lists are ordered by last failure (calls come with nearly monotonic times), so expired
  // entries sit at their fronts.
  for (auto* list : {&unlocked_, &locked_}) {
    while (!list->empty()) {
      auto it = entries_.find(list->front());
      if (!Expired(it->second, now)) break;
      Erase(it);
    }
  }
  while (entries_.size() >= policy_.max_entries) {
    auto& victims = unlocked_.empty() ? locked_ : unlocked_;
    Erase(entries_.find(victims.front()));
  }
}

int64_t LoginThrottle::RetryAfter(std::string_view key, int64_t now) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end() || Expired(it->second, now)) return 0;
  return std::max<int64_t>(0, it->second.locked_until - now);
}

int64_t LoginThrottle::RecordFailure(std::string_view key, int64_t now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it != entries_.end() && Expired(it->second, now)) {
    Erase(it);
    it = entries_.end();
  }
  if (it == entries_.end()) {
    MakeRoom(now);
    it = entries_.emplace(std::string(key), Entry{}).first;
    it->second.position = unlocked_.insert(unlocked_.end(), it->first);
  }
  Entry& entry = it->second;
  if (entry.failures < std::numeric_limits<int>::max()) ++entry.failures;
  entry.last_failure = now;

  bool locking = entry.failures > policy_.free_failures;
  // Move to the back of its list (most recent), switching lists when the key first gets locked.
  auto& from = ListOf(entry);
  entry.in_locked_list = entry.in_locked_list || locking;
  auto& to = ListOf(entry);
  to.splice(to.end(), from, entry.position);

  if (locking) {
    // base_delay * 2^(failures - free_failures), saturating at max_delay without overflow.
    int64_t delay = policy_.base_delay;
    for (int i = policy_.free_failures; i < entry.failures && delay < policy_.max_delay; ++i) {
      delay = delay > policy_.max_delay / 2 ? policy_.max_delay : delay * 2;
    }
    entry.locked_until = std::max(entry.locked_until, now + delay);
  }
  return std::max<int64_t>(0, entry.locked_until - now);
}

void LoginThrottle::RecordSuccess(std::string_view key) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it != entries_.end()) Erase(it);
}

size_t LoginThrottle::Size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace latchkey::identity
