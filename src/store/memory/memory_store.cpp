#include "store/memory/memory_store.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <tuple>
#include <utility>

namespace latchkey::store::memory {
namespace {

// MemoryStore keeps everything in maps under one mutex. Revision is a counter bumped by every
// successful client or key write; failed writes (kConflict, kNotFound) and user, session, code,
// token, revocation, device code and consent writes leave it unchanged (see Store::Revision). The
// one mutex also makes RedeemCode, RotateRefreshToken, DecideDeviceCode, PollDeviceCode and
// ConsumeDeviceCode atomic.
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
    if (key.state == "active" || key.state == "next") {
      for (const auto& [kid, existing] : keys_) {
        if (existing.alg == key.alg && existing.state == key.state) return Error::kConflict;
      }
    }
    if (!keys_.emplace(key.kid, key).second) return Error::kConflict;
    ++revision_;
    return {};
  }

  Result<void> ActivateSigningKey(const std::string& kid, int64_t now) override {
    std::lock_guard lock(mutex_);
    auto it = keys_.find(kid);
    if (it == keys_.end()) return Error::kNotFound;
    if (it->second.state != "next") return Error::kConflict;
    for (auto& [other_kid, other] : keys_) {
      if (other.alg == it->second.alg && other.state == "active") {
        other.state = "retired";
        other.retired_at = now;
      }
    }
    it->second.state = "active";
    it->second.active_from = now;
    ++revision_;
    return {};
  }

  Result<void> RetireSigningKey(const std::string& kid, int64_t now) override {
    std::lock_guard lock(mutex_);
    auto it = keys_.find(kid);
    if (it == keys_.end()) return Error::kNotFound;
    if (it->second.state == "retired") return Error::kConflict;
    it->second.state = "retired";
    it->second.retired_at = now;
    ++revision_;
    return {};
  }

  Result<void> DeleteSigningKey(const std::string& kid) override {
    std::lock_guard lock(mutex_);
    auto it = keys_.find(kid);
    if (it == keys_.end()) return Error::kNotFound;
    if (it->second.state != "retired") return Error::kConflict;
    keys_.erase(it);
    ++revision_;
    return {};
  }

  Result<void> ResealSigningKey(const std::string& kid, const std::string& expected,
                                const std::string& replacement) override {
    std::lock_guard lock(mutex_);
    auto it = keys_.find(kid);
    if (it == keys_.end()) return Error::kNotFound;
    if (it->second.private_key != expected) return Error::kConflict;
    it->second.private_key = replacement;
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
    ++revocation_revision_;
    return {};
  }

