#include "common/base64.hpp"

#include <gtest/gtest.h>

namespace latchkey::common {
namespace {

// RFC 4648 §10 test vectors, standard alphabet with padding.
TEST(Base64, Rfc4648Section10Vectors) {
  const std::pair<const char*, const char*> kVectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : kVectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, plain);
  }
}

TEST(Base64Url, RoundTripsAllByteValuesWithoutPadding) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  std::string encoded = Base64UrlEncode(all);
  EXPECT_EQ(encoded.find_first_of("+/="), std::string::npos);
  auto decoded = Base64UrlDecode(encoded);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, all);
}

// RFC 7515 §2: base64url "with all trailing '=' characters omitted".
TEST(Base64Url, RejectsMalformedInput) {
  const char* kRejected[] = {
      "Zg==",   // padding is not part of base64url in JOSE
      "Z",      // impossible length (1 mod 4)
      "Zm9v+",  // standard alphabet character
      "Zm9v/",  // standard alphabet character
      "Zh",     // non-zero trailing bits: non-canonical spelling of "f"
      "Zm9 v",  // whitespace
  };
  for (const char* text : kRejected) EXPECT_FALSE(Base64UrlDecode(text).has_value()) << text;
}

// The decoder reads whole groups of four and a tail of two or three characters separately: a bad
// character in any position, and non-zero trailing bits in either tail, are refused.
TEST(Base64Url, EveryPositionAndTailIsChecked) {
  EXPECT_EQ(Base64UrlDecode("Zg"), std::optional<std::string>("f"));
  EXPECT_EQ(Base64UrlDecode("Zm8"), std::optional<std::string>("fo"));
  EXPECT_EQ(Base64UrlDecode("Zm9vYmFy"), std::optional<std::string>("foobar"));
  EXPECT_EQ(Base64UrlDecode("Zm9vYmE"), std::optional<std::string>("fooba"));
  EXPECT_EQ(Base64UrlDecode(""), std::optional<std::string>(""));
  const std::string valid = "Zm9vYmFyYmE";  // two groups and a tail of three
  for (size_t i = 0; i < valid.size(); ++i) {
    for (char bad : {'!', '=', '+', '/', '\0', '\x80'}) {
      std::string text = valid;
      text[i] = bad;
      EXPECT_FALSE(Base64UrlDecode(text).has_value()) << "position " << i << " char " << int(bad);
    }
  }
  EXPECT_FALSE(Base64UrlDecode("Zm9").has_value());        // "fo" with the low 2 bits set
  EXPECT_FALSE(Base64UrlDecode("Zm9vZh").has_value());     // tail of two with the low 4 bits set
  EXPECT_FALSE(Base64UrlDecode("Zm9vYmFyZ").has_value());  // 1 mod 4
}

TEST(Base64, RejectsMalformedInput) {
  const char* kRejected[] = {"Zg=", "Zg===", "Z===", "Zm9v!A==", "Zh=="};
  for (const char* text : kRejected) EXPECT_FALSE(Base64Decode(text).has_value()) << text;
}

}  // namespace
}  // namespace latchkey::common
