#include "internal.hpp"

#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>

#include "common/base64.hpp"
#include "common/form.hpp"

namespace latchkey::client::internal {

Error Fail(ErrorCode code, std::string message) {
  Error e;
  e.code = code;
  e.message = std::move(message);
  return e;
}

Error TokenError(TokenProblem problem, std::string message) {
  Error e = Fail(ErrorCode::kInvalidToken, std::move(message));
  e.token_problem = problem;
  return e;
}

TokenProblem FromJose(jose::Errc errc) {
  switch (errc) {
    case jose::Errc::kUnsupportedAlg:
    case jose::Errc::kAlgNotAllowed: return TokenProblem::kAlgNotAllowed;
    case jose::Errc::kKeyNotFound: return TokenProblem::kUnknownKey;
    case jose::Errc::kBadSignature:
    case jose::Errc::kInvalidKey: return TokenProblem::kBadSignature;
    case jose::Errc::kExpired: return TokenProblem::kExpired;
    case jose::Errc::kNotYetValid: return TokenProblem::kNotYetValid;
    case jose::Errc::kIssuedInFuture: return TokenProblem::kIssuedInFuture;
    case jose::Errc::kWrongIssuer: return TokenProblem::kWrongIssuer;
    case jose::Errc::kWrongAudience: return TokenProblem::kWrongAudience;
    case jose::Errc::kMissingClaim: return TokenProblem::kMissingClaim;
    case jose::Errc::kNone:
    case jose::Errc::kMalformed:
    case jose::Errc::kCritUnsupported: return TokenProblem::kMalformed;
  }
  return TokenProblem::kMalformed;
}

Result<boost::json::object> ParseJsonObject(std::string_view body, std::string_view what) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(body, ec);
  if (ec || !value.is_object()) {
    return Fail(ErrorCode::kInvalidResponse, std::string(what) + " is not a JSON object");
  }
  return std::move(value.as_object());
}

std::optional<std::string> StringMember(const boost::json::object& object, std::string_view name) {
  const auto* v = object.if_contains(name);
  if (v == nullptr || v->is_null()) return std::string();
  if (!v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

std::optional<int64_t> IntMember(const boost::json::object& object, std::string_view name) {
  const auto* v = object.if_contains(name);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v->as_uint64());
  }
  return std::nullopt;
}

std::vector<std::string> StringList(const boost::json::object& object, std::string_view name) {
  std::vector<std::string> out;
  const auto* v = object.if_contains(name);
  if (v == nullptr) return out;
  if (v->is_string()) {
    out.emplace_back(v->as_string());
  } else if (v->is_array()) {
    for (const auto& item : v->as_array()) {
      if (item.is_string()) out.emplace_back(item.as_string());
    }
  }
  return out;
}

bool IsAcceptableEndpoint(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed || !parsed->has_authority() || parsed->host().empty()) return false;
  if (parsed->has_fragment()) return false;
  if (parsed->scheme() == "https") return true;
  if (parsed->scheme() != "http") return false;
  // http only for development on this machine (OAuth 2.1 §1.5 requires TLS otherwise).
  const std::string host = parsed->host();
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]" || host == "::1";
}

std::string BasicCredentials(std::string_view client_id, std::string_view client_secret) {
  // RFC 6749 §2.3.1: "the client identifier is encoded using the application/x-www-form-urlencoded
  // encoding algorithm ... and the encoded value is used as the username".
  return "Basic " +
         common::Base64Encode(common::FormEncode(client_id) + ":" + common::FormEncode(client_secret));
}

Error HttpFailure(const HttpResponse& response, std::string_view what) {
  Error e;
  e.http_status = response.status;
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(response.body, ec);
  if (!ec && value.is_object()) {
    const auto& object = value.as_object();
    auto error = StringMember(object, "error");
    if (error && !error->empty()) {
      e.code = ErrorCode::kOAuth;
      e.oauth_error = *error;
      auto description = StringMember(object, "error_description");
      e.message = std::string(what) + (description && !description->empty() ? ": " + *description : "");
      return e;
    }
  }
  e.code = ErrorCode::kHttpStatus;
  e.message = std::string(what) + " answered HTTP " + std::to_string(response.status);
  return e;
}

}  // namespace latchkey::client::internal
