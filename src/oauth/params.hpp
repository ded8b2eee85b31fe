#pragma once

// Request parameters with the RFC 6749 rules applied: §3.1/§3.2 "Parameters sent without a value
// MUST be treated as if they were omitted from the request" and "Request and response parameters
// MUST NOT be included more than once".

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/form.hpp"
#include "oauth/error.hpp"

namespace latchkey::oauth {

// Params: parameter name -> value, each name at most once, no empty values.
class Params {
 public:
  // FromFields drops empty values, then fails with invalid_request naming the first parameter that
  // occurs more than once.
  static Result<Params> FromFields(const common::FormFields& fields);

  // Get returns the value of `name`, or nullopt when absent.
  std::optional<std::string_view> Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }

 private:
  std::map<std::string, std::string, std::less<>> values_;
};

// ParseFormParams parses an application/x-www-form-urlencoded body or query string into Params:
// invalid_request when it is malformed or repeats a parameter.
Result<Params> ParseFormParams(std::string_view text);

}  // namespace latchkey::oauth
