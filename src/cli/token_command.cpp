#include "cli/token_command.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <boost/json/object.hpp>

#include "cli/output.hpp"
#include "common/form.hpp"
#include "common/strings.hpp"
#include "crypto/digest.hpp"
#include "http/loopback.hpp"
#include "latchkey/client/curl_transport.hpp"
#include "latchkey/client/device_flow.hpp"
#include "latchkey/client/relying_party.hpp"

namespace latchkey::cli {
namespace {

constexpr std::string_view kCallbackPath = "/callback";

// Browser: the opener started for the authorization URL, reaped if it has finished by the time the
// command ends. Not waited for: some xdg-open back ends only return when the browser exits.
class Browser {
 public:
  Browser() = default;
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;
  ~Browser() {
    if (pid_ > 0) ::waitpid(pid_, nullptr, WNOHANG);
  }

  // Open runs `xdg-open url` with its standard streams on /dev/null. The URL is one argv entry,
  // never a shell word. Returns false when it could not be started.
  bool Open(const std::string& url) {
    posix_spawn_file_actions_t actions;
    if (::posix_spawn_file_actions_init(&actions) != 0) return false;
    for (int fd = 0; fd <= 2; ++fd) {
      ::posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
    }
    std::string program = "xdg-open";
    std::string argument = url;
    char* argv[] = {program.data(), argument.data(), nullptr};
    const int rc = ::posix_spawnp(&pid_, program.c_str(), &actions, nullptr, argv, environ);
    ::posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) pid_ = 0;
    return rc == 0;
  }

 private:
  pid_t pid_ = 0;
};

// StateMatches is true when `query` has exactly one state parameter equal to `state`: how the
// listener tells the answer to our own authorization request from a request that another web page
// or local process sent to the loopback port (RFC 8252 §8.10).
bool StateMatches(std::string_view query, std::string_view state) {
  auto fields = common::ParseForm(query);
  if (!fields) return false;
  const std::string* found = nullptr;
  for (const auto& [name, value] : *fields) {
    if (name != "state") continue;
    if (found != nullptr) return false;
    found = &value;
  }
  return found != nullptr && crypto::ConstantTimeEquals(*found, state);
}

// WithOpenid returns `scope` with "openid" added when missing: the SDK's code flow is OpenID
// Connect's and validates the ID token that only an openid request returns (OIDC Core §3.1.2.1).
std::string WithOpenid(const std::string& scope) {
  for (const auto& s : common::SplitSpaces(scope)) {
    if (s == "openid") return scope;
  }
  return scope.empty() ? "openid" : "openid " + scope;
}

client::Result<client::TokenSet> CodeFlow(client::Provider& provider, client::ClientConfig config,
                                          const TokenFlags& flags, const std::string& scope) {
  http::LoopbackRedirect listener;
  auto port = listener.Start(flags.port);
  if (!port)
    return client::Error{client::ErrorCode::kInvalidArgument, "loopback redirect: " + port.error().message};
  // RFC 8252 §7.3: the loopback IP literal with the port actually bound; a public client may
  // register the URI without a port and use any.
  config.redirect_uri = "http://127.0.0.1:" + std::to_string(*port) + std::string(kCallbackPath);
  client::RelyingParty app(provider, std::move(config));
  client::AuthorizationOptions options;
  options.scope = WithOpenid(scope);
  options.prompt = flags.prompt;
  auto pending = app.BeginAuthorization(options);
  if (!pending) return pending.error();
  std::fprintf(stderr, "Open this address in a browser to sign in:\n\n  %s\n\n", pending->url.c_str());
  Browser browser;
  if (!flags.no_browser && !browser.Open(pending->url)) {
    std::fprintf(stderr, "(could not start xdg-open; open the address yourself)\n");
  }
  std::fprintf(stderr, "Waiting for the browser at %s (at most %d s)...\n", pending->redirect_uri.c_str(),
               flags.timeout_seconds);
  std::fflush(stderr);
  auto query = listener.WaitForQuery(kCallbackPath, std::chrono::seconds(flags.timeout_seconds),
                                     [&](std::string_view q) { return StateMatches(q, pending->state); });
  if (!query) {
    return client::Error{client::ErrorCode::kCancelled,
                         "no answer from the browser: " + query.error().message};
  }
  return app.CompleteAuthorization(*pending, *query);
}

client::Result<client::TokenSet> DeviceFlow(client::RelyingParty& app, const TokenFlags& flags,
                                            const std::string& scope) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(flags.timeout_seconds);
  client::DeviceFlowOptions options;
  // Bounded by --timeout as well as by the code's own lifetime: give up rather than sleep past it.
  options.sleep = [deadline](std::chrono::seconds duration, std::stop_token stop) {
    if (stop.stop_requested() || std::chrono::steady_clock::now() + duration > deadline) return false;
    std::this_thread::sleep_for(duration);
    return true;
  };
  client::DeviceFlow flow(app, options);
  auto started = flow.Start(scope);
  if (!started) return started.error();
  std::fprintf(stderr, "Open %s and enter %s\n", started->verification_uri.c_str(),
               started->user_code.c_str());
  if (!started->verification_uri_complete.empty())
    std::fprintf(stderr, "(or open %s)\n", started->verification_uri_complete.c_str());
  std::fprintf(stderr, "Waiting for the approval (at most %d s)...\n", flags.timeout_seconds);
  std::fflush(stderr);
  auto tokens = flow.Wait(*started);
  if (!tokens && tokens.error().code == client::ErrorCode::kCancelled) {
    return client::Error{client::ErrorCode::kCancelled,
                         "no approval within " + std::to_string(flags.timeout_seconds) + " s"};
  }
  return tokens;
}

