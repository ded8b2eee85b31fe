#pragma once

// Test-only access to a SQLite store's file, so tests can inspect and tamper with it without
// including <sqlite3.h> (which only sqlite_store.cpp may include). Not for production code.

#include <string>
#include <vector>

#include "store/store.hpp"

namespace latchkey::store::sqlite {

// QueryFirstColumnForTesting opens `path` on its own connection, runs `sql` and returns the first
// column of every row as text (NULL as ""). kUnavailable / kCorrupt as OpenSqliteStore maps them.
Result<std::vector<std::string>> QueryFirstColumnForTesting(const std::string& path, const std::string& sql);

// ExecForTesting opens `path` on its own connection and runs `sql` (one or more statements).
Result<void> ExecForTesting(const std::string& path, const std::string& sql);

}  // namespace latchkey::store::sqlite
