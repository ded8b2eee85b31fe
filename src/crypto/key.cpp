#include "crypto/key.hpp"

#include "crypto/digest.hpp"
#include "crypto/ecdsa_presign.hpp"
#include "crypto/owned.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <array>
#include <cstring>
#include <vector>

namespace latchkey::crypto {

namespace {

using internal::Owned;
using BnPtr = Owned<BIGNUM, BN_free>;
using BioPtr = Owned<BIO, BIO_free_all>;
using PkeyCtxPtr = Owned<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using MdCtxPtr = Owned<EVP_MD_CTX, EVP_MD_CTX_free>;
using ParamBldPtr = Owned<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using ParamPtr = Owned<OSSL_PARAM, OSSL_PARAM_free>;
using EcdsaSigPtr = Owned<ECDSA_SIG, ECDSA_SIG_free>;

constexpr int kMinRsaBits = 2048;
constexpr size_t kP256Bytes = 32;
constexpr size_t kEd25519Bytes = 32;

std::shared_ptr<EVP_PKEY> Share(EVP_PKEY* p) { return std::shared_ptr<EVP_PKEY>(p, EVP_PKEY_free); }

const unsigned char* Bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

BnPtr ToBn(std::string_view bytes) {
  return BnPtr(BN_bin2bn(Bytes(bytes), static_cast<int>(bytes.size()), nullptr));
}

std::string FromBn(const BIGNUM* bn, int pad_to = 0) {
  const int len = pad_to > 0 ? pad_to : BN_num_bytes(bn);
  std::string out(static_cast<size_t>(len), '\0');
  if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), len) != len) return {};
  return out;
}

// GetBn reads one big-number parameter; empty when absent.
std::string GetBn(const EVP_PKEY* pkey, const char* name, int pad_to = 0) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) return {};
  BnPtr bn(raw);
  return FromBn(bn.get(), pad_to);
}

// FromData builds an EVP_PKEY of `type_name` from an OSSL_PARAM list.
EVP_PKEY* FromData(const char* type_name, OSSL_PARAM_BLD* bld, bool is_private) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type_name, nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
  EVP_PKEY* pkey = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &pkey, is_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params.get()) != 1) {
    return nullptr;
  }
  return pkey;
}

bool IsP256(const EVP_PKEY* pkey) {
  char name[64] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(pkey, name, sizeof(name), &len) != 1) return false;
  return std::strcmp(name, "prime256v1") == 0 || std::strcmp(name, "P-256") == 0;
}

// Classify maps a parsed key onto the three key types we support, enforcing the size rules.
Result<KeyType> Classify(const EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    // RSA under 2048 bits is factorable by well-funded attackers (RFC 7518 §3.3 requires 2048).
    if (EVP_PKEY_get_bits(pkey) < kMinRsaBits) return Error::kInvalidKey;
    return KeyType::kRsa;
  }
  if (EVP_PKEY_is_a(pkey, "EC")) {
    if (!IsP256(pkey)) return Error::kInvalidKey;
    return KeyType::kEcP256;
  }
  if (EVP_PKEY_is_a(pkey, "ED25519")) return KeyType::kEd25519;
  return Error::kUnsupported;
}

// ConfigurePss sets PS256's parameters: MGF1 with SHA-256 and a salt as long as the hash
// (RFC 7518 §3.5). Pinning the salt length on verify too means only exactly-PS256 signatures pass.
bool ConfigurePss(EVP_PKEY_CTX* pctx) {
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1;
}

bool ConfigureScheme(EVP_PKEY_CTX* pctx, SignatureScheme scheme) {
  if (scheme == SignatureScheme::kRsaPssSha256) return ConfigurePss(pctx);
  if (scheme == SignatureScheme::kRsaPkcs1Sha256)
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
  return true;
}

}  // namespace

Key Key::Wrap(std::shared_ptr<evp_pkey_st> pkey, KeyType type, bool has_private) {
  Key k;
  k.pkey_ = std::move(pkey);
  k.type_ = type;
  k.has_private_ = has_private;
  return k;
}

Result<Key> Key::PublicOnly() const {
  if (!pkey_) return Error::kInvalidKey;
  OSSL_PARAM* raw = nullptr;
  if (EVP_PKEY_todata(pkey_.get(), EVP_PKEY_PUBLIC_KEY, &raw) != 1) return Error::kInternal;
  ParamPtr params(raw);
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
  EVP_PKEY* out = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &out, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return Error::kInternal;
  }
  return Wrap(Share(out), type_, false);
}

