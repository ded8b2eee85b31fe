#include "server/token_cache.hpp"

#include <utility>

namespace latchkey::server {

TokenCache::TokenCache(std::size_t capacity) : capacity_(capacity) {}

uint64_t TokenCache::Generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

void TokenCache::Put(uint64_t generation, const std::string& token_hash, Entry entry, int64_t now) {
  if (capacity_ == 0 || entry.expires_at <= now) return;
  auto shared = std::make_shared<const Entry>(std::move(entry));
  std::lock_guard lock(mutex_);
  if (generation != generation_) return;  // a revocation came in while the store was asked
  if (entries_.size() >= capacity_ && !entries_.contains(token_hash)) {
    std::erase_if(entries_, [now](const auto& item) { return item.second->expires_at <= now; });
    if (entries_.size() >= capacity_) entries_.clear();
  }
  entries_.insert_or_assign(token_hash, std::move(shared));
}

std::shared_ptr<const TokenCache::Entry> TokenCache::Get(const std::string& token_hash, int64_t now) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(token_hash);
  if (it == entries_.end() || it->second->expires_at <= now) return nullptr;
  return it->second;
}

void TokenCache::Forget() {
  std::lock_guard lock(mutex_);
  ++generation_;
  entries_.clear();
}

std::size_t TokenCache::Size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace latchkey::server
