#include "latchkey/client/id_token.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "common/base64.hpp"
#include "crypto/digest.hpp"
#include "testing/test_provider.hpp"

namespace latchkey::client {
namespace {

using testing::kIssuer;
using testing::kNow;
using testing::TestProvider;

IdTokenCheck GoodCheck() {
  IdTokenCheck check;
  check.client_id = "web";
  check.nonce = "n-0S6";
  return check;
}

// Outcome signs `claims` (after `edit`) and validates it against `check`.
class IdTokenTest : public ::testing::Test {
 protected:
  Result<IdTokenClaims> Validate(const std::function<void(boost::json::object&)>& edit,
                                 const IdTokenCheck& check = GoodCheck()) {
    auto claims = TestProvider::Claims();
    edit(claims);
    return ValidateIdToken(provider_, TestProvider::Sign(op_.rsa_, claims), check);
  }
  TokenProblem Problem(const std::function<void(boost::json::object&)>& edit,
                       const IdTokenCheck& check = GoodCheck()) {
    auto r = Validate(edit, check);
    if (r) return TokenProblem::kNone;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidToken);
    return r.error().token_problem;
  }

  TestProvider op_;
  Provider provider_{{.issuer = kIssuer}, op_.transport, op_.clock};
};

TEST_F(IdTokenTest, AGoodTokenGivesTypedClaims) {
  auto c = Validate([](auto& claims) {
    claims["email"] = "alice@example.com";
    claims["email_verified"] = true;
    claims["amr"] = boost::json::array{"pwd"};
  });
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->sub, "alice");
  EXPECT_EQ(c->aud, std::vector<std::string>{"web"});
  EXPECT_EQ(c->auth_time, kNow - 10);
  EXPECT_EQ(c->email, "alice@example.com");
  EXPECT_TRUE(c->email_verified);
  EXPECT_EQ(c->amr, std::vector<std::string>{"pwd"});
}

// OIDC Core §3.1.3.7 step 2.
TEST_F(IdTokenTest, WrongIssuer) {
  EXPECT_EQ(Problem([](auto& c) { c["iss"] = "https://evil.test"; }), TokenProblem::kWrongIssuer);
}

// Step 3: the client must be an audience, and other audiences must be trusted.
TEST_F(IdTokenTest, WrongAudience) {
  EXPECT_EQ(Problem([](auto& c) { c["aud"] = "other"; }), TokenProblem::kWrongAudience);
  EXPECT_EQ(Problem([](auto& c) {
              c["aud"] = boost::json::array{"web", "stranger"};
            }),
            TokenProblem::kWrongAudience);
  IdTokenCheck trusting = GoodCheck();
  trusting.trusted_audiences = {"api"};
  EXPECT_EQ(Problem(
                [](auto& c) {
                  c["aud"] = boost::json::array{"web", "api"};
                },
                trusting),
            TokenProblem::kNone);
}

// Steps 4-5: azp.
TEST_F(IdTokenTest, WrongAuthorizedParty) {
  EXPECT_EQ(Problem([](auto& c) { c["azp"] = "other"; }), TokenProblem::kWrongAuthorizedParty);
  IdTokenCheck trusting = GoodCheck();
  trusting.trusted_audiences = {"api"};
  EXPECT_EQ(Problem(
                [](auto& c) {
                  c["aud"] = boost::json::array{"web", "api"};
                  c.erase("azp");
                },
                trusting),
            TokenProblem::kWrongAuthorizedParty);
}

// Step 9 with leeway.
TEST_F(IdTokenTest, Expired) {
  EXPECT_EQ(Problem([](auto& c) { c["exp"] = kNow - 61; }), TokenProblem::kExpired);
  EXPECT_EQ(Problem([](auto& c) { c["exp"] = kNow - 30; }), TokenProblem::kNone);
}

// Step 10.
TEST_F(IdTokenTest, IssuedInTheFuture) {
  EXPECT_EQ(Problem([](auto& c) { c["iat"] = kNow + 120; }), TokenProblem::kIssuedInFuture);
}

// Step 11.
TEST_F(IdTokenTest, NonceMismatchOrMissing) {
  EXPECT_EQ(Problem([](auto& c) { c["nonce"] = "replayed"; }), TokenProblem::kNonceMismatch);
  EXPECT_EQ(Problem([](auto& c) { c.erase("nonce"); }), TokenProblem::kNonceMismatch);
}

// Step 13: auth_time against max_age.
TEST_F(IdTokenTest, AuthTimeAgainstMaxAge) {
  IdTokenCheck check = GoodCheck();
  check.max_age = 300;
  EXPECT_EQ(Problem([](auto& c) { c["auth_time"] = kNow - 100; }, check), TokenProblem::kNone);
  EXPECT_EQ(Problem([](auto& c) { c["auth_time"] = kNow - 400; }, check), TokenProblem::kAuthTooOld);
  EXPECT_EQ(Problem([](auto& c) { c.erase("auth_time"); }, check), TokenProblem::kAuthTooOld);
}

// §2: required claims.
TEST_F(IdTokenTest, MissingRequiredClaims) {
  for (const char* name : {"iss", "sub", "aud", "exp", "iat"}) {
    EXPECT_EQ(Problem([&](auto& c) { c.erase(name); }), TokenProblem::kMissingClaim) << name;
  }
  EXPECT_EQ(Problem([](auto& c) { c["sub"] = 7; }), TokenProblem::kMissingClaim);
}

// §3.1.3.8: at_hash.
TEST_F(IdTokenTest, AtHashMustMatchTheAccessToken) {
  const std::string digest = crypto::Sha256("the-access-token");
  const std::string at_hash = common::Base64UrlEncode(std::string_view(digest).substr(0, 16));
  IdTokenCheck check = GoodCheck();
  check.access_token = "the-access-token";
  EXPECT_EQ(Problem([&](auto& c) { c["at_hash"] = at_hash; }, check), TokenProblem::kNone);
  check.access_token = "another-access-token";
  EXPECT_EQ(Problem([&](auto& c) { c["at_hash"] = at_hash; }, check), TokenProblem::kAtHashMismatch);
}

TEST_F(IdTokenTest, SignatureAndAlgChecksComeFirst) {
  IdTokenCheck check = GoodCheck();
  check.allowed_algs = {"ES256"};
  EXPECT_EQ(Problem([](auto&) {}, check), TokenProblem::kAlgNotAllowed);
  auto stranger = TestProvider::MakeKey(crypto::KeyType::kRsa, "rsa-1", jose::Alg::kRS256);
  auto r = ValidateIdToken(provider_, TestProvider::Sign(stranger, TestProvider::Claims()), GoodCheck());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().token_problem, TokenProblem::kBadSignature);
}

}  // namespace
}  // namespace latchkey::client
