#pragma once

// Storage interfaces and records. Backends: memory/ (tests), sqlite/ (embedded default), and
// later postgres/. Nothing here names a SQL dialect; every backend passes the contract suite in
// testing/store_contract.hpp.
//
// Thread safety: every method of every interface may be called from any thread concurrently.
// Bounded deletes (DeleteExpired*, `limit`): a limit of 0 or less deletes nothing.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace latchkey::store {

enum class Error {
  kNone = 0,
  kNotFound,     // no record with that key
  kConflict,     // a record with that key already exists
  kUnavailable,  // the database cannot be reached or is busy; retry later (503)
  kCorrupt,      // stored data could not be decoded (a bug or tampering; logged)
};

template <class T>
using Result = common::Result<T, Error>;

// ClientRecord: a registered OAuth client (RFC 6749 §2; RFC 7591 §2 metadata names).
struct ClientRecord {
  std::string client_id;
  std::string client_name;
  // secret_hash: SHA-256 of the client secret, raw 32 bytes; empty for public clients.
  std::string secret_hash;
  // token_endpoint_auth_method: "client_secret_basic", "client_secret_post" or "none".
  std::string token_endpoint_auth_method = "client_secret_basic";
  std::vector<std::string> redirect_uris;
  std::vector<std::string> grant_types;
  std::vector<std::string> scopes;  // scopes the client may request
  std::vector<std::string> post_logout_redirect_uris;
  int64_t access_token_lifetime = 0;  // seconds; 0: the server's default
  std::string access_token_alg;       // "ES256", "RS256", ...; empty: the server's default
  // id_token_signed_response_alg: the JWS alg the client requires for ID tokens (OIDC Dynamic
  // Client Registration §2): "RS256", "PS256", "ES256", "EdDSA"; empty: the server's default.
  std::string id_token_signed_response_alg;
  // access_token_format: "jwt" (RFC 9068, checked locally by resource servers) or "opaque" (a random
  // reference token, stored hashed, that resource servers introspect: revocation is instant).
  std::string access_token_format = "jwt";
  // OIDC Back-Channel Logout 1.0 §2.2: where logout tokens are POSTed ("" when none), and whether
  // they must carry "sid".
  std::string backchannel_logout_uri;
  bool backchannel_logout_session_required = false;
  // introspect_any: a resource server that may introspect every client's tokens (RFC 7662 §4); other
  // clients may introspect only the tokens issued to themselves.
  bool introspect_any = false;
  int64_t created_at = 0;
  int64_t updated_at = 0;

  bool operator==(const ClientRecord&) const = default;
};

// ClientStore: CRUD over clients.
class ClientStore {
 public:
  virtual ~ClientStore() = default;
  // GetClient: kNotFound when absent.
  virtual Result<ClientRecord> GetClient(const std::string& client_id) = 0;
  // ListClients: all clients ordered by client_id.
  virtual Result<std::vector<ClientRecord>> ListClients() = 0;
  // CreateClient: kConflict when the id exists.
  virtual Result<void> CreateClient(const ClientRecord& client) = 0;
  // UpdateClient replaces every field of an existing client: kNotFound when absent.
  virtual Result<void> UpdateClient(const ClientRecord& client) = 0;
  // DeleteClient: kNotFound when absent.
  virtual Result<void> DeleteClient(const std::string& client_id) = 0;
};

// SigningKeyRecord: one JWS signing key and where it is in its life (server/keys.hpp):
//   "next"     published in the JWKS, not yet signing; becomes active at active_from
//   "active"   signs (one per alg); published
//   "retired"  no longer signs; published until every token it signed has expired, then deleted
struct SigningKeyRecord {
  std::string kid;
  std::string alg;  // "RS256" (also usable for PS256), "ES256", "EdDSA"
  // private_key: the PKCS#8 PEM sealed under the key-encryption key (server/key_vault.hpp), or
  // the bare PEM as databases written before sealing hold it until the server seals it.
  std::string private_key;
  std::string state = "active";
  int64_t created_at = 0;
  int64_t active_from = 0;  // next: when it is due to start signing; active/retired: when it started
  int64_t retired_at = 0;   // retired: when it stopped signing; 0 otherwise

  bool operator==(const SigningKeyRecord&) const = default;
};

