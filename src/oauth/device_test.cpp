#include "oauth/device.hpp"

#include <cctype>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "common/base64.hpp"
#include "common/testing/counting_random.hpp"

namespace latchkey::oauth {
namespace {

// SeededRandom: reproducible, well-spread bytes (a fixed-seed Mersenne Twister).
class SeededRandom final : public common::Random {
 public:
  explicit SeededRandom(uint32_t seed) : engine_(seed) {}
  std::string Bytes(size_t n) override {
    std::string out(n, '\0');
    for (char& c : out) c = static_cast<char>(engine_() & 0xFF);
    return out;
  }

 private:
  std::mt19937 engine_;
};

// CyclingRandom returns the byte values 0, 1, ..., 255, 0, 1, ... in order.
class CyclingRandom final : public common::Random {
 public:
  std::string Bytes(size_t n) override {
    std::string out(n, '\0');
    for (char& c : out) c = static_cast<char>(next_++ & 0xFF);
    return out;
  }

 private:
  unsigned next_ = 0;
};

// ScriptedRandom returns the given bytes in order and records how many each call asked for.
class ScriptedRandom final : public common::Random {
 public:
  explicit ScriptedRandom(std::vector<unsigned char> bytes) : bytes_(bytes.begin(), bytes.end()) {}
  std::string Bytes(size_t n) override {
    requests.push_back(n);
    std::string out;
    for (size_t i = 0; i < n; ++i) {
      if (bytes_.empty()) {
        ADD_FAILURE() << "script exhausted";
        return out + std::string(n - i, '\0');
      }
      out.push_back(static_cast<char>(bytes_.front()));
      bytes_.pop_front();
    }
    return out;
  }
  std::vector<size_t> requests;

 private:
  std::deque<unsigned char> bytes_;
};

// ConstantRandom returns `byte` forever: a broken RNG.
class ConstantRandom final : public common::Random {
 public:
  explicit ConstantRandom(char byte) : byte_(byte) {}
  std::string Bytes(size_t n) override { return std::string(n, byte_); }

