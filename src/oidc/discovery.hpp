#pragma once

// Provider metadata: OpenID Connect Discovery 1.0 §3 and RFC 8414 §2. Only what Latchkey really
// implements is advertised; each member is added here in the change that implements it.

#include <string>
#include <vector>

#include <boost/json/object.hpp>

namespace latchkey::oidc {

// DiscoveryInput: the facts the metadata is derived from.
struct DiscoveryInput {
  std::string issuer;                    // no trailing slash
  std::vector<std::string> grant_types;  // implemented grant types
  std::vector<std::string> token_endpoint_auth_methods;
  std::vector<std::string> signing_algs;  // algorithms the server signs tokens with
  std::vector<std::string> scopes;        // scopes known to the server (may be empty)
  // The authorization code flow (empty id_token_signing_algs: not offered, members omitted).
  std::vector<std::string> id_token_signing_algs;
  std::vector<std::string> code_challenge_methods;  // PKCE methods accepted (RFC 7636)
  // RP-Initiated Logout 1.0 and Back-Channel Logout 1.0 (with the code flow only).
  bool logout = false;
};

// BuildMetadata returns the metadata object shared by /.well-known/openid-configuration and
// /.well-known/oauth-authorization-server. Endpoint URLs are the issuer plus a fixed path.
boost::json::object BuildMetadata(const DiscoveryInput& input);

}  // namespace latchkey::oidc
