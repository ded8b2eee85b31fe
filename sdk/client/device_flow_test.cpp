#include "latchkey/client/device_flow.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <thread>

#include <boost/json/serialize.hpp>

#include "common/form.hpp"
#include "testing/test_provider.hpp"

namespace latchkey::client {
namespace {

using testing::kIssuer;
using testing::kNow;
using testing::TestProvider;

constexpr const char* kDeviceUrl = "https://op.test/device_authorization";
constexpr const char* kTokenUrl = "https://op.test/token";

class DeviceFlowTest : public ::testing::Test {
 protected:
  DeviceFlowTest() {
    op_.metadata_["device_authorization_endpoint"] = kDeviceUrl;
    op_.PublishMetadata();
    op_.transport.Json("POST", kDeviceUrl, 200,
                       R"({"device_code":"dc-secret","user_code":"BCDF-GHJK",)"
                       R"("verification_uri":"https://op.test/device",)"
                       R"("verification_uri_complete":"https://op.test/device?user_code=BCDF-GHJK",)"
                       R"("expires_in":600,"interval":5})");
    // The token endpoint answers from a script; the last answer repeats.
    op_.transport.On("POST", kTokenUrl, [this](const HttpRequest&) -> Result<HttpResponse> {
      poll_times_.push_back(op_.clock.NowSeconds());
      std::string body = script_.front();
      if (script_.size() > 1) script_.pop_front();
      HttpResponse r;
      r.status = body.find("\"error\"") == std::string::npos ? 200 : 400;
      r.body = body;
      return r;
    });
    config_.client_id = "tv";
    config_.scope = "openid offline_access";
  }

  // FakeSleep advances the fake clock instead of waiting.
  DeviceFlowOptions FakeSleep() {
    return {.sleep = [this](std::chrono::seconds d, std::stop_token stop) {
      if (stop.stop_requested()) return false;
      op_.clock.Advance(d.count());
      return true;
    }};
  }

  std::string IdToken() {
    auto claims = TestProvider::Claims();
    claims["aud"] = "tv";
    claims["azp"] = "tv";
    claims.erase("nonce");
    return TestProvider::Sign(op_.rsa_, claims);
  }

  TestProvider op_;
  Provider provider_{{.issuer = kIssuer}, op_.transport, op_.clock};
  ClientConfig config_;
  std::deque<std::string> script_;
  std::vector<int64_t> poll_times_;
};

// RFC 8628 §3.1-3.2.
TEST_F(DeviceFlowTest, StartSendsTheClientAndScopeAndParsesTheAnswer) {
  RelyingParty app(provider_, config_);
  DeviceFlow flow(app, FakeSleep());
  auto a = flow.Start();
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->user_code, "BCDF-GHJK");
  EXPECT_EQ(a->verification_uri_complete, "https://op.test/device?user_code=BCDF-GHJK");
  EXPECT_EQ(a->expires_at, kNow + 600);
  EXPECT_EQ(a->interval_seconds, 5);
  auto form = *common::ParseForm(op_.transport.Requests().back().body);
  EXPECT_EQ(form, (common::FormFields{{"scope", "openid offline_access"}, {"client_id", "tv"}}));
}

TEST_F(DeviceFlowTest, StartWithoutTheEndpointIsADiscoveryError) {
  op_.metadata_.erase("device_authorization_endpoint");
  op_.PublishMetadata();
  RelyingParty app(provider_, config_);
  EXPECT_EQ(DeviceFlow(app).Start().error().code, ErrorCode::kDiscovery);
}

// §3.4-3.5: pending keeps polling at the interval; slow_down adds 5 s for good.
TEST_F(DeviceFlowTest, PollsAtTheIntervalAndSlowsDown) {
  script_ = {
      R"({"error":"authorization_pending"})", R"({"error":"slow_down"})",
      R"({"error":"authorization_pending"})",
      R"({"access_token":"at","token_type":"Bearer","expires_in":60,"id_token":")" + IdToken() + R"("})"};
  RelyingParty app(provider_, config_);
  DeviceFlow flow(app, FakeSleep());
  auto tokens = flow.Wait(*flow.Start());
  ASSERT_TRUE(tokens) << tokens.error();
  EXPECT_EQ(tokens->access_token, "at");
  ASSERT_TRUE(tokens->id_claims);
  EXPECT_EQ(tokens->id_claims->sub, "alice");
  EXPECT_EQ(poll_times_, (std::vector<int64_t>{kNow + 5, kNow + 10, kNow + 20, kNow + 30}));
}

TEST_F(DeviceFlowTest, DenialIsAccessDenied) {
  script_ = {R"({"error":"authorization_pending"})", R"({"error":"access_denied"})"};
  RelyingParty app(provider_, config_);
  DeviceFlow flow(app, FakeSleep());
  auto r = flow.Wait(*flow.Start());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kOAuth);
  EXPECT_EQ(r.error().oauth_error, "access_denied");
}

TEST_F(DeviceFlowTest, ExpiryStopsPolling) {
  script_ = {R"({"error":"authorization_pending"})"};
  RelyingParty app(provider_, config_);
  DeviceFlow flow(app, FakeSleep());
  auto r = flow.Wait(*flow.Start());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().oauth_error, "expired_token");
  EXPECT_LE(poll_times_.back(), kNow + 600);
  EXPECT_EQ(poll_times_.size(), 600U / 5U);

  script_ = {R"({"error":"expired_token"})"};
  poll_times_.clear();
  op_.clock.Set(kNow);
  r = flow.Wait(*flow.Start());
  EXPECT_EQ(r.error().oauth_error, "expired_token");
  EXPECT_EQ(poll_times_.size(), 1U);
}

TEST_F(DeviceFlowTest, CancellationStopsAWaitThatSleepsForReal) {
  script_ = {R"({"error":"authorization_pending"})"};
  RelyingParty app(provider_, config_);
  DeviceFlow flow(app);  // the real sleep: 5 s per interval
  auto a = flow.Start();
  ASSERT_TRUE(a);
  std::stop_source stop;
  const auto started = std::chrono::steady_clock::now();
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop.request_stop();
  });
  auto r = flow.Wait(*a, stop.get_token());
  canceller.join();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  EXPECT_TRUE(poll_times_.empty());
}

TEST_F(DeviceFlowTest, AnIncompleteStartAnswerIsRefused) {
  op_.transport.Json("POST", kDeviceUrl, 200,
                     R"({"device_code":"d","verification_uri":"https://op.test/device"})");
  RelyingParty app(provider_, config_);
  EXPECT_EQ(DeviceFlow(app).Start().error().code, ErrorCode::kInvalidResponse);
}

}  // namespace
}  // namespace latchkey::client
