#include "oauth/client_auth.hpp"

#include <gtest/gtest.h>

#include "common/base64.hpp"
#include "common/testing/counting_random.hpp"

namespace latchkey::oauth {
namespace {

std::string Basic(std::string_view user_pass) { return "Basic " + common::Base64Encode(user_pass); }

TEST(ParseBasicAuthorization, Accepted) {
  struct Case {
    std::string header;
    std::string user, password;
  };
  const Case kAccepted[] = {
      {Basic("client:secret"), "client", "secret"},
      {"basic " + common::Base64Encode("client:secret"), "client", "secret"},  // scheme is case-insensitive
      {"BASIC  " + common::Base64Encode("c:"), "c", ""},
      // RFC 6749 §2.3.1: both halves are form-urlencoded before Base64.
      {Basic("my%3Aclient:p%40ss+word%2B"), "my:client", "p@ss word+"},
      {Basic("c:a:b"), "c", "a:b"},  // only the first colon separates (RFC 7617 §2)
  };
  for (const auto& c : kAccepted) {
    auto got = ParseBasicAuthorization(c.header);
    ASSERT_TRUE(got.has_value()) << c.header;
    EXPECT_EQ(got->user, c.user);
    EXPECT_EQ(got->password, c.password);
  }
}

TEST(ParseBasicAuthorization, Rejected) {
  const std::string kRejected[] = {
      "",
      "Basic",
      "Bearer abc",
      "Basic !!!!",
      Basic("no-colon"),
      Basic(":secret"),      // empty client id
      Basic("c%zz:secret"),  // malformed escape
      "Basic " + common::Base64Encode("c:s").substr(1),
  };
  for (const auto& header : kRejected) EXPECT_FALSE(ParseBasicAuthorization(header).has_value()) << header;
}

Params P(std::string_view form) { return *ParseFormParams(form); }

TEST(ExtractClientCredentials, PicksTheOneMethodUsed) {
  auto basic = ExtractClientCredentials(Basic("c1:s1"), P("grant_type=x"));
  ASSERT_TRUE(basic.has_value());
  EXPECT_EQ(basic->method, AuthMethod::kClientSecretBasic);
  EXPECT_EQ(basic->client_id, "c1");

  auto post = ExtractClientCredentials(std::nullopt, P("client_id=c2&client_secret=s2"));
  ASSERT_TRUE(post.has_value());
  EXPECT_EQ(post->method, AuthMethod::kClientSecretPost);
  EXPECT_EQ(post->client_secret, "s2");

  auto none = ExtractClientCredentials(std::nullopt, P("client_id=c3"));
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->method, AuthMethod::kNone);
}

// RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request."
TEST(ExtractClientCredentials, Rfc6749Section2_3TwoMethodsIsInvalidRequest) {
  auto got = ExtractClientCredentials(Basic("c1:s1"), P("client_id=c1&client_secret=s1"));
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, ErrorCode::kInvalidRequest);
}

TEST(ExtractClientCredentials, MismatchedBodyClientIdIsInvalidRequest) {
  auto got = ExtractClientCredentials(Basic("c1:s1"), P("client_id=c2"));
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, ErrorCode::kInvalidRequest);
}

TEST(ExtractClientCredentials, NoClientOrBadHeaderIsInvalidClient) {
  EXPECT_EQ(ExtractClientCredentials(std::nullopt, P("grant_type=x")).error().code,
            ErrorCode::kInvalidClient);
  EXPECT_EQ(ExtractClientCredentials("Bearer x", P("client_id=c")).error().code, ErrorCode::kInvalidClient);
}

store::ClientRecord Confidential(std::string method = "client_secret_basic") {
  store::ClientRecord c;
  c.client_id = "c1";
  c.secret_hash = HashClientSecret("s1");
  c.token_endpoint_auth_method = std::move(method);
  return c;
}

TEST(AuthenticateClient, AcceptsTheRegisteredMethodAndSecret) {
  EXPECT_TRUE(AuthenticateClient({AuthMethod::kClientSecretBasic, "c1", "s1"}, Confidential()).has_value());
  EXPECT_TRUE(
      AuthenticateClient({AuthMethod::kClientSecretPost, "c1", "s1"}, Confidential("client_secret_post"))
          .has_value());
  store::ClientRecord pub;
  pub.client_id = "p";
  pub.token_endpoint_auth_method = "none";
  EXPECT_TRUE(AuthenticateClient({AuthMethod::kNone, "p", ""}, pub).has_value());
}

TEST(AuthenticateClient, RejectsWrongSecretWrongMethodAndMissingSecret) {
  const std::pair<PresentedCredentials, store::ClientRecord> kRejected[] = {
      {{AuthMethod::kClientSecretBasic, "c1", "wrong"}, Confidential()},
      {{AuthMethod::kClientSecretBasic, "c1", ""}, Confidential()},
      {{AuthMethod::kClientSecretPost, "c1", "s1"}, Confidential()},  // registered basic, used post
      {{AuthMethod::kNone, "c1", ""}, Confidential()},                // confidential posing as public
      {{AuthMethod::kClientSecretBasic, "other", "s1"}, Confidential()},
  };
  for (const auto& [presented, client] : kRejected) {
    auto got = AuthenticateClient(presented, client);
    ASSERT_FALSE(got.has_value()) << presented.client_secret;
    EXPECT_EQ(got.error().code, ErrorCode::kInvalidClient);
    EXPECT_EQ(got.error().description, "client authentication failed");
  }
}

using common::testing::CountingRandom;

TEST(GenerateClientSecret, Is256BitsBase64Url) {
  CountingRandom random;
  std::string secret = GenerateClientSecret(random);
  EXPECT_EQ(secret.size(), 43u);
  EXPECT_EQ(common::Base64UrlDecode(secret)->size(), 32u);
  EXPECT_NE(secret, GenerateClientSecret(random));
  EXPECT_EQ(HashClientSecret(secret).size(), 32u);
}

}  // namespace
}  // namespace latchkey::oauth
