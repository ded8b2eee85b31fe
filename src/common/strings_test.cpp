#include "common/strings.hpp"

#include <gtest/gtest.h>

namespace latchkey::common {
namespace {

TEST(Strings, EqualsIgnoreCase) {
  EXPECT_TRUE(EqualsIgnoreCase("Basic", "bAsIc"));
  EXPECT_FALSE(EqualsIgnoreCase("Basic", "Basi"));
  EXPECT_FALSE(EqualsIgnoreCase("Basic", "Bearer"));
}

// Unicode §3.9 (U+FFFD substitution of maximal subparts), Table 3-7 well-formed sequences.
TEST(Strings, ToValidUtf8ReplacesMaximalSubparts) {
  struct Case {
    std::string in, want;
  };
  const Case cases[] = {
      {"plain ascii", "plain ascii"},
      {"caf\xc3\xa9 \xf0\x9f\x94\x91", "caf\xc3\xa9 \xf0\x9f\x94\x91"},  // kept
      {"\xff", "\xEF\xBF\xBD"},
      {"\xc0\xaf", "\xEF\xBF\xBD\xEF\xBF\xBD"},                                  // overlong: two subparts
      {"\xed\xa0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},                  // surrogate
      {"\xe2\x82<", "\xEF\xBF\xBD<"},                                            // truncated: one U+FFFD
      {"\xf4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},  // > U+10FFFF
      {std::string("a\0b", 3), std::string("a\0b", 3)},                          // NUL is valid UTF-8
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ToValidUtf8(c.in), c.want) << c.in;
    EXPECT_EQ(IsValidUtf8(c.in), c.in == c.want) << c.in;
  }
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_FALSE(IsValidUtf8("ok\xc3"));  // truncated at the end
}

TEST(Strings, TrimAndSplit) {
  EXPECT_EQ(Trim(" \t x y \t"), "x y");
  EXPECT_EQ(SplitSpaces("a  b c "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(SplitSpaces("").empty());
  EXPECT_EQ(Join({"a", "b"}, " "), "a b");
}

}  // namespace
}  // namespace latchkey::common
