#pragma once

#include <memory>
#include <string>

#include "store/store.hpp"

namespace latchkey::store::sqlite {

// OpenSqliteStore opens (creating when absent) the SQLite database at `path`, switches it to WAL,
// turns foreign keys on and applies pending schema migrations (tracked in a version table).
// Several processes may open the same file (the server and admin commands). kUnavailable when the
// file cannot be opened; kCorrupt when its schema is newer than this binary knows.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

// BackupSqliteDatabase copies the database at `source` (migrated to the current schema first) to
// a new file `destination` with SQLite's online backup API: one consistent snapshot, taken while
// servers keep reading and writing the source. The copy is a self-contained database (no WAL
// file), created with mode 0600 since it holds password hashes and private signing keys.
// kConflict when `destination` exists; kUnavailable when either file cannot be opened or the copy
// fails (a partial copy is removed).
Result<void> BackupSqliteDatabase(const std::string& source, const std::string& destination);

}  // namespace latchkey::store::sqlite