 private:
  char byte_;
};

bool InAlphabet(char c) { return kUserCodeAlphabet.find(c) != std::string_view::npos; }

// ---- user codes (RFC 8628 §6.1) ----

TEST(UserCodeAlphabet, Rfc8628Section6_1Base20Consonants) {
  EXPECT_EQ(kUserCodeAlphabet, "BCDFGHJKLMNPQRSTVWXZ");
  EXPECT_EQ(kUserCodeAlphabet.size(), 20u);
  EXPECT_EQ(std::set<char>(kUserCodeAlphabet.begin(), kUserCodeAlphabet.end()).size(), 20u);
  for (char vowel : std::string_view("AEIOUY")) EXPECT_FALSE(InAlphabet(vowel)) << vowel;
}

TEST(NewUserCode, Rfc8628Section6_1EightCharactersOfTheAlphabet) {
  SeededRandom random(8628);
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    const std::string code = NewUserCode(random);
    ASSERT_EQ(code.size(), kUserCodeLength) << code;
    for (char c : code) ASSERT_TRUE(InAlphabet(c)) << code;
    seen.insert(code);
  }
  EXPECT_EQ(seen.size(), 2000u);  // 20^8 codes: a repeat among 2000 means the randomness is ignored
}

TEST(NewUserCode, Rfc8628Section5_1EveryCharacterEquallyLikely) {
  // Fed every byte value in turn, an unbiased generator emits each character from exactly 12 of
  // the 240 accepted values; "byte % 20" without rejection would give the first 16 characters 13.
  CyclingRandom random;
  std::map<char, int> counts;
  for (int i = 0; i < 240; ++i) {
    for (char c : NewUserCode(random)) ++counts[c];
  }
  ASSERT_EQ(counts.size(), 20u);  // every character appears, and nothing outside the alphabet
  for (const auto& [c, n] : counts) {
    EXPECT_TRUE(InAlphabet(c)) << c;
    EXPECT_EQ(n, 96) << c;  // 240 codes * 8 characters / 20
  }
}

TEST(NewUserCode, Rfc8628Section5_1RejectsBytesThatWouldBiasTheCode) {
  // 240 and 255 are rejected; 20 and 239 wrap like 0 and 19; the two missing characters are drawn
  // in a second call for exactly two bytes.
  ScriptedRandom random({0, 19, 20, 239, 240, 255, 100, 1, 2, 3});
  EXPECT_EQ(NewUserCode(random), "BZBZBCDF");
  EXPECT_EQ(random.requests, (std::vector<size_t>{8, 2}));
}

TEST(NewUserCode, FreshRandomnessGivesAFreshCode) {
  common::testing::CountingRandom random;
  EXPECT_NE(NewUserCode(random), NewUserCode(random));
}

TEST(NewUserCodeDeathTest, StuckRandomAbortsInsteadOfSpinning) {
  ConstantRandom stuck('\xFF');  // every byte rejected
  EXPECT_DEATH(NewUserCode(stuck), "");
}

TEST(FormatUserCode, Rfc8628Section6_1DashForReadability) {
  EXPECT_EQ(FormatUserCode("WDJBMJHT"), "WDJB-MJHT");
  EXPECT_EQ(FormatUserCode("BCDFGHJK"), "BCDF-GHJK");
  EXPECT_EQ(FormatUserCode(""), "");                    // not a code: unchanged
  EXPECT_EQ(FormatUserCode("WDJB-MJHT"), "WDJB-MJHT");  // already formatted: unchanged
}

TEST(NormalizeUserCode, Rfc8628Section6_1AcceptedTable) {
  const std::string kSpaces56(56, ' ');
  struct Case {
    std::string typed;
    const char* want;
  };
  const Case kCases[] = {
      {"WDJB-MJHT", "WDJBMJHT"},                   // as shown
      {"WDJBMJHT", "WDJBMJHT"},                    // dash left out
      {"wdjb-mjht", "WDJBMJHT"},                   // lower case
      {"wDjB-MjHt", "WDJBMJHT"},                   // mixed case
      {"WDJB MJHT", "WDJBMJHT"},                   // space instead of the dash
      {" wdjb - mjht ", "WDJBMJHT"},               // spaces around
      {"WDJB--MJHT", "WDJBMJHT"},                  // doubled dash
      {"W-D-J-B-M-J-H-T", "WDJBMJHT"},             // dashes anywhere
      {"\tWDJB\r\nMJHT\v\f", "WDJBMJHT"},          // any ASCII whitespace (a pasted line break)
      {"BCDF-GHJK", "BCDFGHJK"},                   // first half of the alphabet
      {"lmnp-qrst", "LMNPQRST"},                   //
      {"vwxz-zzzz", "VWXZZZZZ"},                   // last characters
      {kSpaces56 + "WDJBMJHT", "WDJBMJHT"},        // exactly kMaxUserCodeInput bytes
      {"-------- WDJBMJHT --------", "WDJBMJHT"},  //
  };
  for (const auto& c : kCases) {
    auto got = NormalizeUserCode(c.typed);
    ASSERT_TRUE(got.has_value()) << "\"" << c.typed << "\"";
    EXPECT_EQ(*got, c.want) << "\"" << c.typed << "\"";
  }
  EXPECT_EQ((kSpaces56 + "WDJBMJHT").size(), kMaxUserCodeInput);
}

TEST(NormalizeUserCode, Rfc8628Section6_1RejectedTable) {
  const std::string kSpaces57(57, ' ');
  const std::string kRejected[] = {
      "",
      "--------",
      "        ",
      "WDJB-MJH",                    // 7 characters: too short
      "WDJB-MJHTB",                  // 9 characters: too long
      "WDJB-MJHT-WDJB-MJHT",         // two codes
      "WDJA-MJHT",                   // vowel: not in the alphabet (never silently dropped)
      "WDJB-MJHE",                   //
      "WDJB-MJHY",                   // Y is left out too
      "wdjb-mjhu",                   // lower-case vowel
      "WDJB-MJH0",                   // digit
      "WDJB-MJH1",                   //
      "WDJB_MJHT",                   // other punctuation
      "WDJB.MJHT",                   //
      "WDJB/MJHT",                   //
      "WDJB+MJHT",                   // '+' is not a space here: the form parser decodes it first
      "WDJB%20MJHT",                 // nor is an undecoded escape
      std::string("WDJB\0MJHT", 9),  // NUL
      std::string("WDJBMJHT\0", 9),  //
      "WDJB\xE2\x80\x93MJHT",        // U+2013 EN DASH
      "WDJB\xC2\xA0MJHT",            // U+00A0 NO-BREAK SPACE
      "\xEF\xBC\xB7"
      "DJBMJHT",           // U+FF37 FULLWIDTH W
      "WDJB-MJH\xC5\xA4",  // U+0164 LATIN CAPITAL T WITH CARON
      "WDJBMJH\xFF",       // invalid UTF-8
      "\xD1\x81"
      "DJBMJHT",                // U+0441 CYRILLIC SMALL ES (looks like "c")
      kSpaces57 + "WDJBMJHT",   // 65 bytes: longer than kMaxUserCodeInput
      std::string(10000, 'B'),  // overlong
      std::string(1000, '-') + "WDJBMJHT",
  };
  for (const auto& typed : kRejected) {
    EXPECT_FALSE(NormalizeUserCode(typed).has_value()) << "\"" << typed << "\"";
  }
}

TEST(NormalizeUserCode, EveryByteValueInEveryPosition) {
  // Exactly the 20 letters, in either case, plus dash and ASCII whitespace (which drop out and
  // leave 7 characters) are read as anything; every other byte rejects the code.
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const char upper = (b >= 'a' && b <= 'z') ? static_cast<char>(b - 'a' + 'A') : c;
    for (size_t pos = 0; pos < kUserCodeLength; ++pos) {
      std::string typed = "BCDFGHJK";
      typed[pos] = c;
      auto got = NormalizeUserCode(typed);
      if (InAlphabet(upper)) {
        std::string want = "BCDFGHJK";
        want[pos] = upper;
        ASSERT_TRUE(got.has_value()) << b << " at " << pos;
        EXPECT_EQ(*got, want) << b << " at " << pos;
      } else {
        EXPECT_FALSE(got.has_value()) << b << " at " << pos;
      }
    }
  }
}

