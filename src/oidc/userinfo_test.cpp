#include "oidc/userinfo.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace latchkey::oidc {
namespace {

// §5.3.2: the body is a JSON object with the scope-selected claims.
TEST(UserInfoJson, SerializesClaimsForScopes) {
  store::UserRecord user;
  user.user_id = "248289761001";
  user.email = "janedoe@example.com";
  user.email_verified = true;
  user.name = "Jane Doe";
  user.address_json = R"({"country":"US"})";

  struct Case {
    std::vector<std::string> scopes;
    std::string expected;
  };
  const Case kCases[] = {
      {{"openid"}, R"({"sub":"248289761001"})"},
      {{"openid", "email"}, R"({"sub":"248289761001","email":"janedoe@example.com","email_verified":true})"},
      {{"openid", "profile", "address"},
       R"({"sub":"248289761001","name":"Jane Doe","address":{"country":"US"}})"},
  };
  for (const auto& c : kCases) {
    const std::string body = UserInfoJson(user, c.scopes);
    EXPECT_EQ(boost::json::parse(body), boost::json::parse(c.expected)) << body;
  }
}

}  // namespace
}  // namespace latchkey::oidc
