#pragma once

// A Boost.Beast adapter for Validator, header-only:
//
//   auto outcome = latchkey::validator::AuthorizeRequest(request, validator, "api", kNeeds);
//   if (auto* refusal = std::get_if<latchkey::validator::BeastResponse>(&outcome)) {
//     return std::move(*refusal);  // 400/401/403/503, ready to send
//   }
//   const auto& claims = std::get<latchkey::validator::AccessTokenClaims>(outcome);
//
// Only this header of the SDK includes Beast; include it only where Beast is already used.

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include "latchkey/client/error.hpp"
#include "latchkey/validator/access_token.hpp"
#include "latchkey/validator/bearer.hpp"
#include "latchkey/validator/validator.hpp"

namespace latchkey::validator {

// BeastResponse: the answer to a refused request.
using BeastResponse = boost::beast::http::response<boost::beast::http::string_body>;

// ChallengeResponse renders `challenge` (see ChallengeFor) as a response for an HTTP/`version`
// request: its status, WWW-Authenticate when the challenge has one, Cache-Control: no-store (a
// refusal must not be cached by a proxy and replayed to a client that has since got a good token),
// and the ChallengeBody JSON.
inline BeastResponse ChallengeResponse(const Challenge& challenge, unsigned version, bool keep_alive) {
  namespace http = boost::beast::http;
  BeastResponse response{static_cast<http::status>(challenge.status), version};
  if (!challenge.www_authenticate.empty()) {
    response.set(http::field::www_authenticate, challenge.www_authenticate);
  }
  response.set(http::field::cache_control, "no-store");
  response.set(http::field::content_type, "application/json");
  response.body() = ChallengeBody(challenge);
  response.keep_alive(keep_alive);
  response.prepare_payload();
  return response;
}

// AuthorizeRequest validates the Bearer token of `request` (Validator::ValidateAuthorization) and
// returns its claims, or the response to send instead (ChallengeFor + ChallengeResponse with
// `realm` and `required_scopes`). A request with more than one Authorization header is refused
// with 400 invalid_request (RFC 6750 §3.1: the request "repeats the same parameter"). Reads only
// the header, never the body: tokens in a form body or the query (RFC 6750 §2.2, §2.3) are not
// looked for.
template <class Body, class Fields>
std::variant<AccessTokenClaims, BeastResponse> AuthorizeRequest(
    const boost::beast::http::request<Body, Fields>& request, Validator& validator, std::string_view realm,
    std::span<const std::string> required_scopes = {}) {
  namespace http = boost::beast::http;
  Result<AccessTokenClaims> claims = [&]() -> Result<AccessTokenClaims> {
    if (request.count(http::field::authorization) > 1) {
      return client::Error{client::ErrorCode::kInvalidArgument, "more than one Authorization header",
                           std::string(kInvalidRequest)};
    }
    const auto header = request[http::field::authorization];
    return validator.ValidateAuthorization(std::string_view(header.data(), header.size()), required_scopes);
  }();
  if (claims) return std::move(*claims);
  return ChallengeResponse(ChallengeFor(claims.error(), realm, required_scopes), request.version(),
                           request.keep_alive());
}

}  // namespace latchkey::validator
