#include "oauth/pkce.hpp"

#include <string>

#include <gtest/gtest.h>

namespace latchkey::oauth {
namespace {

// RFC 7636 Appendix B.
constexpr std::string_view kVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
constexpr std::string_view kChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

// RFC 7636 §4.3: absent means plain; plain only when allowed (OAuth 2.1 §4.1.1).
TEST(ParseChallengeMethod, Rfc7636Section4_3Table) {
  struct Case {
    std::optional<std::string_view> method;
    bool allow_plain;
    std::optional<PkceMethod> want;  // nullopt: invalid_request
  };
  const Case kCases[] = {
      {"S256", false, PkceMethod::kS256},  {"S256", true, PkceMethod::kS256},
      {"plain", true, PkceMethod::kPlain}, {std::nullopt, true, PkceMethod::kPlain},
      {"plain", false, std::nullopt},      {std::nullopt, false, std::nullopt},
      {"s256", true, std::nullopt},        {"SHA256", true, std::nullopt},
      {"PLAIN", true, std::nullopt},       {"S256 ", true, std::nullopt},
  };
  for (const auto& c : kCases) {
    std::string shown = c.method ? std::string(*c.method) : "<absent>";
    auto got = ParseChallengeMethod(c.method, c.allow_plain);
    if (c.want) {
      ASSERT_TRUE(got.has_value()) << shown;
      EXPECT_EQ(*got, *c.want) << shown;
    } else {
      ASSERT_FALSE(got.has_value()) << shown;
      EXPECT_EQ(got.error().code, ErrorCode::kInvalidRequest) << shown;
    }
  }
}

// RFC 7636 §4.1: code-verifier = 43*128unreserved
TEST(IsValidVerifier, Rfc7636Section4_1Accepted) {
  const std::string kAccepted[] = {
      std::string(kVerifier),
      std::string(43, 'a'),
      std::string(128, '~'),
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~",
  };
  for (const auto& v : kAccepted) EXPECT_TRUE(IsValidVerifier(v)) << v;
}

TEST(IsValidVerifier, Rfc7636Section4_1Rejected) {
  const std::string kRejected[] = {
      "",
      std::string(42, 'a'),               // too short
      std::string(129, 'a'),              // too long
      std::string(42, 'a') + "+",         // base64 (not url) character
      std::string(42, 'a') + "/",         //
      std::string(42, 'a') + "=",         // padding
      std::string(42, 'a') + " ",         // space
      std::string(42, 'a') + "%",         // percent escape is not decoded here
      std::string(41, 'a') + "\xc3\xa9",  // non-ASCII
      std::string(42, 'a') + std::string(1, '\0'),
  };
  for (const auto& v : kRejected) EXPECT_FALSE(IsValidVerifier(v)) << v;
}

// RFC 7636 §4.2: S256 challenge is BASE64URL(SHA256) = 43 characters.
TEST(IsValidChallenge, Rfc7636Section4_2Table) {
  struct Case {
    std::string challenge;
    PkceMethod method;
    bool want;
  };
  const Case kCases[] = {
      {std::string(kChallenge), PkceMethod::kS256, true},
      {std::string(43, 'A'), PkceMethod::kS256, true},
      {std::string(42, 'A'), PkceMethod::kS256, false},               // too short
      {std::string(44, 'A'), PkceMethod::kS256, false},               // too long
      {std::string(kChallenge) + "=", PkceMethod::kS256, false},      // padding
      {std::string(42, 'A') + "B", PkceMethod::kS256, false},         // non-zero trailing bits
      {std::string(42, 'A') + "+", PkceMethod::kS256, false},         // base64, not base64url
      {std::string(kVerifier) + "abcdef", PkceMethod::kPlain, true},  // plain uses §4.1 grammar
      {std::string(128, 'x'), PkceMethod::kPlain, true},
      {std::string(129, 'x'), PkceMethod::kPlain, false},
      {std::string(42, 'x'), PkceMethod::kPlain, false},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(IsValidChallenge(c.challenge, c.method), c.want) << c.challenge;
  }
}

// RFC 7636 §4.6 with the Appendix B vector.
TEST(VerifyPkce, Rfc7636AppendixBVector) {
  EXPECT_TRUE(VerifyPkce(kVerifier, kChallenge, PkceMethod::kS256));
}

TEST(VerifyPkce, Rfc7636Section4_6Rejected) {
  std::string other_verifier(kVerifier);
  other_verifier[0] = 'e';
  std::string other_challenge(kChallenge);
  other_challenge[0] = 'F';
  struct Case {
    std::string verifier, challenge;
    PkceMethod method;
  };
  const Case kCases[] = {
      {other_verifier, std::string(kChallenge), PkceMethod::kS256},           // wrong verifier
      {std::string(kVerifier), other_challenge, PkceMethod::kS256},           // wrong challenge
      {std::string(kVerifier), std::string(kChallenge), PkceMethod::kPlain},  // method mismatch
      {std::string(kChallenge), std::string(kChallenge), PkceMethod::kS256},  // challenge sent as verifier
      {"", "", PkceMethod::kPlain},                                           // empty both
      {"short", "short", PkceMethod::kPlain},                                 // §4.1 grammar
      {std::string(kVerifier), std::string(kVerifier) + "x", PkceMethod::kPlain},
  };
  for (const auto& c : kCases) EXPECT_FALSE(VerifyPkce(c.verifier, c.challenge, c.method)) << c.verifier;
}

TEST(VerifyPkce, PlainComparesVerifierItself) {
  EXPECT_TRUE(VerifyPkce(kVerifier, kVerifier, PkceMethod::kPlain));
}

}  // namespace
}  // namespace latchkey::oauth