// KeyStore: the server's signing keys. Every change is a configuration change (it bumps
// Store::Revision), so every node reloads its keys within one revision poll.
class KeyStore {
 public:
  virtual ~KeyStore() = default;
  // ListSigningKeys: all keys ordered by created_at, then kid.
  virtual Result<std::vector<SigningKeyRecord>> ListSigningKeys() = 0;
  // AddSigningKey: kConflict when the kid exists, or when `key` is "active" or "next" and a key
  // of the same alg is already in that state: one key signs per algorithm and one waits to, so
  // nodes that add keys at the same moment cannot end up signing with different ones.
  virtual Result<void> AddSigningKey(const SigningKeyRecord& key) = 0;
  // ActivateSigningKey: in one transaction, the "next" key `kid` becomes "active" (active_from =
  // now) and the active key of its alg, if any, "retired" (retired_at = now). kNotFound: no such
  // key; kConflict: it is not "next" (another node activated or retired it first).
  virtual Result<void> ActivateSigningKey(const std::string& kid, int64_t now) = 0;
  // RetireSigningKey: a "next" or "active" key becomes "retired" at `now`. kNotFound: no such key;
  // kConflict: it is retired already.
  virtual Result<void> RetireSigningKey(const std::string& kid, int64_t now) = 0;
  // DeleteSigningKey removes a retired key. kNotFound: no such key; kConflict: it is not retired.
  virtual Result<void> DeleteSigningKey(const std::string& kid) = 0;
  // ResealSigningKey replaces the private_key of `kid` with `replacement` only while it is still
  // `expected`, so re-sealing never overwrites a concurrent change. kNotFound / kConflict.
  virtual Result<void> ResealSigningKey(const std::string& kid, const std::string& expected,
                                        const std::string& replacement) = 0;
};

// UserRecord: an end user who signs in at this provider, with the OpenID Connect standard claims
// (OIDC Core §5.1). The store keeps every field as given: it does not validate claim values,
// normalise usernames or e-mail addresses, or check that address_json is JSON.
struct UserRecord {
  std::string user_id;   // the stable subject ("sub"), generated by the caller, never reused
  std::string username;  // unique login name, compared byte-wise (callers normalise before storing)
  // password_hash: a PHC string (Argon2id); empty: the user cannot sign in with a password.
  std::string password_hash;
  std::string status = "active";  // "active" or "disabled"
  std::string name;
  std::string given_name;
  std::string family_name;
  std::string preferred_username;
  std::string email;
  bool email_verified = false;
  std::string phone_number;
  bool phone_number_verified = false;
  std::string address_json;  // the "address" claim (OIDC Core §5.1.1) as JSON object text, or empty
  std::string picture;
  std::string locale;
  std::string zoneinfo;
  int64_t created_at = 0;
  int64_t updated_at = 0;  // also the "updated_at" claim (seconds since the epoch)

  bool operator==(const UserRecord&) const = default;
};

// UserStore: CRUD over users. Keys are exact: no case folding, trimming or Unicode normalisation.
class UserStore {
 public:
  virtual ~UserStore() = default;
  // GetUser returns the user whose user_id is `user_id`: kNotFound when absent.
  virtual Result<UserRecord> GetUser(const std::string& user_id) = 0;
  // GetUserByUsername returns the user whose username is `username`: kNotFound when absent. It does
  // not check status: a disabled user is returned, and the caller refuses the sign-in.
  virtual Result<UserRecord> GetUserByUsername(const std::string& username) = 0;
  // ListUsers: all users ordered by username (byte-wise).
  virtual Result<std::vector<UserRecord>> ListUsers() = 0;
  // CreateUser: kConflict when the user_id or the username exists (nothing is written).
  virtual Result<void> CreateUser(const UserRecord& user) = 0;
  // UpdateUser replaces every field of the user with this user_id, username included: kNotFound
  // when absent; kConflict when the new username belongs to another user (nothing is written).
  virtual Result<void> UpdateUser(const UserRecord& user) = 0;
  // DeleteUser: kNotFound when absent. The caller must not reuse the user_id afterwards (tokens and
  // relying parties may still hold it as "sub"); the store does not enforce that.
  virtual Result<void> DeleteUser(const std::string& user_id) = 0;
};

// SessionRecord: a signed-in browser (OIDC Core §3.1.2.3). The cookie carries a random id; only its
// SHA-256 is stored, so a leaked database does not yield usable cookies.
struct SessionRecord {
  std::string id_hash;       // SHA-256 of the cookie value, raw 32 bytes (may contain NUL)
  std::string user_id;       // must name an existing user (UserStore)
  int64_t created_at = 0;    // also the start of the absolute lifetime
  int64_t last_seen_at = 0;  // the idle-lifetime clock (TouchSession)
  int64_t auth_time = 0;     // the "auth_time" claim (OIDC Core §2)
  std::string amr;           // space-separated "amr" values, e.g. "pwd"
  std::string acr;
  bool revoked = false;

  bool operator==(const SessionRecord&) const = default;
};

