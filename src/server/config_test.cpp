#include "server/config.hpp"

#include <cstdio>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "http/forwarded.hpp"

namespace latchkey::server {
namespace {

EnvLookup Env(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

std::string WriteTemp(const std::string& text) {
  std::string path = ::testing::TempDir() + "latchkey-config-" +
                     std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".yaml";
  std::ofstream(path) << text;
  return path;
}

TEST(LoadConfig, DefaultsWithoutFileOrEnvironment) {
  auto config = LoadConfig(std::nullopt, Env({}));
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->listen, "127.0.0.1:8080");
  EXPECT_EQ(config->access_token_alg, "ES256");
  EXPECT_EQ(DatabasePath(*config), "./latchkey-data/latchkey.db");
  EXPECT_FALSE(IsPostgresStorage(config->storage));
  EXPECT_EQ(config->storage_pool_size, 8);
}

TEST(LoadConfig, AcceptsAPostgresUri) {
  for (const char* uri :
       {"postgresql://latchkey@db.internal/latchkey", "postgres://db/latchkey?sslmode=require"}) {
    auto config =
        LoadConfig(std::nullopt, Env({{"LATCHKEY_STORAGE", uri}, {"LATCHKEY_STORAGE_POOL_SIZE", "16"}}));
    ASSERT_TRUE(config.has_value()) << config.error().message;
    EXPECT_EQ(config->storage, uri);
    EXPECT_TRUE(IsPostgresStorage(config->storage));
    EXPECT_EQ(config->storage_pool_size, 16);
  }
}

TEST(LoadConfig, ReadsNestedYamlAndListsAndEnvironmentOverrides) {
  std::string path = WriteTemp(
      "issuer: https://id.example\n"
      "http:\n  max_body_bytes: 4096\n"
      "tokens:\n  access_token_alg: RS256\n  access_token_lifetime: 600\n"
      "keys:\n  allowed_algs: [RS256, ES256]\n");
  auto config =
      LoadConfig(path, Env({{"LATCHKEY_HTTP_MAX_BODY_BYTES", "8192"}, {"LATCHKEY_LISTEN", "0.0.0.0:9000"}}));
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->issuer, "https://id.example");
  EXPECT_EQ(config->max_body_bytes, 8192);  // the environment wins over the file
  EXPECT_EQ(config->listen, "0.0.0.0:9000");
  EXPECT_EQ(config->access_token_alg, "RS256");
  EXPECT_EQ(config->access_token_lifetime, 600);
  EXPECT_EQ(config->allowed_algs, (std::vector<std::string>{"RS256", "ES256"}));
  std::remove(path.c_str());
}

TEST(LoadConfig, ErrorsNameTheBadKey) {
  struct Case {
    std::string yaml;
    std::map<std::string, std::string> env;
    std::string expected_in_message;
  };
  const Case kCases[] = {
      {"isuer: https://x\n", {}, "'isuer'"},
      {"http:\n  max_body_bytes: lots\n", {}, "'http.max_body_bytes'"},
      {"http:\n  max_body_bytes: 10\n", {}, "'http.max_body_bytes'"},
      {"listen: nowhere\n", {}, "'listen'"},
      {"tokens:\n  access_token_alg: HS256\n", {}, "'tokens.access_token_alg'"},
      {"tokens:\n  access_token_alg: none\n", {}, "'tokens.access_token_alg'"},
      {"keys:\n  allowed_algs: [RS256]\n", {}, "'tokens.access_token_alg'"},
      {"tls:\n  cert_file: /x.pem\n", {}, "'tls.key_file'"},
      {"", {{"LATCHKEY_HTTP_HANDLER_THREADS", "-1"}}, "LATCHKEY_HTTP_HANDLER_THREADS"},
      {"storage: mysql://x\n", {}, "'storage'"},
      {"storage: postgresql://\n", {}, "'storage'"},
      {"storage_pool_size: 0\n", {}, "'storage_pool_size'"},
      {"trusted_proxies: [proxy.internal]\n", {}, "'proxy.internal' is not an IP address or CIDR range"},
      {"trusted_proxies: [10.0.0.1/8]\n", {}, "'10.0.0.1/8' has bits set past its prefix length"},
      {"trusted_proxies: [10.0.0.0/33]\n", {}, "'10.0.0.0/33' has a bad prefix length"},
      {"trusted_proxies: [127.0.0.1, \"fe80::1%eth0\"]\n", {}, "'trusted_proxies' in"},
      {"", {{"LATCHKEY_TRUSTED_PROXIES", "127.0.0.1,localhost"}}, "'localhost' is not an IP address"},
      {"keys:\n  rsa_bits: 1024\n", {}, "'keys.rsa_bits'"},
      {"passwords:\n  argon2_memory_kib: 4096\n", {}, "'passwords.argon2_memory_kib'"},  // below OWASP
      {"passwords:\n  argon2_iterations: 1\n", {}, "'passwords.argon2_iterations'"},
      {"keys:\n  rsa_bits: 2500\n", {}, "'keys.rsa_bits'"},
      {"- a\n- b\n", {}, "mapping"},
      {"a: [\n", {}, "cannot read"},
  };
  for (const auto& c : kCases) {
    std::string path = WriteTemp(c.yaml);
    auto config = LoadConfig(path, Env(c.env));
    ASSERT_FALSE(config.has_value()) << c.yaml;
    EXPECT_NE(config.error().message.find(c.expected_in_message), std::string::npos)
        << c.yaml << " -> " << config.error().message;
    std::remove(path.c_str());
  }
}

TEST(LoadConfig, TrustedProxiesAreAddressesAndRanges) {
  auto none = LoadConfig(std::nullopt, Env({}));
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->trusted_proxies.empty());
  EXPECT_TRUE(HttpOptions(*none).trusted_proxies.empty());

