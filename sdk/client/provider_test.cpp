#include "latchkey/client/provider.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "testing/test_provider.hpp"

namespace latchkey::client {
namespace {

using testing::kIssuer;
using testing::kNow;
using testing::TestProvider;

const std::string kDiscovery = "https://op.test/.well-known/openid-configuration";

TEST(ProviderMetadataTest, ParsesTheMembersTheSdkUses) {
  TestProvider op;
  auto m = ParseProviderMetadata(boost::json::serialize(op.metadata_), kIssuer);
  ASSERT_TRUE(m) << m.error();
  EXPECT_EQ(m->token_endpoint, "https://op.test/token");
  EXPECT_EQ(m->jwks_uri, "https://op.test/jwks");
  EXPECT_TRUE(m->authorization_response_iss_parameter_supported);
  EXPECT_EQ(m->device_authorization_endpoint, "");
}

// OIDC Discovery §4.3 / RFC 8414 §3.3: the issuer must be exactly the configured one.
TEST(ProviderMetadataTest, IssuerMustEqualTheConfiguredIssuerExactly) {
  TestProvider op;
  const std::string doc = boost::json::serialize(op.metadata_);
  EXPECT_EQ(ParseProviderMetadata(doc, "https://op.test/").error().code, ErrorCode::kDiscovery);
  EXPECT_EQ(ParseProviderMetadata(doc, "https://evil.test").error().code, ErrorCode::kDiscovery);
}

TEST(ProviderMetadataTest, EndpointsMustBeHttpsExceptOnLoopback) {
  TestProvider op;
  op.metadata_["token_endpoint"] = "http://op.test/token";
  EXPECT_EQ(ParseProviderMetadata(boost::json::serialize(op.metadata_), kIssuer).error().code,
            ErrorCode::kDiscovery);
  op.metadata_["issuer"] = "http://127.0.0.1:8080";
  op.metadata_["token_endpoint"] = "http://127.0.0.1:8080/token";
  op.metadata_["authorization_endpoint"] = "http://127.0.0.1:8080/authorize";
  op.metadata_["userinfo_endpoint"] = "http://127.0.0.1:8080/userinfo";
  op.metadata_["jwks_uri"] = "http://127.0.0.1:8080/jwks";
  op.metadata_["revocation_endpoint"] = "http://127.0.0.1:8080/revoke";
  op.metadata_["introspection_endpoint"] = "http://127.0.0.1:8080/introspect";
  EXPECT_TRUE(ParseProviderMetadata(boost::json::serialize(op.metadata_), "http://127.0.0.1:8080"));
}

TEST(ProviderMetadataTest, MalformedDocumentsAreDiscoveryErrors) {
  for (std::string_view doc : {"", "[]", "{\"issuer\":1}", "{\"issuer\":\"https://op.test\"}", "not json"}) {
    auto m = ParseProviderMetadata(doc, kIssuer);
    ASSERT_FALSE(m) << doc;
    EXPECT_EQ(m.error().code, ErrorCode::kDiscovery) << doc;
  }
}

// OIDC Discovery §4.1: a trailing slash is removed before the well-known suffix.
TEST(ProviderMetadataTest, DiscoveryUrlDropsATrailingSlash) {
  EXPECT_EQ(DiscoveryUrl("https://op.test/"), kDiscovery);
  EXPECT_EQ(DiscoveryUrl("https://op.test/tenant"),
            "https://op.test/tenant/.well-known/openid-configuration");
}

TEST(ProviderTest, CachesTheDocumentForItsTtl) {
  TestProvider op;
  Provider provider({.issuer = kIssuer, .metadata_ttl_seconds = 100}, op.transport, op.clock);
  ASSERT_TRUE(provider.Metadata());
  ASSERT_TRUE(provider.Metadata());
  EXPECT_EQ(op.transport.Count("GET", kDiscovery), 1);
  op.clock.Advance(100);
  ASSERT_TRUE(provider.Metadata());
  EXPECT_EQ(op.transport.Count("GET", kDiscovery), 2);
}

TEST(ProviderTest, ServesAStaleDocumentWhileTheProviderIsDownButNotForever) {
  TestProvider op;
  Provider provider({.issuer = kIssuer, .metadata_ttl_seconds = 100}, op.transport, op.clock);
  ASSERT_TRUE(provider.Metadata());
  op.transport.Fail("GET", kDiscovery);
  op.clock.Advance(150);
  EXPECT_TRUE(provider.Metadata());
  op.clock.Advance(100);
  auto m = provider.Metadata();
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, ErrorCode::kTransport);
}

TEST(ProviderTest, WrongIssuerInTheDocumentIsRefused) {
  TestProvider op;
  op.metadata_["issuer"] = "https://other.test";
  op.PublishMetadata();
  Provider provider({.issuer = kIssuer}, op.transport, op.clock);
  EXPECT_EQ(provider.Metadata().error().code, ErrorCode::kDiscovery);
}

TEST(ProviderTest, VerifiesRs256AndEs256WithTheJwks) {
  TestProvider op;
  Provider provider({.issuer = kIssuer}, op.transport, op.clock);
  for (const auto* key : {&op.rsa_, &op.ec_}) {
    auto v = provider.Verify(TestProvider::Sign(*key, TestProvider::Claims()));
    ASSERT_TRUE(v) << v.error();
    EXPECT_EQ(v->kid, key->kid);
    EXPECT_EQ(v->typ, "JWT");
    EXPECT_NE(v->payload.find("\"sub\":\"alice\""), std::string::npos);
  }
  EXPECT_EQ(op.transport.Count("GET", "https://op.test/jwks"), 1);
}

TEST(ProviderTest, AnAlgOutsideTheAllowListIsRefused) {
  TestProvider op;
  Provider provider({.issuer = kIssuer}, op.transport, op.clock);
  const std::vector<std::string> rs256_only = {"RS256"};
  auto v = provider.Verify(TestProvider::Sign(op.ec_, TestProvider::Claims()), rs256_only);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().token_problem, TokenProblem::kAlgNotAllowed);
}

