#include "store/postgres/postgres_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "store/postgres/testing/pg_server.hpp"
#include "store/testing/store_contract.hpp"

namespace latchkey::store::testing {
namespace {

using postgres::OpenPostgresStore;
using postgres::PostgresOptions;
using postgres::testing::PgServer;
using postgres::testing::SharedPgServer;

// kPoolSize: smaller than the contract's eight racing threads, so the races also wait for connections.
constexpr int kPoolSize = 4;

// Server returns the shared server, failing the test (with the fixture's reason: e.g. the server
// binaries are not installed) when it cannot start.
PgServer* Server() {
  auto server = SharedPgServer();
  if (!server) {
    ADD_FAILURE() << "cannot start a PostgreSQL server for the tests: " << server.error().message;
    return nullptr;
  }
  return *server;
}

// FreshSchema returns the connection string of a new, empty schema ("" after a reported failure).
std::string FreshSchema() {
  PgServer* server = Server();
  if (server == nullptr) return "";
  auto schema = server->NewSchema();
  if (!schema) {
    ADD_FAILURE() << schema.error().message;
    return "";
  }
  return server->ConnInfo(*schema);
}

std::unique_ptr<Store> OpenOrFail(const std::string& conninfo, int pool_size = kPoolSize) {
  if (conninfo.empty()) return nullptr;
  PostgresOptions options;
  options.conninfo = conninfo;
  options.pool_size = pool_size;
  auto store = OpenPostgresStore(options);
  if (!store) {
    ADD_FAILURE() << "OpenPostgresStore failed: " << static_cast<int>(store.error());
    return nullptr;
  }
  return std::move(*store);
}

std::unique_ptr<Store> MakePostgresStore() { return OpenOrFail(FreshSchema()); }

}  // namespace

INSTANTIATE_TEST_SUITE_P(Postgres, StoreContractTest,
                         ::testing::Values(StoreBackend{"postgres", &MakePostgresStore}));

namespace {

// QueryOrFail runs `sql` on its own connection and returns the first column of its rows.
std::vector<std::string> QueryOrFail(const std::string& conninfo, const std::string& sql) {
  auto rows = PgServer::Query(conninfo, sql);
  EXPECT_TRUE(rows.has_value()) << (rows ? "" : rows.error().message);
  return rows ? *rows : std::vector<std::string>{};
}

const std::vector<std::string> kAllVersions = {"1", "2", "3", "4", "5", "6", "7"};

TEST(PostgresStoreTest, MigrationsAreRecordedAndAppliedOnce) {
  const std::string conninfo = FreshSchema();
  ASSERT_FALSE(conninfo.empty());
  ASSERT_NE(OpenOrFail(conninfo), nullptr);
  ASSERT_NE(OpenOrFail(conninfo), nullptr);  // a second open applies nothing
  EXPECT_EQ(QueryOrFail(conninfo, "SELECT version FROM schema_migrations ORDER BY version"), kAllVersions);
  EXPECT_EQ(QueryOrFail(conninfo, "SELECT value FROM meta WHERE key = 'revision'"),
            std::vector<std::string>{"0"});
}

TEST(PostgresStoreTest, ConcurrentFirstOpensMigrateOnce) {
  // Several nodes starting at once against an empty database: the advisory lock makes them apply
  // each migration exactly once, and every one of them opens successfully.
  constexpr int kNodes = 6;
  const std::string conninfo = FreshSchema();
  ASSERT_FALSE(conninfo.empty());
  std::atomic<int> opened{0};
  AllAtOnce(kNodes, [&](int /*i*/) {
    PostgresOptions options;
    options.conninfo = conninfo;
    options.pool_size = 1;
    if (OpenPostgresStore(options).has_value()) ++opened;
  });
  EXPECT_EQ(opened.load(), kNodes);
  EXPECT_EQ(QueryOrFail(conninfo, "SELECT version FROM schema_migrations ORDER BY version"), kAllVersions);
  EXPECT_EQ(QueryOrFail(conninfo, "SELECT count(*) FROM meta"), std::vector<std::string>{"1"});
}

// Migration 6 on a database a version-5 binary left: the active key is active since it was
// created, other keys get no activation date, the private key bytes stay as they were.
TEST(PostgresStoreTest, UpgradingAVersion5DatabaseDatesTheActiveKeys) {
  const std::string conninfo = FreshSchema();
  ASSERT_FALSE(conninfo.empty());
  {
    auto store = OpenOrFail(conninfo);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->AddSigningKey({"a", "ES256", "pem-a", "active", 42, 0}).has_value());
    ASSERT_TRUE(store->AddSigningKey({"r", "RS256", "pem-r", "retired", 7, 0}).has_value());
  }
  QueryOrFail(
      conninfo,
      "DELETE FROM schema_migrations WHERE version = 7; DROP TABLE throttles; "
      "DELETE FROM schema_migrations WHERE version = 6; ALTER TABLE signing_keys DROP COLUMN active_from; "
      "ALTER TABLE signing_keys DROP COLUMN retired_at");
  auto store = OpenOrFail(conninfo);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(QueryOrFail(conninfo, "SELECT version FROM schema_migrations ORDER BY version"), kAllVersions);
  auto keys = store->ListSigningKeys();
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(*keys, (std::vector<SigningKeyRecord>{{"r", "RS256", "pem-r", "retired", 7, 0, 0},
                                                  {"a", "ES256", "pem-a", "active", 42, 42, 0}}));
}

TEST(PostgresStoreTest, FutureSchemaVersionIsCorrupt) {
  const std::string conninfo = FreshSchema();
  ASSERT_NE(OpenOrFail(conninfo), nullptr);
  QueryOrFail(conninfo, "INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)");
  PostgresOptions options;
  options.conninfo = conninfo;
  auto store = OpenPostgresStore(options);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error(), Error::kCorrupt);
}

