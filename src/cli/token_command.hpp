#pragma once

// `latchkey token`: get tokens from a provider on the command line, with the client SDK.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/App.hpp>

namespace latchkey::cli {

// TokenFlags: the options of `latchkey token`.
struct TokenFlags {
  std::string issuer;
  std::string client_id;
  std::string client_secret;  // never printed, not even in an error
  bool client_secret_stdin = false;
  std::string auth_method = "basic";  // basic (client_secret_basic) or post (client_secret_post)
  std::vector<std::string> scopes;    // joined with spaces; "a b" counts as two
  std::string flow;                   // "": chosen from the other flags
  std::string refresh_token;
  bool refresh_token_stdin = false;
  uint16_t port = 0;
  bool no_browser = false;
  std::string prompt;  // --flow code: the authorization request's prompt (OIDC Core §3.1.2.1)
  int timeout_seconds = 300;
  std::string output = "json";  // json or access-token
  std::string ca_file;
};

// TokenCommand adds `token` to a CLI11 app and runs it when parsed. It asks the provider at
// --issuer (discovery, then its token endpoint) for tokens with one grant:
//
//   client-credentials  RFC 6749 §4.4, for the client itself (needs a secret)
//   refresh             RFC 6749 §6, with --refresh-token or --refresh-token-stdin
//   code                the authorization code flow with PKCE of a native app (RFC 8252): a
//                       one-shot listener on 127.0.0.1 receives the redirect
//                       http://127.0.0.1:PORT/callback; the authorization URL goes to stderr (and
//                       to xdg-open unless --no-browser); --prompt consent asks the provider
//                       to show its consent page, which OIDC Core §11 requires before it may
//                       honour offline_access (a refresh token)
//   device              RFC 8628: the verification URI and user code go to stderr
//
// Without --flow: refresh when a refresh token is given, else client-credentials when a secret
// is, else code. The token response goes to stdout as JSON (access_token, token_type, expires_in,
// refresh_token, id_token, scope), or the bare access token with --output access-token. Exit 0 with
// tokens, 1 when the provider or the network refused (the reason on stderr, never a secret or a
// token), 2 for unusable flags.
class TokenCommand {
 public:
  // TokenCommand registers the command on `app`, binding its flags to this object: `app` must not
  // outlive it, and the object must stay where it is until Run.
  explicit TokenCommand(CLI::App& app);
  TokenCommand(const TokenCommand&) = delete;
  TokenCommand& operator=(const TokenCommand&) = delete;

  // Run executes the command and returns its exit code; nullopt when it was not on the command
  // line.
  std::optional<int> Run();

 private:
  CLI::App* command_ = nullptr;
  TokenFlags flags_;
};

}  // namespace latchkey::cli
