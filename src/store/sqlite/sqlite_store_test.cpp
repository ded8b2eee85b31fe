#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "store/sqlite/sqlite_testing.hpp"
#include "store/testing/store_contract.hpp"

namespace latchkey::store::testing {
namespace {

namespace fs = std::filesystem;

// TempDbPath returns a fresh path in the temp directory, unique per process and call.
std::string TempDbPath() {
  static std::atomic<int> counter{0};
  fs::path p = fs::temp_directory_path() / ("latchkey_store_test_" + std::to_string(::getpid()) + "_" +
                                            std::to_string(counter.fetch_add(1)) + ".db");
  return p.string();
}

// RemoveDb deletes the database and its WAL side files.
void RemoveDb(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(path + suffix, ec);
}

// TempDb owns a temp path for one test and deletes the files when destroyed.
class TempDb {
 public:
  TempDb() : path_(TempDbPath()) {}
  TempDb(const TempDb&) = delete;
  TempDb& operator=(const TempDb&) = delete;
  ~TempDb() { RemoveDb(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// TempFileStore forwards to a SQLite store and deletes its file when destroyed.
class TempFileStore final : public Store {
 public:
  TempFileStore(std::unique_ptr<TempDb> db, std::unique_ptr<Store> inner)
      : db_(std::move(db)), inner_(std::move(inner)) {}
  ~TempFileStore() override { inner_.reset(); }  // close before db_ deletes the files

  Result<ClientRecord> GetClient(const std::string& id) override { return inner_->GetClient(id); }
  Result<std::vector<ClientRecord>> ListClients() override { return inner_->ListClients(); }
  Result<void> CreateClient(const ClientRecord& c) override { return inner_->CreateClient(c); }
  Result<void> UpdateClient(const ClientRecord& c) override { return inner_->UpdateClient(c); }
  Result<void> DeleteClient(const std::string& id) override { return inner_->DeleteClient(id); }
  Result<std::vector<SigningKeyRecord>> ListSigningKeys() override { return inner_->ListSigningKeys(); }
  Result<void> AddSigningKey(const SigningKeyRecord& k) override { return inner_->AddSigningKey(k); }
  Result<void> ActivateSigningKey(const std::string& kid, int64_t now) override {
    return inner_->ActivateSigningKey(kid, now);
  }
  Result<void> RetireSigningKey(const std::string& kid, int64_t now) override {
    return inner_->RetireSigningKey(kid, now);
  }
  Result<void> DeleteSigningKey(const std::string& kid) override { return inner_->DeleteSigningKey(kid); }
  Result<void> ResealSigningKey(const std::string& kid, const std::string& expected,
                                const std::string& replacement) override {
    return inner_->ResealSigningKey(kid, expected, replacement);
  }
  Result<UserRecord> GetUser(const std::string& id) override { return inner_->GetUser(id); }
  Result<UserRecord> GetUserByUsername(const std::string& username) override {
    return inner_->GetUserByUsername(username);
  }
  Result<std::vector<UserRecord>> ListUsers() override { return inner_->ListUsers(); }
  Result<void> CreateUser(const UserRecord& u) override { return inner_->CreateUser(u); }
  Result<void> UpdateUser(const UserRecord& u) override { return inner_->UpdateUser(u); }
  Result<void> DeleteUser(const std::string& id) override { return inner_->DeleteUser(id); }
  Result<void> CreateSession(const SessionRecord& s) override { return inner_->CreateSession(s); }
  Result<SessionRecord> GetSession(const std::string& h) override { return inner_->GetSession(h); }
  Result<void> TouchSession(const std::string& h, int64_t now) override {
    return inner_->TouchSession(h, now);
  }
  Result<void> RevokeSession(const std::string& h) override { return inner_->RevokeSession(h); }
  Result<std::vector<SessionRecord>> ListUserSessions(const std::string& id) override {
    return inner_->ListUserSessions(id);
  }
  Result<int64_t> DeleteExpiredSessions(int64_t created_before, int64_t seen_before, int64_t limit) override {
    return inner_->DeleteExpiredSessions(created_before, seen_before, limit);
  }
  Result<void> AddSessionClient(const std::string& h, const std::string& client_id) override {
    return inner_->AddSessionClient(h, client_id);
  }
  Result<std::vector<std::string>> ListSessionClients(const std::string& h) override {
    return inner_->ListSessionClients(h);
  }
  Result<void> CreateCode(const AuthorizationCodeRecord& c) override { return inner_->CreateCode(c); }
  Result<AuthorizationCodeRecord> RedeemCode(const std::string& h, int64_t now) override {
    return inner_->RedeemCode(h, now);
  }
  Result<AuthorizationCodeRecord> GetCode(const std::string& h) override { return inner_->GetCode(h); }
  Result<int64_t> DeleteExpiredCodes(int64_t now, int64_t limit) override {
    return inner_->DeleteExpiredCodes(now, limit);
  }
  Result<void> CreateRefreshToken(const RefreshTokenRecord& r) override {
    return inner_->CreateRefreshToken(r);
  }
  Result<RefreshTokenRecord> GetRefreshToken(const std::string& h) override {
    return inner_->GetRefreshToken(h);
  }
  Result<RotationResult> RotateRefreshToken(const std::string& h, const RefreshTokenRecord& successor,
                                            int64_t now, int64_t grace_seconds) override {
    return inner_->RotateRefreshToken(h, successor, now, grace_seconds);
  }
  Result<int64_t> RevokeRefreshFamily(const std::string& family_id) override {
    return inner_->RevokeRefreshFamily(family_id);
  }
  Result<std::vector<std::string>> RevokeRefreshTokens(const std::string& user_id,
                                                       const std::string& client_id,
                                                       const std::string& session_id_hash) override {
    return inner_->RevokeRefreshTokens(user_id, client_id, session_id_hash);
  }
  Result<int64_t> DeleteExpiredRefreshTokens(int64_t now, int64_t limit) override {
    return inner_->DeleteExpiredRefreshTokens(now, limit);
  }
  Result<void> CreateAccessToken(const AccessTokenRecord& t) override { return inner_->CreateAccessToken(t); }
  Result<AccessTokenRecord> GetAccessToken(const std::string& h) override {
    return inner_->GetAccessToken(h);
  }
  Result<void> RevokeAccessToken(const std::string& h) override { return inner_->RevokeAccessToken(h); }
  Result<int64_t> DeleteExpiredAccessTokens(int64_t now, int64_t limit) override {
    return inner_->DeleteExpiredAccessTokens(now, limit);
  }
  Result<void> PutRevocation(const RevocationRecord& r) override { return inner_->PutRevocation(r); }
  Result<int64_t> LatestRevocation(const std::vector<std::string>& keys) override {
    return inner_->LatestRevocation(keys);
  }
  Result<int64_t> DeleteExpiredRevocations(int64_t now, int64_t limit) override {
    return inner_->DeleteExpiredRevocations(now, limit);
  }
  Result<void> CreateDeviceCode(const DeviceCodeRecord& d) override { return inner_->CreateDeviceCode(d); }
  Result<DeviceCodeRecord> GetDeviceCodeByUserCode(const std::string& h) override {
    return inner_->GetDeviceCodeByUserCode(h);
  }
  Result<DeviceCodeRecord> DecideDeviceCode(const std::string& h, bool approve,
                                            const DeviceCodeRecord& decision, int64_t now) override {
    return inner_->DecideDeviceCode(h, approve, decision, now);
  }
  Result<DeviceCodeRecord> PollDeviceCode(const std::string& h, int64_t now) override {
    return inner_->PollDeviceCode(h, now);
  }
  Result<void> ConsumeDeviceCode(const std::string& h, int64_t now) override {
    return inner_->ConsumeDeviceCode(h, now);
  }
  Result<int64_t> DeleteExpiredDeviceCodes(int64_t now, int64_t limit) override {
    return inner_->DeleteExpiredDeviceCodes(now, limit);
  }
  Result<ConsentRecord> GetConsent(const std::string& user_id, const std::string& client_id) override {
    return inner_->GetConsent(user_id, client_id);
  }
  Result<void> PutConsent(const ConsentRecord& c) override { return inner_->PutConsent(c); }
  Result<std::string> EnsureSecret(const std::string& name, const std::string& candidate) override {
    return inner_->EnsureSecret(name, candidate);
  }
  Result<ThrottleRecord> GetThrottle(const std::string& key) override { return inner_->GetThrottle(key); }
  Result<ThrottleRecord> CountThrottleFailure(const std::string& key, int64_t now,
                                              int64_t forget_at) override {
    return inner_->CountThrottleFailure(key, now, forget_at);
  }
  Result<void> DeleteThrottle(const std::string& key) override { return inner_->DeleteThrottle(key); }
  Result<int64_t> DeleteExpiredThrottles(int64_t now, int64_t limit) override {
    return inner_->DeleteExpiredThrottles(now, limit);
  }
  Result<std::vector<ConsentRecord>> ListUserConsents(const std::string& user_id) override {
    return inner_->ListUserConsents(user_id);
  }
  Result<void> DeleteConsent(const std::string& user_id, const std::string& client_id) override {
    return inner_->DeleteConsent(user_id, client_id);
  }
  Result<int64_t> Revision() override { return inner_->Revision(); }
  Result<int64_t> RevocationRevision() override { return inner_->RevocationRevision(); }

 private:
  std::unique_ptr<TempDb> db_;
  std::unique_ptr<Store> inner_;
};

std::unique_ptr<Store> MakeSqliteStore() {
  auto db = std::make_unique<TempDb>();
  auto store = sqlite::OpenSqliteStore(db->path());
  if (!store) {
    ADD_FAILURE() << "OpenSqliteStore failed: " << static_cast<int>(store.error());
    return nullptr;
  }
  return std::make_unique<TempFileStore>(std::move(db), std::move(*store));
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContractTest,
                         ::testing::Values(StoreBackend{"sqlite", &MakeSqliteStore}));

namespace {

std::unique_ptr<Store> OpenOrDie(const std::string& path) {
  auto store = sqlite::OpenSqliteStore(path);
  EXPECT_TRUE(store.has_value()) << "error " << static_cast<int>(store.error());
  return store ? std::move(*store) : nullptr;
}

// kAllVersions: what schema_migrations lists once every migration has run.
const std::vector<std::string> kAllVersions = {"1", "2", "3", "4", "5", "6", "7"};

// kBackToVersion5 turns a current file back into what a version-5 binary left: migration 7's
// throttle table and migration 6's signing-key columns gone, and their rows in schema_migrations.
constexpr const char* kBackToVersion5 =
    "DELETE FROM schema_migrations WHERE version = 7; DROP TABLE throttles; "
    "DELETE FROM schema_migrations WHERE version = 6; ALTER TABLE signing_keys DROP COLUMN active_from; "
    "ALTER TABLE signing_keys DROP COLUMN retired_at; ";

// kBackToVersion4 turns a current file back into what a version-4 binary left: also migration 5's
// tables and client columns gone, and its row in schema_migrations.
const std::string kBackToVersion4 =
    std::string(kBackToVersion5) +
    "DELETE FROM schema_migrations WHERE version = 5; DROP TABLE session_clients; "
    "DROP TABLE access_tokens; DROP TABLE revocations; DROP TABLE device_codes; "
    "ALTER TABLE clients DROP COLUMN access_token_format; "
    "ALTER TABLE clients DROP COLUMN backchannel_logout_uri; "
    "ALTER TABLE clients DROP COLUMN backchannel_logout_session_required; "
    "ALTER TABLE clients DROP COLUMN introspect_any; ";

// AsUpgradedFrom returns `c` as a database at schema `version` that is migrated to the current
// one reads it back: the client columns added after `version` hold their defaults.
ClientRecord AsUpgradedFrom(ClientRecord c, int version) {
  const ClientRecord defaults;
  if (version < 4) c.id_token_signed_response_alg = defaults.id_token_signed_response_alg;
  if (version < 5) {
    c.access_token_format = defaults.access_token_format;
    c.backchannel_logout_uri = defaults.backchannel_logout_uri;
    c.backchannel_logout_session_required = defaults.backchannel_logout_session_required;
    c.introspect_any = defaults.introspect_any;
  }
  return c;
}

TEST(SqliteStoreTest, DataPersistsAcrossCloseAndReopen) {
  TempDb db;
  ClientRecord awkward = MakeAwkwardClient();
  SigningKeyRecord key{"kid-1", "ES256", "pem\nlines\n", "active", 42};
  int64_t revision = 0;
  {
    auto store = OpenOrDie(db.path());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->CreateClient(awkward).has_value());
    ASSERT_TRUE(store->AddSigningKey(key).has_value());
    revision = *store->Revision();
  }
  auto store = OpenOrDie(db.path());
  ASSERT_NE(store, nullptr);
  auto got = store->GetClient(awkward.client_id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, awkward);
  auto keys = store->ListSigningKeys();
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(*keys, std::vector<SigningKeyRecord>{key});
  EXPECT_EQ(*store->Revision(), revision);
}

// Housekeeping deletes rows, but the write-ahead log keeps its size until a checkpoint resets it;
// Compact truncates it to nothing while the data stays.
TEST(SqliteStoreTest, CompactTruncatesTheWriteAheadLog) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  ASSERT_NE(store, nullptr);
  UserRecord user;
  user.user_id = "u1";
  user.username = "alice";
  ASSERT_TRUE(store->CreateUser(user));
  for (int i = 0; i < 2000; ++i) {
    AccessTokenRecord t;
    t.token_hash = std::string(31, 'h') + static_cast<char>(i % 256) + std::to_string(i);
    t.client_id = "svc";
    t.subject = "svc";
    t.expires_at = i < 1000 ? 10 : 1'000'000;
    ASSERT_TRUE(store->CreateAccessToken(t));
  }
  ASSERT_EQ(*store->DeleteExpiredAccessTokens(100, 5000), 1000);
  const std::string wal = db.path() + "-wal";
  ASSERT_GT(std::filesystem::file_size(wal), 100'000U);
  ASSERT_TRUE(store->Compact());
  EXPECT_EQ(std::filesystem::file_size(wal), 0U);
  // Nothing live was lost.
  EXPECT_TRUE(store->GetAccessToken(std::string(31, 'h') + static_cast<char>(1500 % 256) + "1500"));
}

TEST(SqliteStoreTest, MigrationsAreRecordedAndAppliedOnce) {
  TempDb db;
  const std::string kVersions = "SELECT version FROM schema_migrations ORDER BY version";
  { ASSERT_NE(OpenOrDie(db.path()), nullptr); }
  auto first = sqlite::QueryFirstColumnForTesting(db.path(), kVersions);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, kAllVersions);
  auto applied_at = sqlite::QueryFirstColumnForTesting(db.path(), "SELECT applied_at FROM schema_migrations");
  ASSERT_TRUE(applied_at.has_value());
  ASSERT_EQ(applied_at->size(), kAllVersions.size());
  for (const auto& t : *applied_at) EXPECT_GT(std::stoll(t), 1600000000);

  // A second open with data in place neither re-runs a migration (its CREATE TABLE would fail) nor
  // records it twice, and leaves the data alone.
  {
    auto store = OpenOrDie(db.path());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->CreateClient(MakeClient("app")).has_value());
  }
  auto store = OpenOrDie(db.path());
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->GetClient("app").has_value());
  auto second = sqlite::QueryFirstColumnForTesting(db.path(), kVersions);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(*second, kAllVersions);
}

TEST(SqliteStoreTest, ConcurrentFirstOpensMigrateOnce) {
  // Like the server and an admin command started together on a fresh file: BEGIN IMMEDIATE makes
  // the second opener wait and then find the schema already in place.
  TempDb db;
  constexpr int kOpeners = 4;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] {
      auto store = sqlite::OpenSqliteStore(db.path());
      if (!store || !(*store)->CreateClient(MakeClient("c" + std::to_string(i))).has_value()) ++failures;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto versions =
      sqlite::QueryFirstColumnForTesting(db.path(), "SELECT version FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(versions.has_value());
  EXPECT_EQ(*versions, kAllVersions);
}

TEST(SqliteStoreTest, UpgradingAVersion1DatabaseAddsUsersAndKeepsClients) {
  TempDb db;
  ClientRecord awkward = MakeAwkwardClient();
  SigningKeyRecord key{"kid-1", "ES256", "pem", "active", 42};
  int64_t revision = 0;
  {
    auto store = OpenOrDie(db.path());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->CreateClient(awkward).has_value());
    ASSERT_TRUE(store->AddSigningKey(key).has_value());
    revision = *store->Revision();
  }
  // Turn the file back into what a version-1 binary left: exactly migration 1's schema and rows.
  ASSERT_TRUE(
      sqlite::ExecForTesting(
          db.path(),
          kBackToVersion4 +
              "DELETE FROM schema_migrations WHERE version >= 2; DROP TABLE consents; DROP TABLE secrets; "
              "DROP TABLE refresh_tokens; DROP TABLE authorization_codes; DROP TABLE sessions; "
              "DROP TABLE users; ALTER TABLE clients DROP COLUMN id_token_signed_response_alg;")
          .has_value());
  auto tables = sqlite::QueryFirstColumnForTesting(
      db.path(), "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'users'");
  ASSERT_TRUE(tables.has_value());
  ASSERT_TRUE(tables->empty());

  auto store = OpenOrDie(db.path());
  ASSERT_NE(store, nullptr);
  auto versions =
      sqlite::QueryFirstColumnForTesting(db.path(), "SELECT version FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(versions.has_value());
  EXPECT_EQ(*versions, kAllVersions);
  // Existing rows and the revision survive the upgrade; the columns migrations 4 and 5 add read as
  // their defaults.
  auto got = store->GetClient(awkward.client_id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, AsUpgradedFrom(awkward, 1));
  SigningKeyRecord upgraded_key = key;
  upgraded_key.active_from = key.created_at;  // migration 6: active since it was created
  EXPECT_EQ(*store->ListSigningKeys(), std::vector<SigningKeyRecord>{upgraded_key});
  EXPECT_EQ(*store->Revision(), revision);
  // And users work.
  auto users = store->ListUsers();
  ASSERT_TRUE(users.has_value());
  EXPECT_TRUE(users->empty());
  ASSERT_TRUE(store->CreateUser(MakeAwkwardUser()).has_value());
  auto user = store->GetUserByUsername(MakeAwkwardUser().username);
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(*user, MakeAwkwardUser());
}

// Migration 6: a key that was active is active since it was created; keys in other states get no
// activation date; the private key bytes are kept as they were.
TEST(SqliteStoreTest, UpgradingAVersion5DatabaseDatesTheActiveKeys) {
  TempDb db;
  {
    auto store = OpenOrDie(db.path());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->AddSigningKey({"a", "ES256", "pem-a", "active", 42, 0}).has_value());
    ASSERT_TRUE(store->AddSigningKey({"r", "RS256", "pem-r", "retired", 7, 0}).has_value());
  }
  ASSERT_TRUE(sqlite::ExecForTesting(db.path(), kBackToVersion5).has_value());
  auto store = OpenOrDie(db.path());
  ASSERT_NE(store, nullptr);
  auto keys = store->ListSigningKeys();
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(*keys, (std::vector<SigningKeyRecord>{{"r", "RS256", "pem-r", "retired", 7, 0, 0},
                                                  {"a", "ES256", "pem-a", "active", 42, 42, 0}}));
}

TEST(SqliteStoreTest, UsersTableColumnsHaveDefaults) {
  // A row written by SQL that names only the keys (a later migration, a manual repair) reads back
  // as a default UserRecord: every other column is NOT NULL with a default.
  TempDb db;
  auto store = OpenOrDie(db.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(
      sqlite::ExecForTesting(db.path(), "INSERT INTO users (user_id, username) VALUES ('u1', 'alice')")
          .has_value());
  auto got = store->GetUser("u1");
  ASSERT_TRUE(got.has_value());
  UserRecord expected;
  expected.user_id = "u1";
  expected.username = "alice";
  EXPECT_EQ(*got, expected);
  // NULL is refused rather than stored.
  EXPECT_FALSE(sqlite::ExecForTesting(
                   db.path(), "INSERT INTO users (user_id, username, email) VALUES ('u2', 'bob', NULL)")
                   .has_value());
}

TEST(SqliteStoreTest, UserWritesAreVisibleAcrossInstancesAndUsernameStaysUnique) {
  TempDb db;
  auto server = OpenOrDie(db.path());
  auto admin = OpenOrDie(db.path());
  ASSERT_NE(server, nullptr);
  ASSERT_NE(admin, nullptr);
  const int64_t revision = *server->Revision();
  ASSERT_TRUE(admin->CreateUser(MakeUser("1")).has_value());
  auto got = server->GetUserByUsername("user-1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, MakeUser("1"));
  UserRecord dup = MakeUser("2");
  dup.username = "user-1";
  EXPECT_EQ(server->CreateUser(dup).error(), Error::kConflict);
  EXPECT_EQ(*server->Revision(), revision);
}

TEST(SqliteStoreTest, FutureSchemaVersionIsCorrupt) {
  TempDb db;
  { ASSERT_NE(OpenOrDie(db.path()), nullptr); }
  ASSERT_TRUE(sqlite::ExecForTesting(db.path(), "INSERT INTO schema_migrations VALUES (999, 0)").has_value());
  auto store = sqlite::OpenSqliteStore(db.path());
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error(), Error::kCorrupt);
}

TEST(SqliteStoreTest, NotADatabaseIsRejected) {
  TempDb db;
  {
    std::FILE* f = std::fopen(db.path().c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::string garbage(4096, 'x');
    std::fwrite(garbage.data(), 1, garbage.size(), f);
    std::fclose(f);
  }
  auto store = sqlite::OpenSqliteStore(db.path());
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error(), Error::kCorrupt);
}

TEST(SqliteStoreTest, UnopenablePathIsUnavailable) {
  auto store = sqlite::OpenSqliteStore("/nonexistent-latchkey-dir/sub/store.db");
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error(), Error::kUnavailable);
}

TEST(SqliteStoreTest, JournalModeIsWal) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateClient(MakeClient("app")).has_value());
  // WAL mode is persistent in the file, so a fresh connection reports it too.
  auto mode = sqlite::QueryFirstColumnForTesting(db.path(), "PRAGMA journal_mode");
  ASSERT_TRUE(mode.has_value());
  EXPECT_EQ(*mode, std::vector<std::string>{"wal"});
  EXPECT_TRUE(fs::exists(db.path() + "-wal"));
}

