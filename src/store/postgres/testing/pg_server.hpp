#pragma once

// A throw-away PostgreSQL server for tests: Debian's server binaries, a fresh cluster in a temp
// directory, listening only on a unix socket inside that directory, removed when destroyed. Not for
// production code.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace latchkey::store::postgres::testing {

// FixtureError: why the fixture could not do what was asked, in words for the test log.
struct FixtureError {
  std::string message;
};

template <class T>
using FixtureResult = common::Result<T, FixtureError>;

// PgServer owns one running postmaster and its temp directory (cluster, socket, logs). Not
// thread-safe: create, stop and start it from one thread (the test's main thread: the server is
// told to quit when the thread that started it exits, so a crashed test leaves no server behind).
// The libpq calls (NewSchema, Query) may run from any thread.
class PgServer {
 public:
  // Start finds the server binaries (the highest /usr/lib/postgresql/<version>/bin, else
  // `pg_config --bindir`), runs initdb into a fresh temp directory (trust auth, locale C, UTF8, no
  // fsync), starts the server on a unix socket in that directory (no TCP), waits until it accepts
  // connections (bounded) and creates the test database. Run as root, initdb and the server run as
  // the `postgres` system user (they refuse root), which then owns the directory. An error names
  // what is missing (e.g. "install the postgresql package: scripts/deps.sh") or ends with the tail
  // of the server's log.
  static FixtureResult<std::unique_ptr<PgServer>> Start();

  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;
  // ~PgServer stops the server (fast shutdown, then immediate, then SIGKILL, each bounded) and
  // removes the temp directory.
  ~PgServer();

  // ConnInfo returns a libpq connection string for the test database; with a non-empty `schema`,
  // every session of it uses that schema (search_path), and application_name is `schema` too.
  std::string ConnInfo(const std::string& schema = "") const;

  // NewSchema creates a fresh, empty schema in the test database and returns its name: one per test
  // case keeps the cases independent without the cost of a database each.
  FixtureResult<std::string> NewSchema();

  // Query runs `sql` (one or more statements) on a new connection to `conninfo` and returns the
  // first column of every row of the last result as text (NULL as "").
  static FixtureResult<std::vector<std::string>> Query(const std::string& conninfo, const std::string& sql);

  // Stop shuts the server down (fast shutdown: sessions are terminated) and keeps the cluster;
  // Resume starts it again on the same socket and waits until it accepts connections.
  FixtureResult<void> Stop();
  FixtureResult<void> Resume();

 private:
  PgServer() = default;
  FixtureResult<void> Launch();
  std::string LogTail() const;

  std::string bin_dir_;
  std::string dir_;  // the temp directory: socket, data/, logs
  bool as_postgres_ = false;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  pid_t pid_ = -1;  // the postmaster, while running
  int schemas_ = 0;
};

// SharedPgServer returns the one server of this test process, starting it on first use (call it
// first from the main thread); it is stopped and removed at exit. The error of a failed start is
// returned again on every later call.
FixtureResult<PgServer*> SharedPgServer();

}  // namespace latchkey::store::postgres::testing
