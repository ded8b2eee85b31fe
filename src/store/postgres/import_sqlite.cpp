#include "store/postgres/import_sqlite.hpp"

// The one file outside store/sqlite/ that includes <sqlite3.h> (scripts/check-layering.sh): it
// reads an SQLite database as plain tables, without the SQLite store, so that neither backend
// depends on the other.
#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "common/log.hpp"
#include "store/postgres/connection.hpp"

namespace latchkey::store::postgres {
namespace {

using internal::Connect;
using internal::Connection;
using internal::Params;
using internal::Row;
using internal::Transaction;

// kBusyTimeoutMs: how long a read waits for a server's write lock on the SQLite file (only a
// checkpoint or a rollback-journal writer holds one against readers).
constexpr int kBusyTimeoutMs = 5000;

// meta is copied like every table, except that the target's migration already inserted its
// revision row: the only row an "empty" target may hold, replaced by the source's.
constexpr std::string_view kMetaTable = "meta";
constexpr std::string_view kMigrationsTable = "schema_migrations";

constexpr std::string_view kRunMigrate =
    "run `latchkey migrate` against both databases with the same binary first";

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using SqliteDb = std::unique_ptr<sqlite3, SqliteCloser>;

struct StatementFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using SqliteStatement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

ImportError Fail(ImportErrc code, std::string message) { return ImportError{code, std::move(message)}; }

// QuoteIdentifier quotes a table or column name the way both SQLite and PostgreSQL read it. The
// names come from the databases' own catalogs, but a quote inside one must still not end it.
std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string JoinQuoted(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) out += ", ";
    out += QuoteIdentifier(name);
  }
  return out;
}

// SqliteFailure logs SQLite's message and returns kUnavailable with `what` for the operator.
ImportError SqliteFailure(sqlite3* db, const std::string& what) {
  common::LogWarn("sqlite import: read failed", {{"op", what}, {"message", sqlite3_errmsg(db)}});
  return Fail(ImportErrc::kUnavailable, "cannot read the SQLite database (" + what + "; see the log)");
}

ImportResult<SqliteStatement> PrepareSqlite(sqlite3* db, const std::string& sql, const std::string& what) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr) != SQLITE_OK) {
    sqlite3_finalize(raw);
    return SqliteFailure(db, what);
  }
  return SqliteStatement(raw);
}