TEST(SqliteStoreTest, TwoInstancesOnOneFileSeeEachOthersWrites) {
  TempDb db;
  auto server = OpenOrDie(db.path());
  auto admin = OpenOrDie(db.path());
  ASSERT_NE(server, nullptr);
  ASSERT_NE(admin, nullptr);

  int64_t seen = *server->Revision();
  ASSERT_TRUE(admin->CreateClient(MakeClient("app")).has_value());
  auto got = server->GetClient("app");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, MakeClient("app"));
  int64_t now = *server->Revision();
  EXPECT_NE(now, seen) << "server did not notice the admin's CreateClient";
  EXPECT_EQ(now, *admin->Revision());

  seen = now;
  ASSERT_TRUE(admin->AddSigningKey({"kid", "ES256", "pem", "active", 1}).has_value());
  now = *server->Revision();
  EXPECT_NE(now, seen) << "server did not notice the admin's AddSigningKey";
  EXPECT_EQ(server->ListSigningKeys()->size(), 1u);

  seen = now;
  ASSERT_TRUE(server->DeleteClient("app").has_value());
  EXPECT_NE(*admin->Revision(), seen) << "admin did not notice the server's DeleteClient";
  EXPECT_EQ(admin->GetClient("app").error(), Error::kNotFound);

  // The primary key holds across instances.
  ASSERT_TRUE(server->CreateClient(MakeClient("x")).has_value());
  EXPECT_EQ(admin->CreateClient(MakeClient("x")).error(), Error::kConflict);
}