// SessionStore: browser sessions. Keys are the raw hash bytes, compared exactly. The store does not
// check expiry or revocation on reads: the caller compares the timestamps with its own policy.
// Deleting a user deletes that user's sessions.
class SessionStore {
 public:
  virtual ~SessionStore() = default;
  // CreateSession: kConflict when the id_hash exists; kNotFound when no user has s.user_id
  // (nothing is written either way).
  virtual Result<void> CreateSession(const SessionRecord& s) = 0;
  // GetSession returns the session, revoked or not: kNotFound when absent.
  virtual Result<SessionRecord> GetSession(const std::string& id_hash) = 0;
  // TouchSession sets last_seen_at to `now` (also backwards: the store keeps what it is given):
  // kNotFound when absent. It does not refuse a revoked session.
  virtual Result<void> TouchSession(const std::string& id_hash, int64_t now) = 0;
  // RevokeSession marks the session revoked (idempotent on a revoked one): kNotFound when absent.
  virtual Result<void> RevokeSession(const std::string& id_hash) = 0;
  // ListUserSessions: the user's sessions, revoked ones included, ordered by created_at, then
  // id_hash bytes; empty (not kNotFound) for an unknown user.
  virtual Result<std::vector<SessionRecord>> ListUserSessions(const std::string& user_id) = 0;
  // DeleteExpiredSessions deletes at most `limit` sessions with created_at < created_before
  // (absolute lifetime) or last_seen_at < seen_before (idle lifetime), together with their session
  // clients, and returns how many sessions it deleted (callers repeat until it returns < limit).
  virtual Result<int64_t> DeleteExpiredSessions(int64_t created_before, int64_t seen_before,
                                                int64_t limit) = 0;
  // AddSessionClient records that the session signed in to `client_id` (idempotent), so that
  // logout can notify every client of the session (OIDC Back-Channel Logout §2.7): kNotFound when
  // there is no such session.
  virtual Result<void> AddSessionClient(const std::string& id_hash, const std::string& client_id) = 0;
  // ListSessionClients: the client ids recorded for the session, ordered byte-wise; empty (not
  // kNotFound) for an unknown session.
  virtual Result<std::vector<std::string>> ListSessionClients(const std::string& id_hash) = 0;
};

// AuthorizationCodeRecord: an issued authorization code (RFC 6749 §4.1.2), stored hashed, single use
// (§10.5). It carries everything the token endpoint needs to check the redemption (§4.1.3, RFC 7636
// §4.6) and to build the ID token (OIDC Core §3.1.3.6).
struct AuthorizationCodeRecord {
  std::string code_hash;  // SHA-256 of the code, raw 32 bytes (may contain NUL)
  std::string client_id;
  std::string user_id;          // must name an existing user (UserStore)
  std::string session_id_hash;  // the session that approved it (raw bytes; may be empty)
  std::string redirect_uri;
  bool redirect_uri_sent = false;  // whether the request carried redirect_uri (RFC 6749 §4.1.3)
  std::string scope;               // space-separated
  std::string nonce;
  std::string code_challenge;
  std::string code_challenge_method;
  int64_t auth_time = 0;
  std::string amr;
  std::string acr;
  int64_t created_at = 0;
  int64_t expires_at = 0;  // the code is expired once expires_at <= now
  bool used = false;

  bool operator==(const AuthorizationCodeRecord&) const = default;
};

// CodeStore: authorization codes. Deleting a user deletes that user's codes.
class CodeStore {
 public:
  virtual ~CodeStore() = default;
  // CreateCode stores `c` as given (used included): kConflict when the code_hash exists; kNotFound
  // when no user has c.user_id (nothing is written either way).
  virtual Result<void> CreateCode(const AuthorizationCodeRecord& c) = 0;
  // RedeemCode atomically marks an unused, unexpired code used and returns it as it was before
  // (used == false). Atomic across threads and processes sharing the database: of two concurrent
  // redemptions of one code exactly one succeeds. kConflict when the code was already used (expired
  // or not): the caller then reads it with GetCode to find and revoke what it granted (RFC 6749
  // §4.1.2, §10.5). kNotFound when there is no such code, or it is expired (expires_at <= now) and
  // unused. It does not check client_id, redirect_uri or PKCE: the caller does, after redeeming.
  virtual Result<AuthorizationCodeRecord> RedeemCode(const std::string& code_hash, int64_t now) = 0;
  // GetCode returns the code as stored, used or not, expired or not: kNotFound when absent.
  virtual Result<AuthorizationCodeRecord> GetCode(const std::string& code_hash) = 0;
  // DeleteExpiredCodes deletes at most `limit` codes with expires_at <= now, used or not, and
  // returns how many.
  virtual Result<int64_t> DeleteExpiredCodes(int64_t now, int64_t limit) = 0;
};

// RefreshTokenRecord: one refresh token (RFC 6749 §1.5, §6), stored hashed. Every rotation of one
// grant shares family_id (RFC 9700 §4.14.2: reuse detection revokes the family).
struct RefreshTokenRecord {
  std::string token_hash;  // SHA-256 of the token, raw 32 bytes (may contain NUL)
  std::string family_id;   // shared by all rotations of one grant
  std::string client_id;
  std::string user_id;          // must name an existing user (UserStore)
  std::string scope;            // space-separated
  std::string session_id_hash;  // raw bytes, may be empty
  int64_t auth_time = 0;
  std::string amr;
  std::string acr;
  int64_t created_at = 0;
  int64_t expires_at = 0;         // idle expiry of this token: expired once expires_at <= now
  int64_t family_expires_at = 0;  // absolute expiry of the family: expired once <= now
  int64_t rotated_at = 0;         // 0: current (not yet rotated)
  std::string successor_hash;     // token_hash of the token that replaced it ("" until rotated)
  bool revoked = false;

