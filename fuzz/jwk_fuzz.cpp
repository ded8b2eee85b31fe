// Fuzzes JWK and JWKS parsing; whatever parses must serialize and parse back to the same key.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/serialize.hpp>

#include "jose/jose.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto jwk = latchkey::jose::ParseJwk(text);
  if (jwk) {
    auto round = latchkey::jose::ParseJwk(boost::json::serialize(latchkey::jose::PublicJwk(*jwk)));
    if (!round) __builtin_trap();
  }
  auto jwks = latchkey::jose::ParseJwks(text);
  if (jwks) (void)latchkey::jose::SerializeJwks(*jwks);
  return 0;
}
