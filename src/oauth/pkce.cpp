#include "oauth/pkce.hpp"

#include <algorithm>
#include <string>

#include "common/base64.hpp"
#include "crypto/digest.hpp"

namespace latchkey::oauth {
namespace {

bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

constexpr size_t kMinLength = 43;
constexpr size_t kMaxLength = 128;
constexpr size_t kS256ChallengeLength = 43;  // unpadded base64url of a 32-byte digest

}  // namespace

Result<PkceMethod> ParseChallengeMethod(std::optional<std::string_view> method, bool allow_plain) {
  if (method && *method == "S256") return PkceMethod::kS256;
  if (!method || *method == "plain") {
    if (allow_plain) return PkceMethod::kPlain;
    return MakeError(ErrorCode::kInvalidRequest, "code_challenge_method must be S256");
  }
  return MakeError(ErrorCode::kInvalidRequest, "unsupported code_challenge_method");
}

bool IsValidVerifier(std::string_view verifier) {
  return verifier.size() >= kMinLength && verifier.size() <= kMaxLength &&
         std::all_of(verifier.begin(), verifier.end(), IsUnreserved);
}

bool IsValidChallenge(std::string_view challenge, PkceMethod method) {
  switch (method) {
    case PkceMethod::kS256: {
      if (challenge.size() != kS256ChallengeLength) return false;
      auto bytes = common::Base64UrlDecode(challenge);
      return bytes.has_value() && bytes->size() == 32;
    }
    case PkceMethod::kPlain: return IsValidVerifier(challenge);
  }
  return false;
}

bool VerifyPkce(std::string_view verifier, std::string_view challenge, PkceMethod method) {
  // A verifier outside the grammar is refused before hashing: OAuth 2.1 §4.1.3 requires the
  // verifier to be well-formed, and a short verifier would make a stolen code guessable.
  if (!IsValidVerifier(verifier)) return false;
  std::string expected;
  switch (method) {
    case PkceMethod::kS256: expected = common::Base64UrlEncode(crypto::Sha256(verifier)); break;
    case PkceMethod::kPlain: expected = std::string(verifier); break;
  }
  // Constant time: the challenge is a secret-derived value, and an early-exit comparison would let
  // an attacker holding a stolen code learn it byte by byte.
  return crypto::ConstantTimeEquals(expected, challenge);
}

}  // namespace latchkey::oauth
