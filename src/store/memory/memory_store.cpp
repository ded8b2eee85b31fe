#include "store/memory/memory_store.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <tuple>
#include <utility>

namespace latchkey::store::memory {
namespace {

// MemoryStore keeps everything in maps under one mutex. Revision is a counter bumped by every
// successful client or key write; failed writes (kConflict, kNotFound) and user, session, code,
// refresh token and consent writes leave it unchanged (see Store::Revision). The one mutex also
// makes RedeemCode and RotateRefreshToken atomic.
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
    // As the SQLite schema's ON DELETE CASCADE: the user's sessions, codes, refresh tokens and
    // consents go too.
    std::erase_if(sessions_, [&](const auto& entry) { return entry.second.user_id == user_id; });
    std::erase_if(codes_, [&](const auto& entry) { return entry.second.user_id == user_id; });
    std::erase_if(refresh_tokens_, [&](const auto& entry) { return entry.second.user_id == user_id; });
    std::erase_if(consents_, [&](const auto& entry) { return entry.first.first == user_id; });
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

  Result<void> CreateRefreshToken(const RefreshTokenRecord& r) override {
    std::lock_guard lock(mutex_);
    return InsertRefreshTokenLocked(r);
  }

  Result<RefreshTokenRecord> GetRefreshToken(const std::string& token_hash) override {
    std::lock_guard lock(mutex_);
    auto it = refresh_tokens_.find(token_hash);
    if (it == refresh_tokens_.end()) return Error::kNotFound;
    return it->second;
  }

  Result<RotationResult> RotateRefreshToken(const std::string& token_hash,
                                            const RefreshTokenRecord& successor, int64_t now,
                                            int64_t grace_seconds) override {
    std::lock_guard lock(mutex_);
    auto it = refresh_tokens_.find(token_hash);
    if (it == refresh_tokens_.end()) return Error::kNotFound;
    const RefreshTokenRecord previous = it->second;
    if (previous.revoked || previous.expires_at <= now || previous.family_expires_at <= now) {
      return Error::kNotFound;
    }
    if (previous.rotated_at == 0) {
      // Insert first: when it fails, the presented token stays current (nothing is written).
      if (auto r = InsertRefreshTokenLocked(successor); !r) return r.error();
      // `it` is still valid: inserting into a std::map invalidates no iterator.
      it->second.rotated_at = now;
      it->second.successor_hash = successor.token_hash;
      return RotationResult{previous, false};
    }
    // Already rotated. A retry of the rotation that just happened (the response was lost) presents
    // the same token and, because the caller derives it deterministically or remembers it, the same
    // successor; anything else is reuse of a superseded token (RFC 9700 §4.14.2).
    if (grace_seconds > 0 && now - previous.rotated_at <= grace_seconds &&
        previous.successor_hash == successor.token_hash) {
      auto next = refresh_tokens_.find(previous.successor_hash);
      if (next != refresh_tokens_.end() && next->second.rotated_at == 0 && !next->second.revoked) {
        return RotationResult{previous, true};
      }
    }
    return Error::kConflict;
  }

  Result<int64_t> RevokeRefreshFamily(const std::string& family_id) override {
    std::lock_guard lock(mutex_);
    return RevokeRefreshTokensLocked([&](const RefreshTokenRecord& r) { return r.family_id == family_id; });
  }

  Result<int64_t> RevokeUserClientRefreshTokens(const std::string& user_id,
                                                const std::string& client_id) override {
    std::lock_guard lock(mutex_);
    return RevokeRefreshTokensLocked(
        [&](const RefreshTokenRecord& r) { return r.user_id == user_id && r.client_id == client_id; });
  }

  Result<int64_t> DeleteExpiredRefreshTokens(int64_t now) override {
    std::lock_guard lock(mutex_);
    return static_cast<int64_t>(std::erase_if(refresh_tokens_, [&](const auto& entry) {
      return entry.second.expires_at <= now || entry.second.family_expires_at <= now;
    }));
  }

  Result<std::string> EnsureSecret(const std::string& name, const std::string& candidate) override {
    std::lock_guard lock(mutex_);
    return secrets_.try_emplace(name, candidate).first->second;
  }

  Result<ConsentRecord> GetConsent(const std::string& user_id, const std::string& client_id) override {
    std::lock_guard lock(mutex_);
    auto it = consents_.find({user_id, client_id});
    if (it == consents_.end()) return Error::kNotFound;
    return it->second;
  }

  Result<void> PutConsent(const ConsentRecord& c) override {
    std::lock_guard lock(mutex_);
    if (!users_.contains(c.user_id)) return Error::kNotFound;
    auto [it, inserted] = consents_.try_emplace({c.user_id, c.client_id}, c);
    if (!inserted) {
      const int64_t created_at = it->second.created_at;
      it->second = c;
      it->second.created_at = created_at;
    }
    return {};
  }

  Result<std::vector<ConsentRecord>> ListUserConsents(const std::string& user_id) override {
    std::lock_guard lock(mutex_);
    std::vector<ConsentRecord> out;
    // consents_ is ordered by (user_id, client_id) byte-wise: the user's consents are one run,
    // already in client_id order, starting at the smallest key with this user_id.
    for (auto it = consents_.lower_bound({user_id, std::string()});
         it != consents_.end() && it->first.first == user_id; ++it) {
      out.push_back(it->second);
    }
    return out;
  }

  Result<void> DeleteConsent(const std::string& user_id, const std::string& client_id) override {
    std::lock_guard lock(mutex_);
    if (consents_.erase({user_id, client_id}) == 0) return Error::kNotFound;
    return {};
  }

  Result<int64_t> Revision() override {
    std::lock_guard lock(mutex_);
    return revision_;
  }

 private:
  // InsertRefreshTokenLocked is CreateRefreshToken with mutex_ already held.
  Result<void> InsertRefreshTokenLocked(const RefreshTokenRecord& r) {
    if (refresh_tokens_.contains(r.token_hash)) return Error::kConflict;
    if (!users_.contains(r.user_id)) return Error::kNotFound;
    refresh_tokens_.emplace(r.token_hash, r);
    return {};
  }

  // RevokeRefreshTokensLocked marks every unrevoked token matching `pred` revoked and returns how
  // many; mutex_ must be held.
  template <class Pred>
  int64_t RevokeRefreshTokensLocked(Pred pred) {
    int64_t revoked = 0;
    for (auto& [hash, token] : refresh_tokens_) {
      if (!token.revoked && pred(token)) {
        token.revoked = true;
        ++revoked;
      }
    }
    return revoked;
  }

  std::mutex mutex_;
  std::map<std::string, ClientRecord> clients_;
  std::map<std::string, SigningKeyRecord> keys_;
  std::map<std::string, UserRecord> users_;                                // by user_id
  std::map<std::string, std::string> user_ids_by_username_;                // username -> user_id
  std::map<std::string, SessionRecord> sessions_;                          // by id_hash
  std::map<std::string, AuthorizationCodeRecord> codes_;                   // by code_hash
  std::map<std::string, RefreshTokenRecord> refresh_tokens_;               // by token_hash
  std::map<std::pair<std::string, std::string>, ConsentRecord> consents_;  // by (user_id, client_id)
  std::map<std::string, std::string> secrets_;
  int64_t revision_ = 0;
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace latchkey::store::memory
