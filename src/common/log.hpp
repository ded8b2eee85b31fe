#pragma once

// Structured logging: one JSON object per line on stderr. Never pass a secret, a token, a code or
// a password to these functions: log its purpose or a hash prefix instead.

#include <cstddef>
#include <string_view>

#include <boost/json/object.hpp>

namespace latchkey::common {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// SetLogLevel drops lines below `level` (default kInfo). Thread-safe.
void SetLogLevel(LogLevel level);

// Log writes {"ts":..., "level":..., "msg": msg, ...fields} as one line. Thread-safe; lines from
// different threads never interleave. Debug and info lines are batched and reach stderr within
// 250 ms of a later log call, at FlushLogs, or at exit; warnings and errors are written at once.
void Log(LogLevel level, std::string_view msg, boost::json::object fields = {});

// LogAudit writes one audit event: {"ts":..., "level":"info", "msg":"audit", "event": event,
// ...fields}, whatever the log level, to the audit destination (the main log unless
// SetAuditDestination chose another). Same batching and the same rule: never a secret or token.
void LogAudit(std::string_view event, boost::json::object fields);

// SetAuditDestination: "log" or "" or "stderr" (the main log), "stdout", or a file path, opened
// for appending (created when missing). false when the file cannot be opened (the destination is
// then unchanged).
bool SetAuditDestination(std::string_view destination);

// RequestLogLine: the fields of one access-log line. Never a query string, header or body.
struct RequestLogLine {
  std::string_view request_id;
  std::string_view method;
  std::string_view path;
  std::string_view route;
  std::string_view remote;
  int status = 0;
  size_t bytes = 0;
  double duration_ms = 0;
  // peer: the TCP peer when the request came through a trusted reverse proxy; written as "peer"
  // only when it differs from `remote` (the client), so a direct request's line is unchanged.
  std::string_view peer;
};

// LogRequest writes one access-log line (info level) in the same JSON-lines format as Log, formatted
// directly rather than through a JSON object: it runs once per request.
void LogRequest(const RequestLogLine& line);

// FlushLogs writes every batched line now (call it periodically from an idle thread, and before
// a planned exit).
void FlushLogs();

inline void LogInfo(std::string_view msg, boost::json::object fields = {}) {
  Log(LogLevel::kInfo, msg, std::move(fields));
}
inline void LogWarn(std::string_view msg, boost::json::object fields = {}) {
  Log(LogLevel::kWarn, msg, std::move(fields));
}
inline void LogError(std::string_view msg, boost::json::object fields = {}) {
  Log(LogLevel::kError, msg, std::move(fields));
}

}  // namespace latchkey::common
