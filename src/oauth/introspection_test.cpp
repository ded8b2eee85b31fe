#include "oauth/introspection.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "common/base64.hpp"
#include "common/testing/counting_random.hpp"
#include "crypto/digest.hpp"

namespace latchkey::oauth {
namespace {

TokenHttpRequest Post(std::string_view body, std::optional<std::string_view> authorization = std::nullopt) {
  TokenHttpRequest r;
  r.method = "POST";
  r.content_type = "application/x-www-form-urlencoded";
  r.body = body;
  r.authorization = authorization;
  r.authorization_count = authorization ? 1 : 0;
  return r;
}

boost::json::object Json(const std::string& text) { return boost::json::parse(text).as_object(); }

TEST(ParseTokenLookupRequest, Rfc7662Section2_1ClientCredentialsAndHint) {
  auto got =
      ParseTokenLookupRequest(Post("token=abc&token_type_hint=refresh_token", "Basic YzpzZWNyZXQ="), false);
  ASSERT_TRUE(got.has_value()) << got.error().description;
  EXPECT_EQ(got->token, "abc");
  EXPECT_EQ(got->hint, TokenKind::kRefreshToken);
  ASSERT_TRUE(got->credentials.has_value());
  EXPECT_EQ(got->credentials->client_id, "c");
  EXPECT_EQ(got->credentials->client_secret, "secret");
  EXPECT_TRUE(got->bearer.empty());
}

// RFC 7009 §2.1 and RFC 7662 §2.1: an unknown hint is ignored, the search covers every type.
TEST(ParseTokenLookupRequest, Rfc7009Section2_1UnknownHintIgnored) {
  auto got =
      ParseTokenLookupRequest(Post("token=abc&token_type_hint=id_token&client_id=c&client_secret=s"), false);
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->hint.has_value());
  auto access = ParseTokenLookupRequest(Post("token=abc&token_type_hint=access_token&client_id=p"), false);
  ASSERT_TRUE(access.has_value());
  EXPECT_EQ(access->hint, TokenKind::kAccessToken);
}

// RFC 7662 §2.1: the caller may present "a separate OAuth 2.0 access token" instead.
TEST(ParseTokenLookupRequest, Rfc7662Section2_1BearerCaller) {
  auto got = ParseTokenLookupRequest(Post("token=abc", "bEaReR xyz.abc"), true);
  ASSERT_TRUE(got.has_value()) << got.error().description;
  EXPECT_EQ(got->bearer, "xyz.abc");
  EXPECT_FALSE(got->credentials.has_value());
  // Revocation takes client authentication only (RFC 7009 §2.1): a bearer header is not Basic.
  auto revoke = ParseTokenLookupRequest(Post("token=abc", "Bearer xyz"), false);
  ASSERT_FALSE(revoke.has_value());
  EXPECT_EQ(revoke.error().code, ErrorCode::kInvalidClient);
}

TEST(ParseTokenLookupRequest, Rejected) {
  struct Case {
    const char* name;
    TokenHttpRequest request;
    ErrorCode want;
  };
  TokenHttpRequest get = Post("token=a&client_id=c");
  get.method = "GET";
  TokenHttpRequest json = Post("{\"token\":\"a\"}");
  json.content_type = "application/json";
  TokenHttpRequest two_auth = Post("token=a", "Basic YzpzZWNyZXQ=");
  two_auth.authorization_count = 2;
  const Case kCases[] = {
      {"GET", get, ErrorCode::kInvalidRequest},
      {"JSON body", json, ErrorCode::kInvalidRequest},
      {"two Authorization headers", two_auth, ErrorCode::kInvalidRequest},
      {"no token", Post("client_id=c&client_secret=s"), ErrorCode::kInvalidRequest},
      {"empty token", Post("token=&client_id=c&client_secret=s"), ErrorCode::kInvalidRequest},
      {"repeated token", Post("token=a&token=b&client_id=c"), ErrorCode::kInvalidRequest},
      {"no caller", Post("token=a"), ErrorCode::kInvalidClient},
      {"bearer and client_id", Post("token=a&client_id=c", "Bearer x"), ErrorCode::kInvalidRequest},
      {"empty bearer", Post("token=a", "Bearer  "), ErrorCode::kInvalidRequest},
  };
  for (const auto& c : kCases) {
    auto got = ParseTokenLookupRequest(c.request, true);
    ASSERT_FALSE(got.has_value()) << c.name;
    EXPECT_EQ(got.error().code, c.want) << c.name;
  }
}

class VerifyAccessTokenJwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto es = crypto::GenerateKey(crypto::KeyType::kEcP256);
    ASSERT_TRUE(es.has_value());
    keys_.keys.push_back({"es-kid", jose::Alg::kES256, *es});
    jwks_.keys.push_back({"es-kid", jose::Alg::kES256, "sig", *es->PublicOnly()});
    policy_.issuer = "https://issuer.example";
    policy_.audience = "https://api.example";
    policy_.access_token_lifetime = 600;
    client_.client_id = "app";
  }

  std::string Issue(int64_t auth_time, std::string gid) {
    auto issued = IssueAccessToken(client_, "user-1", {"openid", "api"}, policy_, keys_, clock_, random_,
                                   auth_time, std::move(gid));
    EXPECT_TRUE(issued.has_value());
    return issued->access_token;
  }

  std::optional<VerifiedAccessToken> Verify(std::string_view jwt,
                                            std::string_view issuer = "https://issuer.example") {
    return VerifyAccessTokenJwt(jwt, jwks_, policy_.allowed_algs, issuer, clock_);
  }

  SigningKeys keys_;
  jose::Jwks jwks_;
  TokenPolicy policy_;
  store::ClientRecord client_;
  common::FakeClock clock_{1'700'000'000};
  common::testing::CountingRandom random_;
};

