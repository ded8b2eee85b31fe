#pragma once

// AES-256-GCM (NIST SP 800-38D): authenticated encryption for data at rest, such as the private
// signing keys sealed under the key-encryption key.

#include <string>
#include <string_view>

#include "crypto/error.hpp"

namespace latchkey::crypto {

constexpr std::size_t kAes256KeyBytes = 32;
constexpr std::size_t kGcmNonceBytes = 12;  // SP 800-38D §8.2.2: 96-bit random IV
constexpr std::size_t kGcmTagBytes = 16;    // SP 800-38D §5.2.1.2: the full 128-bit tag

// SealAes256Gcm encrypts `plaintext` under the 32-byte `key` with a fresh random nonce and binds
// `aad` (authenticated, not encrypted). Returns nonce || ciphertext || tag; kInvalidKey when the
// key is not 32 bytes.
Result<std::string> SealAes256Gcm(std::string_view key, std::string_view plaintext, std::string_view aad);

// OpenAes256Gcm reverses SealAes256Gcm. kBadSignature when `sealed` is too short, was changed, was
// sealed under another key or with another `aad`: nothing of the plaintext is returned then.
Result<std::string> OpenAes256Gcm(std::string_view key, std::string_view sealed, std::string_view aad);

}  // namespace latchkey::crypto
