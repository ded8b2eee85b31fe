#include "store/postgres/import_sqlite.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "store/postgres/postgres_store.hpp"
#include "store/postgres/testing/pg_server.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/testing/store_contract.hpp"

namespace latchkey::store::testing {
namespace {

using namespace std::string_literals;
using postgres::ImportErrc;
using postgres::ImportReport;
using postgres::ImportSqliteDatabase;
using postgres::OpenPostgresStore;
using postgres::PostgresOptions;
using postgres::testing::PgServer;
using postgres::testing::SharedPgServer;

// TempDir: a fresh directory for one SQLite database, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "latchkey-import-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  std::string Db() const { return path_ + "/latchkey.db"; }

 private:
  std::string path_;
};

// FreshConnInfo returns the connection string of a new, empty schema ("" after a reported failure).
std::string FreshConnInfo() {
  auto server = SharedPgServer();
  if (!server) {
    ADD_FAILURE() << "cannot start a PostgreSQL server for the tests: " << server.error().message;
    return "";
  }
  auto schema = (*server)->NewSchema();
  if (!schema) {
    ADD_FAILURE() << schema.error().message;
    return "";
  }
  return (*server)->ConnInfo(*schema);
}

PostgresOptions Options(const std::string& conninfo) {
  PostgresOptions options;
  options.conninfo = conninfo;
  options.pool_size = 2;
  return options;
}

std::unique_ptr<Store> OpenPostgresOrFail(const std::string& conninfo) {
  if (conninfo.empty()) return nullptr;
  auto store = OpenPostgresStore(Options(conninfo));
  EXPECT_TRUE(store.has_value());
  return store ? std::move(*store) : nullptr;
}

std::unique_ptr<Store> OpenSqliteOrFail(const std::string& path) {
  auto store = sqlite::OpenSqliteStore(path);
  EXPECT_TRUE(store.has_value());
  return store ? std::move(*store) : nullptr;
}

std::string QueryOne(const std::string& conninfo, const std::string& sql) {
  auto rows = PgServer::Query(conninfo, sql);
  EXPECT_TRUE(rows.has_value()) << (rows ? "" : rows.error().message);
  return rows && rows->size() == 1 ? (*rows)[0] : "<no single row>";
}

// kTables: every table the schema has (schema_migrations is not copied).
const std::vector<std::string> kTables = {
    "clients",        "signing_keys", "meta",    "users",           "sessions",      "authorization_codes",
    "refresh_tokens", "consents",     "secrets", "session_clients", "access_tokens", "revocations",
    "device_codes",   "throttles"};

// RowCounts returns "table=count" for every table of the target, meta's revision row included.
std::vector<std::string> RowCounts(const std::string& conninfo) {
  std::vector<std::string> out;
  for (const auto& table : kTables)
    out.push_back(table + "=" + QueryOne(conninfo, "SELECT count(*) FROM " + table));
  return out;
}

std::vector<std::string> EmptyCounts() {
  std::vector<std::string> out;
  for (const auto& table : kTables) out.push_back(table + (table == "meta" ? "=1" : "=0"));
  return out;
}

// The keys of what Fill writes, for reading it back.
const UserRecord kAlice = MakeUser("alice");
const UserRecord kAwkward = MakeAwkwardUser();
const std::string kSecretName = "refresh-\0key\xff"s;
const std::string kThrottleKey = "user:\xc3\xa9lise \"x\"";
const std::string kSecretValue = "\0\xff\xfe secret \0"s;
const std::vector<std::string> kSessionSeeds = {"s-live", "s-revoked"};
const std::vector<std::string> kCodeSeeds = {"c-fresh", "c-used"};
const std::vector<std::string> kRefreshSeeds = {"r-first", "r-second", "r-revoked"};
const std::vector<std::string> kAccessSeeds = {"a-user", "a-client"};
const std::vector<std::string> kDeviceSeeds = {"d-pending", "d-consumed"};
const std::vector<std::string> kRevocationKeys = {"jti:\0\xff"s, "grant:fam \"x\""};
const std::string kAwkwardClientOfConsent = "client \xff\0\n"s;

// Fill writes awkward records of every kind through the public store API: every table gets rows.
void Fill(Store& s) {
  ASSERT_TRUE(s.CreateClient(MakeClient("plain")));
  ASSERT_TRUE(s.CreateClient(MakeAwkwardClient()));
  ASSERT_TRUE(s.AddSigningKey({"k-retired", "ES256", "sealed\0\xff\n-----"s, "retired", 100, 110, 200}));
  ASSERT_TRUE(s.AddSigningKey({"k-active", "ES256", "PEM \"active\"", "active", 150, 200, 0}));
  ASSERT_TRUE(s.AddSigningKey({"k-next \xc3\xa9", "ES256", "\xff\xfe next", "next", 300, 400, 0}));
  ASSERT_TRUE(s.CreateUser(kAlice));
  ASSERT_TRUE(s.CreateUser(kAwkward));

  ASSERT_TRUE(s.CreateSession(MakeSession("s-live", kAlice.user_id)));
  ASSERT_TRUE(s.CreateSession(MakeSession("s-revoked", kAwkward.user_id, 2000)));
  ASSERT_TRUE(s.RevokeSession(Hash("s-revoked")));
  ASSERT_TRUE(s.AddSessionClient(Hash("s-live"), "plain"));
  ASSERT_TRUE(s.AddSessionClient(Hash("s-live"), "client \"a\"\xff\0"s));

  ASSERT_TRUE(s.CreateCode(MakeCode("c-fresh", kAlice.user_id)));
  ASSERT_TRUE(s.CreateCode(MakeCode("c-used", kAwkward.user_id)));
  ASSERT_TRUE(s.RedeemCode(Hash("c-used"), 1500));

  // A rotated family (r-first -> r-second) and a revoked one.
  const std::string family = "fam\0\xff"s;
  ASSERT_TRUE(s.CreateRefreshToken(MakeRefreshToken("r-first", kAlice.user_id, family)));
  ASSERT_TRUE(s.RotateRefreshToken(Hash("rt-r-first"), MakeRefreshToken("r-second", kAlice.user_id, family),
                                   1100, 0));
  ASSERT_TRUE(s.CreateRefreshToken(MakeRefreshToken("r-revoked", kAwkward.user_id, "fam2")));
  ASSERT_TRUE(s.RevokeRefreshFamily("fam2"));

  ASSERT_TRUE(s.CreateAccessToken(MakeAccessToken("a-user", kAlice.user_id)));
  ASSERT_TRUE(s.CreateAccessToken(MakeAccessToken("a-client", "")));  // NULL user_id
  ASSERT_TRUE(s.RevokeAccessToken(Hash("at-a-user")));

  ASSERT_TRUE(s.PutRevocation({kRevocationKeys[0], 10, 20}));
  ASSERT_TRUE(s.PutRevocation({kRevocationKeys[1], 30, 40}));

  ASSERT_TRUE(s.CreateDeviceCode(MakeDeviceCode("d-pending")));  // NULL user_id
  ASSERT_TRUE(s.CreateDeviceCode(MakeDeviceCode("d-consumed")));
  ASSERT_TRUE(s.DecideDeviceCode(Hash("uc-d-consumed"), true, MakeDecision(kAlice.user_id), 1000));
  ASSERT_TRUE(s.PollDeviceCode(Hash("dc-d-consumed"), 1010));
  ASSERT_TRUE(s.ConsumeDeviceCode(Hash("dc-d-consumed"), 1010));

  ASSERT_TRUE(s.PutConsent(MakeConsent(kAlice.user_id, "plain")));
  ASSERT_TRUE(s.PutConsent(MakeConsent(kAwkward.user_id, kAwkwardClientOfConsent, "openid \n\xff")));

  ASSERT_TRUE(s.EnsureSecret(kSecretName, kSecretValue));

  ASSERT_TRUE(s.CountThrottleFailure(kThrottleKey, 100, 3700));
  ASSERT_TRUE(s.CountThrottleFailure(kThrottleKey, 110, 3710));
}

// ExpectSameRecords reads every record Fill wrote from both stores and compares them.
void ExpectSameRecords(Store& sqlite, Store& pg) {
  EXPECT_EQ(*pg.ListClients(), *sqlite.ListClients());
  EXPECT_EQ(pg.ListClients()->size(), 2U);
  EXPECT_EQ(*pg.GetClient(MakeAwkwardClient().client_id), MakeAwkwardClient());
  EXPECT_EQ(*pg.ListSigningKeys(), *sqlite.ListSigningKeys());
  EXPECT_EQ(pg.ListSigningKeys()->size(), 3U);
  EXPECT_EQ(*pg.ListUsers(), *sqlite.ListUsers());
  EXPECT_EQ(*pg.GetUser(kAwkward.user_id), kAwkward);
  EXPECT_EQ(*pg.GetUserByUsername(kAlice.username), kAlice);
  for (const auto& user : {kAlice.user_id, kAwkward.user_id}) {
    EXPECT_EQ(*pg.ListUserSessions(user), *sqlite.ListUserSessions(user));
    EXPECT_EQ(*pg.ListUserConsents(user), *sqlite.ListUserConsents(user));
  }
  for (const auto& seed : kSessionSeeds) {
    EXPECT_EQ(*pg.GetSession(Hash(seed)), *sqlite.GetSession(Hash(seed))) << seed;
    EXPECT_EQ(*pg.ListSessionClients(Hash(seed)), *sqlite.ListSessionClients(Hash(seed))) << seed;
  }
  EXPECT_TRUE(pg.GetSession(Hash("s-revoked"))->revoked);
  EXPECT_EQ(pg.ListSessionClients(Hash("s-live"))->size(), 2U);
  for (const auto& seed : kCodeSeeds) EXPECT_EQ(*pg.GetCode(Hash(seed)), *sqlite.GetCode(Hash(seed))) << seed;
  EXPECT_TRUE(pg.GetCode(Hash("c-used"))->used);
  EXPECT_FALSE(pg.GetCode(Hash("c-fresh"))->used);
  for (const auto& seed : kRefreshSeeds) {
    EXPECT_EQ(*pg.GetRefreshToken(Hash("rt-" + seed)), *sqlite.GetRefreshToken(Hash("rt-" + seed))) << seed;
  }
  EXPECT_EQ(pg.GetRefreshToken(Hash("rt-r-first"))->successor_hash, Hash("rt-r-second"));
  EXPECT_TRUE(pg.GetRefreshToken(Hash("rt-r-revoked"))->revoked);
  for (const auto& seed : kAccessSeeds) {
    EXPECT_EQ(*pg.GetAccessToken(Hash("at-" + seed)), *sqlite.GetAccessToken(Hash("at-" + seed))) << seed;
  }
  for (const auto& seed : kDeviceSeeds) {
    EXPECT_EQ(*pg.GetDeviceCodeByUserCode(Hash("uc-" + seed)),
              *sqlite.GetDeviceCodeByUserCode(Hash("uc-" + seed)))
        << seed;
  }
  EXPECT_EQ(pg.GetDeviceCodeByUserCode(Hash("uc-d-consumed"))->status, "consumed");
  EXPECT_EQ(*pg.GetConsent(kAwkward.user_id, kAwkwardClientOfConsent),
            *sqlite.GetConsent(kAwkward.user_id, kAwkwardClientOfConsent));
  for (const auto& key : kRevocationKeys) {
    EXPECT_EQ(*pg.LatestRevocation({key}), *sqlite.LatestRevocation({key}));
  }
  EXPECT_EQ(*pg.LatestRevocation({kRevocationKeys[1]}), 30);
  // The stored secret wins over a new candidate: it was copied, not re-created.
  EXPECT_EQ(*pg.EnsureSecret(kSecretName, "another candidate"), kSecretValue);
  EXPECT_EQ(*pg.GetThrottle(kThrottleKey), (ThrottleRecord{kThrottleKey, 2, 110, 3710}));
}

int64_t Count(const ImportReport& report, const std::string& table) {
  for (const auto& [name, rows] : report.tables) {
    if (name == table) return rows;
  }
  return -1;
}

std::size_t Position(const ImportReport& report, const std::string& table) {
  for (std::size_t i = 0; i < report.tables.size(); ++i) {
    if (report.tables[i].first == table) return i;
  }
  return report.tables.size();
}

TEST(ImportSqliteTest, CopiesEveryRecordExactly) {
  TempDir dir;
  auto sqlite = OpenSqliteOrFail(dir.Db());
  ASSERT_NE(sqlite, nullptr);
  ASSERT_NO_FATAL_FAILURE(Fill(*sqlite));
  const std::string conninfo = FreshConnInfo();
  ASSERT_NE(OpenPostgresOrFail(conninfo), nullptr);  // migrates the target

  // The SQLite store stays open, as a running server's would.
  auto report = ImportSqliteDatabase(dir.Db(), Options(conninfo));
  ASSERT_TRUE(report.has_value()) << report.error().message;

  std::vector<std::string> copied;
  for (const auto& [table, rows] : report->tables) copied.push_back(table);
  std::vector<std::string> expected_tables = kTables;
  std::sort(copied.begin(), copied.end());
  std::sort(expected_tables.begin(), expected_tables.end());
  EXPECT_EQ(copied, expected_tables);
  EXPECT_EQ(Count(*report, "clients"), 2);
  EXPECT_EQ(Count(*report, "signing_keys"), 3);
  EXPECT_EQ(Count(*report, "meta"), 2);  // the revision and the revocation revision
  EXPECT_EQ(Count(*report, "users"), 2);
  EXPECT_EQ(Count(*report, "sessions"), 2);
  EXPECT_EQ(Count(*report, "session_clients"), 2);
  EXPECT_EQ(Count(*report, "authorization_codes"), 2);
  EXPECT_EQ(Count(*report, "refresh_tokens"), 3);
  EXPECT_EQ(Count(*report, "access_tokens"), 2);
  EXPECT_EQ(Count(*report, "revocations"), 2);
  EXPECT_EQ(Count(*report, "device_codes"), 2);
  EXPECT_EQ(Count(*report, "consents"), 2);
  EXPECT_EQ(Count(*report, "secrets"), 1);
  EXPECT_EQ(Count(*report, "throttles"), 1);
  // Parents first.
  EXPECT_LT(Position(*report, "users"), Position(*report, "sessions"));
  EXPECT_LT(Position(*report, "sessions"), Position(*report, "session_clients"));
  EXPECT_LT(Position(*report, "users"), Position(*report, "device_codes"));

  auto pg = OpenPostgresOrFail(conninfo);
  ASSERT_NE(pg, nullptr);
  ExpectSameRecords(*sqlite, *pg);
  // A client's own token and an undecided device code keep NULL (not '') as their user.
  EXPECT_EQ(QueryOne(conninfo, "SELECT count(*) FROM access_tokens WHERE user_id IS NULL"), "1");
  EXPECT_EQ(QueryOne(conninfo, "SELECT count(*) FROM device_codes WHERE user_id IS NULL"), "1");
  // One above the source's revision, so that nodes reload.
  EXPECT_EQ(*pg->Revision(), *sqlite->Revision() + 1);
  EXPECT_EQ(report->revision, *sqlite->Revision() + 1);
  // The revocation revision comes along as it is.
  EXPECT_GT(*sqlite->RevocationRevision(), 0);
  EXPECT_EQ(*pg->RevocationRevision(), *sqlite->RevocationRevision());
}

TEST(ImportSqliteTest, RefusesANonEmptyTargetAndLeavesItUnchanged) {
  TempDir dir;
  auto sqlite = OpenSqliteOrFail(dir.Db());
  ASSERT_NE(sqlite, nullptr);
  ASSERT_NO_FATAL_FAILURE(Fill(*sqlite));
  const std::string conninfo = FreshConnInfo();
  auto pg = OpenPostgresOrFail(conninfo);
  ASSERT_NE(pg, nullptr);
  ASSERT_TRUE(pg->CreateUser(MakeUser("already-there")));
  const int64_t revision = *pg->Revision();

  auto report = ImportSqliteDatabase(dir.Db(), Options(conninfo));
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code, ImportErrc::kTargetNotEmpty);
  EXPECT_NE(report.error().message.find("users"), std::string::npos) << report.error().message;
  std::vector<std::string> counts = EmptyCounts();
  counts[3] = "users=1";
  EXPECT_EQ(RowCounts(conninfo), counts);
  EXPECT_EQ(*pg->ListUsers(), std::vector<UserRecord>{MakeUser("already-there")});
  EXPECT_EQ(*pg->Revision(), revision);
}

