#include "latchkey/client/provider.hpp"

#include <algorithm>
#include <array>
#include <mutex>
#include <optional>
#include <utility>

#include "internal.hpp"
#include "jose/jose.hpp"

namespace latchkey::client {

namespace {

using internal::Fail;

const std::array<std::string, 4> kDefaultAlgs = {"RS256", "PS256", "ES256", "EdDSA"};

std::string_view WithoutTrailingSlash(std::string_view issuer) {
  if (!issuer.empty() && issuer.back() == '/') issuer.remove_suffix(1);
  return issuer;
}

}  // namespace

std::span<const std::string> DefaultAllowedAlgs() { return kDefaultAlgs; }

std::string DiscoveryUrl(std::string_view issuer) {
  // OIDC Discovery 1.0 §4.1: "If the Issuer value contains a path component, any terminating / MUST
  // be removed before appending /.well-known/openid-configuration".
  return std::string(WithoutTrailingSlash(issuer)) + "/.well-known/openid-configuration";
}

Result<ProviderMetadata> ParseProviderMetadata(std::string_view json, std::string_view expected_issuer) {
  auto object = internal::ParseJsonObject(json, "the discovery document");
  if (!object) return Fail(ErrorCode::kDiscovery, object.error().message);
  ProviderMetadata m;
  struct Member {
    std::string_view name;
    std::string* field;
    bool required;
  };
  // OIDC Discovery §3: issuer, authorization_endpoint, jwks_uri are REQUIRED; token_endpoint is
  // required unless only the implicit flow is used (never here). RFC 8414 §2 makes jwks_uri optional
  // for plain OAuth servers; it is checked when a signature needs it.
  const Member members[] = {
      {"issuer", &m.issuer, true},
      {"authorization_endpoint", &m.authorization_endpoint, false},
      {"token_endpoint", &m.token_endpoint, true},
      {"userinfo_endpoint", &m.userinfo_endpoint, false},
      {"jwks_uri", &m.jwks_uri, false},
      {"revocation_endpoint", &m.revocation_endpoint, false},
      {"introspection_endpoint", &m.introspection_endpoint, false},
      {"device_authorization_endpoint", &m.device_authorization_endpoint, false},
      {"end_session_endpoint", &m.end_session_endpoint, false},
  };
  for (const auto& member : members) {
    auto value = internal::StringMember(*object, member.name);
    if (!value) return Fail(ErrorCode::kDiscovery, std::string(member.name) + " is not a string");
    if (member.required && value->empty()) {
      return Fail(ErrorCode::kDiscovery, std::string(member.name) + " is missing");
    }
    *member.field = std::move(*value);
  }
  // OIDC Discovery §4.3: "The issuer value returned MUST be identical to the Issuer URL that was
  // used as the prefix to /.well-known/openid-configuration"; RFC 8414 §3.3 likewise.
  if (m.issuer != expected_issuer) {
    return Fail(ErrorCode::kDiscovery, "the issuer \"" + m.issuer + "\" is not the configured \"" +
                                           std::string(expected_issuer) + "\"");
  }
  for (const auto& member : members) {
    if (!member.field->empty() && !internal::IsAcceptableEndpoint(*member.field)) {
      return Fail(ErrorCode::kDiscovery,
                  std::string(member.name) + " is not an https URL (http only for loopback)");
    }
  }
  m.scopes_supported = internal::StringList(*object, "scopes_supported");
  m.response_types_supported = internal::StringList(*object, "response_types_supported");
  m.grant_types_supported = internal::StringList(*object, "grant_types_supported");
  m.code_challenge_methods_supported = internal::StringList(*object, "code_challenge_methods_supported");
  m.id_token_signing_alg_values_supported =
      internal::StringList(*object, "id_token_signing_alg_values_supported");
  m.token_endpoint_auth_methods_supported =
      internal::StringList(*object, "token_endpoint_auth_methods_supported");
  const auto* iss_param = object->if_contains("authorization_response_iss_parameter_supported");
  m.authorization_response_iss_parameter_supported =
      iss_param != nullptr && iss_param->is_bool() && iss_param->as_bool();
  return m;
}

struct Provider::Impl {
  Impl(ProviderOptions o, Transport& t, const Clock& c) : options(std::move(o)), transport(t), clock(c) {}

  // Get fetches `url` and returns the body of a 200 answer.
  Result<std::string> Get(const std::string& url, std::string_view what) {
    HttpRequest request;
    request.url = url;
    request.headers.emplace_back("Accept", "application/json");
    auto response = transport.Send(request);
    if (!response) return response.error();
    if (response->status != 200) return internal::HttpFailure(*response, what);
    return std::move(response->body);
  }

  Result<ProviderMetadata> Metadata() {
    const int64_t now = clock.NowSeconds();
    std::lock_guard fetch(fetch_mutex);
    {
      std::lock_guard lock(mutex);
      if (metadata && now - metadata_at < options.metadata_ttl_seconds) return *metadata;
    }
    auto body = Get(DiscoveryUrl(options.issuer), "the discovery endpoint");
    Result<ProviderMetadata> parsed = body ? ParseProviderMetadata(*body, options.issuer) : body.error();
    std::lock_guard lock(mutex);
    if (!parsed) {
      // A provider that is briefly down should not take every app with it: serve the last good
      // document for up to twice its TTL.
      if (metadata && now - metadata_at < 2 * options.metadata_ttl_seconds) return *metadata;
      return parsed.error();
    }
    metadata = *parsed;
    metadata_at = now;
    return *parsed;
  }