std::string ColumnBytes(sqlite3_stmt* stmt, int col) {
  // sqlite3_column_blob returns TEXT and BLOB values alike as their stored bytes, unconverted.
  const void* data = sqlite3_column_blob(stmt, col);
  const int size = sqlite3_column_bytes(stmt, col);
  if (data == nullptr || size <= 0) return {};
  return std::string(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

// SqliteColumn runs a query and returns column `col` of every row as bytes.
ImportResult<std::vector<std::string>> SqliteColumn(sqlite3* db, const std::string& sql, int col,
                                                    const std::string& what) {
  auto stmt = PrepareSqlite(db, sql, what);
  if (!stmt) return stmt.error();
  std::vector<std::string> out;
  for (;;) {
    const int rc = sqlite3_step(stmt->get());
    if (rc == SQLITE_DONE) return out;
    if (rc != SQLITE_ROW) return SqliteFailure(db, what);
    out.push_back(ColumnBytes(stmt->get(), col));
  }
}

// OpenSource opens the SQLite file read-only and starts the read transaction every later read of
// it shares (a snapshot: WAL readers never see a commit made after their first read).
ImportResult<SqliteDb> OpenSource(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  SqliteDb db(raw);
  if (rc != SQLITE_OK) {
    common::LogWarn("sqlite import: cannot open", {{"path", path}, {"message", sqlite3_errstr(rc)}});
    return Fail(ImportErrc::kUnavailable, "cannot open the SQLite database " + path);
  }
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  if (sqlite3_exec(db.get(), "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqliteFailure(db.get(), "begin");
  }
  return db;
}

ImportError PgFailure(Error error, const std::string& what) {
  if (error == Error::kUnavailable) {
    return Fail(ImportErrc::kUnavailable, "the PostgreSQL database failed while " + what + " (see the log)");
  }
  return Fail(ImportErrc::kFailed, "PostgreSQL refused " + what + " (see the log)");
}

// PgColumn runs a query on the target and returns column 0 of every row as bytes.
ImportResult<std::vector<std::string>> PgColumn(Connection& conn, std::string_view sql, const Params& params,
                                                const std::string& what) {
  auto res = conn.ExecOnce(sql, params, what);
  if (!res) return PgFailure(res.error(), what);
  std::vector<std::string> out;
  for (int i = 0; i < PQntuples(res->get()); ++i) out.push_back(Row(res->get(), i).Bytes(0));
  return out;
}

ImportResult<int64_t> PgInt(Connection& conn, std::string_view sql, const std::string& what) {
  auto res = conn.ExecOnce(sql, Params(), what);
  if (!res) return PgFailure(res.error(), what);
  if (PQntuples(res->get()) != 1) return Fail(ImportErrc::kFailed, what + " returned no row");
  return Row(res->get(), 0).Int(0);
}

// SourceTables lists the SQLite tables to copy, parents before the tables whose foreign keys
// reference them (ties in creation order), so every insert finds the rows it references.
ImportResult<std::vector<std::string>> SourceTables(sqlite3* db) {
  auto tables = SqliteColumn(db,
                             "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                             "'sqlite\\_%' ESCAPE '\\' AND name <> 'schema_migrations' ORDER BY rowid",
                             0, "list tables");
  if (!tables) return tables.error();
  std::vector<std::vector<std::string>> parents;
  for (const auto& table : *tables) {
    auto refs =
        SqliteColumn(db, "PRAGMA foreign_key_list(" + QuoteIdentifier(table) + ")", 2, "foreign keys");
    if (!refs) return refs.error();
    parents.push_back(std::move(*refs));
  }
  std::vector<std::string> ordered;
  std::set<std::string> placed;
  while (ordered.size() < tables->size()) {
    bool progressed = false;
    for (std::size_t i = 0; i < tables->size() && !progressed; ++i) {
      const std::string& table = (*tables)[i];
      if (placed.count(table) != 0) continue;
      const bool ready = std::all_of(parents[i].begin(), parents[i].end(), [&](const std::string& parent) {
        return parent == table || placed.count(parent) != 0;
      });
      if (!ready) continue;
      placed.insert(table);
      ordered.push_back(table);
      progressed = true;
    }
    if (!progressed) {
      return Fail(ImportErrc::kSchemaMismatch,
                  "the SQLite tables' foreign keys reference a missing table or form a cycle");
    }
  }
  return ordered;
}

// ColumnKind: how one PostgreSQL column is bound, from information_schema.columns.data_type.
enum class ColumnKind { kBytes, kText, kInt, kBool };

struct Column {
  std::string name;
  ColumnKind kind = ColumnKind::kBytes;
};

// TargetColumns reads the target table's columns and checks that the source table has exactly the
// same names.
ImportResult<std::vector<Column>> TargetColumns(Connection& conn, sqlite3* db, const std::string& table) {
  auto res = conn.ExecOnce(
      "SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = "
      "current_schema() AND table_name::text = convert_from($1, 'UTF8') ORDER BY ordinal_position",
      Params{table}, "list columns");
  if (!res) return PgFailure(res.error(), "listing the columns of " + table);
  std::vector<Column> columns;
  for (int i = 0; i < PQntuples(res->get()); ++i) {
    const Row row(res->get(), i);
    Column column{row.Bytes(0), ColumnKind::kBytes};
    const std::string type = row.Bytes(1);
    if (type == "bytea") {
      column.kind = ColumnKind::kBytes;
    } else if (type == "text") {
      column.kind = ColumnKind::kText;
    } else if (type == "bigint") {
      column.kind = ColumnKind::kInt;
    } else if (type == "boolean") {
      column.kind = ColumnKind::kBool;
    } else {
      return Fail(ImportErrc::kSchemaMismatch,
                  "column " + table + "." + column.name + " has a type this binary cannot fill: " + type);
    }
    columns.push_back(std::move(column));
  }
  auto source = SqliteColumn(db, "PRAGMA table_info(" + QuoteIdentifier(table) + ")", 1, "columns");
  if (!source) return source.error();
  std::set<std::string> source_names(source->begin(), source->end());
  std::set<std::string> target_names;
  for (const auto& column : columns) target_names.insert(column.name);
  for (const auto& name : source_names) {
    if (target_names.count(name) == 0) {
      return Fail(ImportErrc::kSchemaMismatch,
                  "column " + table + "." + name + " exists only in SQLite; " + std::string(kRunMigrate));
    }
  }
  for (const auto& name : target_names) {
    if (source_names.count(name) == 0) {
      return Fail(ImportErrc::kSchemaMismatch,
                  "column " + table + "." + name + " exists only in PostgreSQL; " + std::string(kRunMigrate));
    }
  }
  return columns;
}

// InsertSql: one row of `table`, one parameter per column, cast where the parameter's type is not
// the column's (text travels as bytes and must be valid UTF-8: PostgreSQL checks).
std::string InsertSql(const std::string& table, const std::vector<Column>& columns) {
  std::string names;
  std::string values;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) {
      names += ", ";
      values += ", ";
    }
    names += QuoteIdentifier(columns[i].name);
    const std::string param = "$" + std::to_string(i + 1);
    values += columns[i].kind == ColumnKind::kText ? "convert_from(" + param + ", 'UTF8')" : param;
  }
  return "INSERT INTO " + QuoteIdentifier(table) + " (" + names + ") VALUES (" + values + ")";
}

// BindValue appends SQLite column `col` of the current row to `params` as `column` wants it:
// false when the stored value has the wrong type (an INTEGER where bytes belong, a boolean other
// than 0 or 1, ...).
bool BindValue(sqlite3_stmt* stmt, int col, const Column& column, Params& params) {
  const int type = sqlite3_column_type(stmt, col);
  switch (column.kind) {
    case ColumnKind::kBytes:
    case ColumnKind::kText:
      if (type == SQLITE_NULL) {
        params.NullBytes();
      } else if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
        params.Bytes(ColumnBytes(stmt, col));
      } else {
        return false;
      }
      return true;
    case ColumnKind::kInt:
      if (type == SQLITE_NULL) {
        params.NullInt();
      } else if (type == SQLITE_INTEGER) {
        params.Int(sqlite3_column_int64(stmt, col));
      } else {
        return false;
      }
      return true;
    case ColumnKind::kBool: {
      if (type == SQLITE_NULL) {
        params.NullBool();
        return true;
      }
      if (type != SQLITE_INTEGER) return false;
      const int64_t value = sqlite3_column_int64(stmt, col);
      if (value != 0 && value != 1) return false;
      params.Bool(value == 1);
      return true;
    }
  }
  return false;
}

