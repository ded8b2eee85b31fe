#pragma once

// Scopes (RFC 6749 §3.3): scope = scope-token *( SP scope-token ),
// scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oauth/error.hpp"

namespace latchkey::oauth {

// ParseScope splits `text` into its scope tokens (order kept, duplicates removed). invalid_scope
// when a token holds a character outside the RFC 6749 §3.3 grammar or tokens are not separated by
// exactly one space.
Result<std::vector<std::string>> ParseScope(std::string_view text);

// GrantScope decides the scope of a token: the requested tokens when every one is allowed for the
// client, the client's registered scopes when nothing was requested (RFC 6749 §3.3 permits a
// default), invalid_scope otherwise.
Result<std::vector<std::string>> GrantScope(std::optional<std::string_view> requested,
                                            const std::vector<std::string>& allowed);

}  // namespace latchkey::oauth
