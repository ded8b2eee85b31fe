#include "crypto/aead.hpp"

#include <openssl/evp.h>

#include <climits>
#include <memory>

#include "crypto/digest.hpp"

namespace latchkey::crypto {
namespace {

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

const unsigned char* Bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* Bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

// Fits: OpenSSL's update calls take int lengths.
bool Fits(std::string_view s) { return s.size() <= static_cast<std::size_t>(INT_MAX) - kGcmTagBytes; }

}  // namespace

Result<std::string> SealAes256Gcm(std::string_view key, std::string_view plaintext, std::string_view aad) {
  if (key.size() != kAes256KeyBytes) return Error::kInvalidKey;
  if (!Fits(plaintext) || !Fits(aad)) return Error::kUnsupported;
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Error::kInternal;
  // A random 96-bit nonce per message (SP 800-38D §8.2.2): keys are sealed rarely, far below the
  // 2^32 messages per key that random nonces allow.
  std::string out = RandomBytes(kGcmNonceBytes);
  out.resize(kGcmNonceBytes + plaintext.size() + kGcmTagBytes);
  int len = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), Bytes(out)) != 1 ||
      (!aad.empty() &&
       EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1) ||
      EVP_EncryptUpdate(ctx.get(), Bytes(out) + kGcmNonceBytes, &len, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      static_cast<std::size_t>(len) != plaintext.size() ||
      EVP_EncryptFinal_ex(ctx.get(), Bytes(out) + kGcmNonceBytes + len, &len) != 1 || len != 0 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagBytes),
                          Bytes(out) + kGcmNonceBytes + plaintext.size()) != 1) {
    return Error::kInternal;
  }
  return out;
}

Result<std::string> OpenAes256Gcm(std::string_view key, std::string_view sealed, std::string_view aad) {
  if (key.size() != kAes256KeyBytes) return Error::kInvalidKey;
  if (sealed.size() < kGcmNonceBytes + kGcmTagBytes) return Error::kBadSignature;
  if (!Fits(sealed) || !Fits(aad)) return Error::kUnsupported;
  const std::string_view nonce = sealed.substr(0, kGcmNonceBytes);
  const std::string_view body = sealed.substr(kGcmNonceBytes, sealed.size() - kGcmNonceBytes - kGcmTagBytes);
  std::string tag(sealed.substr(sealed.size() - kGcmTagBytes));
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Error::kInternal;
  std::string plaintext(body.size(), '\0');
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), Bytes(nonce)) != 1 ||
      (!aad.empty() &&
       EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1) ||
      EVP_DecryptUpdate(ctx.get(), Bytes(plaintext), &len, Bytes(body), static_cast<int>(body.size())) != 1 ||
      static_cast<std::size_t>(len) != body.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagBytes), Bytes(tag)) != 1) {
    return Error::kInternal;
  }
  // The tag is checked here; on a mismatch the decrypted bytes are wiped, never returned.
  if (EVP_DecryptFinal_ex(ctx.get(), Bytes(plaintext) + len, &len) != 1) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return Error::kBadSignature;
  }
  return plaintext;
}

}  // namespace latchkey::crypto
