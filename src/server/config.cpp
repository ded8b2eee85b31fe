#include "server/config.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>
#include <string_view>
#include <thread>

#include <yaml-cpp/yaml.h>
#include <boost/url/ipv4_address.hpp>
#include <boost/url/parse.hpp>

#include "common/strings.hpp"
#include "http/forwarded.hpp"
#include "jose/jose.hpp"
#include "ui/theme.hpp"

namespace latchkey::server {
namespace {

using SetResult = std::optional<std::string>;  // an error message, or nullopt on success
using Setter = std::function<SetResult(Config&, const std::string&)>;

SetResult SetInt(int64_t& field, const std::string& value, int64_t min, int64_t max) {
  int64_t parsed = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (ec != std::errc() || ptr != value.data() + value.size() || parsed < min || parsed > max) {
    return "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
  }
  field = parsed;
  return std::nullopt;
}

Setter Int64(int64_t Config::*member, int64_t min, int64_t max) {
  return [=](Config& c, const std::string& v) { return SetInt(c.*member, v, min, max); };
}

Setter Int(int Config::*member, int64_t min, int64_t max) {
  return [=](Config& c, const std::string& v) -> SetResult {
    int64_t parsed = 0;
    if (auto err = SetInt(parsed, v, min, max)) return err;
    c.*member = static_cast<int>(parsed);
    return std::nullopt;
  };
}

Setter String(std::string Config::*member) {
  return [=](Config& c, const std::string& v) -> SetResult {
    c.*member = v;
    return std::nullopt;
  };
}

std::vector<std::string> SplitList(const std::string& v) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= v.size()) {
    size_t comma = v.find(',', start);
    if (comma == std::string::npos) comma = v.size();
    auto item = common::Trim(std::string_view(v).substr(start, comma - start));
    if (!item.empty()) out.emplace_back(item);
    start = comma + 1;
  }
  return out;
}

Setter Bool(bool Config::*member) {
  return [=](Config& c, const std::string& v) -> SetResult {
    if (v == "true" || v == "yes" || v == "on" || v == "1") {
      c.*member = true;
    } else if (v == "false" || v == "no" || v == "off" || v == "0") {
      c.*member = false;
    } else {
      return "must be true or false";
    }
    return std::nullopt;
  };
}

Setter Color(std::string Config::*member) {
  return [=](Config& c, const std::string& v) -> SetResult {
    if (!ui::IsValidColor(v)) return "must be a hex colour: #rgb, #rrggbb or #rrggbbaa";
    c.*member = v;
    return std::nullopt;
  };
}

SetResult CheckAlg(const std::string& alg) {
  if (!jose::ParseAlg(alg)) return "unknown algorithm '" + alg + "' (supported: ES256, RS256, PS256, EdDSA)";
  return std::nullopt;
}

// CheckTrustedProxy explains why `entry` is not an IP address or CIDR range.
SetResult CheckTrustedProxy(const std::string& entry) {
  auto range = http::ParseIpRange(entry);
  if (range) return std::nullopt;
  const std::string quoted = "'" + entry + "' ";
  switch (range.error()) {
    case http::IpRangeError::kBadPrefix:
      return quoted + "has a bad prefix length (IPv4: /0 to /32, IPv6: /0 to /128)";
    case http::IpRangeError::kHostBitsSet:
      return quoted + "has bits set past its prefix length: write the first address of the range " +
             "(10.0.0.0/8, not 10.0.0.1/8), or one address without a prefix";
    default: return quoted + "is not an IP address or CIDR range (host names are not accepted)";
  }
}