  bool operator==(const RefreshTokenRecord&) const = default;
};

// RefreshTokenWithUser: a refresh token as stored and the user it was issued to
// (Store::GetRefreshTokenWithUser).
struct RefreshTokenWithUser {
  RefreshTokenRecord token;
  UserRecord user;
};

// CodeWithUser: an authorization code as stored and the user it was issued to
// (Store::GetCodeWithUser).
struct CodeWithUser {
  AuthorizationCodeRecord code;
  UserRecord user;
};

// SessionWithUser: a browser session as stored and the user it belongs to
// (Store::GetSessionWithUser).
struct SessionWithUser {
  SessionRecord session;
  UserRecord user;
};

// AccessTokenRecord: an opaque (reference) access token, stored hashed. Resource servers learn its
// meaning by introspection (RFC 7662), so revoking it takes effect at once.
struct AccessTokenRecord {
  std::string token_hash;  // SHA-256 of the token, raw 32 bytes (may contain NUL)
  std::string client_id;
  std::string subject;  // the user id, or the client id for client_credentials
  std::string user_id;  // the user (UserStore) for tokens issued to a person; "" for clients
  std::string scope;    // space-separated
  std::string audience;
  std::string grant_id;  // the grant (refresh family) it was issued from; "" for client_credentials
  int64_t auth_time = 0;
  int64_t created_at = 0;
  int64_t expires_at = 0;  // expired once expires_at <= now
  bool revoked = false;

  bool operator==(const AccessTokenRecord&) const = default;
};

// CurrentRotation: what Store::RotateCurrentRefreshToken is asked to do.
struct CurrentRotation {
  std::string token_hash;      // the presented token
  std::string client_id;       // the authenticated client, which the token must have been issued to
  std::string successor_hash;  // token_hash of its successor
  int64_t now = 0;
  int64_t idle_lifetime = 0;  // the successor expires idle_lifetime after now, or with its family
  // access_token: an opaque access token issued with the rotation, or none. Its token_hash,
  // client_id, audience, created_at and expires_at are given; the rest is the rotated token's grant,
  // as oauth::IssueAccessToken fills it for a person: subject and user_id the token's user, scope the
  // token's, auth_time the token's (at least 1), grant_id oauth::GrantId of its family. A backend
  // that rotates in one statement stores it in that statement and says so; the others leave it to
  // the caller.
  std::optional<AccessTokenRecord> access_token;
};

// CurrentRotated: what Store::RotateCurrentRefreshToken returns: the token as it was, its user, and
// whether CurrentRotation::access_token was stored with the rotation.
struct CurrentRotated : RefreshTokenWithUser {
  bool access_token_stored = false;
};

// GrantTokens: what a code or device grant writes before it spends the code: the first refresh token
// of the grant's family and an opaque access token, each optional (Store::RedeemCodeWithTokens).
struct GrantTokens {
  std::optional<RefreshTokenRecord> refresh_token;
  std::optional<AccessTokenRecord> access_token;
};

// SuccessorOf is the refresh token that replaces `current` (RFC 6749 §6: same family, user, client,
// scope and session; the authentication it carries is the original one): issued at `now`, it
// expires `idle_lifetime` later or when its family does, whichever is first.
inline RefreshTokenRecord SuccessorOf(const RefreshTokenRecord& current, std::string successor_hash,
                                      int64_t now, int64_t idle_lifetime) {
  RefreshTokenRecord successor = current;
  successor.token_hash = std::move(successor_hash);
  successor.created_at = now;
  successor.expires_at = std::min(now + idle_lifetime, current.family_expires_at);
  successor.rotated_at = 0;
  successor.successor_hash.clear();
  successor.revoked = false;
  return successor;
}

// RotationResult: what RotateRefreshToken found.
struct RotationResult {
  RefreshTokenRecord previous;  // the presented token as it was before this call
  bool retried = false;         // true: grace-window retry, nothing was written
};

