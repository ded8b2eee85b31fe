#include "store/postgres/postgres_store.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
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
#include "store/postgres/connection.hpp"
#include "store/sql_columns.hpp"
#include "store/sql_statements.hpp"

namespace latchkey::store::postgres {
namespace {

using internal::AffectedRows;
using internal::Connect;
using internal::Connection;
using internal::Params;
using internal::Row;
using internal::Transaction;

// kMigrationLockKey: the pg_advisory_xact_lock key that serialises migrations of one database
// ("latchkey" in ASCII). Several nodes starting at once wait for each other instead of racing on
// CREATE TABLE.
constexpr int64_t kMigrationLockKey = 0x6c617463686b6579;
// kSigningKeysLockKey: the pg_advisory_xact_lock key that serialises AddSigningKey ("lk-keys!").
constexpr int64_t kSigningKeysLockKey = 0x6c6b2d6b65797321;

// kMigrations: the schema, as an ordered list with the SQLite store's version numbers: entry i
// brings the schema to version i + 1 and adds what SQLite's entry i adds. Append only: never edit
// or reorder an entry that has shipped.
//
// Every string of a record is BYTEA, not TEXT: the store keeps every byte as given (records may
// hold NUL bytes and invalid UTF-8, which TEXT in a UTF8 database refuses) and orders byte-wise
// (no collation). List fields are JSON arrays of strings, as in SQLite. Booleans are BOOLEAN.
constexpr std::array<std::string_view, kSchemaVersion> kMigrations = {
    R"sql(
CREATE TABLE clients (
  client_id BYTEA PRIMARY KEY,
  client_name BYTEA NOT NULL,
  secret_hash BYTEA NOT NULL,
  token_endpoint_auth_method BYTEA NOT NULL,
  redirect_uris BYTEA NOT NULL,
  grant_types BYTEA NOT NULL,
  scopes BYTEA NOT NULL,
  post_logout_redirect_uris BYTEA NOT NULL,
  access_token_lifetime BIGINT NOT NULL,
  access_token_alg BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE signing_keys (
  kid BYTEA PRIMARY KEY,
  alg BYTEA NOT NULL,
  private_pem BYTEA NOT NULL,
  state BYTEA NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX signing_keys_by_created_at ON signing_keys (created_at, kid);
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value BIGINT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('revision', 0);
)sql",
    // 2: users (OIDC Core §5.1 standard claims). username's UNIQUE constraint (byte-wise) also
    // serves ORDER BY username.
    R"sql(
CREATE TABLE users (
  user_id BYTEA PRIMARY KEY,
  username BYTEA NOT NULL UNIQUE,
  password_hash BYTEA NOT NULL DEFAULT '',
  status BYTEA NOT NULL DEFAULT 'active',
  name BYTEA NOT NULL DEFAULT '',
  given_name BYTEA NOT NULL DEFAULT '',
  family_name BYTEA NOT NULL DEFAULT '',
  preferred_username BYTEA NOT NULL DEFAULT '',
  email BYTEA NOT NULL DEFAULT '',
  email_verified BOOLEAN NOT NULL DEFAULT false,
  phone_number BYTEA NOT NULL DEFAULT '',
  phone_number_verified BOOLEAN NOT NULL DEFAULT false,
  address_json BYTEA NOT NULL DEFAULT '',
  picture BYTEA NOT NULL DEFAULT '',
  locale BYTEA NOT NULL DEFAULT '',
  zoneinfo BYTEA NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL DEFAULT 0,
  updated_at BIGINT NOT NULL DEFAULT 0
);
)sql",
    // 3: browser sessions and authorization codes (OIDC Core §3.1.2; RFC 6749 §4.1.2, §10.5).
    // Deleting a user deletes their sessions and codes; the user_id indexes keep that cascade from
    // scanning the tables; the time indexes serve the cleanups.
    R"sql(
CREATE TABLE sessions (
  id_hash BYTEA PRIMARY KEY,
  user_id BYTEA NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL DEFAULT 0,
  last_seen_at BIGINT NOT NULL DEFAULT 0,
  auth_time BIGINT NOT NULL DEFAULT 0,
  amr BYTEA NOT NULL DEFAULT '',
  acr BYTEA NOT NULL DEFAULT '',
  revoked BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX sessions_by_user ON sessions (user_id, created_at, id_hash);
CREATE INDEX sessions_by_created_at ON sessions (created_at);
CREATE INDEX sessions_by_last_seen_at ON sessions (last_seen_at);
CREATE TABLE authorization_codes (
  code_hash BYTEA PRIMARY KEY,
  client_id BYTEA NOT NULL DEFAULT '',
  user_id BYTEA NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  session_id_hash BYTEA NOT NULL DEFAULT '',
  redirect_uri BYTEA NOT NULL DEFAULT '',
  redirect_uri_sent BOOLEAN NOT NULL DEFAULT false,
  scope BYTEA NOT NULL DEFAULT '',
  nonce BYTEA NOT NULL DEFAULT '',
  code_challenge BYTEA NOT NULL DEFAULT '',
  code_challenge_method BYTEA NOT NULL DEFAULT '',
  auth_time BIGINT NOT NULL DEFAULT 0,
  amr BYTEA NOT NULL DEFAULT '',
  acr BYTEA NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL DEFAULT 0,
  expires_at BIGINT NOT NULL DEFAULT 0,
  used BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX authorization_codes_by_user ON authorization_codes (user_id);
CREATE INDEX authorization_codes_by_expires_at ON authorization_codes (expires_at);
)sql",
    // 4: refresh tokens (RFC 6749 §6; rotation and reuse detection, OAuth 2.1 §4.3.1, RFC 9700
    // §4.14.2), remembered consents (OIDC Core §3.1.2.4) and server-wide secrets. Deleting a user
    // deletes their tokens and consents. clients gains id_token_signed_response_alg (OIDC Dynamic
    // Client Registration §2).
    R"sql(
CREATE TABLE refresh_tokens (
  token_hash BYTEA PRIMARY KEY,
  family_id BYTEA NOT NULL DEFAULT '',
  client_id BYTEA NOT NULL DEFAULT '',
  user_id BYTEA NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  scope BYTEA NOT NULL DEFAULT '',
  session_id_hash BYTEA NOT NULL DEFAULT '',
  auth_time BIGINT NOT NULL DEFAULT 0,
  amr BYTEA NOT NULL DEFAULT '',
  acr BYTEA NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL DEFAULT 0,
  expires_at BIGINT NOT NULL DEFAULT 0,
  family_expires_at BIGINT NOT NULL DEFAULT 0,
  rotated_at BIGINT NOT NULL DEFAULT 0,
  successor_hash BYTEA NOT NULL DEFAULT '',
  revoked BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_user_client ON refresh_tokens (user_id, client_id);
CREATE INDEX refresh_tokens_by_expires_at ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_by_family_expires_at ON refresh_tokens (family_expires_at);
CREATE TABLE consents (
  user_id BYTEA NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  client_id BYTEA NOT NULL,
  scope BYTEA NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL DEFAULT 0,
  updated_at BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, client_id)
);
CREATE TABLE secrets (
  name BYTEA PRIMARY KEY,
  value BYTEA NOT NULL,
  created_at BIGINT NOT NULL DEFAULT (EXTRACT(EPOCH FROM now())::BIGINT)
);
ALTER TABLE clients ADD COLUMN id_token_signed_response_alg BYTEA NOT NULL DEFAULT '';
)sql",
    // 5: the clients of each session (OIDC Back-Channel Logout §2.7), opaque access tokens (RFC
    // 7662), the JWT access token denylist, and device authorizations (RFC 8628). The user_id of
    // access_tokens and device_codes is NULL, not '', when there is no user, so the foreign key lets
    // those rows be and deleting a user deletes the rest. device_codes' interval is poll_interval
    // (INTERVAL is a type name). clients gains the four ClientRecord fields.
    R"sql(
CREATE TABLE session_clients (
  id_hash BYTEA NOT NULL REFERENCES sessions (id_hash) ON DELETE CASCADE,
  client_id BYTEA NOT NULL,
  PRIMARY KEY (id_hash, client_id)
);
CREATE TABLE access_tokens (
  token_hash BYTEA PRIMARY KEY,
  client_id BYTEA NOT NULL DEFAULT '',
  subject BYTEA NOT NULL DEFAULT '',
  user_id BYTEA REFERENCES users (user_id) ON DELETE CASCADE,
  scope BYTEA NOT NULL DEFAULT '',
  audience BYTEA NOT NULL DEFAULT '',
  grant_id BYTEA NOT NULL DEFAULT '',
  auth_time BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL DEFAULT 0,
  expires_at BIGINT NOT NULL DEFAULT 0,
  revoked BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX access_tokens_by_user ON access_tokens (user_id);
CREATE INDEX access_tokens_by_expires_at ON access_tokens (expires_at);
CREATE TABLE revocations (
  key BYTEA PRIMARY KEY,
  revoked_at BIGINT NOT NULL DEFAULT 0,
  expires_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX revocations_by_expires_at ON revocations (expires_at);
CREATE TABLE device_codes (
  device_code_hash BYTEA PRIMARY KEY,
  user_code_hash BYTEA NOT NULL UNIQUE,
  client_id BYTEA NOT NULL DEFAULT '',
  scope BYTEA NOT NULL DEFAULT '',
  device_info BYTEA NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL DEFAULT 0,
  expires_at BIGINT NOT NULL DEFAULT 0,
  poll_interval BIGINT NOT NULL DEFAULT 5,
  last_polled_at BIGINT NOT NULL DEFAULT 0,
  status BYTEA NOT NULL DEFAULT 'pending',
  user_id BYTEA REFERENCES users (user_id) ON DELETE CASCADE,
  session_id_hash BYTEA NOT NULL DEFAULT '',
  auth_time BIGINT NOT NULL DEFAULT 0,
  amr BYTEA NOT NULL DEFAULT '',
  acr BYTEA NOT NULL DEFAULT ''
);
CREATE INDEX device_codes_by_user ON device_codes (user_id);
CREATE INDEX device_codes_by_expires_at ON device_codes (expires_at);
ALTER TABLE clients ADD COLUMN access_token_format BYTEA NOT NULL DEFAULT 'jwt';
ALTER TABLE clients ADD COLUMN backchannel_logout_uri BYTEA NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE clients ADD COLUMN introspect_any BOOLEAN NOT NULL DEFAULT false;
)sql",
    // 6: the signing key lifecycle (next, active, retired), as SQLite's 6.
    R"sql(
ALTER TABLE signing_keys ADD COLUMN active_from BIGINT NOT NULL DEFAULT 0;
ALTER TABLE signing_keys ADD COLUMN retired_at BIGINT NOT NULL DEFAULT 0;
UPDATE signing_keys SET active_from = created_at WHERE state = 'active'::bytea;
)sql",
    // 7: sign-in and device-code throttle counters, as SQLite's 7.
    R"sql(
CREATE TABLE throttles (
  key BYTEA PRIMARY KEY,
  failures BIGINT NOT NULL DEFAULT 0,
  last_failure BIGINT NOT NULL DEFAULT 0,
  forget_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX throttles_by_forget_at ON throttles (forget_at);
)sql",
};

constexpr std::string_view kLockMigrations = "SELECT pg_advisory_xact_lock($1)";
constexpr std::string_view kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT)";
constexpr std::string_view kSelectSchemaVersion =
    "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations";
constexpr std::string_view kInsertMigration =
    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, EXTRACT(EPOCH FROM now())::BIGINT)";

