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
  // Algorithms used for JWT access tokens (RFC 9068); not an OIDC ID-token claim.
  m["access_token_signing_alg_values_supported"] = ToArray(input.signing_algs);
  if (!input.scopes.empty()) m["scopes_supported"] = ToArray(input.scopes);
  // RFC 8414 §2: introspection (RFC 7662) takes confidential clients or a bearer token; revocation
  // (RFC 7009) also public clients, which identify themselves by client_id.
  m["introspection_endpoint"] = input.issuer + "/introspect";
  m["introspection_endpoint_auth_methods_supported"] =
      boost::json::array{"client_secret_basic", "client_secret_post"};
  m["revocation_endpoint"] = input.issuer + "/revoke";
  m["revocation_endpoint_auth_methods_supported"] = ToArray(input.token_endpoint_auth_methods);
  for (const auto& grant : input.grant_types) {
    // RFC 8628 §4: the device authorization endpoint, when the grant is offered.
    if (grant == "urn:ietf:params:oauth:grant-type:device_code") {
      m["device_authorization_endpoint"] = input.issuer + "/device_authorization";
    }
  }
  if (input.id_token_signing_algs.empty()) {
    // RFC 8414 §2 requires response_types_supported: without the code flow, none is offered.
    m["response_types_supported"] = boost::json::array();
    return m;
  }
  m["authorization_endpoint"] = input.issuer + "/authorize";
  m["userinfo_endpoint"] = input.issuer + "/userinfo";
  // OIDC Discovery §3 and RFC 8414 §2: only the code flow; query and form_post response modes
  // (OAuth 2.0 Form Post Response Mode); pairwise subjects are not offered.
  m["response_types_supported"] = boost::json::array{"code"};
  m["response_modes_supported"] = boost::json::array{"query", "form_post"};
  m["subject_types_supported"] = boost::json::array{"public"};
  m["id_token_signing_alg_values_supported"] = ToArray(input.id_token_signing_algs);
  m["code_challenge_methods_supported"] = ToArray(input.code_challenge_methods);
  // RFC 9207 §3: every authorization response carries "iss".
  m["authorization_response_iss_parameter_supported"] = true;
  m["claims_supported"] = boost::json::array{"sub",          "iss",
                                             "aud",          "exp",
                                             "iat",          "auth_time",
                                             "nonce",        "acr",
                                             "amr",          "azp",
                                             "at_hash",      "sid",
                                             "name",         "given_name",
                                             "family_name",  "preferred_username",
                                             "picture",      "locale",
                                             "zoneinfo",     "updated_at",
                                             "email",        "email_verified",
                                             "phone_number", "phone_number_verified",
                                             "address"};
  m["claims_parameter_supported"] = false;
  m["request_parameter_supported"] = false;
  m["request_uri_parameter_supported"] = false;
  m["prompt_values_supported"] = boost::json::array{"none", "login", "consent", "select_account"};
  // "1": authenticated with a password (single factor, ISO/IEC 29115 level 1). OIDC Core §2.
  m["acr_values_supported"] = boost::json::array{"1"};
  m["userinfo_signing_alg_values_supported"] = boost::json::array();
  if (input.logout) {
    // RP-Initiated Logout 1.0 §2.1; Back-Channel Logout 1.0 §2.1.
    m["end_session_endpoint"] = input.issuer + "/logout";
    m["backchannel_logout_supported"] = true;
    m["backchannel_logout_session_supported"] = true;
  }
  return m;
}

}  // namespace latchkey::oidc
