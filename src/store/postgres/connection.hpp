#pragma once

// Internal to store/postgres/: the libpq plumbing shared by the store (postgres_store.cpp) and the
// SQLite importer (import_sqlite.cpp): binary parameters and rows, one connection with its prepared
// statements, and a transaction guard. Not a public interface; nothing outside this folder includes it.

#include <libpq-fe.h>
#include <poll.h>

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/log.hpp"
#include "store/store.hpp"

namespace latchkey::store::postgres::internal {

// Type OIDs of the parameters the store binds (fixed in PostgreSQL's catalog, pg_type.dat). Every
// parameter and every result column travels in binary format: bytes go as they are (NUL bytes
// included, no escaping), integers as 8 bytes big-endian.
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;

// kDefaultSettings: libpq settings used unless the conninfo names its own. connect_timeout bounds a
// connection attempt; the TCP keepalives notice a database host that vanished without closing the
// connection (a network partition, a failover) within about a minute instead of the kernel's two
// hours, so a call waiting on it fails (kUnavailable) rather than hanging. No effect on unix sockets.
constexpr std::array<std::pair<const char*, const char*>, 4> kDefaultSettings = {{
    {"connect_timeout", "5"},
    {"keepalives_idle", "30"},
    {"keepalives_interval", "10"},
    {"keepalives_count", "3"},
}};

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// MapSqlState translates a SQLSTATE (nullptr: no server answer) into the store's error. Anything
// that says "the database is away, overloaded or shutting down" is transient (kUnavailable: the
// caller answers 503); duplicate keys are kConflict; a reference to a missing row (a user, a
// session) is kNotFound; anything else means the schema or this code is wrong (kCorrupt).
inline Error MapSqlState(const char* sqlstate) {
  if (sqlstate == nullptr || std::strlen(sqlstate) != 5) return Error::kUnavailable;
  const std::string_view state(sqlstate, 5);
  if (state == "23505") return Error::kConflict;  // unique_violation
  if (state == "23503") return Error::kNotFound;  // foreign_key_violation
  const std::string_view cls = state.substr(0, 2);
  // 08: connection exception; 53: insufficient resources (too many connections, disk full);
  // 57: operator intervention (shutdown, cancel); 58: system error (I/O).
  if (cls == "08" || cls == "53" || cls == "57" || cls == "58") return Error::kUnavailable;
  // serialization_failure, deadlock_detected, lock_not_available: retry later.
  if (state == "40001" || state == "40P01" || state == "55P03") return Error::kUnavailable;
  return Error::kCorrupt;
}

// Params holds the parameters of one statement, in binary format, with their types (the types are
// also those the statement is prepared with on first use).
class Params {
 public:
  Params() = default;
  Params(std::initializer_list<std::string_view> bytes) {
    for (auto b : bytes) Bytes(b);
  }

  Params& Bytes(std::string_view value) { return Add(std::string(value), kByteaOid, false); }
  Params& NullBytes() { return Add(std::string(), kByteaOid, true); }
  Params& NullInt() { return Add(std::string(), kInt8Oid, true); }
  Params& NullBool() { return Add(std::string(), kBoolOid, true); }
  Params& Int(int64_t value) {
    std::string be(8, '\0');
    auto u = static_cast<uint64_t>(value);
    for (int i = 7; i >= 0; --i, u >>= 8) be[static_cast<std::size_t>(i)] = static_cast<char>(u & 0xff);
    return Add(std::move(be), kInt8Oid, false);
  }
  Params& Bool(bool value) { return Add(std::string(1, value ? '\1' : '\0'), kBoolOid, false); }

  int Size() const { return static_cast<int>(values_.size()); }
  const Oid* Types() const { return types_.data(); }
  // Values, Lengths and Formats are the parallel arrays PQexecPrepared takes; valid while `this`
  // is unchanged. An empty value gets a non-null pointer: only a null pointer means SQL NULL.
  std::vector<const char*> Values() const {
    std::vector<const char*> out;
    out.reserve(values_.size());
    for (std::size_t i = 0; i < values_.size(); ++i) out.push_back(nulls_[i] ? nullptr : values_[i].c_str());
    return out;
  }
  std::vector<int> Lengths() const {
    std::vector<int> out;
    out.reserve(values_.size());
    for (const auto& v : values_) out.push_back(static_cast<int>(v.size()));
    return out;
  }
  std::vector<int> Formats() const { return std::vector<int>(values_.size(), 1); }