// The 'revocations' row (Store::RevocationRevision) is made by its first bump: databases written
// before it existed need no migration.
constexpr std::string_view kSelectRevocationRevision =
    "SELECT COALESCE((SELECT value FROM meta WHERE key = 'revocations'), 0)::BIGINT";

// Every signing-key write runs under kSigningKeysLockKey: without it two READ COMMITTED
// transactions could both find no active (or next) key of an alg and both insert one.
constexpr std::string_view kInsertKey =
    "INSERT INTO signing_keys (kid, alg, private_pem, state, created_at, active_from, retired_at) "
    "SELECT $1, $2, $3, $4, $5, $6, $7 WHERE $4 NOT IN ('active'::bytea, 'next'::bytea) OR NOT EXISTS "
    "(SELECT 1 FROM signing_keys WHERE alg = $2 AND state = $4)";
// ActivateSigningKey: first the alg's active key retires (only while $1 is still next), then $1
// becomes active; both in one transaction.
constexpr std::string_view kRetireActiveKeyOfNext =
    "UPDATE signing_keys SET state = 'retired'::bytea, retired_at = $2 WHERE state = 'active'::bytea AND "
    "alg = (SELECT alg FROM signing_keys WHERE kid = $1 AND state = 'next'::bytea)";
constexpr std::string_view kActivateKey =
    "UPDATE signing_keys SET state = 'active'::bytea, active_from = $2 WHERE kid = $1 AND state = "
    "'next'::bytea";
constexpr std::string_view kRetireKey =
    "UPDATE signing_keys SET state = 'retired'::bytea, retired_at = $2 WHERE kid = $1 AND "
    "state <> 'retired'::bytea";
constexpr std::string_view kDeleteKey =
    "DELETE FROM signing_keys WHERE kid = $1 AND state = 'retired'::bytea";

// The bounded deletes pick at most $N keys first, so one call stays short however large the
// backlog (the caller repeats). Session clients go by the cascade.
constexpr std::string_view kDeleteExpiredSessions =
    "DELETE FROM sessions WHERE id_hash IN (SELECT id_hash FROM sessions WHERE created_at < $1 OR "
    "last_seen_at < $2 LIMIT $3)";
// kSelectCodeWithUser: sql::kSelectCode's columns, then sql::kSelectUser's, in one round trip.
constexpr std::string_view kSelectCodeWithUser =
    "SELECT c.code_hash, c.client_id, c.user_id, c.session_id_hash, c.redirect_uri, c.redirect_uri_sent, "
    "c.scope, c.nonce, c.code_challenge, c.code_challenge_method, c.auth_time, c.amr, c.acr, c.created_at, "
    "c.expires_at, c.used, u.user_id, u.username, u.password_hash, u.status, u.name, u.given_name, "
    "u.family_name, u.preferred_username, u.email, u.email_verified, u.phone_number, "
    "u.phone_number_verified, u.address_json, u.picture, u.locale, u.zoneinfo, u.created_at, u.updated_at "
    "FROM authorization_codes c JOIN users u ON u.user_id = c.user_id WHERE c.code_hash = $1";
constexpr int kCodeColumns = 16;
// kSelectSessionWithUser: sql::kSelectSession's columns, then sql::kSelectUser's, in one round trip.
constexpr std::string_view kSelectSessionWithUser =
    "SELECT s.id_hash, s.user_id, s.created_at, s.last_seen_at, s.auth_time, s.amr, s.acr, s.revoked, "
    "u.user_id, u.username, u.password_hash, u.status, u.name, u.given_name, u.family_name, "
    "u.preferred_username, u.email, u.email_verified, u.phone_number, u.phone_number_verified, "
    "u.address_json, u.picture, u.locale, u.zoneinfo, u.created_at, u.updated_at "
    "FROM sessions s JOIN users u ON u.user_id = s.user_id WHERE s.id_hash = $1";
constexpr int kSessionColumns = 8;
// CreateCodeForSessionSql is Store::CreateCodeForSession in one statement: sql::kInsertCode (its
// $1..$16) with sql::kAddSessionClient's insert for the code's session ($4) and client ($2) as a
// data-modifying WITH. Either failing (a duplicate code, an absent session or user) fails both.
const std::string& CreateCodeForSessionSql() {
  static const std::string statement =
      "WITH session_client AS (INSERT INTO session_clients (id_hash, client_id) VALUES ($4, $2) ON CONFLICT "
      "DO NOTHING) " +
      std::string(sql::kInsertCode);
  return statement;
}
// kRedeemCode is the single-use check and the mark in one statement (RFC 6749 §4.1.2, §10.5: a code
// is used at most once). Of two concurrent redemptions, the second blocks on the first's row lock
// and then re-evaluates `used = false` against the row the first committed (READ COMMITTED's
// re-check of an updated row), so it matches nothing: exactly one caller gets the row back.
constexpr std::string_view kRedeemCode =
    "UPDATE authorization_codes SET used = true WHERE code_hash = $1 AND used = false AND expires_at > $2 "
    "RETURNING code_hash, client_id, user_id, session_id_hash, redirect_uri, redirect_uri_sent, scope, "
    "nonce, code_challenge, code_challenge_method, auth_time, amr, acr, created_at, expires_at, used";
