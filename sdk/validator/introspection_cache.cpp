// The introspection request (RFC 7662 §2.1) and answer cache, and Validator, which chooses between
// local JWT checks (RFC 9068 §4) and introspection for each token.

#include "latchkey/validator/introspection.hpp"

#include <algorithm>
#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "../client/internal.hpp"
#include "common/base64.hpp"
#include "common/form.hpp"
#include "crypto/digest.hpp"
#include "jose/jose.hpp"
#include "latchkey/validator/validator.hpp"

namespace latchkey::validator {

namespace {

using client::Error;
using client::ErrorCode;
using client::TokenProblem;

using client::internal::TokenError;

// LooksLikeJws: three parts whose first is the base64url of a JSON object, the JOSE header (RFC
// 7515 §7.1, §9: that is how a JWS is told from other tokens). Opaque tokens may contain dots too
// (RFC 6750 §2.1's own example is "mF_9.B5f-4.1JqM"), so counting dots is not enough to send a
// token down the JWT path. Only the header is decoded here: Provider::Verify parses the whole
// token once and refuses whatever else is wrong with it (a "crit" header, bad base64url).
bool LooksLikeJws(std::string_view token) {
  if (std::count(token.begin(), token.end(), '.') != 2) return false;
  const auto header = common::Base64UrlDecode(token.substr(0, token.find('.')));
  if (!header) return false;
  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(*header, ec);
  return !ec && value.is_object();
}

}  // namespace

client::HttpRequest IntrospectionRequest(std::string_view endpoint, std::string_view token,
                                         std::string_view client_id, std::string_view client_secret) {
  client::HttpRequest request;
  // RFC 7662 §2.1: "an HTTP POST request with parameters sent as application/x-www-form-urlencoded".
  request.method = "POST";
  request.url = std::string(endpoint);
  // RFC 6749 §2.3.1: the client identifier and password are each form-urlencoded, then joined
  // with ":" for HTTP Basic (RFC 7617). Without the first step a secret holding ":" would split
  // in the wrong place.
  request.headers.emplace_back("Authorization", client::internal::BasicCredentials(client_id, client_secret));
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  request.headers.emplace_back("Accept", "application/json");
  // RFC 7662 §2.1: token REQUIRED; token_type_hint OPTIONAL ("access_token", RFC 7009 §2.1).
  request.body = common::BuildForm({{"token", std::string(token)}, {"token_type_hint", "access_token"}});
  return request;
}

IntrospectionCache::IntrospectionCache(size_t max_entries) : max_entries_(max_entries) {}

std::optional<Result<AccessTokenClaims>> IntrospectionCache::Find(std::string_view token, int64_t now) {
  const std::string key = crypto::Sha256(token);
  std::lock_guard lock(mutex_);
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  if (now >= it->second->expires_at) {
    entries_.erase(it->second);
    index_.erase(it);
    return std::nullopt;
  }
  entries_.splice(entries_.begin(), entries_, it->second);
  return it->second->outcome;
}

void IntrospectionCache::Insert(std::string_view token, Result<AccessTokenClaims> outcome,
                                int64_t expires_at) {
  if (max_entries_ == 0) return;
  // The key is a digest, never the token: a leaked cache (core dump, debugger) yields nothing a
  // client could present.
  std::string key = crypto::Sha256(token);
  std::lock_guard lock(mutex_);
  if (auto it = index_.find(key); it != index_.end()) {
    it->second->expires_at = expires_at;
    it->second->outcome = std::move(outcome);
    entries_.splice(entries_.begin(), entries_, it->second);
    return;
  }
  entries_.push_front(Entry{key, expires_at, std::move(outcome)});
  index_.emplace(std::move(key), entries_.begin());
  // Bounded: a client sending endless made-up tokens must not grow this without limit.
  while (entries_.size() > max_entries_) {
    index_.erase(entries_.back().key);
    entries_.pop_back();
  }
}

size_t IntrospectionCache::Size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

struct Validator::Impl {
  Impl(client::Provider& p, ValidatorOptions o)
      : provider(p), options(std::move(o)), cache(options.introspection.cache_max_entries) {}

  AccessTokenCheck Check() const {
    return AccessTokenCheck{provider.GetIssuer(), options.audience, options.leeway_seconds};
  }

  Result<AccessTokenClaims> ValidateJwt(std::string_view token) {
    // Provider::Verify refuses "none" and HMAC algorithms whatever allowed_algs says (RFC 9068 §4:
    // "MUST reject any JWT in which the value of alg is none"; an HMAC check keyed with the
    // provider's public key would let anyone mint tokens), and anything outside allowed_algs.
    auto jws = provider.Verify(token, options.allowed_algs);
    if (!jws) return jws.error();
    return CheckAccessToken(*jws, Check(), provider.GetClock().NowSeconds());
  }

  Result<AccessTokenClaims> Introspect(std::string_view token) {
    const int64_t now = provider.GetClock().NowSeconds();
    if (auto cached = cache.Find(token, now)) return std::move(*cached);

    auto metadata = provider.Metadata();
    if (!metadata) return metadata.error();
    if (metadata->introspection_endpoint.empty()) {
      return Error{ErrorCode::kDiscovery, "the provider advertises no introspection_endpoint"};
    }
    const IntrospectionOptions& io = options.introspection;
    auto response = provider.GetTransport().Send(
        IntrospectionRequest(metadata->introspection_endpoint, token, io.client_id, io.client_secret));
    if (!response) return response.error();
    auto outcome = CheckIntrospectionResponse(*response, Check(), now);

    // Only judgements of the token are cached; an endpoint failure is retried on the next request.
    // RFC 7662 §4: a cached answer delays noticing a revocation, hence the cap on its life, and an
    // active answer is never kept past the token's own exp.
    int64_t expires_at = 0;
    if (outcome) {
      expires_at = now + io.cache_max_ttl_seconds;
      if (outcome->exp != 0) expires_at = std::min(expires_at, outcome->exp);
    } else if (outcome.error().code == ErrorCode::kInvalidToken) {
      expires_at = now + std::min(io.cache_max_ttl_seconds, kInactiveCacheSeconds);
    }
    if (expires_at > now) cache.Insert(token, outcome, expires_at);
    return outcome;
  }

  client::Provider& provider;
  const ValidatorOptions options;
  IntrospectionCache cache;
};

Validator::Validator(client::Provider& provider, ValidatorOptions options)
    : impl_(std::make_unique<Impl>(provider, std::move(options))) {}

Validator::~Validator() = default;

Result<AccessTokenClaims> Validator::Validate(std::string_view token,
                                              std::span<const std::string> required_scopes) {
  if (token.empty()) return TokenError(TokenProblem::kMalformed, "empty access token");
  Result<AccessTokenClaims> claims = [&]() -> Result<AccessTokenClaims> {
    if (LooksLikeJws(token)) return impl_->ValidateJwt(token);
    if (impl_->options.introspection.client_id.empty()) {
      return TokenError(TokenProblem::kMalformed, "not a JWT, and introspection is not configured");
    }
    return impl_->Introspect(token);
  }();
  if (!claims) return claims;
  if (auto scoped = RequireScopes(*claims, required_scopes); !scoped) return scoped.error();
  return claims;
}

Result<AccessTokenClaims> Validator::ValidateAuthorization(std::string_view header_value,
                                                           std::span<const std::string> required_scopes) {
  auto token = ParseBearerAuthorization(header_value);
  if (!token) return token.error();
  return Validate(*token, required_scopes);
}

}  // namespace latchkey::validator