 private:
  Params& Add(std::string value, Oid type, bool null) {
    values_.push_back(std::move(value));
    types_.push_back(type);
    nulls_.push_back(null);
    return *this;
  }

  std::vector<std::string> values_;
  std::vector<Oid> types_;
  std::vector<bool> nulls_;
};

// Row reads one row of a binary-format result. NULL reads as "", 0 or false.
class Row {
 public:
  Row(const PGresult* res, int row) : res_(res), row_(row) {}

  // From returns this row with its columns counted from `first`: one reader per record of a join.
  Row From(int first) const {
    Row shifted = *this;
    shifted.first_ += first;
    return shifted;
  }

  std::string Bytes(int col) const {
    col += first_;
    if (PQgetisnull(res_, row_, col)) return {};
    return std::string(PQgetvalue(res_, row_, col), static_cast<std::size_t>(PQgetlength(res_, row_, col)));
  }
  // Int decodes a big-endian signed integer of 2, 4 or 8 bytes (int2, int4, int8).
  int64_t Int(int col) const {
    col += first_;
    if (PQgetisnull(res_, row_, col)) return 0;
    const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(res_, row_, col));
    const int n = PQgetlength(res_, row_, col);
    if (n != 2 && n != 4 && n != 8) return 0;
    uint64_t u = 0;
    for (int i = 0; i < n; ++i) u = (u << 8) | p[i];
    if (n < 8 && (p[0] & 0x80) != 0) u |= ~uint64_t{0} << (8 * n);  // sign-extend
    return static_cast<int64_t>(u);
  }
  bool Bool(int col) const {
    col += first_;
    if (PQgetisnull(res_, row_, col) || PQgetlength(res_, row_, col) < 1) return false;
    return PQgetvalue(res_, row_, col)[0] != 0;
  }

 private:
  const PGresult* res_;
  int row_;
  int first_ = 0;
};

// AffectedRows returns how many rows an INSERT/UPDATE/DELETE touched.
inline int64_t AffectedRows(const PGresult* res) {
  const char* text = PQcmdTuples(const_cast<PGresult*>(res));
  int64_t n = 0;
  if (text != nullptr) std::from_chars(text, text + std::strlen(text), n);
  return n;
}

// Connection owns one PGconn and the names of the statements prepared on it. Used by one thread at
// a time (the pool hands it out exclusively).
class Connection {
 public:
  explicit Connection(ConnPtr conn) : conn_(std::move(conn)) {}

  // Healthy: still usable for the next caller (not lost, no transaction left open).
  bool Healthy() const {
    return !broken_ && PQstatus(conn_.get()) == CONNECTION_OK &&
           PQtransactionStatus(conn_.get()) == PQTRANS_IDLE;
  }

  // Lost: the server is gone for this connection (or it is unusable): nothing more can run on it.
  bool Lost() const { return broken_ || PQstatus(conn_.get()) != CONNECTION_OK; }

  // LooksAliveWhileIdle checks, without blocking, that the server has not closed this idle
  // connection. An idle session has nothing to read; when there is something, it is nearly always
  // the server's goodbye (FATAL 57P01 at shutdown, a terminated backend) and the end of the stream.
  // Such a connection is dropped before use, so a database restart costs no failed call.
  bool LooksAliveWhileIdle() const {
    if (PQstatus(conn_.get()) != CONNECTION_OK) return false;
    pollfd p{PQsocket(conn_.get()), POLLIN, 0};
    return poll(&p, 1, 0) == 0;
  }

