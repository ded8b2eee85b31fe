#include "oauth/code_grant.hpp"

#include <algorithm>

#include "common/base64.hpp"
#include "common/strings.hpp"
#include "crypto/digest.hpp"
#include "oauth/pkce.hpp"
#include "oauth/scope.hpp"

namespace latchkey::oauth {
namespace {

Error InvalidGrant(std::string description) {
  return MakeError(ErrorCode::kInvalidGrant, std::move(description));
}

bool Contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

Result<void> CheckCodeRedemption(const TokenRequest& request, const store::ClientRecord& client,
                                 const store::AuthorizationCodeRecord& code) {
  if (code.client_id != client.client_id) return InvalidGrant("the code was issued to another client");
  auto redirect_uri = request.params.Get("redirect_uri");
  if (code.redirect_uri_sent && !redirect_uri) return InvalidGrant("redirect_uri is required");
  if (redirect_uri && *redirect_uri != code.redirect_uri) return InvalidGrant("redirect_uri does not match");

  auto verifier = request.params.Get("code_verifier");
  if (code.code_challenge.empty()) {
    if (verifier)
      return InvalidGrant("code_verifier sent but the authorization request had no code_challenge");
    return {};
  }
  if (!verifier) return InvalidGrant("code_verifier is required");
  PkceMethod method = code.code_challenge_method == "plain" ? PkceMethod::kPlain : PkceMethod::kS256;
  if (!VerifyPkce(*verifier, code.code_challenge, method))
    return InvalidGrant("code_verifier does not match");
  return {};
}

bool IssuesRefreshToken(const store::ClientRecord& client, const std::vector<std::string>& scope) {
  if (!Contains(client.grant_types, "refresh_token")) return false;
  bool confidential = client.token_endpoint_auth_method != "none";
  return confidential || Contains(scope, "offline_access");
}

std::string RefreshFamilyForCode(std::string_view code_hash) { return common::Base64UrlEncode(code_hash); }

std::string RefreshTokenSuccessor(std::string_view key, std::string_view token) {
  return common::Base64UrlEncode(crypto::HmacSha256(key, token));
}

Result<std::vector<std::string>> RefreshScope(const TokenRequest& request, const store::ClientRecord& client,
                                              const store::RefreshTokenRecord& token) {
  if (token.client_id != client.client_id)
    return InvalidGrant("the refresh token was issued to another client");
  std::vector<std::string> granted = common::SplitSpaces(token.scope);
  auto requested = request.params.Get("scope");
  if (!requested) return granted;
  return GrantScope(requested, granted);
}

}  // namespace latchkey::oauth
