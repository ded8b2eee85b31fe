#include "common/form.hpp"

#include <gtest/gtest.h>

namespace latchkey::common {
namespace {

TEST(ParseForm, AcceptedInputs) {
  struct Case {
    const char* body;
    FormFields want;
  };
  const Case kCases[] = {
      {"", {}},
      {"a=1", {{"a", "1"}}},
      {"a=1&b=2", {{"a", "1"}, {"b", "2"}}},
      {"a=1&&b=2&", {{"a", "1"}, {"b", "2"}}},
      {"a", {{"a", ""}}},
      {"a=", {{"a", ""}}},
      {"scope=read+write", {{"scope", "read write"}}},
      {"x=%2B%20%3d", {{"x", "+ ="}}},
      {"k%61y=v", {{"kay", "v"}}},
      {"a=1&a=2", {{"a", "1"}, {"a", "2"}}},  // repeats kept for the caller to judge
      {"n=%00", {{"n", std::string(1, '\0')}}},
  };
  for (const auto& c : kCases) {
    auto got = ParseForm(c.body);
    ASSERT_TRUE(got.has_value()) << c.body;
    EXPECT_EQ(*got, c.want) << c.body;
  }
}

TEST(ParseForm, RejectedInputs) {
  const char* kRejected[] = {"a=%", "a=%4", "a=%zz", "%g0=1", "a=1&b=%"};
  for (const char* body : kRejected) EXPECT_FALSE(ParseForm(body).has_value()) << body;
}

TEST(FormEncode, KeepsUnreservedEncodesTheRest) {
  EXPECT_EQ(FormEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(FormEncode("a b+c&d=é"), "a+b%2Bc%26d%3D%C3%A9");
  FormFields fields = {{"grant_type", "client_credentials"}, {"scope", "a b"}};
  EXPECT_EQ(BuildForm(fields), "grant_type=client_credentials&scope=a+b");
  EXPECT_EQ(*ParseForm(BuildForm(fields)), fields);
}

}  // namespace
}  // namespace latchkey::common
