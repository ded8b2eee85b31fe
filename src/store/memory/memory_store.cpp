#include "store/memory/memory_store.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <tuple>
#include <utility>

namespace latchkey::store::memory {
namespace {

// MemoryStore keeps everything in maps under one mutex. Revision is a counter bumped by every
// successful client or key write; failed writes (kConflict, kNotFound) and user, session and code
// writes leave it unchanged (see Store::Revision). The one mutex also makes RedeemCode atomic.
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

  Result<UserRecord> GetUser(const std::string& user_id) override {
    std::lock_guard lock(mutex_);
    auto it = users_.find(user_id);
    if (it == users_.end()) return Error::kNotFound;
    return it->second;
  }

  Result<UserRecord> GetUserByUsername(const std::string& username) override {
    std::lock_guard lock(mutex_);
    auto it = user_ids_by_username_.find(username);
    if (it == user_ids_by_username_.end()) return Error::kNotFound;
    return users_.at(it->second);
  }

  Result<std::vector<UserRecord>> ListUsers() override {
    std::lock_guard lock(mutex_);
    std::vector<UserRecord> out;
    out.reserve(users_.size());
    // The username index is a std::map: byte-wise order, as in ListClients.
    for (const auto& [username, id] : user_ids_by_username_) out.push_back(users_.at(id));
    return out;
  }

  Result<void> CreateUser(const UserRecord& user) override {
    std::lock_guard lock(mutex_);
    if (users_.contains(user.user_id) || user_ids_by_username_.contains(user.username)) {
      return Error::kConflict;
    }
    users_.emplace(user.user_id, user);
    user_ids_by_username_.emplace(user.username, user.user_id);
    return {};
  }

  Result<void> UpdateUser(const UserRecord& user) override {
    std::lock_guard lock(mutex_);
    auto it = users_.find(user.user_id);
    if (it == users_.end()) return Error::kNotFound;
    if (it->second.username != user.username) {
      // Checked before anything changes, so a refused rename leaves both users intact.
      if (user_ids_by_username_.contains(user.username)) return Error::kConflict;
      user_ids_by_username_.erase(it->second.username);
      user_ids_by_username_.emplace(user.username, user.user_id);
    }
    it->second = user;
    return {};
  }

  Result<void> DeleteUser(const std::string& user_id) override {
    std::lock_guard lock(mutex_);
    auto it = users_.find(user_id);
    if (it == users_.end()) return Error::kNotFound;
    user_ids_by_username_.erase(it->second.username);
    users_.erase(it);
    // As the SQLite schema's ON DELETE CASCADE: the user's sessions and codes go too.
    std::erase_if(sessions_, [&](const auto& entry) { return entry.second.user_id == user_id; });
    std::erase_if(codes_, [&](const auto& entry) { return entry.second.user_id == user_id; });
    return {};
  }

  Result<void> CreateSession(const SessionRecord& s) override {
    std::lock_guard lock(mutex_);
    if (sessions_.contains(s.id_hash)) return Error::kConflict;
    if (!users_.contains(s.user_id)) return Error::kNotFound;
    sessions_.emplace(s.id_hash, s);
    return {};
  }

  Result<SessionRecord> GetSession(const std::string& id_hash) override {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(id_hash);
    if (it == sessions_.end()) return Error::kNotFound;
    return it->second;
  }

  Result<void> TouchSession(const std::string& id_hash, int64_t now) override {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(id_hash);
    if (it == sessions_.end()) return Error::kNotFound;
    it->second.last_seen_at = now;
    return {};
  }

  Result<void> RevokeSession(const std::string& id_hash) override {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(id_hash);
    if (it == sessions_.end()) return Error::kNotFound;
    it->second.revoked = true;
    return {};
  }

  Result<std::vector<SessionRecord>> ListUserSessions(const std::string& user_id) override {
    std::lock_guard lock(mutex_);
    std::vector<SessionRecord> out;
    for (const auto& [id_hash, session] : sessions_) {
      if (session.user_id == user_id) out.push_back(session);
    }
    // sessions_ is ordered by id_hash already; a stable sort keeps that as the tie-break.
    std::stable_sort(out.begin(), out.end(), [](const SessionRecord& a, const SessionRecord& b) {
      return a.created_at < b.created_at;
    });
    return out;
  }

  Result<int64_t> DeleteExpiredSessions(int64_t created_before, int64_t seen_before) override {
    std::lock_guard lock(mutex_);
    return static_cast<int64_t>(std::erase_if(sessions_, [&](const auto& entry) {
      return entry.second.created_at < created_before || entry.second.last_seen_at < seen_before;
    }));
  }

  Result<void> CreateCode(const AuthorizationCodeRecord& c) override {
    std::lock_guard lock(mutex_);
    if (codes_.contains(c.code_hash)) return Error::kConflict;
    if (!users_.contains(c.user_id)) return Error::kNotFound;
    codes_.emplace(c.code_hash, c);
    return {};
  }

  Result<AuthorizationCodeRecord> RedeemCode(const std::string& code_hash, int64_t now) override {
    std::lock_guard lock(mutex_);
    auto it = codes_.find(code_hash);
    if (it == codes_.end()) return Error::kNotFound;
    // A used code is a replay whether or not it has expired since: report it (RFC 6749 §10.5).
    if (it->second.used) return Error::kConflict;
    if (it->second.expires_at <= now) return Error::kNotFound;
    AuthorizationCodeRecord before = it->second;
    it->second.used = true;
    return before;
  }

  Result<AuthorizationCodeRecord> GetCode(const std::string& code_hash) override {
    std::lock_guard lock(mutex_);
    auto it = codes_.find(code_hash);
    if (it == codes_.end()) return Error::kNotFound;
    return it->second;
  }

  Result<int64_t> DeleteExpiredCodes(int64_t now) override {
    std::lock_guard lock(mutex_);
    return static_cast<int64_t>(
        std::erase_if(codes_, [&](const auto& entry) { return entry.second.expires_at <= now; }));
  }

  Result<int64_t> Revision() override {
    std::lock_guard lock(mutex_);
    return revision_;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, ClientRecord> clients_;
  std::map<std::string, SigningKeyRecord> keys_;
  std::map<std::string, UserRecord> users_;                  // by user_id
  std::map<std::string, std::string> user_ids_by_username_;  // username -> user_id
  std::map<std::string, SessionRecord> sessions_;            // by id_hash
  std::map<std::string, AuthorizationCodeRecord> codes_;     // by code_hash
  int64_t revision_ = 0;
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace latchkey::store::memory
