#include "server/housekeeping.hpp"

#include <gtest/gtest.h>

#include "crypto/digest.hpp"
#include "store/memory/memory_store.hpp"

namespace latchkey::server {
namespace {

constexpr int64_t kNow = 1'700'000'000;

class HousekeepingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::UserRecord user;
    user.user_id = "u1";
    user.username = "alice";
    ASSERT_TRUE(store_->CreateUser(user));
  }

  void AddCode(int i, int64_t expires_at) {
    store::AuthorizationCodeRecord c;
    c.code_hash = crypto::Sha256("code" + std::to_string(i));
    c.client_id = "app";
    c.user_id = "u1";
    c.expires_at = expires_at;
    ASSERT_TRUE(store_->CreateCode(c));
  }

  std::unique_ptr<store::Store> store_ = store::memory::NewMemoryStore();
  common::Metrics metrics_;
};

// Bounded batches still drain a backlog larger than one batch, and nothing valid is touched.
TEST_F(HousekeepingTest, DrainsBacklogInBatchesAndKeepsValidRows) {
  for (int i = 0; i < 25; ++i) AddCode(i, kNow - 1);
  AddCode(100, kNow);  // expired exactly now: expires_at <= now
  AddCode(101, kNow + 60);
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(store_->PutRevocation({"jti:" + std::to_string(i), kNow - 10, kNow - 1}));
  }
  ASSERT_TRUE(store_->PutRevocation({"jti:live", kNow - 10, kNow + 100}));
  store::AccessTokenRecord live;
  live.token_hash = crypto::Sha256("at-live");
  live.client_id = "svc";
  live.subject = "svc";
  live.expires_at = kNow + 100;
  ASSERT_TRUE(store_->CreateAccessToken(live));
  store::AccessTokenRecord dead = live;
  dead.token_hash = crypto::Sha256("at-dead");
  dead.expires_at = kNow - 5;
  ASSERT_TRUE(store_->CreateAccessToken(dead));

  HousekeepingPolicy policy;
  policy.batch = 10;
  policy.session_absolute_lifetime = 3600;
  policy.session_idle_lifetime = 600;
  HousekeepingReport report = RunHousekeeping(*store_, policy, kNow, metrics_);
  EXPECT_EQ(report.codes, 26);
  EXPECT_EQ(report.revocations, 7);
  EXPECT_EQ(report.access_tokens, 1);
  EXPECT_EQ(report.Total(), 34);
  EXPECT_TRUE(store_->GetCode(crypto::Sha256("code101")));
  EXPECT_FALSE(store_->GetCode(crypto::Sha256("code0")));
  EXPECT_TRUE(store_->GetAccessToken(live.token_hash));
  EXPECT_EQ(*store_->LatestRevocation({"jti:live"}), kNow - 10);
  EXPECT_EQ(*store_->LatestRevocation({"jti:0"}), 0);

  const std::string text = metrics_.Render();
  EXPECT_NE(text.find("latchkey_housekeeping_deleted_total{kind=\"codes\"} 26"), std::string::npos) << text;
  EXPECT_NE(text.find("latchkey_housekeeping_runs_total{outcome=\"ok\"} 1"), std::string::npos) << text;

  // A second run finds nothing more.
  EXPECT_EQ(RunHousekeeping(*store_, policy, kNow, metrics_).Total(), 0);
}

}  // namespace
}  // namespace latchkey::server