// kRedeemCodeWithTokens is Store::RedeemCodeWithTokens in one statement: kRedeemCode's conditional
// UPDATE, and, only when it spent the code, the insert of the family's first refresh token
// ($3..$17, sql::Columns order) and of an opaque access token ($18..$28), each skipped when its hash
// is empty. A failed insert fails the whole statement: the code stays unspent and nothing is
// written. Racing redemptions: as for kRedeemCode, exactly one gets the row.
constexpr std::string_view kRedeemCodeWithTokens =
    "WITH spent AS (UPDATE authorization_codes SET used = true WHERE code_hash = $1 AND used = false "
    "AND expires_at > $2 RETURNING code_hash, client_id, user_id, session_id_hash, redirect_uri, "
    "redirect_uri_sent, scope, nonce, code_challenge, code_challenge_method, auth_time, amr, acr, "
    "created_at, "
    "expires_at, used), "
    "refresh AS (INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope, "
    "session_id_hash, auth_time, amr, acr, created_at, expires_at, family_expires_at, rotated_at, "
    "successor_hash, revoked) SELECT $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17 "
    "FROM spent WHERE octet_length($3) > 0), "
    "access AS (INSERT INTO access_tokens (token_hash, client_id, subject, user_id, scope, audience, "
    "grant_id, auth_time, created_at, expires_at, revoked) SELECT $18, $19, $20, NULLIF($21, ''::BYTEA), "
    "$22, $23, $24, $25, $26, $27, $28 FROM spent WHERE octet_length($18) > 0) "
    "SELECT * FROM spent";
constexpr std::string_view kDeleteExpiredCodes =
    "DELETE FROM authorization_codes WHERE code_hash IN (SELECT code_hash FROM authorization_codes WHERE "
    "expires_at <= $1 LIMIT $2)";

// kSelectRefreshTokenWithUser: sql::kSelectRefreshToken's columns, then sql::kSelectUser's, in one round
// trip.
constexpr std::string_view kSelectRefreshTokenWithUser =
    "SELECT t.token_hash, t.family_id, t.client_id, t.user_id, t.scope, t.session_id_hash, t.auth_time, "
    "t.amr, t.acr, t.created_at, t.expires_at, t.family_expires_at, t.rotated_at, t.successor_hash, "
    "t.revoked, u.user_id, u.username, u.password_hash, u.status, u.name, u.given_name, u.family_name, "
    "u.preferred_username, u.email, u.email_verified, u.phone_number, u.phone_number_verified, "
    "u.address_json, u.picture, u.locale, u.zoneinfo, u.created_at, u.updated_at "
    "FROM refresh_tokens t JOIN users u ON u.user_id = t.user_id WHERE t.token_hash = $1";
constexpr int kRefreshTokenColumns = 15;
// kLockRefreshToken reads the presented token and locks its row until the transaction ends: every
// other rotation of that token waits here, then reads what this one committed (RFC 9700 §4.14.2:
// one current token per grant; two winners would be two live branches of it).
constexpr std::string_view kLockRefreshToken =
    "SELECT token_hash, family_id, client_id, user_id, scope, session_id_hash, auth_time, amr, acr, "
    "created_at, expires_at, family_expires_at, rotated_at, successor_hash, revoked FROM refresh_tokens "
    "WHERE token_hash = $1 FOR UPDATE";
// kShareRefreshToken reads the successor of a rotated token for the grace-window check; FOR SHARE
// waits for a rotation or revocation of that successor in flight, so the answer matches the order
// in which the writes commit.
constexpr std::string_view kShareRefreshToken =
    "SELECT token_hash, family_id, client_id, user_id, scope, session_id_hash, auth_time, amr, acr, "
    "created_at, expires_at, family_expires_at, rotated_at, successor_hash, revoked FROM refresh_tokens "
    "WHERE token_hash = $1 FOR SHARE";
// kRotateCurrentRefreshToken is the common case of RotateRefreshToken in one statement (one round
// trip, its own transaction): it marks the presented token rotated only while it is current, live
// and unrevoked, and inserts the successor ($1..$15, RefreshTokenParams order) only when it did.
// A concurrent rotation of the same token blocks on the row lock and then re-checks rotated_at = 0
// on the committed row (READ COMMITTED re-evaluates the WHERE), so exactly one of them gets a row
// (RFC 9700 §4.14.2). A failed insert fails the whole statement: nothing is written. The row comes
// back as it was before: only rotated_at and successor_hash changed, and they were 0 and ''.
constexpr std::string_view kRotateCurrentRefreshToken =
    "WITH marked AS (UPDATE refresh_tokens SET rotated_at = $17, successor_hash = $1 WHERE token_hash = $16 "
    "AND rotated_at = 0 AND revoked = false AND expires_at > $17 AND family_expires_at > $17 "
    "RETURNING token_hash, family_id, client_id, user_id, scope, session_id_hash, auth_time, amr, acr, "
    "created_at, expires_at, family_expires_at, 0::BIGINT, ''::BYTEA, revoked), "
    "inserted AS (INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope, "
    "session_id_hash, auth_time, amr, acr, created_at, expires_at, family_expires_at, rotated_at, "
    "successor_hash, revoked) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15 "
    "FROM marked) "
    "SELECT * FROM marked";
// kRotateCurrentRefreshTokenForClient is Store::RotateCurrentRefreshToken in one statement: the
// checks of kRotateCurrentRefreshToken, plus the client ($2) and an active user, joined in; the
// successor ($3) is built from the row as SuccessorOf builds it ($4 now, $5 idle lifetime). When
// $6 is not empty it also inserts the opaque access token whose hash it is ($7 audience, $8
// created_at, $9 expires_at), completed from the row as CurrentRotation::access_token says; its
// grant_id is oauth::GrantId(family_id) computed here: the first 22 characters of the base64url
// SHA-256 of "grant:" and the family id (22 characters of standard base64 carry no padding, and
// base64url differs from it only in '-' and '_'). It returns the token as it was
// (kSelectRefreshTokenWithUser's columns), or nothing, having written nothing. Racing calls for
// one token: as for kRotateCurrentRefreshToken, exactly one gets the row.
constexpr std::string_view kRotateCurrentRefreshTokenForClient =
    "WITH marked AS (UPDATE refresh_tokens t SET rotated_at = $4, successor_hash = $3 FROM users u "
    "WHERE t.token_hash = $1 AND t.client_id = $2 AND u.user_id = t.user_id AND u.status = 'active'::BYTEA "
    "AND t.rotated_at = 0 AND t.revoked = false AND t.expires_at > $4 AND t.family_expires_at > $4 "
    "RETURNING t.token_hash, t.family_id, t.client_id, t.user_id, t.scope, t.session_id_hash, t.auth_time, "
    "t.amr, t.acr, t.created_at, t.expires_at, t.family_expires_at, 0::BIGINT, ''::BYTEA, t.revoked, "
    "u.user_id AS u_user_id, u.username, u.password_hash, u.status, u.name, u.given_name, u.family_name, "
    "u.preferred_username, u.email, u.email_verified, u.phone_number, u.phone_number_verified, "
    "u.address_json, u.picture, u.locale, u.zoneinfo, u.created_at AS u_created_at, u.updated_at), "
    "inserted AS (INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope, "
    "session_id_hash, auth_time, amr, acr, created_at, expires_at, family_expires_at, rotated_at, "
    "successor_hash, revoked) SELECT $3, family_id, client_id, user_id, scope, session_id_hash, auth_time, "
    "amr, acr, $4, LEAST($4 + $5, family_expires_at), family_expires_at, 0, ''::BYTEA, false FROM marked), "
    "access AS (INSERT INTO access_tokens (token_hash, client_id, subject, user_id, scope, audience, "
    "grant_id, "
    "auth_time, created_at, expires_at, revoked) SELECT $6, client_id, user_id, user_id, scope, $7, "
    "convert_to(translate(left(encode(sha256('grant:'::BYTEA || family_id), 'base64'), 22), '+/', '-_'), "
    "'UTF8'), GREATEST(auth_time, 1), $8, $9, false FROM marked WHERE octet_length($6) > 0) "
    "SELECT * FROM marked";
// kRevokeRefreshTokens revokes and lists in one statement (an empty $2 or $3 matches any client or
// session): the families returned are exactly those of the rows this statement revoked.
constexpr std::string_view kRevokeRefreshTokens =
    "UPDATE refresh_tokens SET revoked = true WHERE user_id = $1 AND revoked = false AND "
    "($2 = ''::BYTEA OR client_id = $2) AND ($3 = ''::BYTEA OR session_id_hash = $3) RETURNING family_id";
constexpr std::string_view kDeleteExpiredRefreshTokens =
    "DELETE FROM refresh_tokens WHERE token_hash IN (SELECT token_hash FROM refresh_tokens WHERE "
    "expires_at <= $1 OR family_expires_at <= $1 LIMIT $2)";