Result<std::string> Key::PrivatePem() const {
  if (!pkey_ || !has_private_) return Error::kInvalidKey;
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Error::kInternal;
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0) return Error::kInternal;
  return std::string(data, static_cast<size_t>(len));
}

Result<RsaComponents> Key::Rsa(bool include_private) const {
  if (!pkey_ || type_ != KeyType::kRsa) return Error::kUnsupported;
  RsaComponents c;
  c.n = GetBn(pkey_.get(), OSSL_PKEY_PARAM_RSA_N);
  c.e = GetBn(pkey_.get(), OSSL_PKEY_PARAM_RSA_E);
  if (c.n.empty() || c.e.empty()) return Error::kInternal;
  if (include_private && has_private_) {
    c.d = GetBn(pkey_.get(), OSSL_PKEY_PARAM_RSA_D);
    c.p = GetBn(pkey_.get(), OSSL_PKEY_PARAM_RSA_FACTOR1);
    c.q = GetBn(pkey_.get(), OSSL_PKEY_PARAM_RSA_FACTOR2);
    c.dp = GetBn(pkey_.get(), OSSL_PKEY_PARAM_RSA_EXPONENT1);
    c.dq = GetBn(pkey_.get(), OSSL_PKEY_PARAM_RSA_EXPONENT2);
    c.qi = GetBn(pkey_.get(), OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
  }
  return c;
}

Result<EcComponents> Key::Ec(bool include_private) const {
  if (!pkey_ || type_ != KeyType::kEcP256) return Error::kUnsupported;
  EcComponents c;
  // JWK requires the full fixed-width field element (RFC 7518 §6.2.1.2), so pad to 32 bytes.
  c.x = GetBn(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_X, kP256Bytes);
  c.y = GetBn(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, kP256Bytes);
  if (c.x.size() != kP256Bytes || c.y.size() != kP256Bytes) return Error::kInternal;
  if (include_private && has_private_) {
    c.d = GetBn(pkey_.get(), OSSL_PKEY_PARAM_PRIV_KEY, kP256Bytes);
    if (c.d.size() != kP256Bytes) return Error::kInternal;
  }
  return c;
}

Result<OkpComponents> Key::Okp(bool include_private) const {
  if (!pkey_ || type_ != KeyType::kEd25519) return Error::kUnsupported;
  OkpComponents c;
  c.x.assign(kEd25519Bytes, '\0');
  size_t len = c.x.size();
  if (EVP_PKEY_get_raw_public_key(pkey_.get(), reinterpret_cast<unsigned char*>(c.x.data()), &len) != 1 ||
      len != kEd25519Bytes) {
    return Error::kInternal;
  }
  if (include_private && has_private_) {
    c.d.assign(kEd25519Bytes, '\0');
    len = c.d.size();
    if (EVP_PKEY_get_raw_private_key(pkey_.get(), reinterpret_cast<unsigned char*>(c.d.data()), &len) != 1 ||
        len != kEd25519Bytes) {
      return Error::kInternal;
    }
  }
  return c;
}

Result<Key> GenerateKey(KeyType type, int rsa_bits) {
  EVP_PKEY* pkey = nullptr;
  switch (type) {
    case KeyType::kRsa:
      // RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used".
      if (rsa_bits < kMinRsaBits || rsa_bits > 8192) return Error::kInvalidKey;
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(rsa_bits));
      break;
    case KeyType::kEcP256: pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case KeyType::kEd25519: pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
  }
  if (pkey == nullptr) return Error::kInternal;
  return Key::Wrap(Share(pkey), type, true);
}

Result<Key> KeyFromPrivatePem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Error::kInternal;
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) return Error::kInvalidKey;
  auto pkey = Share(raw);
  auto type = Classify(pkey.get());
  if (!type) return Error::kInvalidKey;
  return Key::Wrap(std::move(pkey), *type, true);
}

