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

}  // namespace latchkey::store::sqlite
