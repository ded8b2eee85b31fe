#include "crypto/key.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crypto/ecdsa_presign.hpp"

namespace latchkey::crypto {
namespace {

// Test-only keys that must be rejected by size/curve rules.
constexpr std::string_view kRsa1024Pem = R"(-----BEGIN PRIVATE KEY-----
MIICdgIBADANBgkqhkiG9w0BAQEFAASCAmAwggJcAgEAAoGBAO7TzEs1M8l88zL5
lzI1HqcG/THsr4iDqkNQj2TBKEXQIyuqdgjzPEYCi25Qw6qDHrw2GfdNbpr0rE1M
AyLXM8JwEu7R9mbA38GVERXdT8yse72JHf7Nq53V2Xk2iXTnShGw6c0uIXi3J5lZ
i3m5FJr+q6bSXNiKV4hW/ofhGvg5AgMBAAECgYBwYO0CfphNuSPe2p8Qmvo/cgR2
F39JZ1sYrbGroVBH+XZzN5SvBXVZJB1j3VEUzPoLahGx0pe3BmaFQL1BCa5qaQkO
hyMY3jEa1Dc5IG2Fgb7EeE4bKVqtBeCpQ4LpfoOMwnC3o5t5ItHt2YQPArBv2YEE
/tVT1qNt59MAnyF7eQJBAPkWk/E1H8VltiRs+22soVhErlK9/iaLB+hjAMNRCjcs
JNlUO3i+e5U9SSxf/4qQPMLZR+shi/GmTE1ZOTP8XF8CQQD1dFTEN70mqTz9Gd9/
q57kJK2g2DZAX5Lq+Zc2vA2ALPkx28g60JyND79FYKsnbqWkqWyAksH2a/Z2Dhng
wPJnAkBSyo1b0/N+cgMrcknTt1hddV6Xw+ywtO9o71c2lD4X/oU080ldJbr/7MHg
jPvr+2smvH+qCJlyNXsRDoHz5IJzAkEAgcrtFAEhbXMqg/ANhjZbQ+q9QYNzVKD1
UHmA43mXbgLaFupQPAGZ9uGv0+DlQGm6/5JzhJ2WIVc/sXeNaZK92wJAdy0AHReR
UD9mwGhH0GO5APrs5BC1o94B9+w/GmQVcuw/SUXpedWD2XIdq3AXzB9ts1So/tb4
IOHW20CG9etmSA==
-----END PRIVATE KEY-----
)";
constexpr std::string_view kP384Pem = R"(-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDAkI07nGDclHM5+/XdH
NQXN4M+QBKlAuQEWtS7rMgE5bNKjyiKQl9tLzQEv6u3KgTShZANiAAQxKEMtm59X
Lv/bccPbZ2EzX4cH3zSi9aUAg9ptoUppXxDpZWRnQ8595/ACwNRfOf+gq5bXBZKD
lFR7ygMpmWicvqLLA3TnscsyQ7DM0iSXW6cTFx9p+Q1djJsHNjE+bGE=
-----END PRIVATE KEY-----
)";

struct SchemeCase {
  KeyType type;
  SignatureScheme scheme;
  size_t signature_size;  // 0: depends on the modulus
};

const SchemeCase kSchemes[] = {
    {KeyType::kRsa, SignatureScheme::kRsaPkcs1Sha256, 256},
    {KeyType::kRsa, SignatureScheme::kRsaPssSha256, 256},
    {KeyType::kEcP256, SignatureScheme::kEcdsaP256Sha256, 64},  // RFC 7518 §3.4: R || S
    {KeyType::kEd25519, SignatureScheme::kEd25519, 64},         // RFC 8032 §5.1.6
};

const Key& CachedKey(KeyType type) {
  static const Key kRsa = *GenerateKey(KeyType::kRsa);
  static const Key kEc = *GenerateKey(KeyType::kEcP256);
  static const Key kEd = *GenerateKey(KeyType::kEd25519);
  switch (type) {
    case KeyType::kRsa: return kRsa;
    case KeyType::kEcP256: return kEc;
    case KeyType::kEd25519: break;
  }
  return kEd;
}

