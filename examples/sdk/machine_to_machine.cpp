// A service that calls an API as itself (OAuth 2 client credentials), and the API's side of it:
// the token is validated as the resource server would, introspected, revoked, and introspected
// again. Builds against the public SDK only.
//
//   LATCHKEY_CLIENT_SECRET=... latchkey-example-m2m https://id.example.com my-service api
//   https://id.example.com
//
// Arguments: ISSUER CLIENT_ID SCOPE AUDIENCE. The secret comes from the environment, never argv.
// Prints one line per step and exits 0 when every step did what it should.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "latchkey/client/curl_transport.hpp"
#include "latchkey/client/relying_party.hpp"
#include "latchkey/validator/validator.hpp"

namespace client = latchkey::client;
namespace validator = latchkey::validator;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s ISSUER CLIENT_ID SCOPE AUDIENCE (secret in LATCHKEY_CLIENT_SECRET)\n",
                 argv[0]);
    return 2;
  }
  const char* secret = std::getenv("LATCHKEY_CLIENT_SECRET");
  const std::string scope = argv[3];

  client::CurlTransport http;
  client::SystemClock clock;
  client::Provider provider({.issuer = argv[1]}, http, clock);
  client::RelyingParty service(provider, {.client_id = argv[2], .client_secret = secret ? secret : ""});

  auto tokens = service.ClientCredentials(scope);
  if (!tokens) {
    std::printf("token: error %s\n", client::Describe(tokens.error()).c_str());
    return 1;
  }
  std::printf("token: ok type=%s expires_at=%lld\n", tokens->token_type.c_str(),
              static_cast<long long>(tokens->expires_at));

  // The API accepts JWT access tokens (checked locally) and opaque ones (introspected; here with the
  // service's own credentials, which may introspect the service's own tokens).
  validator::ValidatorOptions options;
  options.audience = argv[4];
  options.introspection.client_id = argv[2];
  options.introspection.client_secret = secret ? secret : "";
  validator::Validator api(provider, options);
  const std::vector<std::string> required = {scope};
  auto claims = api.Validate(tokens->access_token, required);
  if (!claims) {
    std::printf("validate: error %s\n", client::Describe(claims.error()).c_str());
    return 1;
  }
  std::printf("validate: ok client_id=%s sub=%s\n", claims->client_id.c_str(), claims->sub.c_str());

  const std::vector<std::string> too_much = {scope, "admin-everything"};
  auto refused = api.Validate(tokens->access_token, too_much);
  std::printf(
      "validate-more-scope: %s\n",
      refused ? "accepted" : std::string(client::TokenProblemName(refused.error().token_problem)).c_str());

  auto before = service.Introspect(tokens->access_token, client::TokenTypeHint::kAccessToken);
  if (!before) {
    std::printf("introspect: error %s\n", client::Describe(before.error()).c_str());
    return 1;
  }
  std::printf("introspect: active=%s scope=%s\n", before->active ? "true" : "false", before->scope.c_str());

  if (auto revoked = service.Revoke(tokens->access_token, client::TokenTypeHint::kAccessToken); !revoked) {
    std::printf("revoke: error %s\n", client::Describe(revoked.error()).c_str());
    return 1;
  }
  auto after = service.Introspect(tokens->access_token, client::TokenTypeHint::kAccessToken);
  if (!after) {
    std::printf("introspect-after-revoke: error %s\n", client::Describe(after.error()).c_str());
    return 1;
  }
  std::printf("introspect-after-revoke: active=%s\n", after->active ? "true" : "false");
  return before->active && !after->active && !refused ? 0 : 1;
}