TEST(NormalizeUserCode, InvertsFormatUserCode) {
  SeededRandom random(6);
  for (int i = 0; i < 200; ++i) {
    const std::string code = NewUserCode(random);
    const std::string shown = FormatUserCode(code);
    EXPECT_EQ(NormalizeUserCode(shown), code);
    std::string lower = shown;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(NormalizeUserCode(lower), code);
  }
}

// ---- device codes (RFC 8628 §5.2) ----

TEST(NewDeviceCode, Rfc8628Section5_2Has256BitsBase64Url) {
  common::testing::CountingRandom random;
  common::testing::CountingRandom same;
  const std::string code = NewDeviceCode(random);
  EXPECT_EQ(code.size(), 43u);
  EXPECT_EQ(code.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos)
      << code;
  auto bytes = common::Base64UrlDecode(code);
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(*bytes, same.Bytes(32));  // the random bytes themselves, all 32 of them
  EXPECT_NE(NewDeviceCode(random), code);
}

// ---- the device authorization response (RFC 8628 §3.2, §3.3.1) ----

TEST(VerificationUriComplete, Rfc8628Section3_3_1AddsTheUserCode) {
  struct Case {
    const char* uri;
    const char* user_code;
    const char* want;
  };
  const Case kCases[] = {
      // The §3.2 example.
      {"https://example.com/device", "WDJB-MJHT", "https://example.com/device?user_code=WDJB-MJHT"},
      {"https://id.example/device?lang=en", "WDJB-MJHT",
       "https://id.example/device?lang=en&user_code=WDJB-MJHT"},
      {"https://id.example/device?", "WDJB-MJHT", "https://id.example/device?user_code=WDJB-MJHT"},
      {"https://id.example/device?a=1&", "WDJB-MJHT", "https://id.example/device?a=1&user_code=WDJB-MJHT"},
      {"https://id.example/device#top", "WDJB-MJHT", "https://id.example/device?user_code=WDJB-MJHT#top"},
      {"https://id.example/d?x=1#f?g", "WDJB-MJHT", "https://id.example/d?x=1&user_code=WDJB-MJHT#f?g"},
      // Encoded, so a value can never add a parameter or a fragment.
      {"https://id.example/device", "A B&c=d#e", "https://id.example/device?user_code=A+B%26c%3Dd%23e"},
  };
  for (const auto& c : kCases) EXPECT_EQ(VerificationUriComplete(c.uri, c.user_code), c.want) << c.uri;
}

