#pragma once

// `latchkey jwt decode` and `latchkey jwt verify`: looking at a token from a shell.

#include <optional>
#include <string>
#include <vector>

#include <CLI/App.hpp>

namespace latchkey::cli {

// JwtCommand adds `jwt decode TOKEN` and `jwt verify TOKEN --issuer URL ...` to a CLI11 app and
// runs whichever was parsed. TOKEN "-" reads the token from standard input.
//
// decode prints the JOSE header and the claims of a compact JWS (RFC 7515 §7.1) and the
// NumericDate claims (exp, iat, nbf, auth_time) as UTC times. It does NOT check the signature or
// any claim, and says so on stderr. Exit 1 when the token is not a compact JWS with a JSON object
// as payload.
//
// verify fetches the issuer's discovery document and JWKS with the client SDK, checks the
// signature (alg allow-list, key by kid) and then iss (equal to --issuer), exp (required), nbf and
// iat with 60 s of leeway (RFC 7519 §4.1) and, with --audience, aud. It does NOT check typ, scope,
// azp, nonce or revocation. Exit 0 valid, 1 invalid (the reason on stderr), 2 when the keys could
// not be fetched (network, TLS, discovery).
class JwtCommand {
 public:
  // JwtCommand registers the commands on `app`, binding their flags to this object: `app` must not
  // outlive it, and the object must stay where it is until Run.
  explicit JwtCommand(CLI::App& app);
  JwtCommand(const JwtCommand&) = delete;
  JwtCommand& operator=(const JwtCommand&) = delete;

  // Run executes the parsed subcommand and returns its exit code; nullopt when neither was on the
  // command line.
  std::optional<int> Run();

 private:
  int Decode();
  int Verify();

  CLI::App* decode_ = nullptr;
  CLI::App* verify_ = nullptr;
  std::string token_;
  bool json_ = false;
  std::string issuer_;
  std::string audience_;
  std::vector<std::string> algs_;
  std::string ca_file_;
};

}  // namespace latchkey::cli
