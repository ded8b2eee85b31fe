#include "oauth/token.hpp"

#include <algorithm>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "common/base64.hpp"
#include "common/strings.hpp"
#include "crypto/digest.hpp"
#include "oauth/scope.hpp"

namespace latchkey::oauth {
namespace {

// RFC 6749 §3.2 requires application/x-www-form-urlencoded; parameters such as charset may
// follow (media types compare case-insensitively, RFC 9110 §8.3.1).
bool IsFormContentType(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  return common::EqualsIgnoreCase(common::Trim(media), "application/x-www-form-urlencoded");
}

bool HasGrantType(const store::ClientRecord& client, std::string_view grant) {
  return std::find(client.grant_types.begin(), client.grant_types.end(), grant) != client.grant_types.end();
}

}  // namespace

Result<ClientPost> ParseClientPost(const TokenHttpRequest& http) {
  if (http.method != "POST") return MakeError(ErrorCode::kInvalidRequest, "this endpoint accepts POST only");
  if (!http.content_type || !IsFormContentType(*http.content_type)) {
    return MakeError(ErrorCode::kInvalidRequest, "content type must be application/x-www-form-urlencoded");
  }
  if (http.authorization_count > 1) {
    return MakeError(ErrorCode::kInvalidRequest, "more than one Authorization header");
  }
  auto params = ParseFormParams(http.body);
  if (!params) return params.error();
  auto credentials = ExtractClientCredentials(http.authorization, *params);
  if (!credentials) return credentials.error();
  return ClientPost{std::move(*credentials), std::move(*params)};
}

Result<TokenRequest> ParseTokenRequest(const TokenHttpRequest& http) {
  auto post = ParseClientPost(http);
  if (!post) return post.error();
  auto grant_type = post->params.Get("grant_type");
  if (!grant_type) return MakeError(ErrorCode::kInvalidRequest, "grant_type is required");
  return TokenRequest{std::string(*grant_type), std::move(post->credentials), std::move(post->params)};
}

const jose::SigningKey* SigningKeys::Find(jose::Alg alg) const {
  for (const auto& key : keys) {
    if (key.alg == alg) return &key;
  }
  return nullptr;
}

std::string TokenResponseJson(const TokenResponse& response) {
  boost::json::object body;
  body["access_token"] = response.access_token;
  body["token_type"] = response.token_type;
  body["expires_in"] = response.expires_in;
  if (!response.scope.empty()) body["scope"] = response.scope;
  if (!response.id_token.empty()) body["id_token"] = response.id_token;
  if (!response.refresh_token.empty()) body["refresh_token"] = response.refresh_token;
  return boost::json::serialize(body);
}

std::string AccessTokenPayload(const AccessTokenClaims& claims) {
  boost::json::object payload;
  payload["iss"] = claims.iss;
  payload["sub"] = claims.sub;
  payload["aud"] = claims.aud;
  payload["exp"] = claims.exp;
  payload["iat"] = claims.iat;
  payload["jti"] = claims.jti;
  payload["client_id"] = claims.client_id;
  if (!claims.scope.empty()) payload["scope"] = claims.scope;
  if (claims.auth_time != 0) payload["auth_time"] = claims.auth_time;
  if (!claims.gid.empty()) payload["gid"] = claims.gid;
  return boost::json::serialize(payload);
}

namespace {

int64_t AccessTokenLifetime(const store::ClientRecord& client, const TokenPolicy& policy) {
  return client.access_token_lifetime > 0 ? client.access_token_lifetime : policy.access_token_lifetime;
}

// OpaqueToken: the opaque access token `value` of `client`, valid from now, and the part of its
// record that does not depend on the grant.
OpaqueAccessToken OpaqueToken(std::string value, const store::ClientRecord& client, const TokenPolicy& policy,
                              const common::Clock& clock) {
  OpaqueAccessToken token;
  token.value = std::move(value);
  token.record.token_hash = crypto::Sha256(token.value);
  token.record.client_id = client.client_id;
  token.record.audience = policy.audience;
  token.record.created_at = clock.NowSeconds();
  token.record.expires_at = token.record.created_at + AccessTokenLifetime(client, policy);
  return token;
}

}  // namespace

OpaqueAccessToken NewOpaqueAccessToken(const store::ClientRecord& client, const TokenPolicy& policy,
                                       const common::Clock& clock, common::Random& random) {
  return OpaqueToken(common::Base64UrlEncode(random.Bytes(32)), client, policy, clock);
}

Result<TokenResponse> IssueAccessToken(const store::ClientRecord& client, std::string subject,
                                       const std::vector<std::string>& scope, const TokenPolicy& policy,
                                       const SigningKeys& keys, const common::Clock& clock,
                                       common::Random& random, int64_t auth_time, std::string grant_id,
                                       std::string opaque_value) {
  const int64_t lifetime = AccessTokenLifetime(client, policy);
  if (client.access_token_format == "opaque") {
    OpaqueAccessToken token = opaque_value.empty()
                                  ? NewOpaqueAccessToken(client, policy, clock, random)
                                  : OpaqueToken(std::move(opaque_value), client, policy, clock);
    store::AccessTokenRecord& record = token.record;
    record.subject = std::move(subject);
    if (auth_time != 0) record.user_id = record.subject;
    record.scope = common::Join(scope, " ");
    record.grant_id = std::move(grant_id);
    record.auth_time = auth_time;
    TokenResponse response{std::move(token.value), "Bearer", lifetime, record.scope};
    response.reference = std::move(record);
    return response;
  }
  jose::Alg alg = policy.access_token_alg;
  if (!client.access_token_alg.empty()) {
    auto parsed = jose::ParseAlg(client.access_token_alg);
    if (!parsed) return MakeError(ErrorCode::kServerError, "client signing algorithm is not supported");
    alg = *parsed;
  }
  if (std::find(policy.allowed_algs.begin(), policy.allowed_algs.end(), alg) == policy.allowed_algs.end()) {
    return MakeError(ErrorCode::kServerError, "signing algorithm is not allowed by the server");
  }
  const jose::SigningKey* key = keys.Find(alg);
  if (key == nullptr) return MakeError(ErrorCode::kServerError, "no signing key for the algorithm");

  AccessTokenClaims claims;
  claims.iss = policy.issuer;
  claims.sub = std::move(subject);
  claims.aud = policy.audience;
  claims.client_id = client.client_id;
  claims.scope = common::Join(scope, " ");
  claims.iat = clock.NowSeconds();
  claims.exp = claims.iat + lifetime;
  claims.jti = common::Base64UrlEncode(random.Bytes(16));
  claims.auth_time = auth_time;
  claims.gid = std::move(grant_id);

  // RFC 9068 §2.1: "Resource servers MUST verify that the typ header value is at+jwt".
  auto jws = jose::SignJws(*key, "at+jwt", AccessTokenPayload(claims));
  if (!jws) return MakeError(ErrorCode::kServerError, "signing failed");
  return TokenResponse{std::move(*jws), "Bearer", lifetime, std::move(claims.scope)};
}

Result<TokenResponse> ClientCredentialsGrant(const TokenRequest& request, const store::ClientRecord& client,
                                             const TokenPolicy& policy, const SigningKeys& keys,
                                             const common::Clock& clock, common::Random& random) {
  // RFC 6749 §4.4: "The client credentials grant type MUST only be used by confidential clients."
  if (client.secret_hash.empty() || !HasGrantType(client, "client_credentials")) {
    return MakeError(ErrorCode::kUnauthorizedClient, "client is not allowed to use client_credentials");
  }
  auto scope = GrantScope(request.params.Get("scope"), client.scopes);
  if (!scope) return scope.error();
  return IssueAccessToken(client, client.client_id, *scope, policy, keys, clock, random);
}

}  // namespace latchkey::oauth