TEST(ImportSqliteTest, RefusesMismatchedSchemaVersions) {
  TempDir dir;
  auto sqlite = OpenSqliteOrFail(dir.Db());
  ASSERT_NE(sqlite, nullptr);
  ASSERT_NO_FATAL_FAILURE(Fill(*sqlite));

  // A target that was never migrated has no schema at all.
  const std::string bare = FreshConnInfo();
  auto none = ImportSqliteDatabase(dir.Db(), Options(bare));
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, ImportErrc::kSchemaMismatch);
  EXPECT_NE(none.error().message.find("latchkey migrate"), std::string::npos) << none.error().message;

  // A target one version behind (as if migrated by an older binary).
  const std::string conninfo = FreshConnInfo();
  ASSERT_NE(OpenPostgresOrFail(conninfo), nullptr);
  QueryOne(conninfo, "DELETE FROM schema_migrations WHERE version = 7; SELECT 1");
  auto report = ImportSqliteDatabase(dir.Db(), Options(conninfo));
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code, ImportErrc::kSchemaMismatch);
  EXPECT_NE(report.error().message.find("version 7"), std::string::npos) << report.error().message;
  EXPECT_NE(report.error().message.find("latchkey migrate"), std::string::npos) << report.error().message;
  EXPECT_EQ(RowCounts(conninfo), EmptyCounts());
}

