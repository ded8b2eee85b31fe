#pragma once

// Helpers shared by the SDK's implementation files (not installed, not part of the API).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "common/clock.hpp"
#include "jose/jose.hpp"
#include "latchkey/client/error.hpp"
#include "latchkey/client/transport.hpp"

namespace latchkey::client::internal {

// Fail builds an Error with a code and a message.
Error Fail(ErrorCode code, std::string message);

// TokenError builds Error{kInvalidToken, problem, message}.
Error TokenError(TokenProblem problem, std::string message);

// FromJose maps a JOSE rejection to the TokenProblem that names it.
TokenProblem FromJose(jose::Errc errc);

// ParseJsonObject parses `body` as a JSON object; kInvalidResponse naming `what` otherwise.
Result<boost::json::object> ParseJsonObject(std::string_view body, std::string_view what);

// StringMember returns a string member, "" when absent; nullopt when present with another type.
std::optional<std::string> StringMember(const boost::json::object& object, std::string_view name);

// IntMember returns an integer member (a JSON number without a fraction), nullopt otherwise.
std::optional<int64_t> IntMember(const boost::json::object& object, std::string_view name);

// StringList returns a string or array-of-strings member as a list (empty when absent).
std::vector<std::string> StringList(const boost::json::object& object, std::string_view name);

// IsAcceptableEndpoint: an absolute https URL, or http on a loopback host (development).
bool IsAcceptableEndpoint(std::string_view url);

// BasicCredentials renders RFC 6749 §2.3.1 client_secret_basic: id and secret form-encoded, then
// joined with ':' and base64-encoded.
std::string BasicCredentials(std::string_view client_id, std::string_view client_secret);

// HttpFailure turns a non-success answer into an Error: kOAuth with `error`/`error_description`
// when the body is an RFC 6749 §5.2 error object, kHttpStatus otherwise.
Error HttpFailure(const HttpResponse& response, std::string_view what);

// ClockAdapter lets the JOSE claim checks read the SDK's Clock.
class ClockAdapter final : public common::Clock {
 public:
  explicit ClockAdapter(const client::Clock& clock) : clock_(clock) {}
  int64_t NowSeconds() const override { return clock_.NowSeconds(); }

 private:
  const client::Clock& clock_;
};

// FixedClock lets the JOSE claim checks read a time given as an argument (pure functions).
class FixedClock final : public common::Clock {
 public:
  explicit FixedClock(int64_t now) : now_(now) {}
  int64_t NowSeconds() const override { return now_; }

 private:
  int64_t now_;
};

}  // namespace latchkey::client::internal
