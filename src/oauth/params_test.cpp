#include "oauth/params.hpp"

#include <gtest/gtest.h>

namespace latchkey::oauth {
namespace {

// RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if they were omitted".
TEST(Params, Rfc6749Section3_1EmptyValueIsOmitted) {
  auto params = ParseFormParams("grant_type=client_credentials&scope=");
  ASSERT_TRUE(params.has_value());
  EXPECT_EQ(params->Get("grant_type"), "client_credentials");
  EXPECT_FALSE(params->Has("scope"));
}

// RFC 6749 §3.1/§3.2: "Request and response parameters MUST NOT be included more than once."
TEST(Params, Rfc6749Section3_2RepeatedParameterIsInvalidRequest) {
  auto params = ParseFormParams("grant_type=client_credentials&scope=a&scope=b");
  ASSERT_FALSE(params.has_value());
  EXPECT_EQ(params.error().code, ErrorCode::kInvalidRequest);
  EXPECT_NE(params.error().description.find("scope"), std::string::npos);
}

TEST(Params, MalformedEncodingIsInvalidRequest) {
  auto params = ParseFormParams("grant_type=%zz");
  ASSERT_FALSE(params.has_value());
  EXPECT_EQ(params.error().code, ErrorCode::kInvalidRequest);
}

TEST(Params, LongRepeatedNameIsTruncatedInDescription) {
  std::string name(1000, 'x');
  auto params = ParseFormParams(name + "=1&" + name + "=2");
  ASSERT_FALSE(params.has_value());
  EXPECT_LT(params.error().description.size(), 120u);
}

}  // namespace
}  // namespace latchkey::oauth
