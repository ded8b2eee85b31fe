#include "oauth/redirect_uri.hpp"

#include <gtest/gtest.h>

namespace latchkey::oauth {
namespace {

store::ClientRecord Client(std::string auth_method, std::vector<std::string> redirect_uris) {
  store::ClientRecord client;
  client.client_id = "app";
  client.token_endpoint_auth_method = std::move(auth_method);
  client.redirect_uris = std::move(redirect_uris);
  return client;
}

struct MatchCase {
  const char* section;
  const char* registered;
  const char* requested;
};

// Public (native) client: "none".
TEST(RedirectUriMatches, PublicClientAccepted) {
  const MatchCase kAccepted[] = {
      {"RFC 9700 §2.1 exact", "https://app.example/cb", "https://app.example/cb"},
      {"RFC 9700 §2.1 exact with query", "https://app.example/cb?x=1", "https://app.example/cb?x=1"},
      {"RFC 8252 §7.1 private-use scheme", "com.example.app:/cb", "com.example.app:/cb"},
      {"RFC 8252 §7.3 v4 any port", "http://127.0.0.1/cb", "http://127.0.0.1:51004/cb"},
      {"RFC 8252 §7.3 v4 port differs", "http://127.0.0.1:8080/cb", "http://127.0.0.1:51004/cb"},
      {"RFC 8252 §7.3 v4 port dropped", "http://127.0.0.1:8080/cb", "http://127.0.0.1/cb"},
      {"RFC 8252 §7.3 v6 any port", "http://[::1]/cb", "http://[::1]:61023/cb"},
      {"RFC 8252 §7.3 v6 port differs", "http://[::1]:1/cb", "http://[::1]:61023/cb"},
      {"RFC 8252 §7.3 with query", "http://127.0.0.1/cb?a=b", "http://127.0.0.1:5/cb?a=b"},
  };
  for (const auto& c : kAccepted) {
    EXPECT_TRUE(RedirectUriMatches(c.requested, Client("none", {"https://other.example/", c.registered})))
        << c.section;
  }
}

TEST(RedirectUriMatches, PublicClientRejected) {
  const MatchCase kRejected[] = {
      {"RFC 9700 §2.1 prefix", "https://app.example/cb", "https://app.example/cb/evil"},
      {"RFC 9700 §2.1 extra query", "https://app.example/cb", "https://app.example/cb?x=1"},
      {"RFC 9700 §2.1 trailing slash", "https://app.example/cb", "https://app.example/cb/"},
      {"RFC 9700 §2.1 case", "https://app.example/cb", "https://APP.example/cb"},
      {"RFC 9700 §2.1 percent-encoding", "https://app.example/cb", "https://app.example/%63b"},
      {"RFC 9700 §2.1 subdomain", "https://app.example/cb", "https://evil.app.example/cb"},
      {"RFC 9700 §2.1 port on https", "https://app.example/cb", "https://app.example:8443/cb"},
      {"RFC 8252 §8.3 localhost exact only", "http://localhost/cb", "http://localhost:5000/cb"},
      {"RFC 8252 §7.3 path differs", "http://127.0.0.1/cb", "http://127.0.0.1:5000/cb2"},
      {"RFC 8252 §7.3 host differs", "http://127.0.0.1/cb", "http://127.0.0.2:5000/cb"},
      {"RFC 8252 §7.3 v4 vs v6", "http://127.0.0.1/cb", "http://[::1]:5000/cb"},
      {"RFC 8252 §7.3 https not loopback rule", "https://127.0.0.1/cb", "https://127.0.0.1:5000/cb"},
      {"RFC 8252 §7.3 scheme differs", "http://127.0.0.1/cb", "https://127.0.0.1:5000/cb"},
      {"RFC 8252 §7.3 userinfo", "http://127.0.0.1/cb", "http://x@127.0.0.1:5000/cb"},
      {"RFC 8252 §7.3 host confusion", "http://127.0.0.1/cb", "http://127.0.0.1:80@evil.example/cb"},
      {"RFC 8252 §7.3 query differs", "http://127.0.0.1/cb?a=b", "http://127.0.0.1:5/cb?a=c"},
      {"RFC 8252 §7.1 private-use exact", "com.example.app:/cb", "com.example.app:/cb2"},
      {"RFC 6749 §3.1.2 empty", "https://app.example/cb", ""},
  };
  for (const auto& c : kRejected) {
    EXPECT_FALSE(RedirectUriMatches(c.requested, Client("none", {c.registered}))) << c.section;
  }
}

// RFC 8252 §7.3 is for native (public) apps: a confidential client gets exact matching only.
TEST(RedirectUriMatches, ConfidentialClientLoopbackIsExact) {
  auto client = Client("client_secret_basic", {"http://127.0.0.1:8080/cb"});
  EXPECT_TRUE(RedirectUriMatches("http://127.0.0.1:8080/cb", client));
  EXPECT_FALSE(RedirectUriMatches("http://127.0.0.1:9090/cb", client));
  EXPECT_FALSE(RedirectUriMatches("http://127.0.0.1/cb", client));
}

TEST(RedirectUriMatches, NoRegisteredUrisMatchesNothing) {
  EXPECT_FALSE(RedirectUriMatches("https://app.example/cb", Client("none", {})));
}

struct RegistrationCase {
  const char* section;
  const char* uri;
  bool public_client;
};

TEST(ValidateRedirectUriForRegistration, Accepted) {
  const RegistrationCase kAccepted[] = {
      {"RFC 6749 §3.1.2 https", "https://app.example/cb", false},
      {"RFC 6749 §3.1.2 https with query retained", "https://app.example/cb?tenant=1", false},
      {"RFC 6749 §3.1.2 https public", "https://app.example/cb", true},
      {"RFC 8252 §7.3 loopback v4", "http://127.0.0.1/cb", true},
      {"RFC 8252 §7.3 loopback v4 port", "http://127.0.0.1:8080/cb", true},
      {"RFC 8252 §7.3 loopback v6", "http://[::1]/cb", true},
      {"RFC 8252 §7.1 private-use", "com.example.app:/oauth2redirect", true},
      {"RFC 8252 §7.1 private-use two slashes", "com.example.app://cb", true},
  };
  for (const auto& c : kAccepted) {
    auto got = ValidateRedirectUriForRegistration(c.uri, c.public_client);
    EXPECT_TRUE(got.has_value()) << c.section << ": " << (got ? "" : got.error().description);
  }
}

TEST(ValidateRedirectUriForRegistration, Rejected) {
  const RegistrationCase kRejected[] = {
      {"RFC 6749 §3.1.2 relative", "/cb", true},
      {"RFC 6749 §3.1.2 empty", "", true},
      {"RFC 6749 §3.1.2 fragment", "https://app.example/cb#x", false},
      {"RFC 6749 §3.1.2 empty fragment", "https://app.example/cb#", false},
      {"RFC 9700 §2.1 userinfo", "https://trusted@evil.example/cb", false},
      {"RFC 9700 §2.1 https without host", "https:/cb", false},
      {"RFC 9700 §2.1 plain http", "http://app.example/cb", true},
      {"RFC 8252 §8.3 localhost", "http://localhost/cb", true},
      {"RFC 8252 §8.3 localhost port", "http://localhost:8080/cb", true},
      {"RFC 8252 §8.3 sub.localhost", "http://app.localhost/cb", true},
      {"RFC 8252 §7.3 loopback for confidential", "http://127.0.0.1/cb", false},
      {"RFC 8252 §7.3 other loopback address", "http://127.0.0.2/cb", true},
      {"RFC 8252 §7.1 private-use for confidential", "com.example.app:/cb", false},
      {"RFC 8252 §7.1 scheme without dot", "myapp:/cb", true},
      {"RFC 8252 §7.1 javascript", "javascript:alert(1)", true},
      {"RFC 8252 §7.1 data", "data:text/html,x", true},
      {"RFC 8252 §7.1 upper case scheme", "Com.Example.App:/cb", true},
      {"RFC 8252 §7.1 upper case https", "HTTPS://app.example/cb", false},
  };
  for (const auto& c : kRejected) {
    auto got = ValidateRedirectUriForRegistration(c.uri, c.public_client);
    ASSERT_FALSE(got.has_value()) << c.section;
    EXPECT_EQ(got.error().code, ErrorCode::kInvalidRequest) << c.section;
  }
}

// RFC 8252 §8.3: the refusal says what to use instead.
TEST(ValidateRedirectUriForRegistration, LocalhostDescriptionPointsToLoopbackIp) {
  auto got = ValidateRedirectUriForRegistration("http://localhost:8080/cb", true);
  ASSERT_FALSE(got.has_value());
  EXPECT_NE(got.error().description.find("127.0.0.1"), std::string::npos) << got.error().description;
}

}  // namespace
}  // namespace latchkey::oauth
