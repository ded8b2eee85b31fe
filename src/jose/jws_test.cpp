#include <gtest/gtest.h>

#include <array>
#include <string>

#include <boost/json/serialize.hpp>

#include "common/base64.hpp"
#include "jose/jose.hpp"
#include "jose/test_vectors.hpp"

namespace latchkey::jose {
namespace {

using testing::LoadVector;
using testing::Str;

constexpr std::array<Alg, 4> kAllAlgs = {Alg::kRS256, Alg::kPS256, Alg::kES256, Alg::kEdDSA};

Jwks SetOf(const Jwk& jwk) {
  Jwks set;
  set.keys.push_back(jwk);
  return set;
}

Jwk MustParseJwk(const boost::json::value& v) {
  auto jwk = ParseJwk(v);
  EXPECT_TRUE(jwk.has_value()) << boost::json::serialize(v);
  return jwk.has_value() ? *jwk : Jwk{};
}

std::string B64(std::string_view s) { return common::Base64UrlEncode(s); }

// RFC 7515 Appendix A.2: RS256 is deterministic, so signing the A.2 payload with the A.2 key and
// the header {"alg":"RS256"} must reproduce the A.2 JWS byte for byte.
TEST(JwsVectorTest, Rfc7515AppendixA2Rs256SignsExactly) {
  auto v = LoadVector("rfc_vectors.json").at("rfc7515_a2_rs256").as_object();
  const std::string expected = Str(v.at("jws"));
  Jwk jwk = MustParseJwk(v.at("jwk"));
  ASSERT_TRUE(jwk.key.HasPrivate());

  auto parsed = ParseJws(expected);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->payload,
            "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}");

  auto jws = SignJws(SigningKey{.kid = "", .alg = Alg::kRS256, .key = jwk.key}, "", parsed->payload);
  ASSERT_TRUE(jws.has_value());
  EXPECT_EQ(*jws, expected);

  auto pub = jwk.key.PublicOnly();
  ASSERT_TRUE(pub.has_value());
  auto verified = VerifyJws(expected, SetOf(Jwk{.key = *pub}), kAllAlgs);
  ASSERT_TRUE(verified.has_value()) << ErrcName(verified.error());
  EXPECT_EQ(verified->payload, parsed->payload);
}

// RFC 7515 Appendix A.3: ES256 verifies; ECDSA is randomized, so signing is checked by round trip.
TEST(JwsVectorTest, Rfc7515AppendixA3Es256) {
  auto v = LoadVector("rfc_vectors.json").at("rfc7515_a3_es256").as_object();
  Jwk jwk = MustParseJwk(v.at("jwk"));
  auto verified = VerifyJws(Str(v.at("jws")), SetOf(jwk), kAllAlgs);
  ASSERT_TRUE(verified.has_value()) << ErrcName(verified.error());

  auto jws = SignJws(SigningKey{.kid = "a3", .alg = Alg::kES256, .key = jwk.key}, "JWT", verified->payload);
  ASSERT_TRUE(jws.has_value());
  jwk.kid = "a3";
  auto again = VerifyJws(*jws, SetOf(jwk), kAllAlgs);
  ASSERT_TRUE(again.has_value()) << ErrcName(again.error());
  EXPECT_EQ(again->payload, verified->payload);
  EXPECT_EQ(Str(again->header.at("typ")), "JWT");
}

// RFC 7515 Appendix A.4: ES512 is outside our algorithm set (and its P-521 key is skipped).
TEST(JwsVectorTest, Rfc7515AppendixA4Es512Unsupported) {
  auto v = LoadVector("rfc_vectors.json").at("rfc7515_a4_es512").as_object();
  auto key = ParseJwk(v.at("jwk"));
  ASSERT_FALSE(key.has_value());
  EXPECT_EQ(key.error(), Errc::kInvalidKey);
  Jwk any = MustParseJwk(LoadVector("rfc_vectors.json").at("rfc7515_a3_es256").at("jwk"));
  auto r = VerifyJws(Str(v.at("jws")), SetOf(any), kAllAlgs);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), Errc::kUnsupportedAlg);
}

// RFC 8037 Appendix A.4 and A.5: Ed25519 is deterministic, so the exact JWS is reproduced.
TEST(JwsVectorTest, Rfc8037AppendixA4A5Ed25519) {
  auto doc = LoadVector("rfc_vectors.json");
  Jwk priv = MustParseJwk(doc.at("rfc8037_a1_private_jwk"));
  Jwk pub = MustParseJwk(doc.at("rfc8037_a2_public_jwk"));
  const std::string expected = Str(doc.at("rfc8037_a4_jws"));
  auto jws = SignJws(SigningKey{.kid = "", .alg = Alg::kEdDSA, .key = priv.key}, "",
                     Str(doc.at("rfc8037_a4_payload")));
  ASSERT_TRUE(jws.has_value());
  EXPECT_EQ(*jws, expected);
  auto verified = VerifyJws(expected, SetOf(pub), kAllAlgs);
  ASSERT_TRUE(verified.has_value()) << ErrcName(verified.error());
  EXPECT_EQ(verified->payload, "Example of Ed25519 signing");
}

