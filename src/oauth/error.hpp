#pragma once

// OAuth errors as values: exactly the codes of RFC 6749 §4.1.2.1 and §5.2 (and later RFC 6750
// §3.1, RFC 8628 §3.5, OIDC Core §3.1.2.6). The endpoint adapter turns an Error into the status,
// body and headers its RFC prescribes.

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace latchkey::oauth {

enum class ErrorCode {
  kInvalidRequest = 0,      // RFC 6749 §5.2
  kInvalidClient,           // RFC 6749 §5.2 (401)
  kInvalidGrant,            // RFC 6749 §5.2
  kUnauthorizedClient,      // RFC 6749 §5.2
  kUnsupportedGrantType,    // RFC 6749 §5.2
  kInvalidScope,            // RFC 6749 §5.2
  kServerError,             // RFC 6749 §4.1.2.1 (also used for 500 at the token endpoint)
  kTemporarilyUnavailable,  // RFC 6749 §4.1.2.1 (503)
  // Authorization endpoint only (rendered as a redirect, never as a status code):
  kAccessDenied,              // RFC 6749 §4.1.2.1; also RFC 8628 §3.5 (token endpoint, 400)
  kUnsupportedResponseType,   // RFC 6749 §4.1.2.1
  kLoginRequired,             // OIDC Core §3.1.2.6
  kConsentRequired,           // OIDC Core §3.1.2.6
  kInteractionRequired,       // OIDC Core §3.1.2.6
  kAccountSelectionRequired,  // OIDC Core §3.1.2.6
  kRequestNotSupported,       // OIDC Core §3.1.2.6, §6.1 ("request" parameter)
  kRequestUriNotSupported,    // OIDC Core §3.1.2.6, §6.2 ("request_uri" parameter)
  kRegistrationNotSupported,  // OIDC Core §3.1.2.6, §7.2.1 ("registration" parameter)
  // Token endpoint, device authorization grant only (RFC 8628 §3.5, status 400 as RFC 6749 §5.2;
  // access_denied above is shared). Only the first two tell the client to keep polling.
  kAuthorizationPending,  // RFC 8628 §3.5: the user has not decided yet
  kSlowDown,              // RFC 8628 §3.5: still pending, and the interval grows by 5 seconds
  kExpiredToken,          // RFC 8628 §3.5: the device_code expired
};

// ErrorCodeName returns the RFC spelling ("invalid_request", ...).
std::string_view ErrorCodeName(ErrorCode code);

// Error: an RFC error code plus a short description that is safe to show the client (never a
// secret, never internal detail).
struct Error {
  ErrorCode code = ErrorCode::kInvalidRequest;
  std::string description;
};

template <class T>
using Result = common::Result<T, Error>;

// MakeError builds an Error (readability helper for `return MakeError(...)`).
inline Error MakeError(ErrorCode code, std::string description) {
  return Error{code, std::move(description)};
}

// ErrorJson renders {"error": ..., "error_description": ...} (RFC 6749 §5.2).
std::string ErrorJson(const Error& error);

}  // namespace latchkey::oauth
