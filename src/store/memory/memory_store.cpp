#include "store/memory/memory_store.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <tuple>
#include <utility>

namespace latchkey::store::memory {
namespace {

// MemoryStore keeps everything in maps under one mutex. Revision is a counter bumped by every
// successful write; failed writes (kConflict, kNotFound) leave it unchanged.
class MemoryStore final : public Store {
 public:
  Result<ClientRecord> GetClient(const std::string& client_id) override {
    std::lock_guard lock(mutex_);
    auto it = clients_.find(client_id);
    if (it == clients_.end()) return Error::kNotFound;
    return it->second;
  }

  Result<std::vector<ClientRecord>> ListClients() override {
    std::lock_guard lock(mutex_);
    std::vector<ClientRecord> out;
    out.reserve(clients_.size());
    // std::map orders by client_id with std::string's byte-wise comparison, the same order as
    // SQLite's default BINARY collation, so every backend lists identically.
    for (const auto& [id, client] : clients_) out.push_back(client);
    return out;
  }

  Result<void> CreateClient(const ClientRecord& client) override {
    std::lock_guard lock(mutex_);
    if (!clients_.emplace(client.client_id, client).second) return Error::kConflict;
    ++revision_;
    return {};
  }

  Result<void> UpdateClient(const ClientRecord& client) override {
    std::lock_guard lock(mutex_);
    auto it = clients_.find(client.client_id);
    if (it == clients_.end()) return Error::kNotFound;
    it->second = client;
    ++revision_;
    return {};
  }

  Result<void> DeleteClient(const std::string& client_id) override {
    std::lock_guard lock(mutex_);
    if (clients_.erase(client_id) == 0) return Error::kNotFound;
    ++revision_;
    return {};
  }

  Result<std::vector<SigningKeyRecord>> ListSigningKeys() override {
    std::lock_guard lock(mutex_);
    std::vector<SigningKeyRecord> out;
    out.reserve(keys_.size());
    for (const auto& [kid, key] : keys_) out.push_back(key);
    std::sort(out.begin(), out.end(), [](const SigningKeyRecord& a, const SigningKeyRecord& b) {
      return std::tie(a.created_at, a.kid) < std::tie(b.created_at, b.kid);
    });
    return out;
  }

  Result<void> AddSigningKey(const SigningKeyRecord& key) override {
    std::lock_guard lock(mutex_);
    if (!keys_.emplace(key.kid, key).second) return Error::kConflict;
    ++revision_;
    return {};
  }

  Result<int64_t> Revision() override {
    std::lock_guard lock(mutex_);
    return revision_;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, ClientRecord> clients_;
  std::map<std::string, SigningKeyRecord> keys_;
  int64_t revision_ = 0;
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace latchkey::store::memory