  // Exec runs `sql` as a prepared statement (prepared on this connection at first use, with the
  // types of `params`) and returns its binary-format result.
  Result<ResultPtr> Exec(std::string_view sql, const Params& params, std::string_view what) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
      std::string name = "latchkey_" + std::to_string(statements_.size());
      ResultPtr prepared(
          PQprepare(conn_.get(), name.c_str(), std::string(sql).c_str(), params.Size(), params.Types()));
      if (auto r = Check(std::move(prepared), what); !r) return r.error();
      it = statements_.emplace(sql, std::move(name)).first;
    }
    const auto values = params.Values();
    const auto lengths = params.Lengths();
    const auto formats = params.Formats();
    ResultPtr res(PQexecPrepared(conn_.get(), it->second.c_str(), params.Size(), values.data(),
                                 lengths.data(), formats.data(), /*resultFormat=*/1));
    return Check(std::move(res), what);
  }

  // ExecOnce runs `sql` with `params` without preparing it (statements whose tables may not exist
  // yet, during migration).
  Result<ResultPtr> ExecOnce(std::string_view sql, const Params& params, std::string_view what) {
    const auto values = params.Values();
    const auto lengths = params.Lengths();
    const auto formats = params.Formats();
    ResultPtr res(PQexecParams(conn_.get(), std::string(sql).c_str(), params.Size(), params.Types(),
                               values.data(), lengths.data(), formats.data(), /*resultFormat=*/1));
    return Check(std::move(res), what);
  }

  // ExecScript runs `sql` (one or more statements, no parameters) with the simple query protocol.
  Result<void> ExecScript(std::string_view sql, std::string_view what) {
    ResultPtr res(PQexec(conn_.get(), std::string(sql).c_str()));
    if (auto r = Check(std::move(res), what); !r) return r.error();
    return {};
  }

 private:
  // Check passes a successful result through, or logs the failure (the server's primary message
  // and SQLSTATE; never the DETAIL, which quotes key values) and returns its error. A lost
  // connection marks this one broken, so the pool replaces it.
  Result<ResultPtr> Check(ResultPtr res, std::string_view what) {
    const ExecStatusType status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return res;
    const char* sqlstate = res ? PQresultErrorField(res.get(), PG_DIAG_SQLSTATE) : nullptr;
    Error error = MapSqlState(sqlstate);
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      broken_ = true;
      error = Error::kUnavailable;
    } else if (error == Error::kUnavailable) {
      // A shutdown or resource error may leave the session unusable; a fresh one costs little.
      broken_ = true;
    }
    const char* primary = res ? PQresultErrorField(res.get(), PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    std::string message = primary != nullptr ? primary : PQerrorMessage(conn_.get());
    while (!message.empty() && message.back() == '\n') message.pop_back();
    // A duplicate key or a missing referenced row is an expected answer, not an incident.
    const bool expected = error == Error::kConflict || error == Error::kNotFound;
    common::Log(expected ? common::LogLevel::kDebug : common::LogLevel::kWarn, "postgres store error",
                {{"op", what}, {"sqlstate", sqlstate != nullptr ? sqlstate : ""}, {"message", message}});
    return error;
  }

  ConnPtr conn_;
  std::unordered_map<std::string_view, std::string> statements_;  // sql -> prepared statement name
  bool broken_ = false;
};

// Connect opens one connection: kUnavailable (logged) when the server cannot be reached.
inline Result<std::unique_ptr<Connection>> Connect(const std::string& conninfo) {
  // expand_dbname: `conninfo` is parsed as a connection string or URI; its own settings override
  // the defaults listed before it.
  std::vector<const char*> keys;
  std::vector<const char*> values;
  for (const auto& [key, value] : kDefaultSettings) {
    keys.push_back(key);
    values.push_back(value);
  }
  keys.push_back("dbname");
  values.push_back(conninfo.c_str());
  keys.push_back(nullptr);
  values.push_back(nullptr);
  ConnPtr conn(PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    std::string message = conn ? PQerrorMessage(conn.get()) : "out of memory";
    while (!message.empty() && message.back() == '\n') message.pop_back();
    common::LogWarn("postgres store: cannot connect", {{"message", message}});
    return Error::kUnavailable;
  }
  // Notices are not errors ("relation already exists, skipping" from CREATE TABLE IF NOT EXISTS
  // while another node migrates); libpq would print them on stderr.
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  return std::make_unique<Connection>(std::move(conn));
}

// Transaction holds BEGIN (READ COMMITTED, PostgreSQL's default) on one connection and rolls back
// unless Commit succeeded. The steps that must be atomic lock the rows they decide on (SELECT ...
// FOR UPDATE) or decide in a single conditional UPDATE; that, not the isolation level, is what
// keeps two concurrent callers from both winning.
class Transaction {
 public:
  explicit Transaction(Connection& conn) : conn_(conn) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    // A broken connection is closed by the pool; its transaction dies with it.
    if (open_ && !conn_.Lost()) (void)conn_.ExecScript("ROLLBACK", "rollback");
  }

  Result<void> Begin() {
    auto r = conn_.ExecScript("BEGIN", "begin");
    if (r) open_ = true;
    return r;
  }

  // Commit: a COMMIT whose connection is lost may or may not have taken effect (kUnavailable).
  Result<void> Commit() {
    open_ = false;
    return conn_.ExecScript("COMMIT", "commit");
  }

 private:
  Connection& conn_;
  bool open_ = false;
};

}  // namespace latchkey::store::postgres::internal
