#include "server/provider.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "common/base64.hpp"
#include "common/form.hpp"
#include "common/strings.hpp"
#include "crypto/digest.hpp"
#include "oauth/client_auth.hpp"
#include "oauth/code_grant.hpp"
#include "oauth/device.hpp"
#include "server/web.hpp"
#include "store/memory/memory_store.hpp"

namespace latchkey::server {
namespace {

class ProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.issuer = "https://id.example";
    store_ = store::memory::NewMemoryStore();
    AddClient("svc", "s3cret", "client_secret_basic");
    provider_ = std::make_unique<Provider>(config_, *store_, clock_, random_, metrics_, vault_);
    ASSERT_TRUE(provider_->Load().has_value());
  }

  void AddClient(const std::string& id, const std::string& secret, const std::string& method) {
    store::ClientRecord c;
    c.client_id = id;
    c.secret_hash = oauth::HashClientSecret(secret);
    c.token_endpoint_auth_method = method;
    c.grant_types = {"client_credentials"};
    c.scopes = {"api"};
    ASSERT_TRUE(store_->CreateClient(c).has_value());
  }

  http::Response Post(std::string body, std::optional<std::string> basic = std::nullopt) {
    http::Request r;
    r.method = "POST";
    r.path = "/token";
    r.headers.emplace_back("content-type", "application/x-www-form-urlencoded");
    if (basic) r.headers.emplace_back("authorization", "Basic " + common::Base64Encode(*basic));
    r.body = std::move(body);
    return provider_->Token(r);
  }

  static std::string Error(const http::Response& r) {
    return std::string(boost::json::parse(r.body).as_object().at("error").as_string());
  }

  Config config_;
  std::unique_ptr<store::Store> store_;
  common::FakeClock clock_{1'700'000'000};
  crypto::SystemRandom random_;
  common::Metrics metrics_;
  KeyVault vault_ = *KeyVault::FromText(KeyVault::GenerateKekText());
  std::unique_ptr<Provider> provider_;
};

// RFC 6749 §5.1: the response carries no-store and Pragma: no-cache.
TEST_F(ProviderTest, Rfc6749Section5_1SuccessIsNotCacheable) {
  auto r = Post("grant_type=client_credentials", "svc:s3cret");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("Cache-Control"), "no-store");
  EXPECT_EQ(r.Header("Pragma"), "no-cache");
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_TRUE(boost::json::parse(r.body).as_object().contains("access_token"));
  EXPECT_EQ(metrics_.CounterValue("latchkey_tokens_issued_total", {{"grant_type", "client_credentials"}}),
            1u);
}

// RFC 6749 §5.2: invalid_client is 401 with WWW-Authenticate after Basic authentication.
TEST_F(ProviderTest, Rfc6749Section5_2InvalidClientIs401WithChallenge) {
  auto wrong = Post("grant_type=client_credentials", "svc:wrong");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(Error(wrong), "invalid_client");
  ASSERT_TRUE(wrong.Header("WWW-Authenticate").has_value());
  EXPECT_EQ(wrong.Header("WWW-Authenticate")->rfind("Basic ", 0), 0u);
  EXPECT_EQ(wrong.Header("Cache-Control"), "no-store");

  // An unknown client gets exactly the same answer as a wrong secret.
  auto unknown = Post("grant_type=client_credentials", "nobody:wrong");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(unknown.body, wrong.body);
}

TEST_F(ProviderTest, Rfc6749Section5_2ErrorCodes) {
  const std::tuple<std::string, std::optional<std::string>, int, std::string> kCases[] = {
      {"grant_type=password", "svc:s3cret", 400, "unsupported_grant_type"},
      {"grant_type=client_credentials&scope=admin", "svc:s3cret", 400, "invalid_scope"},
      {"grant_type=client_credentials&grant_type=client_credentials", "svc:s3cret", 400, "invalid_request"},
      {"scope=api", "svc:s3cret", 400, "invalid_request"},
      {"grant_type=client_credentials&client_id=svc&client_secret=s3cret", std::nullopt, 401,
       "invalid_client"},
  };
  for (const auto& [body, basic, status, error] : kCases) {
    auto r = Post(body, basic);
    EXPECT_EQ(r.status, status) << body;
    EXPECT_EQ(Error(r), error) << body;
  }
}

TEST_F(ProviderTest, AdminChangesApplyAfterReloadWithoutRestart) {
  EXPECT_EQ(Post("grant_type=client_credentials", "late:pw").status, 401);
  AddClient("late", "pw", "client_secret_basic");
  ASSERT_TRUE(provider_->ReloadIfChanged());
  EXPECT_EQ(Post("grant_type=client_credentials", "late:pw").status, 200);
  ASSERT_TRUE(store_->DeleteClient("late").has_value());
  ASSERT_TRUE(provider_->ReloadIfChanged());
  EXPECT_EQ(Post("grant_type=client_credentials", "late:pw").status, 401);
}

TEST_F(ProviderTest, JwksAndDiscoveryAreTruthful) {
  http::Request get;
  get.method = "GET";
  auto jwks = provider_->Jwks(get);
  EXPECT_EQ(jwks.status, 200);
  auto keys = boost::json::parse(jwks.body).as_object().at("keys").as_array();
  EXPECT_EQ(keys.size(), 3u);
  for (const auto& k : keys) {
    EXPECT_FALSE(k.as_object().contains("d")) << "private key material published";
    EXPECT_TRUE(k.as_object().contains("kid"));
    EXPECT_TRUE(k.as_object().contains("alg"));
    EXPECT_EQ(k.as_object().at("use").as_string(), "sig");
  }
  auto meta = boost::json::parse(provider_->Discovery(get).body).as_object();
  EXPECT_EQ(meta.at("issuer").as_string(), "https://id.example");
  // Exactly the grants the token endpoint implements.
  auto grants = meta.at("grant_types_supported").as_array();
  EXPECT_EQ(grants.size(), 4u);
  for (const char* g : {"authorization_code", "refresh_token", "client_credentials",
                        "urn:ietf:params:oauth:grant-type:device_code"}) {
    EXPECT_NE(std::find(grants.begin(), grants.end(), boost::json::value(g)), grants.end()) << g;
  }
  EXPECT_EQ(meta.at("authorization_endpoint").as_string(), "https://id.example/authorize");
  EXPECT_EQ(meta.at("code_challenge_methods_supported").as_array(), boost::json::array{"S256"})
      << "plain is off unless configured";
  // Every endpoint the discovery document names is one the provider routes (RFC 8414 §2).
  http::Router router;
  provider_->Register(router);
  for (const char* member :
       {"token_endpoint", "authorization_endpoint", "userinfo_endpoint", "jwks_uri", "introspection_endpoint",
        "revocation_endpoint", "device_authorization_endpoint", "end_session_endpoint"}) {
    ASSERT_TRUE(meta.contains(member)) << member;
    std::string path(meta.at(member).as_string());
    path = path.substr(std::string("https://id.example").size());
    http::Request probe;
    probe.method = "OPTIONS";
    probe.target = path;
    probe.path = path;
    auto answer = router.DispatchInline(probe);
    // A routed path refuses OPTIONS with 405 (it exists); an unknown one answers 404.
    ASSERT_TRUE(answer.has_value()) << member;
    EXPECT_EQ(answer->status, 405) << member << " " << path;
  }
  // The ID token algorithms are the ones a key exists for.
  EXPECT_EQ(meta.at("id_token_signing_alg_values_supported").as_array().size(), 4u);
}

