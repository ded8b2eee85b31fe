// Fuzzes JWS compact parsing and verification against a fixed key set.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "jose/jose.hpp"

namespace {

const latchkey::jose::Jwks& Keys() {
  static const latchkey::jose::Jwks kKeys = [] {
    latchkey::jose::Jwks jwks;
    auto es = latchkey::crypto::GenerateKey(latchkey::crypto::KeyType::kEcP256);
    auto ed = latchkey::crypto::GenerateKey(latchkey::crypto::KeyType::kEd25519);
    if (es) jwks.keys.push_back({"es", latchkey::jose::Alg::kES256, "sig", *es->PublicOnly()});
    if (ed) jwks.keys.push_back({"ed", latchkey::jose::Alg::kEdDSA, "sig", *ed->PublicOnly()});
    return jwks;
  }();
  return kKeys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)latchkey::jose::ParseJws(text);
  const latchkey::jose::Alg allowed[] = {latchkey::jose::Alg::kES256, latchkey::jose::Alg::kEdDSA,
                                         latchkey::jose::Alg::kRS256};
  // Random input must never verify.
  if (latchkey::jose::VerifyJws(text, Keys(), allowed).has_value()) __builtin_trap();
  return 0;
}
