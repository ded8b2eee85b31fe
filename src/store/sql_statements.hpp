#pragma once

// The SQL statements that the SQLite and PostgreSQL stores send word for word, in PostgreSQL's
// placeholder syntax ($1, $2, ...); the SQLite store rewrites each $N to ?N when it prepares a
// statement. A statement whose dialects differ (casts, the rowid of the bounded deletes, functions,
// the locks, the one-statement grants) stays in its store.
//
// A record's columns appear in the order sql_columns.hpp gives, which both stores read and bind
// them in; the contract suite (store/testing/store_contract.hpp) runs both stores through them.

#include <string_view>

namespace latchkey::store::sql {

constexpr std::string_view kBumpRevision = "UPDATE meta SET value = value + 1 WHERE key = 'revision'";
constexpr std::string_view kSelectRevision = "SELECT value FROM meta WHERE key = 'revision'";

// The 'revocations' row (Store::RevocationRevision) is made by its first bump: databases written
// before it existed need no migration.
constexpr std::string_view kBumpRevocationRevision =
    "INSERT INTO meta (key, value) VALUES ('revocations', 1) "
    "ON CONFLICT (key) DO UPDATE SET value = meta.value + 1";

// The client statements list the columns in ClientRecord order; each store reads and binds them in
// the same order.
constexpr std::string_view kSelectClient =
    "SELECT client_id, client_name, secret_hash, token_endpoint_auth_method, redirect_uris, grant_types, "
    "scopes, post_logout_redirect_uris, access_token_lifetime, access_token_alg, "
    "id_token_signed_response_alg, access_token_format, backchannel_logout_uri, "
    "backchannel_logout_session_required, introspect_any, created_at, updated_at "
    "FROM clients WHERE client_id = $1";
constexpr std::string_view kSelectAllClients =
    "SELECT client_id, client_name, secret_hash, token_endpoint_auth_method, redirect_uris, grant_types, "
    "scopes, post_logout_redirect_uris, access_token_lifetime, access_token_alg, "
    "id_token_signed_response_alg, access_token_format, backchannel_logout_uri, "
    "backchannel_logout_session_required, introspect_any, created_at, updated_at "
    "FROM clients ORDER BY client_id";
constexpr std::string_view kInsertClient =
    "INSERT INTO clients (client_id, client_name, secret_hash, token_endpoint_auth_method, redirect_uris, "
    "grant_types, scopes, post_logout_redirect_uris, access_token_lifetime, access_token_alg, "
    "id_token_signed_response_alg, access_token_format, backchannel_logout_uri, "
    "backchannel_logout_session_required, introspect_any, created_at, updated_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)";
constexpr std::string_view kUpdateClient =
    "UPDATE clients SET client_name = $2, secret_hash = $3, token_endpoint_auth_method = $4, "
    "redirect_uris = $5, grant_types = $6, scopes = $7, post_logout_redirect_uris = $8, "
    "access_token_lifetime = $9, access_token_alg = $10, id_token_signed_response_alg = $11, "
    "access_token_format = $12, backchannel_logout_uri = $13, backchannel_logout_session_required = $14, "
    "introspect_any = $15, created_at = $16, updated_at = $17 WHERE client_id = $1";
constexpr std::string_view kDeleteClient = "DELETE FROM clients WHERE client_id = $1";

constexpr std::string_view kSelectAllKeys =
    "SELECT kid, alg, private_pem, state, created_at, active_from, retired_at FROM signing_keys "
    "ORDER BY created_at, kid";
// kResealKey replaces a key's sealed private key only if it is still the one the caller read.
constexpr std::string_view kResealKey =
    "UPDATE signing_keys SET private_pem = $3 WHERE kid = $1 AND private_pem = $2";
constexpr std::string_view kKeyExists = "SELECT 1 FROM signing_keys WHERE kid = $1";

// The user statements list the columns in UserRecord order.
constexpr std::string_view kSelectUser =
    "SELECT user_id, username, password_hash, status, name, given_name, family_name, preferred_username, "
    "email, email_verified, phone_number, phone_number_verified, address_json, picture, locale, zoneinfo, "
    "created_at, updated_at FROM users WHERE user_id = $1";
constexpr std::string_view kSelectUserByUsername =
    "SELECT user_id, username, password_hash, status, name, given_name, family_name, preferred_username, "
    "email, email_verified, phone_number, phone_number_verified, address_json, picture, locale, zoneinfo, "
    "created_at, updated_at FROM users WHERE username = $1";
constexpr std::string_view kSelectAllUsers =
    "SELECT user_id, username, password_hash, status, name, given_name, family_name, preferred_username, "
    "email, email_verified, phone_number, phone_number_verified, address_json, picture, locale, zoneinfo, "
    "created_at, updated_at FROM users ORDER BY username";
constexpr std::string_view kInsertUser =
    "INSERT INTO users (user_id, username, password_hash, status, name, given_name, family_name, "
    "preferred_username, email, email_verified, phone_number, phone_number_verified, address_json, picture, "
    "locale, zoneinfo, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
    "$13, $14, $15, $16, $17, $18)";
constexpr std::string_view kUpdateUser =
    "UPDATE users SET username = $2, password_hash = $3, status = $4, name = $5, given_name = $6, "
    "family_name = $7, preferred_username = $8, email = $9, email_verified = $10, phone_number = $11, "
    "phone_number_verified = $12, address_json = $13, picture = $14, locale = $15, zoneinfo = $16, "
    "created_at = $17, updated_at = $18 WHERE user_id = $1";
constexpr std::string_view kDeleteUser = "DELETE FROM users WHERE user_id = $1";

// The session statements list the columns in SessionRecord order.
constexpr std::string_view kSelectSession =
    "SELECT id_hash, user_id, created_at, last_seen_at, auth_time, amr, acr, revoked FROM sessions "
    "WHERE id_hash = $1";
constexpr std::string_view kSelectUserSessions =
    "SELECT id_hash, user_id, created_at, last_seen_at, auth_time, amr, acr, revoked FROM sessions "
    "WHERE user_id = $1 ORDER BY created_at, id_hash";
constexpr std::string_view kInsertSession =
    "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, auth_time, amr, acr, revoked) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
constexpr std::string_view kTouchSession = "UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1";
// Booleans are written true and false: PostgreSQL's BOOLEAN columns; SQLite (3.23 and later) reads
// them as 1 and 0, which its columns store.
constexpr std::string_view kRevokeSession = "UPDATE sessions SET revoked = true WHERE id_hash = $1";

// kAddSessionClient: a repeat is a no-op; a missing session fails the foreign key (kNotFound).
constexpr std::string_view kAddSessionClient =
    "INSERT INTO session_clients (id_hash, client_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";
constexpr std::string_view kSelectSessionClients =
    "SELECT client_id FROM session_clients WHERE id_hash = $1 ORDER BY client_id";

// The code statements list the columns in AuthorizationCodeRecord order.
constexpr std::string_view kSelectCode =
    "SELECT code_hash, client_id, user_id, session_id_hash, redirect_uri, redirect_uri_sent, scope, nonce, "
    "code_challenge, code_challenge_method, auth_time, amr, acr, created_at, expires_at, used "
    "FROM authorization_codes WHERE code_hash = $1";
constexpr std::string_view kInsertCode =
    "INSERT INTO authorization_codes (code_hash, client_id, user_id, session_id_hash, redirect_uri, "
    "redirect_uri_sent, scope, nonce, code_challenge, code_challenge_method, auth_time, amr, acr, "
    "created_at, expires_at, used) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
    "$15, $16)";

// The refresh token statements list the columns in RefreshTokenRecord order.
constexpr std::string_view kSelectRefreshToken =
    "SELECT token_hash, family_id, client_id, user_id, scope, session_id_hash, auth_time, amr, acr, "
    "created_at, expires_at, family_expires_at, rotated_at, successor_hash, revoked FROM refresh_tokens "
    "WHERE token_hash = $1";
constexpr std::string_view kInsertRefreshToken =
    "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope, session_id_hash, "
    "auth_time, amr, acr, created_at, expires_at, family_expires_at, rotated_at, successor_hash, revoked) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";

// kMarkRefreshTokenRotated keeps the rotated_at = 0 condition even where the caller holds the row's
// lock: a token is superseded at most once, whatever else goes wrong.
constexpr std::string_view kMarkRefreshTokenRotated =
    "UPDATE refresh_tokens SET rotated_at = $2, successor_hash = $3 WHERE token_hash = $1 AND rotated_at = 0";
constexpr std::string_view kRevokeRefreshFamily =
    "UPDATE refresh_tokens SET revoked = true WHERE family_id = $1 AND revoked = false";

// The access token statements list the columns in AccessTokenRecord order.
constexpr std::string_view kSelectAccessToken =
    "SELECT token_hash, client_id, subject, user_id, scope, audience, grant_id, auth_time, created_at, "
    "expires_at, revoked FROM access_tokens WHERE token_hash = $1";
constexpr std::string_view kRevokeAccessToken =
    "UPDATE access_tokens SET revoked = true WHERE token_hash = $1";

// The throttle statements list the columns in ThrottleRecord order.
constexpr std::string_view kSelectThrottle =
    "SELECT key, failures, last_failure, forget_at FROM throttles WHERE key = $1";
constexpr std::string_view kDeleteThrottle = "DELETE FROM throttles WHERE key = $1";

// The device code statements list the columns in DeviceCodeRecord order.
constexpr std::string_view kSelectDeviceCodeByUserCode =
    "SELECT device_code_hash, user_code_hash, client_id, scope, device_info, created_at, expires_at, "
    "poll_interval, last_polled_at, status, user_id, session_id_hash, auth_time, amr, acr FROM device_codes "
    "WHERE user_code_hash = $1";
constexpr std::string_view kSelectDeviceCode =
    "SELECT device_code_hash, user_code_hash, client_id, scope, device_info, created_at, expires_at, "
    "poll_interval, last_polled_at, status, user_id, session_id_hash, auth_time, amr, acr FROM device_codes "
    "WHERE device_code_hash = $1";
constexpr std::string_view kPollDeviceCode =
    "UPDATE device_codes SET poll_interval = $2, last_polled_at = $3 WHERE device_code_hash = $1";

// The consent statements list the columns in ConsentRecord order.
constexpr std::string_view kSelectConsent =
    "SELECT user_id, client_id, scope, created_at, updated_at FROM consents WHERE user_id = $1 AND "
    "client_id = $2";
constexpr std::string_view kSelectUserConsents =
    "SELECT user_id, client_id, scope, created_at, updated_at FROM consents WHERE user_id = $1 ORDER BY "
    "client_id";

// kPutConsent: an UPSERT, so a replacement keeps the row's created_at; a missing user fails the
// foreign key on the INSERT branch (kNotFound).
constexpr std::string_view kPutConsent =
    "INSERT INTO consents (user_id, client_id, scope, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) "
    "ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at";
constexpr std::string_view kDeleteConsent = "DELETE FROM consents WHERE user_id = $1 AND client_id = $2";

// kInsertSecret then kSelectSecret: the first writer of a name wins and every caller reads the value
// that won (see each store's EnsureSecret for why these are two statements).
constexpr std::string_view kInsertSecret =
    "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING";
constexpr std::string_view kSelectSecret = "SELECT value FROM secrets WHERE name = $1";

}  // namespace latchkey::store::sql
