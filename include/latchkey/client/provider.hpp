#pragma once

// Provider: an OpenID provider (or plain OAuth 2 authorization server) as an app sees it. Fetches
// and validates its discovery document (OpenID Connect Discovery 1.0 §4, RFC 8414 §3) and its JWKS,
// caches both, and verifies JWS signatures with the cached keys, following key rotation: a token
// signed with an unknown "kid" makes the Provider fetch the JWKS again, at most once per
// `jwks_refetch_interval_seconds`. Thread-safe; share one Provider between every RelyingParty,
// token manager and validator that talks to the same issuer.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "latchkey/client/error.hpp"
#include "latchkey/client/transport.hpp"

namespace latchkey::client {

// ProviderMetadata: the members of the discovery document the SDK uses. Endpoints the provider
// does not offer are empty strings.
struct ProviderMetadata {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string userinfo_endpoint;
  std::string jwks_uri;
  std::string revocation_endpoint;
  std::string introspection_endpoint;
  std::string device_authorization_endpoint;
  std::string end_session_endpoint;
  std::vector<std::string> scopes_supported;
  std::vector<std::string> response_types_supported;
  std::vector<std::string> grant_types_supported;
  std::vector<std::string> code_challenge_methods_supported;
  std::vector<std::string> id_token_signing_alg_values_supported;
  std::vector<std::string> token_endpoint_auth_methods_supported;
  bool authorization_response_iss_parameter_supported = false;  // RFC 9207 §3
};

// ParseProviderMetadata parses a discovery document and checks it: a JSON object whose "issuer"
// equals `expected_issuer` exactly (OIDC Discovery §4.3, RFC 8414 §3.3), and whose endpoints are
// absolute https URLs (http allowed only for loopback hosts, for development). kDiscovery otherwise.
Result<ProviderMetadata> ParseProviderMetadata(std::string_view json, std::string_view expected_issuer);

// DiscoveryUrl returns issuer + "/.well-known/openid-configuration" (OIDC Discovery §4.1: a
// trailing "/" on the issuer is removed first).
std::string DiscoveryUrl(std::string_view issuer);

struct ProviderOptions {
  std::string issuer;                          // exactly as the provider's "iss" claims say it
  int64_t metadata_ttl_seconds = 3600;         // re-fetch discovery after this long
  int64_t jwks_ttl_seconds = 3600;             // re-fetch the JWKS after this long
  int64_t jwks_refetch_interval_seconds = 30;  // at most one unknown-kid re-fetch per interval
};

// VerifiedJws: a compact JWS whose signature verified with a key of the provider. Nothing about its
// claims is checked yet.
struct VerifiedJws {
  std::string alg;      // the header's "alg" (one of the allowed ones)
  std::string kid;      // the header's "kid", "" when absent
  std::string typ;      // the header's "typ", "" when absent
  std::string payload;  // the decoded payload (JSON for a JWT)
};

// DefaultAllowedAlgs: RS256, PS256, ES256, EdDSA. "none" and HMAC algorithms are never accepted,
// whatever a caller lists.
std::span<const std::string> DefaultAllowedAlgs();

class Provider {
 public:
  // `transport` and `clock` must outlive the Provider.
  Provider(ProviderOptions options, Transport& transport, const Clock& clock);
  ~Provider();
  Provider(const Provider&) = delete;
  Provider& operator=(const Provider&) = delete;

  const std::string& GetIssuer() const;
  const Clock& GetClock() const;
  Transport& GetTransport() const;

  // Metadata returns the discovery document, fetching it when absent or older than its TTL. A
  // failed re-fetch keeps serving the previous document until it is twice its TTL old.
  Result<ProviderMetadata> Metadata();

  // Verify checks the signature of `compact` against the provider's JWKS. `allowed_algs` empty
  // means DefaultAllowedAlgs(). kInvalidToken with token_problem kMalformed, kAlgNotAllowed,
  // kUnknownKey or kBadSignature; kTransport/kHttpStatus/... when the JWKS could not be fetched.
  Result<VerifiedJws> Verify(std::string_view compact, std::span<const std::string> allowed_algs = {});

  // RefreshKeys fetches the JWKS now (ignoring the TTL, not the re-fetch interval).
  Result<void> RefreshKeys();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace latchkey::client