// CopyTable inserts every row of the source table into the target and returns how many.
// `statements` keeps the SQL text alive as long as the connection's prepared statements name it.
ImportResult<int64_t> CopyTable(Connection& conn, sqlite3* db, const std::string& table,
                                const std::vector<Column>& columns, std::deque<std::string>& statements) {
  std::vector<std::string> names;
  names.reserve(columns.size());
  for (const auto& column : columns) names.push_back(column.name);
  auto select =
      PrepareSqlite(db, "SELECT " + JoinQuoted(names) + " FROM " + QuoteIdentifier(table), "read " + table);
  if (!select) return select.error();
  const std::string& insert = statements.emplace_back(InsertSql(table, columns));
  int64_t copied = 0;
  for (;;) {
    const int rc = sqlite3_step(select->get());
    if (rc == SQLITE_DONE) return copied;
    if (rc != SQLITE_ROW) return SqliteFailure(db, "read " + table);
    Params params;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (!BindValue(select->get(), static_cast<int>(i), columns[i], params)) {
        return Fail(ImportErrc::kFailed, "a value of " + table + "." + columns[i].name +
                                             " in SQLite does not have the column's type");
      }
    }
    auto inserted = conn.Exec(insert, params, "import " + table);
    if (!inserted) {
      if (inserted.error() == Error::kUnavailable) return PgFailure(Error::kUnavailable, "copying " + table);
      const char* reason = inserted.error() == Error::kConflict   ? "a duplicate key"
                           : inserted.error() == Error::kNotFound ? "a reference to a missing row"
                                                                  : "a value or constraint (see the log)";
      return Fail(ImportErrc::kFailed, "PostgreSQL refused a row of " + table + ": " + reason);
    }
    ++copied;
  }
}

}  // namespace

