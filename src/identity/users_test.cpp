#include "identity/users.hpp"

#include <functional>

#include <gtest/gtest.h>

#include "crypto/digest.hpp"

namespace latchkey::identity {
namespace {

store::UserRecord Valid() {
  store::UserRecord u;
  u.user_id = "id";
  u.username = "alice@example.com";
  u.email = "alice@example.com";
  u.name = "Alice Åström";
  u.address_json = R"({"street_address":"1 Main St\nApt 2","country":"SE"})";
  return u;
}

TEST(Users, NormalizeUsernameIsCaseInsensitive) {
  EXPECT_EQ(NormalizeUsername("Alice.B@Example.COM"), "alice.b@example.com");
}

TEST(ValidateUser, AcceptsAValidUser) { EXPECT_TRUE(ValidateUser(Valid()).has_value()); }

TEST(ValidateUser, RejectedTable) {
  struct Case {
    const char* name;
    std::function<void(store::UserRecord&)> mutate;
    const char* field;
  };
  const Case kRejected[] = {
      {"empty username", [](auto& u) { u.username = ""; }, "username"},
      {"space in username", [](auto& u) { u.username = "a b"; }, "username"},
      {"upper case (not normalised)", [](auto& u) { u.username = "Alice"; }, "username"},
      {"long username", [](auto& u) { u.username = std::string(129, 'a'); }, "username"},
      {"unknown status", [](auto& u) { u.status = "locked"; }, "status"},
      {"email without @", [](auto& u) { u.email = "alice"; }, "email"},
      {"email ending in @", [](auto& u) { u.email = "alice@"; }, "email"},
      {"address not an object (OIDC Core 5.1.1)", [](auto& u) { u.address_json = "[1]"; }, "address"},
      {"address not JSON", [](auto& u) { u.address_json = "{"; }, "address"},
      {"control character in name", [](auto& u) { u.name = "a\nb"; }, "name"},
      {"oversized locale", [](auto& u) { u.locale = std::string(513, 'x'); }, "locale"},
  };
  for (const auto& c : kRejected) {
    store::UserRecord u = Valid();
    c.mutate(u);
    auto got = ValidateUser(u);
    ASSERT_FALSE(got.has_value()) << c.name;
    EXPECT_NE(got.error().find(c.field), std::string::npos) << c.name << ": " << got.error();
  }
}

TEST(ValidatePassword, LengthBounds) {
  EXPECT_FALSE(ValidatePassword("short").has_value());
  EXPECT_TRUE(ValidatePassword("eight ch").has_value());
  EXPECT_TRUE(ValidatePassword(std::string(4096, 'x')).has_value());
  EXPECT_FALSE(ValidatePassword(std::string(4097, 'x')).has_value());
}

TEST(NewUserId, Is128RandomBits) {
  crypto::SystemRandom random;
  std::string a = NewUserId(random);
  EXPECT_EQ(a.size(), 22u);
  EXPECT_NE(a, NewUserId(random));
}

TEST(ParseImportLine, ReadsStandardClaims) {
  auto got = ParseImportLine(
      R"({"username":"Bob","password":"correct horse","email":"bob@example.com","email_verified":true,)"
      R"("address":{"country":"DE"},"locale":"de-DE","phone_number_verified":false})");
  ASSERT_TRUE(got.has_value()) << got.error();
  EXPECT_EQ(got->user.username, "bob");
  EXPECT_EQ(got->password, "correct horse");
  EXPECT_TRUE(got->user.email_verified);
  EXPECT_EQ(got->user.address_json, R"({"country":"DE"})");
  EXPECT_EQ(got->user.locale, "de-DE");
}

TEST(ParseImportLine, Rejected) {
  const char* kRejected[] = {
      "not json",
      "[]",
      R"({"password":"correct horse"})",               // no username
      R"({"username":"bob","pasword":"typo"})",        // unknown member
      R"({"username":"bob","email_verified":"yes"})",  // wrong type
      R"({"username":"bob","password":"short"})",      // weak password
      R"({"username":"bob","address":"Main St"})",     // address must be an object
      R"({"username":"b o b"})",
  };
  for (const char* line : kRejected) EXPECT_FALSE(ParseImportLine(line).has_value()) << line;
}

}  // namespace
}  // namespace latchkey::identity