// The token cache (server/token_cache.hpp): introspection answers for active access tokens are
// remembered and given on the network thread, and forgotten at every revocation.
class IntrospectionCacheTest : public ProviderTest {
 protected:
  void SetUp() override {
    config_.issuer = "https://id.example";
    config_.introspection_cache_size = cache_size_;
    store_ = store::memory::NewMemoryStore();
    AddClient("svc", "s3cret", "client_secret_basic");
    AddClient("opq", "s3cret", "client_secret_basic");
    AddClient("api", "s3cret", "client_secret_basic");
    auto opq = *store_->GetClient("opq");
    opq.access_token_format = "opaque";
    ASSERT_TRUE(store_->UpdateClient(opq).has_value());
    auto api = *store_->GetClient("api");
    api.introspect_any = true;
    ASSERT_TRUE(store_->UpdateClient(api).has_value());
    provider_ = std::make_unique<Provider>(config_, *store_, clock_, random_, metrics_, vault_);
    ASSERT_TRUE(provider_->Load().has_value());
  }

  std::string IssueToken(const std::string& client) {
    auto r = Post("grant_type=client_credentials", client + ":s3cret");
    EXPECT_EQ(r.status, 200) << r.body;
    return std::string(boost::json::parse(r.body).as_object().at("access_token").as_string());
  }

  static http::Request Lookup(std::string path, const std::string& token, const std::string& basic) {
    http::Request r;
    r.method = "POST";
    r.path = std::move(path);
    r.headers.emplace_back("content-type", "application/x-www-form-urlencoded");
    r.headers.emplace_back("authorization", "Basic " + common::Base64Encode(basic));
    r.body = "token=" + token;
    return r;
  }

  // Active: whether an introspection answer says active (and is a 200).
  static bool Active(const http::Response& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 && boost::json::parse(r.body).as_object().at("active").as_bool();
  }

  std::optional<http::Response> Inline(const std::string& token, const std::string& basic = "api:s3cret") {
    return provider_->IntrospectInline(Lookup("/introspect", token, basic));
  }
  http::Response Pooled(const std::string& token, const std::string& basic = "api:s3cret") {
    return provider_->Introspect(Lookup("/introspect", token, basic));
  }

  int64_t cache_size_ = 100;
};

TEST_F(IntrospectionCacheTest, Rfc7662ActiveAnswersAreRememberedForOpaqueAndJwtTokens) {
  for (const std::string client : {"opq", "svc"}) {
    const std::string token = IssueToken(client);
    EXPECT_FALSE(Inline(token).has_value()) << client << ": not asked yet, so the store must be";
    auto first = Pooled(token);
    ASSERT_TRUE(Active(first)) << client;
    auto again = Inline(token);
    ASSERT_TRUE(again.has_value()) << client << ": the second answer comes from memory";
    EXPECT_EQ(again->body, first.body) << client;
    EXPECT_EQ(again->Header("Cache-Control"), "no-store");
  }
}

TEST_F(IntrospectionCacheTest, Rfc7662Section4CachedAnswersStillCheckTheCaller) {
  const std::string token = IssueToken("opq");
  ASSERT_TRUE(Active(Pooled(token)));
  // The owner and the resource server see it; another client gets active:false, from memory too.
  EXPECT_TRUE(Active(*Inline(token, "opq:s3cret")));
  auto other = Inline(token, "svc:s3cret");
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->body, R"({"active":false})");
  // A wrong secret is refused inline, whatever is cached.
  auto wrong = Inline(token, "api:wrong");
  ASSERT_TRUE(wrong.has_value());
  EXPECT_EQ(wrong->status, 401);
}

TEST_F(IntrospectionCacheTest, Rfc7009RevocationAtThisNodeIsSeenAtOnce) {
  const std::string opaque = IssueToken("opq");
  const std::string jwt = IssueToken("svc");
  ASSERT_TRUE(Active(Pooled(opaque)));
  ASSERT_TRUE(Active(Pooled(jwt)));
  ASSERT_EQ(provider_->Revoke(Lookup("/revoke", opaque, "opq:s3cret")).status, 200);
  EXPECT_FALSE(Inline(opaque).has_value());
  EXPECT_FALSE(Active(Pooled(opaque)));
  ASSERT_TRUE(Active(Pooled(jwt)));
  ASSERT_EQ(provider_->Revoke(Lookup("/revoke", jwt, "svc:s3cret")).status, 200);
  EXPECT_FALSE(Inline(jwt).has_value());
  EXPECT_FALSE(Active(Pooled(jwt)));
}

TEST_F(IntrospectionCacheTest, RevocationElsewhereIsSeenAfterTheRevisionPoll) {
  const std::string token = IssueToken("opq");
  ASSERT_TRUE(Active(Pooled(token)));
  // Another node or an admin command revokes it through the shared store.
  ASSERT_TRUE(store_->RevokeAccessToken(crypto::Sha256(token)).has_value());
  // Until this node polls the store it answers from memory (the documented lag)...
  auto stale = Inline(token);
  ASSERT_TRUE(stale.has_value());
  EXPECT_TRUE(Active(*stale));
  // ...and after the poll it asks the store again.
  ASSERT_TRUE(provider_->ReloadIfChanged());
  EXPECT_FALSE(Inline(token).has_value());
  EXPECT_FALSE(Active(Pooled(token)));
}

TEST_F(IntrospectionCacheTest, APollThatSeesAnyRevocationForgetsEverything) {
  // Any revocation written elsewhere (here an unrelated jti) moves the store's revocation
  // revision: the poll cannot tell which tokens it touched, so it forgets them all.
  const std::string token = IssueToken("opq");
  ASSERT_TRUE(
      store_->PutRevocation({"jti:unrelated", clock_.NowSeconds(), clock_.NowSeconds() + 60}).has_value());
  ASSERT_TRUE(Active(Pooled(token)));
  ASSERT_TRUE(Inline(token).has_value());
  ASSERT_TRUE(provider_->ReloadIfChanged());
  EXPECT_FALSE(Inline(token).has_value()) << "forgotten at the poll that saw the revocation";
}

TEST_F(IntrospectionCacheTest, Rfc7662ExpiredTokensAreNotAnsweredFromMemory) {
  const std::string token = IssueToken("opq");
  ASSERT_TRUE(Active(Pooled(token)));
  clock_.Advance(config_.access_token_lifetime);
  EXPECT_FALSE(Inline(token).has_value());
  EXPECT_FALSE(Active(Pooled(token)));
}