  Result<void> DeleteUser(const std::string& user_id) override {
    std::lock_guard lock(mutex_);
    auto it = users_.find(user_id);
    if (it == users_.end()) return Error::kNotFound;
    user_ids_by_username_.erase(it->second.username);
    users_.erase(it);
    ++revocation_revision_;
    // As the SQLite schema's ON DELETE CASCADE: the user's sessions (with their session clients),
    // codes, refresh tokens, access tokens, device codes and consents go too. Access tokens and
    // device codes with an empty user_id belong to no user (SQLite stores NULL there), so they stay.
    for (auto s = sessions_.begin(); s != sessions_.end();) {
      if (s->second.user_id == user_id) {
        session_clients_.erase(s->first);
        s = sessions_.erase(s);
      } else {
        ++s;
      }
    }
    std::erase_if(codes_, [&](const auto& entry) { return entry.second.user_id == user_id; });
    std::erase_if(refresh_tokens_, [&](const auto& entry) { return entry.second.user_id == user_id; });
    if (!user_id.empty()) {
      std::erase_if(access_tokens_, [&](const auto& entry) { return entry.second.user_id == user_id; });
      for (auto d = device_codes_.begin(); d != device_codes_.end();) {
        if (d->second.user_id == user_id) {
          device_hashes_by_user_code_.erase(d->second.user_code_hash);
          d = device_codes_.erase(d);
        } else {
          ++d;
        }
      }
    }
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

  Result<int64_t> DeleteExpiredSessions(int64_t created_before, int64_t seen_before, int64_t limit) override {
    std::lock_guard lock(mutex_);
    int64_t deleted = 0;
    for (auto it = sessions_.begin(); it != sessions_.end() && deleted < limit;) {
      if (it->second.created_at < created_before || it->second.last_seen_at < seen_before) {
        session_clients_.erase(it->first);
        it = sessions_.erase(it);
        ++deleted;
      } else {
        ++it;
      }
    }
    return deleted;
  }

  Result<void> AddSessionClient(const std::string& id_hash, const std::string& client_id) override {
    std::lock_guard lock(mutex_);
    if (!sessions_.contains(id_hash)) return Error::kNotFound;
    session_clients_[id_hash].insert(client_id);
    return {};
  }

  Result<std::vector<std::string>> ListSessionClients(const std::string& id_hash) override {
    std::lock_guard lock(mutex_);
    auto it = session_clients_.find(id_hash);
    if (it == session_clients_.end()) return std::vector<std::string>{};
    // A std::set orders byte-wise, as SQLite's BINARY collation does.
    return std::vector<std::string>(it->second.begin(), it->second.end());
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

  Result<int64_t> DeleteExpiredCodes(int64_t now, int64_t limit) override {
    std::lock_guard lock(mutex_);
    return EraseUpTo(codes_, limit, [&](const AuthorizationCodeRecord& c) { return c.expires_at <= now; });
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
    ++revocation_revision_;
    return RevokeRefreshTokensLocked([&](const RefreshTokenRecord& r) { return r.family_id == family_id; });
  }

  Result<std::vector<std::string>> RevokeRefreshTokens(const std::string& user_id,
                                                       const std::string& client_id,
                                                       const std::string& session_id_hash) override {
    std::lock_guard lock(mutex_);
    ++revocation_revision_;
    std::set<std::string> families;  // distinct, byte-wise ordered
    for (auto& [hash, token] : refresh_tokens_) {
      if (token.revoked || token.user_id != user_id) continue;
      if (!client_id.empty() && token.client_id != client_id) continue;
      if (!session_id_hash.empty() && token.session_id_hash != session_id_hash) continue;
      token.revoked = true;
      families.insert(token.family_id);
    }
    return std::vector<std::string>(families.begin(), families.end());
  }

  Result<int64_t> DeleteExpiredRefreshTokens(int64_t now, int64_t limit) override {
    std::lock_guard lock(mutex_);
    return EraseUpTo(refresh_tokens_, limit, [&](const RefreshTokenRecord& r) {
      return r.expires_at <= now || r.family_expires_at <= now;
    });
  }

  Result<void> CreateAccessToken(const AccessTokenRecord& t) override {
    std::lock_guard lock(mutex_);
    if (access_tokens_.contains(t.token_hash)) return Error::kConflict;
    // An empty user_id is a client's own token (client_credentials): it names no user to check.
    if (!t.user_id.empty() && !users_.contains(t.user_id)) return Error::kNotFound;
    access_tokens_.emplace(t.token_hash, t);
    return {};
  }

  Result<AccessTokenRecord> GetAccessToken(const std::string& token_hash) override {
    std::lock_guard lock(mutex_);
    auto it = access_tokens_.find(token_hash);
    if (it == access_tokens_.end()) return Error::kNotFound;
    return it->second;
  }

  Result<void> RevokeAccessToken(const std::string& token_hash) override {
    std::lock_guard lock(mutex_);
    auto it = access_tokens_.find(token_hash);
    if (it == access_tokens_.end()) return Error::kNotFound;
    it->second.revoked = true;
    ++revocation_revision_;
    return {};
  }

  Result<int64_t> DeleteExpiredAccessTokens(int64_t now, int64_t limit) override {
    std::lock_guard lock(mutex_);
    return EraseUpTo(access_tokens_, limit, [&](const AccessTokenRecord& t) { return t.expires_at <= now; });
  }

  Result<void> PutRevocation(const RevocationRecord& r) override {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = revocations_.try_emplace(r.key, r);
    ++revocation_revision_;
    if (!inserted) {
      // Never lowered: a later, weaker revocation of the same key must not revive tokens that an
      // earlier one made inactive.
      it->second.revoked_at = std::max(it->second.revoked_at, r.revoked_at);
      it->second.expires_at = std::max(it->second.expires_at, r.expires_at);
    }
    return {};
  }

  Result<int64_t> LatestRevocation(const std::vector<std::string>& keys) override {
    std::lock_guard lock(mutex_);
    int64_t latest = 0;
    for (const auto& key : keys) {
      if (auto it = revocations_.find(key); it != revocations_.end()) {
        latest = std::max(latest, it->second.revoked_at);
      }
    }
    return latest;
  }

  Result<int64_t> DeleteExpiredRevocations(int64_t now, int64_t limit) override {
    std::lock_guard lock(mutex_);
    return EraseUpTo(revocations_, limit, [&](const RevocationRecord& r) { return r.expires_at <= now; });
  }

  Result<void> CreateDeviceCode(const DeviceCodeRecord& d) override {
    std::lock_guard lock(mutex_);
    if (device_codes_.contains(d.device_code_hash) ||
        device_hashes_by_user_code_.contains(d.user_code_hash)) {
      return Error::kConflict;
    }
    // As SQLite's foreign key: a record stored already decided must name an existing user.
    if (!d.user_id.empty() && !users_.contains(d.user_id)) return Error::kNotFound;
    device_codes_.emplace(d.device_code_hash, d);
    device_hashes_by_user_code_.emplace(d.user_code_hash, d.device_code_hash);
    return {};
  }

  Result<DeviceCodeRecord> GetDeviceCodeByUserCode(const std::string& user_code_hash) override {
    std::lock_guard lock(mutex_);
    auto it = device_hashes_by_user_code_.find(user_code_hash);
    if (it == device_hashes_by_user_code_.end()) return Error::kNotFound;
    return device_codes_.at(it->second);
  }

  Result<DeviceCodeRecord> DecideDeviceCode(const std::string& user_code_hash, bool approve,
                                            const DeviceCodeRecord& decision, int64_t now) override {
    std::lock_guard lock(mutex_);
    auto hash = device_hashes_by_user_code_.find(user_code_hash);
    if (hash == device_hashes_by_user_code_.end()) return Error::kNotFound;
    DeviceCodeRecord& d = device_codes_.at(hash->second);
    if (d.expires_at <= now) return Error::kNotFound;
    // One decision per code (RFC 8628 §3.3): a second approval page must not flip a denial or
    // re-bind an approved code to another user.
    if (d.status != "pending") return Error::kConflict;
    if (!users_.contains(decision.user_id)) return Error::kNotFound;
    DeviceCodeRecord before = d;
    d.status = approve ? "approved" : "denied";
    d.user_id = decision.user_id;
    d.session_id_hash = decision.session_id_hash;
    d.auth_time = decision.auth_time;
    d.amr = decision.amr;
    d.acr = decision.acr;
    return before;
  }

  Result<DeviceCodeRecord> PollDeviceCode(const std::string& device_code_hash, int64_t now) override {
    std::lock_guard lock(mutex_);
    auto it = device_codes_.find(device_code_hash);
    if (it == device_codes_.end()) return Error::kNotFound;
    DeviceCodeRecord before = it->second;
    it->second = NextPollState(before, now);
    return before;
  }

  Result<void> ConsumeDeviceCode(const std::string& device_code_hash, int64_t now) override {
    std::lock_guard lock(mutex_);
    auto it = device_codes_.find(device_code_hash);
    if (it == device_codes_.end() || it->second.expires_at <= now) return Error::kNotFound;
    if (it->second.status != "approved") return Error::kConflict;
    it->second.status = "consumed";  // single use: the tokens are issued to this caller only
    return {};
  }

  Result<int64_t> DeleteExpiredDeviceCodes(int64_t now, int64_t limit) override {
    std::lock_guard lock(mutex_);
    int64_t deleted = 0;
    for (auto it = device_codes_.begin(); it != device_codes_.end() && deleted < limit;) {
      if (it->second.expires_at <= now) {
        device_hashes_by_user_code_.erase(it->second.user_code_hash);
        it = device_codes_.erase(it);
        ++deleted;
      } else {
        ++it;
      }
    }
    return deleted;
  }

  Result<std::string> EnsureSecret(const std::string& name, const std::string& candidate) override {
    std::lock_guard lock(mutex_);
    return secrets_.try_emplace(name, candidate).first->second;
  }

  Result<ThrottleRecord> GetThrottle(const std::string& key) override {
    std::lock_guard lock(mutex_);
    auto it = throttles_.find(key);
    if (it == throttles_.end()) return Error::kNotFound;
    return it->second;
  }

  Result<ThrottleRecord> CountThrottleFailure(const std::string& key, int64_t now,
                                              int64_t forget_at) override {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = throttles_.try_emplace(key, ThrottleRecord{key, 0, now, forget_at});
    ThrottleRecord& t = it->second;
    t.failures = inserted || t.forget_at <= now ? 1 : t.failures + 1;
    t.last_failure = std::max(t.last_failure, now);
    t.forget_at = std::max(t.forget_at, forget_at);
    return t;
  }

  Result<void> DeleteThrottle(const std::string& key) override {
    std::lock_guard lock(mutex_);
    throttles_.erase(key);
    return {};
  }

  Result<int64_t> DeleteExpiredThrottles(int64_t now, int64_t limit) override {
    std::lock_guard lock(mutex_);
    return EraseUpTo(throttles_, limit, [&](const ThrottleRecord& t) { return t.forget_at <= now; });
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

  Result<int64_t> RevocationRevision() override {
    std::lock_guard lock(mutex_);
    return revocation_revision_;
  }

 private:
  // InsertRefreshTokenLocked is CreateRefreshToken with mutex_ already held.
  Result<void> InsertRefreshTokenLocked(const RefreshTokenRecord& r) {
    if (refresh_tokens_.contains(r.token_hash)) return Error::kConflict;
    if (!users_.contains(r.user_id)) return Error::kNotFound;
    refresh_tokens_.emplace(r.token_hash, r);
    return {};
  }

  // EraseUpTo erases at most `limit` entries of `map` whose value matches `pred` and returns how
  // many (0 when limit <= 0); mutex_ must be held.
  template <class Map, class Pred>
  static int64_t EraseUpTo(Map& map, int64_t limit, Pred pred) {
    int64_t erased = 0;
    for (auto it = map.begin(); it != map.end() && erased < limit;) {
      if (pred(it->second)) {
        it = map.erase(it);
        ++erased;
      } else {
        ++it;
      }
    }
    return erased;
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
  std::map<std::string, std::set<std::string>> session_clients_;           // id_hash -> client ids
  std::map<std::string, AccessTokenRecord> access_tokens_;                 // by token_hash
  std::map<std::string, RevocationRecord> revocations_;                    // by key
  std::map<std::string, DeviceCodeRecord> device_codes_;                   // by device_code_hash
  std::map<std::string, std::string> device_hashes_by_user_code_;          // user_code_hash -> device
  std::map<std::pair<std::string, std::string>, ConsentRecord> consents_;  // by (user_id, client_id)
  std::map<std::string, std::string> secrets_;
  std::map<std::string, ThrottleRecord> throttles_;
  int64_t revision_ = 0;
  int64_t revocation_revision_ = 0;  // see Store::RevocationRevision
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace latchkey::store::memory
