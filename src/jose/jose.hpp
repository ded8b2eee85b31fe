#pragma once

// JOSE: JWK/JWKS (RFC 7517, RFC 7518 §6, RFC 8037 §2), RFC 7638 thumbprints, JWS compact
// serialization (RFC 7515 §3.1, §7.1) and JWT claim checks (RFC 7519 §4.1, §7.2).
//
// Algorithm confusion is impossible by construction: the only algorithms that exist here are
// RS256, PS256, ES256 and EdDSA; "none" and every HMAC algorithm are unknown names; a verifier
// states which algorithms it accepts, and a key is only ever used with an algorithm of its type.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "crypto/key.hpp"

namespace latchkey::jose {

// Errc: one enumerator per reason a JOSE object is rejected.
enum class Errc {
  kNone = 0,
  kMalformed,        // not three base64url parts, bad JSON, duplicate/missing header members
  kUnsupportedAlg,   // "alg" is not one of RS256/PS256/ES256/EdDSA (includes "none", HS256)
  kAlgNotAllowed,    // a known alg the caller did not allow
  kKeyNotFound,      // no key with the header's "kid" (or no key fits the alg)
  kBadSignature,     // signature did not verify
  kInvalidKey,       // JWK malformed, wrong kty/crv, weak RSA, point off the curve
  kCritUnsupported,  // "crit" header present (RFC 7515 §4.1.11: we understand no extensions)
  kExpired,          // exp + leeway <= now
  kNotYetValid,      // nbf - leeway > now
  kIssuedInFuture,   // iat - leeway > now
  kWrongIssuer,      // iss differs from the expected issuer
  kWrongAudience,    // expected audience not in aud
  kMissingClaim,     // a required claim is absent or of the wrong JSON type
};

template <class T>
using Result = common::Result<T, Errc>;

// ErrcName returns a stable lowercase name for logs and tests ("bad_signature", ...).
std::string_view ErrcName(Errc e);

enum class Alg { kRS256, kPS256, kES256, kEdDSA };

// ParseAlg maps a JWS "alg" value to Alg; nullopt for anything else, including "none".
std::optional<Alg> ParseAlg(std::string_view name);
std::string_view AlgName(Alg alg);
crypto::SignatureScheme SchemeFor(Alg alg);
// AlgFitsKey is true when `alg` may be used with a key of `type`.
bool AlgFitsKey(Alg alg, crypto::KeyType type);

// Jwk: a parsed JSON Web Key. `alg` and `use` are optional members of the JWK.
struct Jwk {
  std::string kid;
  std::optional<Alg> alg;
  std::string use;
  crypto::Key key;
};

// ParseJwk accepts kty RSA, EC (crv P-256) and OKP (crv Ed25519), public or private.
// Unknown members are ignored (RFC 7517 §4). Rejects symmetric keys ("oct") with kInvalidKey.
Result<Jwk> ParseJwk(const boost::json::value& json);
Result<Jwk> ParseJwk(std::string_view json_text);

// PublicJwk renders the public half of `jwk` (never "d", "p", "q", ...), with kid/alg/use when
// set.
boost::json::object PublicJwk(const Jwk& jwk);

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of the key's public part, base64url.
Result<std::string> Thumbprint(const crypto::Key& key);

// Jwks: an RFC 7517 §5 key set.
struct Jwks {
  std::vector<Jwk> keys;
  // Find returns the key whose kid equals `kid`, or nullptr.
  const Jwk* Find(std::string_view kid) const;
};

// ParseJwks parses {"keys":[...]}. Keys of unsupported types are skipped (RFC 7517 §5: "...
// SHOULD ignore JWKs within a JWK Set that use kty values that are not understood");
// a malformed supported key fails the whole set.
Result<Jwks> ParseJwks(std::string_view json_text);

// SerializeJwks renders the public JWKS document.
std::string SerializeJwks(const Jwks& jwks);

// SigningKey: a private key with its kid and the algorithm it signs with.
struct SigningKey {
  std::string kid;
  Alg alg = Alg::kES256;
  crypto::Key key;
};

// SignJws returns the compact JWS of `payload` with protected header
// {"alg":..., "kid":..., "typ": typ} (typ omitted when empty). Errors: kInvalidKey when the key is
// public or does not fit the alg.
Result<std::string> SignJws(const SigningKey& key, std::string_view typ, std::string_view payload);

// ParsedJws: the decoded parts of a compact JWS, NOT verified.
struct ParsedJws {
  boost::json::object header;
  std::string payload;
  std::string signing_input;  // BASE64URL(header) '.' BASE64URL(payload)
  std::string signature;      // decoded bytes
};

// ParseJws splits and decodes a compact JWS without checking the signature (for inspection and
// as the first step of VerifyJws). kMalformed on any structural problem; kCritUnsupported when
// "crit" is present.
Result<ParsedJws> ParseJws(std::string_view compact);

// VerifyJws checks the signature of `compact` with a key from `keys`. The header's "alg" must be
// in `allowed`; when the header names a "kid" only that key is tried, otherwise every key whose
// type fits the alg (and whose own "alg", if set, equals it). Does NOT check any claims.
Result<ParsedJws> VerifyJws(std::string_view compact, const Jwks& keys, std::span<const Alg> allowed);

// VerifyParsedJws is VerifyJws for a JWS already split by ParseJws (one parse when the caller
// also reads the header first).
Result<void> VerifyParsedJws(const ParsedJws& parsed, const Jwks& keys, std::span<const Alg> allowed);

// HashHalf returns base64url(left-most 128 bits of SHA-256(value)): the at_hash / c_hash value
// for the SHA-256 based algorithms RS256, PS256 and ES256 (OIDC Core §3.1.3.6, §3.3.2.11).
std::string HashHalf(std::string_view value);

// HashHalf returns the at_hash / c_hash of `value` for an ID Token signed with `alg`: the
// base64url of the left half of the hash that `alg` uses. kUnsupportedAlg for EdDSA: OIDC Core
// 1.0 only defines the hash for algorithms that name one ("RS256" -> SHA-256, §3.1.3.6), Ed25519
// has no such JWS hash, and crypto/ offers no SHA-512 to follow the proposals to use it; an ID
// Token signed with EdDSA can therefore carry neither at_hash nor c_hash for now.
Result<std::string> HashHalf(std::string_view value, Alg alg);

// ClaimsCheck: what CheckClaims enforces. Empty issuer/audience mean "do not check".
struct ClaimsCheck {
  std::string issuer;
  std::string audience;
  int64_t leeway_seconds = 30;
  bool require_exp = true;
  bool require_iat = false;
};

// CheckClaims parses `payload` as a JSON object and checks exp, nbf, iat (NumericDate, with
// leeway), iss and aud (a string or an array of strings) against `clock`. Returns the claims.
Result<boost::json::object> CheckClaims(std::string_view payload, const ClaimsCheck& check,
                                        const common::Clock& clock);

}  // namespace latchkey::jose
