#include "oauth/scope.hpp"

#include <algorithm>

namespace latchkey::oauth {
namespace {

bool IsScopeChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u <= 0x5B) || (u >= 0x5D && u <= 0x7E);
}

}  // namespace

Result<std::vector<std::string>> ParseScope(std::string_view text) {
  std::vector<std::string> tokens;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view token = text.substr(start, end - start);
    if (token.empty()) return MakeError(ErrorCode::kInvalidScope, "malformed scope");
    if (!std::all_of(token.begin(), token.end(), IsScopeChar)) {
      return MakeError(ErrorCode::kInvalidScope, "scope contains an invalid character");
    }
    if (std::find(tokens.begin(), tokens.end(), token) == tokens.end()) tokens.emplace_back(token);
    start = end + 1;
  }
  return tokens;
}

Result<std::vector<std::string>> GrantScope(std::optional<std::string_view> requested,
                                            const std::vector<std::string>& allowed) {
  if (!requested) return allowed;
  auto tokens = ParseScope(*requested);
  if (!tokens) return tokens.error();
  for (const auto& token : *tokens) {
    if (std::find(allowed.begin(), allowed.end(), token) == allowed.end()) {
      // The description names no scope: it would tell a prober which scopes exist.
      return MakeError(ErrorCode::kInvalidScope, "requested scope is not allowed for this client");
    }
  }
  return tokens;
}

}  // namespace latchkey::oauth