// RFC 7520 §4.1: RS256 with the cookbook's RSA key (public half, §3.3) and a "kid".
TEST(JwsVectorTest, Rfc7520Section41Rs256Verifies) {
  auto doc = LoadVector("rfc7520_cookbook.json");
  auto jwks = ParseJwks("{\"keys\":[" + boost::json::serialize(doc.at("rfc7520_3_3_rsa_public_jwk")) + "]}");
  ASSERT_TRUE(jwks.has_value());
  const std::string jws = Str(doc.at("rfc7520_4_1_rs256_jws"));
  auto verified = VerifyJws(jws, *jwks, kAllAlgs);
  ASSERT_TRUE(verified.has_value()) << ErrcName(verified.error());
  EXPECT_EQ(verified->payload, Str(doc.at("rfc7520_4_payload")));
  EXPECT_EQ(Str(verified->header.at("kid")), "bilbo.baggins@hobbiton.example");
  // Same signature, but PS256 is not what was signed.
  std::array<Alg, 1> ps256 = {Alg::kPS256};
  EXPECT_EQ(VerifyJws(jws, *jwks, ps256).error(), Errc::kAlgNotAllowed);
}

struct Keys {
  SigningKey rsa, ec, ed;
  Jwks public_set;
};

const Keys& TestKeys() {
  static const Keys kKeys = [] {
    Keys k;
    k.rsa =
        SigningKey{.kid = "rsa-1", .alg = Alg::kRS256, .key = *crypto::GenerateKey(crypto::KeyType::kRsa)};
    k.ec =
        SigningKey{.kid = "ec-1", .alg = Alg::kES256, .key = *crypto::GenerateKey(crypto::KeyType::kEcP256)};
    k.ed =
        SigningKey{.kid = "ed-1", .alg = Alg::kEdDSA, .key = *crypto::GenerateKey(crypto::KeyType::kEd25519)};
    for (const SigningKey* s : {&k.rsa, &k.ec, &k.ed}) {
      k.public_set.keys.push_back(
          Jwk{.kid = s->kid, .alg = std::nullopt, .use = "sig", .key = *s->key.PublicOnly()});
    }
    return k;
  }();
  return kKeys;
}

// RFC 7515 §5.1: header member order alg, kid, typ; the payload is carried as raw bytes.
TEST(JwsTest, SignJwsHeaderLayoutAndRoundTrip) {
  const Keys& k = TestKeys();
  const std::string payload("\x00\xff{\"a\":1}", 9);
  for (Alg alg : kAllAlgs) {
    SigningKey key = alg == Alg::kES256 ? k.ec : alg == Alg::kEdDSA ? k.ed : k.rsa;
    key.alg = alg;
    auto jws = SignJws(key, "at+jwt", payload);
    ASSERT_TRUE(jws.has_value()) << AlgName(alg);
    const std::string header = *common::Base64UrlDecode(jws->substr(0, jws->find('.')));
    EXPECT_EQ(header, "{\"alg\":\"" + std::string(AlgName(alg)) + "\",\"kid\":\"" + key.kid +
                          "\",\"typ\":\"at+jwt\"}");
    auto verified = VerifyJws(*jws, k.public_set, kAllAlgs);
    ASSERT_TRUE(verified.has_value()) << AlgName(alg) << " " << ErrcName(verified.error());
    EXPECT_EQ(verified->payload, payload);
  }
}

TEST(JwsTest, SignJwsEscapesHeaderStrings) {
  SigningKey key = TestKeys().ec;
  key.kid = "a\"b\\c\n";
  auto jws = SignJws(key, "", "{}");
  ASSERT_TRUE(jws.has_value());
  auto parsed = ParseJws(*jws);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(Str(parsed->header.at("kid")), "a\"b\\c\n");
  EXPECT_FALSE(parsed->header.contains("typ"));
}

TEST(JwsTest, SignJwsRejectsUnusableKeys) {
  const Keys& k = TestKeys();
  SigningKey wrong_type = k.ec;
  wrong_type.alg = Alg::kRS256;
  EXPECT_EQ(SignJws(wrong_type, "", "x").error(), Errc::kInvalidKey);
  SigningKey public_only = k.ec;
  public_only.key = *k.ec.key.PublicOnly();
  EXPECT_EQ(SignJws(public_only, "", "x").error(), Errc::kInvalidKey);
  EXPECT_EQ(SignJws(SigningKey{}, "", "x").error(), Errc::kInvalidKey);
}

