#pragma once

// Configuration: a YAML file, every key overridable by an environment variable, validated at
// start-up. The key `http.max_body_bytes` is overridden by LATCHKEY_HTTP_MAX_BODY_BYTES: the
// dotted path upper-cased with '.' replaced by '_', prefixed with LATCHKEY_. Lists are YAML
// sequences in the file and comma-separated in the environment.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "http/server.hpp"
#include "identity/password.hpp"

namespace latchkey::server {

struct Config {
  std::string issuer;                     // https URL (http only for loopback hosts)
  std::string listen = "127.0.0.1:8080";  // HOST:PORT ([v6]:PORT)
  std::string data_dir = "./latchkey-data";
  // storage: "sqlite" (DATA_DIR/latchkey.db), "sqlite:PATH", or a PostgreSQL URI
  // ("postgresql://USER@HOST/DB" or "postgres://...", passed to libpq as it is).
  std::string storage = "sqlite";
  int storage_pool_size = 8;  // PostgreSQL: the most connections one process opens
  // Reverse proxies (IP addresses and CIDR ranges, IPv4 or IPv6) whose X-Forwarded-For names the
  // client; empty: the header is ignored. Validated with http::ParseIpRange.
  std::vector<std::string> trusted_proxies;
  std::string tls_cert_file;  // both set: serve HTTPS
  std::string tls_key_file;
  int network_threads = 0;  // 0: one per CPU core
  int handler_threads = 2;
  int max_in_flight = 1024;
  int64_t max_header_bytes = 8 * 1024;
  int64_t max_body_bytes = 64 * 1024;
  int64_t read_timeout_seconds = 10;
  int64_t idle_timeout_seconds = 30;
  int64_t max_requests_per_second_per_connection = 5000;
  int64_t access_token_lifetime = 3600;  // seconds
  std::string access_token_alg = "ES256";
  std::string access_token_audience;  // default: the issuer
  std::vector<std::string> allowed_algs = {"ES256", "RS256", "PS256", "EdDSA"};
  int rsa_bits = 2048;  // size of RSA signing keys generated from now on
  // Signing-key rotation (docs/operations.md): every rotation_interval seconds (0: never on its
  // own) a new key of each algorithm is published publication_lead seconds before it signs.
  int64_t key_rotation_interval = 90 * 86400;
  int64_t key_publication_lead = 86400;
  // Key-encryption keys that seal the private signing keys (LATCHKEY_KEK and
  // LATCHKEY_KEK_PREVIOUS take precedence; see server/key_vault.hpp).
  std::string key_encryption_key_file;
  std::string previous_key_encryption_key_file;
  // Argon2id for people's passwords (OWASP minimum: 19 MiB, 2 iterations, 1 lane). A stored hash
  // with weaker parameters is upgraded at the user's next successful sign-in.
  int64_t argon2_memory_kib = 19456;
  int64_t argon2_iterations = 2;
  int64_t argon2_parallelism = 1;
  // Sign-in (authorization code flow).
  int64_t id_token_lifetime = 3600;      // seconds
  std::string id_token_alg = "RS256";    // OIDC Core §15.1: RS256 is the one every RP supports
  bool id_token_include_claims = false;  // also put scope claims in ID tokens (OIDC Core §5.4)
  int64_t code_lifetime = 60;            // seconds (RFC 6749 §4.1.2: short, 10 minutes at most)
  int64_t refresh_token_idle_lifetime = 30 * 86400;
  int64_t refresh_token_absolute_lifetime = 90 * 86400;
  int64_t refresh_token_grace_period = 10;  // seconds a lost-response retry gets the same token
  bool pkce_allow_plain = false;            // RFC 9700 §2.1.1: S256 only by default
  bool pkce_required_for_all = false;       // also require PKCE from confidential clients
  int64_t session_idle_lifetime = 8 * 3600;
  int64_t session_absolute_lifetime = 24 * 3600;
  int64_t login_account_free_failures = 5;  // failures before per-account backoff starts
  int64_t login_ip_free_failures = 20;      // failures before per-address backoff starts
  int64_t login_max_lockout = 900;          // seconds, the longest backoff
  // Device authorization grant (RFC 8628).
  int64_t device_code_lifetime = 600;  // seconds (§3.2 expires_in)
  int64_t device_poll_interval = 5;    // seconds (§3.2 interval)
  int64_t device_free_failures = 5;    // wrong user codes per address before backoff (§5.1)
  // Logout (RP-Initiated Logout 1.0, Back-Channel Logout 1.0).
  bool logout_revoke_refresh_tokens = true;  // logging out revokes the session's refresh tokens
  int64_t backchannel_timeout_ms = 5000;     // per delivery attempt
  int64_t backchannel_max_attempts = 5;      // with doubling backoff from 1 s
  // Audit events: "log" (with the other log lines on stderr), "stdout", or a file path.
  std::string audit_destination = "log";
  // Introspection answers for active access tokens kept in memory (server/token_cache.hpp); 0 keeps
  // none, and every introspection then reads the store.
  int64_t introspection_cache_size = 10000;
  // Housekeeping: expired rows deleted per batch, and seconds between runs.
  int64_t housekeeping_batch = 1000;
  int64_t housekeeping_interval = 60;
  std::string ui_product_name = "Latchkey";
  std::string ui_logo_url;
  std::string ui_primary_color = "#1f5fbf";
  std::string ui_background_color = "#f4f5f7";
  std::string ui_surface_color = "#ffffff";  // the card behind the forms
  std::string ui_text_color = "#1b1f24";
  std::string log_level = "info";
  bool dev = false;
};

// ConfigError: the first problem found, naming the key (and where it came from).
struct ConfigError {
  std::string message;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// LoadConfig reads `file` (when given; its keys must all be known), then applies environment
// overrides via `env`, then validates every value. Never throws.
common::Result<Config, ConfigError> LoadConfig(const std::optional<std::string>& file, const EnvLookup& env);

// ValidateForServing checks what `serve` needs beyond LoadConfig: an issuer that is an absolute
// https URL (http allowed only for loopback hosts) without query or fragment (RFC 8414 §2).
common::Result<void, ConfigError> ValidateForServing(const Config& config);

// ParseListen splits HOST:PORT; nullopt when malformed.
std::optional<std::pair<std::string, uint16_t>> ParseListen(const std::string& listen);

// IsPostgresStorage: whether `storage` names a PostgreSQL database (a postgres:// or
// postgresql:// URI with something after the scheme).
bool IsPostgresStorage(const std::string& storage);

// DatabasePath returns the SQLite file the config points at (meaningless for PostgreSQL).
std::string DatabasePath(const Config& config);

// HttpOptions maps the config onto the HTTP server's options.
http::ServerOptions HttpOptions(const Config& config);

// PasswordParamsFor returns the configured Argon2id parameters.
identity::PasswordParams PasswordParamsFor(const Config& config);

// ProcessEnv looks names up in the process environment.
std::optional<std::string> ProcessEnv(const std::string& name);

// KnownKeys lists every configuration key (for docs and tests).
std::vector<std::string> KnownKeys();

}  // namespace latchkey::server
