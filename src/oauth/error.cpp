#include "oauth/error.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace latchkey::oauth {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidRequest: return "invalid_request";
    case ErrorCode::kInvalidClient: return "invalid_client";
    case ErrorCode::kInvalidGrant: return "invalid_grant";
    case ErrorCode::kUnauthorizedClient: return "unauthorized_client";
    case ErrorCode::kUnsupportedGrantType: return "unsupported_grant_type";
    case ErrorCode::kInvalidScope: return "invalid_scope";
    case ErrorCode::kServerError: return "server_error";
    case ErrorCode::kTemporarilyUnavailable: return "temporarily_unavailable";
    case ErrorCode::kAccessDenied: return "access_denied";
    case ErrorCode::kUnsupportedResponseType: return "unsupported_response_type";
    case ErrorCode::kLoginRequired: return "login_required";
    case ErrorCode::kConsentRequired: return "consent_required";
    case ErrorCode::kInteractionRequired: return "interaction_required";
    case ErrorCode::kAccountSelectionRequired: return "account_selection_required";
    case ErrorCode::kRequestNotSupported: return "request_not_supported";
    case ErrorCode::kRequestUriNotSupported: return "request_uri_not_supported";
    case ErrorCode::kRegistrationNotSupported: return "registration_not_supported";
    case ErrorCode::kAuthorizationPending: return "authorization_pending";
    case ErrorCode::kSlowDown: return "slow_down";
    case ErrorCode::kExpiredToken: return "expired_token";
  }
  return "server_error";
}

std::string ErrorJson(const Error& error) {
  boost::json::object body;
  body["error"] = ErrorCodeName(error.code);
  if (!error.description.empty()) body["error_description"] = error.description;
  return boost::json::serialize(body);
}

}  // namespace latchkey::oauth