TEST(PostgresStoreTest, UnreachableServerIsUnavailable) {
  PostgresOptions options;
  options.conninfo = "host=/nonexistent-latchkey-socket-dir port=1 user=postgres dbname=none";
  auto store = OpenPostgresStore(options);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error(), Error::kUnavailable);
}

TEST(PostgresStoreTest, HashesAndTextAreStoredAsBytes) {
  const std::string conninfo = FreshSchema();
  auto store = OpenOrFail(conninfo);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(store->CreateCode(MakeCode("c", "u")).has_value());
  EXPECT_EQ(QueryOrFail(conninfo,
                        "SELECT length(code_hash) || ' ' || pg_typeof(code_hash) || ' ' || "
                        "encode(user_id, 'escape') FROM authorization_codes"),
            std::vector<std::string>{"32 bytea u"});
}

// The refresh rotation stores an opaque access token in its one statement, grant id included
// (computed in SQL: the contract suite checks the value), and a token that fails to insert fails
// the rotation too: nothing is written.
TEST(PostgresStoreTest, RotateCurrentRefreshTokenStoresTheAccessTokenInItsStatement) {
  auto store = OpenOrFail(FreshSchema());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateUser(MakeUser("u")).has_value());
  RefreshTokenRecord current = MakeRefreshToken("cur", "u", "fam-27");
  current.auth_time = 0;  // stored as 1: an access token for a person has an auth_time
  ASSERT_TRUE(store->CreateRefreshToken(current).has_value());
  AccessTokenRecord taken = MakeAccessToken("taken", "u");
  ASSERT_TRUE(store->CreateAccessToken(taken).has_value());

  AccessTokenRecord given;
  given.token_hash = taken.token_hash;
  given.client_id = current.client_id;
  given.created_at = 1500;
  given.expires_at = 1800;
  CurrentRotation rotation{current.token_hash, current.client_id, Hash("rt-next"), 1500, 1000, given};
  EXPECT_EQ(store->RotateCurrentRefreshToken(rotation).error(), Error::kNotFound) << "the hash exists";
  EXPECT_EQ(*store->GetRefreshToken(current.token_hash), current) << "nothing written";
  EXPECT_EQ(store->GetRefreshToken(Hash("rt-next")).error(), Error::kNotFound);

  rotation.access_token->token_hash = Hash("at-new");
  auto rotated = store->RotateCurrentRefreshToken(rotation);
  ASSERT_TRUE(rotated.has_value());
  EXPECT_TRUE(rotated->access_token_stored);
  auto stored = store->GetAccessToken(Hash("at-new"));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->grant_id, "xZ1cLHR-aLTxKkm9zA_SSa");  // oauth::GrantId("fam-27")
  EXPECT_EQ(stored->auth_time, 1);
  EXPECT_EQ(stored->audience, "");
  EXPECT_EQ(stored->user_id, "u");
}