TEST_F(VerifyAccessTokenJwtTest, ReadsEveryClaimBack) {
  std::string jwt = Issue(1'699'999'000, GrantId("family-1"));
  auto got = Verify(jwt);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->claims.sub, "user-1");
  EXPECT_EQ(got->claims.client_id, "app");
  EXPECT_EQ(got->claims.scope, "openid api");
  EXPECT_EQ(got->claims.aud, "https://api.example");
  EXPECT_EQ(got->claims.iat, 1'700'000'000);
  EXPECT_EQ(got->claims.exp, 1'700'000'600);
  EXPECT_EQ(got->claims.auth_time, 1'699'999'000);
  EXPECT_EQ(got->claims.gid, GrantId("family-1"));
  EXPECT_FALSE(got->claims.jti.empty());
}

TEST_F(VerifyAccessTokenJwtTest, Rfc9068Section4Refusals) {
  std::string jwt = Issue(0, "");
  // Expired: exp <= now, no leeway.
  clock_.Advance(600);
  EXPECT_FALSE(Verify(jwt).has_value());
  clock_.Advance(-600);
  EXPECT_TRUE(Verify(jwt).has_value());
  // Another issuer.
  EXPECT_FALSE(Verify(jwt, "https://other.example").has_value());
  // A tampered payload.
  std::string tampered = jwt;
  tampered[tampered.find('.') + 5] ^= 1;
  EXPECT_FALSE(Verify(tampered).has_value());
  // A JWT that is not an access token (typ is not at+jwt), e.g. an ID token signed by the same key.
  auto id_token = jose::SignJws(keys_.keys[0], "JWT",
                                R"({"iss":"https://issuer.example","sub":"u","client_id":"app","jti":"j",)"
                                R"("exp":1700000600,"iat":1700000000})");
  ASSERT_TRUE(id_token.has_value());
  EXPECT_FALSE(Verify(*id_token).has_value());
  // at+jwt but a required claim (jti) missing: RFC 9068 §2.2.
  auto no_jti = jose::SignJws(keys_.keys[0], "at+jwt",
                              R"({"iss":"https://issuer.example","sub":"u","client_id":"app",)"
                              R"("exp":1700000600,"iat":1700000000})");
  ASSERT_TRUE(no_jti.has_value());
  EXPECT_FALSE(Verify(*no_jti).has_value());
  EXPECT_FALSE(Verify("not a jwt").has_value());
}

TEST_F(VerifyAccessTokenJwtTest, OpaqueFormatIssuesReferenceRecord) {
  client_.access_token_format = "opaque";
  auto issued =
      IssueAccessToken(client_, "user-1", {"api"}, policy_, keys_, clock_, random_, 1'699'999'000, "g1");
  ASSERT_TRUE(issued.has_value());
  EXPECT_FALSE(LooksLikeJwt(issued->access_token));
  EXPECT_EQ(issued->access_token.size(), 43U);  // 256 bits, base64url
  ASSERT_TRUE(issued->reference.has_value());
  const store::AccessTokenRecord& r = *issued->reference;
  EXPECT_EQ(r.token_hash, crypto::Sha256(issued->access_token));  // stored hashed, never in clear
  EXPECT_EQ(r.client_id, "app");
  EXPECT_EQ(r.subject, "user-1");
  EXPECT_EQ(r.user_id, "user-1");
  EXPECT_EQ(r.scope, "api");
  EXPECT_EQ(r.grant_id, "g1");
  EXPECT_EQ(r.created_at, 1'700'000'000);
  EXPECT_EQ(r.expires_at, 1'700'000'600);
  EXPECT_EQ(issued->expires_in, 600);
  // A client's own token (client_credentials): no user.
  auto for_client = IssueAccessToken(client_, "app", {"api"}, policy_, keys_, clock_, random_);
  ASSERT_TRUE(for_client.has_value());
  ASSERT_TRUE(for_client->reference.has_value());
  EXPECT_TRUE(for_client->reference->user_id.empty());
  EXPECT_NE(for_client->access_token, issued->access_token);
}

TEST(RevocationKeys, PersonTokensAlsoMatchTheirUser) {
  AccessTokenClaims person;
  person.jti = "j1";
  person.gid = "g1";
  person.sub = "u1";
  person.auth_time = 5;
  EXPECT_EQ(RevocationKeys(person), (std::vector<std::string>{"jti:j1", "grant:g1", "user:u1"}));
  AccessTokenClaims client;
  client.jti = "j2";
  client.sub = "svc";  // a client's token: revoking a user named "svc" must not touch it
  EXPECT_EQ(RevocationKeys(client), (std::vector<std::string>{"jti:j2"}));
}

TEST(RevokedBy, IssuedAtOrBeforeTheRevocation) {
  EXPECT_FALSE(RevokedBy(100, 0));
  EXPECT_TRUE(RevokedBy(100, 100));
  EXPECT_TRUE(RevokedBy(99, 100));
  EXPECT_FALSE(RevokedBy(101, 100));  // issued after "log out everywhere": a new sign-in
}

TEST(GrantId, StableDistinctAndNotTheFamily) {
  EXPECT_EQ(GrantId("f1"), GrantId("f1"));
  EXPECT_NE(GrantId("f1"), GrantId("f2"));
  EXPECT_EQ(GrantId("f1").find("f1"), std::string::npos);
  EXPECT_EQ(GrantId("f1").size(), 22U);
}

// The PostgreSQL store computes GrantId in SQL when it stores an opaque access token with a refresh
// rotation (store::CurrentRotation::access_token); its test checks these same values.
TEST(GrantId, KnownValues) {
  EXPECT_EQ(GrantId("fam"), "pX1W-mxEjFt0bu5xWpW3C-");
  EXPECT_EQ(GrantId("fam-27"), "xZ1cLHR-aLTxKkm9zA_SSa");  // both characters base64url changes
}

// RFC 7662 §2.2: an inactive token's response carries "active": false and nothing else.
TEST(IntrospectionJson, Rfc7662Section2_2InactiveSaysNothingElse) {
  Introspection in;
  in.scope = "leak";
  in.sub = "leak";
  EXPECT_EQ(IntrospectionJson(in), R"({"active":false})");
}

TEST(IntrospectionJson, Rfc7662Section2_2ActiveMembers) {
  AccessTokenClaims c;
  c.iss = "https://issuer.example";
  c.sub = "u1";
  c.aud = "https://api.example";
  c.client_id = "app";
  c.scope = "openid api";
  c.jti = "j1";
  c.iat = 100;
  c.exp = 200;
  auto body = Json(IntrospectionJson(AccessTokenIntrospection(c, "alice")));
  EXPECT_EQ(body.at("active"), true);
  EXPECT_EQ(body.at("scope"), "openid api");
  EXPECT_EQ(body.at("client_id"), "app");
  EXPECT_EQ(body.at("username"), "alice");
  EXPECT_EQ(body.at("token_type"), "Bearer");
  EXPECT_EQ(body.at("exp"), 200);
  EXPECT_EQ(body.at("iat"), 100);
  EXPECT_EQ(body.at("nbf"), 100);
  EXPECT_EQ(body.at("sub"), "u1");
  EXPECT_EQ(body.at("aud"), "https://api.example");
  EXPECT_EQ(body.at("iss"), "https://issuer.example");
  EXPECT_EQ(body.at("jti"), "j1");
  // A client's token has no username: the member is omitted, not empty.
  EXPECT_FALSE(Json(IntrospectionJson(AccessTokenIntrospection(c, ""))).contains("username"));
}

TEST(IntrospectionJson, RefreshAndOpaqueRecords) {
  store::RefreshTokenRecord r;
  r.token_hash = crypto::Sha256("rt");
  r.client_id = "app";
  r.user_id = "u1";
  r.scope = "openid offline_access";
  r.created_at = 10;
  r.expires_at = 500;
  r.family_expires_at = 300;
  auto refresh = Json(IntrospectionJson(RefreshTokenIntrospection(r, "https://issuer.example", "alice")));
  EXPECT_EQ(refresh.at("token_type"), "refresh_token");
  EXPECT_EQ(refresh.at("exp"), 300);  // the earlier of idle and absolute expiry
  EXPECT_EQ(refresh.at("sub"), "u1");
  EXPECT_NE(refresh.at("jti"), "rt");
  store::AccessTokenRecord a;
  a.token_hash = crypto::Sha256("at");
  a.client_id = "svc";
  a.subject = "svc";
  a.audience = "https://api.example";
  a.created_at = 10;
  a.expires_at = 70;
  auto opaque = Json(IntrospectionJson(OpaqueTokenIntrospection(a, "https://issuer.example", "")));
  EXPECT_EQ(opaque.at("token_type"), "Bearer");
  EXPECT_EQ(opaque.at("sub"), "svc");
  EXPECT_EQ(opaque.at("exp"), 70);
  EXPECT_EQ(opaque.at("aud"), "https://api.example");
}

// RFC 7662 §4: a client sees only its own tokens unless it is a resource server.
TEST(MayIntrospect, Rfc7662Section4OwnTokensOrResourceServer) {
  store::ClientRecord app;
  app.client_id = "app";
  EXPECT_TRUE(MayIntrospect(app, "app"));
  EXPECT_FALSE(MayIntrospect(app, "other"));
  store::ClientRecord api;
  api.client_id = "api";
  api.introspect_any = true;
  EXPECT_TRUE(MayIntrospect(api, "other"));
}

TEST(TokenActive, RefreshAndOpaque) {
  store::RefreshTokenRecord r;
  r.expires_at = 100;
  r.family_expires_at = 200;
  EXPECT_TRUE(RefreshTokenActive(r, 99));
  EXPECT_FALSE(RefreshTokenActive(r, 100));
  r.expires_at = 300;
  EXPECT_FALSE(RefreshTokenActive(r, 200));  // the family's absolute lifetime
  r.family_expires_at = 400;
  r.rotated_at = 50;
  EXPECT_FALSE(RefreshTokenActive(r, 99));  // spent by rotation
  r.rotated_at = 0;
  r.revoked = true;
  EXPECT_FALSE(RefreshTokenActive(r, 99));
  store::AccessTokenRecord a;
  a.expires_at = 100;
  EXPECT_TRUE(OpaqueTokenActive(a, 99));
  EXPECT_FALSE(OpaqueTokenActive(a, 100));
  a.revoked = true;
  EXPECT_FALSE(OpaqueTokenActive(a, 99));
}

TEST(LooksLikeJwt, ThreeParts) {
  EXPECT_TRUE(LooksLikeJwt("a.b.c"));
  EXPECT_FALSE(LooksLikeJwt("abc"));
  EXPECT_FALSE(LooksLikeJwt("a.b"));
  EXPECT_FALSE(LooksLikeJwt("a.b.c.d.e"));
}

}  // namespace
}  // namespace latchkey::oauth
