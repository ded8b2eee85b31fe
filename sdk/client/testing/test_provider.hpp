#pragma once

// TestProvider: a FakeTransport dressed as an OpenID provider at https://op.test: a discovery
// document, a JWKS of freshly generated keys, and helpers that sign ID tokens with them.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "crypto/key.hpp"
#include "fake_transport.hpp"
#include "jose/jose.hpp"

namespace latchkey::client::testing {

inline constexpr const char* kIssuer = "https://op.test";
inline constexpr int64_t kNow = 1'700'000'000;

class TestProvider {
 public:
  TestProvider() {
    rsa_ = MakeKey(crypto::KeyType::kRsa, "rsa-1", jose::Alg::kRS256);
    ec_ = MakeKey(crypto::KeyType::kEcP256, "ec-1", jose::Alg::kES256);
    metadata_ = {{"issuer", kIssuer},
                 {"authorization_endpoint", "https://op.test/authorize"},
                 {"token_endpoint", "https://op.test/token"},
                 {"userinfo_endpoint", "https://op.test/userinfo"},
                 {"jwks_uri", "https://op.test/jwks"},
                 {"revocation_endpoint", "https://op.test/revoke"},
                 {"introspection_endpoint", "https://op.test/introspect"},
                 {"authorization_response_iss_parameter_supported", true}};
    PublishMetadata();
    PublishKeys({rsa_, ec_});
  }

  static jose::SigningKey MakeKey(crypto::KeyType type, std::string kid, jose::Alg alg) {
    auto key = crypto::GenerateKey(type);
    return jose::SigningKey{std::move(kid), alg, std::move(*key)};
  }

  void PublishMetadata() {
    transport.Json("GET", "https://op.test/.well-known/openid-configuration", 200,
                   boost::json::serialize(metadata_));
  }

  void PublishKeys(const std::vector<jose::SigningKey>& keys) {
    jose::Jwks jwks;
    for (const auto& k : keys) jwks.keys.push_back(jose::Jwk{k.kid, k.alg, "sig", *k.key.PublicOnly()});
    transport.Json("GET", "https://op.test/jwks", 200, jose::SerializeJwks(jwks));
  }

  // Claims returns the claims of a good ID token for client "web" issued at kNow.
  static boost::json::object Claims() {
    return {{"iss", kIssuer}, {"sub", "alice"},         {"aud", "web"},     {"exp", kNow + 300},
            {"iat", kNow},    {"auth_time", kNow - 10}, {"nonce", "n-0S6"}, {"azp", "web"}};
  }

  static std::string Sign(const jose::SigningKey& key, const boost::json::object& claims,
                          std::string typ = "JWT") {
    return *jose::SignJws(key, typ, boost::json::serialize(claims));
  }

  FakeTransport transport;
  FakeClock clock{kNow};
  jose::SigningKey rsa_;
  jose::SigningKey ec_;
  boost::json::object metadata_;
};

}  // namespace latchkey::client::testing
