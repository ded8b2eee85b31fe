#pragma once

// application/x-www-form-urlencoded (WHATWG URL §5; RFC 6749 Appendix B) parsing and encoding,
// and percent-decoding (RFC 3986 §2.1).

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace latchkey::common {

using FormFields = std::vector<std::pair<std::string, std::string>>;

// PercentDecode decodes %XX escapes and, when `plus_is_space`, '+' as a space. Returns nullopt on
// a truncated or non-hex escape. The result may hold any byte, including NUL.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space);

// ParseForm splits `body` on '&' into name=value pairs in order, decoding each side. Empty
// segments are skipped; a segment without '=' is a name with an empty value. Returns nullopt when
// any escape is malformed. Repeated names are kept (callers decide whether that is an error).
std::optional<FormFields> ParseForm(std::string_view body);

// FormEncode percent-encodes `text` for a form or query component: unreserved characters
// (RFC 3986 §2.3) are kept, a space becomes '+', everything else is %XX.
std::string FormEncode(std::string_view text);

// BuildForm joins fields as name=value&... with FormEncode on both sides.
std::string BuildForm(const FormFields& fields);

}  // namespace latchkey::common