// RefreshTokenStore: refresh tokens, rotated on every use (OAuth 2.1 §4.3.1; RFC 9700 §4.14.2) so
// that a stolen token that is used twice is noticed (RFC 6749 §10.4). Keys are the raw hash bytes,
// compared exactly. Deleting a user deletes that user's refresh tokens. The store does not check
// client_id, scope or the family of a successor: the caller does.
class RefreshTokenStore {
 public:
  virtual ~RefreshTokenStore() = default;
  // CreateRefreshToken stores `r` as given: kConflict when token_hash exists; kNotFound when no user
  // has r.user_id (nothing is written either way).
  virtual Result<void> CreateRefreshToken(const RefreshTokenRecord& r) = 0;
  // GetRefreshToken returns the token as stored, whatever its state (rotated, revoked, expired):
  // kNotFound when absent.
  virtual Result<RefreshTokenRecord> GetRefreshToken(const std::string& token_hash) = 0;
  // RotateRefreshToken atomically (across threads and processes sharing the database: of two
  // concurrent rotations of one current token exactly one gets retried == false):
  //  - kNotFound: no such token, or it is revoked, or expired (expires_at <= now or
  //    family_expires_at <= now).
  //  - current (rotated_at == 0): sets rotated_at = now and successor_hash = successor.token_hash,
  //    inserts `successor` (the caller fills it; same family), returns {previous, retried=false}.
  //    When the insert fails (kConflict: successor.token_hash exists; kNotFound: no such user)
  //    nothing is written.
  //  - already rotated, grace_seconds > 0 (0 disables the window), now - rotated_at <= grace_seconds,
  //  previous.successor_hash ==
  //    successor.token_hash and that successor is itself still current (not rotated, not revoked):
  //    returns {previous, retried=true} and writes nothing (a client retrying after a lost response).
  //  - any other already-rotated case: kConflict (reuse, RFC 9700 §4.14.2). The store does not
  //    revoke anything; the caller calls RevokeRefreshFamily.
  virtual Result<RotationResult> RotateRefreshToken(const std::string& token_hash,
                                                    const RefreshTokenRecord& successor, int64_t now,
                                                    int64_t grace_seconds) = 0;
  // RevokeRefreshFamily marks every token of the family revoked and returns how many were newly
  // revoked (0, not kNotFound, for an unknown family).
  virtual Result<int64_t> RevokeRefreshFamily(const std::string& family_id) = 0;
  // RevokeRefreshTokens revokes every token of `user_id` that matches the filter: client_id and
  // session_id_hash are ignored when empty (both empty: all of the user's tokens, "log out from all
  // devices"). Returns the distinct family ids that had at least one token newly revoked, ordered
  // byte-wise (empty when there were none), so the caller can revoke the access tokens issued from
  // those families.
  virtual Result<std::vector<std::string>> RevokeRefreshTokens(const std::string& user_id,
                                                               const std::string& client_id,
                                                               const std::string& session_id_hash) = 0;
  // DeleteExpiredRefreshTokens deletes at most `limit` tokens with expires_at <= now or
  // family_expires_at <= now (rotated, revoked or not) and returns how many.
  virtual Result<int64_t> DeleteExpiredRefreshTokens(int64_t now, int64_t limit) = 0;
};

// AccessTokenStore: opaque access tokens. Keys are raw hash bytes, compared exactly. Deleting a
// user deletes that user's access tokens.
class AccessTokenStore {
 public:
  virtual ~AccessTokenStore() = default;
  // CreateAccessToken stores `t` as given: kConflict when token_hash exists; kNotFound when
  // t.user_id is not empty and names no user (nothing is written either way).
  virtual Result<void> CreateAccessToken(const AccessTokenRecord& t) = 0;
  // GetAccessToken returns the token as stored (revoked or expired too): kNotFound when absent.
  virtual Result<AccessTokenRecord> GetAccessToken(const std::string& token_hash) = 0;
  // RevokeAccessToken marks it revoked (idempotent): kNotFound when absent.
  virtual Result<void> RevokeAccessToken(const std::string& token_hash) = 0;
  // DeleteExpiredAccessTokens deletes at most `limit` tokens with expires_at <= now, returns how many.
  virtual Result<int64_t> DeleteExpiredAccessTokens(int64_t now, int64_t limit) = 0;
};

// RevocationRecord: a denylist entry for self-contained (JWT) access tokens, which cannot be
// deleted once issued. `key` names what is revoked, by a prefix the caller chooses ("jti:...",
// "grant:...", "user:..."): a token that matches a key and was issued at or before revoked_at is
// inactive. The entry is kept until expires_at, when every token it can match has expired anyway.
struct RevocationRecord {
  std::string key;
  int64_t revoked_at = 0;
  int64_t expires_at = 0;

  bool operator==(const RevocationRecord&) const = default;
};

// RevocationStore: the denylist.
class RevocationStore {
 public:
  virtual ~RevocationStore() = default;
  // PutRevocation inserts `r`, or raises an existing entry's revoked_at and expires_at to the larger
  // of the stored and the given values (never lowers them).
  virtual Result<void> PutRevocation(const RevocationRecord& r) = 0;
  // LatestRevocation returns the largest revoked_at among the entries with one of `keys` (expired
  // or not), or 0 when none exists (also for no keys). One query for up to 8 keys (SQLite).
  virtual Result<int64_t> LatestRevocation(const std::vector<std::string>& keys) = 0;
  // DeleteExpiredRevocations deletes at most `limit` entries with expires_at <= now, returns how many.
  virtual Result<int64_t> DeleteExpiredRevocations(int64_t now, int64_t limit) = 0;
};

