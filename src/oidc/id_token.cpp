#include "oidc/id_token.hpp"

#include <array>
#include <cassert>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

namespace latchkey::oidc {
namespace {

// The claims SignIdToken owns. Extra claims with these names are dropped: otherwise a caller
// passing user-controlled claims could replace "aud" or "exp", or plant a "nonce" the relying
// party would accept as its own (§3.1.3.7 steps 3 and 11 rely on these being the server's).
constexpr std::array<std::string_view, 12> kOwnedClaims = {
    "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "at_hash", "c_hash",
};

bool IsOwned(std::string_view name) {
  for (std::string_view owned : kOwnedClaims) {
    if (owned == name) return true;
  }
  return false;
}

}  // namespace

jose::Result<std::string> SignIdToken(const IdTokenInput& input, const jose::SigningKey& key,
                                      const common::Clock& clock) {
  assert(input.lifetime > 0);
  const int64_t now = clock.NowSeconds();

  boost::json::object claims;
  claims["iss"] = input.issuer;
  claims["sub"] = input.subject;
  claims["aud"] = input.audience;
  // §2: azp MAY be included; with a single audience it equals aud, and including it lets relying
  // parties that always check azp accept the token.
  claims["azp"] = input.audience;
  claims["exp"] = now + input.lifetime;
  claims["iat"] = now;
  if (input.auth_time > 0) claims["auth_time"] = input.auth_time;
  if (!input.nonce.empty()) claims["nonce"] = input.nonce;
  if (!input.acr.empty()) claims["acr"] = input.acr;
  if (!input.amr.empty()) {
    boost::json::array amr;
    for (const auto& method : input.amr) amr.emplace_back(method);
    claims["amr"] = std::move(amr);
  }
  if (!input.access_token.empty()) {
    auto at_hash = jose::HashHalf(input.access_token, key.alg);
    if (!at_hash) return at_hash.error();
    claims["at_hash"] = *at_hash;
  }
  if (!input.code.empty()) {
    auto c_hash = jose::HashHalf(input.code, key.alg);
    if (!c_hash) return c_hash.error();
    claims["c_hash"] = *c_hash;
  }
  for (const auto& member : input.extra_claims) {
    if (!IsOwned(member.key())) claims[member.key()] = member.value();
  }
  return jose::SignJws(key, "JWT", boost::json::serialize(claims));
}

}  // namespace latchkey::oidc
