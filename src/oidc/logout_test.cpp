#include "oidc/logout.hpp"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <stdexcept>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/base64.hpp"
#include "common/testing/counting_random.hpp"
#include "crypto/key.hpp"
#include "oidc/id_token.hpp"

namespace latchkey::oidc {
namespace {

constexpr int64_t kNow = 1'700'000'000;
constexpr std::string_view kIssuer = "https://op.example.com";

jose::SigningKey MakeKey() {
  auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  if (!key) throw std::runtime_error("GenerateKey failed");
  return jose::SigningKey{.kid = "k1", .alg = jose::Alg::kES256, .key = *key};
}

jose::Jwks PublicSet(const jose::SigningKey& key) {
  jose::Jwks set;
  set.keys.push_back(jose::Jwk{.kid = key.kid, .alg = key.alg, .use = "sig", .key = *key.key.PublicOnly()});
  return set;
}

jose::Result<jose::ParsedJws> Verify(const std::string& token, const jose::SigningKey& key) {
  const std::array<jose::Alg, 1> allowed = {key.alg};
  return jose::VerifyJws(token, PublicSet(key), allowed);
}

LogoutTokenInput Input() {
  return LogoutTokenInput{.issuer = std::string(kIssuer),
                          .audience = "rp1",
                          .subject = "user-42",
                          .sid = "08a5019c-17e1-4977-8f42-65a12843ea02"};
}

// ---------------------------------------------------------------------------------------------
// Back-Channel Logout §2.4: the Logout Token

TEST(SignLogoutToken, HeaderAndClaimsFollowSection2_4) {
  const jose::SigningKey key = MakeKey();
  common::FakeClock clock(kNow);
  common::testing::CountingRandom random;

  auto token = SignLogoutToken(Input(), key, clock, random);
  ASSERT_TRUE(token) << jose::ErrcName(token.error());
  auto parsed = Verify(*token, key);
  ASSERT_TRUE(parsed) << jose::ErrcName(parsed.error());
  // §2.4 / §4.1: explicitly typed.
  EXPECT_EQ(parsed->header.at("typ").as_string(), "logout+jwt");
  EXPECT_EQ(parsed->header.at("kid").as_string(), "k1");
  EXPECT_EQ(parsed->header.at("alg").as_string(), "ES256");

  auto claims = boost::json::parse(parsed->payload).as_object();
  EXPECT_EQ(claims.at("iss").as_string(), kIssuer);
  ASSERT_TRUE(claims.at("aud").is_string());
  EXPECT_EQ(claims.at("aud").as_string(), "rp1");
  EXPECT_EQ(claims.at("sub").as_string(), "user-42");
  EXPECT_EQ(claims.at("sid").as_string(), "08a5019c-17e1-4977-8f42-65a12843ea02");
  EXPECT_EQ(claims.at("iat").as_int64(), kNow);
  EXPECT_EQ(claims.at("exp").as_int64(), kNow + 120);  // §4: at most two minutes by default
  auto jti = common::Base64UrlDecode(claims.at("jti").as_string());
  ASSERT_TRUE(jti);
  EXPECT_EQ(jti->size(), 16u);
  // §2.4: events holds the back-channel-logout member, whose value SHOULD be {}.
  const auto& events = claims.at("events").as_object();
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events.at("http://schemas.openid.net/event/backchannel-logout").is_object());
  EXPECT_TRUE(events.at("http://schemas.openid.net/event/backchannel-logout").as_object().empty());
  // §2.4: "A nonce Claim MUST NOT be present."
  EXPECT_FALSE(claims.contains("nonce"));
  EXPECT_EQ(claims.size(), 8u);  // iss aud iat exp jti sub sid events: nothing else

