// Fuzzes the authorization endpoint's request handling: the input is the query string. It goes
// through parameter parsing, client identification (two registered clients: a public native app
// and a confidential web app), request validation, the interaction decision and the redirect
// builder, and checks invariants that must hold for any input.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "oauth/authorize.hpp"
#include "oauth/interaction.hpp"
#include "oauth/redirect_uri.hpp"

namespace {

latchkey::store::ClientRecord Client(std::string id, bool is_public) {
  latchkey::store::ClientRecord c;
  c.client_id = std::move(id);
  c.token_endpoint_auth_method = is_public ? "none" : "client_secret_basic";
  if (!is_public) c.secret_hash = std::string(32, 'x');
  c.redirect_uris = is_public ? std::vector<std::string>{"http://127.0.0.1/cb", "com.example.app:/cb"}
                              : std::vector<std::string>{"https://app.example/cb?x=1"};
  c.grant_types = {"authorization_code", "refresh_token"};
  c.scopes = {"openid", "profile", "email", "offline_access"};
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace latchkey::oauth;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto params = ParseFormParams(text);
  if (!params) return 0;
  static const auto kNative = Client("native", true);
  static const auto kWeb = Client("web", false);
  ClientLookup lookup = [](std::string_view id) -> std::optional<latchkey::store::ClientRecord> {
    if (id == "native") return kNative;
    if (id == "web") return kWeb;
    return std::nullopt;
  };
  auto who = IdentifyClient(*params, lookup);
  if (!who) return 0;
  // Invariant: the redirect URI is one the client registered (exactly, or loopback with a port).
  if (!RedirectUriMatches(who->redirect_uri, who->client)) __builtin_trap();
  auto request = ParseAuthorizationRequest(*params, *who, AuthorizePolicy{});
  if (!request) {
    auto fields =
        ErrorResponseFields(request.error(), params->Get("state").value_or(""), "https://id.example");
    std::string location = BuildRedirect(who->redirect_uri, fields);
    // Invariant: an error redirect goes to the matched redirect URI (its path and query are kept).
    const std::string_view base = who->redirect_uri;
    if (std::string_view(location).substr(0, base.size()) != base) __builtin_trap();
    return 0;
  }
  // Invariants: public clients always use PKCE; scopes are a subset of the client's.
  if (who->client.token_endpoint_auth_method == "none" && request->code_challenge.empty()) __builtin_trap();
  for (const auto& s : request->scope) {
    if (std::find(who->client.scopes.begin(), who->client.scopes.end(), s) == who->client.scopes.end()) {
      __builtin_trap();
    }
  }
  InteractionState state;
  state.session = SessionFacts{"u", 0};
  state.now = static_cast<int64_t>(size);
  (void)DecideNextStep(*request, state, [&] { return size % 2 == 1; });
  return 0;
}
