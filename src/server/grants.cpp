// The token endpoint's grants for people (authorization_code, refresh_token) and the UserInfo
// endpoint: the store calls around the pure decisions of oauth/code_grant.hpp and oidc/.

#include <algorithm>

#include <boost/json/serialize.hpp>

#include "common/base64.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "crypto/digest.hpp"
#include "oauth/code_grant.hpp"
#include "oidc/claims.hpp"
#include "oidc/id_token.hpp"
#include "oidc/userinfo.hpp"
#include "server/audit.hpp"
#include "server/provider.hpp"
#include "server/web.hpp"

namespace latchkey::server {
namespace {

oauth::Error InvalidGrant(std::string description) {
  return oauth::MakeError(oauth::ErrorCode::kInvalidGrant, std::move(description));
}

bool Contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::string NewToken(common::Random& random) { return common::Base64UrlEncode(random.Bytes(32)); }

}  // namespace

oauth::Result<oauth::TokenResponse> Provider::UserTokens(const store::ClientRecord& client,
                                                         const Snapshot& snapshot,
                                                         const store::UserRecord& user,
                                                         const UserGrant& grant) {
  auto issued = oauth::IssueAccessToken(client, user.user_id, grant.scope, policy_, snapshot.keys.signing,
                                        clock_, random_, grant.auth_time > 0 ? grant.auth_time : 1,
                                        oauth::GrantId(grant.family_id), grant.opaque_access_token);
  if (!issued) return issued.error();
  if (!Contains(grant.scope, "openid")) return issued;

  // OIDC Core §2 and §3.1.3.6: the ID Token.
  // OIDC Registration §2 id_token_signed_response_alg: the client's choice, else the server's.
  auto alg =
      jose::ParseAlg(client.id_token_signed_response_alg.empty() ? config_.id_token_alg
                                                                 : client.id_token_signed_response_alg);
  if (!alg || std::find(policy_.allowed_algs.begin(), policy_.allowed_algs.end(), *alg) ==
                  policy_.allowed_algs.end()) {
    return oauth::MakeError(oauth::ErrorCode::kServerError,
                            "ID token algorithm is not allowed by the server");
  }
  const jose::SigningKey* key = snapshot.keys.signing.Find(*alg);
  if (key == nullptr) return oauth::MakeError(oauth::ErrorCode::kServerError, "no signing key for ID tokens");
  oidc::IdTokenInput input;
  input.issuer = config_.issuer;
  input.subject = user.user_id;
  input.audience = client.client_id;
  input.nonce = grant.nonce;
  input.acr = grant.acr;
  input.amr = common::SplitSpaces(grant.amr);
  input.auth_time = grant.auth_time;
  input.lifetime = config_.id_token_lifetime;
  // at_hash is defined for algorithms that name a hash (OIDC Core §3.1.3.6); EdDSA has none.
  if (*alg != jose::Alg::kEdDSA) input.access_token = issued->access_token;
  if (config_.id_token_include_claims) input.extra_claims = oidc::ClaimsForScopes(user, grant.scope);
  if (auto sid = SessionSid(grant.session_id_hash); !sid.empty()) input.extra_claims["sid"] = sid;
  auto id_token = oidc::SignIdToken(input, *key, clock_);
  if (!id_token) return oauth::MakeError(oauth::ErrorCode::kServerError, "ID token signing failed");
  issued->id_token = std::move(*id_token);
  return issued;
}

oauth::Result<oauth::TokenResponse> Provider::NewGrantTokens(const store::ClientRecord& client,
                                                             const Snapshot& snapshot,
                                                             const store::UserRecord& user,
                                                             const UserGrant& grant,
                                                             store::GrantTokens& records) {
  auto issued = UserTokens(client, snapshot, user, grant);
  if (!issued) return issued;
  records.access_token = std::move(issued->reference);
  issued->reference.reset();
  if (!oauth::IssuesRefreshToken(client, grant.scope)) return issued;
  const int64_t now = clock_.NowSeconds();
  std::string refresh = NewToken(random_);
  store::RefreshTokenRecord record;
  record.token_hash = crypto::Sha256(refresh);
  record.family_id = grant.family_id;
  record.client_id = client.client_id;
  record.user_id = user.user_id;
  record.scope = common::Join(grant.scope, " ");
  record.session_id_hash = grant.session_id_hash;
  record.auth_time = grant.auth_time;
  record.amr = grant.amr;
  record.acr = grant.acr;
  record.created_at = now;
  record.family_expires_at = now + config_.refresh_token_absolute_lifetime;
  record.expires_at = std::min(now + config_.refresh_token_idle_lifetime, record.family_expires_at);
  records.refresh_token = std::move(record);
  issued->refresh_token = std::move(refresh);
  return issued;
}

oauth::Result<oauth::TokenResponse> Provider::CodeGrant(const AuthenticatedClient& auth,
                                                        const Snapshot& snapshot,
                                                        const http::Request& http_request) {
  const store::ClientRecord& client = auth.client;
  if (!Contains(client.grant_types, "authorization_code")) {
    return oauth::MakeError(oauth::ErrorCode::kUnauthorizedClient, "client may not use authorization_code");
  }
  auto code = auth.request.params.Get("code");
  if (!code) return oauth::MakeError(oauth::ErrorCode::kInvalidRequest, "code is required");
  const std::string code_hash = crypto::Sha256(*code);
  const std::string family_id = oauth::RefreshFamilyForCode(code_hash);
  const int64_t now = clock_.NowSeconds();

  // The code is spent by the last store write, once everything it grants is written: a request
  // answered temporarily_unavailable because the store failed on the way has not used the code, and
  // the client's retry gets the tokens. RedeemCode decides between concurrent redemptions: exactly
  // one spends the code; the others revoke what they wrote and answer as a replay.
  // RFC 6749 §4.1.2 and §10.5: a code used twice is an attack or a bug; revoke what it granted (the
  // refresh tokens of its family, and the access tokens issued from it: their grant is denylisted).
  auto replayed = [&] {
    auto revoked = RevokeGrant(family_id, snapshot);
    Audit("code_replayed", http_request,
          {{"client_id", client.client_id}, {"refresh_tokens_revoked", revoked ? *revoked : -1}});
    return InvalidGrant("the code was already used");
  };
  // refuse answers a redemption that failed a check. Such an attempt spends the code all the same,
  // as it did when the code was spent first: whoever holds an intercepted code but not the client's
  // credentials, redirect_uri or PKCE verifier gets one try (RFC 6749 §4.1.2, §4.1.3; RFC 7636
  // §4.6), and the legitimate client's later use is then refused as a replay. When the code cannot
  // be spent now the answer is temporarily_unavailable, so invalid_grant always means it is spent.
  auto refuse = [&](oauth::Error error) -> oauth::Error {
    auto spent = store_.RedeemCode(code_hash, now);
    if (spent || spent.error() == store::Error::kNotFound) return error;
    if (spent.error() == store::Error::kConflict) return replayed();
    return StoreUnavailable();
  };

  // The code and its user in one read (one round trip on PostgreSQL). A code whose user is gone is
  // gone too (deleting a user deletes their codes).
  auto read = store_.GetCodeWithUser(code_hash);
  if (!read) {
    if (read.error() == store::Error::kNotFound) return InvalidGrant("the code is invalid or expired");
    return StoreUnavailable();
  }
  const store::AuthorizationCodeRecord& stored = read->code;
  if (stored.used) return replayed();
  if (stored.expires_at <= now) return InvalidGrant("the code is invalid or expired");
  if (auto checked = oauth::CheckCodeRedemption(auth.request, client, stored); !checked)
    return refuse(checked.error());

  auto user = ActiveUser(std::move(read->user));
  if (!user) {
    if (user.error().code == oauth::ErrorCode::kInvalidGrant) return refuse(user.error());
    return user.error();
  }

  UserGrant grant;
  grant.scope = common::SplitSpaces(stored.scope);
  grant.auth_time = stored.auth_time;
  grant.amr = stored.amr;
  grant.acr = stored.acr;
  grant.nonce = stored.nonce;
  grant.session_id_hash = stored.session_id_hash;
  grant.family_id = family_id;
  // The tokens' records are stored with the redemption, before the code is spent (in one statement
  // on PostgreSQL). Elsewhere an attempt that fails after writing them leaves them behind; nobody
  // holds them (the response carrying them was never sent), and they go with their family: a replay
  // revokes them, expiry deletes them.
  store::GrantTokens records;
  auto issued = NewGrantTokens(client, snapshot, *user, grant, records);
  if (!issued) return issued;

  auto redeemed = store_.RedeemCodeWithTokens(code_hash, now, records);
  if (!redeemed) {
    // kConflict: a concurrent redemption spent the code after it was read above. Its tokens and
    // the ones just written share the family: the replay revokes both.
    if (redeemed.error() == store::Error::kConflict) return replayed();
    if (redeemed.error() == store::Error::kNotFound) {
      // Expired (or its user deleted) since it was read: what was written for it goes.
      (void)RevokeGrant(family_id, snapshot);
      return InvalidGrant("the code is invalid or expired");
    }
    return StoreUnavailable();
  }
  Audit("token_issued", http_request,
        {{"client_id", client.client_id}, {"user_id", user->user_id}, {"grant_type", "authorization_code"}});
  return issued;
}

oauth::Result<oauth::TokenResponse> Provider::RefreshGrant(const AuthenticatedClient& auth,
                                                           const Snapshot& snapshot,
                                                           const http::Request& http_request) {
  const store::ClientRecord& client = auth.client;
  if (!Contains(client.grant_types, "refresh_token")) {
    return oauth::MakeError(oauth::ErrorCode::kUnauthorizedClient, "client may not use refresh_token");
  }
  auto presented = auth.request.params.Get("refresh_token");
  if (!presented) return oauth::MakeError(oauth::ErrorCode::kInvalidRequest, "refresh_token is required");
  const std::string token_hash = crypto::Sha256(*presented);
  const int64_t now = clock_.NowSeconds();
  // RFC 9700 §4.14.2: rotate on every use. The successor's value is derived from the presented one,
  // so a retry within the grace window gets the same successor.
  std::string successor_value = oauth::RefreshTokenSuccessor(rotation_key_, *presented);
  std::string successor_hash = crypto::Sha256(successor_value);

  // Tokens for `user` from the rotated `current` (OIDC Core §12.2: a refreshed ID Token keeps
  // auth_time and carries no nonce).
  auto issue = [&](const store::RefreshTokenRecord& current, const store::UserRecord& user,
                   std::vector<std::string> scope, bool retried,
                   std::string opaque_access_token = {}) -> oauth::Result<oauth::TokenResponse> {
    UserGrant grant;
    grant.opaque_access_token = std::move(opaque_access_token);
    grant.scope = std::move(scope);
    grant.auth_time = current.auth_time;
    grant.amr = current.amr;
    grant.acr = current.acr;
    grant.session_id_hash = current.session_id_hash;
    grant.family_id = current.family_id;
    auto issued = UserTokens(client, snapshot, user, grant);
    if (!issued) return issued;
    issued->refresh_token = std::move(successor_value);
    if (!retried) {
      Audit("token_refreshed", http_request, {{"client_id", client.client_id}, {"user_id", user.user_id}});
    }
    return issued;
  };

  // The common case in one step (one round trip on PostgreSQL): a current token of this client,
  // whose user is active, refreshed with its whole scope. Anything else, or a request that narrows
  // the scope, takes the general path below, which tells the cases apart. An opaque access token is
  // drawn first, so that a backend that rotates in one statement stores it in that statement too.
  if (!auth.request.params.Has("scope")) {
    store::CurrentRotation rotation{token_hash, client.client_id, successor_hash, now,
                                    config_.refresh_token_idle_lifetime};
    std::string opaque_value;
    if (client.access_token_format == "opaque") {
      auto opaque = oauth::NewOpaqueAccessToken(client, policy_, clock_, random_);
      opaque_value = std::move(opaque.value);
      rotation.access_token = std::move(opaque.record);
    }
    auto rotated = store_.RotateCurrentRefreshToken(rotation);
    if (rotated) {
      auto issued = issue(rotated->token, rotated->user, common::SplitSpaces(rotated->token.scope), false,
                          std::move(opaque_value));
      if (issued && rotated->access_token_stored) issued->reference.reset();
      return issued;
    }
    if (rotated.error() != store::Error::kNotFound) return StoreUnavailable();
  }

  // The token and its user in one read (one round trip on PostgreSQL). A token whose user is gone
  // is gone too (deleting a user deletes their refresh tokens).
  auto read = store_.GetRefreshTokenWithUser(token_hash);
  if (!read) {
    if (read.error() == store::Error::kNotFound) return InvalidGrant("the refresh token is invalid");
    return StoreUnavailable();
  }
  const store::RefreshTokenRecord& current = read->token;
  auto scope = oauth::RefreshScope(auth.request, client, current);
  if (!scope) return scope.error();
  // A disabled user's token is refused before it is rotated, so nothing is spent.
  auto user = ActiveUser(std::move(read->user));
  if (!user) return user.error();

  // The successor keeps the original scope (RFC 6749 §6); only the access token is narrowed.
  auto rotated = store_.RotateRefreshToken(
      token_hash, store::SuccessorOf(current, successor_hash, now, config_.refresh_token_idle_lifetime), now,
      config_.refresh_token_grace_period);
  if (!rotated) {
    if (rotated.error() == store::Error::kConflict) {
      // Reuse of a rotated token: either the legitimate client or an attacker holds a stolen copy.
      // Revoke the whole family (RFC 9700 §4.14.2, OAuth 2.1 §4.3.1).
      auto revoked = RevokeGrant(current.family_id, snapshot);
      Audit("refresh_token_reused", http_request,
            {{"client_id", client.client_id},
             {"user_id", current.user_id},
             {"refresh_tokens_revoked", revoked ? *revoked : -1}});
      return InvalidGrant("the refresh token was already used");
    }
    if (rotated.error() == store::Error::kNotFound)
      return InvalidGrant("the refresh token is invalid or expired");
    return StoreUnavailable();
  }
  return issue(current, *user, std::move(*scope), rotated->retried);
}

http::Response Provider::UserInfo(const http::Request& request) {
  // RFC 6750 §3: errors carry WWW-Authenticate with the Bearer scheme.
  auto bearer_error = [&](int status, std::string_view error, std::string_view description) {
    boost::json::object body;
    std::string challenge = "Bearer realm=\"latchkey\"";
    if (!error.empty()) {
      body["error"] = error;
      body["error_description"] = description;
      challenge +=
          ", error=\"" + std::string(error) + "\", error_description=\"" + std::string(description) + "\"";
    }
    http::Response r = http::Response::Json(status, error.empty() ? "{}" : boost::json::serialize(body));
    r.SetHeader("WWW-Authenticate", challenge);
    metrics_.Increment(
        "latchkey_oauth_errors_total",
        {{"endpoint", "userinfo"}, {"error", error.empty() ? "missing_token" : std::string(error)}});
    return r;
  };

  // RFC 6750 §2: the header (§2.1) or, for POST, the form body (§2.2); never the query (§2.3 is
  // not supported: URLs end up in logs and Referer headers). One method only.
  std::optional<std::string> token;
  int methods = 0;
  if (request.HeaderCount("authorization") > 1) {
    return bearer_error(400, "invalid_request", "more than one Authorization header");
  }
  if (auto header = request.Header("authorization")) {
    ++methods;
    std::string_view value = *header;
    if (value.size() < 7 || !common::EqualsIgnoreCase(value.substr(0, 7), "Bearer ")) {
      return bearer_error(401, "invalid_token", "the Authorization header must use the Bearer scheme");
    }
    token = std::string(common::Trim(value.substr(7)));
  }
  auto query = oauth::ParseFormParams(request.query);
  if (query && query->Has("access_token")) {
    return bearer_error(400, "invalid_request", "access tokens are not accepted in the query");
  }
  if (request.method == "POST") {
    auto content_type = request.Header("content-type");
    if (content_type &&
        common::EqualsIgnoreCase(common::Trim(content_type->substr(0, content_type->find(';'))),
                                 "application/x-www-form-urlencoded")) {
      auto form = oauth::ParseFormParams(request.body);
      if (!form) return bearer_error(400, "invalid_request", "malformed form body");
      if (auto body_token = form->Get("access_token")) {
        ++methods;
        token = std::string(*body_token);
      }
    }
  }
  if (methods > 1) return bearer_error(400, "invalid_request", "more than one access token method");
  if (!token || token->empty()) return bearer_error(401, "", "");

  auto snapshot = Current();
  // RFC 9068 §4 for JWTs (typ at+jwt, so an ID Token cannot be used as an access token), the store
  // for opaque tokens; revoked tokens are refused either way.
  auto claims = ResolveAccessToken(*token, *snapshot);
  if (!claims) return http::Response::Json(503, R"({"error":"temporarily_unavailable"})");
  if (!*claims) return bearer_error(401, "invalid_token", "the access token is invalid, expired or revoked");
  // Only tokens issued for a person carry auth_time; client_credentials tokens have no user.
  if ((*claims)->auth_time == 0) {
    return bearer_error(401, "invalid_token", "the access token was not issued for a user");
  }
  std::vector<std::string> scope = common::SplitSpaces((*claims)->scope);
  // OIDC Core §5.3: the UserInfo endpoint needs a token granted "openid".
  if (!Contains(scope, "openid")) {
    http::Response r = bearer_error(403, "insufficient_scope", "the access token lacks the openid scope");
    r.SetHeader("WWW-Authenticate",
                "Bearer realm=\"latchkey\", error=\"insufficient_scope\", scope=\"openid\"");
    return r;
  }
  auto user = store_.GetUser((*claims)->sub);
  if (!user) {
    if (user.error() == store::Error::kNotFound)
      return bearer_error(401, "invalid_token", "the user no longer exists");
    return http::Response::Json(503, R"({"error":"temporarily_unavailable"})");
  }
  if (user->status != "active") return bearer_error(401, "invalid_token", "the user is disabled");
  http::Response r = http::Response::Json(200, oidc::UserInfoJson(*user, scope));
  r.SetHeader("Cache-Control", "no-store");
  return r;
}

}  // namespace latchkey::server