class IntrospectionCacheOffTest : public IntrospectionCacheTest {
 protected:
  IntrospectionCacheOffTest() { cache_size_ = 0; }
};

TEST_F(IntrospectionCacheOffTest, EveryIntrospectionReadsTheStore) {
  const std::string token = IssueToken("opq");
  ASSERT_TRUE(Active(Pooled(token)));
  EXPECT_FALSE(Inline(token).has_value());
  ASSERT_TRUE(store_->RevokeAccessToken(crypto::Sha256(token)).has_value());
  EXPECT_FALSE(Active(Pooled(token))) << "no poll needed";
}

// --- the database away: answers that do not pretend ---------------------------------------------

// OutageStore forwards to another store, except that the operations named in `failing` answer
// kUnavailable (the database cannot be reached) without reaching it. `before_redeem` runs before
// every RedeemCode that is let through (a second node redeeming the same code at that moment),
// `before_consume` likewise before every ConsumeDeviceCode, and
// the hashes of the refresh tokens created through it are kept. Thread-safe as far as its inner
// store is, provided the test does not change `failing` or `before_redeem` while requests run.
class OutageStore final : public store::Store {
 public:
  explicit OutageStore(std::unique_ptr<store::Store> inner) : inner_(std::move(inner)) {}

  std::set<std::string> failing;
  std::function<void(const std::string& code_hash)> before_redeem;
  std::function<void(const std::string& device_code_hash)> before_consume;
  store::Store& Inner() { return *inner_; }
  std::vector<std::string> CreatedRefreshTokens() {
    std::lock_guard lock(mutex_);
    return created_refresh_tokens_;
  }

  template <class T>
  using Result = store::Result<T>;
  using AuthorizationCodeRecord = store::AuthorizationCodeRecord;
  using RefreshTokenRecord = store::RefreshTokenRecord;

