#include "identity/password.hpp"

#include <argon2.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/base64.hpp"
#include "common/testing/counting_random.hpp"
#include "crypto/digest.hpp"

namespace latchkey::identity {
namespace {

// Cheap parameters so the suite stays fast; only the defaults test pays the OWASP cost.
constexpr PasswordParams kFast{.memory_kib = 8192, .iterations = 1, .parallelism = 1};

// CountingRandom returns a different, predictable byte string on every call.
using common::testing::CountingRandom;

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string MustHash(std::string_view password, const PasswordParams& params = kFast) {
  CountingRandom random;
  auto encoded = HashPassword(password, params, random);
  EXPECT_TRUE(encoded.has_value());
  return encoded.has_value() ? *encoded : std::string();
}

TEST(PasswordTest, RoundTrip) {
  std::string encoded = MustHash("correct horse battery staple");
  EXPECT_TRUE(VerifyPassword("correct horse battery staple", encoded));
  std::string empty = MustHash("");
  EXPECT_TRUE(VerifyPassword("", empty));
}

// The per-thread Argon2 work area is reused across verifications of different sizes and threads;
// each verification must still compute over its own parameters (a stale or short area would
// give wrong tags or crash under ASan).
TEST(PasswordTest, VerificationsOfMixedSizesOnManyThreads) {
  const PasswordParams small{8, 1, 1}, large{256, 2, 1}, wide{64, 1, 4};
  const std::string a = MustHash("alpha", small), b = MustHash("bravo", large), c = MustHash("charlie", wide);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        if (!VerifyPassword("bravo", b) || !VerifyPassword("alpha", a) || !VerifyPassword("charlie", c))
          ++failures;
        if (VerifyPassword("alpha", b) || VerifyPassword("bravo", a) || VerifyPassword("alpha", c))
          ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(PasswordTest, IdleWorkAreasAreFreed) {
  const std::string a = MustHash("alpha", PasswordParams{8, 1, 1});
  TrimPasswordWorkAreas(std::chrono::seconds(0));
  ASSERT_TRUE(VerifyPassword("alpha", a));
  EXPECT_EQ(TrimPasswordWorkAreas(std::chrono::seconds(3600)), 0u) << "just used: kept";
  EXPECT_EQ(TrimPasswordWorkAreas(std::chrono::seconds(0)), 1u) << "idle: freed";
  EXPECT_EQ(TrimPasswordWorkAreas(std::chrono::seconds(0)), 0u);
  EXPECT_TRUE(VerifyPassword("alpha", a)) << "a new area is allocated after a trim";
}

TEST(PasswordTest, WrongPasswordIsRejected) {
  std::string encoded = MustHash("correct horse battery staple");
  for (std::string_view wrong : {"", "correct horse battery stapl", "correct horse battery staple ",
                                 "Correct horse battery staple", "correct horse battery stapld"}) {
    EXPECT_FALSE(VerifyPassword(wrong, encoded)) << wrong;
  }
}

TEST(PasswordTest, FreshSaltPerHash) {
  CountingRandom random;
  auto first = HashPassword("same password", kFast, random);
  auto second = HashPassword("same password", kFast, random);
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(second.has_value());
  EXPECT_NE(*first, *second);
  EXPECT_TRUE(VerifyPassword("same password", *first));
  EXPECT_TRUE(VerifyPassword("same password", *second));

  crypto::SystemRandom system_random;
  auto third = HashPassword("same password", kFast, system_random);
  auto fourth = HashPassword("same password", kFast, system_random);
  ASSERT_TRUE(third.has_value());
  ASSERT_TRUE(fourth.has_value());
  EXPECT_NE(*third, *fourth);
}

// The encoded form is "$argon2id$v=19$m=..,t=..,p=..$<22 chars salt>$<43 chars tag>" and carries
// the requested parameters and the salt drawn from the injected Random.
TEST(PasswordTest, EncodedFormatCarriesParametersAndSalt) {
  static const std::regex kPhc(
      R"(^\$argon2id\$v=19\$m=([0-9]+),t=([0-9]+),p=([0-9]+)\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})$)");
  struct Case {
    PasswordParams params;
    std::string m, t, p;
  };
  for (const Case& c :
       {Case{PasswordParams{}, "19456", "2", "1"}, Case{kFast, "8192", "1", "1"},
        Case{PasswordParams{.memory_kib = 8192, .iterations = 2, .parallelism = 2}, "8192", "2", "2"}}) {
    CountingRandom random;
    auto encoded = HashPassword("pw", c.params, random);
    ASSERT_TRUE(encoded.has_value());
    std::smatch match;
    ASSERT_TRUE(std::regex_match(*encoded, match, kPhc)) << *encoded;
    EXPECT_EQ(match[1], c.m);
    EXPECT_EQ(match[2], c.t);
    EXPECT_EQ(match[3], c.p);
    std::string expected_salt = common::Base64Encode(CountingRandom().Bytes(16));
    EXPECT_EQ(match[4], expected_salt.substr(0, 22));  // unpadded
    auto tag = common::Base64Decode(std::string(match[5]) + "=");
    ASSERT_TRUE(tag.has_value());
    EXPECT_EQ(tag->size(), 32u);
    EXPECT_TRUE(VerifyPassword("pw", *encoded));
  }
}

// Our strings verify with the reference library and the reference library's verify with ours.
TEST(PasswordTest, InteroperatesWithReferenceEncoder) {
  std::string ours = MustHash("interop");
  EXPECT_EQ(argon2id_verify(ours.c_str(), "interop", 7), ARGON2_OK);
  EXPECT_NE(argon2id_verify(ours.c_str(), "interoq", 7), ARGON2_OK);

  std::string salt(16, 'S');
  char theirs[128];
  ASSERT_EQ(
      argon2id_hash_encoded(1, 8192, 1, "interop", 7, salt.data(), salt.size(), 32, theirs, sizeof theirs),
      ARGON2_OK);
  EXPECT_TRUE(VerifyPassword("interop", theirs));
  EXPECT_FALSE(VerifyPassword("interoq", theirs));
}

TEST(PasswordTest, NeedsRehashWhenStoredParamsAreWeaker) {
  std::string weak = MustHash("pw", kFast);
  EXPECT_TRUE(NeedsRehash(weak, PasswordParams{}));
  EXPECT_TRUE(NeedsRehash(weak, PasswordParams{.memory_kib = 8193, .iterations = 1, .parallelism = 1}));
  EXPECT_TRUE(NeedsRehash(weak, PasswordParams{.memory_kib = 8192, .iterations = 2, .parallelism = 1}));
  EXPECT_TRUE(NeedsRehash(weak, PasswordParams{.memory_kib = 8192, .iterations = 1, .parallelism = 2}));
  EXPECT_FALSE(NeedsRehash(weak, kFast));
  EXPECT_FALSE(NeedsRehash(weak, PasswordParams{.memory_kib = 4096, .iterations = 1, .parallelism = 1}));

  std::string standard = MustHash("pw", PasswordParams{});
  EXPECT_FALSE(NeedsRehash(standard, PasswordParams{}));
  EXPECT_FALSE(NeedsRehash(standard, kFast));

  // A short salt or tag (accepted by VerifyPassword for compatibility) still asks for a rehash.
  char short_tag[128];
  std::string salt(16, 'S');
  ASSERT_EQ(
      argon2id_hash_encoded(1, 8192, 1, "pw", 2, salt.data(), salt.size(), 16, short_tag, sizeof short_tag),
      ARGON2_OK);
  EXPECT_TRUE(VerifyPassword("pw", short_tag));
  EXPECT_TRUE(NeedsRehash(short_tag, kFast));
  char short_salt[128];
  ASSERT_EQ(argon2id_hash_encoded(1, 8192, 1, "pw", 2, salt.data(), 8, 32, short_salt, sizeof short_salt),
            ARGON2_OK);
  EXPECT_TRUE(VerifyPassword("pw", short_salt));
  EXPECT_TRUE(NeedsRehash(short_salt, kFast));
}

// Every rejected string: VerifyPassword false (even with the right password) and NeedsRehash true.
TEST(PasswordTest, RejectsMalformedAndForeignStrings) {
  const std::string good = MustHash("pw");
  ASSERT_TRUE(VerifyPassword("pw", good));
  const size_t tag_start = good.rfind('$') + 1;
  const size_t salt_start = good.rfind('$', tag_start - 2) + 1;

  std::string salt(16, 'S');
  char argon2i[128];
  char argon2d[128];
  ASSERT_EQ(argon2i_hash_encoded(1, 8192, 1, "pw", 2, salt.data(), salt.size(), 32, argon2i, sizeof argon2i),
            ARGON2_OK);
  ASSERT_EQ(argon2d_hash_encoded(1, 8192, 1, "pw", 2, salt.data(), salt.size(), 32, argon2d, sizeof argon2d),
            ARGON2_OK);
  ASSERT_EQ(argon2i_verify(argon2i, "pw", 2), ARGON2_OK);  // the string itself is a valid argon2i hash

  auto replace = [&](std::string_view from, std::string_view to) {
    std::string s = good;
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return at == std::string::npos ? s : s.replace(at, from.size(), to);
  };
  std::string flipped_tag = good;
  flipped_tag[tag_start] = flipped_tag[tag_start] == 'A' ? 'B' : 'A';
  std::string flipped_salt = good;
  flipped_salt[salt_start] = flipped_salt[salt_start] == 'A' ? 'B' : 'A';

  const std::vector<std::string> rejected = {
      "",
      "pw",
      "$argon2id$",
      argon2i,
      argon2d,
      replace("$argon2id$", "$argon2i$"),
      replace("$argon2id$", "$argon2d$"),
      replace("$argon2id$", "$ARGON2ID$"),
      replace("$v=19$", "$v=16$"),
      replace("$v=19$", "$"),
      replace("m=8192", "m=08192"),
      replace("m=8192", "m=4294967296"),
      replace("m=8192", "m=7"),
      replace("m=8192", "m=4194305"),  // above the 4 GiB cap on stored parameters
      replace("t=1", "t=257"),
      replace("p=1", "p=65"),
      replace("m=8192", "m=-8192"),
      replace("t=1", "t=0"),
      replace("p=1", "p=0"),
      replace(",t=1,p=1", ",p=1,t=1"),
      replace("m=8192,", "m=8192,keyid=abc,"),
      good + "=",
      good + "$",
      good + "$extra",
      good.substr(0, salt_start) + good.substr(tag_start),  // no salt
      good.substr(0, tag_start) + "=" + good.substr(tag_start),
      good.substr(0, tag_start - 1),                                  // no tag
      good.substr(0, salt_start) + "AAAA$" + good.substr(tag_start),  // 3-byte salt, below Argon2's minimum
      " " + good,
  };
  for (const std::string& s : rejected) {
    EXPECT_FALSE(VerifyPassword("pw", s)) << s;
    EXPECT_TRUE(NeedsRehash(s, kFast)) << s;
  }
  // Well-formed but altered: the password no longer matches, yet the parameters are fine.
  for (const std::string& s : {flipped_tag, flipped_salt}) {
    EXPECT_FALSE(VerifyPassword("pw", s)) << s;
    EXPECT_FALSE(NeedsRehash(s, kFast)) << s;
  }
  // Every truncation of a good string.
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(VerifyPassword("pw", good.substr(0, n))) << good.substr(0, n);
  }
  // The last tag character of a 32-byte tag carries 2 padding bits; setting them is non-canonical.
  std::string noncanonical = good;
  char& last = noncanonical.back();
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  last = kAlphabet[kAlphabet.find(last) | 1];
  if (noncanonical != good) {
    EXPECT_FALSE(VerifyPassword("pw", noncanonical)) << noncanonical;
  }
}

TEST(PasswordTest, TooLongPasswordIsRefused) {
  CountingRandom random;
  auto too_long = HashPassword(std::string(kMaxPasswordBytes + 1, 'a'), kFast, random);
  ASSERT_FALSE(too_long.has_value());
  EXPECT_EQ(too_long.error(), PasswordError::kTooLong);

  auto at_limit = HashPassword(std::string(kMaxPasswordBytes, 'a'), kFast, random);
  ASSERT_TRUE(at_limit.has_value());
  EXPECT_TRUE(VerifyPassword(std::string(kMaxPasswordBytes, 'a'), *at_limit));
  EXPECT_FALSE(VerifyPassword(std::string(kMaxPasswordBytes + 1, 'a'), *at_limit));
}

TEST(PasswordTest, UnsupportedParamsAreInternalErrors) {
  CountingRandom random;
  for (const PasswordParams& params : {PasswordParams{.memory_kib = 0, .iterations = 1, .parallelism = 1},
                                       PasswordParams{.memory_kib = 8192, .iterations = 0, .parallelism = 1},
                                       PasswordParams{.memory_kib = 8192, .iterations = 1, .parallelism = 0},
                                       PasswordParams{.memory_kib = 15, .iterations = 1, .parallelism = 2}}) {
    auto encoded = HashPassword("pw", params, random);
    ASSERT_FALSE(encoded.has_value());
    EXPECT_EQ(encoded.error(), PasswordError::kInternal);
  }
}

// RFC 9106 §5.3: Argon2id test vector, run through the library the module links.
TEST(PasswordTest, Argon2idRfc9106Vector) {
  std::string password(32, '\x01');
  std::string salt(16, '\x02');
  std::string secret(8, '\x03');
  std::string ad(12, '\x04');
  std::string tag(32, '\0');
  argon2_context ctx{};
  ctx.out = reinterpret_cast<uint8_t*>(tag.data());
  ctx.outlen = static_cast<uint32_t>(tag.size());
  ctx.pwd = reinterpret_cast<uint8_t*>(password.data());
  ctx.pwdlen = static_cast<uint32_t>(password.size());
  ctx.salt = reinterpret_cast<uint8_t*>(salt.data());
  ctx.saltlen = static_cast<uint32_t>(salt.size());
  ctx.secret = reinterpret_cast<uint8_t*>(secret.data());
  ctx.secretlen = static_cast<uint32_t>(secret.size());
  ctx.ad = reinterpret_cast<uint8_t*>(ad.data());
  ctx.adlen = static_cast<uint32_t>(ad.size());
  ctx.t_cost = 3;
  ctx.m_cost = 32;
  ctx.lanes = 4;
  ctx.threads = 4;
  ctx.version = ARGON2_VERSION_13;
  ctx.flags = ARGON2_DEFAULT_FLAGS;
  ASSERT_EQ(argon2_ctx(&ctx, Argon2_id), ARGON2_OK);
  EXPECT_EQ(Hex(tag), "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659");
}

}  // namespace
}  // namespace latchkey::identity
