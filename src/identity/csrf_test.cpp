#include "identity/csrf.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "common/base64.hpp"
#include "common/testing/counting_random.hpp"
#include "crypto/digest.hpp"

namespace latchkey::identity {
namespace {

// CountingRandom returns a different, predictable byte string on every call.
using common::testing::CountingRandom;

const std::string kKey(32, 'k');
constexpr std::string_view kContext = "client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=xyz";

TEST(CsrfTest, NewCookieValueIsFreshBase64Url32Bytes) {
  CsrfGuard guard(kKey);
  CountingRandom random;
  std::string first = guard.NewCookieValue(random);
  std::string second = guard.NewCookieValue(random);
  EXPECT_EQ(first.size(), 43u);
  EXPECT_NE(first, second);
  auto raw = common::Base64UrlDecode(first);
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(*raw, CountingRandom().Bytes(32));
}

// The token is exactly the documented MAC, so another implementation (or a later version) can
// compute it.
TEST(CsrfTest, TokenForIsHmacSha256OfDocumentedMessage) {
  CsrfGuard guard(kKey);
  const std::string cookie = common::Base64UrlEncode(std::string(32, 'c'));
  std::string message = std::string("csrf\0", 5) + cookie + std::string(1, '\0') + std::string(kContext);
  EXPECT_EQ(guard.TokenFor(cookie, kContext), common::Base64UrlEncode(crypto::HmacSha256(kKey, message)));
  EXPECT_EQ(guard.TokenFor(cookie, kContext).size(), 43u);
}

TEST(CsrfTest, VerifyAcceptsMatchingTriple) {
  CsrfGuard guard(kKey);
  crypto::SystemRandom random;
  std::string cookie = guard.NewCookieValue(random);
  EXPECT_TRUE(guard.Verify(cookie, kContext, guard.TokenFor(cookie, kContext)));
  EXPECT_TRUE(guard.Verify(cookie, "", guard.TokenFor(cookie, "")));
}

// OWASP CSRF cheat sheet, signed double-submit cookie: each part of the triple matters.
TEST(CsrfTest, VerifyRejectsEveryMismatch) {
  CsrfGuard guard(kKey);
  CountingRandom random;
  const std::string cookie = guard.NewCookieValue(random);
  const std::string other_cookie = guard.NewCookieValue(random);
  const std::string token = guard.TokenFor(cookie, kContext);
  ASSERT_TRUE(guard.Verify(cookie, kContext, token));

  EXPECT_FALSE(guard.Verify(other_cookie, kContext, token)) << "another browser's cookie";
  EXPECT_FALSE(guard.Verify(cookie, "client_id=evil", token)) << "another context";
  EXPECT_FALSE(guard.Verify(cookie, std::string(kContext) + "x", token)) << "extended context";
  EXPECT_FALSE(guard.Verify(cookie, kContext, "")) << "empty token";
  EXPECT_FALSE(guard.Verify("", kContext, token)) << "empty cookie";
  EXPECT_FALSE(guard.Verify("", kContext, guard.TokenFor("", kContext))) << "empty cookie, token to match";
  EXPECT_FALSE(guard.Verify(cookie, kContext, token.substr(0, 42))) << "truncated token";
  EXPECT_FALSE(guard.Verify(cookie, kContext, token + "A")) << "extended token";
  EXPECT_FALSE(guard.Verify(cookie, kContext, cookie)) << "the cookie itself as token";

  for (size_t i = 0; i < token.size(); ++i) {
    std::string tampered = token;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(guard.Verify(cookie, kContext, tampered)) << "tampered at " << i;
  }

  CsrfGuard other_key(std::string(32, 'K'));
  EXPECT_FALSE(other_key.Verify(cookie, kContext, token)) << "another server key";
}

TEST(CsrfTest, VerifyRejectsCookiesNewCookieValueCannotMake) {
  CsrfGuard guard(kKey);
  const std::string short_cookie = common::Base64UrlEncode(std::string(16, 'c'));
  const std::string long_cookie = common::Base64UrlEncode(std::string(33, 'c'));
  const std::string padded = common::Base64UrlEncode(std::string(32, 'c')) + "=";
  const std::string with_nul =
      common::Base64UrlEncode(std::string(32, 'c')).substr(0, 42) + std::string(1, '\0');
  for (const std::string& cookie : {short_cookie, long_cookie, padded, with_nul, std::string("x")}) {
    EXPECT_FALSE(guard.Verify(cookie, kContext, guard.TokenFor(cookie, kContext))) << cookie;
  }
}

TEST(CsrfTest, ShortKeyAborts) {
  EXPECT_DEATH({ CsrfGuard guard(std::string(31, 'k')); }, "");
  EXPECT_DEATH({ CsrfGuard guard(""); }, "");
}

}  // namespace
}  // namespace latchkey::identity
