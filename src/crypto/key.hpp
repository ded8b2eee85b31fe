#pragma once

// Asymmetric keys for JOSE: RSA (>= 2048 bits), EC P-256 and Ed25519, on OpenSSL 3 EVP.
// The only home of OpenSSL key handles; callers never see <openssl/*>.

#include <memory>
#include <string>
#include <string_view>

#include "crypto/error.hpp"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, opaque outside crypto/

namespace latchkey::crypto {

enum class KeyType { kRsa, kEcP256, kEd25519 };

// SignatureScheme: the four JWS signature algorithms Latchkey implements (RFC 7518 §3.3, §3.4,
// §3.5; RFC 8037 §3.1). There is deliberately no HMAC and no "none".
enum class SignatureScheme {
  kRsaPkcs1Sha256,   // RS256
  kRsaPssSha256,     // PS256 (MGF1-SHA256, salt length 32)
  kEcdsaP256Sha256,  // ES256; signatures are the 64-byte R || S of RFC 7518 §3.4, not DER
  kEd25519,          // EdDSA with Ed25519
};

// RsaComponents, EcComponents, OkpComponents hold big-endian unsigned key parameters as raw bytes
// (exactly as JWK carries them after base64url decoding, RFC 7518 §6). Private fields are empty
// for public keys.
struct RsaComponents {
  std::string n, e;                 // public
  std::string d, p, q, dp, dq, qi;  // private (all or none)
};
struct EcComponents {
  std::string x, y;  // 32 bytes each for P-256
  std::string d;     // private scalar, 32 bytes, or empty
};
struct OkpComponents {
  std::string x;  // 32-byte Ed25519 public key
  std::string d;  // 32-byte Ed25519 private seed, or empty
};

// Key: an immutable, cheaply copyable handle to a public or private key. Thread-safe to share.
class Key {
 public:
  Key() = default;

  KeyType Type() const { return type_; }
  bool HasPrivate() const { return has_private_; }
  bool Valid() const { return pkey_ != nullptr; }

  // PublicOnly returns a copy holding only the public half.
  Result<Key> PublicOnly() const;

  // PrivatePem returns the private key as unencrypted PKCS#8 PEM; kInvalidKey for public keys.
  Result<std::string> PrivatePem() const;

  // Components: the public parameters (and private ones when `include_private`) for a JWK.
  // Each returns kUnsupported when called for the wrong key type.
  Result<RsaComponents> Rsa(bool include_private = false) const;
  Result<EcComponents> Ec(bool include_private = false) const;
  Result<OkpComponents> Okp(bool include_private = false) const;

  // Internal: the OpenSSL handle, for use inside crypto/ only.
  evp_pkey_st* Raw() const { return pkey_.get(); }
  static Key Wrap(std::shared_ptr<evp_pkey_st> pkey, KeyType type, bool has_private);

 private:
  std::shared_ptr<evp_pkey_st> pkey_;
  KeyType type_ = KeyType::kEcP256;
  bool has_private_ = false;
};

// GenerateKey makes a fresh key from the OS CSPRNG: RSA of `rsa_bits` (e = 65537; kInvalidKey
// below 2048 or above 8192), P-256 or Ed25519 (`rsa_bits` ignored).
Result<Key> GenerateKey(KeyType type, int rsa_bits = 2048);

// KeyFromPrivatePem parses a PKCS#8 (or traditional) PEM private key; rejects RSA under 2048 bits
// and EC curves other than P-256 with kInvalidKey.
Result<Key> KeyFromPrivatePem(std::string_view pem);

// KeyFromRsa / KeyFromEc / KeyFromOkp build a key from JWK parameters. Public when the private
// fields are empty. RSA moduli under 2048 bits are rejected (RFC 7518 §3.3); EC points are
// checked to lie on P-256.
Result<Key> KeyFromRsa(const RsaComponents& c);
Result<Key> KeyFromEc(const EcComponents& c);
Result<Key> KeyFromOkp(const OkpComponents& c);

// SchemeFitsKey is true when `scheme` can be used with a key of `type` (the algorithm-confusion
// guard: an RSA scheme never runs on an EC key and vice versa).
bool SchemeFitsKey(SignatureScheme scheme, KeyType type);

// Sign returns the signature of `data` with the private `key`; kInvalidKey for a public key,
// kUnsupported when the scheme does not fit the key type.
Result<std::string> Sign(const Key& key, SignatureScheme scheme, std::string_view data);

// Verify is true only when `signature` is a valid signature of `data` under `key` with exactly
// `scheme`. False (never an error) for every malformed or mismatched input.
bool Verify(const Key& key, SignatureScheme scheme, std::string_view data, std::string_view signature);

}  // namespace latchkey::crypto