  Result<store::ClientRecord> GetClient(const std::string& id) override {
    return Call("GetClient", [&] { return inner_->GetClient(id); });
  }
  Result<std::vector<store::ClientRecord>> ListClients() override {
    return Call("ListClients", [&] { return inner_->ListClients(); });
  }
  Result<void> CreateClient(const store::ClientRecord& c) override {
    return Call("CreateClient", [&] { return inner_->CreateClient(c); });
  }
  Result<void> UpdateClient(const store::ClientRecord& c) override {
    return Call("UpdateClient", [&] { return inner_->UpdateClient(c); });
  }
  Result<void> DeleteClient(const std::string& id) override {
    return Call("DeleteClient", [&] { return inner_->DeleteClient(id); });
  }
  Result<std::vector<store::SigningKeyRecord>> ListSigningKeys() override {
    return Call("ListSigningKeys", [&] { return inner_->ListSigningKeys(); });
  }
  Result<void> AddSigningKey(const store::SigningKeyRecord& k) override {
    return Call("AddSigningKey", [&] { return inner_->AddSigningKey(k); });
  }
  Result<void> ActivateSigningKey(const std::string& kid, int64_t now) override {
    return Call("ActivateSigningKey", [&] { return inner_->ActivateSigningKey(kid, now); });
  }
  Result<void> RetireSigningKey(const std::string& kid, int64_t now) override {
    return Call("RetireSigningKey", [&] { return inner_->RetireSigningKey(kid, now); });
  }
  Result<void> DeleteSigningKey(const std::string& kid) override {
    return Call("DeleteSigningKey", [&] { return inner_->DeleteSigningKey(kid); });
  }
  Result<void> ResealSigningKey(const std::string& kid, const std::string& expected,
                                const std::string& replacement) override {
    return Call("ResealSigningKey", [&] { return inner_->ResealSigningKey(kid, expected, replacement); });
  }
  Result<store::UserRecord> GetUser(const std::string& id) override {
    return Call("GetUser", [&] { return inner_->GetUser(id); });
  }
  Result<store::UserRecord> GetUserByUsername(const std::string& username) override {
    return Call("GetUserByUsername", [&] { return inner_->GetUserByUsername(username); });
  }
  Result<std::vector<store::UserRecord>> ListUsers() override {
    return Call("ListUsers", [&] { return inner_->ListUsers(); });
  }
  Result<void> CreateUser(const store::UserRecord& u) override {
    return Call("CreateUser", [&] { return inner_->CreateUser(u); });
  }
  Result<void> UpdateUser(const store::UserRecord& u) override {
    return Call("UpdateUser", [&] { return inner_->UpdateUser(u); });
  }
  Result<void> DeleteUser(const std::string& id) override {
    return Call("DeleteUser", [&] { return inner_->DeleteUser(id); });
  }
  Result<void> CreateSession(const store::SessionRecord& s) override {
    return Call("CreateSession", [&] { return inner_->CreateSession(s); });
  }
  Result<store::SessionRecord> GetSession(const std::string& h) override {
    return Call("GetSession", [&] { return inner_->GetSession(h); });
  }
  Result<void> TouchSession(const std::string& h, int64_t now) override {
    return Call("TouchSession", [&] { return inner_->TouchSession(h, now); });
  }
  Result<void> RevokeSession(const std::string& h) override {
    return Call("RevokeSession", [&] { return inner_->RevokeSession(h); });
  }
  Result<std::vector<store::SessionRecord>> ListUserSessions(const std::string& id) override {
    return Call("ListUserSessions", [&] { return inner_->ListUserSessions(id); });
  }
  Result<int64_t> DeleteExpiredSessions(int64_t created_before, int64_t seen_before, int64_t limit) override {
    return Call("DeleteExpiredSessions",
                [&] { return inner_->DeleteExpiredSessions(created_before, seen_before, limit); });
  }
  Result<void> AddSessionClient(const std::string& h, const std::string& client_id) override {
    return Call("AddSessionClient", [&] { return inner_->AddSessionClient(h, client_id); });
  }
  Result<std::vector<std::string>> ListSessionClients(const std::string& h) override {
    return Call("ListSessionClients", [&] { return inner_->ListSessionClients(h); });
  }
  Result<void> CreateCode(const AuthorizationCodeRecord& c) override {
    return Call("CreateCode", [&] { return inner_->CreateCode(c); });
  }
  Result<AuthorizationCodeRecord> RedeemCode(const std::string& h, int64_t now) override {
    return Call("RedeemCode", [&] {
      if (before_redeem) before_redeem(h);
      return inner_->RedeemCode(h, now);
    });
  }
  Result<AuthorizationCodeRecord> GetCode(const std::string& h) override {
    return Call("GetCode", [&] { return inner_->GetCode(h); });
  }
  Result<int64_t> DeleteExpiredCodes(int64_t now, int64_t limit) override {
    return Call("DeleteExpiredCodes", [&] { return inner_->DeleteExpiredCodes(now, limit); });
  }
  Result<void> CreateRefreshToken(const RefreshTokenRecord& r) override {
    return Call("CreateRefreshToken", [&] {
      auto created = inner_->CreateRefreshToken(r);
      if (created) {
        std::lock_guard lock(mutex_);
        created_refresh_tokens_.push_back(r.token_hash);
      }
      return created;
    });
  }
  Result<RefreshTokenRecord> GetRefreshToken(const std::string& h) override {
    return Call("GetRefreshToken", [&] { return inner_->GetRefreshToken(h); });
  }
  Result<store::RotationResult> RotateRefreshToken(const std::string& h, const RefreshTokenRecord& successor,
                                                   int64_t now, int64_t grace_seconds) override {
    return Call("RotateRefreshToken",
                [&] { return inner_->RotateRefreshToken(h, successor, now, grace_seconds); });
  }
  Result<int64_t> RevokeRefreshFamily(const std::string& family_id) override {
    return Call("RevokeRefreshFamily", [&] { return inner_->RevokeRefreshFamily(family_id); });
  }
  Result<std::vector<std::string>> RevokeRefreshTokens(const std::string& user_id,
                                                       const std::string& client_id,
                                                       const std::string& session_id_hash) override {
    return Call("RevokeRefreshTokens",
                [&] { return inner_->RevokeRefreshTokens(user_id, client_id, session_id_hash); });
  }
  Result<int64_t> DeleteExpiredRefreshTokens(int64_t now, int64_t limit) override {
    return Call("DeleteExpiredRefreshTokens", [&] { return inner_->DeleteExpiredRefreshTokens(now, limit); });
  }
  Result<void> CreateAccessToken(const store::AccessTokenRecord& t) override {
    return Call("CreateAccessToken", [&] { return inner_->CreateAccessToken(t); });
  }
  Result<store::AccessTokenRecord> GetAccessToken(const std::string& h) override {
    return Call("GetAccessToken", [&] { return inner_->GetAccessToken(h); });
  }
  Result<void> RevokeAccessToken(const std::string& h) override {
    return Call("RevokeAccessToken", [&] { return inner_->RevokeAccessToken(h); });
  }
  Result<int64_t> DeleteExpiredAccessTokens(int64_t now, int64_t limit) override {
    return Call("DeleteExpiredAccessTokens", [&] { return inner_->DeleteExpiredAccessTokens(now, limit); });
  }
  Result<void> PutRevocation(const store::RevocationRecord& r) override {
    return Call("PutRevocation", [&] { return inner_->PutRevocation(r); });
  }
  Result<int64_t> LatestRevocation(const std::vector<std::string>& keys) override {
    return Call("LatestRevocation", [&] { return inner_->LatestRevocation(keys); });
  }
  Result<int64_t> DeleteExpiredRevocations(int64_t now, int64_t limit) override {
    return Call("DeleteExpiredRevocations", [&] { return inner_->DeleteExpiredRevocations(now, limit); });
  }
  Result<store::ThrottleRecord> GetThrottle(const std::string& key) override {
    return Call("GetThrottle", [&] { return inner_->GetThrottle(key); });
  }
  Result<store::ThrottleRecord> CountThrottleFailure(const std::string& key, int64_t now,
                                                     int64_t forget_at) override {
    return Call("CountThrottleFailure", [&] { return inner_->CountThrottleFailure(key, now, forget_at); });
  }
  Result<void> DeleteThrottle(const std::string& key) override {
    return Call("DeleteThrottle", [&] { return inner_->DeleteThrottle(key); });
  }
  Result<int64_t> DeleteExpiredThrottles(int64_t now, int64_t limit) override {
    return Call("DeleteExpiredThrottles", [&] { return inner_->DeleteExpiredThrottles(now, limit); });
  }
  Result<void> CreateDeviceCode(const store::DeviceCodeRecord& d) override {
    return Call("CreateDeviceCode", [&] { return inner_->CreateDeviceCode(d); });
  }
  Result<store::DeviceCodeRecord> GetDeviceCodeByUserCode(const std::string& h) override {
    return Call("GetDeviceCodeByUserCode", [&] { return inner_->GetDeviceCodeByUserCode(h); });
  }
  Result<store::DeviceCodeRecord> DecideDeviceCode(const std::string& h, bool approve,
                                                   const store::DeviceCodeRecord& decision,
                                                   int64_t now) override {
    return Call("DecideDeviceCode", [&] { return inner_->DecideDeviceCode(h, approve, decision, now); });
  }
  Result<store::DeviceCodeRecord> PollDeviceCode(const std::string& h, int64_t now) override {
    return Call("PollDeviceCode", [&] { return inner_->PollDeviceCode(h, now); });
  }
  Result<void> ConsumeDeviceCode(const std::string& h, int64_t now) override {
    return Call("ConsumeDeviceCode", [&] {
      if (before_consume) before_consume(h);
      return inner_->ConsumeDeviceCode(h, now);
    });
  }
  Result<int64_t> DeleteExpiredDeviceCodes(int64_t now, int64_t limit) override {
    return Call("DeleteExpiredDeviceCodes", [&] { return inner_->DeleteExpiredDeviceCodes(now, limit); });
  }
  Result<store::ConsentRecord> GetConsent(const std::string& user_id, const std::string& client_id) override {
    return Call("GetConsent", [&] { return inner_->GetConsent(user_id, client_id); });
  }
  Result<void> PutConsent(const store::ConsentRecord& c) override {
    return Call("PutConsent", [&] { return inner_->PutConsent(c); });
  }
  Result<std::vector<store::ConsentRecord>> ListUserConsents(const std::string& user_id) override {
    return Call("ListUserConsents", [&] { return inner_->ListUserConsents(user_id); });
  }
  Result<void> DeleteConsent(const std::string& user_id, const std::string& client_id) override {
    return Call("DeleteConsent", [&] { return inner_->DeleteConsent(user_id, client_id); });
  }
  Result<std::string> EnsureSecret(const std::string& name, const std::string& candidate) override {
    return Call("EnsureSecret", [&] { return inner_->EnsureSecret(name, candidate); });
  }
  Result<int64_t> Revision() override {
    return Call("Revision", [&] { return inner_->Revision(); });
  }
  Result<int64_t> RevocationRevision() override {
    return Call("RevocationRevision", [&] { return inner_->RevocationRevision(); });
  }

 private:
  template <class F>
  auto Call(const std::string& operation, F forward) -> decltype(forward()) {
    if (failing.contains(operation)) return store::Error::kUnavailable;
    return forward();
  }

  std::unique_ptr<store::Store> inner_;
  std::mutex mutex_;
  std::vector<std::string> created_refresh_tokens_;
};

// RFC 7636 Appendix B.
constexpr std::string_view kVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
constexpr std::string_view kChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
constexpr std::string_view kRedirectUri = "https://rp.example/cb";