TEST(SqliteStoreTest, ConcurrentWritersOnSeveralInstancesDoNotFail) {
  TempDb db;
  constexpr int kInstances = 3;
  constexpr int kThreadsPerInstance = 2;
  constexpr int kPerThread = 30;
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < kInstances; ++i) {
    stores.push_back(OpenOrDie(db.path()));
    ASSERT_NE(stores.back(), nullptr);
  }
  const int64_t before = *stores[0]->Revision();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kInstances; ++i) {
    for (int t = 0; t < kThreadsPerInstance; ++t) {
      threads.emplace_back([&, i, t] {
        for (int n = 0; n < kPerThread; ++n) {
          std::string id = std::to_string(i) + "-" + std::to_string(t) + "-" + std::to_string(n);
          if (!stores[i]->CreateClient(MakeClient(id)).has_value()) ++failures;
          if (!stores[i]->ListClients().has_value()) ++failures;
        }
      });
    }
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  constexpr int kTotal = kInstances * kThreadsPerInstance * kPerThread;
  auto all = stores[0]->ListClients();
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), static_cast<std::size_t>(kTotal));
  // One revision step per write: none was lost to a race between instances.
  EXPECT_EQ(*stores[0]->Revision(), before + kTotal);
}

TEST(SqliteStoreTest, RedemptionsRacingOnTwoInstancesHaveExactlyOneWinner) {
  // Two processes (the server and, say, a second server on the same file) answering one replayed
  // code at once: the conditional UPDATE under BEGIN IMMEDIATE lets exactly one of them through.
  TempDb db;
  auto one = OpenOrDie(db.path());
  auto two = OpenOrDie(db.path());
  ASSERT_NE(one, nullptr);
  ASSERT_NE(two, nullptr);
  ASSERT_TRUE(one->CreateUser(MakeUser("u")).has_value());
  constexpr int kRounds = 10;
  constexpr int kThreadsPerInstance = 4;
  for (int round = 0; round < kRounds; ++round) {
    const AuthorizationCodeRecord c = MakeCode("race" + std::to_string(round), "u", 2000);
    ASSERT_TRUE(one->CreateCode(c).has_value());
    Race race;
    AllAtOnce(2 * kThreadsPerInstance, [&](int t) {
      Store* store = t % 2 == 0 ? one.get() : two.get();
      race.Count(t, store->RedeemCode(c.code_hash, 1000), Error::kConflict);
    });
    EXPECT_TRUE(race.OneWinner(2 * kThreadsPerInstance)) << "round " << round;
    EXPECT_TRUE(two->GetCode(c.code_hash)->used);
  }
}