Result<Key> KeyFromRsa(const RsaComponents& c) {
  if (c.n.empty() || c.e.empty()) return Error::kInvalidKey;
  const bool has_crt = !c.p.empty() || !c.q.empty() || !c.dp.empty() || !c.dq.empty() || !c.qi.empty();
  const bool full_crt = !c.p.empty() && !c.q.empty() && !c.dp.empty() && !c.dq.empty() && !c.qi.empty();
  // RFC 7518 §6.3.2: the CRT parameters come all together or not at all, and never without "d".
  if (has_crt && (!full_crt || c.d.empty())) return Error::kInvalidKey;
  const bool is_private = !c.d.empty();

  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  BnPtr n = ToBn(c.n), e = ToBn(c.e), d, p, q, dp, dq, qi;
  if (!bld || !n || !e) return Error::kInternal;
  // A modulus under 2048 bits is rejected before any use (RFC 7518 §3.3).
  if (BN_num_bits(n.get()) < kMinRsaBits) return Error::kInvalidKey;
  // An even or tiny exponent makes the "public key" meaningless (e = 1 verifies anything).
  if (!BN_is_odd(e.get()) || BN_num_bits(e.get()) < 2 || BN_num_bits(e.get()) > 64) return Error::kInvalidKey;
  bool ok = OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) == 1 &&
            OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) == 1;
  if (is_private) {
    d = ToBn(c.d);
    ok = ok && d && OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_D, d.get()) == 1;
  }
  if (full_crt) {
    p = ToBn(c.p), q = ToBn(c.q), dp = ToBn(c.dp), dq = ToBn(c.dq), qi = ToBn(c.qi);
    ok = ok && p && q && dp && dq && qi &&
         OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR1, p.get()) == 1 &&
         OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR2, q.get()) == 1 &&
         OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT1, dp.get()) == 1 &&
         OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT2, dq.get()) == 1 &&
         OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qi.get()) == 1;
  }
  if (!ok) return Error::kInternal;
  EVP_PKEY* raw = FromData("RSA", bld.get(), is_private);
  if (raw == nullptr) return Error::kInvalidKey;
  auto pkey = Share(raw);
  if (full_crt) {
    // Mismatched CRT parameters would produce faulty signatures that leak the factorisation
    // (the Bellcore attack), so check the private key is consistent before accepting it.
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
    if (!ctx || EVP_PKEY_pairwise_check(ctx.get()) != 1) return Error::kInvalidKey;
  }
  return Key::Wrap(std::move(pkey), KeyType::kRsa, is_private);
}

Result<Key> KeyFromEc(const EcComponents& c) {
  if (c.x.size() != kP256Bytes || c.y.size() != kP256Bytes) return Error::kInvalidKey;
  if (!c.d.empty() && c.d.size() != kP256Bytes) return Error::kInvalidKey;
  const bool is_private = !c.d.empty();
  std::string point;
  point.reserve(1 + 2 * kP256Bytes);
  point.push_back('\x04');  // SEC 1 uncompressed point
  point.append(c.x).append(c.y);

  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld) return Error::kInternal;
  BnPtr d;
  bool ok =
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) == 1;
  if (is_private) {
    d = ToBn(c.d);
    ok = ok && d && OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) == 1;
  }
  if (!ok) return Error::kInternal;
  EVP_PKEY* raw = FromData("EC", bld.get(), is_private);
  if (raw == nullptr) return Error::kInvalidKey;
  auto pkey = Share(raw);
  // An off-curve point enables invalid-curve attacks that recover private scalars; a private key
  // whose d does not match (x, y) would sign with a key nobody can verify.
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!ctx) return Error::kInternal;
  if (EVP_PKEY_public_check(ctx.get()) != 1) return Error::kInvalidKey;
  if (is_private && EVP_PKEY_pairwise_check(ctx.get()) != 1) return Error::kInvalidKey;
  return Key::Wrap(std::move(pkey), KeyType::kEcP256, is_private);
}

Result<Key> KeyFromOkp(const OkpComponents& c) {
  if (c.x.size() != kEd25519Bytes) return Error::kInvalidKey;
  if (c.d.empty()) {
    EVP_PKEY* raw = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, Bytes(c.x), c.x.size());
    if (raw == nullptr) return Error::kInvalidKey;
    return Key::Wrap(Share(raw), KeyType::kEd25519, false);
  }
  if (c.d.size() != kEd25519Bytes) return Error::kInvalidKey;
  EVP_PKEY* raw = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, Bytes(c.d), c.d.size());
  if (raw == nullptr) return Error::kInvalidKey;
  Key key = Key::Wrap(Share(raw), KeyType::kEd25519, true);
  // The public key is derived from the seed; a JWK whose "x" disagrees is corrupt or forged.
  auto derived = key.Okp(false);
  if (!derived || derived->x != c.x) return Error::kInvalidKey;
  return key;
}