void PrintTokens(const client::TokenSet& tokens, const std::string& output) {
  if (output == "access-token") {
    std::cout << tokens.access_token << "\n";
    return;
  }
  // RFC 6749 §5.1 member names; members the provider did not send are left out.
  boost::json::object out{{"access_token", tokens.access_token}, {"token_type", tokens.token_type}};
  if (tokens.expires_at != 0) {
    out["expires_in"] = std::max<int64_t>(0, tokens.expires_at - client::SystemClock().NowSeconds());
  }
  if (!tokens.refresh_token.empty()) out["refresh_token"] = tokens.refresh_token;
  if (!tokens.id_token.empty()) out["id_token"] = tokens.id_token;
  if (!tokens.scope.empty()) out["scope"] = tokens.scope;
  std::cout << PrettyJson(out) << "\n";
}

int Usage(const char* message) {
  std::fprintf(stderr, "latchkey: %s\n", message);
  return 2;
}

int RunToken(TokenFlags flags) {
  // Secrets from standard input, one per line: the client secret first when both are read.
  if (flags.client_secret_stdin) {
    auto line = ReadStdinLine();
    if (!line || line->empty()) return Usage("--client-secret-stdin: standard input holds no secret");
    flags.client_secret = std::move(*line);
  }
  if (flags.refresh_token_stdin) {
    auto line = ReadStdinLine();
    if (!line || line->empty()) return Usage("--refresh-token-stdin: standard input holds no refresh token");
    flags.refresh_token = std::move(*line);
  }
  std::string flow = flags.flow;
  if (flow.empty()) {
    flow = !flags.refresh_token.empty()   ? "refresh"
           : !flags.client_secret.empty() ? "client-credentials"
                                          : "code";
  }
  if (flow == "client-credentials" && flags.client_secret.empty())
    return Usage("--flow client-credentials needs --client-secret or --client-secret-stdin");
  if (flow == "refresh" && flags.refresh_token.empty())
    return Usage("--flow refresh needs --refresh-token or --refresh-token-stdin");
  if (flow != "code" && !flags.prompt.empty()) return Usage("--prompt applies to --flow code only");

  std::string scope;
  for (const auto& value : flags.scopes) {
    for (const auto& s : common::SplitSpaces(value)) scope += (scope.empty() ? "" : " ") + s;
  }
  client::ClientConfig config;
  config.client_id = flags.client_id;
  config.client_secret = flags.client_secret;
  config.auth_method =
      flags.auth_method == "post" ? client::ClientAuthMethod::kPost : client::ClientAuthMethod::kBasic;
  if (!scope.empty()) config.scope = scope;

  client::CurlOptions curl;
  curl.ca_file = flags.ca_file;
  client::CurlTransport transport(curl);
  client::SystemClock clock;
  client::Provider provider({.issuer = flags.issuer}, transport, clock);

  client::Result<client::TokenSet> tokens = client::Error{};
  if (flow == "code") {
    tokens = CodeFlow(provider, std::move(config), flags, scope);
  } else {
    client::RelyingParty app(provider, std::move(config));
    if (flow == "client-credentials") {
      tokens = app.ClientCredentials(scope);
    } else if (flow == "refresh") {
      tokens = app.Refresh(flags.refresh_token, scope);
    } else {
      tokens = DeviceFlow(app, flags, scope);
    }
  }
  if (!tokens) {
    // Describe never carries a token or secret (latchkey/client/error.hpp).
    std::fprintf(stderr, "latchkey: %s\n", client::Describe(tokens.error()).c_str());
    return 1;
  }
  PrintTokens(*tokens, flags.output);
  return 0;
}

}  // namespace