TEST(KeyTest, SignVerifyRoundTripEveryScheme) {
  for (const auto& c : kSchemes) {
    const Key& key = CachedKey(c.type);
    ASSERT_TRUE(key.Valid());
    EXPECT_TRUE(key.HasPrivate());
    auto sig = Sign(key, c.scheme, "payload");
    ASSERT_TRUE(sig.has_value());
    EXPECT_EQ(sig->size(), c.signature_size);
    auto pub = key.PublicOnly();
    ASSERT_TRUE(pub.has_value());
    EXPECT_FALSE(pub->HasPrivate());
    EXPECT_TRUE(Verify(*pub, c.scheme, "payload", *sig));
    EXPECT_TRUE(Verify(key, c.scheme, "payload", *sig));
    // Any change to data or signature must fail.
    EXPECT_FALSE(Verify(*pub, c.scheme, "payloaD", *sig));
    std::string bad = *sig;
    bad[bad.size() / 2] ^= 1;
    EXPECT_FALSE(Verify(*pub, c.scheme, "payload", bad));
    EXPECT_FALSE(Verify(*pub, c.scheme, "payload", sig->substr(1)));
    EXPECT_FALSE(Verify(*pub, c.scheme, "payload", ""));
  }
}

// RFC 8725 §2.1 / RFC 7518 §3: a scheme never runs on a key of another type.
TEST(KeyTest, SchemeMustFitKey) {
  for (const auto& c : kSchemes) {
    for (const auto& other : kSchemes) {
      EXPECT_EQ(SchemeFitsKey(other.scheme, c.type), other.type == c.type);
      if (other.type == c.type) continue;
      auto sig = Sign(CachedKey(c.type), other.scheme, "x");
      ASSERT_FALSE(sig.has_value());
      EXPECT_EQ(sig.error(), Error::kUnsupported);
    }
  }
  // PKCS#1 v1.5 and PSS are different schemes on the same key.
  auto pss = Sign(CachedKey(KeyType::kRsa), SignatureScheme::kRsaPssSha256, "x");
  ASSERT_TRUE(pss.has_value());
  EXPECT_FALSE(Verify(CachedKey(KeyType::kRsa), SignatureScheme::kRsaPkcs1Sha256, "x", *pss));
}

TEST(KeyTest, PublicKeyCannotSign) {
  auto pub = CachedKey(KeyType::kEcP256).PublicOnly();
  ASSERT_TRUE(pub.has_value());
  auto sig = Sign(*pub, SignatureScheme::kEcdsaP256Sha256, "x");
  ASSERT_FALSE(sig.has_value());
  EXPECT_EQ(sig.error(), Error::kInvalidKey);
  EXPECT_EQ(pub->PrivatePem().error(), Error::kInvalidKey);
  EXPECT_FALSE(Verify(Key(), SignatureScheme::kEcdsaP256Sha256, "x", std::string(64, 'a')));
}

TEST(KeyTest, PemRoundTrip) {
  for (const auto& c : kSchemes) {
    const Key& key = CachedKey(c.type);
    auto pem = key.PrivatePem();
    ASSERT_TRUE(pem.has_value());
    EXPECT_EQ(pem->rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
    auto back = KeyFromPrivatePem(*pem);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->Type(), c.type);
    auto sig = Sign(*back, c.scheme, "pem");
    ASSERT_TRUE(sig.has_value());
    EXPECT_TRUE(Verify(key, c.scheme, "pem", *sig));
  }
}

