#include "crypto/digest.hpp"

#include <gtest/gtest.h>

#include <set>

#include <string>
#include <string_view>

namespace latchkey::crypto {
namespace {

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// FIPS 180-2 Appendix B.1 and the empty-string digest.
TEST(DigestTest, Sha256KnownAnswersFips180) {
  EXPECT_EQ(Hex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// RFC 4231 §4.3 (test case 2) and §4.2 (test case 1).
TEST(DigestTest, HmacSha256Rfc4231) {
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Hex(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(HmacSha256("", "x").size(), 32u);
}

// RFC 4231 §4.7 (test case 6): a key longer than the block is hashed first. Each thread reuses one
// MAC context, so answers must not depend on the key or message of the call before: the same
// vectors in a different order, and an empty key (RFC 2104 pads it to a block of zeros), agree
// with their first answers.
TEST(DigestTest, HmacSha256ReusedContextKeepsNoStateBetweenCalls) {
  const std::string long_key(131, '\xaa');
  const std::string message = "Test Using Larger Than Block-Size Key - Hash Key First";
  const std::string expected = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";
  EXPECT_EQ(Hex(HmacSha256(long_key, message)), expected);
  EXPECT_EQ(Hex(HmacSha256("", "")), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Hex(HmacSha256(long_key, message)), expected);
  EXPECT_EQ(Hex(HmacSha256("", "")), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

// Draws served from the per-thread pool never repeat, across several refills, and large requests
// bypass the pool.
TEST(DigestTest, RandomBytesFromThePoolNeverRepeatAcrossRefills) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(seen.insert(RandomBytes(16)).second) << i;
  std::string big = RandomBytes(100000);
  EXPECT_EQ(big.size(), 100000u);
  EXPECT_NE(big.substr(0, 32), big.substr(32, 32));
}

TEST(DigestTest, RandomBytesLengthAndUniqueness) {
  EXPECT_EQ(RandomBytes(0).size(), 0u);
  EXPECT_EQ(RandomBytes(33).size(), 33u);
  EXPECT_NE(RandomBytes(32), RandomBytes(32));
  SystemRandom random;
  EXPECT_EQ(random.Bytes(16).size(), 16u);
}

TEST(DigestTest, ConstantTimeEqualsTable) {
  struct Case {
    std::string_view a, b;
    bool equal;
  };
  const Case kCases[] = {
      {"", "", true},
      {"abc", "abc", true},
      {std::string_view("a\0b", 3), std::string_view("a\0b", 3), true},
      {"abc", "abd", false},
      {"abc", "ab", false},
      {"", "a", false},
      {std::string_view("a\0b", 3), std::string_view("a\0c", 3), false},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(ConstantTimeEquals(c.a, c.b), c.equal) << Hex(c.a) << " vs " << Hex(c.b);
  }
}

}  // namespace
}  // namespace latchkey::crypto