TokenCommand::TokenCommand(CLI::App& app) {
  command_ =
      app.add_subcommand("token", "Get tokens from a provider (client credentials, refresh, code, device)");
  auto* cmd = command_;
  TokenFlags& f = flags_;
  cmd->add_option("--issuer", f.issuer, "The provider's issuer URL")->required();
  cmd->add_option("--client-id", f.client_id, "client_id")->required();
  auto* secret = cmd->add_option("--client-secret", f.client_secret,
                                 "Client secret (visible to other local users in the process list: prefer "
                                 "--client-secret-stdin or LATCHKEY_CLIENT_SECRET)")
                     ->envname("LATCHKEY_CLIENT_SECRET");
  cmd->add_flag("--client-secret-stdin", f.client_secret_stdin, "Read the client secret from standard input")
      ->excludes(secret);
  cmd->add_option("--auth-method", f.auth_method, "Client authentication: basic (default) or post")
      ->check(CLI::IsMember({"basic", "post"}));
  cmd->add_option("--scope", f.scopes, "Scope to ask for (repeatable, or several separated by spaces)");
  cmd->add_option("--flow", f.flow,
                  "client-credentials, refresh, code or device (default: refresh with a refresh token, "
                  "client-credentials with a secret, code otherwise)")
      ->check(CLI::IsMember({"client-credentials", "refresh", "code", "device"}));
  auto* refresh = cmd->add_option("--refresh-token", f.refresh_token, "Refresh token for --flow refresh");
  cmd->add_flag(
         "--refresh-token-stdin", f.refresh_token_stdin,
         "Read the refresh token from standard input (the line after the secret with --client-secret-stdin)")
      ->excludes(refresh);
  cmd->add_option("--port", f.port, "Loopback port for --flow code (default 0: any free port)");
  cmd->add_flag("--no-browser", f.no_browser, "--flow code: only print the authorization URL");
  cmd->add_option("--prompt", f.prompt,
                  "--flow code: prompt of the authorization request, e.g. consent (which OpenID Connect "
                  "providers may require before they issue a refresh token for offline_access) or login");
  cmd->add_option("--timeout", f.timeout_seconds, "Seconds to wait for the browser or the device approval")
      ->check(CLI::Range(1, 86400));
  cmd->add_option("--output", f.output, "json (default) or access-token (the bare access token)")
      ->check(CLI::IsMember({"json", "access-token"}));
  cmd->add_option("--ca-file", f.ca_file, "PEM trust anchors for https (default: the system's)")
      ->check(CLI::ExistingFile);
}

std::optional<int> TokenCommand::Run() {
  if (!command_->parsed()) return std::nullopt;
  return RunToken(flags_);
}

}  // namespace latchkey::cli