TEST(SqliteStoreTest, DeletingAUserRowCascadesToSessionsAndCodes) {
  // The cascade is in the schema, so it also holds for a user deleted by plain SQL (a manual
  // repair), not only through DeleteUser.
  TempDb db;
  auto store = OpenOrDie(db.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(store->CreateUser(MakeUser("v")).has_value());
  ASSERT_TRUE(store->CreateSession(MakeSession("su", "u")).has_value());
  ASSERT_TRUE(store->CreateSession(MakeSession("sv", "v")).has_value());
  ASSERT_TRUE(store->CreateCode(MakeCode("cu", "u")).has_value());
  ASSERT_TRUE(store->CreateCode(MakeCode("cv", "v")).has_value());
  ASSERT_TRUE(sqlite::ExecForTesting(db.path(), "DELETE FROM users WHERE user_id = 'u'").has_value());
  auto sessions = sqlite::QueryFirstColumnForTesting(db.path(), "SELECT user_id FROM sessions");
  ASSERT_TRUE(sessions.has_value());
  EXPECT_EQ(*sessions, std::vector<std::string>{"v"});
  auto codes = sqlite::QueryFirstColumnForTesting(db.path(), "SELECT user_id FROM authorization_codes");
  ASSERT_TRUE(codes.has_value());
  EXPECT_EQ(*codes, std::vector<std::string>{"v"});
  EXPECT_EQ(store->GetSession(Hash("su")).error(), Error::kNotFound);
  EXPECT_EQ(store->GetCode(Hash("cu")).error(), Error::kNotFound);
  // And through the store.
  ASSERT_TRUE(store->DeleteUser("v").has_value());
  EXPECT_EQ(store->GetSession(Hash("sv")).error(), Error::kNotFound);
  EXPECT_EQ(store->GetCode(Hash("cv")).error(), Error::kNotFound);
}

TEST(SqliteStoreTest, HashesAreStoredAsBlobs) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(store->CreateSession(MakeSession("s", "u")).has_value());
  ASSERT_TRUE(store->CreateCode(MakeCode("c", "u")).has_value());
  auto types = sqlite::QueryFirstColumnForTesting(
      db.path(),
      "SELECT typeof(id_hash) || ' ' || length(id_hash) FROM sessions UNION ALL "
      "SELECT typeof(code_hash) || ' ' || length(code_hash) || ' ' || typeof(session_id_hash) "
      "FROM authorization_codes");
  ASSERT_TRUE(types.has_value());
  EXPECT_EQ(*types, (std::vector<std::string>{"blob 32", "blob 32 blob"}));
}

