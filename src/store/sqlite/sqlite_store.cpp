#include "store/sqlite/sqlite_store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/log.hpp"
#include "store/sql_columns.hpp"
#include "store/sql_statements.hpp"
#include "store/sqlite/sqlite_testing.hpp"

namespace latchkey::store::sqlite {
namespace {

// kBusyTimeoutMs: how long a statement waits for another connection's (or process's) write lock
// before failing with SQLITE_BUSY -> kUnavailable. Writes are short, so 5 s only expires when
// something is badly wrong.
constexpr int kBusyTimeoutMs = 5000;

// kJournalModeRetryMs: the pause between attempts to switch a fresh file to WAL (OpenConnection).
constexpr int kJournalModeRetryMs = 10;

// kMaxIdleConnections: connections kept open for reuse. More may be open at once (one per thread
// inside a call); the extra ones are closed when returned.
constexpr std::size_t kMaxIdleConnections = 8;

// kMigrations: the schema, as an ordered list. Entry i brings the schema to version i + 1. Append
// only: never edit or reorder an entry that has shipped. List fields are JSON arrays of strings
// (every byte survives: JSON escapes quotes, control characters and NUL).
constexpr std::array<std::string_view, kSchemaVersion> kMigrations = {
    R"sql(
CREATE TABLE clients (
  client_id TEXT PRIMARY KEY NOT NULL,
  client_name TEXT NOT NULL,
  secret_hash BLOB NOT NULL,
  token_endpoint_auth_method TEXT NOT NULL,
  redirect_uris TEXT NOT NULL,
  grant_types TEXT NOT NULL,
  scopes TEXT NOT NULL,
  post_logout_redirect_uris TEXT NOT NULL,
  access_token_lifetime INTEGER NOT NULL,
  access_token_alg TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY NOT NULL,
  alg TEXT NOT NULL,
  private_pem TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX signing_keys_by_created_at ON signing_keys (created_at, kid);
CREATE TABLE meta (
  key TEXT PRIMARY KEY NOT NULL,
  value INTEGER NOT NULL
);
INSERT INTO meta (key, value) VALUES ('revision', 0);
)sql",
    // 2: users (OIDC Core §5.1 standard claims). Booleans are INTEGER 0/1. username's UNIQUE
    // constraint (BINARY collation: byte-wise, case-sensitive) also serves ORDER BY username.
    R"sql(
CREATE TABLE users (
  user_id TEXT PRIMARY KEY NOT NULL,
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'active',
  name TEXT NOT NULL DEFAULT '',
  given_name TEXT NOT NULL DEFAULT '',
  family_name TEXT NOT NULL DEFAULT '',
  preferred_username TEXT NOT NULL DEFAULT '',
  email TEXT NOT NULL DEFAULT '',
  email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
  phone_number TEXT NOT NULL DEFAULT '',
  phone_number_verified INTEGER NOT NULL DEFAULT 0 CHECK (phone_number_verified IN (0, 1)),
  address_json TEXT NOT NULL DEFAULT '',
  picture TEXT NOT NULL DEFAULT '',
  locale TEXT NOT NULL DEFAULT '',
  zoneinfo TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL DEFAULT 0
);
)sql",
    // 3: browser sessions and authorization codes (OIDC Core §3.1.2; RFC 6749 §4.1.2, §10.5). The
    // hashes are BLOB keys: raw SHA-256 bytes, compared byte-wise, bound as blobs. Deleting a user
    // deletes their sessions and codes (foreign keys are on for every connection). The user_id
    // indexes also keep that cascade from scanning the tables; the time indexes serve the cleanups.
    R"sql(
CREATE TABLE sessions (
  id_hash BLOB PRIMARY KEY NOT NULL,
  user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL DEFAULT 0,
  last_seen_at INTEGER NOT NULL DEFAULT 0,
  auth_time INTEGER NOT NULL DEFAULT 0,
  amr TEXT NOT NULL DEFAULT '',
  acr TEXT NOT NULL DEFAULT '',
  revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);
CREATE INDEX sessions_by_user ON sessions (user_id, created_at, id_hash);
CREATE INDEX sessions_by_created_at ON sessions (created_at);
CREATE INDEX sessions_by_last_seen_at ON sessions (last_seen_at);
CREATE TABLE authorization_codes (
  code_hash BLOB PRIMARY KEY NOT NULL,
  client_id TEXT NOT NULL DEFAULT '',
  user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  session_id_hash BLOB NOT NULL DEFAULT X'',
  redirect_uri TEXT NOT NULL DEFAULT '',
  redirect_uri_sent INTEGER NOT NULL DEFAULT 0 CHECK (redirect_uri_sent IN (0, 1)),
  scope TEXT NOT NULL DEFAULT '',
  nonce TEXT NOT NULL DEFAULT '',
  code_challenge TEXT NOT NULL DEFAULT '',
  code_challenge_method TEXT NOT NULL DEFAULT '',
  auth_time INTEGER NOT NULL DEFAULT 0,
  amr TEXT NOT NULL DEFAULT '',
  acr TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL DEFAULT 0,
  expires_at INTEGER NOT NULL DEFAULT 0,
  used INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1))
);
CREATE INDEX authorization_codes_by_user ON authorization_codes (user_id);
CREATE INDEX authorization_codes_by_expires_at ON authorization_codes (expires_at);
)sql",
    // 4: refresh tokens (RFC 6749 §6; rotation and reuse detection, OAuth 2.1 §4.3.1, RFC 9700
    // §4.14.2) and remembered consents (OIDC Core §3.1.2.4). Hashes are BLOBs as in 3. Deleting a
    // user deletes both. The family index serves RevokeRefreshFamily; (user_id, client_id) serves
    // the cascade and RevokeRefreshTokens; the two expiry indexes serve the cleanup's OR.
    // The consents primary key serves lookups, listing in client_id order and the cascade.
    // clients gains id_token_signed_response_alg (OIDC Dynamic Client Registration §2); existing
    // rows read as '' (the server's default).
    R"sql(
CREATE TABLE refresh_tokens (
  token_hash BLOB PRIMARY KEY NOT NULL,
  family_id TEXT NOT NULL DEFAULT '',
  client_id TEXT NOT NULL DEFAULT '',
  user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  scope TEXT NOT NULL DEFAULT '',
  session_id_hash BLOB NOT NULL DEFAULT X'',
  auth_time INTEGER NOT NULL DEFAULT 0,
  amr TEXT NOT NULL DEFAULT '',
  acr TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL DEFAULT 0,
  expires_at INTEGER NOT NULL DEFAULT 0,
  family_expires_at INTEGER NOT NULL DEFAULT 0,
  rotated_at INTEGER NOT NULL DEFAULT 0,
  successor_hash BLOB NOT NULL DEFAULT X'',
  revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_user_client ON refresh_tokens (user_id, client_id);
CREATE INDEX refresh_tokens_by_expires_at ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_by_family_expires_at ON refresh_tokens (family_expires_at);
CREATE TABLE consents (
  user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  client_id TEXT NOT NULL,
  scope TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, client_id)
);
CREATE TABLE secrets (
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL,
  created_at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))
);
ALTER TABLE clients ADD COLUMN id_token_signed_response_alg TEXT NOT NULL DEFAULT '';
)sql",
    // 5: the clients of each session (OIDC Back-Channel Logout §2.7), opaque access tokens (RFC
    // 7662), the JWT access token denylist, and device authorizations (RFC 8628). Hashes are BLOBs
    // as in 3. session_clients goes with its session (expiry, or the user's deletion through
    // sessions); its primary key serves listing in client_id order and the cascade. The user_id of
    // access_tokens and device_codes is NULL, not '', when there is no user (a client's own token,
    // an undecided code), so the foreign key lets those rows be and deleting a user deletes the
    // rest; the user_id indexes keep that cascade from scanning. The expiry indexes serve the
    // bounded cleanups. device_codes' interval is poll_interval (INTERVAL is an SQL keyword
    // elsewhere). clients gains the four ClientRecord fields; existing rows read as the defaults.
    R"sql(
CREATE TABLE session_clients (
  id_hash BLOB NOT NULL REFERENCES sessions (id_hash) ON DELETE CASCADE,
  client_id TEXT NOT NULL,
  PRIMARY KEY (id_hash, client_id)
);
CREATE TABLE access_tokens (
  token_hash BLOB PRIMARY KEY NOT NULL,
  client_id TEXT NOT NULL DEFAULT '',
  subject TEXT NOT NULL DEFAULT '',
  user_id TEXT REFERENCES users (user_id) ON DELETE CASCADE,
  scope TEXT NOT NULL DEFAULT '',
  audience TEXT NOT NULL DEFAULT '',
  grant_id TEXT NOT NULL DEFAULT '',
  auth_time INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL DEFAULT 0,
  expires_at INTEGER NOT NULL DEFAULT 0,
  revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);