// The code grant's redemption is one statement: a redemption that fails writes none of its tokens.
TEST(PostgresStoreTest, RedeemCodeWithTokensWritesNothingUnlessItSpendsTheCode) {
  auto store = OpenOrFail(FreshSchema());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateUser(MakeUser("u")).has_value());
  const AuthorizationCodeRecord c = MakeCode("a", "u", 2000);
  ASSERT_TRUE(store->CreateCode(c).has_value());
  ASSERT_TRUE(store->RedeemCode(c.code_hash, 1999).has_value());
  GrantTokens late{MakeRefreshToken("late", "u"), MakeAccessToken("late", "u")};
  EXPECT_EQ(store->RedeemCodeWithTokens(c.code_hash, 1999, late).error(), Error::kConflict);
  EXPECT_EQ(store->GetRefreshToken(late.refresh_token->token_hash).error(), Error::kNotFound);
  EXPECT_EQ(store->GetAccessToken(late.access_token->token_hash).error(), Error::kNotFound);
}

TEST(PostgresStoreTest, PoolNeverOpensMoreThanItsSize) {
  constexpr int kPool = 2;
  constexpr int kThreads = 8;
  PgServer* server = Server();
  ASSERT_NE(server, nullptr);
  auto schema = server->NewSchema();
  ASSERT_TRUE(schema.has_value());
  auto store = OpenOrFail(server->ConnInfo(*schema), kPool);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateUser(MakeUser("u")).has_value());
  std::atomic<int> failures{0};
  std::atomic<int> most_seen{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        if (!store->CreateSession(MakeSession(std::to_string(t) + "-" + std::to_string(i), "u"))
                 .has_value()) {
          ++failures;
        }
      }
    });
  }
  // The application_name of the store's sessions is the schema name (PgServer::ConnInfo).
  for (int i = 0; i < 20; ++i) {
    auto rows =
        PgServer::Query(server->ConnInfo(),
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + *schema + "'");
    if (rows && rows->size() == 1) most_seen = std::max(most_seen.load(), std::stoi(rows->front()));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(most_seen.load(), kPool);
  EXPECT_GE(most_seen.load(), 1);
}

// The races below run on two stores sharing one schema: two nodes of one deployment, each with its
// own pool, so the only thing that can keep both from winning is the database.
class TwoNodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string conninfo = FreshSchema();
    ASSERT_FALSE(conninfo.empty());
    a_ = OpenOrFail(conninfo);
    b_ = OpenOrFail(conninfo);
    ASSERT_NE(a_, nullptr);
    ASSERT_NE(b_, nullptr);
    ASSERT_TRUE(a_->CreateUser(MakeUser("u")).has_value());
  }

  // Race runs `on_a` and `on_b` at the same moment on two threads.
  template <class A, class B>
  static void Race(A&& on_a, B&& on_b) {
    std::atomic<int> ready{0};
    auto start = [&ready] {
      ++ready;
      while (ready.load() < 2) std::this_thread::yield();
    };
    std::thread ta([&] {
      start();
      on_a();
    });
    std::thread tb([&] {
      start();
      on_b();
    });
    ta.join();
    tb.join();
  }

  static constexpr int kRounds = 50;
  std::unique_ptr<Store> a_;
  std::unique_ptr<Store> b_;
};

TEST_F(TwoNodesTest, RedemptionsHaveExactlyOneWinner) {
  for (int round = 0; round < kRounds; ++round) {
    const AuthorizationCodeRecord code = MakeCode("race" + std::to_string(round), "u", 2000);
    ASSERT_TRUE(a_->CreateCode(code).has_value());
    Result<AuthorizationCodeRecord> ra = Error::kNone;
    Result<AuthorizationCodeRecord> rb = Error::kNone;
    Race([&] { ra = a_->RedeemCode(code.code_hash, 1000); },
         [&] { rb = b_->RedeemCode(code.code_hash, 1000); });
    ASSERT_NE(ra.has_value(), rb.has_value()) << "round " << round;
    const auto& winner = ra.has_value() ? ra : rb;
    const auto& loser = ra.has_value() ? rb : ra;
    EXPECT_EQ(*winner, code) << "round " << round;
    EXPECT_EQ(loser.error(), Error::kConflict) << "round " << round;
  }
}