TEST(SqliteStoreTest, UpgradingAVersion2DatabaseAddsSessionsAndCodesAndKeepsUsers) {
  TempDb db;
  int64_t revision = 0;
  {
    auto store = OpenOrDie(db.path());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->CreateClient(MakeClient("app")).has_value());
    ASSERT_TRUE(store->CreateUser(MakeAwkwardUser()).has_value());
    revision = *store->Revision();
  }
  // What a version-2 binary left: migrations 1 and 2 only.
  ASSERT_TRUE(sqlite::ExecForTesting(
                  db.path(), kBackToVersion4 +
                                 "DELETE FROM schema_migrations WHERE version >= 3; "
                                 "DROP TABLE consents; DROP TABLE secrets; DROP TABLE refresh_tokens; "
                                 "DROP TABLE authorization_codes; DROP TABLE sessions; "
                                 "ALTER TABLE clients DROP COLUMN id_token_signed_response_alg;")
                  .has_value());
  auto store = OpenOrDie(db.path());
  ASSERT_NE(store, nullptr);
  auto versions =
      sqlite::QueryFirstColumnForTesting(db.path(), "SELECT version FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(versions.has_value());
  EXPECT_EQ(*versions, kAllVersions);
  EXPECT_EQ(*store->GetUser(MakeAwkwardUser().user_id), MakeAwkwardUser());
  EXPECT_EQ(*store->GetClient("app"), AsUpgradedFrom(MakeClient("app"), 2));
  EXPECT_EQ(*store->Revision(), revision);
  SessionRecord s = MakeSession("s", MakeAwkwardUser().user_id);
  ASSERT_TRUE(store->CreateSession(s).has_value());
  EXPECT_EQ(*store->GetSession(s.id_hash), s);
  AuthorizationCodeRecord c = MakeCode("c", MakeAwkwardUser().user_id);
  ASSERT_TRUE(store->CreateCode(c).has_value());
  EXPECT_EQ(*store->RedeemCode(c.code_hash, 0), c);
}

TEST(SqliteStoreTest, UpgradingAVersion3DatabaseAddsRefreshTokensAndConsentsAndKeepsTheRest) {
  TempDb db;
  int64_t revision = 0;
  const std::string user_id = MakeAwkwardUser().user_id;
  const SessionRecord session = MakeSession("s", user_id);
  const AuthorizationCodeRecord code = MakeCode("c", user_id);
  {
    auto store = OpenOrDie(db.path());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->CreateClient(MakeClient("app")).has_value());
    ASSERT_TRUE(store->CreateUser(MakeAwkwardUser()).has_value());
    ASSERT_TRUE(store->CreateSession(session).has_value());
    ASSERT_TRUE(store->CreateCode(code).has_value());
    revision = *store->Revision();
  }
  // What a version-3 binary left: migrations 1 to 3 only.
  ASSERT_TRUE(sqlite::ExecForTesting(
                  db.path(), kBackToVersion4 +
                                 "DELETE FROM schema_migrations WHERE version = 4; "
                                 "DROP TABLE consents; DROP TABLE secrets; DROP TABLE refresh_tokens; "
                                 "ALTER TABLE clients DROP COLUMN id_token_signed_response_alg;")
                  .has_value());
  auto store = OpenOrDie(db.path());
  ASSERT_NE(store, nullptr);
  auto versions =
      sqlite::QueryFirstColumnForTesting(db.path(), "SELECT version FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(versions.has_value());
  EXPECT_EQ(*versions, kAllVersions);
  EXPECT_EQ(*store->GetUser(user_id), MakeAwkwardUser());
  EXPECT_EQ(*store->GetClient("app"), AsUpgradedFrom(MakeClient("app"), 3));
  EXPECT_EQ(*store->GetSession(session.id_hash), session);
  EXPECT_EQ(*store->GetCode(code.code_hash), code);
  EXPECT_EQ(*store->Revision(), revision);
  RefreshTokenRecord token = MakeRefreshToken("r", user_id);
  ASSERT_TRUE(store->CreateRefreshToken(token).has_value());
  EXPECT_EQ(*store->GetRefreshToken(token.token_hash), token);
  ASSERT_TRUE(store->PutConsent(MakeConsent(user_id, "app")).has_value());
  EXPECT_EQ(*store->GetConsent(user_id, "app"), MakeConsent(user_id, "app"));
}