// StoreOutageTest: a provider whose store fails on demand, with a person ("ann") signed in to a
// browser (session cookie kSessionValue) and a confidential web client ("web", secret "websecret";
// "web-opaque" gets opaque access tokens).
class StoreOutageTest : public ::testing::Test {
 protected:
  static constexpr std::string_view kSessionValue = "c2Vzc2lvbi1jb29raWUtdmFsdWUtZm9yLXRoZS10ZXN0cw";
  // A CSRF cookie value of the form the provider mints (32 bytes, base64url): it reuses it.
  static constexpr std::string_view kCsrfValue = "Y3NyZi1jb29raWUtdmFsdWUtZm9yLXRoZS10ZXN0cy0";

  void SetUp() override {
    config_.issuer = "https://id.example";
    config_.code_lifetime = 600;
    auto outage = std::make_unique<OutageStore>(store::memory::NewMemoryStore());
    store_ = outage.get();
    owned_store_ = std::move(outage);
    for (const char* id : {"web", "web-opaque"}) {
      store::ClientRecord c;
      c.client_id = id;
      c.secret_hash = oauth::HashClientSecret("websecret");
      c.redirect_uris = {std::string(kRedirectUri)};
      c.grant_types = {"authorization_code", "refresh_token", std::string(oauth::kDeviceCodeGrantType)};
      c.scopes = {"openid", "profile"};
      c.access_token_format = id == std::string_view("web") ? "jwt" : "opaque";
      ASSERT_TRUE(store_->CreateClient(c).has_value());
    }
    store::UserRecord user;
    user.user_id = "u-ann";
    user.username = "ann";
    ASSERT_TRUE(store_->CreateUser(user).has_value());
    const int64_t now = clock_.NowSeconds();
    store::SessionRecord session;
    session.id_hash = crypto::Sha256(kSessionValue);
    session.user_id = user.user_id;
    session.created_at = now;
    session.last_seen_at = now;
    session.auth_time = now;
    session.amr = "pwd";
    session.acr = "1";
    ASSERT_TRUE(store_->CreateSession(session).has_value());
    provider_ = std::make_unique<Provider>(config_, *owned_store_, clock_, random_, metrics_, vault_);
    ASSERT_TRUE(provider_->Load().has_value());
  }

  void Approve(const std::string& client_id) {
    store::ConsentRecord consent;
    consent.user_id = "u-ann";
    consent.client_id = client_id;
    consent.scope = "openid profile";
    consent.created_at = consent.updated_at = clock_.NowSeconds();
    ASSERT_TRUE(store_->PutConsent(consent).has_value());
  }

  static http::Request Browser(std::string method, std::string path, std::string query_or_body) {
    http::Request r;
    r.method = std::move(method);
    r.path = std::move(path);
    if (r.method == "POST") {
      r.body = std::move(query_or_body);
      r.headers.emplace_back("content-type", "application/x-www-form-urlencoded");
    } else {
      r.query = std::move(query_or_body);
    }
    r.target = r.path + (r.query.empty() ? "" : "?" + r.query);
    r.headers.emplace_back("cookie", SessionCookie(true) + "=" + std::string(kSessionValue) + "; " +
                                         CsrfCookieName(true) + "=" + std::string(kCsrfValue));
    r.remote_address = "192.0.2.1";
    return r;
  }

  static std::string AuthorizeQuery(const std::string& client_id, std::string_view extra = "") {
    return "response_type=code&client_id=" + client_id +
           "&redirect_uri=https%3A%2F%2Frp.example%2Fcb&scope=openid&state=st-1&code_challenge=" +
           std::string(kChallenge) + "&code_challenge_method=S256" + std::string(extra);
  }

  // RedirectParams: the query of a redirect to kRedirectUri ("" for any other answer).
  static std::map<std::string, std::string> RedirectParams(const http::Response& r) {
    std::map<std::string, std::string> out;
    auto location = r.Header("Location");
    if ((r.status != 302 && r.status != 303) || !location || !location->starts_with(kRedirectUri)) return out;
    auto fields = common::ParseForm(location->substr(location->find('?') + 1));
    if (fields) {
      for (auto& [name, value] : *fields) out.emplace(name, value);
    }
    return out;
  }

  // NewCode stores an authorization code for ann and `client_id`, bound to kRedirectUri and
  // kChallenge (S256), and returns it.
  std::string NewCode(const std::string& client_id) {
    std::string code = common::Base64UrlEncode(random_.Bytes(32));
    store::AuthorizationCodeRecord record;
    record.code_hash = crypto::Sha256(code);
    record.client_id = client_id;
    record.user_id = "u-ann";
    record.session_id_hash = crypto::Sha256(kSessionValue);
    record.redirect_uri = std::string(kRedirectUri);
    record.redirect_uri_sent = true;
    record.scope = "openid profile";
    record.code_challenge = std::string(kChallenge);
    record.code_challenge_method = "S256";
    record.auth_time = clock_.NowSeconds();
    record.amr = "pwd";
    record.acr = "1";
    record.created_at = clock_.NowSeconds();
    record.expires_at = clock_.NowSeconds() + 600;
    EXPECT_TRUE(store_->Inner().CreateCode(record).has_value());
    return code;
  }

  http::Response Token(const std::string& client_id, std::string body) {
    http::Request r;
    r.method = "POST";
    r.path = "/token";
    r.target = "/token";
    r.headers.emplace_back("content-type", "application/x-www-form-urlencoded");
    r.headers.emplace_back("authorization", "Basic " + common::Base64Encode(client_id + ":websecret"));
    r.body = std::move(body);
    return provider_->Token(r);
  }

  // NewApprovedDeviceCode stores a device authorization for `client_id` that ann has approved, never
  // polled, and returns its device code.
  std::string NewApprovedDeviceCode(const std::string& client_id) {
    std::string code = common::Base64UrlEncode(random_.Bytes(32));
    store::DeviceCodeRecord d;
    d.device_code_hash = crypto::Sha256(code);
    d.user_code_hash = crypto::Sha256("user-" + code);
    d.client_id = client_id;
    d.scope = "openid profile";
    d.created_at = clock_.NowSeconds();
    d.expires_at = clock_.NowSeconds() + 600;
    d.status = "approved";
    d.user_id = "u-ann";
    d.auth_time = clock_.NowSeconds();
    d.amr = "pwd";
    d.acr = "1";
    EXPECT_TRUE(store_->Inner().CreateDeviceCode(d).has_value());
    return code;
  }

  http::Response PollDevice(const std::string& client_id, const std::string& device_code) {
    return Token(client_id, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=" +
                                device_code);
  }

  http::Response Redeem(const std::string& client_id, const std::string& code,
                        std::string_view verifier = kVerifier) {
    return Token(client_id,
                 "grant_type=authorization_code&code=" + code +
                     "&redirect_uri=https%3A%2F%2Frp.example%2Fcb&code_verifier=" + std::string(verifier));
  }

  static std::string ErrorOf(const http::Response& r) {
    auto body = boost::json::parse(r.body);
    if (!body.is_object() || !body.as_object().contains("error")) return "";
    return std::string(body.as_object().at("error").as_string());
  }

  static std::string Field(const http::Response& r, std::string_view name) {
    auto body = boost::json::parse(r.body).as_object();
    return body.contains(name) ? std::string(body.at(name).as_string()) : "";
  }

