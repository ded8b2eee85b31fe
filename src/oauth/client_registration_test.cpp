#include "oauth/client_registration.hpp"

#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "oauth/client_auth.hpp"

namespace latchkey::oauth {
namespace {

store::ClientRecord Valid() {
  store::ClientRecord c;
  c.client_id = "svc-1.a_b~";
  c.secret_hash = HashClientSecret("s");
  c.grant_types = {"client_credentials"};
  c.scopes = {"api", "read:all"};
  c.redirect_uris = {"https://app.example/cb"};
  return c;
}

TEST(ValidateClient, AcceptsAValidConfidentialClient) { EXPECT_TRUE(ValidateClient(Valid()).has_value()); }

TEST(ValidateClient, AcceptsPublicCodeFlowClients) {
  store::ClientRecord spa = Valid();
  spa.secret_hash.clear();
  spa.token_endpoint_auth_method = "none";
  spa.grant_types = {"authorization_code", "refresh_token"};
  spa.redirect_uris = {"https://spa.example/cb", "http://127.0.0.1/cb", "com.example.app:/cb"};
  EXPECT_TRUE(ValidateClient(spa).has_value());
}

TEST(ValidateClient, AcceptsEverySupportedIdTokenAlgAndEmpty) {
  for (const char* alg : {"", "RS256", "PS256", "ES256", "EdDSA"}) {
    store::ClientRecord c = Valid();
    c.id_token_signed_response_alg = alg;
    EXPECT_TRUE(ValidateClient(c).has_value()) << alg;
  }
}

TEST(ValidateClient, UnsupportedIdTokenAlgNamesTheField) {
  store::ClientRecord c = Valid();
  c.id_token_signed_response_alg = "HS256";
  auto got = ValidateClient(c);
  ASSERT_FALSE(got.has_value());
  EXPECT_NE(got.error().description.find("id_token_signed_response_alg"), std::string::npos)
      << got.error().description;
}

TEST(ValidateClient, RejectedTable) {
  struct Case {
    const char* name;
    std::function<void(store::ClientRecord&)> mutate;
  };
  const Case kRejected[] = {
      {"empty id", [](auto& c) { c.client_id = ""; }},
      {"id with space", [](auto& c) { c.client_id = "a b"; }},
      {"id with colon", [](auto& c) { c.client_id = "a:b"; }},
      {"id too long", [](auto& c) { c.client_id = std::string(129, 'a'); }},
      {"unknown auth method", [](auto& c) { c.token_endpoint_auth_method = "private_key_jwt"; }},
      {"none with a secret", [](auto& c) { c.token_endpoint_auth_method = "none"; }},
      {"no grant types", [](auto& c) { c.grant_types.clear(); }},
      {"unimplemented grant", [](auto& c) { c.grant_types = {"password"}; }},
      {"public client_credentials (RFC 6749 4.4)",
       [](auto& c) {
         c.secret_hash.clear();
         c.token_endpoint_auth_method = "none";
       }},
      {"redirect with fragment (RFC 6749 3.1.2)",
       [](auto& c) { c.redirect_uris = {"https://a.example/cb#x"}; }},
      {"relative redirect", [](auto& c) { c.redirect_uris = {"/cb"}; }},
      {"plain http redirect (RFC 9700 2.1)", [](auto& c) { c.redirect_uris = {"http://app.example/cb"}; }},
      {"loopback redirect for a confidential client (RFC 8252 7.3)",
       [](auto& c) { c.redirect_uris = {"http://127.0.0.1/cb"}; }},
      {"bad scope", [](auto& c) { c.scopes = {"a b"}; }},
      {"authorization_code without redirect URIs (OAuth 2.1 2.3.1)",
       [](auto& c) {
         c.grant_types = {"authorization_code"};
         c.redirect_uris.clear();
       }},
      {"refresh_token without authorization_code", [](auto& c) { c.grant_types = {"refresh_token"}; }},
      {"bad alg", [](auto& c) { c.access_token_alg = "HS256"; }},
      {"none alg", [](auto& c) { c.access_token_alg = "none"; }},
      {"HMAC ID token alg", [](auto& c) { c.id_token_signed_response_alg = "HS256"; }},
      {"none ID token alg (unsigned)", [](auto& c) { c.id_token_signed_response_alg = "none"; }},
      {"ID token alg in the wrong case", [](auto& c) { c.id_token_signed_response_alg = "es256"; }},
      {"unsupported ID token alg", [](auto& c) { c.id_token_signed_response_alg = "RS512"; }},
      {"negative lifetime", [](auto& c) { c.access_token_lifetime = -1; }},
  };
  for (const auto& c : kRejected) {
    store::ClientRecord client = Valid();
    c.mutate(client);
    auto got = ValidateClient(client);
    ASSERT_FALSE(got.has_value()) << c.name;
    EXPECT_EQ(got.error().code, ErrorCode::kInvalidRequest) << c.name;
  }
}

}  // namespace
}  // namespace latchkey::oauth
