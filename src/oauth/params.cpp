#include "oauth/params.hpp"

namespace latchkey::oauth {

Result<Params> Params::FromFields(const common::FormFields& fields) {
  Params params;
  for (const auto& [name, value] : fields) {
    if (value.empty()) continue;  // RFC 6749 §3.1: treated as omitted
    auto [it, inserted] = params.values_.emplace(name, value);
    if (!inserted) {
      // RFC 6749 §3.1, §3.2: a repeated parameter is ambiguous; an attacker who can append one
      // must not be able to override what the client sent.
      std::string shown = name.size() <= 64 ? name : name.substr(0, 64) + "...";
      return MakeError(ErrorCode::kInvalidRequest, "parameter '" + shown + "' is repeated");
    }
  }
  return params;
}

std::optional<std::string_view> Params::Get(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return std::string_view(it->second);
}

Result<Params> ParseFormParams(std::string_view text) {
  auto fields = common::ParseForm(text);
  if (!fields) return MakeError(ErrorCode::kInvalidRequest, "malformed form encoding");
  return Params::FromFields(*fields);
}

}  // namespace latchkey::oauth
