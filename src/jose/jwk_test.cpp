#include <gtest/gtest.h>

#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/base64.hpp"
#include "crypto/digest.hpp"
#include "jose/jose.hpp"
#include "jose/test_vectors.hpp"

namespace latchkey::jose {
namespace {

using testing::LoadVector;
using testing::Str;

// RFC 7638 §3.1: the RSA example thumbprint.
TEST(JwkTest, Rfc7638Section31Thumbprint) {
  auto doc = LoadVector("rfc_vectors.json");
  auto jwk = ParseJwk(doc.at("rfc7638_3_1_jwk"));
  ASSERT_TRUE(jwk.has_value());
  EXPECT_EQ(jwk->kid, "2011-04-29");
  EXPECT_EQ(jwk->alg, Alg::kRS256);
  auto tp = Thumbprint(jwk->key);
  ASSERT_TRUE(tp.has_value());
  EXPECT_EQ(*tp, Str(doc.at("rfc7638_3_1_thumbprint")));
  EXPECT_EQ(*tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

// RFC 8037 Appendix A.3: Ed25519 thumbprint, identical for the private (A.1) and public (A.2) key.
TEST(JwkTest, Rfc8037AppendixA3Thumbprint) {
  auto doc = LoadVector("rfc_vectors.json");
  const std::string expected = Str(doc.at("rfc8037_a3_thumbprint"));
  EXPECT_EQ(common::Base64UrlEncode(crypto::Sha256(Str(doc.at("rfc8037_a3_thumbprint_input")))), expected);
  for (const char* name : {"rfc8037_a1_private_jwk", "rfc8037_a2_public_jwk"}) {
    auto jwk = ParseJwk(doc.at(name));
    ASSERT_TRUE(jwk.has_value()) << name;
    auto tp = Thumbprint(jwk->key);
    ASSERT_TRUE(tp.has_value());
    EXPECT_EQ(*tp, expected) << name;
  }
}

// EC thumbprint members are {crv,kty,x,y} (RFC 7638 §3.2); checked against a hand-built input.
TEST(JwkTest, EcThumbprintUsesRequiredMembersInOrder) {
  auto doc = LoadVector("rfc_vectors.json");
  const auto& a3 = doc.at("rfc7515_a3_es256").as_object().at("jwk").as_object();
  auto jwk = ParseJwk(a3);
  ASSERT_TRUE(jwk.has_value());
  const std::string input =
      R"({"crv":"P-256","kty":"EC","x":")" + Str(a3.at("x")) + R"(","y":")" + Str(a3.at("y")) + R"("})";
  EXPECT_EQ(*Thumbprint(jwk->key), common::Base64UrlEncode(crypto::Sha256(input)));
  EXPECT_EQ(Thumbprint(crypto::Key()).error(), Errc::kInvalidKey);
}

TEST(JwkTest, ParseJwkAccepted) {
  auto doc = LoadVector("rfc_vectors.json");
  struct Case {
    std::string name;
    boost::json::value jwk;
    crypto::KeyType type;
    bool has_private;
  };
  boost::json::object with_extras = doc.at("rfc7515_a3_es256").at("jwk").as_object();
  with_extras["kid"] = "k1";
  with_extras["use"] = "sig";
  with_extras["alg"] = "ES256";
  with_extras["x5t"] = "ignored";  // RFC 7517 §4: unknown members are ignored
  const Case kCases[] = {
      {"RSA private (RFC 7515 A.2)", doc.at("rfc7515_a2_rs256").at("jwk"), crypto::KeyType::kRsa, true},
      {"RSA public (RFC 7638 §3.1)", doc.at("rfc7638_3_1_jwk"), crypto::KeyType::kRsa, false},
      {"EC private (RFC 7515 A.3)", doc.at("rfc7515_a3_es256").at("jwk"), crypto::KeyType::kEcP256, true},
      {"EC with kid/use/alg/extras", with_extras, crypto::KeyType::kEcP256, true},
      {"OKP private (RFC 8037 A.1)", doc.at("rfc8037_a1_private_jwk"), crypto::KeyType::kEd25519, true},
      {"OKP public (RFC 8037 A.2)", doc.at("rfc8037_a2_public_jwk"), crypto::KeyType::kEd25519, false},
  };
  for (const auto& c : kCases) {
    auto jwk = ParseJwk(c.jwk);
    ASSERT_TRUE(jwk.has_value()) << c.name << ": " << ErrcName(jwk.error());
    EXPECT_EQ(jwk->key.Type(), c.type) << c.name;
    EXPECT_EQ(jwk->key.HasPrivate(), c.has_private) << c.name;
    // The text overload agrees with the value overload.
    auto from_text = ParseJwk(std::string_view(boost::json::serialize(c.jwk)));
    ASSERT_TRUE(from_text.has_value()) << c.name;
    EXPECT_EQ(*Thumbprint(from_text->key), *Thumbprint(jwk->key)) << c.name;
  }
  auto extras = ParseJwk(with_extras);
  EXPECT_EQ(extras->kid, "k1");
  EXPECT_EQ(extras->use, "sig");
  EXPECT_EQ(extras->alg, Alg::kES256);
}

TEST(JwkTest, ParseJwkRejected) {
  auto doc = LoadVector("rfc_vectors.json");
  const auto ec = doc.at("rfc7515_a3_es256").at("jwk").as_object();
  const auto rsa = doc.at("rfc7515_a2_rs256").at("jwk").as_object();
  auto with = [](boost::json::object o, const char* name, boost::json::value v) {
    o[name] = std::move(v);
    return boost::json::serialize(o);
  };
  auto without = [](boost::json::object o, const char* name) {
    o.erase(name);
    return boost::json::serialize(o);
  };
  struct Case {
    std::string name, text;
    Errc error;
  };
  const Case kCases[] = {
      {"not JSON", "{", Errc::kInvalidKey},
      {"array", "[]", Errc::kInvalidKey},
      {"no kty", without(ec, "kty"), Errc::kInvalidKey},
      {"oct symmetric key (RFC 8725 §2.1 confusion)", R"({"kty":"oct","k":"GawgguFyGrWKav7AX4VKUg"})",
       Errc::kInvalidKey},
      {"unknown kty", with(ec, "kty", "XYZ"), Errc::kInvalidKey},
      {"P-521 (RFC 7515 A.4)", boost::json::serialize(doc.at("rfc7515_a4_es512").at("jwk")),
       Errc::kInvalidKey},
      {"X25519 is not a signature key (RFC 8037 §3.2)",
       R"({"kty":"OKP","crv":"X25519","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"})",
       Errc::kInvalidKey},
      {"EC missing y", without(ec, "y"), Errc::kInvalidKey},
      {"EC x not base64url", with(ec, "x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU="),
       Errc::kInvalidKey},
      {"EC x not a string", with(ec, "x", 5), Errc::kInvalidKey},
      {"EC point off the curve", with(ec, "y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a1"),
       Errc::kInvalidKey},
      {"EC d does not match x,y", with(ec, "d", "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"),
       Errc::kInvalidKey},
      {"RSA alg on EC key", with(ec, "alg", "RS256"), Errc::kInvalidKey},
      {"unknown alg", with(ec, "alg", "ES512"), Errc::kInvalidKey},
      {"kid not a string", with(ec, "kid", 1), Errc::kInvalidKey},
      {"duplicate member", R"({"kty":"EC","kty":"RSA"})", Errc::kInvalidKey},
      {"RSA partial CRT (RFC 7518 §6.3.2)", without(rsa, "qi"), Errc::kInvalidKey},
      {"RSA multi-prime oth", with(rsa, "oth", boost::json::array{}), Errc::kInvalidKey},
      {"RSA 1024-bit modulus (RFC 7518 §3.3)",
       with(boost::json::object{{"kty", "RSA"}, {"e", "AQAB"}}, "n",
            boost::json::string(common::Base64UrlEncode(std::string(128, '\xc5')))),
       Errc::kInvalidKey},
  };
  for (const auto& c : kCases) {
    auto r = ParseJwk(std::string_view(c.text));
    ASSERT_FALSE(r.has_value()) << c.name;
    EXPECT_EQ(r.error(), c.error) << c.name << ": got " << ErrcName(r.error());
  }
}

TEST(JwkTest, PublicJwkNeverLeaksPrivateMembers) {
  auto doc = LoadVector("rfc_vectors.json");
  for (const char* path : {"rfc8037_a1_private_jwk"}) {
    auto jwk = ParseJwk(doc.at(path));
    ASSERT_TRUE(jwk.has_value());
    auto pub = PublicJwk(*jwk);
    EXPECT_FALSE(pub.contains("d"));
    EXPECT_EQ(boost::json::serialize(pub), boost::json::serialize(doc.at("rfc8037_a2_public_jwk")));
  }
  auto rsa = ParseJwk(doc.at("rfc7515_a2_rs256").at("jwk"));
  ASSERT_TRUE(rsa.has_value());
  rsa->kid = "r1";
  rsa->alg = Alg::kPS256;
  rsa->use = "sig";
  auto pub = PublicJwk(*rsa);
  for (const char* secret : {"d", "p", "q", "dp", "dq", "qi"}) EXPECT_FALSE(pub.contains(secret)) << secret;
  EXPECT_EQ(pub.at("n"), doc.at("rfc7515_a2_rs256").at("jwk").at("n"));
  EXPECT_EQ(pub.at("kid"), "r1");
  EXPECT_EQ(pub.at("alg"), "PS256");
  EXPECT_EQ(pub.at("use"), "sig");
  // The rendered public JWK parses back to a public key with the same thumbprint.
  auto back = ParseJwk(boost::json::value(pub));
  ASSERT_TRUE(back.has_value());
  EXPECT_FALSE(back->key.HasPrivate());
  EXPECT_EQ(*Thumbprint(back->key), *Thumbprint(rsa->key));
}

// RFC 7517 §5: a set skips keys it does not understand, but a broken supported key fails it all.
TEST(JwkTest, ParseJwksSkipsUnknownTypes) {
  auto doc = LoadVector("rfc_vectors.json");
  boost::json::object ec = doc.at("rfc7515_a3_es256").at("jwk").as_object();
  ec["kid"] = "ec";
  boost::json::object ed = doc.at("rfc8037_a2_public_jwk").as_object();
  ed["kid"] = "ed";
  boost::json::array keys = {ec, ed, doc.at("rfc7515_a4_es512").at("jwk"),
                             boost::json::parse(R"({"kty":"oct","k":"AAAA","kid":"hmac"})"),
                             boost::json::parse(R"({"kty":"RSA","alg":"RS512","n":"AQAB","e":"AQAB"})")};
  auto set = ParseJwks(boost::json::serialize(boost::json::object{{"keys", keys}}));
  ASSERT_TRUE(set.has_value()) << ErrcName(set.error());
  ASSERT_EQ(set->keys.size(), 2u);
  EXPECT_NE(set->Find("ec"), nullptr);
  EXPECT_NE(set->Find("ed"), nullptr);
  EXPECT_EQ(set->Find("hmac"), nullptr);

  // Serialize -> parse round trip keeps only public halves.
  const std::string text = SerializeJwks(*set);
  EXPECT_EQ(text.find("\"d\""), std::string::npos);
  auto again = ParseJwks(text);
  ASSERT_TRUE(again.has_value());
  ASSERT_EQ(again->keys.size(), 2u);
  EXPECT_FALSE(again->keys[0].key.HasPrivate());
  EXPECT_EQ(*Thumbprint(again->keys[0].key), *Thumbprint(set->keys[0].key));

  struct Case {
    std::string name, text;
    Errc error;
  };
  const Case kRejected[] = {
      {"not an object", "[]", Errc::kMalformed},
      {"no keys", "{}", Errc::kMalformed},
      {"keys not an array", R"({"keys":{}})", Errc::kMalformed},
      {"duplicate keys member", R"({"keys":[],"keys":[]})", Errc::kMalformed},
      {"key not an object", R"({"keys":[1]})", Errc::kInvalidKey},
      {"broken EC key", R"({"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]})", Errc::kInvalidKey},
  };
  for (const auto& c : kRejected) {
    auto r = ParseJwks(c.text);
    ASSERT_FALSE(r.has_value()) << c.name;
    EXPECT_EQ(r.error(), c.error) << c.name << ": got " << ErrcName(r.error());
  }
}

}  // namespace
}  // namespace latchkey::jose