TEST_F(TwoNodesTest, RotationsHaveExactlyOneWinner) {
  for (int round = 0; round < kRounds; ++round) {
    const std::string r = std::to_string(round);
    const RefreshTokenRecord current = MakeRefreshToken("race" + r, "u", "fam" + r);
    ASSERT_TRUE(a_->CreateRefreshToken(current).has_value());
    const RefreshTokenRecord successor_a = MakeRefreshToken("A" + r, "u", "fam" + r);
    const RefreshTokenRecord successor_b = MakeRefreshToken("B" + r, "u", "fam" + r);
    Result<RotationResult> ra = Error::kNone;
    Result<RotationResult> rb = Error::kNone;
    Race([&] { ra = a_->RotateRefreshToken(current.token_hash, successor_a, 1500, 30); },
         [&] { rb = b_->RotateRefreshToken(current.token_hash, successor_b, 1500, 30); });
    // Different successors: the loser's presentation is reuse (kConflict), never a second branch.
    ASSERT_NE(ra.has_value(), rb.has_value()) << "round " << round;
    const auto& winner = ra.has_value() ? ra : rb;
    const auto& loser = ra.has_value() ? rb : ra;
    EXPECT_FALSE(winner->retried);
    EXPECT_EQ(winner->previous, current);
    EXPECT_EQ(loser.error(), Error::kConflict) << "round " << round;
    const RefreshTokenRecord& won = ra.has_value() ? successor_a : successor_b;
    const RefreshTokenRecord& lost = ra.has_value() ? successor_b : successor_a;
    EXPECT_EQ(a_->GetRefreshToken(current.token_hash)->successor_hash, won.token_hash);
    EXPECT_EQ(*b_->GetRefreshToken(won.token_hash), won);
    EXPECT_EQ(b_->GetRefreshToken(lost.token_hash).error(), Error::kNotFound);
  }
}

TEST_F(TwoNodesTest, ConsumptionsOfAnApprovedCodeHaveExactlyOneWinner) {
  for (int round = 0; round < kRounds; ++round) {
    const DeviceCodeRecord code = MakeDeviceCode("race" + std::to_string(round), 2000);
    ASSERT_TRUE(a_->CreateDeviceCode(code).has_value());
    ASSERT_TRUE(a_->DecideDeviceCode(code.user_code_hash, true, MakeDecision("u"), 1000).has_value());
    Result<DeviceCodeRecord> pa = Error::kNone;
    Result<DeviceCodeRecord> pb = Error::kNone;
    Result<void> ca = Error::kNone;
    Result<void> cb = Error::kNone;
    Race(
        [&] {
          pa = a_->PollDeviceCode(code.device_code_hash, 1100);
          ca = a_->ConsumeDeviceCode(code.device_code_hash, 1100);
        },
        [&] {
          pb = b_->PollDeviceCode(code.device_code_hash, 1100);
          cb = b_->ConsumeDeviceCode(code.device_code_hash, 1100);
        });
    ASSERT_TRUE(pa.has_value()) << "round " << round;
    ASSERT_TRUE(pb.has_value()) << "round " << round;
    // The row lock orders the polls: exactly one found the code never polled.
    EXPECT_NE(pa->last_polled_at == 0, pb->last_polled_at == 0) << "round " << round;
    // Exactly one node spent the approval; the other found it spent.
    ASSERT_NE(ca.has_value(), cb.has_value()) << "round " << round;
    EXPECT_EQ((ca.has_value() ? cb : ca).error(), Error::kConflict) << "round " << round;
    EXPECT_EQ(a_->GetDeviceCodeByUserCode(code.user_code_hash)->status, "consumed");
  }
}

TEST_F(TwoNodesTest, DecisionsHaveExactlyOneWinner) {
  for (int round = 0; round < kRounds; ++round) {
    const DeviceCodeRecord code = MakeDeviceCode("decide" + std::to_string(round), 2000);
    ASSERT_TRUE(a_->CreateDeviceCode(code).has_value());
    Result<DeviceCodeRecord> ra = Error::kNone;
    Result<DeviceCodeRecord> rb = Error::kNone;
    Race([&] { ra = a_->DecideDeviceCode(code.user_code_hash, true, MakeDecision("u"), 1000); },
         [&] { rb = b_->DecideDeviceCode(code.user_code_hash, false, MakeDecision("u"), 1000); });
    ASSERT_NE(ra.has_value(), rb.has_value()) << "round " << round;
    EXPECT_EQ((ra.has_value() ? rb : ra).error(), Error::kConflict) << "round " << round;
    EXPECT_EQ(a_->GetDeviceCodeByUserCode(code.user_code_hash)->status,
              ra.has_value() ? "approved" : "denied");
  }
}