  // FetchKeys downloads and parses the JWKS. Called with fetch_mutex held.
  Result<void> FetchKeys() {
    auto m = Metadata();
    if (!m) return m.error();
    if (m->jwks_uri.empty()) return Fail(ErrorCode::kDiscovery, "the provider publishes no jwks_uri");
    const int64_t now = clock.NowSeconds();
    {
      std::lock_guard lock(mutex);
      keys_attempted_at = now;
    }
    auto body = Get(m->jwks_uri, "the JWKS endpoint");
    if (!body) return body.error();
    auto parsed = jose::ParseJwks(*body);
    if (!parsed) {
      return Fail(ErrorCode::kInvalidResponse,
                  "the JWKS is unusable: " + std::string(jose::ErrcName(parsed.error())));
    }
    std::lock_guard lock(mutex);
    keys = std::make_shared<const jose::Jwks>(std::move(*parsed));
    keys_at = now;
    return {};
  }

  // Keys returns the cached JWKS, fetching it when absent or older than its TTL.
  Result<std::shared_ptr<const jose::Jwks>> Keys() {
    const int64_t now = clock.NowSeconds();
    {
      std::lock_guard lock(mutex);
      if (keys && now - keys_at < options.jwks_ttl_seconds) return keys;
    }
    std::lock_guard fetch(fetch_mutex_keys);
    {
      std::lock_guard lock(mutex);
      if (keys && now - keys_at < options.jwks_ttl_seconds) return keys;
    }
    auto fetched = FetchKeys();
    std::lock_guard lock(mutex);
    if (!fetched) {
      if (keys) return keys;  // stale keys still verify what they verified before
      return fetched.error();
    }
    return keys;
  }

  // RefetchForUnknownKid fetches the JWKS again unless that was tried less than
  // jwks_refetch_interval_seconds ago (a flood of tokens with made-up kids must not turn into a
  // flood of requests to the provider). True when a new set was fetched.
  bool RefetchForUnknownKid(const std::shared_ptr<const jose::Jwks>& seen) {
    std::lock_guard fetch(fetch_mutex_keys);
    {
      std::lock_guard lock(mutex);
      if (keys != seen) return true;  // another thread already fetched a newer set
      if (clock.NowSeconds() - keys_attempted_at < options.jwks_refetch_interval_seconds) return false;
    }
    return FetchKeys().has_value();
  }

  ProviderOptions options;
  Transport& transport;
  const Clock& clock;
  std::mutex fetch_mutex;       // one discovery fetch at a time
  std::mutex fetch_mutex_keys;  // one JWKS fetch at a time (taken before fetch_mutex)
  std::mutex mutex;             // guards the members below
  std::optional<ProviderMetadata> metadata;
  int64_t metadata_at = 0;
  std::shared_ptr<const jose::Jwks> keys;
  int64_t keys_at = 0;
  int64_t keys_attempted_at = INT64_MIN / 2;
};

Provider::Provider(ProviderOptions options, Transport& transport, const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(options), transport, clock)) {}

Provider::~Provider() = default;

const std::string& Provider::GetIssuer() const { return impl_->options.issuer; }
const Clock& Provider::GetClock() const { return impl_->clock; }
Transport& Provider::GetTransport() const { return impl_->transport; }

Result<ProviderMetadata> Provider::Metadata() { return impl_->Metadata(); }

Result<void> Provider::RefreshKeys() {
  std::lock_guard fetch(impl_->fetch_mutex_keys);
  return impl_->FetchKeys();
}

Result<VerifiedJws> Provider::Verify(std::string_view compact, std::span<const std::string> allowed_algs) {
  if (allowed_algs.empty()) allowed_algs = DefaultAllowedAlgs();
  std::vector<jose::Alg> allowed;
  for (const auto& name : allowed_algs) {
    // "none" and HMAC names do not parse: they can never be allowed (RFC 8725 §3.1).
    if (auto alg = jose::ParseAlg(name)) allowed.push_back(*alg);
  }
  auto parsed = jose::ParseJws(compact);
  if (!parsed)
    return internal::TokenError(internal::FromJose(parsed.error()), "the token is not a compact JWS");
  const auto* alg_value = parsed->header.if_contains("alg");
  auto alg = alg_value != nullptr && alg_value->is_string() ? jose::ParseAlg(alg_value->as_string())
                                                            : std::optional<jose::Alg>();
  if (!alg || std::ranges::find(allowed, *alg) == allowed.end()) {
    return internal::TokenError(TokenProblem::kAlgNotAllowed, "the token's alg is not allowed");
  }
  auto keys = impl_->Keys();
  if (!keys) return keys.error();
  auto verified = jose::VerifyParsedJws(*parsed, **keys, allowed);
  if (!verified && verified.error() == jose::Errc::kKeyNotFound && impl_->RefetchForUnknownKid(*keys)) {
    // OIDC Core §10.1.1: a key the verifier does not know may be a new one after rotation.
    keys = impl_->Keys();
    if (!keys) return keys.error();
    verified = jose::VerifyParsedJws(*parsed, **keys, allowed);
  }
  if (!verified) {
    return internal::TokenError(internal::FromJose(verified.error()),
                                "signature check failed: " + std::string(jose::ErrcName(verified.error())));
  }
  VerifiedJws out;
  out.alg = std::string(jose::AlgName(*alg));
  const auto string_header = [&](std::string_view name) {
    const auto* v = parsed->header.if_contains(name);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  out.kid = string_header("kid");
  out.typ = string_header("typ");
  out.payload = std::move(parsed->payload);
  return out;
}

}  // namespace latchkey::client