CREATE INDEX access_tokens_by_user ON access_tokens (user_id);
CREATE INDEX access_tokens_by_expires_at ON access_tokens (expires_at);
CREATE TABLE revocations (
  key TEXT PRIMARY KEY NOT NULL,
  revoked_at INTEGER NOT NULL DEFAULT 0,
  expires_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX revocations_by_expires_at ON revocations (expires_at);
CREATE TABLE device_codes (
  device_code_hash BLOB PRIMARY KEY NOT NULL,
  user_code_hash BLOB NOT NULL UNIQUE,
  client_id TEXT NOT NULL DEFAULT '',
  scope TEXT NOT NULL DEFAULT '',
  device_info TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL DEFAULT 0,
  expires_at INTEGER NOT NULL DEFAULT 0,
  poll_interval INTEGER NOT NULL DEFAULT 5,
  last_polled_at INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'pending',
  user_id TEXT REFERENCES users (user_id) ON DELETE CASCADE,
  session_id_hash BLOB NOT NULL DEFAULT X'',
  auth_time INTEGER NOT NULL DEFAULT 0,
  amr TEXT NOT NULL DEFAULT '',
  acr TEXT NOT NULL DEFAULT ''
);
CREATE INDEX device_codes_by_user ON device_codes (user_id);
CREATE INDEX device_codes_by_expires_at ON device_codes (expires_at);
ALTER TABLE clients ADD COLUMN access_token_format TEXT NOT NULL DEFAULT 'jwt';
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required INTEGER NOT NULL DEFAULT 0
  CHECK (backchannel_logout_session_required IN (0, 1));
ALTER TABLE clients ADD COLUMN introspect_any INTEGER NOT NULL DEFAULT 0 CHECK (introspect_any IN (0, 1));
)sql",
    // 6: the signing key lifecycle (next, active, retired). Keys stored before it are active since
    // they were created.
    R"sql(
ALTER TABLE signing_keys ADD COLUMN active_from INTEGER NOT NULL DEFAULT 0;
ALTER TABLE signing_keys ADD COLUMN retired_at INTEGER NOT NULL DEFAULT 0;
UPDATE signing_keys SET active_from = created_at WHERE state = 'active';
)sql",
    // 7: sign-in and device-code throttle counters, shared by every process on the database.
    R"sql(
CREATE TABLE throttles (
  key TEXT PRIMARY KEY NOT NULL,
  failures INTEGER NOT NULL DEFAULT 0,
  last_failure INTEGER NOT NULL DEFAULT 0,
  forget_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX throttles_by_forget_at ON throttles (forget_at);
)sql",
};

constexpr std::string_view kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER)";
constexpr std::string_view kSelectSchemaVersion = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
constexpr std::string_view kInsertMigration =
    "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, CAST(strftime('%s', 'now') AS INTEGER))";

constexpr std::string_view kBeginImmediate = "BEGIN IMMEDIATE";
constexpr std::string_view kCommit = "COMMIT";
constexpr std::string_view kRollback = "ROLLBACK";
// The 'revocations' row (Store::RevocationRevision) is made by its first bump: databases written
// before it existed need no migration.
constexpr std::string_view kSelectRevocationRevision =
    "SELECT COALESCE((SELECT value FROM meta WHERE key = 'revocations'), 0)";

// One statement, so the check and the insert are one atomic write (Store::AddSigningKey).
constexpr std::string_view kInsertKey =
    "INSERT INTO signing_keys (kid, alg, private_pem, state, created_at, active_from, retired_at) "
    "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE ?4 NOT IN ('active', 'next') OR NOT EXISTS "
    "(SELECT 1 FROM signing_keys WHERE alg = ?2 AND state = ?4)";
// ActivateSigningKey: first the alg's active key retires (only while ?1 is still next), then ?1
// becomes active; both in the caller's transaction.
constexpr std::string_view kRetireActiveKeyOfNext =
    "UPDATE signing_keys SET state = 'retired', retired_at = ?2 WHERE state = 'active' AND alg = "
    "(SELECT alg FROM signing_keys WHERE kid = ?1 AND state = 'next')";
constexpr std::string_view kActivateKey =
    "UPDATE signing_keys SET state = 'active', active_from = ?2 WHERE kid = ?1 AND state = 'next'";
constexpr std::string_view kRetireKey =
    "UPDATE signing_keys SET state = 'retired', retired_at = ?2 WHERE kid = ?1 AND state <> 'retired'";
constexpr std::string_view kDeleteKey = "DELETE FROM signing_keys WHERE kid = ?1 AND state = 'retired'";

// The bounded deletes pick at most ?N rowids first, so one call holds the write lock only briefly
// however large the backlog (the caller repeats). Their session clients go by the cascade.
constexpr std::string_view kDeleteExpiredSessions =
    "DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions WHERE created_at < ?1 OR "
    "last_seen_at < ?2 LIMIT ?3)";
// kRedeemCode is the single-use check and the mark in one statement: of two redemptions, only the
// first finds used = 0, whatever the interleaving (it also runs under BEGIN IMMEDIATE).
constexpr std::string_view kRedeemCode =
    "UPDATE authorization_codes SET used = 1 WHERE code_hash = ?1 AND used = 0 AND expires_at > ?2";
constexpr std::string_view kDeleteExpiredCodes =
    "DELETE FROM authorization_codes WHERE rowid IN (SELECT rowid FROM authorization_codes WHERE "
    "expires_at <= ?1 LIMIT ?2)";

// kSelectRefreshFamiliesToRevoke and kRevokeRefreshTokens share one filter (an empty ?2 or ?3
// matches any client or session); RevokeRefreshTokens runs both under one write lock, so the
// families listed are exactly those of the rows the UPDATE revokes. The session hash is a blob:
// length() tests it for empty, as X'' = '' is false in SQLite.
constexpr std::string_view kSelectRefreshFamiliesToRevoke =
    "SELECT DISTINCT family_id FROM refresh_tokens WHERE user_id = ?1 AND revoked = 0 AND "
    "(?2 = '' OR client_id = ?2) AND (length(?3) = 0 OR session_id_hash = ?3) ORDER BY family_id";
constexpr std::string_view kRevokeRefreshTokens =
    "UPDATE refresh_tokens SET revoked = 1 WHERE user_id = ?1 AND revoked = 0 AND "
    "(?2 = '' OR client_id = ?2) AND (length(?3) = 0 OR session_id_hash = ?3)";
constexpr std::string_view kDeleteExpiredRefreshTokens =
    "DELETE FROM refresh_tokens WHERE rowid IN (SELECT rowid FROM refresh_tokens WHERE expires_at <= ?1 "
    "OR family_expires_at <= ?1 LIMIT ?2)";

// kInsertAccessToken stores an empty user_id as NULL (no user to reference).
constexpr std::string_view kInsertAccessToken =
    "INSERT INTO access_tokens (token_hash, client_id, subject, user_id, scope, audience, grant_id, "
    "auth_time, created_at, expires_at, revoked) VALUES (?1, ?2, ?3, NULLIF(?4, ''), ?5, ?6, ?7, ?8, ?9, "
    "?10, ?11)";
constexpr std::string_view kDeleteExpiredAccessTokens =
    "DELETE FROM access_tokens WHERE rowid IN (SELECT rowid FROM access_tokens WHERE expires_at <= ?1 "
    "LIMIT ?2)";

// kPutRevocation: an UPSERT that only ever raises the stored times (max() of two integers).
constexpr std::string_view kPutRevocation =
    "INSERT INTO revocations (key, revoked_at, expires_at) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE "
    "SET revoked_at = max(revoked_at, excluded.revoked_at), expires_at = max(expires_at, "
    "excluded.expires_at)";
// kLatestRevocationKeys: how many keys kLatestRevocation takes at once. Callers pass a handful (jti,
// grant, user); unused slots are bound NULL, which matches no key. More keys take one query per
// chunk.
constexpr int kLatestRevocationKeys = 8;
constexpr std::string_view kLatestRevocation =
    "SELECT COALESCE(MAX(revoked_at), 0) FROM revocations WHERE key IN (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr std::string_view kDeleteExpiredRevocations =
    "DELETE FROM revocations WHERE rowid IN (SELECT rowid FROM revocations WHERE expires_at <= ?1 LIMIT ?2)";

// kInsertDeviceCode stores an empty user_id as NULL (undecided: no user yet).
constexpr std::string_view kInsertDeviceCode =
    "INSERT INTO device_codes (device_code_hash, user_code_hash, client_id, scope, device_info, created_at, "
    "expires_at, poll_interval, last_polled_at, status, user_id, session_id_hash, auth_time, amr, acr) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULLIF(?11, ''), ?12, ?13, ?14, ?15)";
// kDecideDeviceCode repeats the pending and expiry conditions DecideDeviceCode has just checked
// under the write lock: a code is decided at most once, whatever else goes wrong. user_id is bound
// as given: an unknown one (even '') fails the foreign key (kNotFound).
constexpr std::string_view kDecideDeviceCode =
    "UPDATE device_codes SET status = ?2, user_id = ?3, session_id_hash = ?4, auth_time = ?5, amr = ?6, "
    "acr = ?7 WHERE user_code_hash = ?1 AND status = 'pending' AND expires_at > ?8";
