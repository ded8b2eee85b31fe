#include "latchkey/client/token_manager.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <boost/json/serialize.hpp>

#include "common/form.hpp"
#include "testing/test_provider.hpp"

namespace latchkey::client {
namespace {

using testing::kIssuer;
using testing::kNow;
using testing::TestProvider;

constexpr const char* kTokenUrl = "https://op.test/token";

class TokenManagerTest : public ::testing::Test {
 protected:
  TokenManagerTest() {
    config_.client_id = "web";
    config_.client_secret = "s3cret";
    // The token endpoint rotates: every refresh returns access token "at-N" and refresh token
    // "rt-N" (N counts the calls), valid 300 s, after a short pause so that callers overlap.
    op_.transport.On("POST", kTokenUrl, [this](const HttpRequest& request) -> Result<HttpResponse> {
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms_));
      const int n = ++calls_;
      auto form = *common::ParseForm(request.body);
      for (const auto& [k, v] : form) {
        if (k == "refresh_token") seen_refresh_tokens_.push_back(v);
      }
      HttpResponse r;
      if (refuse_) {
        r.status = 400;
        r.body = R"({"error":"invalid_grant"})";
        return r;
      }
      if (fail_) {
        r.status = 503;
        r.body = R"({"error":"temporarily_unavailable"})";
        return r;
      }
      r.status = 200;
      r.body = boost::json::serialize(boost::json::object{{"access_token", "at-" + std::to_string(n)},
                                                          {"token_type", "Bearer"},
                                                          {"expires_in", 300},
                                                          {"refresh_token", "rt-" + std::to_string(n)}});
      return r;
    });
  }

  static TokenSet Initial(int64_t expires_at) {
    TokenSet t;
    t.access_token = "at-0";
    t.token_type = "Bearer";
    t.refresh_token = "rt-0";
    t.expires_at = expires_at;
    return t;
  }

  TestProvider op_;
  Provider provider_{{.issuer = kIssuer}, op_.transport, op_.clock};
  ClientConfig config_;
  std::atomic<int> calls_{0};
  std::vector<std::string> seen_refresh_tokens_;  // written by one flight at a time
  int pause_ms_ = 0;
  bool refuse_ = false;
  bool fail_ = false;
};

TEST_F(TokenManagerTest, AFreshTokenIsReturnedWithoutAskingTheProvider) {
  RelyingParty app(provider_, config_);
  TokenManager manager(app, Initial(kNow + 600), {.refresh_margin_seconds = 60});
  EXPECT_EQ(*manager.AccessToken(), "at-0");
  EXPECT_EQ(calls_.load(), 0);
}

TEST_F(TokenManagerTest, RefreshesWithinTheMarginAndFollowsRotation) {
  RelyingParty app(provider_, config_);
  TokenManager manager(app, Initial(kNow + 30), {.refresh_margin_seconds = 60});
  EXPECT_EQ(*manager.AccessToken(), "at-1");
  EXPECT_EQ(manager.Tokens().refresh_token, "rt-1");
  op_.clock.Advance(250);  // at-1 expires at kNow + 300: within the margin again
  EXPECT_EQ(*manager.AccessToken(), "at-2");
  // RFC 6749 §6 / OAuth 2.1 §4.3.1: the rotated refresh token is the one used next.
  EXPECT_EQ(seen_refresh_tokens_, (std::vector<std::string>{"rt-0", "rt-1"}));
}

TEST_F(TokenManagerTest, ManyThreadsShareOneRefresh) {
  pause_ms_ = 100;
  RelyingParty app(provider_, config_);
  TokenManager manager(app, Initial(kNow - 1));
  std::vector<std::thread> threads;
  std::vector<std::string> got(16);
  for (size_t i = 0; i < got.size(); ++i) {
    threads.emplace_back([&, i] {
      auto t = manager.AccessToken();
      got[i] = t ? *t : "error";
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(calls_.load(), 1);
  for (const auto& t : got) EXPECT_EQ(t, "at-1");
}

TEST_F(TokenManagerTest, ARefusedRefreshTokenMeansSignInAndStaysThatWay) {
  refuse_ = true;
  RelyingParty app(provider_, config_);
  TokenManager manager(app, Initial(kNow - 1));
  EXPECT_EQ(manager.AccessToken().error().code, ErrorCode::kSignInRequired);
  EXPECT_EQ(manager.AccessToken().error().code, ErrorCode::kSignInRequired);
  EXPECT_EQ(calls_.load(), 1);
}

TEST_F(TokenManagerTest, ATransientFailureIsReportedAndRetriedLater) {
  fail_ = true;
  RelyingParty app(provider_, config_);
  TokenManager manager(app, Initial(kNow - 1));
  auto r = manager.AccessToken();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kOAuth);
  EXPECT_EQ(r.error().oauth_error, "temporarily_unavailable");
  fail_ = false;
  EXPECT_EQ(*manager.AccessToken(), "at-2");
}

TEST_F(TokenManagerTest, WithoutARefreshTokenAnExpiredTokenMeansSignIn) {
  RelyingParty app(provider_, config_);
  TokenSet t = Initial(kNow - 1);
  t.refresh_token.clear();
  TokenManager manager(app, t);
  EXPECT_EQ(manager.AccessToken().error().code, ErrorCode::kSignInRequired);
  EXPECT_EQ(calls_.load(), 0);
}

TEST_F(TokenManagerTest, SignOutRevokesTheRefreshToken) {
  op_.transport.Json("POST", "https://op.test/revoke", 200, "{}");
  RelyingParty app(provider_, config_);
  TokenManager manager(app, Initial(kNow + 600));
  ASSERT_TRUE(manager.SignOut());
  EXPECT_EQ(op_.transport.Requests().back().body, "token=rt-0&token_type_hint=refresh_token");
  EXPECT_EQ(manager.AccessToken().error().code, ErrorCode::kSignInRequired);
}

TEST_F(TokenManagerTest, ClientCredentialsAreCachedPerRequest) {
  RelyingParty app(provider_, config_);
  ClientCredentialsCache cache(app, {.refresh_margin_seconds = 60});
  EXPECT_EQ(*cache.AccessToken("api"), "at-1");
  EXPECT_EQ(*cache.AccessToken("api"), "at-1");
  EXPECT_EQ(*cache.AccessToken("api", {{"resource", "https://a.example"}}), "at-2");
  EXPECT_EQ(*cache.AccessToken("other"), "at-3");
  EXPECT_EQ(calls_.load(), 3);
  op_.clock.Advance(241);  // within the margin of at-1's expiry
  EXPECT_EQ(*cache.AccessToken("api"), "at-4");
}

TEST_F(TokenManagerTest, ClientCredentialsSingleFlightAndErrorsAreNotCached) {
  pause_ms_ = 100;
  RelyingParty app(provider_, config_);
  ClientCredentialsCache cache(app);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&] {
      auto t = cache.AccessToken("api");
      if (t && *t == "at-1") ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 12);
  EXPECT_EQ(calls_.load(), 1);

  fail_ = true;
  pause_ms_ = 0;
  EXPECT_FALSE(cache.AccessToken("new-scope"));
  fail_ = false;
  EXPECT_TRUE(cache.AccessToken("new-scope"));
  EXPECT_EQ(calls_.load(), 3);
}

}  // namespace
}  // namespace latchkey::client