  std::string path = WriteTemp("trusted_proxies: [127.0.0.1, 10.0.0.0/8, \"fd00::/8\", \"::1\"]\n");
  auto from_file = LoadConfig(path, Env({}));
  ASSERT_TRUE(from_file.has_value()) << from_file.error().message;
  EXPECT_EQ(from_file->trusted_proxies,
            (std::vector<std::string>{"127.0.0.1", "10.0.0.0/8", "fd00::/8", "::1"}));
  auto options = HttpOptions(*from_file);
  ASSERT_EQ(options.trusted_proxies.size(), 4u);
  EXPECT_EQ(options.trusted_proxies[1].prefix_length, 8);
  EXPECT_TRUE(http::IsTrusted(*http::ParseIpAddress("10.1.2.3"), options.trusted_proxies));
  EXPECT_FALSE(http::IsTrusted(*http::ParseIpAddress("11.1.2.3"), options.trusted_proxies));
  std::remove(path.c_str());

  // The environment: comma-separated; an empty value clears the list.
  auto from_env =
      LoadConfig(std::nullopt, Env({{"LATCHKEY_TRUSTED_PROXIES", " 192.0.2.10 , 2001:db8::/32 "}}));
  ASSERT_TRUE(from_env.has_value()) << from_env.error().message;
  EXPECT_EQ(from_env->trusted_proxies, (std::vector<std::string>{"192.0.2.10", "2001:db8::/32"}));
  auto cleared = LoadConfig(std::nullopt, Env({{"LATCHKEY_TRUSTED_PROXIES", ""}}));
  ASSERT_TRUE(cleared.has_value());
  EXPECT_TRUE(cleared->trusted_proxies.empty());
}

TEST(LoadConfig, MissingFileIsAnError) {
  auto config = LoadConfig(std::string("/nonexistent/latchkey.yaml"), Env({}));
  ASSERT_FALSE(config.has_value());
  EXPECT_NE(config.error().message.find("/nonexistent/latchkey.yaml"), std::string::npos);
}

// RFC 8414 §2: the issuer is an https URL with no query or fragment.
TEST(ValidateForServing, Rfc8414Section2Issuer) {
  const std::pair<const char*, bool> kCases[] = {
      {"https://id.example", true},    {"https://id.example/tenant", true},
      {"http://127.0.0.1:8080", true}, {"http://localhost:8080", true},
      {"http://[::1]:8080", true},     {"http://id.example", false},
      {"https://id.example/", false},  {"https://id.example?x=1", false},
      {"https://id.example#f", false}, {"ftp://id.example", false},
      {"id.example", false},           {"", false},
  };
  for (const auto& [issuer, ok] : kCases) {
    Config config;
    config.issuer = issuer;
    EXPECT_EQ(ValidateForServing(config).has_value(), ok) << issuer;
  }
}

// A next key is published before it signs, and signs for a while before the next one is due.
TEST(LoadConfig, KeyRotationSettings) {
  auto defaults = LoadConfig(std::nullopt, Env({}));
  ASSERT_TRUE(defaults.has_value());
  EXPECT_EQ(defaults->key_rotation_interval, 90 * 86400);
  EXPECT_EQ(defaults->key_publication_lead, 86400);
  auto set = LoadConfig(std::nullopt, Env({{"LATCHKEY_KEYS_ROTATION_INTERVAL", "6"},
                                           {"LATCHKEY_KEYS_PUBLICATION_LEAD", "3"},
                                           {"LATCHKEY_KEYS_ENCRYPTION_KEY_FILE", "/etc/latchkey/kek"}}));
  ASSERT_TRUE(set.has_value()) << set.error().message;
  EXPECT_EQ(set->key_rotation_interval, 6);
  EXPECT_EQ(set->key_publication_lead, 3);
  EXPECT_EQ(set->key_encryption_key_file, "/etc/latchkey/kek");
  EXPECT_TRUE(LoadConfig(std::nullopt, Env({{"LATCHKEY_KEYS_ROTATION_INTERVAL", "0"}})).has_value());
  auto too_short = LoadConfig(std::nullopt, Env({{"LATCHKEY_KEYS_ROTATION_INTERVAL", "3600"}}));
  ASSERT_FALSE(too_short.has_value());
  EXPECT_NE(too_short.error().message.find("keys.rotation_interval"), std::string::npos);
  EXPECT_FALSE(LoadConfig(std::nullopt, Env({{"LATCHKEY_KEYS_PUBLICATION_LEAD", "0"}})).has_value());
}

TEST(ParseListen, HostPortForms) {
  EXPECT_EQ(ParseListen("127.0.0.1:0"), std::make_pair(std::string("127.0.0.1"), uint16_t{0}));
  EXPECT_EQ(ParseListen("[::1]:8443"), std::make_pair(std::string("::1"), uint16_t{8443}));
  for (const char* bad : {"", "8080", ":80", "host:", "host:65536", "host:-1", "::1:80", "h:8x"}) {
    EXPECT_FALSE(ParseListen(bad).has_value()) << bad;
  }
}

TEST(KnownKeys, ExampleConfigMentionsEveryKey) {
  std::ifstream in("config/latchkey.example.yaml");
  ASSERT_TRUE(in.good()) << "config/latchkey.example.yaml must exist";
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& key : KnownKeys()) {
    std::string leaf = key.substr(key.rfind('.') + 1);
    EXPECT_NE(text.find(leaf + ":"), std::string::npos) << key;
  }
  // And the example itself loads.
  auto config = LoadConfig(std::string("config/latchkey.example.yaml"), Env({}));
  EXPECT_TRUE(config.has_value()) << (config ? "" : config.error().message);
}

}  // namespace
}  // namespace latchkey::server