TEST(SqliteStoreTest, RefreshTokenAndConsentTablesHaveTheirIndexes) {
  TempDb db;
  { ASSERT_NE(OpenOrDie(db.path()), nullptr); }
  auto indexes = sqlite::QueryFirstColumnForTesting(
      db.path(),
      "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('refresh_tokens', 'consents') "
      "ORDER BY name");
  ASSERT_TRUE(indexes.has_value());
  EXPECT_EQ(*indexes,
            (std::vector<std::string>{"refresh_tokens_by_expires_at", "refresh_tokens_by_family",
                                      "refresh_tokens_by_family_expires_at", "refresh_tokens_by_user_client",
                                      "sqlite_autoindex_consents_1", "sqlite_autoindex_refresh_tokens_1"}));
}

TEST(SqliteStoreTest, DeletingAUserRowCascadesToRefreshTokensAndConsents) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(store->CreateUser(MakeUser("v")).has_value());
  ASSERT_TRUE(store->CreateRefreshToken(MakeRefreshToken("ru", "u")).has_value());
  ASSERT_TRUE(store->CreateRefreshToken(MakeRefreshToken("rv", "v")).has_value());
  ASSERT_TRUE(store->PutConsent(MakeConsent("u", "a")).has_value());
  ASSERT_TRUE(store->PutConsent(MakeConsent("v", "a")).has_value());
  ASSERT_TRUE(sqlite::ExecForTesting(db.path(), "DELETE FROM users WHERE user_id = 'u'").has_value());
  auto tokens = sqlite::QueryFirstColumnForTesting(db.path(), "SELECT user_id FROM refresh_tokens");
  ASSERT_TRUE(tokens.has_value());
  EXPECT_EQ(*tokens, std::vector<std::string>{"v"});
  auto consents = sqlite::QueryFirstColumnForTesting(db.path(), "SELECT user_id FROM consents");
  ASSERT_TRUE(consents.has_value());
  EXPECT_EQ(*consents, std::vector<std::string>{"v"});
  // A row naming no user is refused by the schema itself.
  EXPECT_FALSE(
      sqlite::ExecForTesting(db.path(), "INSERT INTO consents (user_id, client_id) VALUES ('ghost', 'a')")
          .has_value());
}

TEST(SqliteStoreTest, RefreshTokenHashesAreStoredAsBlobs) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(store->CreateRefreshToken(MakeRefreshToken("a", "u")).has_value());
  ASSERT_TRUE(store->RotateRefreshToken(Hash("rt-a"), MakeRefreshToken("b", "u"), 1500, 30).has_value());
  auto types = sqlite::QueryFirstColumnForTesting(
      db.path(),
      "SELECT typeof(token_hash) || ' ' || length(token_hash) || ' ' || typeof(session_id_hash) || ' ' || "
      "typeof(successor_hash) || ' ' || length(successor_hash) FROM refresh_tokens ORDER BY rotated_at DESC");
  ASSERT_TRUE(types.has_value());
  EXPECT_EQ(*types, (std::vector<std::string>{"blob 32 blob blob 32", "blob 32 blob blob 0"}));
}

TEST(SqliteStoreTest, RotationsRacingOnTwoInstancesHaveExactlyOneWinner) {
  // Two processes sharing the file rotate one refresh token at once, each with its own successor:
  // BEGIN IMMEDIATE serialises them, so exactly one successor is inserted and linked; every other
  // attempt is reuse (RFC 9700 §4.14.2).
  TempDb db;
  auto one = OpenOrDie(db.path());
  auto two = OpenOrDie(db.path());
  ASSERT_NE(one, nullptr);
  ASSERT_NE(two, nullptr);
  ASSERT_TRUE(one->CreateUser(MakeUser("u")).has_value());
  constexpr int kRounds = 10;
  constexpr int kThreadsPerInstance = 4;
  for (int round = 0; round < kRounds; ++round) {
    const std::string r = std::to_string(round);
    const RefreshTokenRecord current = MakeRefreshToken("race" + r, "u", "fam" + r);
    ASSERT_TRUE(one->CreateRefreshToken(current).has_value());
    Race race;
    AllAtOnce(2 * kThreadsPerInstance, [&](int t) {
      Store* store = t % 2 == 0 ? one.get() : two.get();
      auto result = store->RotateRefreshToken(
          current.token_hash, MakeRefreshToken(r + "-" + std::to_string(t), "u", "fam" + r), 1500, 30);
      if (result.has_value() && result->retried) {
        ++race.others;  // each thread presents its own successor: none is a retry
      } else {
        race.Count(t, result, Error::kConflict);
      }
    });
    ASSERT_TRUE(race.OneWinner(2 * kThreadsPerInstance)) << "round " << round;
    const std::string successor_hash =
        MakeRefreshToken(r + "-" + std::to_string(race.winner.load()), "u").token_hash;
    EXPECT_EQ(two->GetRefreshToken(current.token_hash)->successor_hash, successor_hash);
    auto family = sqlite::QueryFirstColumnForTesting(
        db.path(), "SELECT count(*) FROM refresh_tokens WHERE family_id = 'fam" + r + "'");
    ASSERT_TRUE(family.has_value());
    EXPECT_EQ(*family, std::vector<std::string>{"2"}) << "round " << round;
  }
}

