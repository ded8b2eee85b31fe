#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "store/store.hpp"

namespace latchkey::store::postgres {

// PostgresOptions: how to reach the database and how many connections to hold.
struct PostgresOptions {
  // conninfo: a libpq connection string ("host=db.internal dbname=latchkey user=latchkey") or URI
  // ("postgresql://latchkey@db.internal/latchkey"). Unless it names its own, connect_timeout is 5
  // seconds and TCP keepalives notice a vanished host within about a minute. Passwords belong in
  // ~/.pgpass or PGPASSWORD rather than here.
  std::string conninfo;
  // pool_size: the most connections open at once (at least 1). Callers past it wait for a free one.
  int pool_size = 8;
  // acquire_timeout: how long a caller waits for a free connection before kUnavailable.
  std::chrono::milliseconds acquire_timeout{5000};
};

// OpenPostgresStore connects to the database and applies pending schema migrations (the same
// version numbers as the SQLite store, recorded in schema_migrations), under an advisory lock so
// several nodes starting at once apply each migration exactly once. kUnavailable when the server
// cannot be reached; kCorrupt when the schema is newer than this binary knows or a migration fails.
//
// The store holds a fixed-size pool of connections, each with its own prepared statements. A call
// that finds the database gone returns kUnavailable (the server answers 503 temporarily_unavailable)
// and drops the connection; the next call connects afresh, so the store recovers without a restart
// once the database is back. A write whose connection is lost may or may not have been committed.
// Thread-safe.
Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresOptions& options);

}  // namespace latchkey::store::postgres