constexpr std::string_view kConsumeDeviceCode =
    "UPDATE device_codes SET status = 'consumed' WHERE device_code_hash = ?1 AND status = 'approved' AND "
    "expires_at > ?2";
constexpr std::string_view kDeleteExpiredDeviceCodes =
    "DELETE FROM device_codes WHERE rowid IN (SELECT rowid FROM device_codes WHERE expires_at <= ?1 LIMIT "
    "?2)";

// kCountThrottleFailure starts an
// entry whose forget_at has passed again from one failure (Store::CountThrottleFailure).
constexpr std::string_view kCountThrottleFailure =
    "INSERT INTO throttles (key, failures, last_failure, forget_at) VALUES (?1, 1, ?2, ?3) ON CONFLICT (key) "
    "DO UPDATE SET failures = CASE WHEN forget_at <= excluded.last_failure THEN 1 ELSE failures + 1 END, "
    "last_failure = max(last_failure, excluded.last_failure), forget_at = max(forget_at, excluded.forget_at)";
constexpr std::string_view kDeleteExpiredThrottles =
    "DELETE FROM throttles WHERE rowid IN (SELECT rowid FROM throttles WHERE forget_at <= ?1 LIMIT ?2)";

// MapError translates a SQLite result code into the store's error. A lock held by another
// connection or process, or an I/O failure, is transient (kUnavailable: the caller answers 503);
// a duplicate key is kConflict; anything else means the file or this code is wrong (kCorrupt).
Error MapError(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_NOMEM:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
    case SQLITE_PERM:
    case SQLITE_INTERRUPT: return Error::kUnavailable;
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) return Error::kConflict;
      return Error::kCorrupt;
    default: return Error::kCorrupt;
  }
}

// Fail logs the SQLite message (never a bound value: those may be secrets) and returns the error.
Error Fail(sqlite3* db, int rc, std::string_view what) {
  Error error = MapError(rc);
  // A duplicate key is an expected answer (an admin re-creating a client), not an incident.
  common::LogLevel level = error == Error::kConflict ? common::LogLevel::kDebug : common::LogLevel::kWarn;
  const char* message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  common::Log(level, "sqlite store error", {{"op", what}, {"code", rc}, {"message", message}});
  return error;
}

// SqlitePlaceholders returns `sql` with every $N (a '$' followed by a digit) written ?N. SQLite
// would read $1 as a named parameter numbered by first appearance, not as parameter 1. The shared
// statements hold no string literal with a '$' in it.
std::string SqlitePlaceholders(std::string_view sql) {
  std::string text(sql);
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] == '$' && text[i + 1] >= '0' && text[i + 1] <= '9') text[i] = '?';
  }
  return text;
}

// Connection owns one sqlite3 handle and its prepared statements. Used by one thread at a time
// (the pool hands it out exclusively).
class Connection {
 public:
  explicit Connection(sqlite3* db) : db_(db) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  sqlite3* Db() { return db_; }

  // Prepare returns the statement for `sql`, compiling it on first use and reusing it after.
  // `sql` must outlive the connection (all callers pass the constants above or of
  // store/sql_statements.hpp). Placeholders may be written $N, as PostgreSQL's: they are compiled
  // as ?N, the same parameter.
  Result<sqlite3_stmt*> Prepare(std::string_view sql) {
    if (auto it = statements_.find(sql); it != statements_.end()) return it->second;
    const std::string text = SqlitePlaceholders(sql);
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, text.data(), static_cast<int>(text.size()), SQLITE_PREPARE_PERSISTENT,
                                &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return Fail(db_, rc, "prepare");
    }
    statements_.emplace(sql, stmt);
    return stmt;
  }

 private:
  sqlite3* db_;
  std::unordered_map<std::string_view, sqlite3_stmt*> statements_;
};

// Statement is one use of a cached prepared statement: bind, step, and on destruction reset and
// clear the bindings so the next user starts clean and no read snapshot stays open.
class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  // Bind* return the SQLite result code; text and blobs are copied (SQLITE_TRANSIENT) with their
  // exact length, so NUL bytes survive.
  int BindText(int index, std::string_view value) {
    return sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  }
  int BindBlob(int index, std::string_view value) {
    // A null pointer would bind SQL NULL; a zero-length blob needs a non-null pointer.
    static constexpr char kEmpty = 0;
    return sqlite3_bind_blob64(stmt_, index, value.empty() ? &kEmpty : value.data(), value.size(),
                               SQLITE_TRANSIENT);
  }
  int BindInt64(int index, int64_t value) { return sqlite3_bind_int64(stmt_, index, value); }

  // Step returns SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }

  std::string ColumnString(int index) {
    const void* data = sqlite3_column_blob(stmt_, index);  // also works for TEXT, without conversion
    int size = sqlite3_column_bytes(stmt_, index);
    if (data == nullptr || size <= 0) return {};
    return std::string(static_cast<const char*>(data), static_cast<std::size_t>(size));
  }
  int64_t ColumnInt64(int index) { return sqlite3_column_int64(stmt_, index); }

 private:
  sqlite3_stmt* stmt_;
};

// ExecScript runs `sql` (possibly several statements, no parameters) without caching it.
Result<void> ExecScript(sqlite3* db, std::string_view sql, std::string_view what) {
  std::string text(sql);
  int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Fail(db, rc, what);
  return {};
}

// Run prepares (cached) and steps a statement that returns no rows.
Result<void> Run(Connection& conn, std::string_view sql) {
  auto stmt = conn.Prepare(sql);
  if (!stmt) return stmt.error();
  Statement s(*stmt);
  int rc = s.Step();
  if (rc != SQLITE_DONE) return Fail(conn.Db(), rc, sql);
  return {};
}

// KeyUpdate runs one signing-key statement: ?1 is the kid, then `now` (when given) or the `texts`,
// in order. Returns how many rows it changed.
Result<int64_t> KeyUpdate(Connection& conn, std::string_view sql, const std::string& kid,
                          std::optional<int64_t> now, std::initializer_list<std::string_view> texts) {
  auto stmt = conn.Prepare(sql);
  if (!stmt) return stmt.error();
  Statement s(*stmt);
  int index = 1;
  int rc = s.BindText(index++, kid);
  if (rc == SQLITE_OK && now) rc = s.BindInt64(index++, *now);
  for (auto text : texts) {
    if (rc == SQLITE_OK) rc = s.BindText(index++, text);
  }
  if (rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
  if (rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "update signing key");
  return static_cast<int64_t>(sqlite3_changes(conn.Db()));
}

// MissingOrConflict: why a keyed signing-key statement changed nothing.
Result<void> MissingOrConflict(Connection& conn, const std::string& kid) {
  auto stmt = conn.Prepare(sql::kKeyExists);
  if (!stmt) return stmt.error();
  Statement s(*stmt);
  if (int rc = s.BindText(1, kid); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
  int rc = s.Step();
  if (rc == SQLITE_ROW) return Error::kConflict;
  if (rc == SQLITE_DONE) return Error::kNotFound;
  return Fail(conn.Db(), rc, "find signing key");
}

// OpenConnection opens the file and configures the connection. busy_timeout is set first so that
// switching to WAL waits for, rather than fails on, another process holding a lock.
Result<std::unique_ptr<Connection>> OpenConnection(const std::string& path) {
  sqlite3* db = nullptr;
  // NOMUTEX: the pool gives each connection to one thread at a time.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  auto conn = std::make_unique<Connection>(db);  // closes `db` on every path, even a failed open
  if (rc != SQLITE_OK) return Fail(db, rc, "open");
  sqlite3_extended_result_codes(db, 1);
  rc = sqlite3_busy_timeout(db, kBusyTimeoutMs);
  if (rc != SQLITE_OK) return Fail(db, rc, "busy_timeout");
  if (auto r = ExecScript(db, "PRAGMA foreign_keys=ON", "foreign_keys"); !r) return r.error();

  // journal_mode answers with the mode now in force; a file system without shared memory support
  // would silently stay in rollback mode, where readers block the writer.
  // Two processes opening a fresh file at once can make the switch fail with SQLITE_BUSY without
  // the busy handler ever running (SQLite refuses to wait where waiting could deadlock), so the
  // switch is retried here for as long as the busy timeout allows.
  std::string mode;
  for (int waited_ms = 0;; waited_ms += kJournalModeRetryMs) {
    sqlite3_stmt* raw = nullptr;
    rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &raw, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_step(raw);
    if (rc == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(raw, 0);
      if (text != nullptr) mode = reinterpret_cast<const char*>(text);
    }
    sqlite3_finalize(raw);
    if ((rc & 0xff) != SQLITE_BUSY || waited_ms >= kBusyTimeoutMs) break;
    sqlite3_sleep(kJournalModeRetryMs);
  }
  if (rc != SQLITE_ROW) return Fail(db, rc, "journal_mode");
  if (mode != "wal") {
    common::LogError("sqlite store: WAL journal mode unavailable", {{"mode", mode}});
    return Error::kUnavailable;
  }
  // In WAL mode, NORMAL is durable against application crashes and keeps the database consistent
  // across power loss (the last transactions may roll back).
  if (auto r = ExecScript(db, "PRAGMA synchronous=NORMAL", "synchronous"); !r) return r.error();
  // Whenever the write-ahead log is reset after a checkpoint, it is cut back to this size instead
  // of keeping the largest size it ever reached.
  if (auto r = ExecScript(db, "PRAGMA journal_size_limit=67108864", "journal_size_limit"); !r)
    return r.error();
  return conn;
}

// Transaction holds BEGIN IMMEDIATE: the write lock is taken up front, so two writers queue on the
// busy timeout instead of one failing when it upgrades a read snapshot that went stale. Rolls back
// unless Commit succeeded.
class Transaction {
 public:
  explicit Transaction(Connection& conn) : conn_(conn) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (open_) (void)Run(conn_, kRollback);
  }

  Result<void> Begin() {
    auto r = Run(conn_, kBeginImmediate);
    if (r) open_ = true;
    return r;
  }

  Result<void> Commit() {
    auto r = Run(conn_, kCommit);
    if (r) open_ = false;
    return r;
  }

 private:
  Connection& conn_;
  bool open_ = false;
};

// Pool hands out connections exclusively; thread-safe.
class Pool {
 public:
  explicit Pool(std::string path) : path_(std::move(path)) {}

  // Lease returns the connection to the pool when destroyed.
  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_) pool_.Release(std::move(conn_));
    }
    Connection& operator*() { return *conn_; }

   private:
    Pool& pool_;
    std::unique_ptr<Connection> conn_;
  };

  Result<Lease> Acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        return Lease(*this, std::move(conn));
      }
    }
    auto conn = OpenConnection(path_);
    if (!conn) return conn.error();
    return Lease(*this, std::move(*conn));
  }

 private:
  void Release(std::unique_ptr<Connection> conn) {
    std::lock_guard lock(mutex_);
    if (idle_.size() < kMaxIdleConnections) idle_.push_back(std::move(conn));
  }

  std::string path_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