TEST(DeviceAuthorizationResponseJson, Rfc8628Section3_2Example) {
  DeviceAuthorizationResponse r;
  r.device_code = "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS";
  r.user_code = "WDJB-MJHT";
  r.verification_uri = "https://example.com/device";
  r.verification_uri_complete = "https://example.com/device?user_code=WDJB-MJHT";
  r.expires_in = 1800;
  r.interval = 5;
  const boost::json::value got = boost::json::parse(DeviceAuthorizationResponseJson(r));
  const boost::json::value want = boost::json::parse(R"({
    "device_code": "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
    "user_code": "WDJB-MJHT",
    "verification_uri": "https://example.com/device",
    "verification_uri_complete": "https://example.com/device?user_code=WDJB-MJHT",
    "expires_in": 1800,
    "interval": 5
  })");
  EXPECT_EQ(got, want) << got;
  EXPECT_TRUE(got.at("expires_in").is_int64());  // numbers, not strings
  EXPECT_TRUE(got.at("interval").is_int64());
}

TEST(DeviceAuthorizationResponseJson, Rfc8628Section3_2OptionalCompleteUriOmittedWhenEmpty) {
  DeviceAuthorizationResponse r;
  r.device_code = "dc";
  r.user_code = "BCDF-GHJK";
  r.verification_uri = "https://id.example/device";
  r.expires_in = 600;
  const boost::json::value got = boost::json::parse(DeviceAuthorizationResponseJson(r));
  const boost::json::value want = boost::json::parse(R"({
    "device_code": "dc", "user_code": "BCDF-GHJK", "verification_uri": "https://id.example/device",
    "expires_in": 600, "interval": 5
  })");
  EXPECT_EQ(got, want) << got;
}

TEST(DeviceAuthorizationResponseJson, EscapesStrings) {
  DeviceAuthorizationResponse r;
  r.device_code = "a\"b\\c";
  r.verification_uri = "https://id.example/\"}";
  const boost::json::value got = boost::json::parse(DeviceAuthorizationResponseJson(r));
  EXPECT_EQ(got.at("device_code").as_string(), "a\"b\\c");
  EXPECT_EQ(got.at("verification_uri").as_string(), "https://id.example/\"}");
}

// ---- error codes (RFC 8628 §3.5) ----

TEST(ErrorCodeName, Rfc8628Section3_5Codes) {
  const std::pair<ErrorCode, const char*> kNames[] = {
      {ErrorCode::kAuthorizationPending, "authorization_pending"},
      {ErrorCode::kSlowDown, "slow_down"},
      {ErrorCode::kAccessDenied, "access_denied"},
      {ErrorCode::kExpiredToken, "expired_token"},
  };
  for (const auto& [code, name] : kNames) EXPECT_EQ(ErrorCodeName(code), name);
  const boost::json::value body = boost::json::parse(ErrorJson(MakeError(ErrorCode::kSlowDown, "")));
  EXPECT_EQ(body, boost::json::parse(R"({"error": "slow_down"})"));
}

// ---- the poll decision (RFC 8628 §3.5) ----

constexpr int64_t kNow = 1'000'000;

// Pending, for client "tv", created 100 s ago, expiring in 500 s, never polled.
store::DeviceCodeRecord Record() {
  store::DeviceCodeRecord r;
  r.device_code_hash = std::string(32, 'd');
  r.user_code_hash = std::string(32, 'u');
  r.client_id = "tv";
  r.scope = "openid offline_access";
  r.device_info = "SmartTV/1.0 from 192.0.2.7";
  r.created_at = kNow - 100;
  r.expires_at = kNow + 500;
  r.interval = 5;
  r.last_polled_at = 0;
  r.status = "pending";
  return r;
}

store::DeviceCodeRecord Approved() {
  store::DeviceCodeRecord r = Record();
  r.status = "approved";
  r.user_id = "u-alice";
  r.session_id_hash = std::string(32, 's');
  r.auth_time = kNow - 50;
  r.amr = "pwd";
  return r;
}

template <class F>
store::DeviceCodeRecord With(store::DeviceCodeRecord r, F change) {
  change(r);
  return r;
}