bool SchemeFitsKey(SignatureScheme scheme, KeyType type) {
  switch (scheme) {
    case SignatureScheme::kRsaPkcs1Sha256:
    case SignatureScheme::kRsaPssSha256: return type == KeyType::kRsa;
    case SignatureScheme::kEcdsaP256Sha256: return type == KeyType::kEcP256;
    case SignatureScheme::kEd25519: return type == KeyType::kEd25519;
  }
  return false;
}

namespace {

// CachedContext: an EVP_PKEY_CTX initialised for signing or verifying with one key and scheme.
// Creating and initialising a context costs about as much as an ECDSA P-256 signature itself
// (algorithm fetch, locks) and more than an RSA-2048 verification, so each thread keeps a few of
// them per purpose. A cached context holds a reference on its key, so the key cannot be freed (and
// its address reused) while the cache remembers it.
enum class Purpose { kSign, kVerify };

struct CachedContext {
  EVP_PKEY* key = nullptr;
  SignatureScheme scheme = SignatureScheme::kEcdsaP256Sha256;
  PkeyCtxPtr ctx;
};

constexpr size_t kContextsPerThread = 8;
constexpr size_t kSha256Bytes = 32;

EVP_PKEY_CTX* ContextFor(EVP_PKEY* key, SignatureScheme scheme, Purpose purpose) {
  thread_local std::array<std::vector<CachedContext>, 2> caches;
  auto& cache = caches[purpose == Purpose::kSign ? 0 : 1];
  for (auto& entry : cache) {
    if (entry.key == key && entry.scheme == scheme) return entry.ctx.get();
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  const bool initialised = ctx && (purpose == Purpose::kSign ? EVP_PKEY_sign_init(ctx.get())
                                                             : EVP_PKEY_verify_init(ctx.get())) == 1;
  if (!initialised || !ConfigureScheme(ctx.get(), scheme) ||
      (scheme != SignatureScheme::kEd25519 && EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) != 1)) {
    return nullptr;
  }
  // Oldest out first; keys rotate rarely, so the cache stays warm.
  if (cache.size() == kContextsPerThread) cache.erase(cache.begin());
  cache.push_back({key, scheme, std::move(ctx)});
  return cache.back().ctx.get();
}

// Sha256Of hashes `data` into `digest` (32 bytes).
bool Sha256Of(std::string_view data, unsigned char* digest) {
  unsigned int digest_len = 0;
  return EVP_Digest(data.data(), data.size(), digest, &digest_len, Sha256Md(), nullptr) == 1;
}

// SignDigestWithCache signs SHA-256(data) with a cached context (RSA and ECDSA: the signature
// operates on the digest, so hashing separately is equivalent to EVP_DigestSign).
bool SignDigestWithCache(const Key& key, SignatureScheme scheme, std::string_view data, unsigned char* out,
                         size_t* len) {
  EVP_PKEY_CTX* ctx = ContextFor(key.Raw(), scheme, Purpose::kSign);
  unsigned char digest[kSha256Bytes];
  return ctx != nullptr && Sha256Of(data, digest) &&
         EVP_PKEY_sign(ctx, out, len, digest, sizeof(digest)) == 1;
}

}  // namespace

