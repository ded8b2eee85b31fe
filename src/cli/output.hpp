#pragma once

// Output helpers shared by the client-side commands (`jwt`, `token`): indented JSON, readable
// times, and reading a token or secret from standard input.

#include <cstdint>
#include <optional>
#include <string>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace latchkey::cli {

// PrettyJson renders `value` with two-space indentation and one member per line (Boost.JSON only
// writes compact JSON). Strings are escaped as boost::json::serialize escapes them.
std::string PrettyJson(const boost::json::value& value);

// NumericDate returns a JWT NumericDate member (RFC 7519 §2: seconds, possibly with a fraction,
// which is dropped) when `claims` has `name` as a number between 0 and the year 9999; nullopt
// otherwise.
std::optional<int64_t> NumericDate(const boost::json::object& claims, std::string_view name);

// UtcTime renders seconds since the epoch as "2025-01-31T12:00:00Z" (RFC 3339, UTC).
std::string UtcTime(int64_t seconds);

// Relative renders `seconds` - `now` as "in 4m 59s" or "3h 2m ago" ("now" when equal).
std::string Relative(int64_t seconds, int64_t now);

// TimeClaims returns {"exp": "2025-...Z", ...} for the exp, iat, nbf and auth_time members of
// `claims` that are NumericDates; empty when none is.
boost::json::object TimeClaims(const boost::json::object& claims);

// PrintTimeClaims writes one line per TimeClaims member to stdout: name, UTC time, relative time.
void PrintTimeClaims(const boost::json::object& claims, int64_t now);

// ReadStdinLine reads one line of standard input without its line ending ("\n" or "\r\n").
// nullopt at end of input before any character.
std::optional<std::string> ReadStdinLine();

// ReadStdinToken reads all of standard input and removes leading and trailing white space (a
// token piped from another command ends with a newline).
std::string ReadStdinToken();

}  // namespace latchkey::cli
