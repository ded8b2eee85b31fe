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
  for (const char* absent :
       {"authorization_endpoint", "userinfo_endpoint", "end_session_endpoint",
        "device_authorization_endpoint", "registration_endpoint", "code_challenge_methods_supported"}) {
    EXPECT_FALSE(m.contains(absent)) << absent;
  }
}

// OIDC Discovery §3 REQUIRED members of an OpenID Provider with the code flow, RFC 9207 §3 and
// RFC 7636 §6.2 (code_challenge_methods_supported).
TEST(BuildMetadata, OidcDiscoverySection3CodeFlowMembers) {
  DiscoveryInput input = Input();
  input.grant_types = {"authorization_code", "refresh_token", "client_credentials"};
  input.id_token_signing_algs = {"RS256", "ES256"};
  input.code_challenge_methods = {"S256"};
  auto m = BuildMetadata(input);
  EXPECT_EQ(m.at("authorization_endpoint").as_string(), "https://id.example/authorize");
  EXPECT_EQ(m.at("userinfo_endpoint").as_string(), "https://id.example/userinfo");
  ASSERT_EQ(m.at("response_types_supported").as_array().size(), 1u);
  EXPECT_EQ(m.at("response_types_supported").as_array()[0].as_string(), "code");
  EXPECT_EQ(m.at("subject_types_supported").as_array()[0].as_string(), "public");
  EXPECT_EQ(m.at("id_token_signing_alg_values_supported").as_array().size(), 2u);
  EXPECT_EQ(m.at("code_challenge_methods_supported").as_array()[0].as_string(), "S256");
  EXPECT_TRUE(m.at("authorization_response_iss_parameter_supported").as_bool());
  EXPECT_FALSE(m.at("request_parameter_supported").as_bool());
  EXPECT_FALSE(m.at("request_uri_parameter_supported").as_bool());
  for (const char* absent :
       {"end_session_endpoint", "device_authorization_endpoint", "registration_endpoint"}) {
    EXPECT_FALSE(m.contains(absent)) << absent;
  }
}

// RFC 8414 §2 (introspection and revocation endpoints), RFC 8628 §4 (device authorization
// endpoint, only when the grant is offered), RP-Initiated Logout §2.1 and Back-Channel Logout §2.1.
TEST(BuildMetadata, TokenLifecycleAndLogoutEndpoints) {
  DiscoveryInput input = Input();
  auto m = BuildMetadata(input);
  EXPECT_EQ(m.at("introspection_endpoint").as_string(), input.issuer + "/introspect");
  EXPECT_EQ(m.at("revocation_endpoint").as_string(), input.issuer + "/revoke");
  EXPECT_TRUE(m.contains("introspection_endpoint_auth_methods_supported"));
  EXPECT_FALSE(m.contains("device_authorization_endpoint"));
  EXPECT_FALSE(m.contains("end_session_endpoint"));
  EXPECT_FALSE(m.contains("backchannel_logout_supported"));

  input.grant_types.push_back("urn:ietf:params:oauth:grant-type:device_code");
  input.id_token_signing_algs = {"RS256"};
  input.logout = true;
  m = BuildMetadata(input);
  EXPECT_EQ(m.at("device_authorization_endpoint").as_string(), input.issuer + "/device_authorization");
  EXPECT_EQ(m.at("end_session_endpoint").as_string(), input.issuer + "/logout");
  EXPECT_EQ(m.at("backchannel_logout_supported"), true);
  EXPECT_EQ(m.at("backchannel_logout_session_supported"), true);
}

}  // namespace
}  // namespace latchkey::oidc