// RFC 8725 §3.1: "none" is never accepted, even when a caller lists it.
TEST(ProviderTest, AlgNoneIsRefusedEvenWhenListed) {
  TestProvider op;
  Provider provider({.issuer = kIssuer}, op.transport, op.clock);
  const std::vector<std::string> algs = {"none", "HS256", "RS256"};
  // {"alg":"none"}.{"sub":"alice"}.
  auto v = provider.Verify("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.", algs);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, ErrorCode::kInvalidToken);
  EXPECT_EQ(v.error().token_problem, TokenProblem::kAlgNotAllowed);
}

TEST(ProviderTest, ATamperedSignatureIsRefused) {
  TestProvider op;
  Provider provider({.issuer = kIssuer}, op.transport, op.clock);
  std::string token = TestProvider::Sign(op.ec_, TestProvider::Claims());
  token[token.size() - 5] = token[token.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(provider.Verify(token).error().token_problem, TokenProblem::kBadSignature);
  EXPECT_EQ(provider.Verify("a.b").error().token_problem, TokenProblem::kMalformed);
}

// OIDC Core §10.1.1: an unknown kid makes the provider fetch the JWKS again (key rotation), at
// most once per re-fetch interval.
TEST(ProviderTest, UnknownKidRefetchesTheJwksOnceThenRateLimits) {
  TestProvider op;
  Provider provider({.issuer = kIssuer, .jwks_refetch_interval_seconds = 30}, op.transport, op.clock);
  ASSERT_TRUE(provider.Verify(TestProvider::Sign(op.ec_, TestProvider::Claims())));
  ASSERT_EQ(op.transport.Count("GET", "https://op.test/jwks"), 1);

  // The provider rotates to a new key.
  auto rotated = TestProvider::MakeKey(crypto::KeyType::kEcP256, "ec-2", jose::Alg::kES256);
  op.PublishKeys({op.ec_, rotated});
  op.clock.Advance(31);
  ASSERT_TRUE(provider.Verify(TestProvider::Sign(rotated, TestProvider::Claims())));
  EXPECT_EQ(op.transport.Count("GET", "https://op.test/jwks"), 2);

  // A flood of made-up kids costs at most one fetch per interval.
  auto stranger = TestProvider::MakeKey(crypto::KeyType::kEcP256, "nobody", jose::Alg::kES256);
  for (int i = 0; i < 20; ++i) {
    auto v = provider.Verify(TestProvider::Sign(stranger, TestProvider::Claims()));
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().token_problem, TokenProblem::kUnknownKey);
  }
  EXPECT_EQ(op.transport.Count("GET", "https://op.test/jwks"), 2);
  op.clock.Advance(31);
  EXPECT_FALSE(provider.Verify(TestProvider::Sign(stranger, TestProvider::Claims())));
  EXPECT_EQ(op.transport.Count("GET", "https://op.test/jwks"), 3);
}

TEST(ProviderTest, JwksFetchFailureIsReported) {
  TestProvider op;
  op.transport.Json("GET", "https://op.test/jwks", 500, "{}");
  Provider provider({.issuer = kIssuer}, op.transport, op.clock);
  auto v = provider.Verify(TestProvider::Sign(op.ec_, TestProvider::Claims()));
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, ErrorCode::kHttpStatus);
  EXPECT_EQ(v.error().http_status, 500);
}

}  // namespace
}  // namespace latchkey::client