  bool SessionLive() {
    auto session = store_->Inner().GetSession(crypto::Sha256(kSessionValue));
    return session && !session->revoked;
  }

  Config config_;
  std::unique_ptr<store::Store> owned_store_;
  OutageStore* store_ = nullptr;
  common::FakeClock clock_{1'700'000'000};
  crypto::SystemRandom random_;
  common::Metrics metrics_;
  KeyVault vault_ = *KeyVault::FromText(KeyVault::GenerateKekText());
  std::unique_ptr<Provider> provider_;
};

// While the session cannot be read, /authorize answers temporarily_unavailable at the client's
// redirect URI (RFC 6749 §4.1.2.1): not the login page, and not login_required for prompt=none
// (OIDC Core §3.1.2.6), as if the signed-in person had been signed out.
TEST_F(StoreOutageTest, AuthorizeWhileTheSessionCannotBeReadIsTemporarilyUnavailable) {
  Approve("web");
  for (const char* prompt : {"", "&prompt=none"}) {
    // With the store up, the signed-in person gets a code at once.
    auto ok = provider_->Authorize(Browser("GET", "/authorize", AuthorizeQuery("web", prompt)));
    EXPECT_TRUE(RedirectParams(ok).contains("code")) << prompt << " " << ok.status << " " << ok.body;
    for (const char* failing : {"GetSession", "GetUser"}) {
      store_->failing = {failing};
      auto r = provider_->Authorize(Browser("GET", "/authorize", AuthorizeQuery("web", prompt)));
      store_->failing.clear();
      auto params = RedirectParams(r);
      EXPECT_EQ(params["error"], "temporarily_unavailable")
          << failing << prompt << ": " << r.status << " " << r.Header("Location").value_or("") << " "
          << r.body.substr(0, 200);
      EXPECT_EQ(params["state"], "st-1") << failing << prompt;
      EXPECT_FALSE(params.contains("code")) << failing << prompt;
    }
  }
  EXPECT_TRUE(SessionLive());
}

// A device sign-in (the interaction the login page carries for RFC 8628 §3.3) has no redirect URI:
// a 503 page.
TEST_F(StoreOutageTest, DeviceSignInAtAuthorizeWhileTheSessionCannotBeReadIs503) {
  store_->failing = {"GetSession"};
  auto r = provider_->Authorize(Browser("GET", "/authorize", "device_user_code=WDJBMJHT"));
  EXPECT_EQ(r.status, 503) << r.body.substr(0, 300);
  EXPECT_NE(r.body.find("temporarily_unavailable"), std::string::npos);
}

// The consent form posted while the session cannot be read: 503, not "your session has ended"
// and the login page; nothing is recorded.
TEST_F(StoreOutageTest, ConsentWhileTheSessionCannotBeReadIs503) {
  const std::string query = AuthorizeQuery("web");
  auto page = provider_->Authorize(Browser("GET", "/authorize", query));
  ASSERT_EQ(page.status, 200) << page.body.substr(0, 300);
  const std::string marker = "name=\"csrf\" value=\"";
  const size_t at = page.body.find(marker);
  ASSERT_NE(at, std::string::npos) << page.body;
  const size_t begin = at + marker.size();
  const std::string csrf = page.body.substr(begin, page.body.find('"', begin) - begin);
  const std::string form = "decision=allow&csrf=" + csrf + "&request=" + common::FormEncode(query);

  store_->failing = {"GetSession"};
  auto r = provider_->Consent(Browser("POST", "/consent", form));
  store_->failing.clear();
  EXPECT_EQ(r.status, 503) << r.body.substr(0, 300);
  EXPECT_NE(r.body.find("temporarily_unavailable"), std::string::npos);
  EXPECT_FALSE(store_->Inner().GetConsent("u-ann", "web").has_value());

  // The same form once the store is back: recorded, and a code.
  auto ok = provider_->Consent(Browser("POST", "/consent", form));
  EXPECT_TRUE(RedirectParams(ok).contains("code")) << ok.status << " " << ok.body.substr(0, 300);
}

// OIDC Core §3.1.2.4: an approval adds to what was approved before. When the earlier consent
// cannot be read the approval is not written (it would replace the earlier one): the person is
// sent back with temporarily_unavailable, and the retry merges both.
TEST_F(StoreOutageTest, ConsentWhileTheEarlierConsentCannotBeReadKeepsIt) {
  store::ConsentRecord earlier;
  earlier.user_id = "u-ann";
  earlier.client_id = "web";
  earlier.scope = "profile";
  earlier.created_at = earlier.updated_at = clock_.NowSeconds() - 100;
  ASSERT_TRUE(store_->Inner().PutConsent(earlier).has_value());
  const std::string query = AuthorizeQuery("web");  // asks for openid, not yet approved
  auto page = provider_->Authorize(Browser("GET", "/authorize", query));
  ASSERT_EQ(page.status, 200) << page.body.substr(0, 300);
  const std::string marker = "name=\"csrf\" value=\"";
  const size_t at = page.body.find(marker);
  ASSERT_NE(at, std::string::npos) << page.body;
  const size_t begin = at + marker.size();
  const std::string csrf = page.body.substr(begin, page.body.find('"', begin) - begin);
  const std::string form = "decision=allow&csrf=" + csrf + "&request=" + common::FormEncode(query);

  store_->failing = {"GetConsent"};
  auto r = provider_->Consent(Browser("POST", "/consent", form));
  store_->failing.clear();
  EXPECT_EQ(RedirectParams(r)["error"], "temporarily_unavailable")
      << r.status << " " << r.body.substr(0, 300);
  EXPECT_EQ(store_->Inner().GetConsent("u-ann", "web")->scope, "profile")
      << "the earlier consent was replaced";

  auto ok = provider_->Consent(Browser("POST", "/consent", form));
  EXPECT_TRUE(RedirectParams(ok).contains("code")) << ok.status << " " << ok.body.substr(0, 300);
  const auto merged = common::SplitSpaces(store_->Inner().GetConsent("u-ann", "web")->scope);
  EXPECT_EQ(std::set<std::string>(merged.begin(), merged.end()),
            (std::set<std::string>{"openid", "profile"}));
}

// The device page (RFC 8628 §3.3) while the session cannot be read: 503, not the login page.
TEST_F(StoreOutageTest, DevicePageWhileTheSessionCannotBeReadIs503) {
  store::DeviceCodeRecord device;
  device.device_code_hash = crypto::Sha256("device-code");
  device.user_code_hash = crypto::Sha256("WDJBMJHT");
  device.client_id = "web";
  device.scope = "openid";
  device.created_at = clock_.NowSeconds();
  device.expires_at = clock_.NowSeconds() + 600;
  ASSERT_TRUE(store_->CreateDeviceCode(device).has_value());

  auto ok = provider_->Device(Browser("GET", "/device", "user_code=WDJB-MJHT"));
  ASSERT_EQ(ok.status, 200);
  EXPECT_NE(ok.body.find("ann"), std::string::npos) << "the confirmation page, for the signed-in person";
  store_->failing = {"GetSession"};
  auto r = provider_->Device(Browser("GET", "/device", "user_code=WDJB-MJHT"));
  EXPECT_EQ(r.status, 503) << r.body.substr(0, 300);
  EXPECT_NE(r.body.find("temporarily_unavailable"), std::string::npos);
}

// Wrong user codes at the device page are counted in the store (RFC 8628 §5.1): while the count
// cannot be read or written, a guess gets 503, never an answer that tells whether it was right.
TEST_F(StoreOutageTest, DeviceCodeGuessesAreNeverAnsweredUncountedRfc8628Section5_1) {
  const std::string key = identity::LoginThrottle::StoreKey("device:192.0.2.1");
  for (const char* failing : {"GetThrottle", "CountThrottleFailure"}) {
    store_->failing = {failing};
    auto r = provider_->Device(Browser("GET", "/device", "user_code=BCDF-GHJK"));
    store_->failing.clear();
    EXPECT_EQ(r.status, 503) << failing << ": " << r.body.substr(0, 300);
    EXPECT_NE(r.body.find("temporarily_unavailable"), std::string::npos) << failing;
    EXPECT_EQ(store_->Inner().GetThrottle(key).error(), store::Error::kNotFound) << failing;
  }
  auto wrong = provider_->Device(Browser("GET", "/device", "user_code=BCDF-GHJK"));
  EXPECT_EQ(wrong.status, 404) << wrong.body.substr(0, 300);
  ASSERT_TRUE(store_->Inner().GetThrottle(key).has_value());
  EXPECT_EQ(store_->Inner().GetThrottle(key)->failures, 1);
}

// Logout (RP-Initiated Logout §2) while the session cannot be read: 503. Answering "signed out"
// and clearing the cookie would leave the session live in the database.
TEST_F(StoreOutageTest, LogoutWhileTheSessionCannotBeReadIs503AndKeepsTheSession) {
  store_->failing = {"GetSession"};
  auto r = provider_->EndSession(Browser("GET", "/logout", ""));
  store_->failing.clear();
  EXPECT_EQ(r.status, 503) << r.body.substr(0, 300);
  for (const auto& [name, value] : r.headers) {
    EXPECT_FALSE(common::EqualsIgnoreCase(name, "Set-Cookie") && value.starts_with(SessionCookie(true)))
        << "the session cookie was cleared: " << value;
  }
  EXPECT_TRUE(SessionLive());
}

// A logout whose session or refresh tokens cannot be revoked must not say "signed out": 503, the
// cookie kept, and a retry ends the session.
TEST_F(StoreOutageTest, LogoutWhileTheSessionCannotBeRevokedIs503AndKeepsTheCookie) {
  // RP-Initiated Logout §2: a bare request is confirmed first; the person's "Sign out" posts the
  // decision with the page's CSRF token.
  const auto confirm = [&] {
    auto page = provider_->EndSession(Browser("GET", "/logout", ""));
    const std::string marker = "name=\"csrf\" value=\"";
    const auto at = page.body.find(marker);
    EXPECT_NE(at, std::string::npos) << page.body.substr(0, 300);
    const auto start = at == std::string::npos ? 0 : at + marker.size();
    const std::string csrf = page.body.substr(start, page.body.find('"', start) - start);
    return provider_->EndSession(Browser("POST", "/logout", "decision=logout&csrf=" + csrf));
  };
  for (const char* failing : {"RevokeSession", "RevokeRefreshTokens"}) {
    store_->failing = {failing};
    auto r = confirm();
    store_->failing.clear();
    EXPECT_EQ(r.status, 503) << failing << ": " << r.body.substr(0, 300);
    for (const auto& [name, value] : r.headers) {
      EXPECT_FALSE(common::EqualsIgnoreCase(name, "Set-Cookie") && value.starts_with(SessionCookie(true)))
          << failing << ": the session cookie was cleared: " << value;
    }
  }
  EXPECT_TRUE(SessionLive());
  auto retry = confirm();
  EXPECT_EQ(retry.status, 200) << retry.body.substr(0, 300);
  EXPECT_FALSE(SessionLive());
}

// A code redemption answered 503 temporarily_unavailable must not have spent the code: the client
// retries (RFC 6749 §5.2 via §4.1.2.1's temporarily_unavailable) and gets its tokens, whichever
// store call failed.
TEST_F(StoreOutageTest, CodeRedemptionAnswered503RedeemsOnRetry) {
  const std::pair<const char*, const char*> kCases[] = {
      {"web", "GetCode"},
      {"web", "GetUser"},
      {"web", "CreateRefreshToken"},
      {"web", "RedeemCode"},
      {"web-opaque", "CreateAccessToken"},
      {"web-opaque", "GetUser"},
  };
  for (const auto& [client, failing] : kCases) {
    const std::string code = NewCode(client);
    store_->failing = {failing};
    auto r = Redeem(client, code);
    store_->failing.clear();
    EXPECT_EQ(r.status, 503) << client << " " << failing << ": " << r.body;
    EXPECT_EQ(ErrorOf(r), "temporarily_unavailable") << client << " " << failing;
    auto retry = Redeem(client, code);
    EXPECT_EQ(retry.status, 200) << client << " " << failing << ": the code was spent: " << retry.body;
    if (retry.status != 200) continue;
    EXPECT_FALSE(Field(retry, "refresh_token").empty());
    // Exactly once: a third use is a replay.
    auto again = Redeem(client, code);
    EXPECT_EQ(ErrorOf(again), "invalid_grant") << client << " " << failing;
  }
}

// RFC 6749 §4.1.2: a code used twice is refused, and the tokens issued from it are revoked.
TEST_F(StoreOutageTest, ReplayedCodeIsRefusedAndRevokesItsGrant) {
  const std::string code = NewCode("web");
  auto first = Redeem("web", code);
  ASSERT_EQ(first.status, 200) << first.body;
  const std::string refresh = Field(first, "refresh_token");
  ASSERT_FALSE(refresh.empty());
  auto replay = Redeem("web", code);
  EXPECT_EQ(replay.status, 400);
  EXPECT_EQ(ErrorOf(replay), "invalid_grant");
  auto refreshed = Token("web", "grant_type=refresh_token&refresh_token=" + refresh);
  EXPECT_EQ(ErrorOf(refreshed), "invalid_grant") << "the replay did not revoke the grant";
}

// A refresh token is spent only by a rotation that answers with its successor: presented by another
// client, or answered 503 because the store failed, it still works for its own client afterwards.
// A request that narrows the scope (RFC 6749 §6) rotates it as one without scope does.
TEST_F(StoreOutageTest, RefreshTokenIsSpentOnlyByARotationThatAnswers) {
  auto first = Redeem("web", NewCode("web"));
  ASSERT_EQ(first.status, 200) << first.body;
  std::string refresh = Field(first, "refresh_token");
  ASSERT_FALSE(refresh.empty());

  auto stolen = Token("web-opaque", "grant_type=refresh_token&refresh_token=" + refresh);
  EXPECT_EQ(ErrorOf(stolen), "invalid_grant") << stolen.body;
  for (const char* failing : {"GetRefreshToken", "GetUser", "RotateRefreshToken"}) {
    store_->failing = {failing};
    auto r = Token("web", "grant_type=refresh_token&refresh_token=" + refresh);
    store_->failing.clear();
    EXPECT_EQ(r.status, 503) << failing << ": " << r.body;
    EXPECT_EQ(ErrorOf(r), "temporarily_unavailable") << failing;
  }
  auto rotated = Token("web", "grant_type=refresh_token&refresh_token=" + refresh);
  ASSERT_EQ(rotated.status, 200) << "spent without an answer: " << rotated.body;
  EXPECT_EQ(Field(rotated, "scope"), "openid profile");
  const std::string successor = Field(rotated, "refresh_token");
  ASSERT_FALSE(successor.empty());
  EXPECT_NE(successor, refresh);

  auto narrowed = Token("web", "grant_type=refresh_token&scope=openid&refresh_token=" + successor);
  ASSERT_EQ(narrowed.status, 200) << narrowed.body;
  EXPECT_EQ(Field(narrowed, "scope"), "openid");
  const std::string third = Field(narrowed, "refresh_token");
  ASSERT_FALSE(third.empty());
  // The successor keeps the whole grant; the one it replaced is spent.
  auto whole = Token("web", "grant_type=refresh_token&refresh_token=" + third);
  ASSERT_EQ(whole.status, 200) << whole.body;
  EXPECT_EQ(Field(whole, "scope"), "openid profile");
  EXPECT_EQ(ErrorOf(Token("web", "grant_type=refresh_token&refresh_token=" + successor)), "invalid_grant");
}

// Two redemptions of one code at once: the one that spends it second finds it spent (another node
// won between its read and its write), answers invalid_grant like a replay and revokes the grant,
// the refresh token it created itself included.
TEST_F(StoreOutageTest, RedemptionThatLosesTheRaceRevokesWhatItCreated) {
  const std::string code = NewCode("web");
  store_->before_redeem = [&](const std::string& code_hash) {
    ASSERT_TRUE(store_->Inner().RedeemCode(code_hash, clock_.NowSeconds()).has_value());
  };
  auto r = Redeem("web", code);
  store_->before_redeem = nullptr;
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorOf(r), "invalid_grant");
  const auto created = store_->CreatedRefreshTokens();
  ASSERT_EQ(created.size(), 1u) << "the redemption writes its refresh token before it spends the code";
  auto token = store_->Inner().GetRefreshToken(created[0]);
  ASSERT_TRUE(token.has_value());
  EXPECT_TRUE(token->revoked) << "the losing redemption left a live refresh token";
  EXPECT_EQ(token->family_id, oauth::RefreshFamilyForCode(crypto::Sha256(code)));
}