TEST(DecideDevicePoll, Rfc8628Section3_5EveryOutcome) {
  struct Case {
    const char* name;
    store::DeviceCodeRecord before;
    const char* client_id;
    std::optional<ErrorCode> want;  // nullopt: issue tokens
  };
  using R = store::DeviceCodeRecord&;
  const Case kCases[] = {
      {"pending, first poll", Record(), "tv", ErrorCode::kAuthorizationPending},
      {"pending, polled exactly interval ago", With(Record(), [](R r) { r.last_polled_at = kNow - 5; }), "tv",
       ErrorCode::kAuthorizationPending},
      {"pending, polled long ago", With(Record(), [](R r) { r.last_polled_at = kNow - 60; }), "tv",
       ErrorCode::kAuthorizationPending},
      {"approved", Approved(), "tv", std::nullopt},
      {"approved, polled exactly interval ago", With(Approved(), [](R r) { r.last_polled_at = kNow - 5; }),
       "tv", std::nullopt},
      {"denied", With(Record(), [](R r) { r.status = "denied"; }), "tv", ErrorCode::kAccessDenied},
      {"consumed: single use", With(Approved(), [](R r) { r.status = "consumed"; }), "tv",
       ErrorCode::kInvalidGrant},
      {"another client", Record(), "other", ErrorCode::kInvalidGrant},
      {"client ids compare exactly", Approved(), "TV", ErrorCode::kInvalidGrant},
      {"no client id", Approved(), "", ErrorCode::kInvalidGrant},
      {"expired: expires_at == now", With(Record(), [](R r) { r.expires_at = kNow; }), "tv",
       ErrorCode::kExpiredToken},
      {"expired long ago", With(Record(), [](R r) { r.expires_at = kNow - 1000; }), "tv",
       ErrorCode::kExpiredToken},
      {"last second of validity", With(Approved(), [](R r) { r.expires_at = kNow + 1; }), "tv", std::nullopt},
      {"too soon: 4 s after a poll at interval 5", With(Record(), [](R r) { r.last_polled_at = kNow - 4; }),
       "tv", ErrorCode::kSlowDown},
      {"too soon: same second", With(Record(), [](R r) { r.last_polled_at = kNow; }), "tv",
       ErrorCode::kSlowDown},
      {"too soon: interval raised by earlier slow_down",
       With(Record(),
            [](R r) {
              r.interval = 15;
              r.last_polled_at = kNow - 10;
            }),
       "tv", ErrorCode::kSlowDown},
      {"raised interval respected",
       With(Record(),
            [](R r) {
              r.interval = 15;
              r.last_polled_at = kNow - 15;
            }),
       "tv", ErrorCode::kAuthorizationPending},
      {"clock went back: last poll in the future", With(Record(), [](R r) { r.last_polled_at = kNow + 30; }),
       "tv", ErrorCode::kSlowDown},
      {"approved without an approver", With(Approved(), [](R r) { r.user_id.clear(); }), "tv",
       ErrorCode::kServerError},
      {"unknown status", With(Record(), [](R r) { r.status = "revoked"; }), "tv", ErrorCode::kServerError},
      {"status compares exactly", With(Approved(), [](R r) { r.status = "Approved"; }), "tv",
       ErrorCode::kServerError},
      {"empty status", With(Approved(), [](R r) { r.status.clear(); }), "tv", ErrorCode::kServerError},
  };
  for (const auto& c : kCases) {
    auto got = DecideDevicePoll(c.before, c.client_id, kNow);
    if (!c.want) {
      EXPECT_TRUE(got.has_value()) << c.name << ": " << (got ? "" : ErrorCodeName(got.error().code));
      continue;
    }
    ASSERT_FALSE(got.has_value()) << c.name;
    EXPECT_EQ(got.error().code, *c.want)
        << c.name << ": got " << ErrorCodeName(got.error().code) << ", want " << ErrorCodeName(*c.want);
    EXPECT_FALSE(got.error().description.empty()) << c.name;
  }
}

// The documented order: another client, then expiry, then polling too soon, then the status.
TEST(DecideDevicePoll, Rfc8628Section3_5Precedence) {
  struct Case {
    const char* name;
    store::DeviceCodeRecord before;
    const char* client_id;
    ErrorCode want;
  };
  using R = store::DeviceCodeRecord&;
  auto expired = [](R r) { r.expires_at = kNow - 1; };
  auto too_soon = [](R r) { r.last_polled_at = kNow - 1; };
  auto expired_too_soon = [](R r) {
    r.expires_at = kNow - 1;
    r.last_polled_at = kNow - 1;
  };
  const Case kCases[] = {
      {"another client beats expiry and slow_down", With(Approved(), expired_too_soon), "other",
       ErrorCode::kInvalidGrant},
      {"another client beats approval", Approved(), "other", ErrorCode::kInvalidGrant},
      {"another client beats denial", With(Record(), [](R r) { r.status = "denied"; }), "other",
       ErrorCode::kInvalidGrant},
      {"expiry beats slow_down", With(Record(), expired_too_soon), "tv", ErrorCode::kExpiredToken},
      {"expiry beats approval", With(Approved(), expired), "tv", ErrorCode::kExpiredToken},
      {"expiry beats denial", With(With(Record(), expired), [](R r) { r.status = "denied"; }), "tv",
       ErrorCode::kExpiredToken},
      {"expiry beats consumed", With(With(Approved(), expired), [](R r) { r.status = "consumed"; }), "tv",
       ErrorCode::kExpiredToken},
      // The store did not consume an approved code on a poll that came too soon.
      {"slow_down beats approval", With(Approved(), too_soon), "tv", ErrorCode::kSlowDown},
      {"slow_down beats denial", With(With(Record(), too_soon), [](R r) { r.status = "denied"; }), "tv",
       ErrorCode::kSlowDown},
      {"slow_down beats consumed", With(With(Approved(), too_soon), [](R r) { r.status = "consumed"; }), "tv",
       ErrorCode::kSlowDown},
  };
  for (const auto& c : kCases) {
    auto got = DecideDevicePoll(c.before, c.client_id, kNow);
    ASSERT_FALSE(got.has_value()) << c.name;
    EXPECT_EQ(got.error().code, c.want)
        << c.name << ": got " << ErrorCodeName(got.error().code) << ", want " << ErrorCodeName(c.want);
  }
}

