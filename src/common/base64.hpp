#pragma once

// Base64 (RFC 4648 §4) and base64url without padding (RFC 4648 §5, as JOSE uses it, RFC 7515 §2).
// All byte strings in Latchkey are std::string (binary safe).

#include <optional>
#include <string>
#include <string_view>

namespace latchkey::common {

// Base64UrlEncode returns the unpadded base64url text of `bytes`.
std::string Base64UrlEncode(std::string_view bytes);

// Base64UrlDecode returns the bytes of unpadded base64url `text`, or nullopt when `text` holds a
// character outside the alphabet, padding, an impossible length, or non-zero trailing bits
// (non-canonical encodings are refused so one value has exactly one spelling).
std::optional<std::string> Base64UrlDecode(std::string_view text);

// Base64Encode returns padded standard base64 (used by HTTP Basic authentication, RFC 7617).
std::string Base64Encode(std::string_view bytes);

// Base64Decode decodes padded standard base64; nullopt on any malformed input.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace latchkey::common
