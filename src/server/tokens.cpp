// Token lifecycle endpoints: introspection (RFC 7662) and revocation (RFC 7009), the lookup of an
// access token whatever its format, and the revocation of grants (refresh token families and the
// access tokens issued from them).

#include <algorithm>

#include "common/base64.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "crypto/digest.hpp"
#include "oauth/introspection.hpp"
#include "server/audit.hpp"
#include "server/provider.hpp"
#include "server/revocation.hpp"
#include "server/web.hpp"

namespace latchkey::server {
namespace {

// ClaimsOfOpaque: the access token claims an opaque token's record stands for.
oauth::AccessTokenClaims ClaimsOfOpaque(const store::AccessTokenRecord& t, std::string_view issuer) {
  oauth::AccessTokenClaims c;
  c.iss = std::string(issuer);
  c.sub = t.subject;
  c.aud = t.audience;
  c.client_id = t.client_id;
  c.scope = t.scope;
  c.iat = t.created_at;
  c.exp = t.expires_at;
  c.auth_time = t.auth_time;
  c.gid = t.grant_id;
  return c;
}

}  // namespace

int64_t Provider::LongestAccessTokenLifetime(const Snapshot& snapshot) const {
  int64_t longest = policy_.access_token_lifetime;
  for (const auto& [id, client] : snapshot.clients) longest = std::max(longest, client.access_token_lifetime);
  return longest;
}

int64_t Provider::RevocationHorizon(const Snapshot& snapshot) const {
  // A denylist entry must outlive every token it can match: the longest access token lifetime.
  return clock_.NowSeconds() + LongestAccessTokenLifetime(snapshot) + 60;
}

store::Result<int64_t> RevokeGrantFamily(store::Store& store, const std::string& family_id, int64_t now,
                                         int64_t horizon) {
  // Denylist first: once the family is revoked nothing else would remember its access tokens.
  auto denied = store.PutRevocation({oauth::GrantRevocationKey(oauth::GrantId(family_id)), now, horizon});
  if (!denied) return denied.error();
  return store.RevokeRefreshFamily(family_id);
}

store::Result<int64_t> RevokeUserGrants(store::Store& store, const std::string& user_id,
                                        const std::string& client_id, const std::string& session_id_hash,
                                        int64_t now, int64_t horizon) {
  auto families = store.RevokeRefreshTokens(user_id, client_id, session_id_hash);
  if (!families) return families.error();
  for (const auto& family : *families) {
    auto revoked = RevokeGrantFamily(store, family, now, horizon);
    if (!revoked) return revoked.error();
  }
  return static_cast<int64_t>(families->size());
}

store::Result<int64_t> RevokeEverything(store::Store& store, const std::string& user_id, int64_t now,
                                        int64_t horizon) {
  auto denied = store.PutRevocation({oauth::UserRevocationKey(user_id), now, horizon});
  if (!denied) return denied.error();
  auto grants = RevokeUserGrants(store, user_id, "", "", now, horizon);
  if (!grants) return grants.error();
  auto sessions = store.ListUserSessions(user_id);
  if (!sessions) return sessions.error();
  for (const auto& s : *sessions) {
    if (s.revoked) continue;
    if (auto revoked = store.RevokeSession(s.id_hash);
        !revoked && revoked.error() != store::Error::kNotFound) {
      return revoked.error();
    }
  }
  return grants;
}

store::Result<int64_t> Provider::RevokeGrant(const std::string& family_id, const Snapshot& snapshot) {
  auto revoked = RevokeGrantFamily(store_, family_id, clock_.NowSeconds(), RevocationHorizon(snapshot));
  TokensRevoked();
  return revoked;
}

void Provider::TokensRevoked() { token_cache_.Forget(); }

store::Result<std::optional<oauth::AccessTokenClaims>> Provider::ResolveAccessToken(
    const std::string& token, const Snapshot& snapshot) {
  oauth::AccessTokenClaims claims;
  std::vector<std::string> keys;
  if (oauth::LooksLikeJwt(token)) {
    auto verified = oauth::VerifyAccessTokenJwt(token, snapshot.keys.public_jwks, policy_.allowed_algs,
                                                config_.issuer, clock_);
    if (!verified) return std::optional<oauth::AccessTokenClaims>();
    claims = std::move(verified->claims);
    keys = oauth::RevocationKeys(claims);
  } else {
    auto record = store_.GetAccessToken(crypto::Sha256(token));
    if (!record) {
      if (record.error() == store::Error::kNotFound) return std::optional<oauth::AccessTokenClaims>();
      return record.error();
    }
    if (!oauth::OpaqueTokenActive(*record, clock_.NowSeconds()))
      return std::optional<oauth::AccessTokenClaims>();
    claims = ClaimsOfOpaque(*record, config_.issuer);
    claims.jti = common::Base64UrlEncode(std::string_view(record->token_hash).substr(0, 16));
    // Revoked one by one in its record; its grant and user through the denylist.
    keys = oauth::RevocationKeys(claims);
    keys.erase(keys.begin());
  }
  if (!keys.empty()) {
    auto latest = store_.LatestRevocation(keys);
    if (!latest) return latest.error();
    if (oauth::RevokedBy(claims.iat, *latest)) return std::optional<oauth::AccessTokenClaims>();
  }
  return std::optional<oauth::AccessTokenClaims>(std::move(claims));
}

common::Result<const store::ClientRecord*, http::Response> Provider::IntrospectionCaller(
    const oauth::TokenLookupRequest& request, const Snapshot& snapshot) {
  // RFC 7662 §2.1: "the endpoint MUST also require some form of authorization": an authenticated
  // confidential client, or a bearer token granted the "introspect" scope (resolved by Introspect).
  if (!request.credentials) return static_cast<const store::ClientRecord*>(nullptr);
  auto it = snapshot.clients.find(request.credentials->client_id);
  if (it == snapshot.clients.end() || it->second.secret_hash.empty() ||
      !oauth::AuthenticateClient(*request.credentials, it->second)) {
    return TokenError(oauth::MakeError(oauth::ErrorCode::kInvalidClient, "client authentication failed"),
                      "introspect");
  }
  return &it->second;
}

std::optional<http::Response> Provider::IntrospectInline(const http::Request& request) {
  auto snapshot = Current();
  auto parsed = oauth::ParseTokenLookupRequest(TokenHttp(request), /*allow_bearer=*/true);
  if (!parsed) return TokenError(parsed.error(), "introspect");
  auto caller = IntrospectionCaller(*parsed, *snapshot);
  if (!caller) return caller.error();
  if (*caller == nullptr) return std::nullopt;  // a bearer caller: resolving it may need the store
  auto cached = token_cache_.Get(crypto::Sha256(parsed->token), clock_.NowSeconds());
  if (!cached) return std::nullopt;
  const bool visible = oauth::MayIntrospect(**caller, cached->client_id);
  metrics_.Increment("latchkey_introspections_total", {{"active", visible ? "true" : "false"}});
  return NoStoreJson(200, visible ? cached->body : oauth::IntrospectionJson({}));
}

http::Response Provider::Introspect(const http::Request& request) {
  auto snapshot = Current();
  auto parsed = oauth::ParseTokenLookupRequest(TokenHttp(request), /*allow_bearer=*/true);
  if (!parsed) return TokenError(parsed.error(), "introspect");
  const auto unavailable = [&] {
    return TokenError(oauth::MakeError(oauth::ErrorCode::kTemporarilyUnavailable, "the store is unavailable"),
                      "introspect");
  };

  auto authenticated = IntrospectionCaller(*parsed, *snapshot);
  if (!authenticated) return authenticated.error();
  const store::ClientRecord* caller = *authenticated;
  if (caller == nullptr) {
    auto bearer = ResolveAccessToken(parsed->bearer, *snapshot);
    if (!bearer) return unavailable();
    const bool allowed =
        *bearer && std::ranges::count(common::SplitSpaces((*bearer)->scope), "introspect") > 0;
    auto it = allowed ? snapshot->clients.find((*bearer)->client_id) : snapshot->clients.end();
    if (it == snapshot->clients.end()) {
      // RFC 6750 §3.1: invalid_token (401) for a bearer that does not authorize the call.
      http::Response r = NoStoreJson(
          401,
          R"({"error":"invalid_token","error_description":"the bearer token does not allow introspection"})");
      r.SetHeader("WWW-Authenticate",
                  "Bearer realm=\"latchkey\", error=\"invalid_token\", scope=\"introspect\"");
      metrics_.Increment("latchkey_oauth_errors_total",
                         {{"endpoint", "introspect"}, {"error", "invalid_token"}});
      return r;
    }
    caller = &it->second;
  }

  // Read before the store is asked: a revocation that lands meanwhile keeps this answer out of the
  // cache (TokenCache::Put).
  const uint64_t generation = token_cache_.Generation();
  auto found = Inspect(parsed->token, parsed->hint, *snapshot);
  if (!found) return unavailable();
  std::string active_body;
  std::string token_client_id;
  if (*found) {
    active_body = oauth::IntrospectionJson(**found);
    token_client_id = (*found)->client_id;
    // Access tokens only: a refresh token stops being active when it is rotated, which is not a
    // revocation and does not make the cache forget.
    if ((*found)->token_type == "Bearer") {
      token_cache_.Put(generation, crypto::Sha256(parsed->token),
                       TokenCache::Entry{token_client_id, (*found)->exp, active_body}, clock_.NowSeconds());
    }
  }
  const bool visible = *found && oauth::MayIntrospect(*caller, token_client_id);
  metrics_.Increment("latchkey_introspections_total", {{"active", visible ? "true" : "false"}});
  return NoStoreJson(200, visible ? std::move(active_body) : oauth::IntrospectionJson({}));
}

store::Result<std::optional<oauth::Introspection>> Provider::Inspect(const std::string& token,
                                                                     std::optional<oauth::TokenKind> hint,
                                                                     const Snapshot& snapshot) {
  using Found = std::optional<oauth::Introspection>;
  const auto username = [&](const std::string& user_id) -> store::Result<std::optional<std::string>> {
    auto user = store_.GetUser(user_id);
    if (!user) {
      if (user.error() == store::Error::kNotFound) return std::optional<std::string>();
      return user.error();
    }
    // A disabled person's tokens are not honoured anywhere (the grants refuse them too).
    if (user->status != "active") return std::optional<std::string>();
    return std::optional<std::string>(user->username);
  };
  const auto as_access = [&]() -> store::Result<Found> {
    auto claims = ResolveAccessToken(token, snapshot);
    if (!claims) return claims.error();
    if (!*claims) return Found();
    std::string name;
    if ((*claims)->auth_time != 0) {
      auto n = username((*claims)->sub);
      if (!n) return n.error();
      if (!*n) return Found();
      name = std::move(**n);
    }
    return Found(oauth::AccessTokenIntrospection(**claims, std::move(name)));
  };
  const auto as_refresh = [&]() -> store::Result<Found> {
    if (oauth::LooksLikeJwt(token)) return Found();
    auto record = store_.GetRefreshToken(crypto::Sha256(token));
    if (!record) {
      if (record.error() == store::Error::kNotFound) return Found();
      return record.error();
    }
    if (!oauth::RefreshTokenActive(*record, clock_.NowSeconds())) return Found();
    auto n = username(record->user_id);
    if (!n) return n.error();
    if (!*n) return Found();
    return Found(oauth::RefreshTokenIntrospection(*record, config_.issuer, std::move(**n)));
  };
  // RFC 7662 §2.1: the hint orders the search; it does not limit it.
  const bool refresh_first = hint == oauth::TokenKind::kRefreshToken;
  auto first = refresh_first ? as_refresh() : as_access();
  if (!first || *first) return first;
  return refresh_first ? as_access() : as_refresh();
}

http::Response Provider::Revoke(const http::Request& request) {
  auto snapshot = Current();
  auto parsed = oauth::ParseTokenLookupRequest(TokenHttp(request), /*allow_bearer=*/false);
  if (!parsed) return TokenError(parsed.error(), "revoke");
  // RFC 7009 §2.1: the client authenticates as at the token endpoint (a public client by its id).
  auto it = snapshot->clients.find(parsed->credentials->client_id);
  if (it == snapshot->clients.end() || !oauth::AuthenticateClient(*parsed->credentials, it->second)) {
    return TokenError(oauth::MakeError(oauth::ErrorCode::kInvalidClient, "client authentication failed"),
                      "revoke");
  }
  const store::ClientRecord& client = it->second;
  const std::string& token = parsed->token;
  const int64_t now = clock_.NowSeconds();
  const auto unavailable = [&] {
    return TokenError(oauth::MakeError(oauth::ErrorCode::kTemporarilyUnavailable, "the store is unavailable"),
                      "revoke");
  };
  // RFC 7009 §2.1: "the authorization server ... verifies whether the token was issued to the client
  // making the revocation request. If this validation fails, the request is refused".
  const auto not_yours = [&] {
    Audit("token_revocation_refused", request, {{"client_id", client.client_id}});
    return TokenError(
        oauth::MakeError(oauth::ErrorCode::kInvalidRequest, "the token was not issued to this client"),
        "revoke");
  };
  const auto done = [&](std::string_view kind) {
    Audit("token_revoked", request, {{"client_id", client.client_id}, {"token_type", kind}});
    metrics_.Increment("latchkey_revocations_total", {{"token_type", std::string(kind)}});
    // RFC 7009 §2.2: 200 with no body needed.
    return NoStoreJson(200, "{}");
  };

  if (oauth::LooksLikeJwt(token)) {
    auto verified = oauth::VerifyAccessTokenJwt(token, snapshot->keys.public_jwks, policy_.allowed_algs,
                                                config_.issuer, clock_);
    // RFC 7009 §2.2: "invalid tokens do not cause an error response" (nor do expired ones).
    if (!verified) return NoStoreJson(200, "{}");
    if (verified->claims.client_id != client.client_id) return not_yours();
    // A JWT cannot be recalled: its jti is denylisted until it expires, for introspection to see.
    auto denied =
        store_.PutRevocation({oauth::JtiRevocationKey(verified->claims.jti), now, verified->claims.exp});
    TokensRevoked();
    if (!denied) return unavailable();
    return done("access_token");
  }
  const std::string token_hash = crypto::Sha256(token);
  const auto revoke_refresh = [&]() -> std::optional<http::Response> {
    auto record = store_.GetRefreshToken(token_hash);
    if (!record) {
      if (record.error() == store::Error::kNotFound) return std::nullopt;
      return unavailable();
    }
    if (record->client_id != client.client_id) return not_yours();
    // RFC 7009 §2.1: revoking a refresh token "SHOULD also invalidate all access tokens based on
    // the same authorization grant": the family and the access tokens issued from it.
    if (!RevokeGrant(record->family_id, *snapshot)) return unavailable();
    return done("refresh_token");
  };
  const auto revoke_access = [&]() -> std::optional<http::Response> {
    auto record = store_.GetAccessToken(token_hash);
    if (!record) {
      if (record.error() == store::Error::kNotFound) return std::nullopt;
      return unavailable();
    }
    if (record->client_id != client.client_id) return not_yours();
    auto revoked = store_.RevokeAccessToken(token_hash);
    TokensRevoked();
    if (!revoked) return unavailable();
    return done("access_token");
  };
  const bool access_first = parsed->hint == oauth::TokenKind::kAccessToken;
  auto answered = access_first ? revoke_access() : revoke_refresh();
  if (!answered) answered = access_first ? revoke_refresh() : revoke_access();
  // RFC 7009 §2.2: an unknown (or already deleted) token is answered 200 as well.
  return answered ? std::move(*answered) : NoStoreJson(200, "{}");
}

}  // namespace latchkey::server