// Concurrent redemptions of one code through one provider: exactly one gets tokens.
TEST_F(StoreOutageTest, ConcurrentRedemptionsOfOneCodeHaveOneWinner) {
  for (int round = 0; round < 5; ++round) {
    const std::string code = NewCode("web");
    std::vector<int> statuses(6);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < statuses.size(); ++i) {
      threads.emplace_back([&, i] { statuses[i] = Redeem("web", code).status; });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200), 1) << "round " << round;
    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 400), 5) << "round " << round;
  }
}

// A wrong code_verifier (RFC 7636 §4.6) spends the code, as a wrong client or redirect_uri does
// (RFC 6749 §4.1.3): whoever presents an intercepted code without the verifier cannot keep trying,
// and the legitimate client then finds it used.
TEST_F(StoreOutageTest, FailedRedemptionCheckSpendsTheCode) {
  const std::string code = NewCode("web");
  auto wrong = Redeem("web", code, "wrong-verifier-wrong-verifier-wrong-verifier-0123");
  EXPECT_EQ(ErrorOf(wrong), "invalid_grant") << wrong.body;
  auto right = Redeem("web", code);
  EXPECT_EQ(ErrorOf(right), "invalid_grant") << right.body;
  // Issued to "web": presented by another client, it is refused and spent as well.
  const std::string other = NewCode("web");
  EXPECT_EQ(ErrorOf(Redeem("web-opaque", other)), "invalid_grant");
  EXPECT_EQ(ErrorOf(Redeem("web", other)), "invalid_grant");
}