ImportResult<ImportReport> ImportSqliteDatabase(const std::string& sqlite_path,
                                                const PostgresOptions& target) {
  // Declared before the connection: its prepared statements are keyed by views of these strings.
  std::deque<std::string> statements;

  auto source = OpenSource(sqlite_path);
  if (!source) return source.error();
  sqlite3* db = source->get();
  auto source_version =
      SqliteColumn(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", 0, "schema version");
  if (!source_version) return source_version.error();
  auto tables = SourceTables(db);
  if (!tables) return tables.error();
  auto source_revision = SqliteColumn(db, "SELECT value FROM meta WHERE key = 'revision'", 0, "revision");
  if (!source_revision) return source_revision.error();
  if (source_revision->size() != 1) {
    return Fail(ImportErrc::kSchemaMismatch, "the SQLite database has no revision in its meta table");
  }

  auto conn = Connect(target.conninfo);
  if (!conn) return Fail(ImportErrc::kUnavailable, "cannot reach the PostgreSQL database (see the log)");
  Transaction tx(**conn);
  if (auto r = tx.Begin(); !r) return PgFailure(r.error(), "beginning the import");

  auto target_version = PgInt(**conn, "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
                              "reading the schema version");
  if (!target_version) {
    if (target_version.error().code == ImportErrc::kUnavailable) return target_version.error();
    return Fail(ImportErrc::kSchemaMismatch,
                "the PostgreSQL database has no Latchkey schema; " + std::string(kRunMigrate));
  }
  // Stored as INTEGER: sqlite3_column_blob hands it over as its decimal text.
  const std::string target_version_text = std::to_string(*target_version);
  if (source_version->size() != 1 || (*source_version)[0] != target_version_text) {
    return Fail(ImportErrc::kSchemaMismatch,
                "the SQLite database is at schema version " +
                    (source_version->empty() ? std::string("?") : (*source_version)[0]) +
                    " and the PostgreSQL database at " + target_version_text + "; " +
                    std::string(kRunMigrate));
  }

  auto target_tables = PgColumn(**conn,
                                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = "
                                "current_schema() AND table_type = 'BASE TABLE'",
                                Params(), "listing tables");
  if (!target_tables) return target_tables.error();
  const std::set<std::string> source_set(tables->begin(), tables->end());
  for (const auto& table : *target_tables) {
    if (table != kMigrationsTable && source_set.count(table) == 0) {
      return Fail(ImportErrc::kSchemaMismatch, "table " + table + " exists only in PostgreSQL");
    }
  }
  const std::set<std::string> target_set(target_tables->begin(), target_tables->end());
  for (const auto& table : *tables) {
    if (target_set.count(table) == 0) {
      return Fail(ImportErrc::kSchemaMismatch, "table " + table + " exists only in SQLite");
    }
  }

  // No other writer until the commit (a node started early would otherwise create keys or
  // secrets that the copy then collides with); readers may go on.
  if (auto r = (*conn)->ExecScript("LOCK TABLE " + JoinQuoted(*tables) + " IN EXCLUSIVE MODE", "lock tables");
      !r) {
    return PgFailure(r.error(), "locking the tables");
  }
  for (const auto& table : *tables) {
    const std::string where = table == kMetaTable ? " WHERE key <> 'revision'" : "";
    auto rows = PgInt(**conn, "SELECT count(*) FROM " + QuoteIdentifier(table) + where, "counting " + table);
    if (!rows) return rows.error();
    if (*rows != 0) {
      return Fail(ImportErrc::kTargetNotEmpty,
                  "the PostgreSQL database already holds data (table " + table +
                      "); the import never merges: point it at a new, empty database");
    }
  }
  auto target_revision = PgInt(
      **conn, "SELECT COALESCE(MAX(value), 0)::BIGINT FROM meta WHERE key = 'revision'", "reading meta");
  if (!target_revision) return target_revision.error();
  if (auto r = (*conn)->ExecScript("DELETE FROM meta", "clear meta"); !r) {
    return PgFailure(r.error(), "clearing meta");
  }

  ImportReport report;
  for (const auto& table : *tables) {
    auto columns = TargetColumns(**conn, db, table);
    if (!columns) return columns.error();
    auto copied = CopyTable(**conn, db, table, *columns, statements);
    if (!copied) return copied.error();
    report.tables.emplace_back(table, *copied);
  }

  // Above both the source's and the target's revision, so that every node reloads: the ones that
  // ran on SQLite and any already watching this database.
  const std::string& revision_text = (*source_revision)[0];
  int64_t revision = 0;
  const auto parsed =
      std::from_chars(revision_text.data(), revision_text.data() + revision_text.size(), revision);
  if (parsed.ec != std::errc() || parsed.ptr != revision_text.data() + revision_text.size()) {
    return Fail(ImportErrc::kFailed, "the SQLite revision is not a number");
  }
  report.revision = std::max(revision, *target_revision) + 1;
  auto bumped = (*conn)->ExecOnce("UPDATE meta SET value = $1 WHERE key = 'revision'",
                                  Params().Int(report.revision), "set revision");
  if (!bumped) return PgFailure(bumped.error(), "setting the revision");
  if (internal::AffectedRows(bumped->get()) != 1) {
    return Fail(ImportErrc::kFailed, "the revision row is missing after the copy");
  }
  if (auto r = tx.Commit(); !r) {
    return Fail(ImportErrc::kUnavailable,
                "the PostgreSQL commit failed; it may or may not have taken effect (see the log)");
  }
  return report;
}

}  // namespace latchkey::store::postgres