// DeviceCodeRecord: one device authorization (RFC 8628 §3.2). Both codes are stored hashed.
struct DeviceCodeRecord {
  std::string device_code_hash;  // SHA-256 of the device_code, raw 32 bytes
  std::string user_code_hash;    // SHA-256 of the normalised user_code, raw 32 bytes
  std::string client_id;
  std::string scope;  // space-separated, as granted to the client
  // device_info: the requesting device as its user can recognise it on the approval page (its
  // User-Agent and address at the device authorization request), shown, never trusted.
  std::string device_info;
  int64_t created_at = 0;
  int64_t expires_at = 0;      // expired once expires_at <= now
  int64_t interval = 5;        // minimum seconds between polls (§3.2), raised by slow_down (§3.5)
  int64_t last_polled_at = 0;  // 0: never polled
  // status: "pending", "approved", "denied", or "consumed" (tokens were issued: single use).
  std::string status = "pending";
  // Set on approval: who approved, from which browser session, and how they authenticated.
  std::string user_id;
  std::string session_id_hash;
  int64_t auth_time = 0;
  std::string amr;
  std::string acr;

  bool operator==(const DeviceCodeRecord&) const = default;
};

// DeviceCodeStore: device authorizations. Deleting a user deletes the codes that user approved or
// denied.
class DeviceCodeStore {
 public:
  virtual ~DeviceCodeStore() = default;
  // CreateDeviceCode stores `d` as given: kConflict when its device_code_hash or user_code_hash
  // exists (nothing is written).
  virtual Result<void> CreateDeviceCode(const DeviceCodeRecord& d) = 0;
  // GetDeviceCodeByUserCode returns the record, whatever its state: kNotFound when absent.
  virtual Result<DeviceCodeRecord> GetDeviceCodeByUserCode(const std::string& user_code_hash) = 0;
  // DecideDeviceCode atomically moves a pending, unexpired code (expires_at > now) to "approved" or
  // "denied" and stores user_id, session_id_hash, auth_time, amr and acr from `decision` (its other
  // fields are ignored); returns the record as it was before. Checked in this order: kNotFound when
  // absent or expired (decided or not); kConflict when it is no longer pending; kNotFound when
  // decision.user_id names no user (the code stays pending).
  virtual Result<DeviceCodeRecord> DecideDeviceCode(const std::string& user_code_hash, bool approve,
                                                    const DeviceCodeRecord& decision, int64_t now) = 0;
  // PollDeviceCode records one token request for the device code, atomically across threads and
  // processes, and returns the record as it was before this poll (kNotFound when absent):
  //  - too soon (last_polled_at != 0 and now - last_polled_at < interval): interval += 5
  //    (RFC 8628 §3.5 slow_down, "for this and all subsequent requests"), last_polled_at = now;
  //  - else: last_polled_at = now.
  // Of two concurrent polls at the same second, only one finds the interval respected. It never
  // changes the status: the caller decides the answer from the returned record, and spends an
  // approved code with ConsumeDeviceCode once the tokens it grants are written.
  virtual Result<DeviceCodeRecord> PollDeviceCode(const std::string& device_code_hash, int64_t now) = 0;
  // NextPollState returns `d` after one poll at `now`, by the rule above: what every backend's
  // PollDeviceCode writes.
  static DeviceCodeRecord NextPollState(DeviceCodeRecord d, int64_t now) {
    if (d.last_polled_at != 0 && now - d.last_polled_at < d.interval) {
      d.interval += 5;  // RFC 8628 §3.5 slow_down, for this and all later requests
    }
    d.last_polled_at = now;
    return d;
  }
  // ConsumeDeviceCode atomically moves an approved, unexpired code (expires_at > now) to
  // "consumed": of concurrent calls exactly one succeeds. kNotFound when absent or expired;
  // kConflict when not approved (pending, denied, or consumed already).
  virtual Result<void> ConsumeDeviceCode(const std::string& device_code_hash, int64_t now) = 0;
  // DeleteExpiredDeviceCodes deletes at most `limit` codes with expires_at <= now, returns how many.
  virtual Result<int64_t> DeleteExpiredDeviceCodes(int64_t now, int64_t limit) = 0;
};

// ConsentRecord: an authorization the user remembered for a client (OIDC Core §3.1.2.4), so the
// authorization endpoint need not ask again for scopes already approved.
struct ConsentRecord {
  std::string user_id;  // must name an existing user (UserStore)
  std::string client_id;
  std::string scope;  // space-separated scopes the user approved
  int64_t created_at = 0;
  int64_t updated_at = 0;

  bool operator==(const ConsentRecord&) const = default;
};