// kInsertAccessToken stores an empty user_id as NULL (no user to reference).
constexpr std::string_view kInsertAccessToken =
    "INSERT INTO access_tokens (token_hash, client_id, subject, user_id, scope, audience, grant_id, "
    "auth_time, created_at, expires_at, revoked) VALUES ($1, $2, $3, NULLIF($4, ''::BYTEA), $5, $6, $7, $8, "
    "$9, $10, $11)";
constexpr std::string_view kDeleteExpiredAccessTokens =
    "DELETE FROM access_tokens WHERE token_hash IN (SELECT token_hash FROM access_tokens WHERE "
    "expires_at <= $1 LIMIT $2)";

// kPutRevocation: an UPSERT that only ever raises the stored times.
constexpr std::string_view kPutRevocation =
    "INSERT INTO revocations (key, revoked_at, expires_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE "
    "SET revoked_at = GREATEST(revocations.revoked_at, excluded.revoked_at), "
    "expires_at = GREATEST(revocations.expires_at, excluded.expires_at)";
// kLatestRevocationKeys: how many keys kLatestRevocation takes at once; unused slots are NULL,
// which matches no key. More keys take one query per chunk.
constexpr int kLatestRevocationKeys = 8;
constexpr std::string_view kLatestRevocation =
    "SELECT COALESCE(MAX(revoked_at), 0)::BIGINT FROM revocations WHERE key IN ($1, $2, $3, $4, $5, $6, $7, "
    "$8)";
constexpr std::string_view kDeleteExpiredRevocations =
    "DELETE FROM revocations WHERE key IN (SELECT key FROM revocations WHERE expires_at <= $1 LIMIT $2)";

// kCountThrottleFailure is one UPSERT: concurrent failures of one key, from any node, each count once (the
// row lock of ON CONFLICT DO UPDATE); an entry whose forget_at has passed starts again from one failure.
constexpr std::string_view kCountThrottleFailure =
    "INSERT INTO throttles AS t (key, failures, last_failure, forget_at) VALUES ($1, 1, $2, $3) "
    "ON CONFLICT (key) DO UPDATE SET failures = CASE WHEN t.forget_at <= excluded.last_failure THEN 1 "
    "ELSE t.failures + 1 END, last_failure = GREATEST(t.last_failure, excluded.last_failure), "
    "forget_at = GREATEST(t.forget_at, excluded.forget_at) RETURNING key, failures, last_failure, forget_at";
constexpr std::string_view kDeleteExpiredThrottles =
    "DELETE FROM throttles WHERE key IN (SELECT key FROM throttles WHERE forget_at <= $1 LIMIT $2)";

// kLockDeviceCodeByUserCode / kLockDeviceCode read a device code and lock its row until the
// transaction ends, so decisions and polls of one code are applied one after the other.
constexpr std::string_view kLockDeviceCodeByUserCode =
    "SELECT device_code_hash, user_code_hash, client_id, scope, device_info, created_at, expires_at, "
    "poll_interval, last_polled_at, status, user_id, session_id_hash, auth_time, amr, acr FROM device_codes "
    "WHERE user_code_hash = $1 FOR UPDATE";
constexpr std::string_view kLockDeviceCode =
    "SELECT device_code_hash, user_code_hash, client_id, scope, device_info, created_at, expires_at, "
    "poll_interval, last_polled_at, status, user_id, session_id_hash, auth_time, amr, acr FROM device_codes "
    "WHERE device_code_hash = $1 FOR UPDATE";
// kInsertDeviceCode stores an empty user_id as NULL (undecided: no user yet).
constexpr std::string_view kInsertDeviceCode =
    "INSERT INTO device_codes (device_code_hash, user_code_hash, client_id, scope, device_info, created_at, "
    "expires_at, poll_interval, last_polled_at, status, user_id, session_id_hash, auth_time, amr, acr) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULLIF($11, ''::BYTEA), $12, $13, $14, $15)";
// kDecideDeviceCode repeats the pending and expiry conditions DecideDeviceCode has just checked on
// the locked row: a code is decided at most once, whatever else goes wrong. user_id is bound as
// given: an unknown one (even '') fails the foreign key (kNotFound).
constexpr std::string_view kDecideDeviceCode =
    "UPDATE device_codes SET status = $2, user_id = $3, session_id_hash = $4, auth_time = $5, amr = $6, "
    "acr = $7 WHERE user_code_hash = $1 AND status = 'pending'::BYTEA AND expires_at > $8";
constexpr std::string_view kConsumeDeviceCode =
    "UPDATE device_codes SET status = 'consumed'::BYTEA WHERE device_code_hash = $1 AND "
    "status = 'approved'::BYTEA AND expires_at > $2";
constexpr std::string_view kDeleteExpiredDeviceCodes =
    "DELETE FROM device_codes WHERE device_code_hash IN (SELECT device_code_hash FROM device_codes WHERE "
    "expires_at <= $1 LIMIT $2)";

// Pool holds at most `size` connections, opened on demand and handed out exclusively;
// thread-safe. A connection found broken is closed instead of returned, together with the idle
// ones (a lost server takes them all), and its slot is refilled by the next Acquire.
class Pool {
 public:
  Pool(std::string conninfo, int size, std::chrono::milliseconds acquire_timeout)
      : conninfo_(std::move(conninfo)), free_slots_(std::max(size, 1)), acquire_timeout_(acquire_timeout) {}

  // Lease gives its connection back to the pool when destroyed.
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

  // Acquire waits up to acquire_timeout for a free slot (kUnavailable after: past capacity the
  // caller answers 503 rather than queue without bound), then reuses an idle connection that is
  // still alive or opens a new one (kUnavailable when the server cannot be reached).
  Result<Lease> Acquire() {
    std::unique_ptr<Connection> conn;
    {
      std::unique_lock lock(mutex_);
      if (!slot_freed_.wait_for(lock, acquire_timeout_, [this] { return free_slots_ > 0; })) {
        common::LogWarn("postgres store: no free connection in time");
        return Error::kUnavailable;
      }
      --free_slots_;
      if (!idle_.empty()) {
        conn = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (conn && !conn->LooksAliveWhileIdle()) conn.reset();
    if (!conn) {
      auto fresh = Connect(conninfo_);
      if (!fresh) {
        ReturnSlot();
        return fresh.error();
      }
      conn = std::move(*fresh);
    }
    return Lease(*this, std::move(conn));
  }

 private:
  void Release(std::unique_ptr<Connection> conn) {
    std::vector<std::unique_ptr<Connection>> dropped;  // closed after the lock is released
    {
      std::lock_guard lock(mutex_);
      if (conn->Healthy()) {
        idle_.push_back(std::move(conn));
      } else {
        dropped.swap(idle_);
        dropped.push_back(std::move(conn));
      }
      ++free_slots_;
    }
    slot_freed_.notify_one();
  }

  void ReturnSlot() {
    {
      std::lock_guard lock(mutex_);
      ++free_slots_;
    }
    slot_freed_.notify_one();
  }

  const std::string conninfo_;
  std::mutex mutex_;
  std::condition_variable slot_freed_;
  int free_slots_;  // leases that may still be handed out
  std::vector<std::unique_ptr<Connection>> idle_;
  const std::chrono::milliseconds acquire_timeout_;
};

// ParamWriter appends a record's fields as parameters, in sql::Columns order (every string as
// BYTEA, see kMigrations).
class ParamWriter {
 public:
  explicit ParamWriter(Params start = {}) : params_(std::move(start)) {}

  void Text(std::string_view v) { params_.Bytes(v); }
  void Blob(std::string_view v) { params_.Bytes(v); }
  void Int(int64_t v) { params_.Int(v); }
  void Bool(bool v) { params_.Bool(v); }
  void List(const std::vector<std::string>& v) { params_.Bytes(sql::EncodeList(v)); }

  Params Take() { return std::move(params_); }

 private:
  Params params_;
};

// ReadRecord reads a row as a Record; a list column that does not decode is kCorrupt.
template <class Record>
Result<Record> ReadRecord(const Row& row) {
  Record record;
  sql::ColumnReader reader(row);
  sql::Columns(record, reader);
  if (auto column = reader.FailedColumn()) {
    common::LogError("postgres store: undecodable list column", {{"column", *column}});
    return reader.Failure();
  }
  return record;
}

// RecordParams returns `record`'s columns as the parameters $1..$N.
template <class Record>
Params RecordParams(const Record& record) {
  ParamWriter writer;
  sql::Columns(record, writer);
  return writer.Take();
}

// ReadWithUser reads a `Record`'s first `kColumns` columns followed by its user's, as `Joined`
// ({record, user}: RefreshTokenWithUser, CodeWithUser, SessionWithUser).
template <class Joined, class Record, int kColumns>
Result<Joined> ReadWithUser(const Row& row) {
  auto record = ReadRecord<Record>(row);
  if (!record) return record.error();
  auto user = ReadRecord<UserRecord>(row.From(kColumns));
  if (!user) return user.error();
  return Joined{std::move(*record), std::move(*user)};
}

Result<std::string> ReadFirstBytes(const Row& row) { return row.Bytes(0); }

Result<int64_t> ReadFirstInt(const Row& row) { return row.Int(0); }

// QueryOne runs `sql` on `conn` and reads its first row: kNotFound when there is none.
template <class Reader>
auto QueryOne(Connection& conn, std::string_view sql, const Params& params, std::string_view what,
              Reader read) -> decltype(read(std::declval<const Row&>())) {
  auto res = conn.Exec(sql, params, what);
  if (!res) return res.error();
  if (PQntuples(res->get()) == 0) return Error::kNotFound;
  return read(Row(res->get(), 0));
}

// QueryAll runs `sql` on `conn` and reads every row.
template <class Reader>
auto QueryAll(Connection& conn, std::string_view sql, const Params& params, std::string_view what,
              Reader read)
    -> Result<std::vector<typename decltype(read(std::declval<const Row&>()))::value_type>> {
  using Record = typename decltype(read(std::declval<const Row&>()))::value_type;
  auto res = conn.Exec(sql, params, what);
  if (!res) return res.error();
  std::vector<Record> out;
  const int n = PQntuples(res->get());
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto record = read(Row(res->get(), i));
    if (!record) return record.error();
    out.push_back(std::move(*record));
  }
  return out;
}

// Command runs a statement that returns no rows and returns how many rows it touched.
Result<int64_t> Command(Connection& conn, std::string_view sql, const Params& params, std::string_view what) {
  auto res = conn.Exec(sql, params, what);
  if (!res) return res.error();
  return AffectedRows(res->get());
}

// Updated turns "rows touched" into the store's answer for a keyed update or delete.
Result<void> Updated(const Result<int64_t>& rows) {
  if (!rows) return rows.error();
  if (*rows == 0) return Error::kNotFound;
  return {};
}

Result<void> Done(const Result<int64_t>& rows) {
  if (!rows) return rows.error();
  return {};
}

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(const PostgresOptions& options)
      : pool_(options.conninfo, options.pool_size, options.acquire_timeout) {}