// The restart tests stop the shared server; they run last (their suite is declared last) and
// leave it running.
TEST(PostgresStoreRestartTest, CallsFailAsUnavailableWhileTheServerIsDownAndRecoverAfter) {
  PgServer* server = Server();
  ASSERT_NE(server, nullptr);
  auto schema = server->NewSchema();
  ASSERT_TRUE(schema.has_value());
  auto store = OpenOrFail(server->ConnInfo(*schema));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateClient(MakeClient("before")).has_value());
  ASSERT_TRUE(store->CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(store->CreateRefreshToken(MakeRefreshToken("rt", "u")).has_value());

  ASSERT_TRUE(server->Stop().has_value());
  // Reads, single-statement writes and transactions all say "unavailable", none hangs or crashes.
  EXPECT_EQ(store->GetClient("before").error(), Error::kUnavailable);
  EXPECT_EQ(store->CreateClient(MakeClient("during")).error(), Error::kUnavailable);
  EXPECT_EQ(store->RotateRefreshToken(Hash("rt-rt"), MakeRefreshToken("next", "u"), 1500, 0).error(),
            Error::kUnavailable);
  EXPECT_EQ(store->Revision().error(), Error::kUnavailable);

  ASSERT_TRUE(server->Resume().has_value());
  // The same store, not reopened: the next call connects afresh.
  auto got = store->GetClient("before");
  ASSERT_TRUE(got.has_value()) << static_cast<int>(got.error());
  EXPECT_EQ(*got, MakeClient("before"));
  EXPECT_TRUE(store->CreateClient(MakeClient("after")).has_value());
  auto rotated = store->RotateRefreshToken(Hash("rt-rt"), MakeRefreshToken("next", "u"), 1500, 0);
  ASSERT_TRUE(rotated.has_value());
  EXPECT_FALSE(rotated->retried);
}

TEST(PostgresStoreRestartTest, ARestartBetweenCallsCostsNoFailedCall) {
  PgServer* server = Server();
  ASSERT_NE(server, nullptr);
  auto schema = server->NewSchema();
  ASSERT_TRUE(schema.has_value());
  auto store = OpenOrFail(server->ConnInfo(*schema));
  ASSERT_NE(store, nullptr);
  // Fill the pool with idle connections.
  std::vector<std::thread> threads;
  for (int t = 0; t < kPoolSize; ++t) threads.emplace_back([&] { (void)store->Revision(); });
  for (auto& th : threads) th.join();

  ASSERT_TRUE(server->Stop().has_value());
  ASSERT_TRUE(server->Resume().has_value());
  // Every idle connection was closed by the server; each is noticed before use and replaced.
  for (int i = 0; i < 2 * kPoolSize; ++i) {
    auto revision = store->Revision();
    ASSERT_TRUE(revision.has_value()) << "call " << i << ": " << static_cast<int>(revision.error());
    EXPECT_EQ(*revision, 0);
  }
}

TEST(PostgresStoreRestartTest, ATerminatedSessionIsReplaced) {
  PgServer* server = Server();
  ASSERT_NE(server, nullptr);
  auto schema = server->NewSchema();
  ASSERT_TRUE(schema.has_value());
  auto store = OpenOrFail(server->ConnInfo(*schema), 1);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Revision().has_value());
  // An operator (or a failover) kills the store's session while it is idle.
  EXPECT_EQ(QueryOrFail(server->ConnInfo(),
                        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM "
                        "pg_stat_activity WHERE application_name = '" +
                            *schema + "') AS t"),
            std::vector<std::string>{"1"});
  // pg_terminate_backend returns before the session is gone; give it a moment to close.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto revision = store->Revision();
  ASSERT_TRUE(revision.has_value()) << static_cast<int>(revision.error());
}

}  // namespace
}  // namespace latchkey::store::testing
