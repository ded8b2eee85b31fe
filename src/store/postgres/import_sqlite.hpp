#pragma once

// Copying an SQLite database (store/sqlite/) into an empty PostgreSQL one (this backend), the step
// of moving a deployment from one node to several (docs/operations.md).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "store/postgres/postgres_store.hpp"

namespace latchkey::store::postgres {

// ImportErrc: why ImportSqliteDatabase refused or failed; nothing was written in every case.
enum class ImportErrc {
  kNone = 0,
  kUnavailable,     // a database could not be opened or reached, or failed while reading or writing
  kSchemaMismatch,  // the two schemas are at different versions (or differ although the versions match)
  kTargetNotEmpty,  // the PostgreSQL database already holds data
  kFailed,          // a row could not be converted or inserted (the log names the table)
};

// ImportError: the reason and a sentence for the operator (no key values, no connection string).
struct ImportError {
  ImportErrc code = ImportErrc::kNone;
  std::string message;
};

template <class T>
using ImportResult = common::Result<T, ImportError>;

// ImportReport: the rows copied per table, in the order they were copied (parents before the
// tables that reference them), and the revision PostgreSQL was left at.
struct ImportReport {
  std::vector<std::pair<std::string, int64_t>> tables;
  int64_t revision = 0;
};

// ImportSqliteDatabase copies every table of the SQLite database at `sqlite_path` (except
// schema_migrations) into the PostgreSQL database `target` names, column by column by name, and
// returns the row counts. Bytes travel exactly (NUL bytes and invalid UTF-8 included), SQLite
// INTEGER becomes BIGINT and INTEGER 0/1 BOOLEAN, by the PostgreSQL column's type; NULL stays NULL.
//
// The SQLite file is opened read-only and read inside one read transaction, so a server still
// running on it does not disturb the copy (its writes after that snapshot are not copied). Every
// PostgreSQL write happens in one transaction that also locks the tables against other writers:
// on any failure nothing is written. meta's revision ends at the SQLite revision + 1 (above the
// target's own), so nodes already watching the PostgreSQL database reload clients and keys.
//
// It does NOT migrate either schema: both must be at the same version already (kSchemaMismatch
// otherwise; `latchkey migrate` brings each to the binary's version). kTargetNotEmpty unless every
// copied table of the target is empty (meta may hold only its revision row): it never merges or
// overwrites. kUnavailable when a database cannot be opened or a connection fails; kFailed when a
// value does not fit its column or a row is refused (a constraint).
ImportResult<ImportReport> ImportSqliteDatabase(const std::string& sqlite_path,
                                                const PostgresOptions& target);

}  // namespace latchkey::store::postgres
