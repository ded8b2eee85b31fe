#include "oidc/claims.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace latchkey::oidc {
namespace {

store::UserRecord FullUser() {
  store::UserRecord u;
  u.user_id = "u-248289761001";
  u.username = "jane";
  u.password_hash = "$argon2id$secret";
  u.name = "Jane Doe";
  u.given_name = "Jane";
  u.family_name = "Doe";
  u.preferred_username = "j.doe";
  u.email = "janedoe@example.com";
  u.email_verified = true;
  u.phone_number = "+1 (425) 555-1212";
  u.phone_number_verified = false;
  u.address_json = R"({"street_address":"1234 Hollywood Blvd.","locality":"Los Angeles","country":"US"})";
  u.picture = "http://example.com/janedoe/me.jpg";
  u.locale = "en-US";
  u.zoneinfo = "America/Los_Angeles";
  u.created_at = 1'311'000'000;
  u.updated_at = 1'311'280'970;
  return u;
}

std::set<std::string> Keys(const boost::json::object& o) {
  std::set<std::string> keys;
  for (const auto& m : o) keys.emplace(m.key());
  return keys;
}

const std::set<std::string> kProfile = {"name",    "family_name", "given_name", "preferred_username",
                                        "picture", "zoneinfo",    "locale",     "updated_at"};

std::set<std::string> Plus(std::set<std::string> a, const std::set<std::string>& b) {
  a.insert(b.begin(), b.end());
  return a;
}

// §5.4: each scope value releases exactly its claims, and nothing else leaks.
TEST(ClaimsForScopes, EachScopeAddsExactlyItsClaims) {
  struct Case {
    std::string name;
    std::vector<std::string> scopes;
    std::set<std::string> keys;
  };
  const Case kCases[] = {
      {"no scopes", {}, {"sub"}},
      {"openid only", {"openid"}, {"sub"}},
      {"unknown scope", {"openid", "offline_access", "admin"}, {"sub"}},
      {"profile", {"openid", "profile"}, Plus({"sub"}, kProfile)},
      {"email", {"openid", "email"}, {"sub", "email", "email_verified"}},
      {"address", {"openid", "address"}, {"sub", "address"}},
      {"phone", {"openid", "phone"}, {"sub", "phone_number", "phone_number_verified"}},
      {"duplicate scope", {"email", "email"}, {"sub", "email", "email_verified"}},
      {"scope names are case-sensitive", {"Email", "PROFILE"}, {"sub"}},
      {"all",
       {"openid", "profile", "email", "address", "phone"},
       Plus({"sub", "email", "email_verified", "address", "phone_number", "phone_number_verified"},
            kProfile)},
  };
  const store::UserRecord user = FullUser();
  for (const auto& c : kCases) {
    auto claims = ClaimsForScopes(user, c.scopes);
    EXPECT_EQ(Keys(claims), c.keys) << c.name;
    // Never any credential or internal field, whatever the scopes.
    for (const char* secret : {"password_hash", "username", "status", "created_at"}) {
      EXPECT_FALSE(claims.contains(secret)) << c.name << ": " << secret;
    }
  }
}

TEST(ClaimsForScopes, ValuesAndTypes) {
  auto claims = ClaimsForScopes(FullUser(), {"openid", "profile", "email", "address", "phone"});
  EXPECT_EQ(claims.at("sub").as_string(), "u-248289761001");
  EXPECT_EQ(claims.at("name").as_string(), "Jane Doe");
  EXPECT_EQ(claims.at("given_name").as_string(), "Jane");
  EXPECT_EQ(claims.at("family_name").as_string(), "Doe");
  EXPECT_EQ(claims.at("preferred_username").as_string(), "j.doe");
  EXPECT_EQ(claims.at("picture").as_string(), "http://example.com/janedoe/me.jpg");
  EXPECT_EQ(claims.at("zoneinfo").as_string(), "America/Los_Angeles");
  EXPECT_EQ(claims.at("locale").as_string(), "en-US");
  // §5.1: updated_at is a JSON number, not a string.
  ASSERT_TRUE(claims.at("updated_at").is_int64());
  EXPECT_EQ(claims.at("updated_at").as_int64(), 1'311'280'970);
  EXPECT_EQ(claims.at("email").as_string(), "janedoe@example.com");
  ASSERT_TRUE(claims.at("email_verified").is_bool());
  EXPECT_TRUE(claims.at("email_verified").as_bool());
  EXPECT_EQ(claims.at("phone_number").as_string(), "+1 (425) 555-1212");
  ASSERT_TRUE(claims.at("phone_number_verified").is_bool());
  EXPECT_FALSE(claims.at("phone_number_verified").as_bool());
  // §5.1.1: address is a JSON object, not the stored text.
  ASSERT_TRUE(claims.at("address").is_object());
  EXPECT_EQ(claims.at("address").as_object().at("locality").as_string(), "Los Angeles");
  EXPECT_EQ(claims.at("address").as_object().at("country").as_string(), "US");
}

// §5.3.2: claims without a value are omitted, together with their *_verified flag.
TEST(ClaimsForScopes, EmptyValuesOmitted) {
  struct Case {
    std::string name;
    void (*edit)(store::UserRecord&);
    std::set<std::string> absent;
  };
  const Case kCases[] = {
      {"no name", [](store::UserRecord& u) { u.name.clear(); }, {"name"}},
      {"no given_name", [](store::UserRecord& u) { u.given_name.clear(); }, {"given_name"}},
      {"no family_name", [](store::UserRecord& u) { u.family_name.clear(); }, {"family_name"}},
      {"no preferred_username",
       [](store::UserRecord& u) { u.preferred_username.clear(); },
       {"preferred_username"}},
      {"no picture", [](store::UserRecord& u) { u.picture.clear(); }, {"picture"}},
      {"no zoneinfo", [](store::UserRecord& u) { u.zoneinfo.clear(); }, {"zoneinfo"}},
      {"no locale", [](store::UserRecord& u) { u.locale.clear(); }, {"locale"}},
      {"updated_at never recorded", [](store::UserRecord& u) { u.updated_at = 0; }, {"updated_at"}},
      {"no email: no email_verified either",
       [](store::UserRecord& u) { u.email.clear(); },
       {"email", "email_verified"}},
      {"no phone: no phone_number_verified either",
       [](store::UserRecord& u) { u.phone_number.clear(); },
       {"phone_number", "phone_number_verified"}},
      {"no address", [](store::UserRecord& u) { u.address_json.clear(); }, {"address"}},
      {"address not JSON",
       [](store::UserRecord& u) { u.address_json = "1234 Hollywood Blvd."; },
       {"address"}},
      {"address a JSON string",
       [](store::UserRecord& u) { u.address_json = R"("1234 Hollywood Blvd.")"; },
       {"address"}},
      {"address a JSON array", [](store::UserRecord& u) { u.address_json = "[]"; }, {"address"}},
  };
  const std::vector<std::string> all = {"openid", "profile", "email", "address", "phone"};
  const auto full_keys = Keys(ClaimsForScopes(FullUser(), all));
  for (const auto& c : kCases) {
    store::UserRecord user = FullUser();
    c.edit(user);
    auto claims = ClaimsForScopes(user, all);
    std::set<std::string> expected = full_keys;
    for (const auto& a : c.absent) expected.erase(a);
    EXPECT_EQ(Keys(claims), expected) << c.name;
    for (const auto& m : claims) {
      EXPECT_FALSE(m.value().is_string() && m.value().as_string().empty()) << c.name << ": " << m.key();
      EXPECT_FALSE(m.value().is_null()) << c.name << ": " << m.key();
    }
  }
}

// A verified flag is released as false, not omitted, when the value exists but is unverified.
TEST(ClaimsForScopes, UnverifiedFlagIsFalseNotOmitted) {
  store::UserRecord user = FullUser();
  user.email_verified = false;
  auto claims = ClaimsForScopes(user, {"email"});
  ASSERT_TRUE(claims.contains("email_verified"));
  EXPECT_FALSE(claims.at("email_verified").as_bool());
}

}  // namespace
}  // namespace latchkey::oidc