// ParseJws accepted inputs (RFC 7515 §7.1).
TEST(JwsTest, ParseJwsAccepted) {
  const std::string sig = B64("sig");
  struct Case {
    std::string name, header, payload;
  };
  const Case kCases[] = {
      {"minimal", R"({"alg":"ES256"})", "{}"},
      {"empty payload", R"({"alg":"ES256"})", ""},
      {"unknown alg still parses (VerifyJws rejects it)", R"({"alg":"HS256"})", "x"},
      {"b64 true is the default", R"({"alg":"ES256","b64":true})", "x"},
      {"nested objects may reuse names", R"({"alg":"ES256","jwk":{"alg":"x"},"x5c":[{"alg":1}]})", "x"},
      {"whitespace", " {\"alg\" : \"ES256\"} ", "x"},
  };
  for (const auto& c : kCases) {
    auto r = ParseJws(B64(c.header) + "." + B64(c.payload) + "." + sig);
    ASSERT_TRUE(r.has_value()) << c.name << ": " << ErrcName(r.error());
    EXPECT_EQ(r->payload, c.payload) << c.name;
    EXPECT_EQ(r->signature, "sig") << c.name;
    EXPECT_EQ(r->signing_input, B64(c.header) + "." + B64(c.payload)) << c.name;
  }
}

// ParseJws rejected inputs, each with its reason.
TEST(JwsTest, ParseJwsRejected) {
  const std::string h = B64(R"({"alg":"ES256"})");
  const std::string p = B64("{}");
  const std::string s = B64("sig");
  struct Case {
    std::string name, compact;
    Errc error;
  };
  const Case kCases[] = {
      {"two parts (RFC 7515 §7.1)", h + "." + p, Errc::kMalformed},
      {"four parts", h + "." + p + "." + s + "." + s, Errc::kMalformed},
      {"JWE-like five parts", h + "...." + s, Errc::kMalformed},
      {"empty", "", Errc::kMalformed},
      {"empty header", "." + p + "." + s, Errc::kMalformed},
      {"padding '=' (RFC 7515 §2)", h + "." + p + "=." + s, Errc::kMalformed},
      {"padded signature", h + "." + p + "." + B64("si") + "=", Errc::kMalformed},
      {"standard base64 alphabet", h + "." + p + "." + "a+b/", Errc::kMalformed},
      {"header not JSON", B64("alg") + "." + p + "." + s, Errc::kMalformed},
      {"header is an array (RFC 7515 §5.2 step 3)", B64(R"(["alg"])") + "." + p + "." + s, Errc::kMalformed},
      {"duplicate alg (RFC 7515 §5.2 step 4)", B64(R"({"alg":"ES256","alg":"none"})") + "." + p + "." + s,
       Errc::kMalformed},
      {"duplicate kid", B64(R"({"alg":"ES256","kid":"a","kid":"b"})") + "." + p + "." + s, Errc::kMalformed},
      {"duplicate in nested object", B64(R"({"alg":"ES256","jwk":{"k":1,"k":2}})") + "." + p + "." + s,
       Errc::kMalformed},
      {"escaped duplicate name", B64(R"({"alg":"ES256","\u0061lg":"none"})") + "." + p + "." + s,
       Errc::kMalformed},
      {"missing alg (RFC 7515 §4.1.1)", B64(R"({"kid":"a"})") + "." + p + "." + s, Errc::kMalformed},
      {"alg not a string", B64(R"({"alg":256})") + "." + p + "." + s, Errc::kMalformed},
      {"kid not a string", B64(R"({"alg":"ES256","kid":7})") + "." + p + "." + s, Errc::kMalformed},
      {"trailing comma", B64(R"({"alg":"ES256",})") + "." + p + "." + s, Errc::kMalformed},
      {"comment", B64(R"({"alg":"ES256"/**/})") + "." + p + "." + s, Errc::kMalformed},
      {"trailing garbage", B64(R"({"alg":"ES256"}x)") + "." + p + "." + s, Errc::kMalformed},
      {"invalid UTF-8", B64("{\"alg\":\"ES256\",\"x\":\"\xff\"}") + "." + p + "." + s, Errc::kMalformed},
      {"b64 false (RFC 7797)", B64(R"({"alg":"ES256","b64":false})") + "." + p + "." + s, Errc::kMalformed},
      {"crit (RFC 7515 §4.1.11)", B64(R"({"alg":"ES256","crit":["exp"],"exp":1})") + "." + p + "." + s,
       Errc::kCritUnsupported},
      {"empty crit", B64(R"({"alg":"ES256","crit":[]})") + "." + p + "." + s, Errc::kCritUnsupported},
  };
  for (const auto& c : kCases) {
    auto r = ParseJws(c.compact);
    ASSERT_FALSE(r.has_value()) << c.name;
    EXPECT_EQ(r.error(), c.error) << c.name << ": got " << ErrcName(r.error());
  }
}