Result<std::string> Sign(const Key& key, SignatureScheme scheme, std::string_view data) {
  if (!key.Valid() || !key.HasPrivate()) return Error::kInvalidKey;
  if (!SchemeFitsKey(scheme, key.Type())) return Error::kUnsupported;
  // ECDSA P-256 DER is at most 72 bytes, Ed25519 64, RSA the modulus size: a stack buffer covers
  // the hot ES256/EdDSA path without a sizing call.
  unsigned char buf[1024];
  size_t len = sizeof(buf);
  std::string rsa_sig;
  unsigned char* out = buf;
  if (key.Type() == KeyType::kRsa) {
    len = static_cast<size_t>(EVP_PKEY_get_size(key.Raw()));
    rsa_sig.assign(len, '\0');
    out = reinterpret_cast<unsigned char*>(rsa_sig.data());
  }
  if (scheme == SignatureScheme::kEd25519) {
    // PureEdDSA hashes internally and has no separate digest step: one-shot EVP_DigestSign.
    MdCtxPtr md_ctx(EVP_MD_CTX_new());
    if (!md_ctx || EVP_DigestSignInit(md_ctx.get(), nullptr, nullptr, nullptr, key.Raw()) != 1 ||
        EVP_DigestSign(md_ctx.get(), out, &len, Bytes(data), data.size()) != 1) {
      return Error::kInternal;
    }
    return std::string(reinterpret_cast<char*>(buf), len);
  }
  if (scheme == SignatureScheme::kEcdsaP256Sha256) {
    // JWS carries ECDSA signatures as fixed-width R || S (RFC 7518 §3.4), written so directly.
    std::string raw(2 * kP256Bytes, '\0');
    unsigned char digest[kSha256Bytes];
    if (Sha256Of(data, digest) &&
        internal::SignP256Digest(key.Raw(), digest, reinterpret_cast<unsigned char*>(raw.data()))) {
      return raw;
    }
  }
  if (!SignDigestWithCache(key, scheme, data, out, &len)) return Error::kInternal;
  if (key.Type() == KeyType::kRsa) {
    rsa_sig.resize(len);
    return rsa_sig;
  }

  // The fallback's DER signature, as R || S.
  const unsigned char* p = buf;
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  std::string raw(2 * kP256Bytes, '\0');
  if (!sig || !internal::WriteP256Signature(sig.get(), reinterpret_cast<unsigned char*>(raw.data()))) {
    return Error::kInternal;
  }
  return raw;
}

bool Verify(const Key& key, SignatureScheme scheme, std::string_view data, std::string_view signature) {
  // The key type decides which schemes may run: an RSA public key must never be used as an HMAC
  // secret or an EC key (algorithm confusion, RFC 8725 §2.1).
  if (!key.Valid() || !SchemeFitsKey(scheme, key.Type())) return false;

  unsigned char der[80];
  const unsigned char* sig_ptr = Bytes(signature);
  size_t sig_len = signature.size();
  if (scheme == SignatureScheme::kEcdsaP256Sha256) {
    // Exactly 64 bytes: accepting DER or other lengths would make signatures malleable.
    if (signature.size() != 2 * kP256Bytes) return false;
    EcdsaSigPtr sig(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(sig_ptr, kP256Bytes, nullptr);
    BIGNUM* s = BN_bin2bn(sig_ptr + kP256Bytes, kP256Bytes, nullptr);
    if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      return false;
    }
    if (i2d_ECDSA_SIG(sig.get(), nullptr) > static_cast<int>(sizeof(der))) return false;
    unsigned char* der_out = der;
    const int der_len = i2d_ECDSA_SIG(sig.get(), &der_out);
    if (der_len <= 0) return false;
    sig_ptr = der;
    sig_len = static_cast<size_t>(der_len);
  } else if (key.Type() == KeyType::kRsa) {
    if (signature.size() != static_cast<size_t>(EVP_PKEY_get_size(key.Raw()))) return false;
  }

  if (scheme == SignatureScheme::kEd25519) {
    // PureEdDSA hashes internally and has no separate digest step: one-shot EVP_DigestVerify.
    MdCtxPtr md_ctx(EVP_MD_CTX_new());
    return md_ctx && EVP_DigestVerifyInit(md_ctx.get(), nullptr, nullptr, nullptr, key.Raw()) == 1 &&
           EVP_DigestVerify(md_ctx.get(), sig_ptr, sig_len, Bytes(data), data.size()) == 1;
  }
  // RSA and ECDSA verify SHA-256(data), so hashing first is equivalent to EVP_DigestVerify and lets
  // the initialised context be reused.
  EVP_PKEY_CTX* ctx = ContextFor(key.Raw(), scheme, Purpose::kVerify);
  unsigned char digest[kSha256Bytes];
  return ctx != nullptr && Sha256Of(data, digest) &&
         EVP_PKEY_verify(ctx, sig_ptr, sig_len, digest, sizeof(digest)) == 1;
}

}  // namespace latchkey::crypto
