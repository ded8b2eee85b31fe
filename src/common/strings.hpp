#pragma once

// Small string helpers shared by the protocol modules.

#include <string>
#include <string_view>
#include <vector>

namespace latchkey::common {

// EqualsIgnoreCase compares ASCII case-insensitively (HTTP scheme and header names, RFC 9110 §5.1).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// ToLower returns an ASCII-lowercased copy.
std::string ToLower(std::string_view s);

// Trim removes leading and trailing spaces and horizontal tabs (HTTP OWS, RFC 9110 §5.6.3).
std::string_view Trim(std::string_view s);

// SplitSpaces splits on single spaces and drops empty pieces (RFC 6749 §3.3 scope-token lists).
std::vector<std::string> SplitSpaces(std::string_view s);

// Join concatenates `parts` with `separator` between them.
std::string Join(const std::vector<std::string>& parts, std::string_view separator);

}  // namespace latchkey::common
