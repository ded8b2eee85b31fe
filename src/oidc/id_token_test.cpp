#include "oidc/id_token.hpp"

#include <gtest/gtest.h>

#include <array>
#include <stdexcept>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/base64.hpp"
#include "crypto/digest.hpp"
#include "crypto/key.hpp"

namespace latchkey::oidc {
namespace {

constexpr int64_t kNow = 1'700'000'000;
constexpr std::array<jose::Alg, 4> kAllAlgs = {jose::Alg::kRS256, jose::Alg::kPS256, jose::Alg::kES256,
                                               jose::Alg::kEdDSA};

crypto::KeyType TypeFor(jose::Alg alg) {
  switch (alg) {
    case jose::Alg::kRS256:
    case jose::Alg::kPS256: return crypto::KeyType::kRsa;
    case jose::Alg::kES256: return crypto::KeyType::kEcP256;
    case jose::Alg::kEdDSA: return crypto::KeyType::kEd25519;
  }
  return crypto::KeyType::kEcP256;
}

jose::SigningKey MakeKey(jose::Alg alg) {
  auto key = crypto::GenerateKey(TypeFor(alg));
  if (!key) throw std::runtime_error("GenerateKey failed");
  return jose::SigningKey{.kid = "k1", .alg = alg, .key = *key};
}

jose::Jwks PublicSet(const jose::SigningKey& key) {
  jose::Jwks set;
  set.keys.push_back(jose::Jwk{.kid = key.kid, .alg = key.alg, .use = "sig", .key = *key.key.PublicOnly()});
  return set;
}

IdTokenInput FullInput() {
  IdTokenInput in;
  in.issuer = "https://server.example.com";
  in.subject = "248289761001";
  in.audience = "s6BhdRkqt3";
  in.nonce = "n-0S6_WzA2Mj";
  in.acr = "urn:mace:incommon:iap:silver";
  in.amr = {"pwd", "otp"};
  in.auth_time = kNow - 60;
  in.lifetime = 600;
  return in;
}

// Verifies `token` with the public half of `key` and returns its claims (fails the test if not).
boost::json::object VerifiedClaims(const std::string& token, const jose::SigningKey& key) {
  const std::array<jose::Alg, 1> allowed = {key.alg};
  auto parsed = jose::VerifyJws(token, PublicSet(key), allowed);
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : jose::ErrcName(parsed.error()));
  if (!parsed) return {};
  EXPECT_EQ(parsed->header.at("typ").as_string(), "JWT");
  EXPECT_EQ(parsed->header.at("kid").as_string(), "k1");
  EXPECT_EQ(parsed->header.at("alg").as_string(), jose::AlgName(key.alg));
  return boost::json::parse(parsed->payload).as_object();
}

// §2: every claim is present with the right value and type, for every signing algorithm.
TEST(SignIdToken, AllClaimsVerifiedForEveryAlg) {
  common::FakeClock clock(kNow);
  for (jose::Alg alg : kAllAlgs) {
    SCOPED_TRACE(std::string(jose::AlgName(alg)));
    const jose::SigningKey key = MakeKey(alg);
    IdTokenInput in = FullInput();
    in.extra_claims["email"] = "janedoe@example.com";
    in.extra_claims["address"] = boost::json::object{{"country", "US"}};
    auto token = SignIdToken(in, key, clock);
    ASSERT_TRUE(token.has_value()) << jose::ErrcName(token.error());
    auto claims = VerifiedClaims(*token, key);
    EXPECT_EQ(claims.at("iss").as_string(), "https://server.example.com");
    EXPECT_EQ(claims.at("sub").as_string(), "248289761001");
    ASSERT_TRUE(claims.at("aud").is_string());
    EXPECT_EQ(claims.at("aud").as_string(), "s6BhdRkqt3");
    EXPECT_EQ(claims.at("azp").as_string(), "s6BhdRkqt3");
    EXPECT_EQ(claims.at("iat").as_int64(), kNow);
    EXPECT_EQ(claims.at("exp").as_int64(), kNow + 600);
    EXPECT_EQ(claims.at("auth_time").as_int64(), kNow - 60);
    EXPECT_EQ(claims.at("nonce").as_string(), "n-0S6_WzA2Mj");
    EXPECT_EQ(claims.at("acr").as_string(), "urn:mace:incommon:iap:silver");
    ASSERT_TRUE(claims.at("amr").is_array());
    EXPECT_EQ(claims.at("amr").as_array(), (boost::json::array{"pwd", "otp"}));
    EXPECT_EQ(claims.at("email").as_string(), "janedoe@example.com");
    EXPECT_EQ(claims.at("address").as_object().at("country").as_string(), "US");
    EXPECT_FALSE(claims.contains("at_hash"));
    EXPECT_FALSE(claims.contains("c_hash"));
    EXPECT_EQ(claims.size(), 12u);  // the 10 claims of FullInput plus 2 extra

    // The issued token also passes the generic JWT checks a relying party runs.
    auto checked = jose::CheckClaims(
        std::string(boost::json::serialize(claims)),
        jose::ClaimsCheck{.issuer = in.issuer, .audience = in.audience, .require_iat = true}, clock);
    EXPECT_TRUE(checked.has_value());
  }
}

// The clock is the only source of iat/exp.
TEST(SignIdToken, UsesInjectedClock) {
  const jose::SigningKey key = MakeKey(jose::Alg::kES256);
  common::FakeClock clock(kNow);
  clock.Advance(1234);
  IdTokenInput in = FullInput();
  in.lifetime = 300;
  auto token = SignIdToken(in, key, clock);
  ASSERT_TRUE(token.has_value());
  auto claims = VerifiedClaims(*token, key);
  EXPECT_EQ(claims.at("iat").as_int64(), kNow + 1234);
  EXPECT_EQ(claims.at("exp").as_int64(), kNow + 1234 + 300);
}

// §2: nonce, acr, amr and auth_time only appear when the request produced them.
TEST(SignIdToken, OptionalClaimsOmittedWhenEmpty) {
  struct Case {
    std::string name;
    void (*edit)(IdTokenInput&);
    std::string absent;
  };
  const Case kCases[] = {
      {"no nonce", [](IdTokenInput& in) { in.nonce.clear(); }, "nonce"},
      {"no acr", [](IdTokenInput& in) { in.acr.clear(); }, "acr"},
      {"no amr", [](IdTokenInput& in) { in.amr.clear(); }, "amr"},
      {"no auth_time", [](IdTokenInput& in) { in.auth_time = 0; }, "auth_time"},
  };
  const jose::SigningKey key = MakeKey(jose::Alg::kES256);
  common::FakeClock clock(kNow);
  for (const auto& c : kCases) {
    IdTokenInput in = FullInput();
    c.edit(in);
    auto token = SignIdToken(in, key, clock);
    ASSERT_TRUE(token.has_value()) << c.name;
    auto claims = VerifiedClaims(*token, key);
    EXPECT_FALSE(claims.contains(c.absent)) << c.name;
    EXPECT_EQ(claims.size(), 9u) << c.name;  // the 10 claims of FullInput minus one
  }
}

// §3.1.3.6 and §3.3.2.11, with the Appendix A values.
TEST(SignIdToken, AtHashAndCHash) {
  common::FakeClock clock(kNow);
  for (jose::Alg alg : {jose::Alg::kRS256, jose::Alg::kPS256, jose::Alg::kES256}) {
    SCOPED_TRACE(std::string(jose::AlgName(alg)));
    const jose::SigningKey key = MakeKey(alg);
    IdTokenInput in = FullInput();
    in.access_token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
    in.code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk";
    auto token = SignIdToken(in, key, clock);
    ASSERT_TRUE(token.has_value());
    auto claims = VerifiedClaims(*token, key);
    EXPECT_EQ(claims.at("at_hash").as_string(), "77QmUPtjPfzWtF2AnpK9RQ");
    EXPECT_EQ(claims.at("c_hash").as_string(), "LDktKdoQak3Pk0cnXxCltA");
  }
}

// Until the hash for EdDSA is settled (see jose::HashHalf), asking for at_hash/c_hash is an error, not
// a token with a guessed hash or a silently missing claim.
TEST(SignIdToken, EdDsaWithHashesRejected) {
  const jose::SigningKey key = MakeKey(jose::Alg::kEdDSA);
  common::FakeClock clock(kNow);
  for (int which = 0; which < 2; ++which) {
    IdTokenInput in = FullInput();
    (which == 0 ? in.access_token : in.code) = "value";
    auto token = SignIdToken(in, key, clock);
    ASSERT_FALSE(token.has_value()) << which;
    EXPECT_EQ(token.error(), jose::Errc::kUnsupportedAlg) << which;
  }
}

// Extra claims never replace or inject a claim SignIdToken owns.
TEST(SignIdToken, ExtraClaimsCannotOverrideRegisteredClaims) {
  const jose::SigningKey key = MakeKey(jose::Alg::kES256);
  common::FakeClock clock(kNow);
  IdTokenInput in = FullInput();
  in.nonce.clear();  // an extra "nonce" must not appear where the request had none
  in.acr.clear();
  in.amr.clear();
  in.auth_time = 0;
  for (const char* name :
       {"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "at_hash", "c_hash"}) {
    in.extra_claims[name] = "attacker";
  }
  in.extra_claims["locale"] = "en-US";
  auto token = SignIdToken(in, key, clock);
  ASSERT_TRUE(token.has_value());
  auto claims = VerifiedClaims(*token, key);
  EXPECT_EQ(claims.at("iss").as_string(), "https://server.example.com");
  EXPECT_EQ(claims.at("sub").as_string(), "248289761001");
  EXPECT_EQ(claims.at("aud").as_string(), "s6BhdRkqt3");
  EXPECT_EQ(claims.at("azp").as_string(), "s6BhdRkqt3");
  EXPECT_EQ(claims.at("exp").as_int64(), kNow + 600);
  EXPECT_EQ(claims.at("iat").as_int64(), kNow);
  for (const char* absent : {"auth_time", "nonce", "acr", "amr", "at_hash", "c_hash"}) {
    EXPECT_FALSE(claims.contains(absent)) << absent;
  }
  EXPECT_EQ(claims.at("locale").as_string(), "en-US");
}

// Key problems are errors, never a token signed with the wrong thing.
TEST(SignIdToken, KeyRejected) {
  common::FakeClock clock(kNow);
  struct Case {
    std::string name;
    jose::SigningKey key;
  };
  jose::SigningKey public_only = MakeKey(jose::Alg::kES256);
  public_only.key = *public_only.key.PublicOnly();
  jose::SigningKey mismatched = MakeKey(jose::Alg::kES256);
  mismatched.alg = jose::Alg::kRS256;
  const Case kCases[] = {{"public key", public_only}, {"alg does not fit key", mismatched}};
  for (const auto& c : kCases) {
    auto token = SignIdToken(FullInput(), c.key, clock);
    ASSERT_FALSE(token.has_value()) << c.name;
    EXPECT_EQ(token.error(), jose::Errc::kInvalidKey) << c.name;
  }
}

}  // namespace
}  // namespace latchkey::oidc