const std::map<std::string, Setter>& Fields() {
  static const std::map<std::string, Setter> kFields = {
      {"issuer", String(&Config::issuer)},
      {"listen",
       [](Config& c, const std::string& v) -> SetResult {
         if (!ParseListen(v)) return "must be HOST:PORT";
         c.listen = v;
         return std::nullopt;
       }},
      {"data_dir", String(&Config::data_dir)},
      {"storage",
       [](Config& c, const std::string& v) -> SetResult {
         if (v != "sqlite" && (v.rfind("sqlite:", 0) != 0 || v.size() == 7) && !IsPostgresStorage(v)) {
           return "must be 'sqlite', 'sqlite:PATH' or a postgresql:// URI";
         }
         c.storage = v;
         return std::nullopt;
       }},
      {"storage_pool_size", Int(&Config::storage_pool_size, 1, 1000)},
      {"trusted_proxies",
       [](Config& c, const std::string& v) -> SetResult {
         auto entries = SplitList(v);
         for (const auto& entry : entries) {
           if (auto err = CheckTrustedProxy(entry)) return err;
         }
         c.trusted_proxies = entries;
         return std::nullopt;
       }},
      {"tls.cert_file", String(&Config::tls_cert_file)},
      {"tls.key_file", String(&Config::tls_key_file)},
      {"http.network_threads", Int(&Config::network_threads, 0, 64)},
      {"http.handler_threads", Int(&Config::handler_threads, 1, 256)},
      {"http.max_in_flight", Int(&Config::max_in_flight, 1, 1'000'000)},
      {"http.max_header_bytes", Int64(&Config::max_header_bytes, 1024, 1 << 20)},
      {"http.max_body_bytes", Int64(&Config::max_body_bytes, 1024, 16 << 20)},
      {"http.read_timeout_seconds", Int64(&Config::read_timeout_seconds, 1, 3600)},
      {"http.idle_timeout_seconds", Int64(&Config::idle_timeout_seconds, 1, 3600)},
      {"http.max_requests_per_second_per_connection",
       Int64(&Config::max_requests_per_second_per_connection, 1, 10'000'000)},
      {"tokens.access_token_lifetime", Int64(&Config::access_token_lifetime, 1, 86400)},
      {"tokens.access_token_alg",
       [](Config& c, const std::string& v) -> SetResult {
         if (auto err = CheckAlg(v)) return err;
         c.access_token_alg = v;
         return std::nullopt;
       }},
      {"tokens.access_token_audience", String(&Config::access_token_audience)},
      {"keys.allowed_algs",
       [](Config& c, const std::string& v) -> SetResult {
         auto algs = SplitList(v);
         if (algs.empty()) return "must list at least one algorithm";
         for (const auto& a : algs) {
           if (auto err = CheckAlg(a)) return err;
         }
         c.allowed_algs = algs;
         return std::nullopt;
       }},
      {"keys.rsa_bits",
       [](Config& c, const std::string& v) -> SetResult {
         int64_t bits = 0;
         if (SetInt(bits, v, 2048, 8192) || bits % 1024 != 0)
           return "must be 2048, 3072, 4096, ... up to 8192";
         c.rsa_bits = static_cast<int>(bits);
         return std::nullopt;
       }},
      {"keys.rotation_interval", Int64(&Config::key_rotation_interval, 0, 3650LL * 86400)},
      {"keys.publication_lead", Int64(&Config::key_publication_lead, 1, 365LL * 86400)},
      {"keys.encryption_key_file", String(&Config::key_encryption_key_file)},
      {"keys.previous_encryption_key_file", String(&Config::previous_key_encryption_key_file)},
      {"passwords.argon2_memory_kib", Int64(&Config::argon2_memory_kib, 19456, 4 * 1024 * 1024)},
      {"passwords.argon2_iterations", Int64(&Config::argon2_iterations, 2, 100)},
      {"passwords.argon2_parallelism", Int64(&Config::argon2_parallelism, 1, 64)},
      {"tokens.id_token_lifetime", Int64(&Config::id_token_lifetime, 60, 86400)},
      {"tokens.id_token_alg",
       [](Config& c, const std::string& v) -> SetResult {
         if (auto err = CheckAlg(v)) return err;
         c.id_token_alg = v;
         return std::nullopt;
       }},
      {"tokens.id_token_include_claims", Bool(&Config::id_token_include_claims)},
      {"tokens.code_lifetime", Int64(&Config::code_lifetime, 5, 600)},
      {"tokens.refresh_token_idle_lifetime", Int64(&Config::refresh_token_idle_lifetime, 60, 3650LL * 86400)},
      {"tokens.refresh_token_absolute_lifetime",
       Int64(&Config::refresh_token_absolute_lifetime, 60, 3650LL * 86400)},
      {"tokens.refresh_token_grace_period", Int64(&Config::refresh_token_grace_period, 0, 300)},
      {"pkce.allow_plain", Bool(&Config::pkce_allow_plain)},
      {"pkce.required_for_all", Bool(&Config::pkce_required_for_all)},
      {"sessions.idle_lifetime", Int64(&Config::session_idle_lifetime, 60, 365LL * 86400)},
      {"sessions.absolute_lifetime", Int64(&Config::session_absolute_lifetime, 60, 365LL * 86400)},
      {"login.account_free_failures", Int64(&Config::login_account_free_failures, 1, 1000)},
      {"login.ip_free_failures", Int64(&Config::login_ip_free_failures, 1, 100000)},
      {"login.max_lockout", Int64(&Config::login_max_lockout, 1, 86400)},
      {"device.code_lifetime", Int64(&Config::device_code_lifetime, 5, 3600)},
      {"device.poll_interval", Int64(&Config::device_poll_interval, 1, 60)},
      {"device.free_failures", Int64(&Config::device_free_failures, 1, 1000)},
      {"logout.revoke_refresh_tokens", Bool(&Config::logout_revoke_refresh_tokens)},
      {"logout.backchannel_timeout_ms", Int64(&Config::backchannel_timeout_ms, 100, 60000)},
      {"logout.backchannel_max_attempts", Int64(&Config::backchannel_max_attempts, 1, 20)},
      {"audit.destination", String(&Config::audit_destination)},
      {"introspection.cache_size", Int64(&Config::introspection_cache_size, 0, 10000000)},
      {"housekeeping.batch", Int64(&Config::housekeeping_batch, 10, 1000000)},
      {"housekeeping.interval", Int64(&Config::housekeeping_interval, 1, 86400)},
      {"ui.product_name", String(&Config::ui_product_name)},
      {"ui.logo_url",
       [](Config& c, const std::string& v) -> SetResult {
         if (!v.empty()) {
           auto url = boost::urls::parse_absolute_uri(v);
           if (!url || (url->scheme() != "https" && url->scheme() != "http")) return "must be an http(s) URL";
         }
         c.ui_logo_url = v;
         return std::nullopt;
       }},
      {"ui.primary_color", Color(&Config::ui_primary_color)},
      {"ui.background_color", Color(&Config::ui_background_color)},
      {"ui.surface_color", Color(&Config::ui_surface_color)},
      {"ui.text_color", Color(&Config::ui_text_color)},
      {"log_level",
       [](Config& c, const std::string& v) -> SetResult {
         if (v != "debug" && v != "info" && v != "warn" && v != "error")
           return "must be debug, info, warn or error";
         c.log_level = v;
         return std::nullopt;
       }},
  };
  return kFields;
}

