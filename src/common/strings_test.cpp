#include "common/strings.hpp"

#include <gtest/gtest.h>

namespace latchkey::common {
namespace {

TEST(Strings, EqualsIgnoreCase) {
  EXPECT_TRUE(EqualsIgnoreCase("Basic", "bAsIc"));
  EXPECT_FALSE(EqualsIgnoreCase("Basic", "Basi"));
  EXPECT_FALSE(EqualsIgnoreCase("Basic", "Bearer"));
}

TEST(Strings, TrimAndSplit) {
  EXPECT_EQ(Trim(" \t x y \t"), "x y");
  EXPECT_EQ(SplitSpaces("a  b c "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(SplitSpaces("").empty());
  EXPECT_EQ(Join({"a", "b"}, " "), "a b");
}

}  // namespace
}  // namespace latchkey::common
