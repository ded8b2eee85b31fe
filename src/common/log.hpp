#pragma once

// Structured logging: one JSON object per line on stderr. Never pass a secret, a token, a code or
// a password to these functions: log its purpose or a hash prefix instead.

#include <string_view>

#include <boost/json/object.hpp>

namespace latchkey::common {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// SetLogLevel drops lines below `level` (default kInfo). Thread-safe.
void SetLogLevel(LogLevel level);

// Log writes {"ts":..., "level":..., "msg": msg, ...fields} as one line. Thread-safe; lines from
// different threads never interleave.
void Log(LogLevel level, std::string_view msg, boost::json::object fields = {});

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
