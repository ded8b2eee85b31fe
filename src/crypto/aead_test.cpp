#include "crypto/aead.hpp"

#include <gtest/gtest.h>

#include <string>

#include "crypto/digest.hpp"

namespace latchkey::crypto {
namespace {

const std::string kKey(32, '\x42');

TEST(Aes256GcmTest, RoundTripsWithAad) {
  auto sealed = SealAes256Gcm(kKey, "private key bytes", "kid|ES256");
  ASSERT_TRUE(sealed);
  EXPECT_EQ(sealed->size(), kGcmNonceBytes + 17 + kGcmTagBytes);
  EXPECT_EQ(sealed->find("private key bytes"), std::string::npos);
  auto opened = OpenAes256Gcm(kKey, *sealed, "kid|ES256");
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, "private key bytes");
}

TEST(Aes256GcmTest, EmptyPlaintextAndAad) {
  auto sealed = SealAes256Gcm(kKey, "", "");
  ASSERT_TRUE(sealed);
  auto opened = OpenAes256Gcm(kKey, *sealed, "");
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, "");
}

// SP 800-38D §8.2.2: a fresh random nonce per message, so sealing twice never repeats.
TEST(Aes256GcmTest, NonceIsFreshEachTime) {
  auto a = SealAes256Gcm(kKey, "same", "");
  auto b = SealAes256Gcm(kKey, "same", "");
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->substr(0, kGcmNonceBytes), b->substr(0, kGcmNonceBytes));
  EXPECT_NE(*a, *b);
}

TEST(Aes256GcmTest, EveryChangedByteIsRefused) {
  auto sealed = SealAes256Gcm(kKey, "secret", "aad");
  ASSERT_TRUE(sealed);
  for (std::size_t i = 0; i < sealed->size(); ++i) {
    std::string changed = *sealed;
    changed[i] = static_cast<char>(changed[i] ^ 0x01);
    auto opened = OpenAes256Gcm(kKey, changed, "aad");
    ASSERT_FALSE(opened) << "byte " << i;
    EXPECT_EQ(opened.error(), Error::kBadSignature);
  }
}

TEST(Aes256GcmTest, OtherKeyOrAadIsRefused) {
  auto sealed = SealAes256Gcm(kKey, "secret", "kid-1");
  ASSERT_TRUE(sealed);
  EXPECT_FALSE(OpenAes256Gcm(std::string(32, '\x43'), *sealed, "kid-1"));
  EXPECT_FALSE(OpenAes256Gcm(kKey, *sealed, "kid-2"));
  EXPECT_FALSE(OpenAes256Gcm(kKey, *sealed, ""));
}

TEST(Aes256GcmTest, TruncatedOrEmptyIsRefused) {
  auto sealed = SealAes256Gcm(kKey, "secret", "");
  ASSERT_TRUE(sealed);
  for (std::size_t n :
       {std::size_t{0}, std::size_t{5}, kGcmNonceBytes + kGcmTagBytes - 1, sealed->size() - 1}) {
    auto opened = OpenAes256Gcm(kKey, sealed->substr(0, n), "");
    ASSERT_FALSE(opened) << n;
    EXPECT_EQ(opened.error(), Error::kBadSignature);
  }
}

TEST(Aes256GcmTest, KeyMustBe32Bytes) {
  EXPECT_EQ(SealAes256Gcm(std::string(16, 'k'), "x", "").error(), Error::kInvalidKey);
  EXPECT_EQ(OpenAes256Gcm(std::string(33, 'k'), std::string(40, 'x'), "").error(), Error::kInvalidKey);
}

// NIST GCM test vector (gcmEncryptExtIV256.rsp, Count 0 with 96-bit IV, PTlen 128, AADlen 0): the
// nonce is given, so it is spliced in front of the expected ciphertext and tag and opened.
TEST(Aes256GcmTest, OpensNistVector) {
  auto hex = [](std::string_view h) {
    std::string out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2)
      out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
    return out;
  };
  const std::string key = hex("31bdadd96698c204aa9ce1448ea94ae1fb4a9a0b3c9d773b51bb1822666b8f22");
  const std::string iv = hex("0d18e06c7c725ac9e362e1ce");
  const std::string pt = hex("2db5168e932556f8089a0622981d017d");
  const std::string ct = hex("fa4362189661d163fcd6a56d8bf0405a");
  const std::string tag = hex("d636ac1bbedd5cc3ee727dc2ab4a9489");
  auto opened = OpenAes256Gcm(key, iv + ct + tag, "");
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, pt);
}

}  // namespace
}  // namespace latchkey::crypto