TEST(SqliteStoreTest, UpgradingAVersion4DatabaseAddsTheNewTablesAndKeepsClients) {
  TempDb db;
  int64_t revision = 0;
  const std::string user_id = MakeAwkwardUser().user_id;
  const SessionRecord session = MakeSession("s", user_id);
  const RefreshTokenRecord token = MakeRefreshToken("r", user_id);
  {
    auto store = OpenOrDie(db.path());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->CreateClient(MakeClient("app")).has_value());
    ASSERT_TRUE(store->CreateClient(MakeAwkwardClient()).has_value());
    ASSERT_TRUE(store->CreateUser(MakeAwkwardUser()).has_value());
    ASSERT_TRUE(store->CreateSession(session).has_value());
    ASSERT_TRUE(store->CreateRefreshToken(token).has_value());
    ASSERT_TRUE(store->PutConsent(MakeConsent(user_id, "app")).has_value());
    revision = *store->Revision();
  }
  // What a version-4 binary left: migrations 1 to 4 only.
  ASSERT_TRUE(sqlite::ExecForTesting(db.path(), kBackToVersion4).has_value());
  auto tables = sqlite::QueryFirstColumnForTesting(
      db.path(),
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('session_clients', "
      "'access_tokens', 'revocations', 'device_codes')");
  ASSERT_TRUE(tables.has_value());
  ASSERT_TRUE(tables->empty());
  auto columns = sqlite::QueryFirstColumnForTesting(
      db.path(), "SELECT count(*) FROM pragma_table_info('clients') WHERE name = 'introspect_any'");
  ASSERT_TRUE(columns.has_value());
  ASSERT_EQ(*columns, std::vector<std::string>{"0"});

  auto store = OpenOrDie(db.path());
  ASSERT_NE(store, nullptr);
  auto versions =
      sqlite::QueryFirstColumnForTesting(db.path(), "SELECT version FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(versions.has_value());
  EXPECT_EQ(*versions, kAllVersions);
  // The clients keep every field they had; the new ones read as their defaults.
  EXPECT_EQ(*store->GetClient("app"), AsUpgradedFrom(MakeClient("app"), 4));
  EXPECT_EQ(*store->GetClient(MakeAwkwardClient().client_id), AsUpgradedFrom(MakeAwkwardClient(), 4));
  EXPECT_EQ(store->GetClient("app")->access_token_format, "jwt");
  EXPECT_EQ(*store->ListClients(), (std::vector<ClientRecord>{AsUpgradedFrom(MakeClient("app"), 4),
                                                              AsUpgradedFrom(MakeAwkwardClient(), 4)}));
  EXPECT_EQ(*store->Revision(), revision);
  EXPECT_EQ(*store->GetUser(user_id), MakeAwkwardUser());
  EXPECT_EQ(*store->GetSession(session.id_hash), session);
  EXPECT_EQ(*store->GetRefreshToken(token.token_hash), token);
  EXPECT_EQ(*store->GetConsent(user_id, "app"), MakeConsent(user_id, "app"));
  // And the new fields and tables work, on rows from before the upgrade too.
  ASSERT_TRUE(store->UpdateClient(MakeClient("app")).has_value());
  EXPECT_EQ(*store->GetClient("app"), MakeClient("app"));
  ASSERT_TRUE(store->AddSessionClient(session.id_hash, "app").has_value());
  EXPECT_EQ(*store->ListSessionClients(session.id_hash), std::vector<std::string>{"app"});
  const AccessTokenRecord access = MakeAccessToken("a", user_id);
  ASSERT_TRUE(store->CreateAccessToken(access).has_value());
  EXPECT_EQ(*store->GetAccessToken(access.token_hash), access);
  ASSERT_TRUE(store->PutRevocation({"user:x", 10, 20}).has_value());
  EXPECT_EQ(*store->LatestRevocation({"user:x"}), 10);
  const DeviceCodeRecord device = MakeDeviceCode("d");
  ASSERT_TRUE(store->CreateDeviceCode(device).has_value());
  EXPECT_EQ(*store->GetDeviceCodeByUserCode(device.user_code_hash), device);
}

TEST(SqliteStoreTest, NewTablesHaveTheirIndexes) {
  TempDb db;
  { ASSERT_NE(OpenOrDie(db.path()), nullptr); }
  auto indexes = sqlite::QueryFirstColumnForTesting(
      db.path(),
      "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('session_clients', "
      "'access_tokens', 'revocations', 'device_codes') ORDER BY name");
  ASSERT_TRUE(indexes.has_value());
  EXPECT_EQ(*indexes,
            (std::vector<std::string>{
                "access_tokens_by_expires_at", "access_tokens_by_user", "device_codes_by_expires_at",
                "device_codes_by_user", "revocations_by_expires_at", "sqlite_autoindex_access_tokens_1",
                "sqlite_autoindex_device_codes_1", "sqlite_autoindex_device_codes_2",
                "sqlite_autoindex_revocations_1", "sqlite_autoindex_session_clients_1"}));
}

TEST(SqliteStoreTest, DeletingAUserRowCascadesToAccessTokensDeviceCodesAndSessionClients) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(store->CreateUser(MakeUser("v")).has_value());
  for (const char* user : {"u", "v"}) {
    const std::string id = user;
    ASSERT_TRUE(store->CreateSession(MakeSession("s" + id, id)).has_value());
    ASSERT_TRUE(store->AddSessionClient(Hash("s" + id), "app-" + id).has_value());
    ASSERT_TRUE(store->CreateAccessToken(MakeAccessToken(id, id)).has_value());
    ASSERT_TRUE(store->CreateDeviceCode(MakeDeviceCode(id)).has_value());
    ASSERT_TRUE(store->DecideDeviceCode(Hash("uc-" + id), true, MakeDecision(id), 1000).has_value());
  }
  ASSERT_TRUE(store->CreateAccessToken(MakeAccessToken("client", "")).has_value());
  ASSERT_TRUE(store->CreateDeviceCode(MakeDeviceCode("undecided")).has_value());
  ASSERT_TRUE(sqlite::ExecForTesting(db.path(), "DELETE FROM users WHERE user_id = 'u'").has_value());
  // Rows with no user (NULL) stay; NULL reads back as "" through QueryFirstColumnForTesting.
  auto tokens = sqlite::QueryFirstColumnForTesting(
      db.path(), "SELECT coalesce(user_id, 'NULL') FROM access_tokens ORDER BY user_id");
  ASSERT_TRUE(tokens.has_value());
  EXPECT_EQ(*tokens, (std::vector<std::string>{"NULL", "v"}));
  auto codes = sqlite::QueryFirstColumnForTesting(
      db.path(), "SELECT coalesce(user_id, 'NULL') FROM device_codes ORDER BY user_id");
  ASSERT_TRUE(codes.has_value());
  EXPECT_EQ(*codes, (std::vector<std::string>{"NULL", "v"}));
  auto clients = sqlite::QueryFirstColumnForTesting(db.path(), "SELECT client_id FROM session_clients");
  ASSERT_TRUE(clients.has_value());
  EXPECT_EQ(*clients, std::vector<std::string>{"app-v"});
  // Rows naming no user or session are refused by the schema itself.
  EXPECT_FALSE(sqlite::ExecForTesting(
                   db.path(), "INSERT INTO access_tokens (token_hash, user_id) VALUES (X'01', 'ghost')")
                   .has_value());
  EXPECT_FALSE(
      sqlite::ExecForTesting(
          db.path(),
          "INSERT INTO device_codes (device_code_hash, user_code_hash, user_id) VALUES (X'01', X'02', "
          "'ghost')")
          .has_value());
  EXPECT_FALSE(sqlite::ExecForTesting(db.path(),
                                      "INSERT INTO session_clients (id_hash, client_id) VALUES (X'01', 'a')")
                   .has_value());
}