TEST(KeyTest, PemRejected) {
  struct Case {
    std::string_view name, pem;
    Error error;
  };
  const Case kCases[] = {
      {"rsa 1024 (RFC 7518 §3.3 requires 2048)", kRsa1024Pem, Error::kInvalidKey},
      {"P-384 is not P-256", kP384Pem, Error::kInvalidKey},
      {"garbage", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", Error::kInvalidKey},
      {"empty", "", Error::kInvalidKey},
  };
  for (const auto& c : kCases) {
    auto key = KeyFromPrivatePem(c.pem);
    ASSERT_FALSE(key.has_value()) << c.name;
    EXPECT_EQ(key.error(), c.error) << c.name;
  }
}

TEST(KeyTest, ComponentsRoundTrip) {
  {
    auto c = CachedKey(KeyType::kRsa).Rsa(true);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->n.size(), 256u);
    EXPECT_EQ(c->e, std::string("\x01\x00\x01", 3));
    EXPECT_FALSE(c->qi.empty());
    auto priv = KeyFromRsa(*c);
    ASSERT_TRUE(priv.has_value());
    EXPECT_TRUE(priv->HasPrivate());
    auto pub = KeyFromRsa(RsaComponents{.n = c->n, .e = c->e});
    ASSERT_TRUE(pub.has_value());
    EXPECT_FALSE(pub->HasPrivate());
    auto sig = Sign(*priv, SignatureScheme::kRsaPkcs1Sha256, "m");
    ASSERT_TRUE(sig.has_value());
    EXPECT_TRUE(Verify(*pub, SignatureScheme::kRsaPkcs1Sha256, "m", *sig));
    EXPECT_TRUE(CachedKey(KeyType::kRsa).Rsa(false)->d.empty());
    EXPECT_EQ(CachedKey(KeyType::kRsa).Ec().error(), Error::kUnsupported);
  }
  {
    auto c = CachedKey(KeyType::kEcP256).Ec(true);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->x.size(), 32u);
    EXPECT_EQ(c->y.size(), 32u);
    EXPECT_EQ(c->d.size(), 32u);
    auto priv = KeyFromEc(*c);
    ASSERT_TRUE(priv.has_value());
    auto sig = Sign(*priv, SignatureScheme::kEcdsaP256Sha256, "m");
    ASSERT_TRUE(sig.has_value());
    auto pub = KeyFromEc(EcComponents{.x = c->x, .y = c->y});
    ASSERT_TRUE(pub.has_value());
    EXPECT_TRUE(Verify(*pub, SignatureScheme::kEcdsaP256Sha256, "m", *sig));
    EXPECT_EQ(CachedKey(KeyType::kEcP256).Okp().error(), Error::kUnsupported);
  }
  {
    auto c = CachedKey(KeyType::kEd25519).Okp(true);
    ASSERT_TRUE(c.has_value());
    auto priv = KeyFromOkp(*c);
    ASSERT_TRUE(priv.has_value());
    auto sig = Sign(*priv, SignatureScheme::kEd25519, "m");
    ASSERT_TRUE(sig.has_value());
    auto pub = KeyFromOkp(OkpComponents{.x = c->x});
    ASSERT_TRUE(pub.has_value());
    EXPECT_TRUE(Verify(*pub, SignatureScheme::kEd25519, "m", *sig));
    EXPECT_EQ(CachedKey(KeyType::kEd25519).Rsa().error(), Error::kUnsupported);
  }
}

TEST(KeyTest, ComponentsRejected) {
  auto rsa = *CachedKey(KeyType::kRsa).Rsa(true);
  auto ec = *CachedKey(KeyType::kEcP256).Ec(true);
  auto okp = *CachedKey(KeyType::kEd25519).Okp(true);
  auto other_ec = *GenerateKey(KeyType::kEcP256)->Ec(true);
  auto other_okp = *GenerateKey(KeyType::kEd25519)->Okp(true);

  // RFC 7518 §3.3: RSA keys under 2048 bits.
  RsaComponents short_n{.n = rsa.n.substr(1), .e = rsa.e};
  EXPECT_EQ(KeyFromRsa(short_n).error(), Error::kInvalidKey);
  EXPECT_EQ(KeyFromRsa(RsaComponents{.n = rsa.n, .e = std::string("\x01", 1)}).error(), Error::kInvalidKey);
  EXPECT_EQ(KeyFromRsa(RsaComponents{.n = rsa.n, .e = std::string("\x01\x00\x00", 3)}).error(),
            Error::kInvalidKey);
  EXPECT_EQ(KeyFromRsa(RsaComponents{}).error(), Error::kInvalidKey);
  // RFC 7518 §6.3.2: CRT parameters all or none.
  RsaComponents partial = rsa;
  partial.qi.clear();
  EXPECT_EQ(KeyFromRsa(partial).error(), Error::kInvalidKey);
  RsaComponents wrong_p = rsa;
  std::swap(wrong_p.dp, wrong_p.dq);
  EXPECT_EQ(KeyFromRsa(wrong_p).error(), Error::kInvalidKey);

  // RFC 7518 §6.2.1: fixed-size coordinates on the curve.
  EXPECT_EQ(KeyFromEc(EcComponents{.x = ec.x.substr(1), .y = ec.y}).error(), Error::kInvalidKey);
  EcComponents off_curve{.x = ec.x, .y = ec.y};
  off_curve.y[31] ^= 1;
  EXPECT_EQ(KeyFromEc(off_curve).error(), Error::kInvalidKey);
  EXPECT_EQ(KeyFromEc(EcComponents{.x = ec.x, .y = ec.y, .d = other_ec.d}).error(), Error::kInvalidKey);
  EXPECT_EQ(KeyFromEc(EcComponents{.x = ec.x, .y = ec.y, .d = ec.d.substr(1)}).error(), Error::kInvalidKey);

  EXPECT_EQ(KeyFromOkp(OkpComponents{.x = okp.x.substr(1)}).error(), Error::kInvalidKey);
  EXPECT_EQ(KeyFromOkp(OkpComponents{.x = okp.x, .d = other_okp.d}).error(), Error::kInvalidKey);
}