// RFC 8628 §3.4: a poll answered temporarily_unavailable because the store failed on the way does
// not spend the approval: the device's next poll gets the tokens, exactly once.
TEST_F(StoreOutageTest, DevicePollAnswered503IssuesOnTheNextPoll) {
  const std::pair<const char*, const char*> kCases[] = {
      {"web", "GetUser"},
      {"web", "CreateRefreshToken"},
      {"web", "ConsumeDeviceCode"},
      {"web-opaque", "CreateAccessToken"},
  };
  for (const auto& [client, failing] : kCases) {
    const std::string code = NewApprovedDeviceCode(client);
    store_->failing = {failing};
    auto r = PollDevice(client, code);
    store_->failing.clear();
    EXPECT_EQ(r.status, 503) << client << " " << failing << ": " << r.body;
    EXPECT_EQ(ErrorOf(r), "temporarily_unavailable") << client << " " << failing;
    clock_.Advance(5);  // the polling interval (§3.5: sooner is slow_down)
    auto retry = PollDevice(client, code);
    EXPECT_EQ(retry.status, 200) << client << " " << failing << ": the approval was spent: " << retry.body;
    if (retry.status != 200) continue;
    EXPECT_FALSE(Field(retry, "refresh_token").empty());
    clock_.Advance(5);
    EXPECT_EQ(ErrorOf(PollDevice(client, code)), "invalid_grant")
        << client << " " << failing << ": single use";
  }
}

// A second node spends the approval between this poll's read and its write: this poll answers
// invalid_grant like a replay and revokes the grant, its own refresh token included.
TEST_F(StoreOutageTest, DevicePollThatLosesTheRaceRevokesWhatItCreated) {
  const std::string code = NewApprovedDeviceCode("web");
  store_->before_consume = [&](const std::string& hash) {
    ASSERT_TRUE(store_->Inner().ConsumeDeviceCode(hash, clock_.NowSeconds()).has_value());
  };
  auto r = PollDevice("web", code);
  store_->before_consume = nullptr;
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorOf(r), "invalid_grant");
  const auto created = store_->CreatedRefreshTokens();
  ASSERT_EQ(created.size(), 1u) << "the poll writes its refresh token before it spends the approval";
  auto token = store_->Inner().GetRefreshToken(created[0]);
  ASSERT_TRUE(token.has_value());
  EXPECT_TRUE(token->revoked) << "the losing poll left a live refresh token";
}

}  // namespace
}  // namespace latchkey::server