// StatementRow is the current row of a statement as sql::ColumnReader reads it.
class StatementRow {
 public:
  explicit StatementRow(Statement& s) : s_(s) {}

  std::string Bytes(int column) const { return s_.ColumnString(column); }
  int64_t Int(int column) const { return s_.ColumnInt64(column); }
  bool Bool(int column) const { return s_.ColumnInt64(column) != 0; }

 private:
  Statement& s_;
};

// ParamBinder binds a record's fields to ?1, ?2, ... in sql::Columns order; ResultCode() is the first
// SQLite error, or SQLITE_OK.
class ParamBinder {
 public:
  explicit ParamBinder(Statement& s) : s_(s) {}

  void Text(std::string_view v) { Check(s_.BindText(next_++, v)); }
  void Blob(std::string_view v) { Check(s_.BindBlob(next_++, v)); }
  void Int(int64_t v) { Check(s_.BindInt64(next_++, v)); }
  void Bool(bool v) { Check(s_.BindInt64(next_++, v ? 1 : 0)); }
  void List(const std::vector<std::string>& v) { Check(s_.BindText(next_++, sql::EncodeList(v))); }

  int ResultCode() const { return rc_; }

 private:
  void Check(int rc) {
    if (rc_ == SQLITE_OK) rc_ = rc;
  }

  Statement& s_;
  int next_ = 1;
  int rc_ = SQLITE_OK;
};

// ReadRecord reads the current row as a Record without list columns (sql::Columns order).
template <class Record>
Record ReadRecord(Statement& s) {
  Record record;
  StatementRow row(s);
  sql::ColumnReader reader(row);
  sql::Columns(record, reader);
  return record;
}

// BindRecord binds `record`'s columns to ?1..?N and returns the SQLite result code.
template <class Record>
int BindRecord(Statement& s, const Record& record) {
  ParamBinder binder(s);
  sql::Columns(record, binder);
  return binder.ResultCode();
}

// ReadClient reads a client row; a list column that does not decode is an error (kCorrupt).
Result<ClientRecord> ReadClient(Statement& s) {
  ClientRecord c;
  StatementRow row(s);
  sql::ColumnReader reader(row);
  sql::Columns(c, reader);
  if (auto column = reader.FailedColumn()) {
    common::LogError("sqlite store: undecodable list column",
                     {{"client_id", c.client_id}, {"column", *column}});
    return reader.Failure();
  }
  return c;
}

