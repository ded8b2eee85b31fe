#pragma once

// Proof Key for Code Exchange (RFC 7636): the checks made when the authorization request carries a
// code_challenge (§4.3, §4.4) and when the token request carries a code_verifier (§4.5, §4.6).
//
//   code-verifier = 43*128unreserved                      (§4.1)
//   unreserved    = ALPHA / DIGIT / "-" / "." / "_" / "~"
//   code-challenge = 43*128unreserved                     (§4.2; plain: the verifier itself)
//   S256: code_challenge = BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))

#include <optional>
#include <string_view>

#include "oauth/error.hpp"

namespace latchkey::oauth {

enum class PkceMethod {
  kS256,
  kPlain,
};

// ParseChallengeMethod parses the code_challenge_method parameter (RFC 7636 §4.3). An absent value
// means "plain" (§4.3: "defaults to plain if not present"), so it is accepted only with
// `allow_plain` like an explicit "plain" (OAuth 2.1 §4.1.1 and RFC 9700 §2.1.1 recommend S256 only:
// plain gives no protection when the authorization request leaks). Returns invalid_request for an
// unknown method or a refused plain. Method names are case-sensitive ("S256", "plain").
Result<PkceMethod> ParseChallengeMethod(std::optional<std::string_view> method, bool allow_plain);

// IsValidVerifier reports whether `verifier` matches the RFC 7636 §4.1 grammar: 43 to 128
// characters of ALPHA / DIGIT / "-" / "." / "_" / "~".
bool IsValidVerifier(std::string_view verifier);

// IsValidChallenge reports whether `challenge` is a well-formed code_challenge for `method`
// (RFC 7636 §4.2): for S256 exactly 43 base64url characters that are the canonical unpadded
// encoding of 32 bytes (anything else can never equal a SHA-256 digest); for plain the verifier
// grammar.
bool IsValidChallenge(std::string_view challenge, PkceMethod method);

// VerifyPkce reports whether `verifier` proves possession of `challenge` (RFC 7636 §4.6): false
// when the verifier breaks the §4.1 grammar, otherwise a constant-time comparison of the
// transformed verifier with the stored challenge. It does not check that `challenge` itself is
// well-formed (that was done when the authorization request was accepted) nor that a challenge was
// required.
bool VerifyPkce(std::string_view verifier, std::string_view challenge, PkceMethod method);

}  // namespace latchkey::oauth