TEST(SqliteStoreTest, NewHashesAreStoredAsBlobsAndMissingUsersAsNull) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(store->CreateSession(MakeSession("s", "u")).has_value());
  ASSERT_TRUE(store->AddSessionClient(Hash("s"), "app").has_value());
  ASSERT_TRUE(store->CreateAccessToken(MakeAccessToken("client", "")).has_value());
  ASSERT_TRUE(store->CreateDeviceCode(MakeDeviceCode("d")).has_value());
  auto types = sqlite::QueryFirstColumnForTesting(
      db.path(),
      "SELECT typeof(id_hash) || ' ' || length(id_hash) FROM session_clients UNION ALL "
      "SELECT typeof(token_hash) || ' ' || length(token_hash) || ' ' || typeof(user_id) FROM access_tokens "
      "UNION ALL SELECT typeof(device_code_hash) || ' ' || typeof(user_code_hash) || ' ' || "
      "typeof(session_id_hash) || ' ' || typeof(user_id) FROM device_codes");
  ASSERT_TRUE(types.has_value());
  EXPECT_EQ(*types, (std::vector<std::string>{"blob 32", "blob 32 null", "blob blob blob null"}));
  ASSERT_TRUE(store->DecideDeviceCode(Hash("uc-d"), true, MakeDecision("u"), 1000).has_value());
  auto decided = sqlite::QueryFirstColumnForTesting(
      db.path(), "SELECT typeof(user_id) || ' ' || user_id || ' ' || status FROM device_codes");
  ASSERT_TRUE(decided.has_value());
  EXPECT_EQ(*decided, std::vector<std::string>{"text u approved"});
}

TEST(SqliteStoreTest, PollsRacingOnTwoInstancesHaveExactlyOneWinner) {
  // Two processes sharing the file answer the same device's polls at once, after the approval:
  // BEGIN IMMEDIATE serialises them, so exactly one poll finds the interval respected (the others
  // raise it, RFC 8628 §3.5) and exactly one ConsumeDeviceCode spends the approval.
  TempDb db;
  auto one = OpenOrDie(db.path());
  auto two = OpenOrDie(db.path());
  ASSERT_NE(one, nullptr);
  ASSERT_NE(two, nullptr);
  ASSERT_TRUE(one->CreateUser(MakeUser("u")).has_value());
  constexpr int kRounds = 10;
  constexpr int kThreadsPerInstance = 4;
  for (int round = 0; round < kRounds; ++round) {
    const DeviceCodeRecord d = MakeDeviceCode("race" + std::to_string(round), 2000);
    ASSERT_TRUE(one->CreateDeviceCode(d).has_value());
    ASSERT_TRUE(two->DecideDeviceCode(d.user_code_hash, true, MakeDecision("u"), 1000).has_value());
    std::atomic<int> first_polls{0};
    Race race;
    AllAtOnce(2 * kThreadsPerInstance, [&](int t) {
      Store* store = t % 2 == 0 ? one.get() : two.get();
      auto r = store->PollDeviceCode(d.device_code_hash, 1010);
      if (r.has_value() && r->last_polled_at == 0) ++first_polls;
      race.Count(t, store->ConsumeDeviceCode(d.device_code_hash, 1010), Error::kConflict);
    });
    EXPECT_EQ(first_polls.load(), 1) << "round " << round;
    EXPECT_TRUE(race.OneWinner(2 * kThreadsPerInstance)) << "round " << round;
    auto after = one->GetDeviceCodeByUserCode(d.user_code_hash);
    ASSERT_TRUE(after.has_value());
    EXPECT_EQ(after->status, "consumed");
    EXPECT_EQ(after->interval, 5 + 5 * (2 * kThreadsPerInstance - 1)) << "round " << round;
  }
}

TEST(SqliteStoreTest, DecisionsRacingOnTwoInstancesHaveExactlyOneWinner) {
  TempDb db;
  auto one = OpenOrDie(db.path());
  auto two = OpenOrDie(db.path());
  ASSERT_NE(one, nullptr);
  ASSERT_NE(two, nullptr);
  ASSERT_TRUE(one->CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(one->CreateUser(MakeUser("v")).has_value());
  constexpr int kRounds = 5;
  constexpr int kThreadsPerInstance = 4;
  for (int round = 0; round < kRounds; ++round) {
    const DeviceCodeRecord d = MakeDeviceCode("race" + std::to_string(round), 2000);
    ASSERT_TRUE(one->CreateDeviceCode(d).has_value());
    Race race;
    AllAtOnce(2 * kThreadsPerInstance, [&](int t) {
      Store* store = t % 2 == 0 ? one.get() : two.get();
      race.Count(
          t, store->DecideDeviceCode(d.user_code_hash, t % 4 < 2, MakeDecision(t % 4 < 2 ? "u" : "v"), 1000),
          Error::kConflict);
    });
    EXPECT_TRUE(race.OneWinner(2 * kThreadsPerInstance)) << "round " << round;
  }
}

TEST(SqliteStoreTest, UndecodableListIsCorrupt) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateClient(MakeClient("app")).has_value());
  // Space-separated, as a naive encoding would have written it.
  const std::string kTamper = "UPDATE clients SET scopes = 'openid profile' WHERE client_id = 'app'";
  ASSERT_TRUE(sqlite::ExecForTesting(db.path(), kTamper).has_value());
  auto got = store->GetClient("app");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error(), Error::kCorrupt);
  EXPECT_EQ(store->ListClients().error(), Error::kCorrupt);
}

}  // namespace
}  // namespace latchkey::store::testing