// ConsentStore: one consent per (user_id, client_id), keys compared exactly. Deleting a user
// deletes that user's consents. The store does not check that client_id names a client.
class ConsentStore {
 public:
  virtual ~ConsentStore() = default;
  // GetConsent: kNotFound when the user has none for the client.
  virtual Result<ConsentRecord> GetConsent(const std::string& user_id, const std::string& client_id) = 0;
  // PutConsent inserts `c`, or replaces the user's consent for c.client_id while keeping its original
  // created_at: kNotFound when no user has c.user_id (nothing is written).
  virtual Result<void> PutConsent(const ConsentRecord& c) = 0;
  // ListUserConsents: the user's consents ordered by client_id (byte-wise); empty (not kNotFound)
  // for an unknown user.
  virtual Result<std::vector<ConsentRecord>> ListUserConsents(const std::string& user_id) = 0;
  // DeleteConsent: kNotFound when absent. It does not revoke refresh tokens: the caller calls
  // RevokeRefreshTokens(user_id, client_id, "").
  virtual Result<void> DeleteConsent(const std::string& user_id, const std::string& client_id) = 0;
};

// SecretStore: server-wide secrets that every process sharing the database must agree on, such as
// the key that derives refresh token successors. Values are raw bytes; names are exact.
class SecretStore {
 public:
  virtual ~SecretStore() = default;
  // EnsureSecret returns the secret stored under `name`, first storing `candidate` when there is
  // none. Atomic: of concurrent callers (threads or processes) with different candidates, every
  // one gets the single value that was stored. `candidate` must not be empty.
  virtual Result<std::string> EnsureSecret(const std::string& name, const std::string& candidate) = 0;
};

// ThrottleRecord: the failed attempts counted under one throttle key (a sign-in account, the address
// a sign-in or a device code came from), shared by every process on the database so that guesses
// spread over several nodes are counted together. What the counts mean (how long a key is locked)
// is the caller's policy (identity/throttle.hpp).
struct ThrottleRecord {
  std::string key;
  int64_t failures = 0;
  int64_t last_failure = 0;  // when the last failure was counted
  int64_t forget_at = 0;     // from then on the entry counts as absent and may be deleted

  bool operator==(const ThrottleRecord&) const = default;
};

// ThrottleStore: failure counters for login and device-code throttling.
class ThrottleStore {
 public:
  virtual ~ThrottleStore() = default;
  // GetThrottle returns the entry of `key` as stored (also when its forget_at has passed):
  // kNotFound when absent.
  virtual Result<ThrottleRecord> GetThrottle(const std::string& key) = 0;
  // CountThrottleFailure counts one failure of `key` at `now` in one atomic step: failures becomes 1
  // when there is no entry or its forget_at <= now, else failures + 1; last_failure and forget_at
  // become the larger of the stored and the given values. Returns the entry as written. Concurrent
  // calls for one key (threads or processes) each count once.
  virtual Result<ThrottleRecord> CountThrottleFailure(const std::string& key, int64_t now,
                                                      int64_t forget_at) = 0;
  // DeleteThrottle forgets `key`; nothing to do (no error) when absent.
  virtual Result<void> DeleteThrottle(const std::string& key) = 0;
  // DeleteExpiredThrottles deletes at most `limit` entries with forget_at <= now, returns how many.
  virtual Result<int64_t> DeleteExpiredThrottles(int64_t now, int64_t limit) = 0;
};

// kSchemaVersion: the schema version this build's stores migrate every database to (each backend's
// list of migrations has this many entries). Opening a store leaves its database at exactly this
// version, or fails.
inline constexpr int kSchemaVersion = 7;