// PssWithSalt signs `data` with RSASSA-PSS (SHA-256, MGF1-SHA-256) and the given salt length,
// straight through OpenSSL, to produce signatures our API would never make.
std::string PssWithSalt(const Key& key, int salt_len, std::string_view data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  std::string sig(512, '\0');
  size_t len = sig.size();
  bool ok = EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), nullptr, key.Raw()) == 1 &&
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt_len) == 1 &&
            EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return {};
  sig.resize(len);
  return sig;
}

// RFC 7518 §3.5: PS256 uses a salt as long as the hash (32 bytes), both ways.
TEST(KeyTest, Ps256SaltLengthIs32) {
  const Key& key = CachedKey(KeyType::kRsa);
  const std::string salt32 = PssWithSalt(key, 32, "m");
  const std::string salt64 = PssWithSalt(key, 64, "m");
  const std::string salt0 = PssWithSalt(key, 0, "m");
  ASSERT_FALSE(salt32.empty());
  EXPECT_TRUE(Verify(key, SignatureScheme::kRsaPssSha256, "m", salt32));
  EXPECT_FALSE(Verify(key, SignatureScheme::kRsaPssSha256, "m", salt64));
  EXPECT_FALSE(Verify(key, SignatureScheme::kRsaPssSha256, "m", salt0));

  // Our signature verifies under an OpenSSL verifier pinned to salt length 32.
  auto ours = Sign(key, SignatureScheme::kRsaPssSha256, "m");
  ASSERT_TRUE(ours.has_value());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  const bool ok = EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), nullptr, key.Raw()) == 1 &&
                  EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(ours->data()), ours->size(),
                                   reinterpret_cast<const unsigned char*>("m"), 1) == 1;
  EVP_MD_CTX_free(ctx);
  EXPECT_TRUE(ok);
}

// RFC 7518 §3.4: a DER signature, or R || S of the wrong width, is not a JWS ES256 signature.
TEST(KeyTest, EcdsaRejectsNonRawSignatures) {
  const Key& key = CachedKey(KeyType::kEcP256);
  auto sig = *Sign(key, SignatureScheme::kEcdsaP256Sha256, "m");
  EXPECT_TRUE(Verify(key, SignatureScheme::kEcdsaP256Sha256, "m", sig));
  EXPECT_FALSE(Verify(key, SignatureScheme::kEcdsaP256Sha256, "m", sig + '\0'));
  EXPECT_FALSE(Verify(key, SignatureScheme::kEcdsaP256Sha256, "m", std::string(64, '\0')));
  std::string swapped = sig.substr(32) + sig.substr(0, 32);
  EXPECT_FALSE(Verify(key, SignatureScheme::kEcdsaP256Sha256, "m", swapped));
}

// Keys are shared across request threads; concurrent signing on one EVP_PKEY must work.
TEST(KeyTest, ConcurrentSigningOnSharedKey) {
  const Key& key = CachedKey(KeyType::kEcP256);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto sig = Sign(key, SignatureScheme::kEcdsaP256Sha256, "concurrent");
        if (!sig || !Verify(key, SignatureScheme::kEcdsaP256Sha256, "concurrent", *sig)) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

// Verification reuses an initialised context per key and scheme: PKCS#1 v1.5 and PSS on one RSA
// key stay distinct, a failed check leaves the context usable, and a new key never meets the
// context of an old one (the cache holds a reference, so an address cannot be reused under it).
TEST(KeyTest, CachedVerifyContextsStayApart) {
  const Key& key = CachedKey(KeyType::kRsa);
  const std::string rs256 = *Sign(key, SignatureScheme::kRsaPkcs1Sha256, "m");
  const std::string ps256 = *Sign(key, SignatureScheme::kRsaPssSha256, "m");
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(Verify(key, SignatureScheme::kRsaPkcs1Sha256, "m", rs256));
    EXPECT_FALSE(Verify(key, SignatureScheme::kRsaPssSha256, "m", rs256));
    EXPECT_TRUE(Verify(key, SignatureScheme::kRsaPssSha256, "m", ps256));
    EXPECT_FALSE(Verify(key, SignatureScheme::kRsaPkcs1Sha256, "m", ps256));
    EXPECT_FALSE(Verify(key, SignatureScheme::kRsaPkcs1Sha256, "n", rs256));
  }
  for (int i = 0; i < 12; ++i) {  // more keys than a thread caches
    auto fresh = GenerateKey(KeyType::kEcP256);
    ASSERT_TRUE(fresh.has_value());
    const std::string sig = *Sign(*fresh, SignatureScheme::kEcdsaP256Sha256, "m");
    EXPECT_TRUE(Verify(*fresh, SignatureScheme::kEcdsaP256Sha256, "m", sig));
    EXPECT_FALSE(Verify(CachedKey(KeyType::kEcP256), SignatureScheme::kEcdsaP256Sha256, "m", sig));
  }
}

