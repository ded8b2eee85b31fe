#include "oidc/discovery.hpp"

#include <boost/json/array.hpp>

namespace latchkey::oidc {
namespace {

boost::json::array ToArray(const std::vector<std::string>& values) {
  boost::json::array out;
  for (const auto& v : values) out.emplace_back(v);
  return out;
}

}  // namespace

boost::json::object BuildMetadata(const DiscoveryInput& input) {
  boost::json::object m;
  // RFC 8414 §2 / OIDC Discovery §3: issuer and the endpoints that exist.
  m["issuer"] = input.issuer;
  m["token_endpoint"] = input.issuer + "/token";
  m["jwks_uri"] = input.issuer + "/jwks";
  m["grant_types_supported"] = ToArray(input.grant_types);
  m["token_endpoint_auth_methods_supported"] = ToArray(input.token_endpoint_auth_methods);
  // RFC 8414 §2 requires response_types_supported. No response type is implemented yet (the
  // authorization endpoint does not exist), so the truthful value is the empty list.
  m["response_types_supported"] = boost::json::array();
  // Algorithms used for JWT access tokens (RFC 9068); not an OIDC ID-token claim.
  m["access_token_signing_alg_values_supported"] = ToArray(input.signing_algs);
  if (!input.scopes.empty()) m["scopes_supported"] = ToArray(input.scopes);
  return m;
}

}  // namespace latchkey::oidc
