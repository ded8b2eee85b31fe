#include "oauth/scope.hpp"

#include <gtest/gtest.h>

namespace latchkey::oauth {
namespace {

using Scopes = std::vector<std::string>;

// RFC 6749 §3.3 scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
TEST(ParseScope, Rfc6749Section3_3Accepted) {
  const std::pair<const char*, Scopes> kAccepted[] = {
      {"api", {"api"}},      {"read write", {"read", "write"}},
      {"a a b", {"a", "b"}}, {"https://api.example/read", {"https://api.example/read"}},
      {"!#[]~", {"!#[]~"}},
  };
  for (const auto& [text, want] : kAccepted) {
    auto got = ParseScope(text);
    ASSERT_TRUE(got.has_value()) << text;
    EXPECT_EQ(*got, want) << text;
  }
}

TEST(ParseScope, Rfc6749Section3_3Rejected) {
  const char* kRejected[] = {"", " api", "api ", "a  b", "a\"b", "a\\b", "a\tb", "caf\xc3\xa9"};
  for (const char* text : kRejected) {
    auto got = ParseScope(text);
    ASSERT_FALSE(got.has_value()) << text;
    EXPECT_EQ(got.error().code, ErrorCode::kInvalidScope) << text;
  }
}

TEST(GrantScope, DefaultsToRegisteredScopesWhenNoneRequested) {
  auto got = GrantScope(std::nullopt, {"api", "read"});
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, (Scopes{"api", "read"}));
}

TEST(GrantScope, SubsetIsGrantedAndAnythingElseIsInvalidScope) {
  EXPECT_EQ(*GrantScope("read", {"api", "read"}), Scopes{"read"});
  auto denied = GrantScope("read admin", {"api", "read"});
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().code, ErrorCode::kInvalidScope);
}

}  // namespace
}  // namespace latchkey::oauth
