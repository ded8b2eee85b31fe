#include "common/log.hpp"

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>

#include <boost/json/serialize.hpp>

#include "common/strings.hpp"

namespace latchkey::common {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::mutex g_mutex;
// Debug and info lines (the access log among them) are batched: one write per ~16 KiB or per
// 250 ms instead of one system call per request. Warnings and errors flush at once.
struct Sink {
  std::FILE* file = nullptr;  // nullptr: stderr
  bool owned = false;         // opened by SetAuditDestination
  std::string buffer;
  std::chrono::steady_clock::time_point last_flush;
};
Sink g_log;    // guarded by g_mutex
Sink g_audit;  // guarded by g_mutex; file nullptr: the audit events go to the main log
constexpr size_t kFlushBytes = 16 * 1024;
constexpr auto kFlushInterval = std::chrono::milliseconds(250);

void FlushSinkLocked(Sink& sink) {
  if (!sink.buffer.empty()) {
    std::FILE* f = sink.file != nullptr ? sink.file : stderr;
    std::fwrite(sink.buffer.data(), 1, sink.buffer.size(), f);
    std::fflush(f);
    sink.buffer.clear();
  }
  sink.last_flush = std::chrono::steady_clock::now();
}

void FlushLocked() {
  FlushSinkLocked(g_log);
  FlushSinkLocked(g_audit);
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

// AppendTimestamp appends an RFC 3339 UTC time with milliseconds. The date and time of day are
// formatted once per second per thread.
void AppendTimestamp(std::string& out) {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  thread_local std::time_t cached_secs = -1;
  thread_local char cached[96];
  if (secs != cached_secs) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_secs = secs;
  }
  const int millis = static_cast<int>(ms % 1000);
  const char frac[] = {'.', static_cast<char>('0' + millis / 100), static_cast<char>('0' + millis / 10 % 10),
                       static_cast<char>('0' + millis % 10), 'Z'};
  out += cached;
  out.append(frac, sizeof frac);
}

std::string Timestamp() {
  std::string out;
  AppendTimestamp(out);
  return out;
}

// AppendJsonString appends `s` as a JSON string. Control characters, quotes, backslashes and every
// non-ASCII byte are escaped, so a hostile path cannot break the line or inject fields.
void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (b < 0x20 || b >= 0x7f) {
      out += "\\u00";
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 15]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

void Emit(LogLevel level, const std::string& text, Sink& sink);

// MakeValidUtf8 replaces ill-formed UTF-8 in every string of `v` (values fed by requests, such as a
// typed username, may hold any bytes): a log line must stay valid JSON text (RFC 8259 §8.1).
void MakeValidUtf8(boost::json::value& v) {
  if (v.is_string()) {
    const auto& str = v.as_string();
    const std::string_view text(str.data(), str.size());
    if (!IsValidUtf8(text)) v = ToValidUtf8(text);
  } else if (v.is_object()) {
    auto& object = v.as_object();
    bool keys_valid = true;
    for (auto& [k, child] : object) {
      MakeValidUtf8(child);
      keys_valid = keys_valid && IsValidUtf8(std::string_view(k.data(), k.size()));
    }
    if (keys_valid) return;
    boost::json::object fixed;
    for (auto& [k, child] : object)
      fixed[ToValidUtf8(std::string_view(k.data(), k.size()))] = std::move(child);
    v = std::move(fixed);
  } else if (v.is_array()) {
    for (auto& child : v.as_array()) MakeValidUtf8(child);
  }
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(level); }

namespace {

std::string FormatLine(LogLevel level, std::string_view msg, boost::json::object fields) {
  boost::json::object line;
  line.reserve(fields.size() + 3);
  line["ts"] = Timestamp();
  line["level"] = LevelName(level);
  line["msg"] = msg;
  for (auto& [k, v] : fields) {
    MakeValidUtf8(v);
    const std::string_view key(k.data(), k.size());
    if (IsValidUtf8(key)) {
      line[key] = std::move(v);
    } else {
      line[ToValidUtf8(key)] = std::move(v);
    }
  }
  std::string text = boost::json::serialize(line);
  text.push_back('\n');
  return text;
}

}  // namespace

void Log(LogLevel level, std::string_view msg, boost::json::object fields) {
  if (level < g_level.load(std::memory_order_relaxed)) return;
  Emit(level, FormatLine(level, msg, std::move(fields)), g_log);
}

void LogAudit(std::string_view event, boost::json::object fields) {
  fields["event"] = event;
  std::string text = FormatLine(LogLevel::kInfo, "audit", std::move(fields));
  bool separate = false;
  {
    std::lock_guard lock(g_mutex);
    separate = g_audit.file != nullptr;
  }
  // The audit trail is not subject to the log level: it is written whatever the level.
  Emit(LogLevel::kInfo, text, separate ? g_audit : g_log);
}

bool SetAuditDestination(std::string_view destination) {
  std::FILE* file = nullptr;
  bool owned = false;
  if (destination == "stdout") {
    file = stdout;
  } else if (!destination.empty() && destination != "stderr" && destination != "log") {
    file = std::fopen(std::string(destination).c_str(), "ae");
    if (file == nullptr) return false;
    owned = true;
  }
  std::lock_guard lock(g_mutex);
  FlushSinkLocked(g_audit);
  if (g_audit.owned) std::fclose(g_audit.file);
  g_audit.file = file;
  g_audit.owned = owned;
  return true;
}

namespace {

void Emit(LogLevel level, const std::string& text, Sink& sink) {
  static const bool kFlushAtExit = [] { return std::atexit(FlushLogs) == 0; }();
  (void)kFlushAtExit;
  std::lock_guard lock(g_mutex);
  sink.buffer += text;
  if (level >= LogLevel::kWarn || sink.buffer.size() >= kFlushBytes ||
      std::chrono::steady_clock::now() - sink.last_flush >= kFlushInterval) {
    FlushSinkLocked(sink);
  }
}

}  // namespace

void LogRequest(const RequestLogLine& line) {
  if (LogLevel::kInfo < g_level.load(std::memory_order_relaxed)) return;
  std::string text;
  text.reserve(256);
  text += R"({"ts":")";
  AppendTimestamp(text);
  text += R"(","level":"info","msg":"request","request_id":)";
  AppendJsonString(text, line.request_id);
  text += R"(,"method":)";
  AppendJsonString(text, line.method);
  text += R"(,"path":)";
  AppendJsonString(text, line.path);
  text += R"(,"route":)";
  AppendJsonString(text, line.route);
  text += R"(,"status":)";
  text += std::to_string(line.status);
  text += R"(,"bytes":)";
  text += std::to_string(line.bytes);
  char duration[32];
  const auto written =
      std::to_chars(duration, duration + sizeof duration, line.duration_ms, std::chars_format::fixed, 3);
  text += R"(,"duration_ms":)";
  if (written.ec == std::errc()) {
    text.append(duration, written.ptr);
  } else {
    text += "0";  // beyond 10^28 ms: not a duration this server measures
  }
  text += R"(,"remote":)";
  AppendJsonString(text, line.remote);
  if (!line.peer.empty() && line.peer != line.remote) {
    text += R"(,"peer":)";
    AppendJsonString(text, line.peer);
  }
  text += "}\n";
  Emit(LogLevel::kInfo, text, g_log);
}

void FlushLogs() {
  std::lock_guard lock(g_mutex);
  FlushLocked();
}

}  // namespace latchkey::common
