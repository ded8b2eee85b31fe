#include "cli/output.hpp"

#include <cmath>
#include <ctime>
#include <iostream>
#include <iterator>
#include <string_view>

#include <boost/json/serialize.hpp>

namespace latchkey::cli {
namespace {

constexpr int64_t kYear9999 = 253402300799;  // 9999-12-31T23:59:59Z
constexpr std::string_view kTimeClaims[] = {"exp", "iat", "nbf", "auth_time"};

void Indent(std::string& out, int depth) { out.append(static_cast<size_t>(depth) * 2, ' '); }

void Render(const boost::json::value& value, int depth, std::string& out) {
  if (value.is_object()) {
    const auto& object = value.get_object();
    if (object.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    bool first = true;
    for (const auto& member : object) {
      if (!first) out += ",\n";
      first = false;
      Indent(out, depth + 1);
      out += boost::json::serialize(boost::json::value(member.key()));
      out += ": ";
      Render(member.value(), depth + 1, out);
    }
    out += "\n";
    Indent(out, depth);
    out += "}";
  } else if (value.is_array()) {
    const auto& array = value.get_array();
    if (array.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    bool first = true;
    for (const auto& element : array) {
      if (!first) out += ",\n";
      first = false;
      Indent(out, depth + 1);
      Render(element, depth + 1, out);
    }
    out += "\n";
    Indent(out, depth);
    out += "]";
  } else {
    out += boost::json::serialize(value);
  }
}

// Span renders a non-negative number of seconds with its two largest units ("2d 3h", "4m 59s").
std::string Span(int64_t seconds) {
  struct Unit {
    int64_t size;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  std::string out;
  int shown = 0;
  for (const auto& unit : kUnits) {
    const int64_t count = seconds / unit.size;
    if (count == 0 && out.empty() && unit.size != 1) continue;
    if (count == 0 && !out.empty()) break;
    if (!out.empty()) out += " ";
    out += std::to_string(count) + unit.name;
    seconds -= count * unit.size;
    if (++shown == 2) break;
  }
  return out;
}

}  // namespace

std::string PrettyJson(const boost::json::value& value) {
  std::string out;
  Render(value, 0, out);
  return out;
}

std::optional<int64_t> NumericDate(const boost::json::object& claims, std::string_view name) {
  const auto* value = claims.if_contains(name);
  if (value == nullptr) return std::nullopt;
  double seconds = 0;
  if (value->is_int64()) {
    seconds = static_cast<double>(value->get_int64());
  } else if (value->is_uint64()) {
    seconds = static_cast<double>(value->get_uint64());
  } else if (value->is_double()) {
    seconds = value->get_double();
  } else {
    return std::nullopt;
  }
  if (!std::isfinite(seconds) || seconds < 0 || seconds > static_cast<double>(kYear9999)) return std::nullopt;
  return static_cast<int64_t>(seconds);
}

std::string UtcTime(int64_t seconds) {
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr) return std::to_string(seconds);
  char buf[32];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

std::string Relative(int64_t seconds, int64_t now) {
  if (seconds == now) return "now";
  return seconds > now ? "in " + Span(seconds - now) : Span(now - seconds) + " ago";
}

boost::json::object TimeClaims(const boost::json::object& claims) {
  boost::json::object out;
  for (std::string_view name : kTimeClaims) {
    if (auto t = NumericDate(claims, name)) out[name] = UtcTime(*t);
  }
  return out;
}

void PrintTimeClaims(const boost::json::object& claims, int64_t now) {
  for (std::string_view name : kTimeClaims) {
    auto t = NumericDate(claims, name);
    if (!t) continue;
    std::string label(name);
    label.resize(10, ' ');
    std::cout << label << UtcTime(*t) << "  (" << Relative(*t, now) << ")\n";
  }
}

std::optional<std::string> ReadStdinLine() {
  std::string line;
  if (!std::getline(std::cin, line) && line.empty()) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string ReadStdinToken() {
  std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

}  // namespace latchkey::cli