TEST(ImportSqliteTest, IsAllOrNothing) {
  TempDir dir;
  auto sqlite = OpenSqliteOrFail(dir.Db());
  ASSERT_NE(sqlite, nullptr);
  ASSERT_NO_FATAL_FAILURE(Fill(*sqlite));
  ASSERT_TRUE(sqlite->PutConsent(MakeConsent(kAlice.user_id, "refused", "refuse-me")));
  const std::string conninfo = FreshConnInfo();
  auto pg = OpenPostgresOrFail(conninfo);
  ASSERT_NE(pg, nullptr);
  // One row of a table copied after clients, keys, users, sessions, codes and tokens fails.
  QueryOne(conninfo,
           "ALTER TABLE consents ADD CONSTRAINT refuse_one CHECK (scope <> convert_to('refuse-me', 'UTF8')); "
           "SELECT 1");

  auto report = ImportSqliteDatabase(dir.Db(), Options(conninfo));
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code, ImportErrc::kFailed);
  EXPECT_NE(report.error().message.find("consents"), std::string::npos) << report.error().message;
  EXPECT_EQ(RowCounts(conninfo), EmptyCounts());
  EXPECT_EQ(*pg->Revision(), 0);

  // Nothing was left behind: without the constraint the same target takes the whole copy.
  QueryOne(conninfo, "ALTER TABLE consents DROP CONSTRAINT refuse_one; SELECT 1");
  auto retried = ImportSqliteDatabase(dir.Db(), Options(conninfo));
  ASSERT_TRUE(retried.has_value()) << retried.error().message;
  EXPECT_EQ(Count(*retried, "consents"), 3);
}

TEST(ImportSqliteTest, AMissingSqliteFileIsUnavailable) {
  TempDir dir;
  const std::string conninfo = FreshConnInfo();
  ASSERT_NE(OpenPostgresOrFail(conninfo), nullptr);
  auto report = ImportSqliteDatabase(dir.Db(), Options(conninfo));
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code, ImportErrc::kUnavailable);
  EXPECT_FALSE(std::filesystem::exists(dir.Db()));  // opened read-only: never created
}

}  // namespace
}  // namespace latchkey::store::testing