  // Migrate applies pending migrations, one transaction each, each under the migration advisory
  // lock (released with the transaction, also when the connection dies): of several nodes starting
  // at once, one applies a version while the others wait, then see it recorded.
  Result<void> Migrate() {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    Connection& conn = **lease;
    for (;;) {
      Transaction tx(conn);
      if (auto r = tx.Begin(); !r) return r;
      if (auto r = conn.ExecOnce(kLockMigrations, Params().Int(kMigrationLockKey), "migration lock"); !r) {
        return r.error();
      }
      if (auto r = conn.ExecScript(kCreateMigrationsTable, "schema_migrations"); !r) return r;
      auto res = conn.ExecOnce(kSelectSchemaVersion, Params(), "schema version");
      if (!res) return res.error();
      const int64_t version = PQntuples(res->get()) == 1 ? Row(res->get(), 0).Int(0) : -1;
      if (version < 0 || version > static_cast<int64_t>(kMigrations.size())) {
        common::LogError("postgres store: database schema is newer than this binary",
                         {{"db_version", version}, {"known_version", kMigrations.size()}});
        return Error::kCorrupt;
      }
      if (version == static_cast<int64_t>(kMigrations.size())) return tx.Commit();
      const int64_t next = version + 1;
      if (auto r = conn.ExecScript(kMigrations[static_cast<std::size_t>(version)], "migration"); !r) {
        return r.error() == Error::kUnavailable ? Error::kUnavailable : Error::kCorrupt;
      }
      if (auto r = conn.ExecOnce(kInsertMigration, Params().Int(next), "record migration"); !r)
        return r.error();
      if (auto r = tx.Commit(); !r) return r;
      common::LogInfo("postgres store: applied migration", {{"version", next}});
    }
  }

  Result<ClientRecord> GetClient(const std::string& client_id) override {
    return WithConnection([&](Connection& conn) {
      return QueryOne(conn, sql::kSelectClient, {client_id}, "get client", ReadRecord<ClientRecord>);
    });
  }

  Result<std::vector<ClientRecord>> ListClients() override {
    return WithConnection([&](Connection& conn) {
      return QueryAll(conn, sql::kSelectAllClients, {}, "list clients", ReadRecord<ClientRecord>);
    });
  }

  Result<void> CreateClient(const ClientRecord& client) override {
    return Write([&](Connection& conn) {
      return Done(Command(conn, sql::kInsertClient, RecordParams(client), "create client"));
    });
  }

  Result<void> UpdateClient(const ClientRecord& client) override {
    return Write([&](Connection& conn) {
      return Updated(Command(conn, sql::kUpdateClient, RecordParams(client), "update client"));
    });
  }

  Result<void> DeleteClient(const std::string& client_id) override {
    return Write([&](Connection& conn) {
      return Updated(Command(conn, sql::kDeleteClient, {client_id}, "delete client"));
    });
  }

  Result<std::vector<SigningKeyRecord>> ListSigningKeys() override {
    return WithConnection([&](Connection& conn) {
      return QueryAll(conn, sql::kSelectAllKeys, {}, "list signing keys", ReadRecord<SigningKeyRecord>);
    });
  }

  Result<void> AddSigningKey(const SigningKeyRecord& key) override {
    return KeyWrite(key.kid, [&](Connection& conn) {
      auto inserted = Command(conn, kInsertKey, RecordParams(key), "add signing key");
      // Nothing inserted: a key of this alg has this state already.
      if (inserted && *inserted == 0) return Result<int64_t>(Error::kConflict);
      return inserted;
    });
  }

  Result<void> ActivateSigningKey(const std::string& kid, int64_t now) override {
    return KeyWrite(kid, [&](Connection& conn) -> Result<int64_t> {
      Params p{kid};
      p.Int(now);
      if (auto r = Command(conn, kRetireActiveKeyOfNext, p, "retire the active signing key"); !r) return r;
      return Command(conn, kActivateKey, p, "activate signing key");
    });
  }

  Result<void> RetireSigningKey(const std::string& kid, int64_t now) override {
    return KeyWrite(kid, [&](Connection& conn) {
      Params p{kid};
      p.Int(now);
      return Command(conn, kRetireKey, p, "retire signing key");
    });
  }

  Result<void> DeleteSigningKey(const std::string& kid) override {
    return KeyWrite(kid,
                    [&](Connection& conn) { return Command(conn, kDeleteKey, {kid}, "delete signing key"); });
  }

  Result<void> ResealSigningKey(const std::string& kid, const std::string& expected,
                                const std::string& replacement) override {
    return KeyWrite(kid, [&](Connection& conn) {
      return Command(conn, sql::kResealKey, {kid, expected, replacement}, "reseal signing key");
    });
  }

  Result<UserRecord> GetUser(const std::string& user_id) override {
    return WithConnection([&](Connection& conn) {
      return QueryOne(conn, sql::kSelectUser, {user_id}, "get user", ReadRecord<UserRecord>);
    });
  }

  Result<UserRecord> GetUserByUsername(const std::string& username) override {
    return WithConnection([&](Connection& conn) {
      return QueryOne(conn, sql::kSelectUserByUsername, {username}, "get user by username",
                      ReadRecord<UserRecord>);
    });
  }

  Result<std::vector<UserRecord>> ListUsers() override {
    return WithConnection([&](Connection& conn) {
      return QueryAll(conn, sql::kSelectAllUsers, {}, "list users", ReadRecord<UserRecord>);
    });
  }

  // CreateUser: the primary key and the UNIQUE username both fail with unique_violation
  // (kConflict); one statement, so nothing is written then.
  Result<void> CreateUser(const UserRecord& user) override {
    return WithConnection([&](Connection& conn) {
      return Done(Command(conn, sql::kInsertUser, RecordParams(user), "create user"));
    });
  }

  // UpdateUser: a rename onto another user's username fails on the UNIQUE constraint (kConflict);
  // an absent user_id matches no row (kNotFound), whatever the username.
  Result<void> UpdateUser(const UserRecord& user) override {
    return RevocationWrite([&](Connection& conn) {
      return Updated(Command(conn, sql::kUpdateUser, RecordParams(user), "update user"));
    });
  }

