// latchkey-bench-validator: how many JWT access tokens latchkey::validator::Validator checks per
// CPU-second of one thread, for ES256 and RS256-2048, with the provider's JWKS cached.
//
//   latchkey-bench-validator --out DIR [--seconds S] [--tokens N] [--alg ES256|RS256] [--level L]
//
// Mints N distinct RFC 9068 access tokens per algorithm (typ at+jwt; iss, aud, sub, client_id,
// scope, exp, iat, jti) with the internal JOSE code, writes them with the public JWKS to DIR (for
// the reference validators bench/validator_jose.mjs and bench/validator_pyjwt.py, which check the
// same tokens the same way), then times four levels on the same rotating token set, S seconds of
// process CPU time each:
//   crypto     crypto::Verify on the pre-split signing input and signature: the bare signature check
//   jose       jose::VerifyJws: split, base64url-decode, header JSON, key by kid, signature
//   provider   client::Provider::Verify: the SDK's signature step, JWKS from its cache
//   validator  validator::Validator::Validate with a required scope: everything a resource server
//              runs per request (the public API, as examples/sdk/protected_api.cpp uses it)
// The Provider gets its discovery document and JWKS from an in-process Transport: the measured work
// is validation, and the cache is warm before timing starts. --alg and --level run only that
// algorithm or level (for profiling). Prints one JSON object per line on stdout; exits 1 if any
// token is rejected.

#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "crypto/key.hpp"
#include "jose/jose.hpp"
#include "latchkey/client/provider.hpp"
#include "latchkey/client/transport.hpp"
#include "latchkey/validator/validator.hpp"

namespace {

namespace client = latchkey::client;
namespace crypto = latchkey::crypto;
namespace jose = latchkey::jose;
namespace validator = latchkey::validator;

constexpr std::string_view kIssuer = "https://login.bench.example";
constexpr std::string_view kAudience = "https://api.bench.example";
constexpr std::string_view kClientId = "bench-client";
constexpr std::string_view kScope = "openid api:read api:write";
constexpr std::string_view kRequiredScope = "api:read";
constexpr int64_t kLifetimeSeconds = 3600;

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "latchkey-bench-validator: %s\n", message.c_str());
  std::exit(1);
}

double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double WallSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// StaticTransport answers GETs of fixed URLs from memory: the provider's discovery document and JWKS.
class StaticTransport final : public client::Transport {
 public:
  void Serve(std::string url, std::string body) { bodies_[std::move(url)] = std::move(body); }

  client::Result<client::HttpResponse> Send(const client::HttpRequest& request) override {
    client::HttpResponse response;
    auto it = bodies_.find(request.url);
    if (request.method != "GET" || it == bodies_.end()) {
      response.status = 404;
      return response;
    }
    response.status = 200;
    response.headers.emplace_back("Content-Type", "application/json");
    response.body = it->second;
    return response;
  }

 private:
  std::map<std::string, std::string, std::less<>> bodies_;
};

// TokenSet: the tokens of one algorithm and what the lower levels need to verify them.
struct TokenSet {
  std::string alg_name;
  jose::Alg alg = jose::Alg::kES256;
  crypto::Key public_key;
  std::vector<std::string> tokens;
  std::vector<std::string> signing_inputs;  // BASE64URL(header) '.' BASE64URL(payload)
  std::vector<std::string> signatures;      // decoded
};

TokenSet MintTokens(const jose::SigningKey& key, int count, int64_t now) {
  TokenSet set;
  set.alg = key.alg;
  set.alg_name = std::string(jose::AlgName(key.alg));
  auto public_key = key.key.PublicOnly();
  if (!public_key) Die("PublicOnly failed");
  set.public_key = *public_key;
  for (int i = 0; i < count; ++i) {
    boost::json::object claims;
    claims["iss"] = kIssuer;
    claims["aud"] = kAudience;
    claims["sub"] = "user-" + std::to_string(i);
    claims["client_id"] = kClientId;
    claims["scope"] = kScope;
    claims["exp"] = now + kLifetimeSeconds;
    claims["iat"] = now;
    claims["jti"] = set.alg_name + "-" + std::to_string(now) + "-" + std::to_string(i);
    auto token = jose::SignJws(key, "at+jwt", boost::json::serialize(claims));
    if (!token) Die("SignJws failed: " + std::string(jose::ErrcName(token.error())));
    auto parsed = jose::ParseJws(*token);
    if (!parsed) Die("ParseJws failed on a minted token");
    set.tokens.push_back(std::move(*token));
    set.signing_inputs.push_back(std::move(parsed->signing_input));
    set.signatures.push_back(std::move(parsed->signature));
  }
  return set;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) Die("cannot write " + path);
}

