#include "oidc/discovery.hpp"

#include <gtest/gtest.h>

namespace latchkey::oidc {
namespace {

DiscoveryInput Input() {
  return {"https://id.example",
          {"client_credentials"},
          {"client_secret_basic", "client_secret_post"},
          {"ES256", "RS256"},
          {}};
}

// RFC 8414 §2 / OIDC Discovery §3: issuer, token_endpoint, jwks_uri, response_types_supported.
TEST(BuildMetadata, Rfc8414Section2MembersDerivedFromIssuer) {
  auto m = BuildMetadata(Input());
  EXPECT_EQ(m.at("issuer").as_string(), "https://id.example");
  EXPECT_EQ(m.at("token_endpoint").as_string(), "https://id.example/token");
  EXPECT_EQ(m.at("jwks_uri").as_string(), "https://id.example/jwks");
  EXPECT_EQ(m.at("grant_types_supported").as_array().size(), 1u);
  EXPECT_EQ(m.at("grant_types_supported").as_array()[0].as_string(), "client_credentials");
  EXPECT_TRUE(m.at("response_types_supported").as_array().empty());
  EXPECT_FALSE(m.contains("scopes_supported"));
}

// Truthfulness: nothing that is not implemented may be advertised.
TEST(BuildMetadata, AdvertisesNoUnimplementedEndpoint) {
  auto m = BuildMetadata(Input());
  for (const char* absent : {"authorization_endpoint", "userinfo_endpoint", "introspection_endpoint",
                             "revocation_endpoint", "end_session_endpoint", "device_authorization_endpoint",
                             "registration_endpoint", "code_challenge_methods_supported"}) {
    EXPECT_FALSE(m.contains(absent)) << absent;
  }
}

}  // namespace
}  // namespace latchkey::oidc