std::string EnvName(const std::string& key) {
  std::string name = "LATCHKEY_";
  for (char c : key)
    name.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return name;
}

// Flatten walks a YAML mapping into dotted keys; scalars as text, sequences joined by commas.
std::optional<std::string> Flatten(const YAML::Node& node, const std::string& prefix,
                                   std::map<std::string, std::string>& out) {
  for (const auto& item : node) {
    std::string key = prefix + item.first.as<std::string>();
    const YAML::Node& value = item.second;
    if (value.IsMap()) {
      if (auto err = Flatten(value, key + ".", out)) return err;
    } else if (value.IsSequence()) {
      std::string joined;
      for (const auto& element : value) {
        if (!element.IsScalar()) return "config: '" + key + "' must be a list of values";
        if (!joined.empty()) joined.push_back(',');
        joined += element.as<std::string>();
      }
      out[key] = joined;
    } else if (value.IsScalar()) {
      out[key] = value.as<std::string>();
    } else if (value.IsNull()) {
      out[key] = "";
    }
  }
  return std::nullopt;
}

// IsLoopbackHost: "localhost", [::1], or an IPv4 literal in 127.0.0.0/8 (not a name that merely
// starts with "127.", which could resolve anywhere).
bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "[::1]") return true;
  auto v4 = boost::urls::parse_ipv4_address(host);
  return v4.has_value() && v4->is_loopback();
}

}  // namespace

std::optional<std::pair<std::string, uint16_t>> ParseListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  std::string host = listen.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) return std::nullopt;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return std::nullopt;
  }
  std::string port_text = listen.substr(colon + 1);
  int port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port < 0 || port > 65535 ||
      port_text.empty()) {
    return std::nullopt;
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

common::Result<Config, ConfigError> LoadConfig(const std::optional<std::string>& file, const EnvLookup& env) {
  Config config;
  std::map<std::string, std::string> values;
  if (file) {
    try {
      YAML::Node root = YAML::LoadFile(*file);
      if (!root.IsNull()) {
        if (!root.IsMap()) return ConfigError{"config: " + *file + " must hold a mapping of keys"};
        if (auto err = Flatten(root, "", values)) return ConfigError{*err};
      }
    } catch (const YAML::Exception& e) {
      return ConfigError{"config: cannot read " + *file + ": " + e.what()};
    }
  }
  const auto& fields = Fields();
  for (const auto& [key, value] : values) {
    auto it = fields.find(key);
    if (it == fields.end()) return ConfigError{"config: unknown key '" + key + "' in " + *file};
    if (auto err = it->second(config, value)) {
      return ConfigError{"config: invalid value for '" + key + "' in " + *file + ": " + *err};
    }
  }
  for (const auto& [key, setter] : fields) {
    std::string name = EnvName(key);
    if (auto value = env(name)) {
      if (auto err = setter(config, *value)) {
        return ConfigError{"config: invalid value for '" + key + "' from " + name + ": " + *err};
      }
    }
  }
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return ConfigError{"config: 'tls.cert_file' and 'tls.key_file' must be set together"};
  }
  if (std::find(config.allowed_algs.begin(), config.allowed_algs.end(), config.access_token_alg) ==
      config.allowed_algs.end()) {
    return ConfigError{"config: 'tokens.access_token_alg' (" + config.access_token_alg +
                       ") is not in 'keys.allowed_algs'"};
  }
  if (std::find(config.allowed_algs.begin(), config.allowed_algs.end(), config.id_token_alg) ==
      config.allowed_algs.end()) {
    return ConfigError{"config: 'tokens.id_token_alg' (" + config.id_token_alg +
                       ") is not in 'keys.allowed_algs'"};
  }
  if (config.session_idle_lifetime > config.session_absolute_lifetime) {
    return ConfigError{"config: 'sessions.idle_lifetime' must not exceed 'sessions.absolute_lifetime'"};
  }
  // A key must be published before it signs and sign for a while before the next one is due.
  if (config.key_rotation_interval != 0 && config.key_rotation_interval <= config.key_publication_lead) {
    return ConfigError{"config: 'keys.rotation_interval' must be 0 or longer than 'keys.publication_lead'"};
  }
  if (config.refresh_token_idle_lifetime > config.refresh_token_absolute_lifetime) {
    return ConfigError{
        "config: 'tokens.refresh_token_idle_lifetime' must not exceed "
        "'tokens.refresh_token_absolute_lifetime'"};
  }
  return config;
}

