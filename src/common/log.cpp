#include "common/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>

#include <boost/json/serialize.hpp>

namespace latchkey::common {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::mutex g_mutex;
// Debug and info lines (the access log among them) are batched: one write per ~16 KiB or per
// 250 ms instead of one system call per request. Warnings and errors flush at once.
std::string g_buffer;                                // guarded by g_mutex
std::chrono::steady_clock::time_point g_last_flush;  // guarded by g_mutex
constexpr size_t kFlushBytes = 16 * 1024;
constexpr auto kFlushInterval = std::chrono::milliseconds(250);

void FlushLocked() {
  if (!g_buffer.empty()) {
    std::fwrite(g_buffer.data(), 1, g_buffer.size(), stderr);
    std::fflush(stderr);
    g_buffer.clear();
  }
  g_last_flush = std::chrono::steady_clock::now();
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(level); }

void Log(LogLevel level, std::string_view msg, boost::json::object fields) {
  if (level < g_level.load(std::memory_order_relaxed)) return;
  boost::json::object line;
  line.reserve(fields.size() + 3);
  line["ts"] = Timestamp();
  line["level"] = LevelName(level);
  line["msg"] = msg;
  for (auto& [k, v] : fields) line[k] = std::move(v);
  std::string text = boost::json::serialize(line);
  text.push_back('\n');
  static const bool kFlushAtExit = [] { return std::atexit(FlushLogs) == 0; }();
  (void)kFlushAtExit;
  std::lock_guard lock(g_mutex);
  g_buffer += text;
  if (level >= LogLevel::kWarn || g_buffer.size() >= kFlushBytes ||
      std::chrono::steady_clock::now() - g_last_flush >= kFlushInterval) {
    FlushLocked();
  }
}

void FlushLogs() {
  std::lock_guard lock(g_mutex);
  FlushLocked();
}

}  // namespace latchkey::common
