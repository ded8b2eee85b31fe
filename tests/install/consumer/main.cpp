// Uses the installed SDK the way an app would (built by tests/install/test_install.sh with CMake
// and with pkg-config). Prints "latchkey consumer: ok" and exits 0 when every check holds;
// exits 1 after naming each check that failed.

#include <iostream>
#include <string>
#include <string_view>

#include "latchkey/client/curl_transport.hpp"
#include "latchkey/client/provider.hpp"
#include "latchkey/validator/bearer.hpp"

namespace client = latchkey::client;
namespace validator = latchkey::validator;

namespace {

int failures = 0;

void Check(bool ok, std::string_view what) {
  if (!ok) {
    std::cerr << "latchkey consumer: FAILED: " << what << "\n";
    ++failures;
  }
}

constexpr std::string_view kIssuer = "https://id.example.com";

constexpr std::string_view kDiscovery = R"({
  "issuer": "https://id.example.com",
  "authorization_endpoint": "https://id.example.com/authorize",
  "token_endpoint": "https://id.example.com/token",
  "jwks_uri": "https://id.example.com/jwks",
  "scopes_supported": ["openid", "profile"],
  "code_challenge_methods_supported": ["S256"],
  "authorization_response_iss_parameter_supported": true
})";

}  // namespace

int main() {
  client::CurlTransport transport;  // nothing is sent: the checks below use no network
  client::SystemClock clock;
  client::Provider provider({.issuer = std::string(kIssuer)}, transport, clock);
  Check(provider.GetIssuer() == kIssuer, "Provider::GetIssuer");

  Check(client::DiscoveryUrl("https://id.example.com/") ==
            "https://id.example.com/.well-known/openid-configuration",
        "DiscoveryUrl");

  auto metadata = client::ParseProviderMetadata(kDiscovery, kIssuer);
  if (!metadata) {
    Check(false, "ParseProviderMetadata: " + client::Describe(metadata.error()));
  } else {
    Check(metadata->token_endpoint == "https://id.example.com/token", "token_endpoint");
    Check(metadata->jwks_uri == "https://id.example.com/jwks", "jwks_uri");
    Check(metadata->scopes_supported.size() == 2 && metadata->scopes_supported[1] == "profile",
          "scopes_supported");
    Check(metadata->authorization_response_iss_parameter_supported,
          "authorization_response_iss_parameter_supported");
  }
  auto other = client::ParseProviderMetadata(kDiscovery, "https://other.example.com");
  Check(!other && other.error().code == client::ErrorCode::kDiscovery,
        "a document of another issuer is refused");

  auto token = validator::ParseBearerAuthorization("Bearer abc.DEF-123_~+/=");
  Check(token && *token == "abc.DEF-123_~+/=", "ParseBearerAuthorization");
  auto basic = validator::ParseBearerAuthorization("Basic dXNlcjpwYXNz");
  Check(!basic && validator::IsMissingCredentials(basic.error()), "a Basic header carries no bearer token");
  auto malformed = validator::ParseBearerAuthorization("Bearer a b");
  if (malformed) {
    Check(false, "two tokens are malformed");
  } else {
    Check(malformed.error().oauth_error == validator::kInvalidRequest, "two tokens: invalid_request");
    Check(validator::ChallengeFor(malformed.error(), "api").status == 400,
          "ChallengeFor: 400 for a malformed header");
  }

  if (failures != 0) return 1;
  std::cout << "latchkey consumer: ok\n";
  return 0;
}