  Result<void> DeleteUser(const std::string& user_id) override {
    return RevocationWrite(
        [&](Connection& conn) { return Updated(Command(conn, sql::kDeleteUser, {user_id}, "delete user")); });
  }

  Result<void> CreateSession(const SessionRecord& session) override {
    return WithConnection([&](Connection& conn) {
      return Done(Command(conn, sql::kInsertSession, RecordParams(session), "create session"));
    });
  }

  Result<SessionRecord> GetSession(const std::string& id_hash) override {
    return WithConnection([&](Connection& conn) {
      return QueryOne(conn, sql::kSelectSession, {id_hash}, "get session", ReadRecord<SessionRecord>);
    });
  }

  Result<void> TouchSession(const std::string& id_hash, int64_t now) override {
    return WithConnection([&](Connection& conn) {
      return Updated(Command(conn, sql::kTouchSession, Params{id_hash}.Int(now), "touch session"));
    });
  }

  // RevokeSession: PostgreSQL counts matched rows, so revoking a revoked session is not kNotFound.
  Result<void> RevokeSession(const std::string& id_hash) override {
    return WithConnection([&](Connection& conn) {
      return Updated(Command(conn, sql::kRevokeSession, {id_hash}, "revoke session"));
    });
  }

  Result<std::vector<SessionRecord>> ListUserSessions(const std::string& user_id) override {
    return WithConnection([&](Connection& conn) {
      return QueryAll(conn, sql::kSelectUserSessions, {user_id}, "list user sessions",
                      ReadRecord<SessionRecord>);
    });
  }

  Result<int64_t> DeleteExpiredSessions(int64_t created_before, int64_t seen_before, int64_t limit) override {
    return DeleteBounded(kDeleteExpiredSessions, {created_before, seen_before}, limit,
                         "delete expired sessions");
  }

  Result<SessionWithUser> GetSessionWithUser(const std::string& id_hash) override {
    return WithConnection([&](Connection& conn) {
      return QueryOne(conn, kSelectSessionWithUser, {id_hash}, "get session and user",
                      ReadWithUser<SessionWithUser, SessionRecord, kSessionColumns>);
    });
  }

  // AddSessionClient: the foreign key names the session: a missing one is kNotFound.
  Result<void> AddSessionClient(const std::string& id_hash, const std::string& client_id) override {
    return WithConnection([&](Connection& conn) {
      return Done(Command(conn, sql::kAddSessionClient, {id_hash, client_id}, "add session client"));
    });
  }

  Result<std::vector<std::string>> ListSessionClients(const std::string& id_hash) override {
    return WithConnection([&](Connection& conn) {
      return QueryAll(conn, sql::kSelectSessionClients, {id_hash}, "list session clients", ReadFirstBytes);
    });
  }

  Result<void> CreateCode(const AuthorizationCodeRecord& code) override {
    return WithConnection([&](Connection& conn) {
      return Done(Command(conn, sql::kInsertCode, RecordParams(code), "create code"));
    });
  }

  Result<void> CreateCodeForSession(const AuthorizationCodeRecord& code) override {
    return WithConnection([&](Connection& conn) {
      return Done(Command(conn, CreateCodeForSessionSql(), RecordParams(code), "create code for session"));
    });
  }

  // Redeem runs `statement` (kRedeemCode, or kRedeemCodeWithTokens; $1 is the code), whose
  // conditional UPDATE decides the winner in one statement. When it matched nothing, a read tells
  // kConflict (used) from kNotFound (absent or expired); the code only ever goes from unused to
  // used, so that answer cannot go stale in between. A token the statement could not insert for a
  // duplicate hash is kUnavailable (not a replay); for a missing user, the read finds the code gone
  // with that user: kNotFound.
  Result<AuthorizationCodeRecord> Redeem(const std::string& code_hash, std::string_view statement,
                                         const Params& params, std::string_view what) {
    return WithConnection([&](Connection& conn) -> Result<AuthorizationCodeRecord> {
      auto redeemed = QueryOne(conn, statement, params, what, ReadRecord<AuthorizationCodeRecord>);
      if (redeemed) {
        redeemed->used = false;  // as it was before this redemption
        return redeemed;
      }
      if (redeemed.error() == Error::kConflict) return Error::kUnavailable;
      if (redeemed.error() != Error::kNotFound) return redeemed.error();
      auto code =
          QueryOne(conn, sql::kSelectCode, {code_hash}, "get code", ReadRecord<AuthorizationCodeRecord>);
      if (!code) return code.error();
      return code->used ? Error::kConflict : Error::kNotFound;
    });
  }

  Result<AuthorizationCodeRecord> RedeemCode(const std::string& code_hash, int64_t now) override {
    return Redeem(code_hash, kRedeemCode, Params{code_hash}.Int(now), "redeem code");
  }

  // RedeemCodeWithTokens: kRedeemCodeWithTokens, decided as RedeemCode is.
  Result<AuthorizationCodeRecord> RedeemCodeWithTokens(const std::string& code_hash, int64_t now,
                                                       const GrantTokens& tokens) override {
    Params params{code_hash};
    params.Int(now);
    ParamWriter writer(std::move(params));
    sql::Columns(tokens.refresh_token ? *tokens.refresh_token : RefreshTokenRecord{}, writer);
    sql::Columns(tokens.access_token ? *tokens.access_token : AccessTokenRecord{}, writer);
    return Redeem(code_hash, kRedeemCodeWithTokens, writer.Take(), "redeem code with tokens");
  }

  Result<AuthorizationCodeRecord> GetCode(const std::string& code_hash) override {
    return WithConnection([&](Connection& conn) {
      return QueryOne(conn, sql::kSelectCode, {code_hash}, "get code", ReadRecord<AuthorizationCodeRecord>);
    });
  }

  Result<CodeWithUser> GetCodeWithUser(const std::string& code_hash) override {
    return WithConnection([&](Connection& conn) {
      return QueryOne(conn, kSelectCodeWithUser, {code_hash}, "get code and user",
                      ReadWithUser<CodeWithUser, AuthorizationCodeRecord, kCodeColumns>);
    });
  }

  Result<int64_t> DeleteExpiredCodes(int64_t now, int64_t limit) override {
    return DeleteBounded(kDeleteExpiredCodes, {now}, limit, "delete expired codes");
  }

  Result<void> CreateRefreshToken(const RefreshTokenRecord& token) override {
    return WithConnection([&](Connection& conn) {
      return Done(Command(conn, sql::kInsertRefreshToken, RecordParams(token), "create refresh token"));
    });
  }

  Result<RefreshTokenRecord> GetRefreshToken(const std::string& token_hash) override {
    return WithConnection([&](Connection& conn) {
      return QueryOne(conn, sql::kSelectRefreshToken, {token_hash}, "get refresh token",
                      ReadRecord<RefreshTokenRecord>);
    });
  }

  Result<RefreshTokenWithUser> GetRefreshTokenWithUser(const std::string& token_hash) override {
    return WithConnection([&](Connection& conn) {
      return QueryOne(conn, kSelectRefreshTokenWithUser, {token_hash}, "get refresh token and user",
                      ReadWithUser<RefreshTokenWithUser, RefreshTokenRecord, kRefreshTokenColumns>);
    });
  }

  Result<CurrentRotated> RotateCurrentRefreshToken(const CurrentRotation& r) override {
    const AccessTokenRecord none;
    const AccessTokenRecord& access = r.access_token ? *r.access_token : none;
    auto rotated = WithConnection([&](Connection& conn) {
      Params params{r.token_hash, r.client_id, r.successor_hash};
      params.Int(r.now).Int(r.idle_lifetime).Bytes(access.token_hash).Bytes(access.audience);
      params.Int(access.created_at).Int(access.expires_at);
      return QueryOne(conn, kRotateCurrentRefreshTokenForClient, params, "rotate current refresh token",
                      ReadWithUser<RefreshTokenWithUser, RefreshTokenRecord, kRefreshTokenColumns>);
    });
    // A successor (or access token) that exists already failed the whole statement: nothing was
    // written.
    if (!rotated) return rotated.error() == Error::kConflict ? Error::kNotFound : rotated.error();
    return CurrentRotated{std::move(*rotated), r.access_token.has_value()};
  }

