#include "oauth/introspection.hpp"

#include <algorithm>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/base64.hpp"
#include "common/strings.hpp"
#include "crypto/digest.hpp"

namespace latchkey::oauth {
namespace {

bool IsFormContentType(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  return common::EqualsIgnoreCase(common::Trim(media), "application/x-www-form-urlencoded");
}

// BearerToken returns the token of an RFC 6750 §2.1 credential ("Bearer" case-insensitive, one
// space, a b64token), or nullopt when the header uses another scheme.
std::optional<std::string_view> BearerToken(std::string_view header) {
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size() ||
      !common::EqualsIgnoreCase(header.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  return header.substr(kScheme.size());
}

std::optional<std::string> GetString(const boost::json::object& claims, std::string_view name) {
  const auto* v = claims.if_contains(name);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

std::optional<int64_t> GetInt(const boost::json::object& claims, std::string_view name) {
  const auto* v = claims.if_contains(name);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v->as_uint64());
  }
  return std::nullopt;
}

}  // namespace

Result<TokenLookupRequest> ParseTokenLookupRequest(const TokenHttpRequest& http, bool allow_bearer) {
  // RFC 7662 §2.1 and RFC 7009 §2.1: "HTTP POST ... using the application/x-www-form-urlencoded
  // format".
  if (http.method != "POST") return MakeError(ErrorCode::kInvalidRequest, "this endpoint accepts POST only");
  if (!http.content_type || !IsFormContentType(*http.content_type)) {
    return MakeError(ErrorCode::kInvalidRequest, "content type must be application/x-www-form-urlencoded");
  }
  if (http.authorization_count > 1) {
    return MakeError(ErrorCode::kInvalidRequest, "more than one Authorization header");
  }
  auto params = ParseFormParams(http.body);
  if (!params) return params.error();
  auto token = params->Get("token");
  if (!token || token->empty()) return MakeError(ErrorCode::kInvalidRequest, "token is required");

  TokenLookupRequest out;
  out.token = std::string(*token);
  if (auto hint = params->Get("token_type_hint")) {
    // RFC 7009 §2.1 / RFC 7662 §2.1: an unknown hint is not an error; the search covers every type.
    if (*hint == "access_token") out.hint = TokenKind::kAccessToken;
    if (*hint == "refresh_token") out.hint = TokenKind::kRefreshToken;
  }
  if (allow_bearer && http.authorization) {
    if (auto bearer = BearerToken(*http.authorization)) {
      // One way of identifying the caller per request (RFC 6749 §2.3).
      if (params->Get("client_id") || params->Get("client_secret")) {
        return MakeError(ErrorCode::kInvalidRequest, "a bearer token and client credentials were both sent");
      }
      // RFC 6750 §2.1: b64token, one of them; no empty or space-separated credential.
      if (bearer->empty() || bearer->find_first_of(" \t") != std::string_view::npos) {
        return MakeError(ErrorCode::kInvalidRequest, "the bearer token is malformed");
      }
      out.bearer = std::string(*bearer);
      return out;
    }
  }
  auto credentials = ExtractClientCredentials(http.authorization, *params);
  if (!credentials) return credentials.error();
  out.credentials = std::move(*credentials);
  return out;
}

bool LooksLikeJwt(std::string_view token) { return std::count(token.begin(), token.end(), '.') == 2; }

std::optional<VerifiedAccessToken> VerifyAccessTokenJwt(std::string_view jwt, const jose::Jwks& keys,
                                                        std::span<const jose::Alg> allowed,
                                                        std::string_view issuer, const common::Clock& clock) {
  auto jws = jose::VerifyJws(jwt, keys, allowed);
  if (!jws) return std::nullopt;
  // RFC 9068 §4: "Resource servers MUST verify that the typ header value is at+jwt".
  const auto* typ = jws->header.if_contains("typ");
  if (typ == nullptr || !typ->is_string() || typ->as_string() != "at+jwt") return std::nullopt;
  jose::ClaimsCheck check;
  check.issuer = std::string(issuer);
  check.leeway_seconds = 0;
  auto claims = jose::CheckClaims(jws->payload, check, clock);
  if (!claims) return std::nullopt;
  VerifiedAccessToken out;
  auto& c = out.claims;
  auto iss = GetString(*claims, "iss");
  auto sub = GetString(*claims, "sub");
  auto client_id = GetString(*claims, "client_id");
  auto jti = GetString(*claims, "jti");
  auto exp = GetInt(*claims, "exp");
  auto iat = GetInt(*claims, "iat");
  // RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat and jti are REQUIRED.
  if (!iss || !sub || !client_id || !jti || !exp || !iat) return std::nullopt;
  c.iss = std::move(*iss);
  c.sub = std::move(*sub);
  c.client_id = std::move(*client_id);
  c.jti = std::move(*jti);
  c.exp = *exp;
  c.iat = *iat;
  c.aud = GetString(*claims, "aud").value_or("");
  c.scope = GetString(*claims, "scope").value_or("");
  c.gid = GetString(*claims, "gid").value_or("");
  c.auth_time = GetInt(*claims, "auth_time").value_or(0);
  return out;
}

std::string GrantId(std::string_view family_id) {
  return common::Base64UrlEncode(crypto::Sha256(std::string("grant:").append(family_id))).substr(0, 22);
}

std::string JtiRevocationKey(std::string_view jti) { return std::string("jti:").append(jti); }
std::string GrantRevocationKey(std::string_view grant_id) { return std::string("grant:").append(grant_id); }
std::string UserRevocationKey(std::string_view user_id) { return std::string("user:").append(user_id); }

std::vector<std::string> RevocationKeys(const AccessTokenClaims& claims) {
  std::vector<std::string> keys{JtiRevocationKey(claims.jti)};
  if (!claims.gid.empty()) keys.push_back(GrantRevocationKey(claims.gid));
  // Only tokens issued to a person carry auth_time (RFC 9068 §2.2.1); a client's sub is its
  // client_id, which must not be confused with a user id.
  if (claims.auth_time != 0) keys.push_back(UserRevocationKey(claims.sub));
  return keys;
}

bool RevokedBy(int64_t iat, int64_t latest_revocation) {
  return latest_revocation != 0 && iat <= latest_revocation;
}

std::string IntrospectionJson(const Introspection& in) {
  boost::json::object body;
  body["active"] = in.active;
  if (!in.active) return boost::json::serialize(body);
  auto put = [&body](std::string_view name, const std::string& value) {
    if (!value.empty()) body[name] = value;
  };
  put("scope", in.scope);
  put("client_id", in.client_id);
  put("username", in.username);
  put("token_type", in.token_type);
  if (in.exp != 0) body["exp"] = in.exp;
  if (in.iat != 0) body["iat"] = in.iat;
  if (in.nbf != 0) body["nbf"] = in.nbf;
  put("sub", in.sub);
  put("aud", in.aud);
  put("iss", in.iss);
  put("jti", in.jti);
  return boost::json::serialize(body);
}

Introspection AccessTokenIntrospection(const AccessTokenClaims& claims, std::string username) {
  Introspection out;
  out.active = true;
  out.scope = claims.scope;
  out.client_id = claims.client_id;
  out.username = std::move(username);
  // RFC 7662 §2.2 token_type: "Type of the token as defined in Section 5.1 of OAuth 2.0".
  out.token_type = "Bearer";
  out.exp = claims.exp;
  out.iat = claims.iat;
  out.nbf = claims.iat;  // valid from issue: this server does not post-date tokens
  out.sub = claims.sub;
  out.aud = claims.aud;
  out.iss = claims.iss;
  out.jti = claims.jti;
  return out;
}

Introspection OpaqueTokenIntrospection(const store::AccessTokenRecord& token, std::string_view issuer,
                                       std::string username) {
  Introspection out;
  out.active = true;
  out.scope = token.scope;
  out.client_id = token.client_id;
  out.username = std::move(username);
  out.token_type = "Bearer";
  out.exp = token.expires_at;
  out.iat = token.created_at;
  out.nbf = token.created_at;
  out.sub = token.subject;
  out.aud = token.audience;
  out.iss = std::string(issuer);
  // A stable identifier that is not the token: the first bytes of its stored hash.
  out.jti = common::Base64UrlEncode(std::string_view(token.token_hash).substr(0, 16));
  return out;
}

Introspection RefreshTokenIntrospection(const store::RefreshTokenRecord& token, std::string_view issuer,
                                        std::string username) {
  Introspection out;
  out.active = true;
  out.scope = token.scope;
  out.client_id = token.client_id;
  out.username = std::move(username);
  out.token_type = "refresh_token";
  out.exp = std::min(token.expires_at, token.family_expires_at);
  out.iat = token.created_at;
  out.nbf = token.created_at;
  out.sub = token.user_id;
  out.aud = token.client_id;  // a refresh token is only ever presented by its client
  out.iss = std::string(issuer);
  out.jti = common::Base64UrlEncode(std::string_view(token.token_hash).substr(0, 16));
  return out;
}

bool MayIntrospect(const store::ClientRecord& caller, std::string_view token_client_id) {
  return caller.introspect_any || caller.client_id == token_client_id;
}

bool RefreshTokenActive(const store::RefreshTokenRecord& token, int64_t now) {
  return !token.revoked && token.rotated_at == 0 && token.expires_at > now && token.family_expires_at > now;
}

bool OpaqueTokenActive(const store::AccessTokenRecord& token, int64_t now) {
  return !token.revoked && token.expires_at > now;
}

}  // namespace latchkey::oauth
