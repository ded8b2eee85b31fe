#include <gtest/gtest.h>

#include <string>

#include "common/base64.hpp"
#include "common/clock.hpp"
#include "crypto/digest.hpp"
#include "jose/jose.hpp"

namespace latchkey::jose {
namespace {

constexpr int64_t kNow = 1'700'000'000;

struct Case {
  std::string name;
  std::string payload;
  ClaimsCheck check;
  Errc error;  // kNone: accepted
};

ClaimsCheck Default() { return ClaimsCheck{.issuer = "https://issuer.example", .audience = "client-1"}; }

ClaimsCheck With(void (*edit)(ClaimsCheck&)) {
  ClaimsCheck c = Default();
  edit(c);
  return c;
}

std::string Claims(const std::string& extra) {
  return R"({"iss":"https://issuer.example","aud":"client-1")" + extra + "}";
}

// RFC 7519 §4.1 and §7.2, leeway applied symmetrically.
TEST(JwtTest, CheckClaimsAccepted) {
  const Case kCases[] = {
      {"exp in the future", Claims(R"(,"exp":1700000100)"), Default(), Errc::kNone},
      {"exp as a double", Claims(R"(,"exp":1700000100.5)"), Default(), Errc::kNone},
      {"exp just inside leeway", Claims(R"(,"exp":1699999971)"), Default(), Errc::kNone},
      {"nbf within leeway", Claims(R"(,"exp":1700000100,"nbf":1700000030)"), Default(), Errc::kNone},
      {"iat within leeway", Claims(R"(,"exp":1700000100,"iat":1700000030)"), Default(), Errc::kNone},
      {"aud array containing us",
       R"({"iss":"https://issuer.example","aud":["x","client-1"],"exp":1700000100})", Default(), Errc::kNone},
      {"no exp when not required", Claims(""), With([](ClaimsCheck& c) { c.require_exp = false; }),
       Errc::kNone},
      {"issuer/audience unchecked when empty", R"({"exp":1700000100,"aud":7})",
       With([](ClaimsCheck& c) { c.issuer.clear(), c.audience.clear(); }), Errc::kNone},
      {"required iat present", Claims(R"(,"exp":1700000100,"iat":1699999000)"),
       With([](ClaimsCheck& c) { c.require_iat = true; }), Errc::kNone},
  };
  common::FakeClock clock(kNow);
  for (const auto& c : kCases) {
    auto r = CheckClaims(c.payload, c.check, clock);
    ASSERT_TRUE(r.has_value()) << c.name << ": " << ErrcName(r.error());
    EXPECT_TRUE(r->contains("aud")) << c.name;
  }
}

TEST(JwtTest, CheckClaimsRejected) {
  const Case kCases[] = {
      {"not JSON", "exp", Default(), Errc::kMalformed},
      {"array", "[]", Default(), Errc::kMalformed},
      {"duplicate exp (RFC 7519 §4)", Claims(R"(,"exp":1,"exp":1700000100)"), Default(), Errc::kMalformed},
      {"exp missing", Claims(""), Default(), Errc::kMissingClaim},
      {"exp as string (RFC 7519 §2 NumericDate)", Claims(R"(,"exp":"1700000100")"), Default(),
       Errc::kMissingClaim},
      {"nbf as bool", Claims(R"(,"exp":1700000100,"nbf":true)"), Default(), Errc::kMissingClaim},
      {"iat null", Claims(R"(,"exp":1700000100,"iat":null)"), Default(), Errc::kMissingClaim},
      {"iat required", Claims(R"(,"exp":1700000100)"), With([](ClaimsCheck& c) { c.require_iat = true; }),
       Errc::kMissingClaim},
      {"expired (RFC 7519 §4.1.4)", Claims(R"(,"exp":1699999000)"), Default(), Errc::kExpired},
      {"exp exactly at now - leeway", Claims(R"(,"exp":1699999970)"), Default(), Errc::kExpired},
      {"expired, no leeway", Claims(R"(,"exp":1700000000)"),
       With([](ClaimsCheck& c) { c.leeway_seconds = 0; }), Errc::kExpired},
      {"nbf beyond leeway (RFC 7519 §4.1.5)", Claims(R"(,"exp":1700000100,"nbf":1700000031)"), Default(),
       Errc::kNotYetValid},
      {"iat beyond leeway (RFC 7519 §4.1.6)", Claims(R"(,"exp":1700000100,"iat":1700000031)"), Default(),
       Errc::kIssuedInFuture},
      {"wrong issuer (RFC 7519 §4.1.1)",
       R"({"iss":"https://evil.example","aud":"client-1","exp":1700000100})", Default(), Errc::kWrongIssuer},
      {"issuer differs in case", R"({"iss":"https://ISSUER.example","aud":"client-1","exp":1700000100})",
       Default(), Errc::kWrongIssuer},
      {"issuer missing", R"({"aud":"client-1","exp":1700000100})", Default(), Errc::kMissingClaim},
      {"issuer not a string", R"({"iss":1,"aud":"client-1","exp":1700000100})", Default(),
       Errc::kMissingClaim},
      {"wrong audience (RFC 7519 §4.1.3)",
       R"({"iss":"https://issuer.example","aud":"client-2","exp":1700000100})", Default(),
       Errc::kWrongAudience},
      {"audience array without us", R"({"iss":"https://issuer.example","aud":["a","b"],"exp":1700000100})",
       Default(), Errc::kWrongAudience},
      {"empty audience array", R"({"iss":"https://issuer.example","aud":[],"exp":1700000100})", Default(),
       Errc::kWrongAudience},
      {"audience array with a non-string",
       R"({"iss":"https://issuer.example","aud":["client-1",1],"exp":1700000100})", Default(),
       Errc::kMissingClaim},
      {"audience object", R"({"iss":"https://issuer.example","aud":{"client-1":1},"exp":1700000100})",
       Default(), Errc::kMissingClaim},
      {"audience missing", R"({"iss":"https://issuer.example","exp":1700000100})", Default(),
       Errc::kMissingClaim},
  };
  common::FakeClock clock(kNow);
  for (const auto& c : kCases) {
    auto r = CheckClaims(c.payload, c.check, clock);
    ASSERT_FALSE(r.has_value()) << c.name;
    EXPECT_EQ(r.error(), c.error) << c.name << ": got " << ErrcName(r.error());
  }
}

// The injected clock decides: the same token passes before exp + leeway and fails from then on.
TEST(JwtTest, CheckClaimsFollowsTheClock) {
  common::FakeClock clock(kNow);
  const std::string payload = Claims(R"(,"exp":1700000100)");
  EXPECT_TRUE(CheckClaims(payload, Default(), clock).has_value());
  clock.Set(1700000129);
  EXPECT_TRUE(CheckClaims(payload, Default(), clock).has_value());
  clock.Advance(1);
  EXPECT_EQ(CheckClaims(payload, Default(), clock).error(), Errc::kExpired);
}

// OIDC Core Appendix A.3 / A.4 vectors, cross-checked on the build machine with
//   printf %s VALUE | openssl dgst -sha256 -binary | head -c 16 | basenc --base64url | tr -d =
TEST(HashHalf, OidcCoreAppendixVectors) {
  struct Vector {
    std::string name, value, expected;
  };
  const Vector kCases[] = {
      {"A.3 at_hash", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", "77QmUPtjPfzWtF2AnpK9RQ"},
      {"A.4 c_hash", "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk", "LDktKdoQak3Pk0cnXxCltA"},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(HashHalf(c.value), c.expected) << c.name;
    // Independent recomputation: the first 16 bytes of SHA-256, base64url.
    EXPECT_EQ(HashHalf(c.value), common::Base64UrlEncode(crypto::Sha256(c.value).substr(0, 16))) << c.name;
    for (Alg alg : {Alg::kRS256, Alg::kPS256, Alg::kES256}) {
      auto r = HashHalf(c.value, alg);
      ASSERT_TRUE(r.has_value()) << c.name << " " << AlgName(alg);
      EXPECT_EQ(*r, c.expected) << c.name << " " << AlgName(alg);
    }
  }
}

TEST(HashHalf, EdDsaUnsupported) {
  auto r = HashHalf("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", Alg::kEdDSA);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), Errc::kUnsupportedAlg);
}

}  // namespace
}  // namespace latchkey::jose