  // RotateRefreshToken first tries the common case, a current token, in one statement
  // (kRotateCurrentRefreshToken). When that matches nothing it reads the presented token with its
  // row locked (kLockRefreshToken), decides, and writes in one transaction: a concurrent rotation of
  // the same token waits for this one to commit and then decides on the row as this one left it, so
  // exactly one caller wins (RFC 9700 §4.14.2). A failed successor insert aborts the statement or
  // the transaction: nothing is written.
  Result<RotationResult> RotateRefreshToken(const std::string& token_hash,
                                            const RefreshTokenRecord& successor, int64_t now,
                                            int64_t grace_seconds) override {
    auto current = WithConnection([&](Connection& conn) {
      return QueryOne(conn, kRotateCurrentRefreshToken, RecordParams(successor).Bytes(token_hash).Int(now),
                      "rotate refresh token", ReadRecord<RefreshTokenRecord>);
    });
    if (current) return RotationResult{*current, false};
    if (current.error() != Error::kNotFound) return current.error();
    RotationResult result;
    auto r = InTransaction([&](Connection& conn) -> Result<void> {
      auto found = QueryOne(conn, kLockRefreshToken, {token_hash}, "lock refresh token",
                            ReadRecord<RefreshTokenRecord>);
      if (!found) return found.error();
      const RefreshTokenRecord& previous = *found;
      if (previous.revoked || previous.expires_at <= now || previous.family_expires_at <= now) {
        return Error::kNotFound;
      }
      if (previous.rotated_at == 0) {
        auto inserted = Command(conn, sql::kInsertRefreshToken, RecordParams(successor),
                                "insert successor refresh token");
        if (!inserted) return inserted.error();
        auto marked =
            Command(conn, sql::kMarkRefreshTokenRotated,
                    Params{token_hash}.Int(now).Bytes(successor.token_hash), "rotate refresh token");
        if (!marked) return marked.error();
        if (*marked != 1) {
          common::LogError("postgres store: locked refresh token changed");
          return Error::kCorrupt;
        }
        result = {previous, false};
        return {};
      }
      // Already rotated: only a retry of that very rotation, soon after it and before its
      // successor was used, is answered without alarm; anything else is reuse (RFC 9700 §4.14.2).
      if (grace_seconds > 0 && now - previous.rotated_at <= grace_seconds &&
          previous.successor_hash == successor.token_hash) {
        auto next = QueryOne(conn, kShareRefreshToken, {previous.successor_hash}, "read successor",
                             ReadRecord<RefreshTokenRecord>);
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
    return RevocationWrite([&](Connection& conn) {
      return Command(conn, sql::kRevokeRefreshFamily, {family_id}, "revoke refresh family");
    });
  }

  Result<std::vector<std::string>> RevokeRefreshTokens(const std::string& user_id,
                                                       const std::string& client_id,
                                                       const std::string& session_id_hash) override {
    auto families = RevocationWrite([&](Connection& conn) {
      return QueryAll(conn, kRevokeRefreshTokens, {user_id, client_id, session_id_hash},
                      "revoke refresh tokens", ReadFirstBytes);
    });
    if (!families) return families.error();
    // Distinct, ordered byte-wise (std::string compares as unsigned char).
    std::sort(families->begin(), families->end());
    families->erase(std::unique(families->begin(), families->end()), families->end());
    return families;
  }

  Result<int64_t> DeleteExpiredRefreshTokens(int64_t now, int64_t limit) override {
    return DeleteBounded(kDeleteExpiredRefreshTokens, {now}, limit, "delete expired refresh tokens");
  }

  Result<void> CreateAccessToken(const AccessTokenRecord& token) override {
    return WithConnection([&](Connection& conn) {
      return Done(Command(conn, kInsertAccessToken, RecordParams(token), "create access token"));
    });
  }

  Result<AccessTokenRecord> GetAccessToken(const std::string& token_hash) override {
    return WithConnection([&](Connection& conn) {
      return QueryOne(conn, sql::kSelectAccessToken, {token_hash}, "get access token",
                      ReadRecord<AccessTokenRecord>);
    });
  }

  Result<void> RevokeAccessToken(const std::string& token_hash) override {
    return RevocationWrite([&](Connection& conn) {
      return Updated(Command(conn, sql::kRevokeAccessToken, {token_hash}, "revoke access token"));
    });
  }

  Result<int64_t> DeleteExpiredAccessTokens(int64_t now, int64_t limit) override {
    return DeleteBounded(kDeleteExpiredAccessTokens, {now}, limit, "delete expired access tokens");
  }

  Result<void> PutRevocation(const RevocationRecord& revocation) override {
    return RevocationWrite([&](Connection& conn) {
      return Done(Command(conn, kPutRevocation,
                          Params{revocation.key}.Int(revocation.revoked_at).Int(revocation.expires_at),
                          "put revocation"));
    });
  }

  Result<int64_t> LatestRevocation(const std::vector<std::string>& keys) override {
    if (keys.empty()) return int64_t{0};
    return WithConnection([&](Connection& conn) -> Result<int64_t> {
      int64_t latest = 0;
      for (std::size_t first = 0; first < keys.size(); first += kLatestRevocationKeys) {
        Params p;
        for (std::size_t i = first; i < first + kLatestRevocationKeys; ++i) {
          if (i < keys.size()) {
            p.Bytes(keys[i]);
          } else {
            p.NullBytes();
          }
        }
        auto chunk = QueryOne(conn, kLatestRevocation, p, "latest revocation", ReadFirstInt);
        if (!chunk) return chunk.error();
        latest = std::max(latest, *chunk);
      }
      return latest;
    });
  }

  Result<int64_t> DeleteExpiredRevocations(int64_t now, int64_t limit) override {
    return DeleteBounded(kDeleteExpiredRevocations, {now}, limit, "delete expired revocations");
  }

  // CreateDeviceCode: either hash already taken (PRIMARY KEY or UNIQUE) is kConflict; a non-empty
  // user_id naming no user fails the foreign key (kNotFound).
  Result<void> CreateDeviceCode(const DeviceCodeRecord& code) override {
    return WithConnection([&](Connection& conn) {
      return Done(Command(conn, kInsertDeviceCode, RecordParams(code), "create device code"));
    });
  }

  Result<DeviceCodeRecord> GetDeviceCodeByUserCode(const std::string& user_code_hash) override {
    return WithConnection([&](Connection& conn) {
      return QueryOne(conn, sql::kSelectDeviceCodeByUserCode, {user_code_hash}, "get device code",
                      ReadRecord<DeviceCodeRecord>);
    });
  }

  // DecideDeviceCode reads the code with its row locked, checks and writes in one transaction, so
  // of two approval pages deciding one code (any threads or nodes) exactly one succeeds (RFC 8628
  // §3.3); an unknown user fails the foreign key and rolls back, leaving the code pending.
  Result<DeviceCodeRecord> DecideDeviceCode(const std::string& user_code_hash, bool approve,
                                            const DeviceCodeRecord& decision, int64_t now) override {
    DeviceCodeRecord before;
    auto r = InTransaction([&](Connection& conn) -> Result<void> {
      auto found = QueryOne(conn, kLockDeviceCodeByUserCode, {user_code_hash}, "lock device code",
                            ReadRecord<DeviceCodeRecord>);
      if (!found) return found.error();
      if (found->expires_at <= now) return Error::kNotFound;
      if (found->status != "pending") return Error::kConflict;
      Params p{user_code_hash, approve ? "approved" : "denied", decision.user_id, decision.session_id_hash};
      p.Int(decision.auth_time).Bytes(decision.amr).Bytes(decision.acr).Int(now);
      auto decided = Command(conn, kDecideDeviceCode, p, "decide device code");
      if (!decided) return decided.error();
      if (*decided != 1) {
        common::LogError("postgres store: locked device code changed");
        return Error::kCorrupt;
      }
      before = std::move(*found);
      return {};
    });
    if (!r) return r.error();
    return before;
  }

  // PollDeviceCode reads the code with its row locked, decides and writes in one transaction: of
  // concurrent polls of an approved code (any threads or nodes) exactly one reads "approved"; the
  // others wait for it and read "consumed" or a fresh last_polled_at (RFC 8628 §3.5).
  Result<DeviceCodeRecord> PollDeviceCode(const std::string& device_code_hash, int64_t now) override {
    DeviceCodeRecord before;
    auto r = InTransaction([&](Connection& conn) -> Result<void> {
      auto found = QueryOne(conn, kLockDeviceCode, {device_code_hash}, "lock device code",
                            ReadRecord<DeviceCodeRecord>);
      if (!found) return found.error();
      const DeviceCodeRecord next = NextPollState(*found, now);
      Params p{device_code_hash};
      p.Int(next.interval).Int(next.last_polled_at);
      if (auto polled = Command(conn, sql::kPollDeviceCode, p, "poll device code"); !polled)
        return polled.error();
      before = std::move(*found);
      return {};
    });
    if (!r) return r.error();
    return before;
  }

  // ConsumeDeviceCode: one conditional UPDATE (atomic on its row); when it matches nothing, reading
  // the row tells kNotFound from kConflict.
  Result<void> ConsumeDeviceCode(const std::string& device_code_hash, int64_t now) override {
    return WithConnection([&](Connection& conn) -> Result<void> {
      auto consumed =
          Command(conn, kConsumeDeviceCode, Params{device_code_hash}.Int(now), "consume device code");
      if (!consumed) return consumed.error();
      if (*consumed == 1) return {};
      auto found = QueryOne(conn, sql::kSelectDeviceCode, {device_code_hash}, "get device code",
                            ReadRecord<DeviceCodeRecord>);
      if (!found) return found.error();
      if (found->expires_at <= now) return Error::kNotFound;
      return Error::kConflict;
    });
  }

  Result<int64_t> DeleteExpiredDeviceCodes(int64_t now, int64_t limit) override {
    return DeleteBounded(kDeleteExpiredDeviceCodes, {now}, limit, "delete expired device codes");
  }

  Result<ConsentRecord> GetConsent(const std::string& user_id, const std::string& client_id) override {
    return WithConnection([&](Connection& conn) {
      return QueryOne(conn, sql::kSelectConsent, {user_id, client_id}, "get consent",
                      ReadRecord<ConsentRecord>);
    });
  }

  Result<void> PutConsent(const ConsentRecord& consent) override {
    return WithConnection([&](Connection& conn) {
      return Done(Command(conn, sql::kPutConsent, RecordParams(consent), "put consent"));
    });
  }

  Result<std::vector<ConsentRecord>> ListUserConsents(const std::string& user_id) override {
    return WithConnection([&](Connection& conn) {
      return QueryAll(conn, sql::kSelectUserConsents, {user_id}, "list user consents",
                      ReadRecord<ConsentRecord>);
    });
  }

  Result<void> DeleteConsent(const std::string& user_id, const std::string& client_id) override {
    return WithConnection([&](Connection& conn) {
      return Updated(Command(conn, sql::kDeleteConsent, {user_id, client_id}, "delete consent"));
    });
  }

  Result<ThrottleRecord> GetThrottle(const std::string& key) override {
    return WithConnection([&](Connection& conn) {
      return QueryOne(conn, sql::kSelectThrottle, {key}, "get throttle", ReadRecord<ThrottleRecord>);
    });
  }

  Result<ThrottleRecord> CountThrottleFailure(const std::string& key, int64_t now,
                                              int64_t forget_at) override {
    return WithConnection([&](Connection& conn) -> Result<ThrottleRecord> {
      auto counted = QueryOne(conn, kCountThrottleFailure, Params{key}.Int(now).Int(forget_at),
                              "count throttle failure", ReadRecord<ThrottleRecord>);
      if (!counted && counted.error() == Error::kNotFound) return Error::kCorrupt;  // RETURNING gives one row
      return counted;
    });
  }

  Result<void> DeleteThrottle(const std::string& key) override {
    return WithConnection([&](Connection& conn) {
      return Done(Command(conn, sql::kDeleteThrottle, {key}, "delete throttle"));
    });
  }

  Result<int64_t> DeleteExpiredThrottles(int64_t now, int64_t limit) override {
    return DeleteBounded(kDeleteExpiredThrottles, {now}, limit, "delete expired throttles");
  }

  // EnsureSecret: sql::kInsertSecret then sql::kSelectSecret, as two statements outside a
  // transaction: a concurrent first insert makes this one wait on the key and then do nothing; the
  // SELECT that follows takes a new snapshot and sees the row that won (one statement would not: its
  // snapshot predates that row).
  Result<std::string> EnsureSecret(const std::string& name, const std::string& candidate) override {
    return WithConnection([&](Connection& conn) -> Result<std::string> {
      if (auto r = Command(conn, sql::kInsertSecret, {name, candidate}, "insert secret"); !r)
        return r.error();
      auto value = QueryOne(conn, sql::kSelectSecret, {name}, "select secret", ReadFirstBytes);
      if (!value && value.error() == Error::kNotFound) return Error::kCorrupt;  // inserted or kept above
      return value;
    });
  }

  Result<int64_t> Revision() override {
    return WithConnection([&](Connection& conn) -> Result<int64_t> {
      auto revision = QueryOne(conn, sql::kSelectRevision, {}, "revision", ReadFirstInt);
      if (!revision && revision.error() == Error::kNotFound) return Error::kCorrupt;
      return revision;
    });
  }

  Result<int64_t> RevocationRevision() override {
    return WithConnection([&](Connection& conn) {
      return QueryOne(conn, kSelectRevocationRevision, {}, "revocation revision", ReadFirstInt);
    });
  }

 private:
  // WithConnection runs `body` on a leased connection (one statement runs in its own transaction).
  template <class Body>
  auto WithConnection(Body&& body) -> decltype(body(std::declval<Connection&>())) {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    return body(**lease);
  }

  // InTransaction runs `body` in one transaction, committed only when `body` succeeds.
  template <class Body>
  Result<void> InTransaction(Body&& body) {
    return WithConnection([&](Connection& conn) -> Result<void> {
      Transaction tx(conn);
      if (auto r = tx.Begin(); !r) return r;
      if (auto r = body(conn); !r) return r;
      return tx.Commit();
    });
  }

  // RevocationWrite runs `body` and bumps the revocation revision in one transaction
  // (Store::RevocationRevision): a reader on any node sees both or neither. Returns what `body`
  // returned; an error of `body` rolls back.
  template <class Body>
  auto RevocationWrite(Body&& body) -> decltype(body(std::declval<Connection&>())) {
    std::optional<decltype(body(std::declval<Connection&>()))> out;
    auto r = InTransaction([&](Connection& conn) -> Result<void> {
      out.emplace(body(conn));
      if (!*out) return out->error();
      if (auto bumped = Command(conn, sql::kBumpRevocationRevision, {}, "bump revocation revision"); !bumped)
        return bumped.error();
      return {};
    });
    if (!r) return r.error();
    return std::move(*out);
  }

  // Write runs `body` and bumps the revision in one transaction, so a reader on any node sees the
  // new rows and the new revision together or not at all (Store::Revision).
  // KeyWrite runs one signing-key change under kSigningKeysLockKey in a revision-bumping
  // transaction. `body` returns how many rows its last statement changed; none means the key is
  // missing (kNotFound) or not in the state the change needs (kConflict).
  template <class Body>
  Result<void> KeyWrite(const std::string& kid, Body&& body) {
    return Write([&](Connection& conn) -> Result<void> {
      if (auto r = conn.ExecOnce(kLockMigrations, Params().Int(kSigningKeysLockKey), "signing key lock");
          !r) {
        return r.error();
      }
      auto changed = body(conn);
      if (!changed) return changed.error();
      if (*changed > 0) return {};
      auto exists = Command(conn, sql::kKeyExists, {kid}, "find signing key");
      if (!exists) return exists.error();
      return *exists > 0 ? Error::kConflict : Error::kNotFound;
    });
  }

  template <class Body>
  Result<void> Write(Body&& body) {
    return InTransaction([&](Connection& conn) -> Result<void> {
      if (auto r = body(conn); !r) return r;
      auto bumped = Command(conn, sql::kBumpRevision, {}, "bump revision");
      if (!bumped) return bumped.error();
      if (*bumped != 1) {
        common::LogError("postgres store: revision row missing");
        return Error::kCorrupt;
      }
      return {};
    });
  }

  // DeleteBounded runs one of the bounded DELETE statements: `args` bound to $1.., then `limit` to
  // the last parameter; returns how many rows the statement itself deleted (cascaded rows are not
  // counted). 0 without touching the database when limit <= 0.
  Result<int64_t> DeleteBounded(std::string_view sql, std::initializer_list<int64_t> args, int64_t limit,
                                std::string_view what) {
    if (limit <= 0) return int64_t{0};
    Params p;
    for (int64_t arg : args) p.Int(arg);
    p.Int(limit);
    return WithConnection([&](Connection& conn) { return Command(conn, sql, p, what); });
  }

  Pool pool_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresOptions& options) {
  auto store = std::make_unique<PostgresStore>(options);
  if (auto r = store->Migrate(); !r) return r.error();
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace latchkey::store::postgres