// ES256 signs from nonces precomputed in batches (ecdsa_presign.hpp). Across several batches every
// signature verifies and every R (the x coordinate of kG) is new: a nonce is never used twice
// (SEC 1 v2 §4.1.3; a repeated k gives the private key away).
TEST(KeyTest, PresignedEs256NoncesAreUsedOnce) {
  auto key = GenerateKey(KeyType::kEcP256);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(internal::PresignedNoncesHeld(key->Raw()), 0U);
  std::set<std::string> rs;
  const size_t count = 3 * internal::kPresignBatch + 1;
  for (size_t i = 0; i < count; ++i) {
    const std::string message = "message " + std::to_string(i);
    auto sig = Sign(*key, SignatureScheme::kEcdsaP256Sha256, message);
    ASSERT_TRUE(sig.has_value());
    ASSERT_EQ(sig->size(), 64U);
    EXPECT_TRUE(Verify(*key->PublicOnly(), SignatureScheme::kEcdsaP256Sha256, message, *sig));
    EXPECT_FALSE(Verify(*key->PublicOnly(), SignatureScheme::kEcdsaP256Sha256, message + "!", *sig));
    rs.insert(sig->substr(0, 32));
    // The supply is refilled only when empty: after i + 1 signatures, batch - 1 - i mod batch remain.
    EXPECT_EQ(internal::PresignedNoncesHeld(key->Raw()),
              internal::kPresignBatch - 1 - (i % internal::kPresignBatch));
  }
  EXPECT_EQ(rs.size(), count);
  // The same message signed twice gets two different signatures (no nonce reuse, no caching).
  EXPECT_NE(*Sign(*key, SignatureScheme::kEcdsaP256Sha256, "same"),
            *Sign(*key, SignatureScheme::kEcdsaP256Sha256, "same"));
}

// A forked child starts without the parent's nonces: after a fork, parent and child both signing
// must never produce the same R.
TEST(KeyTest, ForkedChildNeverReusesPresignedNonces) {
  auto key = GenerateKey(KeyType::kEcP256);
  ASSERT_TRUE(key.has_value());
  ASSERT_TRUE(Sign(*key, SignatureScheme::kEcdsaP256Sha256, "before").has_value());
  ASSERT_EQ(internal::PresignedNoncesHeld(key->Raw()), internal::kPresignBatch - 1);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    int status = internal::PresignedNoncesHeld(key->Raw()) == 0 ? 0 : 2;
    auto sig = Sign(*key, SignatureScheme::kEcdsaP256Sha256, "child");
    if (!sig || !Verify(*key, SignatureScheme::kEcdsaP256Sha256, "child", *sig)) status = 3;
    const std::string r = sig ? sig->substr(0, 32) : std::string(32, '\0');
    if (write(fds[1], r.data(), r.size()) != static_cast<ssize_t>(r.size())) status = 4;
    _exit(status);
  }
  close(fds[1]);
  auto parent_sig = Sign(*key, SignatureScheme::kEcdsaP256Sha256, "parent");
  ASSERT_TRUE(parent_sig.has_value());
  std::string child_r(32, '\0');
  EXPECT_EQ(read(fds[0], child_r.data(), child_r.size()), 32);
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(child_r, parent_sig->substr(0, 32));
}

}  // namespace
}  // namespace latchkey::crypto
