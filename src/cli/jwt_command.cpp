#include "cli/jwt_command.hpp"

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <boost/json/parse.hpp>

#include "cli/output.hpp"
#include "common/clock.hpp"
#include "jose/jose.hpp"
#include "latchkey/client/curl_transport.hpp"
#include "latchkey/client/provider.hpp"

namespace latchkey::cli {
namespace {

constexpr int64_t kLeewaySeconds = 60;

// TokenArgument returns the token given on the command line, or standard input for "-".
std::string TokenArgument(const std::string& argument) {
  return argument == "-" ? ReadStdinToken() : argument;
}

// ParsedToken: a compact JWS split and decoded, nothing verified.
struct ParsedToken {
  boost::json::object header;
  boost::json::object payload;
};

// ParseToken decodes `token`, or prints why it is not a JWT and returns nullopt.
std::optional<ParsedToken> ParseToken(std::string_view token) {
  if (token.empty()) {
    std::fprintf(stderr, "latchkey: no token given\n");
    return std::nullopt;
  }
  auto parsed = jose::ParseJws(token);
  if (!parsed) {
    if (parsed.error() == jose::Errc::kCritUnsupported) {
      std::fprintf(stderr, "latchkey: malformed token: its header has \"crit\", which is not supported\n");
    } else {
      std::fprintf(stderr,
                   "latchkey: malformed token: not a compact JWS (three base64url parts, "
                   "header.payload.signature, with a JSON object as header)\n");
    }
    return std::nullopt;
  }
  boost::system::error_code ec;
  auto payload = boost::json::parse(parsed->payload, ec);
  if (ec || !payload.is_object()) {
    std::fprintf(stderr, "latchkey: malformed token: the payload is not a JSON object (not a JWT)\n");
    return std::nullopt;
  }
  return ParsedToken{std::move(parsed->header), std::move(payload.get_object())};
}

void PrintBlocks(const ParsedToken& token, std::string_view payload_label) {
  std::cout << "Header:\n"
            << PrettyJson(token.header) << "\n"
            << payload_label << ":\n"
            << PrettyJson(token.payload) << "\n";
  if (!TimeClaims(token.payload).empty()) {
    std::cout << "Times (UTC):\n";
    PrintTimeClaims(token.payload, common::SystemClock().NowSeconds());
  }
}

// ClaimProblem names a claim check's failure the way the SDK names its own (TokenProblemName).
client::TokenProblem ClaimProblem(jose::Errc errc) {
  switch (errc) {
    case jose::Errc::kExpired: return client::TokenProblem::kExpired;
    case jose::Errc::kNotYetValid: return client::TokenProblem::kNotYetValid;
    case jose::Errc::kIssuedInFuture: return client::TokenProblem::kIssuedInFuture;
    case jose::Errc::kWrongIssuer: return client::TokenProblem::kWrongIssuer;
    case jose::Errc::kWrongAudience: return client::TokenProblem::kWrongAudience;
    case jose::Errc::kMissingClaim: return client::TokenProblem::kMissingClaim;
    default: return client::TokenProblem::kMalformed;
  }
}

int Invalid(const client::Error& error, bool json) {
  std::fprintf(stderr, "latchkey: invalid token: %s\n", client::Describe(error).c_str());
  if (json) {
    boost::json::object out{{"valid", false},
                            {"problem", client::TokenProblemName(error.token_problem)},
                            {"error", client::Describe(error)}};
    std::cout << PrettyJson(out) << "\n";
  }
  return 1;
}

}  // namespace

JwtCommand::JwtCommand(CLI::App& app) {
  auto* jwt = app.add_subcommand("jwt", "Decode or verify a JWT (an access token, an ID token)");
  jwt->require_subcommand(1);
  decode_ = jwt->add_subcommand("decode", "Print a JWT's header and claims; the signature is NOT checked");
  decode_->add_option("token", token_, "The JWT, or - to read it from standard input")->required();
  decode_->add_flag("--json", json_, "Print one JSON object {\"header\", \"payload\", \"times\"}");

  verify_ = jwt->add_subcommand(
      "verify", "Check a JWT's signature with the issuer's published keys, then iss, exp, nbf, iat and aud");
  verify_->add_option("token", token_, "The JWT, or - to read it from standard input")->required();
  verify_->add_option("--issuer", issuer_, "The issuer URL; its discovery document names the keys")
      ->required();
  verify_->add_option("--audience", audience_, "Require this value in aud");
  verify_->add_option("--alg", algs_, "Accepted signature algorithm (repeatable; default: all four)")
      ->check(CLI::IsMember({"RS256", "PS256", "ES256", "EdDSA"}));
  verify_->add_option("--ca-file", ca_file_, "PEM trust anchors for https (default: the system's)")
      ->check(CLI::ExistingFile);
  verify_->add_flag("--json", json_, "Print one JSON object {\"valid\", \"header\", \"payload\"}");
}

std::optional<int> JwtCommand::Run() {
  if (decode_->parsed()) return Decode();
  if (verify_->parsed()) return Verify();
  return std::nullopt;
}

int JwtCommand::Decode() {
  auto token = ParseToken(TokenArgument(token_));
  if (!token) return 1;
  std::fprintf(stderr, "latchkey: signature not verified\n");
  if (json_) {
    boost::json::object out{{"header", token->header}, {"payload", token->payload}};
    if (auto times = TimeClaims(token->payload); !times.empty()) out["times"] = std::move(times);
    std::cout << PrettyJson(out) << "\n";
    return 0;
  }
  PrintBlocks(*token, "Payload");
  return 0;
}

int JwtCommand::Verify() {
  const std::string token = TokenArgument(token_);
  if (token.empty()) {
    std::fprintf(stderr, "latchkey: no token given\n");
    return 1;
  }
  client::CurlOptions curl;
  curl.ca_file = ca_file_;
  client::CurlTransport transport(curl);
  client::SystemClock clock;
  client::Provider provider({.issuer = issuer_}, transport, clock);

  auto verified = provider.Verify(token, algs_);
  if (!verified) {
    if (verified.error().code == client::ErrorCode::kInvalidToken) return Invalid(verified.error(), json_);
    std::fprintf(stderr, "latchkey: could not fetch the keys of %s: %s\n", issuer_.c_str(),
                 client::Describe(verified.error()).c_str());
    return 2;
  }
  // Signature first, claims second: nothing in an unverified payload is worth judging.
  jose::ClaimsCheck check;
  check.issuer = issuer_;  // discovery checked that the provider calls itself exactly this
  check.audience = audience_;
  check.leeway_seconds = kLeewaySeconds;
  check.require_exp = true;
  common::SystemClock common_clock;
  auto claims = jose::CheckClaims(verified->payload, check, common_clock);
  if (!claims) {
    client::Error error;
    error.code = client::ErrorCode::kInvalidToken;
    error.token_problem = ClaimProblem(claims.error());
    error.message = "claim check failed: " + std::string(jose::ErrcName(claims.error()));
    return Invalid(error, json_);
  }
  // The signature verified, so the header parses; it is shown whole (jku, x5c, ...), not only the
  // members the verifier used.
  auto shown = ParseToken(token);
  if (!shown) return 1;
  if (json_) {
    std::cout << PrettyJson(
                     boost::json::object{{"valid", true}, {"header", shown->header}, {"payload", *claims}})
              << "\n";
    return 0;
  }
  std::cout << "valid\n";
  PrintBlocks(*shown, "Claims");
  return 0;
}

}  // namespace latchkey::cli