common::Result<void, ConfigError> ValidateForServing(const Config& config) {
  if (config.issuer.empty()) return ConfigError{"config: 'issuer' is required (or run with --dev)"};
  auto url = boost::urls::parse_absolute_uri(config.issuer);
  if (!url) return ConfigError{"config: 'issuer' must be an absolute URL"};
  // RFC 8414 §2: "a URL that uses the "https" scheme and has no query or fragment components".
  if (url->has_query() || url->has_fragment() || url->has_userinfo()) {
    return ConfigError{"config: 'issuer' must not have a query, fragment or user info"};
  }
  if (!config.issuer.empty() && config.issuer.back() == '/') {
    return ConfigError{"config: 'issuer' must not end with '/'"};
  }
  std::string scheme(url->scheme());
  if (scheme == "http") {
    if (!IsLoopbackHost(std::string_view(url->encoded_host()))) {
      return ConfigError{"config: 'issuer' must use https (http is allowed only for loopback hosts)"};
    }
  } else if (scheme != "https") {
    return ConfigError{"config: 'issuer' must use https"};
  }
  return {};
}

bool IsPostgresStorage(const std::string& storage) {
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (storage.size() > scheme.size() && storage.compare(0, scheme.size(), scheme) == 0) return true;
  }
  return false;
}

std::string DatabasePath(const Config& config) {
  if (config.storage.rfind("sqlite:", 0) == 0) return config.storage.substr(7);
  return config.data_dir + "/latchkey.db";
}

http::ServerOptions HttpOptions(const Config& config) {
  http::ServerOptions o;
  if (auto hp = ParseListen(config.listen)) {
    o.host = hp->first;
    o.port = hp->second;
  }
  o.network_threads = config.network_threads > 0
                          ? config.network_threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  o.handler_threads = config.handler_threads;
  o.max_in_flight = config.max_in_flight;
  o.max_header_bytes = static_cast<size_t>(config.max_header_bytes);
  o.max_body_bytes = static_cast<size_t>(config.max_body_bytes);
  o.read_timeout = std::chrono::seconds(config.read_timeout_seconds);
  o.idle_timeout = std::chrono::seconds(config.idle_timeout_seconds);
  o.max_requests_per_second_per_connection = static_cast<int>(config.max_requests_per_second_per_connection);
  if (!config.tls_cert_file.empty()) o.tls = http::TlsOptions{config.tls_cert_file, config.tls_key_file};
  for (const auto& entry : config.trusted_proxies) {
    // Validated by LoadConfig; an entry that still does not parse trusts nothing.
    if (auto range = http::ParseIpRange(entry)) o.trusted_proxies.push_back(*range);
  }
  return o;
}

identity::PasswordParams PasswordParamsFor(const Config& config) {
  identity::PasswordParams params;
  params.memory_kib = static_cast<uint32_t>(config.argon2_memory_kib);
  params.iterations = static_cast<uint32_t>(config.argon2_iterations);
  params.parallelism = static_cast<uint32_t>(config.argon2_parallelism);
  return params;
}

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::vector<std::string> KnownKeys() {
  std::vector<std::string> keys;
  for (const auto& [key, setter] : Fields()) keys.push_back(key);
  return keys;
}

}  // namespace latchkey::server