  // The RP's generic JWT checks (§2.6 step 4) pass.
  auto checked = jose::CheckClaims(
      parsed->payload,
      jose::ClaimsCheck{.issuer = std::string(kIssuer), .audience = "rp1", .require_iat = true}, clock);
  EXPECT_TRUE(checked);
}

// §2.4: "A Logout Token MUST contain either a sub or a sid Claim, and MAY contain both."
TEST(SignLogoutToken, SubOrSidEachSuffice) {
  const jose::SigningKey key = MakeKey();
  common::FakeClock clock(kNow);
  common::testing::CountingRandom random;
  struct Case {
    std::string subject, sid;
  };
  for (const auto& c : {Case{"user-42", ""}, Case{"", "sid-1"}}) {
    LogoutTokenInput in = Input();
    in.subject = c.subject;
    in.sid = c.sid;
    auto token = SignLogoutToken(in, key, clock, random);
    ASSERT_TRUE(token) << c.subject << c.sid;
    auto claims = boost::json::parse(Verify(*token, key)->payload).as_object();
    EXPECT_EQ(claims.contains("sub"), !c.subject.empty());
    EXPECT_EQ(claims.contains("sid"), !c.sid.empty());
  }
}

TEST(SignLogoutToken, RejectedInputs) {
  const jose::SigningKey key = MakeKey();
  common::FakeClock clock(kNow);
  common::testing::CountingRandom random;
  struct Case {
    std::string name;
    LogoutTokenInput input;
    jose::Errc expected;
  };
  auto with = [](auto change) {
    LogoutTokenInput in = Input();
    change(in);
    return in;
  };
  const Case cases[] = {
      // §2.4: MUST contain either a sub or a sid Claim.
      {"neither sub nor sid", with([](auto& in) { in.subject = in.sid = ""; }), jose::Errc::kMissingClaim},
      // §2.4: iss and aud are REQUIRED.
      {"no issuer", with([](auto& in) { in.issuer = ""; }), jose::Errc::kMissingClaim},
      {"no audience", with([](auto& in) { in.audience = ""; }), jose::Errc::kMissingClaim},
  };
  for (const auto& c : cases) {
    auto token = SignLogoutToken(c.input, key, clock, random);
    ASSERT_FALSE(token) << c.name;
    EXPECT_EQ(token.error(), c.expected) << c.name;
  }

  jose::SigningKey public_only{.kid = "k1", .alg = jose::Alg::kES256, .key = *key.key.PublicOnly()};
  auto token = SignLogoutToken(Input(), public_only, clock, random);
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error(), jose::Errc::kInvalidKey);
}

// §2.4 jti: "Unique identifier for the token": drawn fresh from the injected Random each time.
TEST(SignLogoutToken, JtiIsFreshPerToken) {
  const jose::SigningKey key = MakeKey();
  common::FakeClock clock(kNow);
  common::testing::CountingRandom random;
  auto a = SignLogoutToken(Input(), key, clock, random);
  auto b = SignLogoutToken(Input(), key, clock, random);
  ASSERT_TRUE(a && b);
  auto jti_a = boost::json::parse(Verify(*a, key)->payload).as_object().at("jti");
  auto jti_b = boost::json::parse(Verify(*b, key)->payload).as_object().at("jti");
  EXPECT_NE(jti_a, jti_b);
}

// §2.5: the POST body is form-encoded with a logout_token parameter.
TEST(LogoutRequestBody, FormEncodesTheToken) {
  EXPECT_EQ(LogoutRequestBody("eyJ.a-b_c.d"), "logout_token=eyJ.a-b_c.d");
  EXPECT_EQ(LogoutRequestBody("a+b/c="), "logout_token=a%2Bb%2Fc%3D");
}

// ---------------------------------------------------------------------------------------------
// RP-Initiated Logout §2: request parameters

TEST(ParseEndSessionRequest, CopiesTheSection2ParametersFromQueryOrForm) {
  auto request = ParseEndSessionRequest(
      "id_token_hint=eyJ.x.y&logout_hint=jane%40example.com&client_id=rp1"
      "&post_logout_redirect_uri=https%3A%2F%2Frp1.example%2Fbye&state=s+t%26u&ui_locales=fr-CA+fr"
      "&unknown=ignored");
  ASSERT_TRUE(request) << request.error().description;
  EXPECT_EQ(request->id_token_hint, "eyJ.x.y");
  EXPECT_EQ(request->logout_hint, "jane@example.com");
  EXPECT_EQ(request->client_id, "rp1");
  EXPECT_EQ(request->post_logout_redirect_uri, "https://rp1.example/bye");
  EXPECT_EQ(request->state, "s t&u");
  EXPECT_EQ(request->ui_locales, "fr-CA fr");

  // RFC 6749 §3.1: a parameter without a value is treated as omitted.
  auto empty = ParseEndSessionRequest("client_id=&state=");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->client_id, "");
  EXPECT_EQ(empty->state, "");
}