// Store: one backend's whole surface.
class Store : public ClientStore,
              public KeyStore,
              public UserStore,
              public SessionStore,
              public CodeStore,
              public RefreshTokenStore,
              public AccessTokenStore,
              public RevocationStore,
              public DeviceCodeStore,
              public ConsentStore,
              public SecretStore,
              public ThrottleStore {
 public:
  // Revision returns a number that changes whenever any client or key is written, by this
  // process or another one sharing the database (how a running server notices admin commands).
  // User, session, code, token, revocation, device code, consent and throttle writes do NOT change it: the
  // server caches clients and keys, but reads the rest from the store on every request, so bumping it would
  // only make the server reload clients and keys.
  virtual Result<int64_t> Revision() = 0;

  // RevocationRevision returns a number that changes whenever anything that can end an access
  // token before its expiry is written, by this process or another one sharing the database: a
  // denylist entry (PutRevocation), an opaque token revoked, refresh tokens revoked, a user updated
  // or deleted. It is bumped in the transaction of that write, so a reader that sees the write sees
  // the new number. A server that remembers token lookups forgets them when it changes.
  virtual Result<int64_t> RevocationRevision() = 0;

  // GetRefreshTokenWithUser returns GetRefreshToken(token_hash) and GetUser of its user_id, read
  // together: kNotFound when either is absent. A backend whose every read is a round trip to a
  // server answers both in one.
  virtual Result<RefreshTokenWithUser> GetRefreshTokenWithUser(const std::string& token_hash) {
    return WithItsUser<RefreshTokenWithUser>(GetRefreshToken(token_hash));
  }

  // GetCodeWithUser returns GetCode(code_hash) and GetUser of its user_id, read together: kNotFound
  // when either is absent.
  virtual Result<CodeWithUser> GetCodeWithUser(const std::string& code_hash) {
    return WithItsUser<CodeWithUser>(GetCode(code_hash));
  }

  // GetSessionWithUser returns GetSession(id_hash) and GetUser of its user_id, read together:
  // kNotFound when either is absent. A backend whose every read is a round trip to a server answers
  // both in one (the session check of every /authorize with a signed-in browser).
  virtual Result<SessionWithUser> GetSessionWithUser(const std::string& id_hash) {
    return WithItsUser<SessionWithUser>(GetSession(id_hash));
  }

  // CreateCodeForSession stores the code `c` and records that its session signed in to its client
  // (AddSessionClient(c.session_id_hash, c.client_id), which logout reads), with their answers:
  // kNotFound for an absent session, kConflict for a code hash already stored. Here they are two
  // writes, and a code written before a failed AddSessionClient stays, never handed out, until it
  // expires. A backend whose every statement is a round trip does both in one statement, which
  // writes neither unless both succeed.
  virtual Result<void> CreateCodeForSession(const AuthorizationCodeRecord& c) {
    if (auto created = CreateCode(c); !created) return created;
    return AddSessionClient(c.session_id_hash, c.client_id);
  }

  // RotateCurrentRefreshToken is the common refresh grant as one step: when r.token_hash is current
  // (not rotated, not revoked, not expired), was issued to r.client_id, and its user is active, it
  // rotates it as RotateRefreshToken does with SuccessorOf(token, r.successor_hash, r.now,
  // r.idle_lifetime) and returns the token as it was with its user. In every other case it writes
  // nothing and returns kNotFound; the caller then reads the token and tells the cases apart. Of two
  // concurrent calls for one token, at most one succeeds. A backend whose every statement is a round
  // trip to a server does it in one, and stores r.access_token in it (CurrentRotation).
  virtual Result<CurrentRotated> RotateCurrentRefreshToken(const CurrentRotation& r) {
    auto read = GetRefreshTokenWithUser(r.token_hash);
    if (!read) return read.error();
    const RefreshTokenRecord& token = read->token;
    if (token.client_id != r.client_id || read->user.status != "active" || token.rotated_at != 0 ||
        token.revoked || token.expires_at <= r.now || token.family_expires_at <= r.now) {
      return Error::kNotFound;
    }
    // No grace window: a rotation that won the race since the read is not this call's retry.
    auto rotated =
        RotateRefreshToken(r.token_hash, SuccessorOf(token, r.successor_hash, r.now, r.idle_lifetime), r.now,
                           /*grace_seconds=*/0);
    if (!rotated) return rotated.error() == Error::kConflict ? Error::kNotFound : rotated.error();
    return CurrentRotated{{std::move(rotated->previous), std::move(read->user)}};
  }

  // CreateGrantTokens stores each of `tokens`, one write each: kUnavailable when one cannot be
  // written (a duplicate hash is not a replay), kNotFound when its user is gone.
  Result<void> CreateGrantTokens(const GrantTokens& tokens) {
    auto written = [](Result<void> r) -> Result<void> {
      if (!r && r.error() == Error::kConflict) return Error::kUnavailable;
      return r;
    };
    if (tokens.refresh_token) {
      if (auto r = written(CreateRefreshToken(*tokens.refresh_token)); !r) return r;
    }
    if (tokens.access_token) return written(CreateAccessToken(*tokens.access_token));
    return {};
  }

  // RedeemCodeWithTokens stores `tokens` and then redeems the code, with RedeemCode's answers (and
  // CreateGrantTokens'): the code is spent only once everything it grants is stored, so a write that
  // fails leaves it unspent for the client's retry. Here they are separate writes, and tokens written
  // for a redemption that then fails stay (the caller revokes their family). A backend whose every
  // statement is a round trip does it all in one statement, which writes nothing unless it spends
  // the code.
  virtual Result<AuthorizationCodeRecord> RedeemCodeWithTokens(const std::string& code_hash, int64_t now,
                                                               const GrantTokens& tokens) {
    if (auto written = CreateGrantTokens(tokens); !written) return written.error();
    return RedeemCode(code_hash, now);
  }

  // Compact gives back space the backend still holds for data already deleted (SQLite: a TRUNCATE
  // checkpoint of the write-ahead log). kUnavailable when it could not finish now (readers or a
  // writer kept it busy past the busy timeout); the caller tries again later. Nothing to do for
  // a backend without such space.
  virtual Result<void> Compact() { return {}; }

 private:
  // WithItsUser pairs a record read with GetUser of its user_id, as `Joined` ({record, user}):
  // the read's error, or kNotFound when the user is absent.
  template <class Joined, class Record>
  Result<Joined> WithItsUser(Result<Record> record) {
    if (!record) return record.error();
    auto user = GetUser(record->user_id);
    if (!user) return user.error();
    return Joined{std::move(*record), std::move(*user)};
  }
};

}  // namespace latchkey::store
