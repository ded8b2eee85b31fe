#include "latchkey/client/error.hpp"

#include "common/strings.hpp"
#include "latchkey/client/transport.hpp"

namespace latchkey::client {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNone: return "none";
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kTransport: return "transport";
    case ErrorCode::kHttpStatus: return "http_status";
    case ErrorCode::kInvalidResponse: return "invalid_response";
    case ErrorCode::kDiscovery: return "discovery";
    case ErrorCode::kOAuth: return "oauth";
    case ErrorCode::kInvalidToken: return "invalid_token";
    case ErrorCode::kStateMismatch: return "state_mismatch";
    case ErrorCode::kIssuerMismatch: return "issuer_mismatch";
    case ErrorCode::kSignInRequired: return "sign_in_required";
    case ErrorCode::kCancelled: return "cancelled";
  }
  return "unknown";
}

std::string_view TokenProblemName(TokenProblem problem) {
  switch (problem) {
    case TokenProblem::kNone: return "none";
    case TokenProblem::kMalformed: return "malformed";
    case TokenProblem::kAlgNotAllowed: return "alg_not_allowed";
    case TokenProblem::kUnknownKey: return "unknown_key";
    case TokenProblem::kBadSignature: return "bad_signature";
    case TokenProblem::kWrongType: return "wrong_type";
    case TokenProblem::kWrongIssuer: return "wrong_issuer";
    case TokenProblem::kWrongAudience: return "wrong_audience";
    case TokenProblem::kWrongAuthorizedParty: return "wrong_authorized_party";
    case TokenProblem::kExpired: return "expired";
    case TokenProblem::kNotYetValid: return "not_yet_valid";
    case TokenProblem::kIssuedInFuture: return "issued_in_future";
    case TokenProblem::kMissingClaim: return "missing_claim";
    case TokenProblem::kNonceMismatch: return "nonce_mismatch";
    case TokenProblem::kAtHashMismatch: return "at_hash_mismatch";
    case TokenProblem::kAuthTooOld: return "auth_too_old";
    case TokenProblem::kInsufficientScope: return "insufficient_scope";
    case TokenProblem::kInactive: return "inactive";
  }
  return "unknown";
}

std::string Describe(const Error& error) {
  std::string out(ErrorCodeName(error.code));
  if (!error.oauth_error.empty()) out += ": " + error.oauth_error;
  if (error.token_problem != TokenProblem::kNone)
    out += ": " + std::string(TokenProblemName(error.token_problem));
  if (error.http_status != 0) out += " (HTTP " + std::to_string(error.http_status) + ")";
  if (!error.message.empty()) out += " " + error.message;
  return out;
}

std::optional<std::string_view> HttpResponse::HeaderValue(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (common::EqualsIgnoreCase(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

}  // namespace latchkey::client