TEST(ParseEndSessionRequest, RejectedInputs) {
  const std::string rejected[] = {
      // RFC 6749 §3.1 (applied to every OAuth/OIDC endpoint): parameters MUST NOT repeat; a second
      // post_logout_redirect_uri must not override the one the RP sent.
      "post_logout_redirect_uri=https%3A%2F%2Frp1.example%2Fbye&post_logout_redirect_uri=https%3A%2F%2Fevil",
      "client_id=rp1&client_id=rp2",
      "state=a&state=b",
      "id_token_hint=a&id_token_hint=b",
      "state=%zz",  // malformed percent-encoding
  };
  for (const auto& text : rejected) {
    auto request = ParseEndSessionRequest(text);
    ASSERT_FALSE(request) << text;
    EXPECT_EQ(request.error().code, oauth::ErrorCode::kInvalidRequest) << text;
  }
}

// ---------------------------------------------------------------------------------------------
// RP-Initiated Logout §2: the id_token_hint

jose::ParsedJws Jws(boost::json::object header, std::string payload) {
  return jose::ParsedJws{.header = std::move(header), .payload = std::move(payload)};
}

TEST(IdTokenHintClaimsFrom, AcceptedHints) {
  struct Case {
    std::string name;
    jose::ParsedJws jws;
    IdTokenHintClaims expected;
  };
  const Case cases[] = {
      {"aud string, no typ",
       Jws({}, R"({"iss":"https://op.example.com","sub":"u1","aud":"rp1"})"),
       {"u1", {"rp1"}, ""}},
      {"aud array and sid",
       Jws({{"typ", "JWT"}}, R"({"iss":"https://op.example.com","sub":"u1","aud":["rp1","rp2"],"sid":"s1"})"),
       {"u1", {"rp1", "rp2"}, "s1"}},
      // RFC 7519 §5.1: typ is compared case-insensitively.
      {"typ lower case",
       Jws({{"typ", "jwt"}}, R"({"iss":"https://op.example.com","sub":"u1","aud":"rp1"})"),
       {"u1", {"rp1"}, ""}},
      // §2: "The OP SHOULD accept ID Tokens [...] even when the exp time has passed."
      {"expired long ago",
       Jws({}, R"({"iss":"https://op.example.com","sub":"u1","aud":"rp1","exp":1,"iat":0,"nonce":"n"})"),
       {"u1", {"rp1"}, ""}},
  };
  for (const auto& c : cases) {
    auto claims = IdTokenHintClaimsFrom(c.jws, kIssuer);
    ASSERT_TRUE(claims) << c.name << ": " << jose::ErrcName(claims.error());
    EXPECT_EQ(claims->sub, c.expected.sub) << c.name;
    EXPECT_EQ(claims->aud, c.expected.aud) << c.name;
    EXPECT_EQ(claims->sid, c.expected.sid) << c.name;
  }
}

TEST(IdTokenHintClaimsFrom, RejectedHints) {
  struct Case {
    std::string name;
    jose::ParsedJws jws;
    jose::Errc expected;
  };
  const std::string ok_rest = R"("sub":"u1","aud":"rp1")";
  const Case cases[] = {
      // §2: "the OP MUST validate that it was the issuer of the ID Token".
      {"other issuer", Jws({}, R"({"iss":"https://other.example.com",)" + ok_rest + "}"),
       jose::Errc::kWrongIssuer},
      {"issuer prefix", Jws({}, R"({"iss":"https://op.example.com/x",)" + ok_rest + "}"),
       jose::Errc::kWrongIssuer},
      {"no issuer", Jws({}, "{" + ok_rest + "}"), jose::Errc::kMissingClaim},
      // RFC 8725 §3.11 / Back-Channel Logout §4.1: other JWTs signed with the same keys.
      {"access token", Jws({{"typ", "at+jwt"}}, R"({"iss":"https://op.example.com",)" + ok_rest + "}"),
       jose::Errc::kMalformed},
      {"logout token", Jws({{"typ", "logout+jwt"}}, R"({"iss":"https://op.example.com",)" + ok_rest + "}"),
       jose::Errc::kMalformed},
      {"typ not a string", Jws({{"typ", 1}}, R"({"iss":"https://op.example.com",)" + ok_rest + "}"),
       jose::Errc::kMalformed},
      {"no sub", Jws({}, R"({"iss":"https://op.example.com","aud":"rp1"})"), jose::Errc::kMissingClaim},
      {"empty sub", Jws({}, R"({"iss":"https://op.example.com","sub":"","aud":"rp1"})"),
       jose::Errc::kMissingClaim},
      {"numeric sub", Jws({}, R"({"iss":"https://op.example.com","sub":42,"aud":"rp1"})"),
       jose::Errc::kMissingClaim},
      {"no aud", Jws({}, R"({"iss":"https://op.example.com","sub":"u1"})"), jose::Errc::kMissingClaim},
      {"aud number", Jws({}, R"({"iss":"https://op.example.com","sub":"u1","aud":7})"),
       jose::Errc::kMissingClaim},
      {"aud empty array", Jws({}, R"({"iss":"https://op.example.com","sub":"u1","aud":[]})"),
       jose::Errc::kMissingClaim},
      {"aud array of number", Jws({}, R"({"iss":"https://op.example.com","sub":"u1","aud":[1]})"),
       jose::Errc::kMissingClaim},
      {"aud empty string", Jws({}, R"({"iss":"https://op.example.com","sub":"u1","aud":""})"),
       jose::Errc::kMissingClaim},
      {"sid number", Jws({}, R"({"iss":"https://op.example.com","sub":"u1","aud":"rp1","sid":5})"),
       jose::Errc::kMissingClaim},
      {"payload not JSON", Jws({}, "not json"), jose::Errc::kMalformed},
      {"payload an array", Jws({}, "[1]"), jose::Errc::kMalformed},
  };
  for (const auto& c : cases) {
    auto claims = IdTokenHintClaimsFrom(c.jws, kIssuer);
    ASSERT_FALSE(claims) << c.name;
    EXPECT_EQ(claims.error(), c.expected) << c.name << ": " << jose::ErrcName(claims.error());
  }
}

// The real thing: an ID Token this OP signed is a usable hint; a Logout Token it signed is not.
TEST(IdTokenHintClaimsFrom, SignedIdTokenRoundTripAndLogoutTokenRefused) {
  const jose::SigningKey key = MakeKey();
  common::FakeClock clock(kNow);
  common::testing::CountingRandom random;
  IdTokenInput id{.issuer = std::string(kIssuer), .subject = "user-42", .audience = "rp1"};
  id.extra_claims["sid"] = "s-1";
  auto id_token = SignIdToken(id, key, clock);
  ASSERT_TRUE(id_token);
  auto verified = Verify(*id_token, key);
  ASSERT_TRUE(verified);
  auto claims = IdTokenHintClaimsFrom(*verified, kIssuer);
  ASSERT_TRUE(claims) << jose::ErrcName(claims.error());
  EXPECT_EQ(claims->sub, "user-42");
  EXPECT_EQ(claims->aud, std::vector<std::string>{"rp1"});
  EXPECT_EQ(claims->sid, "s-1");

  auto logout_token = SignLogoutToken(Input(), key, clock, random);
  ASSERT_TRUE(logout_token);
  auto verified_logout = Verify(*logout_token, key);
  ASSERT_TRUE(verified_logout);
  auto refused = IdTokenHintClaimsFrom(*verified_logout, kIssuer);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), jose::Errc::kMalformed);
}

// ---------------------------------------------------------------------------------------------
// RP-Initiated Logout §2, §3, §4, §6: the decision

store::ClientRecord Client(std::string id, std::vector<std::string> post_logout_redirect_uris) {
  store::ClientRecord client;
  client.client_id = std::move(id);
  client.post_logout_redirect_uris = std::move(post_logout_redirect_uris);
  return client;
}

oauth::ClientLookup Clients() {
  static const std::map<std::string, store::ClientRecord, std::less<>> kClients = {
      {"rp1", Client("rp1", {"https://rp1.example/bye", "https://rp1.example/cb?tenant=a"})},
      {"rp2", Client("rp2", {"https://rp2.example/bye"})},
  };
  return [](std::string_view id) -> std::optional<store::ClientRecord> {
    auto it = kClients.find(id);
    if (it == kClients.end()) return std::nullopt;
    return it->second;
  };
}

// Hint: the claims of a verified id_token_hint for user-42, issued to `aud`, in session `sid`.
std::optional<IdTokenHintClaims> Hint(std::vector<std::string> aud = {"rp1"}, std::string sid = "",
                                      std::string sub = "user-42") {
  return IdTokenHintClaims{std::move(sub), std::move(aud), std::move(sid)};
}

std::optional<CurrentSession> Session(std::string user = "user-42", std::string sid = "") {
  return CurrentSession{std::move(user), std::move(sid)};
}

struct DecideCase {
  std::string name;  // names the rule and its section
  EndSessionRequest request;
  std::optional<IdTokenHintClaims> hint;
  std::optional<CurrentSession> session;
};

// WithHint returns `request` with an id_token_hint set (its value is opaque to DecideEndSession).
EndSessionRequest WithHint(EndSessionRequest request) {
  request.id_token_hint = "eyJ.hint.sig";
  return request;
}

TEST(DecideEndSession, AcceptedRequests) {
  struct Expected {
    std::string client_id;  // "" for none
    bool confirm;
    std::optional<std::string> redirect_uri;
  };
  const std::pair<DecideCase, Expected> cases[] = {
      // §2 / §6: no id_token_hint -> the End-User MUST be asked.
      {{"§2 no parameters, no session", {}, std::nullopt, std::nullopt}, {"", true, std::nullopt}},
      {{"§2/§6 no hint with a session", {}, std::nullopt, Session()}, {"", true, std::nullopt}},
      {{"§2 client_id without hint still confirms", {.client_id = "rp1"}, std::nullopt, Session()},
       {"rp1", true, std::nullopt}},
      // §2: a hint for the logged-in End-User: no question needed; the client comes from aud.
      {{"§2 hint matches session user", WithHint({}), Hint(), Session()}, {"rp1", false, std::nullopt}},
      {{"§2 hint matches user and sid", WithHint({}), Hint({"rp1"}, "s-1"), Session("user-42", "s-1")},
       {"rp1", false, std::nullopt}},
      {{"§2 hint without sid, session with sid", WithHint({}), Hint(), Session("user-42", "s-1")},
       {"rp1", false, std::nullopt}},
      {{"§2 hint with sid, session sid unknown", WithHint({}), Hint({"rp1"}, "s-1"), Session()},
       {"rp1", false, std::nullopt}},
      // §2: "does not belong to [...] currently logged in End-User" -> MUST ask.
      {{"§2 hint for another user", WithHint({}), Hint({"rp1"}, "", "someone-else"), Session()},
       {"rp1", true, std::nullopt}},
      // §2: "does not belong to the current OP session" -> MUST ask.
      {{"§2 hint for another session of the user", WithHint({}), Hint({"rp1"}, "s-old"),
        Session("user-42", "s-1")},
       {"rp1", true, std::nullopt}},
      // §4: idempotent; nothing to log out, nothing to ask.
      {{"§4 hint but no session", WithHint({}), Hint(), std::nullopt}, {"rp1", false, std::nullopt}},
      // §2: client_id and hint agree.
      {{"§2 client_id equals hint aud", WithHint({.client_id = "rp1"}), Hint(), Session()},
       {"rp1", false, std::nullopt}},
      {{"§2 client_id picks one of several aud", WithHint({.client_id = "rp2"}), Hint({"rp1", "rp2"}),
        Session()},
       {"rp2", false, std::nullopt}},
      {{"several aud and no client_id: no client", WithHint({}), Hint({"rp1", "rp2"}), Session()},
       {"", false, std::nullopt}},
      // §3: registered URI, state passed back.
      {{"§3 redirect with state",
        WithHint({.post_logout_redirect_uri = "https://rp1.example/bye", .state = "xyz"}), Hint(), Session()},
       {"rp1", false, "https://rp1.example/bye?state=xyz"}},
      {{"§3 redirect without state", WithHint({.post_logout_redirect_uri = "https://rp1.example/bye"}),
        Hint(), Session()},
       {"rp1", false, "https://rp1.example/bye"}},
      {{"§3 existing query kept, state appended",
        WithHint({.post_logout_redirect_uri = "https://rp1.example/cb?tenant=a", .state = "xyz"}), Hint(),
        Session()},
       {"rp1", false, "https://rp1.example/cb?tenant=a&state=xyz"}},
      {{"§3 state is form-encoded",
        WithHint({.post_logout_redirect_uri = "https://rp1.example/bye", .state = "a b&c=d#e"}), Hint(),
        Session()},
       {"rp1", false, "https://rp1.example/bye?state=a+b%26c%3Dd%23e"}},
      // §3 "other means of confirming the legitimacy": client_id + exact registered URI, after the
      // End-User confirms.
      {{"§3 client_id without hint may redirect after confirmation",
        {.client_id = "rp2", .post_logout_redirect_uri = "https://rp2.example/bye", .state = "s"},
        std::nullopt,
        Session()},
       {"rp2", true, "https://rp2.example/bye?state=s"}},
      {{"§2 state without post_logout_redirect_uri is unused", WithHint({.state = "xyz"}), Hint(), Session()},
       {"rp1", false, std::nullopt}},
      {{"§2 logout_hint and ui_locales do not change the decision",
        WithHint({.logout_hint = "someone-else", .ui_locales = "fr"}), Hint(), Session()},
       {"rp1", false, std::nullopt}},
  };
  for (const auto& [c, expected] : cases) {
    auto decision = DecideEndSession(c.request, c.hint, Clients(), c.session);
    ASSERT_TRUE(decision) << c.name << ": " << decision.error().description;
    EXPECT_EQ(decision->client ? decision->client->client_id : "", expected.client_id) << c.name;
    EXPECT_EQ(decision->confirm, expected.confirm) << c.name;
    EXPECT_EQ(decision->redirect_uri, expected.redirect_uri) << c.name;
    EXPECT_EQ(decision->hint_subject, c.hint ? c.hint->sub : "") << c.name;
  }
}

TEST(DecideEndSession, RejectedRequests) {
  const std::pair<DecideCase, std::string> cases[] = {
      // §4: a hint that failed verification MUST NOT be used (nor a redirect performed).
      {{"§4 id_token_hint failed verification",
        WithHint({.post_logout_redirect_uri = "https://rp1.example/bye"}), std::nullopt, Session()},
       "id_token_hint is invalid"},
      // §2: "the OP MUST verify that the Client Identifier matches the one used when issuing the ID
      // Token".
      {{"§2 client_id differs from hint aud", WithHint({.client_id = "rp2"}), Hint(), Session()},
       "client_id does not match the id_token_hint"},
      {{"unknown client_id", {.client_id = "nope"}, std::nullopt, Session()}, "unknown client"},
      {{"hint aud is an unknown client", WithHint({}), Hint({"deleted-client"}), Session()},
       "unknown client"},
      // §3: the URI must have been registered by an identified RP.
      {{"§3 redirect without any client",
        {.post_logout_redirect_uri = "https://rp1.example/bye"},
        std::nullopt,
        Session()},
       "post_logout_redirect_uri requires client_id or id_token_hint"},
      {{"§3 redirect with several aud and no client_id",
        WithHint({.post_logout_redirect_uri = "https://rp1.example/bye"}), Hint({"rp1", "rp2"}), Session()},
       "post_logout_redirect_uri requires client_id or id_token_hint"},
      // §3: "MUST NOT perform post-logout redirection if the post_logout_redirect_uri value supplied
      // does not exactly match one of the previously registered post_logout_redirect_uris".
      {{"§3 unregistered URI", WithHint({.post_logout_redirect_uri = "https://evil.example/"}), Hint(),
        Session()},
       "post_logout_redirect_uri is not registered for this client"},
      {{"§3 another client's URI", WithHint({.post_logout_redirect_uri = "https://rp2.example/bye"}), Hint(),
        Session()},
       "post_logout_redirect_uri is not registered for this client"},
      {{"§3 exact match: trailing slash", WithHint({.post_logout_redirect_uri = "https://rp1.example/bye/"}),
        Hint(), Session()},
       "post_logout_redirect_uri is not registered for this client"},
      {{"§3 exact match: host case", WithHint({.post_logout_redirect_uri = "https://RP1.example/bye"}),
        Hint(), Session()},
       "post_logout_redirect_uri is not registered for this client"},
      {{"§3 exact match: added query", WithHint({.post_logout_redirect_uri = "https://rp1.example/bye?x=1"}),
        Hint(), Session()},
       "post_logout_redirect_uri is not registered for this client"},
      {{"§3 exact match: percent-encoding",
        WithHint({.post_logout_redirect_uri = "https://rp1.example/%62ye"}), Hint(), Session()},
       "post_logout_redirect_uri is not registered for this client"},
      {{"§3 exact match: prefix of a registered URI",
        WithHint({.post_logout_redirect_uri = "https://rp1.example/cb"}), Hint(), Session()},
       "post_logout_redirect_uri is not registered for this client"},
      {{"§3 client_id only, unregistered URI",
        {.client_id = "rp1", .post_logout_redirect_uri = "https://evil.example/"},
        std::nullopt,
        Session()},
       "post_logout_redirect_uri is not registered for this client"},
  };
  for (const auto& [c, description] : cases) {
    auto decision = DecideEndSession(c.request, c.hint, Clients(), c.session);
    ASSERT_FALSE(decision) << c.name;
    EXPECT_EQ(decision.error().code, oauth::ErrorCode::kInvalidRequest) << c.name;
    EXPECT_EQ(decision.error().description, description) << c.name;
  }
}

}  // namespace
}  // namespace latchkey::oidc
