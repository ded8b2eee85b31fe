// jose_tool: a small command-line front end to latchkey::jose for interoperability tests against
// independent JOSE implementations (tests/interop/jwcrypto_cross_check.py).
//
//   jose_tool sign ALG    generates a key, prints {"jwks": <public JWKS>, "token": <compact JWS>}
//   jose_tool verify ALG  reads {"jwks": ..., "token": ...} on stdin, verifies with only ALG
//                         allowed, prints the payload; exit 0 when valid, 1 otherwise.

#include <array>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "crypto/key.hpp"
#include "jose/jose.hpp"

namespace {

using latchkey::jose::Alg;

std::optional<latchkey::crypto::KeyType> KeyTypeFor(Alg alg) {
  switch (alg) {
    case Alg::kRS256:
    case Alg::kPS256: return latchkey::crypto::KeyType::kRsa;
    case Alg::kES256: return latchkey::crypto::KeyType::kEcP256;
    case Alg::kEdDSA: return latchkey::crypto::KeyType::kEd25519;
  }
  return std::nullopt;
}

int Sign(Alg alg) {
  auto key = latchkey::crypto::GenerateKey(*KeyTypeFor(alg));
  if (!key) {
    std::cerr << "key generation failed\n";
    return 1;
  }
  latchkey::jose::SigningKey signing{.kid = "latchkey-interop", .alg = alg, .key = *key};
  const std::string payload = R"({"iss":"https://latchkey.example","sub":"interop","n":1})";
  auto token = latchkey::jose::SignJws(signing, "JWT", payload);
  if (!token) {
    std::cerr << "sign failed: " << latchkey::jose::ErrcName(token.error()) << "\n";
    return 1;
  }
  latchkey::jose::Jwks jwks;
  jwks.keys.push_back(
      latchkey::jose::Jwk{.kid = signing.kid, .alg = alg, .use = "sig", .key = *key->PublicOnly()});
  boost::json::object out;
  out["jwks"] = boost::json::parse(latchkey::jose::SerializeJwks(jwks));
  out["token"] = *token;
  std::cout << boost::json::serialize(out) << "\n";
  return 0;
}

int Verify(Alg alg) {
  const std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  boost::json::error_code ec;
  boost::json::value doc = boost::json::parse(input, ec);
  if (ec || !doc.is_object() || !doc.as_object().contains("jwks") || !doc.at("token").is_string()) {
    std::cerr << "bad input\n";
    return 1;
  }
  auto jwks = latchkey::jose::ParseJwks(boost::json::serialize(doc.at("jwks")));
  if (!jwks) {
    std::cerr << "jwks: " << latchkey::jose::ErrcName(jwks.error()) << "\n";
    return 1;
  }
  const auto& token = doc.at("token").get_string();
  const std::array<Alg, 1> allowed = {alg};
  auto verified = latchkey::jose::VerifyJws(std::string_view(token.data(), token.size()), *jwks, allowed);
  if (!verified) {
    std::cerr << "verify: " << latchkey::jose::ErrcName(verified.error()) << "\n";
    return 1;
  }
  std::cout << verified->payload;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: jose_tool sign|verify RS256|PS256|ES256|EdDSA\n";
    return 2;
  }
  const std::string command = argv[1];
  const auto alg = latchkey::jose::ParseAlg(argv[2]);
  if (!alg) {
    std::cerr << "unknown alg\n";
    return 2;
  }
  if (command == "sign") return Sign(*alg);
  if (command == "verify") return Verify(*alg);
  std::cerr << "unknown command\n";
  return 2;
}
