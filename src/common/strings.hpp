#pragma once

// Small string helpers shared by the protocol modules.

#include <cstddef>
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

// HexDigitValue returns the value of an ASCII hex digit (0-9, a-f, A-F), or -1.
int HexDigitValue(char c);

// Utf8SequenceLength returns how many bytes of `s` (non-empty, s[0] >= 0x80) form one well-formed
// UTF-8 sequence (Unicode Table 3-7), or 0 and sets `bad` to the length of the maximal ill-formed
// subpart that one U+FFFD replaces (Unicode §3.9, "substitution of maximal subparts").
std::size_t Utf8SequenceLength(std::string_view s, std::size_t& bad);

// IsValidUtf8: `text` is well-formed UTF-8 (ToValidUtf8 would return it unchanged).
bool IsValidUtf8(std::string_view text);

// ToValidUtf8 returns `text` with every ill-formed UTF-8 subpart replaced by U+FFFD.
std::string ToValidUtf8(std::string_view text);

// Join concatenates `parts` with `separator` between them.
std::string Join(const std::vector<std::string>& parts, std::string_view separator);

}  // namespace latchkey::common