// StepInsertOwnedByUser steps an INSERT whose user_id references users: a missing user (the foreign
// key) is kNotFound, a duplicate key kConflict.
Result<void> StepInsertOwnedByUser(Connection& conn, Statement& s, std::string_view what) {
  int rc = s.Step();
  if (rc == SQLITE_DONE) return {};
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return Error::kNotFound;
  return Fail(conn.Db(), rc, what);
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::string path) : pool_(std::move(path)) {}

  // Migrate applies pending migrations, one transaction each. BEGIN IMMEDIATE serialises two
  // processes opening a fresh file at once: the second one waits, then sees the new version.
  Result<void> Migrate() {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    Connection& conn = **lease;
    for (;;) {
      Transaction tx(conn);
      if (auto r = tx.Begin(); !r) return r;
      if (auto r = ExecScript(conn.Db(), kCreateMigrationsTable, "schema_migrations"); !r) return r;
      auto version = QueryInt64(conn, kSelectSchemaVersion);
      if (!version) return version.error();
      if (*version > static_cast<int64_t>(kMigrations.size())) {
        common::LogError("sqlite store: database schema is newer than this binary",
                         {{"db_version", *version}, {"known_version", kMigrations.size()}});
        return Error::kCorrupt;
      }
      if (*version == static_cast<int64_t>(kMigrations.size())) return tx.Commit();
      const int64_t next = *version + 1;
      if (auto r = ExecScript(conn.Db(), kMigrations[static_cast<std::size_t>(*version)], "migration"); !r) {
        return r;
      }
      auto stmt = conn.Prepare(kInsertMigration);
      if (!stmt) return stmt.error();
      {
        Statement s(*stmt);
        s.BindInt64(1, next);
        if (int rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "record migration");
      }
      if (auto r = tx.Commit(); !r) return r;
      common::LogInfo("sqlite store: applied migration", {{"version", next}});
    }
  }

  Result<ClientRecord> GetClient(const std::string& client_id) override {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    Connection& conn = **lease;
    auto stmt = conn.Prepare(sql::kSelectClient);
    if (!stmt) return stmt.error();
    Statement s(*stmt);
    if (int rc = s.BindText(1, client_id); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
    int rc = s.Step();
    if (rc == SQLITE_DONE) return Error::kNotFound;
    if (rc != SQLITE_ROW) return Fail(conn.Db(), rc, "get client");
    return ReadClient(s);
  }

  Result<std::vector<ClientRecord>> ListClients() override {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    Connection& conn = **lease;
    auto stmt = conn.Prepare(sql::kSelectAllClients);
    if (!stmt) return stmt.error();
    Statement s(*stmt);
    std::vector<ClientRecord> out;
    for (;;) {
      int rc = s.Step();
      if (rc == SQLITE_DONE) return out;
      if (rc != SQLITE_ROW) return Fail(conn.Db(), rc, "list clients");
      auto client = ReadClient(s);
      if (!client) return client.error();
      out.push_back(std::move(*client));
    }
  }

  Result<void> CreateClient(const ClientRecord& client) override {
    return Write([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(sql::kInsertClient);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      if (int rc = BindRecord(s, client); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      if (int rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "create client");
      return {};
    });
  }

  Result<void> UpdateClient(const ClientRecord& client) override {
    return Write([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(sql::kUpdateClient);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      if (int rc = BindRecord(s, client); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      if (int rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "update client");
      if (sqlite3_changes(conn.Db()) == 0) return Error::kNotFound;
      return {};
    });
  }

  Result<void> DeleteClient(const std::string& client_id) override {
    return Write([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(sql::kDeleteClient);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      if (int rc = s.BindText(1, client_id); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      if (int rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "delete client");
      if (sqlite3_changes(conn.Db()) == 0) return Error::kNotFound;
      return {};
    });
  }

  Result<std::vector<SigningKeyRecord>> ListSigningKeys() override {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    Connection& conn = **lease;
    auto stmt = conn.Prepare(sql::kSelectAllKeys);
    if (!stmt) return stmt.error();
    Statement s(*stmt);
    std::vector<SigningKeyRecord> out;
    for (;;) {
      int rc = s.Step();
      if (rc == SQLITE_DONE) return out;
      if (rc != SQLITE_ROW) return Fail(conn.Db(), rc, "list signing keys");
      out.push_back(ReadRecord<SigningKeyRecord>(s));
    }
  }

  Result<void> AddSigningKey(const SigningKeyRecord& key) override {
    return Write([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(kInsertKey);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      int rc = BindRecord(s, key);
      if (rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      if (rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "add signing key");
      if (sqlite3_changes(conn.Db()) == 0) return Error::kConflict;  // a key of this alg has this state
      return {};
    });
  }

  Result<void> ActivateSigningKey(const std::string& kid, int64_t now) override {
    return Write([&](Connection& conn) -> Result<void> {
      if (auto r = KeyUpdate(conn, kRetireActiveKeyOfNext, kid, now, {}); !r) return r.error();
      auto activated = KeyUpdate(conn, kActivateKey, kid, now, {});
      if (!activated) return activated.error();
      return *activated ? Result<void>{} : MissingOrConflict(conn, kid);
    });
  }

  Result<void> RetireSigningKey(const std::string& kid, int64_t now) override {
    return Write([&](Connection& conn) -> Result<void> {
      auto retired = KeyUpdate(conn, kRetireKey, kid, now, {});
      if (!retired) return retired.error();
      return *retired ? Result<void>{} : MissingOrConflict(conn, kid);
    });
  }

  Result<void> DeleteSigningKey(const std::string& kid) override {
    return Write([&](Connection& conn) -> Result<void> {
      auto deleted = KeyUpdate(conn, kDeleteKey, kid, std::nullopt, {});
      if (!deleted) return deleted.error();
      return *deleted ? Result<void>{} : MissingOrConflict(conn, kid);
    });
  }

  Result<void> ResealSigningKey(const std::string& kid, const std::string& expected,
                                const std::string& replacement) override {
    return Write([&](Connection& conn) -> Result<void> {
      auto resealed = KeyUpdate(conn, sql::kResealKey, kid, std::nullopt, {expected, replacement});
      if (!resealed) return resealed.error();
      return *resealed ? Result<void>{} : MissingOrConflict(conn, kid);
    });
  }

  Result<UserRecord> GetUser(const std::string& user_id) override {
    return GetOneUser(sql::kSelectUser, user_id);
  }

  Result<UserRecord> GetUserByUsername(const std::string& username) override {
    return GetOneUser(sql::kSelectUserByUsername, username);
  }

  Result<std::vector<UserRecord>> ListUsers() override {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    Connection& conn = **lease;
    auto stmt = conn.Prepare(sql::kSelectAllUsers);
    if (!stmt) return stmt.error();
    Statement s(*stmt);
    std::vector<UserRecord> out;
    for (;;) {
      int rc = s.Step();
      if (rc == SQLITE_DONE) return out;
      if (rc != SQLITE_ROW) return Fail(conn.Db(), rc, "list users");
      out.push_back(ReadRecord<UserRecord>(s));
    }
  }

  // CreateUser: the PRIMARY KEY and the UNIQUE username both fail with a constraint code that
  // MapError turns into kConflict.
  Result<void> CreateUser(const UserRecord& user) override {
    return InTransaction([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(sql::kInsertUser);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      if (int rc = BindRecord(s, user); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      if (int rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "create user");
      return {};
    });
  }

  // UpdateUser: a rename onto another user's username fails on the UNIQUE constraint (kConflict);
  // an absent user_id matches no row (kNotFound), whatever the username.
  Result<void> UpdateUser(const UserRecord& user) override {
    return RevocationWrite([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(sql::kUpdateUser);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      if (int rc = BindRecord(s, user); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      if (int rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "update user");
      if (sqlite3_changes(conn.Db()) == 0) return Error::kNotFound;
      return {};
    });
  }

  Result<void> DeleteUser(const std::string& user_id) override {
    return RevocationWrite([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(sql::kDeleteUser);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      if (int rc = s.BindText(1, user_id); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      if (int rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "delete user");
      if (sqlite3_changes(conn.Db()) == 0) return Error::kNotFound;
      return {};
    });
  }

  Result<void> CreateSession(const SessionRecord& session) override {
    return InTransaction([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(sql::kInsertSession);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      if (int rc = BindRecord(s, session); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      return StepInsertOwnedByUser(conn, s, "create session");
    });
  }

  Result<SessionRecord> GetSession(const std::string& id_hash) override {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    Connection& conn = **lease;
    auto stmt = conn.Prepare(sql::kSelectSession);
    if (!stmt) return stmt.error();
    Statement s(*stmt);
    if (int rc = s.BindBlob(1, id_hash); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
    int rc = s.Step();
    if (rc == SQLITE_DONE) return Error::kNotFound;
    if (rc != SQLITE_ROW) return Fail(conn.Db(), rc, "get session");
    return ReadRecord<SessionRecord>(s);
  }

  Result<void> TouchSession(const std::string& id_hash, int64_t now) override {
    return InTransaction([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(sql::kTouchSession);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      int rc = s.BindBlob(1, id_hash);
      if (rc == SQLITE_OK) rc = s.BindInt64(2, now);
      if (rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      if (rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "touch session");
      if (sqlite3_changes(conn.Db()) == 0) return Error::kNotFound;
      return {};
    });
  }

  Result<void> RevokeSession(const std::string& id_hash) override {
    return InTransaction([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(sql::kRevokeSession);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      if (int rc = s.BindBlob(1, id_hash); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      if (int rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "revoke session");
      // sqlite3_changes counts matched rows, so revoking a revoked session is not kNotFound.
      if (sqlite3_changes(conn.Db()) == 0) return Error::kNotFound;
      return {};
    });
  }

  Result<std::vector<SessionRecord>> ListUserSessions(const std::string& user_id) override {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    Connection& conn = **lease;
    auto stmt = conn.Prepare(sql::kSelectUserSessions);
    if (!stmt) return stmt.error();
    Statement s(*stmt);
    if (int rc = s.BindText(1, user_id); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
    std::vector<SessionRecord> out;
    for (;;) {
      int rc = s.Step();
      if (rc == SQLITE_DONE) return out;
      if (rc != SQLITE_ROW) return Fail(conn.Db(), rc, "list user sessions");
      out.push_back(ReadRecord<SessionRecord>(s));
    }
  }

  Result<int64_t> DeleteExpiredSessions(int64_t created_before, int64_t seen_before, int64_t limit) override {
    return DeleteBounded(kDeleteExpiredSessions, {created_before, seen_before}, limit,
                         "delete expired sessions");
  }

  Result<void> AddSessionClient(const std::string& id_hash, const std::string& client_id) override {
    return InTransaction([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(sql::kAddSessionClient);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      int rc = s.BindBlob(1, id_hash);
      if (rc == SQLITE_OK) rc = s.BindText(2, client_id);
      if (rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      // The foreign key names the session, not a user, but fails the same way: kNotFound.
      return StepInsertOwnedByUser(conn, s, "add session client");
    });
  }

  Result<std::vector<std::string>> ListSessionClients(const std::string& id_hash) override {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    Connection& conn = **lease;
    auto stmt = conn.Prepare(sql::kSelectSessionClients);
    if (!stmt) return stmt.error();
    Statement s(*stmt);
    if (int rc = s.BindBlob(1, id_hash); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
    std::vector<std::string> out;
    for (;;) {
      int rc = s.Step();
      if (rc == SQLITE_DONE) return out;
      if (rc != SQLITE_ROW) return Fail(conn.Db(), rc, "list session clients");
      out.push_back(s.ColumnString(0));
    }
  }

  Result<void> CreateCode(const AuthorizationCodeRecord& code) override {
    return InTransaction([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(sql::kInsertCode);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      if (int rc = BindRecord(s, code); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      return StepInsertOwnedByUser(conn, s, "create code");
    });
  }

  // RedeemCode: the conditional UPDATE decides the winner; the read that follows, in the same
  // IMMEDIATE transaction, sees the row as the UPDATE left it, so no other writer can slip between.
  // When nothing changed, the same read tells kConflict (used) from kNotFound (absent or expired).
  Result<AuthorizationCodeRecord> RedeemCode(const std::string& code_hash, int64_t now) override {
    AuthorizationCodeRecord redeemed;
    auto r = InTransaction([&](Connection& conn) -> Result<void> {
      int changed = 0;
      {
        auto stmt = conn.Prepare(kRedeemCode);
        if (!stmt) return stmt.error();
        Statement s(*stmt);
        int rc = s.BindBlob(1, code_hash);
        if (rc == SQLITE_OK) rc = s.BindInt64(2, now);
        if (rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
        if (rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "redeem code");
        changed = sqlite3_changes(conn.Db());
      }
      auto code = ReadCodeIn(conn, code_hash);
      if (!code) return code.error();
      if (changed == 0) return code->used ? Error::kConflict : Error::kNotFound;
      redeemed = std::move(*code);
      redeemed.used = false;  // as it was before this redemption
      return {};
    });
    if (!r) return r.error();
    return redeemed;
  }

  Result<AuthorizationCodeRecord> GetCode(const std::string& code_hash) override {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    return ReadCodeIn(**lease, code_hash);
  }

  Result<int64_t> DeleteExpiredCodes(int64_t now, int64_t limit) override {
    return DeleteBounded(kDeleteExpiredCodes, {now}, limit, "delete expired codes");
  }

  Result<void> CreateRefreshToken(const RefreshTokenRecord& token) override {
    return InTransaction([&](Connection& conn) { return InsertRefreshTokenIn(conn, token); });
  }

  Result<RefreshTokenRecord> GetRefreshToken(const std::string& token_hash) override {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    return ReadRefreshTokenIn(**lease, token_hash);
  }

  // RotateRefreshToken reads, decides and writes in one IMMEDIATE transaction: the write lock is
  // held from the read on, so no other connection or process can rotate the same token between
  // this one's check of rotated_at and its update (two winners would be two live branches of one
  // grant, which RFC 9700 §4.14.2 rotation exists to prevent).
  Result<RotationResult> RotateRefreshToken(const std::string& token_hash,
                                            const RefreshTokenRecord& successor, int64_t now,
                                            int64_t grace_seconds) override {
    RotationResult result;
    auto r = InTransaction([&](Connection& conn) -> Result<void> {
      auto found = ReadRefreshTokenIn(conn, token_hash);
      if (!found) return found.error();
      const RefreshTokenRecord& previous = *found;
      if (previous.revoked || previous.expires_at <= now || previous.family_expires_at <= now) {
        return Error::kNotFound;
      }
      if (previous.rotated_at == 0) {
        // A failed insert returns before anything commits: the transaction rolls back.
        if (auto inserted = InsertRefreshTokenIn(conn, successor); !inserted) return inserted;
        auto stmt = conn.Prepare(sql::kMarkRefreshTokenRotated);
        if (!stmt) return stmt.error();
        Statement s(*stmt);
        int rc = s.BindBlob(1, token_hash);
        if (rc == SQLITE_OK) rc = s.BindInt64(2, now);
        if (rc == SQLITE_OK) rc = s.BindBlob(3, successor.token_hash);
        if (rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
        if (rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "rotate refresh token");
        if (sqlite3_changes(conn.Db()) != 1) {
          common::LogError("sqlite store: refresh token changed under the write lock");
          return Error::kCorrupt;
        }
        result = {previous, false};
        return {};
      }
      // Already rotated: only a retry of that very rotation, soon after it and before its
      // successor was used, is answered without alarm; anything else is reuse (RFC 9700 §4.14.2).
      if (grace_seconds > 0 && now - previous.rotated_at <= grace_seconds &&
          previous.successor_hash == successor.token_hash) {
        auto next = ReadRefreshTokenIn(conn, previous.successor_hash);
        if (!next && next.error() != Error::kNotFound) return next.error();
        if (next && next->rotated_at == 0 && !next->revoked) {
          result = {previous, true};
          return {};
        }
      }
      return Error::kConflict;
    });
    if (!r) return r.error();
    return result;
  }

  Result<int64_t> RevokeRefreshFamily(const std::string& family_id) override {
    int64_t revoked = 0;
    auto r = RevocationWrite([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(sql::kRevokeRefreshFamily);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      if (int rc = s.BindText(1, family_id); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      if (int rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "revoke refresh family");
      revoked = sqlite3_changes64(conn.Db());
      return {};
    });
    if (!r) return r.error();
    return revoked;
  }

  // RevokeRefreshTokens lists the families, then revokes, in one IMMEDIATE transaction: no other
  // writer can revoke or add a matching token in between, so the list is exactly the families of
  // the rows this call revoked.
  Result<std::vector<std::string>> RevokeRefreshTokens(const std::string& user_id,
                                                       const std::string& client_id,
                                                       const std::string& session_id_hash) override {
    std::vector<std::string> families;
    auto r = RevocationWrite([&](Connection& conn) -> Result<void> {
      auto bind_filter = [&](Statement& s) {
        int rc = s.BindText(1, user_id);
        if (rc == SQLITE_OK) rc = s.BindText(2, client_id);
        if (rc == SQLITE_OK) rc = s.BindBlob(3, session_id_hash);
        return rc;
      };
      {
        auto stmt = conn.Prepare(kSelectRefreshFamiliesToRevoke);
        if (!stmt) return stmt.error();
        Statement s(*stmt);
        if (int rc = bind_filter(s); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
        for (;;) {
          int rc = s.Step();
          if (rc == SQLITE_DONE) break;
          if (rc != SQLITE_ROW) return Fail(conn.Db(), rc, "list refresh families to revoke");
          families.push_back(s.ColumnString(0));
        }
      }
      if (families.empty()) return {};
      auto stmt = conn.Prepare(kRevokeRefreshTokens);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      if (int rc = bind_filter(s); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      if (int rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "revoke refresh tokens");
      return {};
    });
    if (!r) return r.error();
    return families;
  }

  Result<int64_t> DeleteExpiredRefreshTokens(int64_t now, int64_t limit) override {
    return DeleteBounded(kDeleteExpiredRefreshTokens, {now}, limit, "delete expired refresh tokens");
  }

  Result<void> CreateAccessToken(const AccessTokenRecord& token) override {
    return InTransaction([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(kInsertAccessToken);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      if (int rc = BindRecord(s, token); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      return StepInsertOwnedByUser(conn, s, "create access token");
    });
  }

  Result<AccessTokenRecord> GetAccessToken(const std::string& token_hash) override {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    Connection& conn = **lease;
    auto stmt = conn.Prepare(sql::kSelectAccessToken);
    if (!stmt) return stmt.error();
    Statement s(*stmt);
    if (int rc = s.BindBlob(1, token_hash); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
    int rc = s.Step();
    if (rc == SQLITE_DONE) return Error::kNotFound;
    if (rc != SQLITE_ROW) return Fail(conn.Db(), rc, "get access token");
    return ReadRecord<AccessTokenRecord>(s);
  }

  Result<void> RevokeAccessToken(const std::string& token_hash) override {
    return RevocationWrite([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(sql::kRevokeAccessToken);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      if (int rc = s.BindBlob(1, token_hash); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      if (int rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "revoke access token");
      // sqlite3_changes counts matched rows, so revoking a revoked token is not kNotFound.
      if (sqlite3_changes(conn.Db()) == 0) return Error::kNotFound;
      return {};
    });
  }

  Result<int64_t> DeleteExpiredAccessTokens(int64_t now, int64_t limit) override {
    return DeleteBounded(kDeleteExpiredAccessTokens, {now}, limit, "delete expired access tokens");
  }

  Result<void> PutRevocation(const RevocationRecord& revocation) override {
    return RevocationWrite([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(kPutRevocation);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      int rc = s.BindText(1, revocation.key);
      if (rc == SQLITE_OK) rc = s.BindInt64(2, revocation.revoked_at);
      if (rc == SQLITE_OK) rc = s.BindInt64(3, revocation.expires_at);
      if (rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      if (rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "put revocation");
      return {};
    });
  }

  Result<int64_t> LatestRevocation(const std::vector<std::string>& keys) override {
    if (keys.empty()) return int64_t{0};
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    Connection& conn = **lease;
    auto stmt = conn.Prepare(kLatestRevocation);
    if (!stmt) return stmt.error();
    int64_t latest = 0;
    for (std::size_t first = 0; first < keys.size(); first += kLatestRevocationKeys) {
      Statement s(*stmt);  // resets and clears the bindings (unbound slots are NULL) when done
      for (int i = 0; i < kLatestRevocationKeys && first + i < keys.size(); ++i) {
        if (int rc = s.BindText(i + 1, keys[first + i]); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      }
      int rc = s.Step();
      if (rc != SQLITE_ROW) return Fail(conn.Db(), rc, "latest revocation");
      latest = std::max(latest, s.ColumnInt64(0));
    }
    return latest;
  }

  Result<int64_t> DeleteExpiredRevocations(int64_t now, int64_t limit) override {
    return DeleteBounded(kDeleteExpiredRevocations, {now}, limit, "delete expired revocations");
  }

  Result<void> CreateDeviceCode(const DeviceCodeRecord& code) override {
    return InTransaction([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(kInsertDeviceCode);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      if (int rc = BindRecord(s, code); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      // Either hash already taken (PRIMARY KEY or UNIQUE) is kConflict; a non-empty user_id naming
      // no user fails the foreign key (kNotFound).
      return StepInsertOwnedByUser(conn, s, "create device code");
    });
  }

  Result<DeviceCodeRecord> GetDeviceCodeByUserCode(const std::string& user_code_hash) override {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    return ReadDeviceCodeIn(**lease, sql::kSelectDeviceCodeByUserCode, user_code_hash);
  }

  // DecideDeviceCode reads, checks and writes in one IMMEDIATE transaction, so of two approval
  // pages deciding one code (in any threads or processes) exactly one succeeds (RFC 8628 §3.3).
  Result<DeviceCodeRecord> DecideDeviceCode(const std::string& user_code_hash, bool approve,
                                            const DeviceCodeRecord& decision, int64_t now) override {
    DeviceCodeRecord before;
    auto r = InTransaction([&](Connection& conn) -> Result<void> {
      auto found = ReadDeviceCodeIn(conn, sql::kSelectDeviceCodeByUserCode, user_code_hash);
      if (!found) return found.error();
      if (found->expires_at <= now) return Error::kNotFound;
      if (found->status != "pending") return Error::kConflict;
      auto stmt = conn.Prepare(kDecideDeviceCode);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      int rc = s.BindBlob(1, user_code_hash);
      if (rc == SQLITE_OK) rc = s.BindText(2, approve ? "approved" : "denied");
      if (rc == SQLITE_OK) rc = s.BindText(3, decision.user_id);
      if (rc == SQLITE_OK) rc = s.BindBlob(4, decision.session_id_hash);
      if (rc == SQLITE_OK) rc = s.BindInt64(5, decision.auth_time);
      if (rc == SQLITE_OK) rc = s.BindText(6, decision.amr);
      if (rc == SQLITE_OK) rc = s.BindText(7, decision.acr);
      if (rc == SQLITE_OK) rc = s.BindInt64(8, now);
      if (rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      rc = s.Step();
      if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return Error::kNotFound;  // no such user
      if (rc != SQLITE_DONE) return Fail(conn.Db(), rc, "decide device code");
      if (sqlite3_changes(conn.Db()) != 1) {
        common::LogError("sqlite store: device code changed under the write lock");
        return Error::kCorrupt;
      }
      before = std::move(*found);
      return {};
    });
    if (!r) return r.error();
    return before;
  }

  // PollDeviceCode reads, decides and writes in one IMMEDIATE transaction: the write lock is held
  // from the read on, so of concurrent polls (any threads or processes) in one second only the
  // first reads a last_polled_at that respects the interval (RFC 8628 §3.5).
  Result<DeviceCodeRecord> PollDeviceCode(const std::string& device_code_hash, int64_t now) override {
    DeviceCodeRecord before;
    auto r = InTransaction([&](Connection& conn) -> Result<void> {
      auto found = ReadDeviceCodeIn(conn, sql::kSelectDeviceCode, device_code_hash);
      if (!found) return found.error();
      const DeviceCodeRecord next = NextPollState(*found, now);
      auto stmt = conn.Prepare(sql::kPollDeviceCode);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      int rc = s.BindBlob(1, device_code_hash);
      if (rc == SQLITE_OK) rc = s.BindInt64(2, next.interval);
      if (rc == SQLITE_OK) rc = s.BindInt64(3, next.last_polled_at);
      if (rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      if (rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "poll device code");
      before = std::move(*found);
      return {};
    });
    if (!r) return r.error();
    return before;
  }

  // ConsumeDeviceCode: one conditional UPDATE under the write lock; when it matches nothing, the
  // row read in the same transaction tells kNotFound from kConflict.
  Result<void> ConsumeDeviceCode(const std::string& device_code_hash, int64_t now) override {
    return InTransaction([&](Connection& conn) -> Result<void> {
      {
        auto stmt = conn.Prepare(kConsumeDeviceCode);
        if (!stmt) return stmt.error();
        Statement s(*stmt);
        int rc = s.BindBlob(1, device_code_hash);
        if (rc == SQLITE_OK) rc = s.BindInt64(2, now);
        if (rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
        if (rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "consume device code");
        if (sqlite3_changes(conn.Db()) == 1) return {};
      }
      auto found = ReadDeviceCodeIn(conn, sql::kSelectDeviceCode, device_code_hash);
      if (!found) return found.error();
      if (found->expires_at <= now) return Error::kNotFound;
      return Error::kConflict;
    });
  }

  Result<int64_t> DeleteExpiredDeviceCodes(int64_t now, int64_t limit) override {
    return DeleteBounded(kDeleteExpiredDeviceCodes, {now}, limit, "delete expired device codes");
  }

  Result<std::string> EnsureSecret(const std::string& name, const std::string& candidate) override {
    std::string value;
    auto r = InTransaction([&](Connection& conn) -> Result<void> {
      auto insert = conn.Prepare(sql::kInsertSecret);
      if (!insert) return insert.error();
      Statement ins(*insert);
      int rc = ins.BindText(1, name);
      if (rc == SQLITE_OK) rc = ins.BindBlob(2, candidate);
      if (rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      if (rc = ins.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "insert secret");
      auto select = conn.Prepare(sql::kSelectSecret);
      if (!select) return select.error();
      Statement sel(*select);
      if (rc = sel.BindText(1, name); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      if (rc = sel.Step(); rc != SQLITE_ROW) return Fail(conn.Db(), rc, "select secret");
      value = sel.ColumnString(0);
      return {};
    });
    if (!r) return r.error();
    return value;
  }

  Result<ThrottleRecord> GetThrottle(const std::string& key) override {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    return SelectThrottle(**lease, key);
  }

  Result<ThrottleRecord> CountThrottleFailure(const std::string& key, int64_t now,
                                              int64_t forget_at) override {
    ThrottleRecord counted;
    auto r = InTransaction([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(kCountThrottleFailure);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      int rc = s.BindText(1, key);
      if (rc == SQLITE_OK) rc = s.BindInt64(2, now);
      if (rc == SQLITE_OK) rc = s.BindInt64(3, forget_at);
      if (rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      if (rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "count throttle failure");
      auto read = SelectThrottle(conn, key);
      if (!read) return read.error() == Error::kNotFound ? Error::kCorrupt : read.error();  // written above
      counted = std::move(*read);
      return {};
    });
    if (!r) return r.error();
    return counted;
  }

  Result<void> DeleteThrottle(const std::string& key) override {
    return InTransaction([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(sql::kDeleteThrottle);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      if (int rc = s.BindText(1, key); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      if (int rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "delete throttle");
      return {};
    });
  }

  Result<int64_t> DeleteExpiredThrottles(int64_t now, int64_t limit) override {
    return DeleteBounded(kDeleteExpiredThrottles, {now}, limit, "delete expired throttles");
  }

  Result<ConsentRecord> GetConsent(const std::string& user_id, const std::string& client_id) override {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    Connection& conn = **lease;
    auto stmt = conn.Prepare(sql::kSelectConsent);
    if (!stmt) return stmt.error();
    Statement s(*stmt);
    int rc = s.BindText(1, user_id);
    if (rc == SQLITE_OK) rc = s.BindText(2, client_id);
    if (rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
    rc = s.Step();
    if (rc == SQLITE_DONE) return Error::kNotFound;
    if (rc != SQLITE_ROW) return Fail(conn.Db(), rc, "get consent");
    return ReadRecord<ConsentRecord>(s);
  }

  Result<void> PutConsent(const ConsentRecord& consent) override {
    return InTransaction([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(sql::kPutConsent);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      if (int rc = BindRecord(s, consent); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      return StepInsertOwnedByUser(conn, s, "put consent");
    });
  }

  Result<std::vector<ConsentRecord>> ListUserConsents(const std::string& user_id) override {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    Connection& conn = **lease;
    auto stmt = conn.Prepare(sql::kSelectUserConsents);
    if (!stmt) return stmt.error();
    Statement s(*stmt);
    if (int rc = s.BindText(1, user_id); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
    std::vector<ConsentRecord> out;
    for (;;) {
      int rc = s.Step();
      if (rc == SQLITE_DONE) return out;
      if (rc != SQLITE_ROW) return Fail(conn.Db(), rc, "list user consents");
      out.push_back(ReadRecord<ConsentRecord>(s));
    }
  }

  Result<void> DeleteConsent(const std::string& user_id, const std::string& client_id) override {
    return InTransaction([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(sql::kDeleteConsent);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      int rc = s.BindText(1, user_id);
      if (rc == SQLITE_OK) rc = s.BindText(2, client_id);
      if (rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      if (rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, "delete consent");
      if (sqlite3_changes(conn.Db()) == 0) return Error::kNotFound;
      return {};
    });
  }

  Result<int64_t> Revision() override {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    return QueryInt64(**lease, sql::kSelectRevision);
  }

  Result<int64_t> RevocationRevision() override {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    return QueryInt64(**lease, kSelectRevocationRevision);
  }

  Result<void> Compact() override {
    // Under steady load some read transaction always overlaps the automatic (passive) checkpoints,
    // so the log is never reset and keeps growing ("checkpoint starvation", sqlite.org/wal.html
    // §4). A TRUNCATE checkpoint waits (busy timeout) for readers to move to the latest snapshot,
    // copies every frame into the database and truncates the log to zero bytes.
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2((**lease).Db(), "PRAGMA wal_checkpoint(TRUNCATE)", -1, &raw, nullptr);
    int busy = 1;
    if (rc == SQLITE_OK) rc = sqlite3_step(raw);
    if (rc == SQLITE_ROW) busy = sqlite3_column_int(raw, 0);
    sqlite3_finalize(raw);
    if (rc != SQLITE_ROW || busy != 0) return Error::kUnavailable;  // tried again at the next run
    return {};
  }

 private:
  // Write runs `body` and bumps the revision in one IMMEDIATE transaction, so a reader in any
  // process sees the new rows and the new revision together or not at all.
  template <class Body>
  Result<void> Write(Body&& body) {
    return InTransaction([&](Connection& conn) -> Result<void> {
      if (auto r = body(conn); !r) return r;
      if (auto r = Run(conn, sql::kBumpRevision); !r) return r;
      if (sqlite3_changes(conn.Db()) != 1) {
        common::LogError("sqlite store: revision row missing");
        return Error::kCorrupt;
      }
      return {};
    });
  }

  // RevocationWrite runs `body` and bumps the revocation revision in one IMMEDIATE transaction
  // (Store::RevocationRevision): a reader in any process sees both or neither.
  template <class Body>
  Result<void> RevocationWrite(Body&& body) {
    return InTransaction([&](Connection& conn) -> Result<void> {
      if (auto r = body(conn); !r) return r;
      return Run(conn, sql::kBumpRevocationRevision);
    });
  }

  // InTransaction runs `body` in one IMMEDIATE transaction (committed only when `body` succeeds)
  // without touching the revision: user, session, code, token, revocation, device code and consent
  // writes use it directly (see Store::Revision). IMMEDIATE, not autocommit, so a writer waits on the busy
  // timeout rather than failing on a stale snapshot.
  template <class Body>
  Result<void> InTransaction(Body&& body) {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    Connection& conn = **lease;
    Transaction tx(conn);
    if (auto r = tx.Begin(); !r) return r;
    if (auto r = body(conn); !r) return r;
    return tx.Commit();
  }

  // DeleteBounded runs one of the bounded DELETE statements: `args` bound to ?1.., then `limit` to
  // the last parameter, in one IMMEDIATE transaction; returns how many rows the statement itself
  // deleted (cascaded rows are not counted). 0 without touching the database when limit <= 0: a
  // negative LIMIT would mean "no limit" to SQLite.
  Result<int64_t> DeleteBounded(std::string_view sql, std::initializer_list<int64_t> args, int64_t limit,
                                std::string_view what) {
    if (limit <= 0) return int64_t{0};
    int64_t deleted = 0;
    auto r = InTransaction([&](Connection& conn) -> Result<void> {
      auto stmt = conn.Prepare(sql);
      if (!stmt) return stmt.error();
      Statement s(*stmt);
      int index = 1;
      int rc = SQLITE_OK;
      for (int64_t arg : args) {
        if (rc == SQLITE_OK) rc = s.BindInt64(index++, arg);
      }
      if (rc == SQLITE_OK) rc = s.BindInt64(index, limit);
      if (rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
      if (rc = s.Step(); rc != SQLITE_DONE) return Fail(conn.Db(), rc, what);
      deleted = sqlite3_changes64(conn.Db());
      return {};
    });
    if (!r) return r.error();
    return deleted;
  }

  // ReadDeviceCodeIn runs a device code SELECT keyed by ?1 = `hash` (a blob) on `conn` (inside or
  // outside a transaction): kNotFound when it yields no row.
  static Result<DeviceCodeRecord> ReadDeviceCodeIn(Connection& conn, std::string_view sql,
                                                   const std::string& hash) {
    auto stmt = conn.Prepare(sql);
    if (!stmt) return stmt.error();
    Statement s(*stmt);
    if (int rc = s.BindBlob(1, hash); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
    int rc = s.Step();
    if (rc == SQLITE_DONE) return Error::kNotFound;
    if (rc != SQLITE_ROW) return Fail(conn.Db(), rc, "get device code");
    return ReadRecord<DeviceCodeRecord>(s);
  }

  // GetOneUser runs a user SELECT keyed by ?1 = `key`: kNotFound when it yields no row.
  Result<UserRecord> GetOneUser(std::string_view sql, const std::string& key) {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    Connection& conn = **lease;
    auto stmt = conn.Prepare(sql);
    if (!stmt) return stmt.error();
    Statement s(*stmt);
    if (int rc = s.BindText(1, key); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
    int rc = s.Step();
    if (rc == SQLITE_DONE) return Error::kNotFound;
    if (rc != SQLITE_ROW) return Fail(conn.Db(), rc, "get user");
    return ReadRecord<UserRecord>(s);
  }

  // SelectThrottle reads one throttle entry on `conn` (inside or outside a transaction): kNotFound
  // when absent.
  static Result<ThrottleRecord> SelectThrottle(Connection& conn, const std::string& key) {
    auto stmt = conn.Prepare(sql::kSelectThrottle);
    if (!stmt) return stmt.error();
    Statement s(*stmt);
    if (int rc = s.BindText(1, key); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
    int rc = s.Step();
    if (rc == SQLITE_DONE) return Error::kNotFound;
    if (rc != SQLITE_ROW) return Fail(conn.Db(), rc, "get throttle");
    return ReadRecord<ThrottleRecord>(s);
  }

  // ReadCodeIn reads one code on `conn` (inside or outside a transaction): kNotFound when absent.
  static Result<AuthorizationCodeRecord> ReadCodeIn(Connection& conn, const std::string& code_hash) {
    auto stmt = conn.Prepare(sql::kSelectCode);
    if (!stmt) return stmt.error();
    Statement s(*stmt);
    if (int rc = s.BindBlob(1, code_hash); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
    int rc = s.Step();
    if (rc == SQLITE_DONE) return Error::kNotFound;
    if (rc != SQLITE_ROW) return Fail(conn.Db(), rc, "get code");
    return ReadRecord<AuthorizationCodeRecord>(s);
  }

  // InsertRefreshTokenIn inserts `token` on `conn` (inside a transaction): kConflict when the
  // token_hash exists, kNotFound when the user does not.
  static Result<void> InsertRefreshTokenIn(Connection& conn, const RefreshTokenRecord& token) {
    auto stmt = conn.Prepare(sql::kInsertRefreshToken);
    if (!stmt) return stmt.error();
    Statement s(*stmt);
    if (int rc = BindRecord(s, token); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
    return StepInsertOwnedByUser(conn, s, "create refresh token");
  }

  // ReadRefreshTokenIn reads one refresh token on `conn` (inside or outside a transaction):
  // kNotFound when absent.
  static Result<RefreshTokenRecord> ReadRefreshTokenIn(Connection& conn, const std::string& token_hash) {
    auto stmt = conn.Prepare(sql::kSelectRefreshToken);
    if (!stmt) return stmt.error();
    Statement s(*stmt);
    if (int rc = s.BindBlob(1, token_hash); rc != SQLITE_OK) return Fail(conn.Db(), rc, "bind");
    int rc = s.Step();
    if (rc == SQLITE_DONE) return Error::kNotFound;
    if (rc != SQLITE_ROW) return Fail(conn.Db(), rc, "get refresh token");
    return ReadRecord<RefreshTokenRecord>(s);
  }

  // QueryInt64 returns the first column of the single row `sql` yields; kCorrupt when none.
  static Result<int64_t> QueryInt64(Connection& conn, std::string_view sql) {
    auto stmt = conn.Prepare(sql);
    if (!stmt) return stmt.error();
    Statement s(*stmt);
    int rc = s.Step();
    if (rc == SQLITE_DONE) return Error::kCorrupt;
    if (rc != SQLITE_ROW) return Fail(conn.Db(), rc, sql);
    return s.ColumnInt64(0);
  }

  Pool pool_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  auto store = std::make_unique<SqliteStore>(path);
  if (auto r = store->Migrate(); !r) return r.error();
  return std::unique_ptr<Store>(std::move(store));
}

Result<void> BackupSqliteDatabase(const std::string& source, const std::string& destination) {
  // Migrating first means a backup always restores into a binary of this version or newer.
  auto store = OpenSqliteStore(source);
  if (!store) return store.error();
  auto from = OpenConnection(source);
  if (!from) return from.error();
  // O_EXCL: never overwrite a file (an older backup, or the live database under another name).
  const int fd = ::open(destination.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return errno == EEXIST ? Error::kConflict : Error::kUnavailable;
  ::close(fd);
  sqlite3* to = nullptr;
  int rc = sqlite3_open_v2(destination.c_str(), &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  Connection to_conn(to);  // closes `to` on every path
  bool ok = rc == SQLITE_OK;
  if (ok) {
    // sqlite.org/backup.html: step(-1) copies every page in one step, under one read transaction
    // of the source, so the copy is one consistent snapshot even while writers go on.
    sqlite3_backup* backup = sqlite3_backup_init(to, "main", (*from)->Db(), "main");
    ok = backup != nullptr;
    if (ok) {
      do {
        rc = sqlite3_backup_step(backup, -1);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(kJournalModeRetryMs);
      } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
      ok = rc == SQLITE_DONE;
      ok = sqlite3_backup_finish(backup) == SQLITE_OK && ok;
    }
  }
  if (!ok) {
    common::LogError("sqlite store: backup failed", {{"error", to != nullptr ? sqlite3_errmsg(to) : "open"}});
    ::unlink(destination.c_str());
    return Error::kUnavailable;
  }
  return {};
}

Result<std::vector<std::string>> QueryFirstColumnForTesting(const std::string& path, const std::string& sql) {
  auto conn = OpenConnection(path);
  if (!conn) return conn.error();
  sqlite3* db = (*conn)->Db();
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return Fail(db, rc, "prepare (testing)");
  }
  std::vector<std::string> out;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(raw, 0);
    out.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "");
  }
  sqlite3_finalize(raw);
  if (rc != SQLITE_DONE) return Fail(db, rc, "step (testing)");
  return out;
}

Result<void> ExecForTesting(const std::string& path, const std::string& sql) {
  auto conn = OpenConnection(path);
  if (!conn) return conn.error();
  return ExecScript((*conn)->Db(), sql, "exec (testing)");
}

}  // namespace latchkey::store::sqlite