// Measure runs `check(i)` over the token indexes 0, 1, ..., n-1, 0, ... until `seconds` of process
// CPU time have passed, then prints one JSON line. `check` returns false for a rejected token.
void Measure(std::string_view level, const TokenSet& set, double seconds,
             const std::function<bool(size_t)>& check) {
  const size_t n = set.tokens.size();
  for (size_t i = 0; i < n; ++i) {  // warm-up, and every token must pass before anything is timed
    if (!check(i)) Die(std::string(level) + ": a valid " + set.alg_name + " token was rejected");
  }
  uint64_t done = 0;
  const double cpu0 = ProcessCpuSeconds();
  const double wall0 = WallSeconds();
  double cpu = 0;
  do {
    for (int k = 0; k < 64; ++k) {
      if (!check(done % n)) Die(std::string(level) + ": a valid " + set.alg_name + " token was rejected");
      ++done;
    }
    cpu = ProcessCpuSeconds() - cpu0;
  } while (cpu < seconds);
  const double wall = WallSeconds() - wall0;
  boost::json::object line;
  line["impl"] = "latchkey";
  line["level"] = level;
  line["alg"] = set.alg_name;
  line["tokens"] = n;
  line["validations"] = done;
  line["cpu_s"] = cpu;
  line["wall_s"] = wall;
  line["per_cpu_s"] = static_cast<double>(done) / cpu;
  line["us_per_validation"] = 1e6 * cpu / static_cast<double>(done);
  std::printf("%s\n", boost::json::serialize(line).c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_dir;
  double seconds = 3;
  int token_count = 1000;
  std::string only_alg;
  std::string only_level;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--out") {
      out_dir = argv[i + 1];
    } else if (flag == "--seconds") {
      seconds = std::atof(argv[i + 1]);
    } else if (flag == "--tokens") {
      token_count = std::atoi(argv[i + 1]);
    } else if (flag == "--alg") {
      only_alg = argv[i + 1];
    } else if (flag == "--level") {
      only_level = argv[i + 1];
    } else {
      Die("unknown flag " + std::string(flag));
    }
  }
  if (out_dir.empty() || seconds <= 0 || token_count <= 0 || argc % 2 == 0) {
    std::fprintf(stderr, "usage: %s --out DIR [--seconds S] [--tokens N] [--alg ALG] [--level L]\n", argv[0]);
    return 2;
  }

  auto ec_key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  auto rsa_key = crypto::GenerateKey(crypto::KeyType::kRsa, 2048);
  if (!ec_key || !rsa_key) Die("key generation failed");
  const jose::SigningKey es256{"bench-es256", jose::Alg::kES256, *ec_key};
  const jose::SigningKey rs256{"bench-rs256", jose::Alg::kRS256, *rsa_key};

  client::SystemClock clock;
  const int64_t now = clock.NowSeconds();
  const std::vector<TokenSet> sets = {MintTokens(es256, token_count, now),
                                      MintTokens(rs256, token_count, now)};

  jose::Jwks jwks;
  for (const auto* key : {&es256, &rs256}) {
    auto public_key = key->key.PublicOnly();
    if (!public_key) Die("PublicOnly failed");
    jwks.keys.push_back(jose::Jwk{key->kid, key->alg, "sig", *public_key});
  }
  const std::string jwks_json = jose::SerializeJwks(jwks);

  // The reference validators read the same tokens, keys and expectations.
  WriteFile(out_dir + "/jwks.json", jwks_json);
  for (const auto& set : sets) {
    std::string lines;
    for (const auto& token : set.tokens) lines += token + "\n";
    WriteFile(out_dir + "/tokens-" + set.alg_name + ".txt", lines);
  }
  boost::json::object config;
  config["issuer"] = kIssuer;
  config["audience"] = kAudience;
  config["required_scope"] = kRequiredScope;
  config["algorithms"] = boost::json::array{"ES256", "RS256"};
  WriteFile(out_dir + "/config.json", boost::json::serialize(config));

  StaticTransport transport;
  const std::string issuer(kIssuer);
  boost::json::object discovery;
  discovery["issuer"] = issuer;
  discovery["authorization_endpoint"] = issuer + "/authorize";
  discovery["token_endpoint"] = issuer + "/token";
  discovery["jwks_uri"] = issuer + "/jwks";
  discovery["response_types_supported"] = boost::json::array{"code"};
  transport.Serve(client::DiscoveryUrl(issuer), boost::json::serialize(discovery));
  transport.Serve(issuer + "/jwks", jwks_json);

  client::Provider provider({.issuer = issuer}, transport, clock);
  validator::ValidatorOptions options;
  options.audience = kAudience;
  options.allowed_algs = {"ES256", "RS256"};
  validator::Validator api(provider, options);
  if (!provider.RefreshKeys()) Die("the Provider could not load the JWKS");

  const std::vector<std::string> required_scopes = {std::string(kRequiredScope)};
  for (const auto& set : sets) {
    if (!only_alg.empty() && only_alg != set.alg_name) continue;
    const auto level = [&](std::string_view name, const std::function<bool(size_t)>& check) {
      if (only_level.empty() || only_level == name) Measure(name, set, seconds, check);
    };
    const jose::Alg allowed[] = {set.alg};
    const crypto::SignatureScheme scheme = jose::SchemeFor(set.alg);
    level("crypto", [&](size_t i) {
      return crypto::Verify(set.public_key, scheme, set.signing_inputs[i], set.signatures[i]);
    });
    level("jose", [&](size_t i) { return jose::VerifyJws(set.tokens[i], jwks, allowed).has_value(); });
    level("provider",
          [&](size_t i) { return provider.Verify(set.tokens[i], options.allowed_algs).has_value(); });
    level("validator", [&](size_t i) {
      auto claims = api.Validate(set.tokens[i], required_scopes);
      return claims.has_value() && !claims->sub.empty();
    });
  }
  return 0;
}