// StorePoll applies PollDeviceCode's documented side effects (store/store.hpp) to `r`.
void StorePoll(store::DeviceCodeRecord& r, int64_t now) {
  if (r.last_polled_at != 0 && now - r.last_polled_at < r.interval) {
    r.interval += 5;
  } else if (r.expires_at > now && r.status == "approved") {
    r.status = "consumed";
  }
  r.last_polled_at = now;
}

// Over every combination of state, expiry and poll timing: tokens are issued exactly when the
// store consumed the code, so no poll issues without consuming and none consumes without issuing.
TEST(DecideDevicePoll, IssuesExactlyWhenTheStoreConsumes) {
  int issued = 0;
  for (const char* status : {"pending", "approved", "denied", "consumed"}) {
    for (int64_t expires : {kNow - 1, kNow, kNow + 1, kNow + 600}) {
      for (int64_t interval : {5, 10}) {
        for (int64_t last : {int64_t{0}, kNow - 20, kNow - 10, kNow - 9, kNow - 5, kNow - 4, kNow}) {
          store::DeviceCodeRecord before = Approved();
          before.status = status;
          before.expires_at = expires;
          before.interval = interval;
          before.last_polled_at = last;
          store::DeviceCodeRecord after = before;
          StorePoll(after, kNow);
          const bool consumed = before.status == "approved" && after.status == "consumed";
          const bool issues = DecideDevicePoll(before, "tv", kNow).has_value();
          EXPECT_EQ(issues, consumed)
              << status << " expires " << expires - kNow << " interval " << interval << " last " << last;
          issued += issues;
        }
      }
    }
  }
  EXPECT_GT(issued, 0);
}

// One device's life: polls at the RFC's pace, one too fast, approval, tokens once, then refusal.
TEST(DecideDevicePoll, Rfc8628Section3_5PollingTimeline) {
  store::DeviceCodeRecord r = Record();
  auto poll = [&](int64_t at) {
    store::DeviceCodeRecord before = r;
    StorePoll(r, at);
    auto got = DecideDevicePoll(before, "tv", at);
    return got ? std::string("tokens") : std::string(ErrorCodeName(got.error().code));
  };
  EXPECT_EQ(poll(kNow), "authorization_pending");
  EXPECT_EQ(poll(kNow + 5), "authorization_pending");
  EXPECT_EQ(poll(kNow + 7), "slow_down");  // 2 s: too soon; the interval is now 10
  EXPECT_EQ(r.interval, 10);
  EXPECT_EQ(poll(kNow + 12), "slow_down");  // 5 s was the old pace: too soon again, now 15
  EXPECT_EQ(poll(kNow + 27), "authorization_pending");
  r.status = "approved";  // the user approves (DecideDeviceCode)
  r.user_id = "u-alice";
  EXPECT_EQ(poll(kNow + 30), "slow_down");  // approved, but too soon: not consumed
  EXPECT_EQ(r.status, "approved");
  EXPECT_EQ(poll(kNow + 50), "tokens");
  EXPECT_EQ(r.status, "consumed");
  EXPECT_EQ(poll(kNow + 80), "invalid_grant");  // single use
  EXPECT_EQ(poll(kNow + 600), "expired_token");
}

}  // namespace
}  // namespace latchkey::oauth