// VerifyJws rejections: algorithm confusion, key selection and signature failures (RFC 8725 §3.1).
TEST(JwsTest, VerifyJwsRejected) {
  const Keys& k = TestKeys();
  const std::string good_es = *SignJws(k.ec, "", "{}");
  const std::string good_rs = *SignJws(k.rsa, "", "{}");
  const std::string signing_input = good_es.substr(0, good_es.rfind('.'));
  std::string tampered = good_es;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';

  SigningKey unknown_kid = k.ec;
  unknown_kid.kid = "nope";
  SigningKey no_kid = k.ec;
  no_kid.kid = "";
  const auto other_ec =
      SigningKey{.kid = "", .alg = Alg::kES256, .key = *crypto::GenerateKey(crypto::KeyType::kEcP256)};
  // An attacker relabels an EC-signed token as RS256 under the EC key's kid.
  const std::string relabeled = B64(R"({"alg":"RS256","kid":"ec-1"})") + good_es.substr(good_es.find('.'));
  const std::string none = B64(R"({"alg":"none"})") + "." + B64("{}") + ".";
  const std::string hs256 = B64(R"({"alg":"HS256","kid":"rsa-1"})") + "." + B64("{}") + "." + B64("mac");

  std::array<Alg, 1> only_es = {Alg::kES256};
  Jwks pinned = k.public_set;
  pinned.keys[1].alg = Alg::kES256;  // ec-1 pinned to ES256 ...
  Jwks enc_only = k.public_set;
  enc_only.keys[1].use = "enc";

  struct Case {
    std::string name, compact;
    const Jwks* keys;
    std::span<const Alg> allowed;
    Errc error;
  };
  const Case kCases[] = {
      {"alg none", none, &k.public_set, kAllAlgs, Errc::kUnsupportedAlg},
      {"HS256 with an RSA public key as secret", hs256, &k.public_set, kAllAlgs, Errc::kUnsupportedAlg},
      {"alg not allowed by caller", good_rs, &k.public_set, only_es, Errc::kAlgNotAllowed},
      {"relabeled alg does not fit the key", relabeled, &k.public_set, kAllAlgs, Errc::kKeyNotFound},
      {"unknown kid", *SignJws(unknown_kid, "", "{}"), &k.public_set, kAllAlgs, Errc::kKeyNotFound},
      {"use=enc key not used for signatures", good_es, &enc_only, kAllAlgs, Errc::kKeyNotFound},
      {"empty key set", good_es, nullptr, kAllAlgs, Errc::kKeyNotFound},
      {"tampered signature", tampered, &k.public_set, kAllAlgs, Errc::kBadSignature},
      {"tampered payload",
       signing_input.substr(0, signing_input.find('.') + 1) + B64("{\"x\":1}") +
           good_es.substr(good_es.rfind('.')),
       &k.public_set, kAllAlgs, Errc::kBadSignature},
      {"signed by another key, no kid", *SignJws(other_ec, "", "{}"), &k.public_set, kAllAlgs,
       Errc::kBadSignature},
      {"DER-encoded ES256 signature length", signing_input + "." + B64(std::string(70, 'x')), &k.public_set,
       kAllAlgs, Errc::kBadSignature},
      {"no kid and no key fits", *SignJws(no_kid, "", "{}"), &enc_only, only_es, Errc::kKeyNotFound},
  };
  const Jwks empty;
  for (const auto& c : kCases) {
    auto r = VerifyJws(c.compact, c.keys ? *c.keys : empty, c.allowed);
    ASSERT_FALSE(r.has_value()) << c.name;
    EXPECT_EQ(r.error(), c.error) << c.name << ": got " << ErrcName(r.error());
  }
  // Sanity: the untampered tokens pass with the same inputs.
  EXPECT_TRUE(VerifyJws(good_es, k.public_set, only_es).has_value());
  EXPECT_TRUE(VerifyJws(good_es, pinned, only_es).has_value());
  EXPECT_TRUE(VerifyJws(*SignJws(no_kid, "", "{}"), k.public_set, kAllAlgs).has_value());
}

TEST(JwsTest, AlgNamesRoundTrip) {
  for (Alg alg : kAllAlgs) {
    EXPECT_EQ(ParseAlg(AlgName(alg)), alg);
  }
  for (std::string_view bad : {"none", "None", "HS256", "rs256", "ES512", "RS256 ", ""}) {
    EXPECT_FALSE(ParseAlg(bad).has_value()) << bad;
  }
  EXPECT_EQ(ErrcName(Errc::kBadSignature), "bad_signature");
  EXPECT_EQ(ErrcName(Errc::kCritUnsupported), "crit_unsupported");
}

}  // namespace
}  // namespace latchkey::jose
