#pragma once

// StoreContractTest: the behaviour every store::Store backend must show. The cases are in
// store_contract_test.cpp, compiled once (the latchkey_store_contract object library); a backend's test
// executable links that library and instantiates the suite with a function returning a fresh,
// empty store (the function owns any cleanup, e.g. by returning a wrapper that deletes its temp
// file when destroyed):
//
//   std::unique_ptr<Store> MakeMemoryStore() { return NewMemoryStore(); }
//   INSTANTIATE_TEST_SUITE_P(Memory, StoreContractTest,
//                            ::testing::Values(StoreBackend{"memory", &MakeMemoryStore}));

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "store/store.hpp"

namespace latchkey::store::testing {

// MakeClient returns a confidential client with every field set to a value distinct per `id`.
inline ClientRecord MakeClient(const std::string& id) {
  ClientRecord c;
  c.client_id = id;
  c.client_name = "Client " + id;
  c.secret_hash = std::string(32, '\x5a');
  c.token_endpoint_auth_method = "client_secret_basic";
  c.redirect_uris = {"https://" + id + ".example/cb"};
  c.grant_types = {"authorization_code", "refresh_token"};
  c.scopes = {"openid", "profile"};
  c.post_logout_redirect_uris = {"https://" + id + ".example/bye"};
  c.access_token_lifetime = 600;
  c.access_token_alg = "ES256";
  c.id_token_signed_response_alg = "PS256";
  c.access_token_format = "opaque";
  c.backchannel_logout_uri = "https://" + id + ".example/backchannel-logout";
  c.backchannel_logout_session_required = true;
  c.introspect_any = false;
  c.created_at = 1700000000;
  c.updated_at = 1700000001;
  return c;
}

// MakeAwkwardClient returns a client whose text and bytes break naive encodings: separators,
// quotes, escapes, newlines, NUL, non-ASCII and invalid UTF-8, empty strings and an empty list.
inline ClientRecord MakeAwkwardClient() {
  using namespace std::string_literals;
  ClientRecord c;
  c.client_id = "awkward id, \"quoted\"\n\xc3\xa9\xe2\x9c\x93";
  c.client_name = "Caf\xc3\xa9 \xf0\x9f\x94\x91 'single' \"double\" \\backslash\\ \t tab";
  c.secret_hash = "\x00\x01\xff\xfe\x00"s + std::string(27, '\0');
  c.token_endpoint_auth_method = "none";
  c.redirect_uris = {"https://a.example/cb?x=1,2&y=\"3\"",
                     "https://b.example/with space",
                     "line1\nline2\r\nline3",
                     "",
                     "[\"not\",\"json\"]",
                     "nul\0inside"s,
                     "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80",
                     "\\u0000 literal backslash-u",
                     "\xff\xfe invalid utf-8"};
  c.grant_types = {};
  c.scopes = {"openid", "a,b", "with space", "", "\n"};
  c.post_logout_redirect_uris = {""};
  c.access_token_lifetime = -9223372036854775807LL - 1;
  c.access_token_alg = "";
  // The store does not validate algs (oauth::ValidateClient does), so this one only tests bytes.
  c.id_token_signed_response_alg = "EdDSA\0'\"\n\xc3\xa9\xff"s;
  c.access_token_format = "jwt\0opaque \"\xff"s;
  c.backchannel_logout_uri = "https://rp.example/logout?sid=\"1\"&x=\xc3\xa9\n\0"s;
  c.backchannel_logout_session_required = false;  // the booleans the other way round from MakeClient
  c.introspect_any = true;
  c.created_at = 9223372036854775807LL;
  c.updated_at = -1;
  return c;
}

// MakeUser returns an active user with every field set to a value distinct per `id`; the username
// is "user-" + id.
inline UserRecord MakeUser(const std::string& id) {
  UserRecord u;
  u.user_id = id;
  u.username = "user-" + id;
  u.password_hash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
  u.status = "active";
  u.name = "Name " + id;
  u.given_name = "Given " + id;
  u.family_name = "Family " + id;
  u.preferred_username = "pref-" + id;
  u.email = id + "@example.com";
  u.email_verified = true;
  u.phone_number = "+1 555 0100";
  u.phone_number_verified = false;
  u.address_json = R"({"country":"US"})";
  u.picture = "https://example.com/" + id + ".png";
  u.locale = "en-US";
  u.zoneinfo = "America/New_York";
  u.created_at = 1700000000;
  u.updated_at = 1700000002;
  return u;
}

// MakeAwkwardUser returns a user whose text breaks naive encodings (non-ASCII, quotes, newlines,
// NUL, invalid UTF-8), with booleans the other way round from MakeUser and int64 extremes.
inline UserRecord MakeAwkwardUser() {
  using namespace std::string_literals;
  UserRecord u;
  u.user_id = "sub \"quoted\"\n\xc3\xa9\xe2\x9c\x93";
  u.username = "J\xc3\xbcrgen.M\xc3\xbcller'; DROP TABLE users; --";
  u.password_hash = "";
  u.status = "disabled";
  u.name = "\xe5\xb1\xb1\xe7\x94\xb0 \xe5\xa4\xaa\xe9\x83\x8e \xf0\x9f\x94\x91";
  u.given_name = "Zo\xc3\xab \"Z\" \\backslash\\";
  u.family_name = "O'Brien\tTab";
  u.preferred_username = "";
  u.email = "nul\0inside@example.com"s;
  u.email_verified = false;
  u.phone_number = "\xff\xfe invalid utf-8";
  u.phone_number_verified = true;
  u.address_json =
      "{\"formatted\":\"1 \\\"Main\\\" St\\nApt 2\\nSpringfield\",\n  \"street_address\":\"1 Main "
      "St\\r\\nApt 2\","
      "\"locality\":\"K\xc3\xb8"
      "benhavn\",\"country\":\"DK\"}";
  u.picture = "";
  u.locale = "\n";
  u.zoneinfo = "Europe/Copenhagen";
  u.created_at = -9223372036854775807LL - 1;
  u.updated_at = 9223372036854775807LL;
  return u;
}

// AllAtOnce runs body(0) .. body(threads - 1) on as many threads, released together so that their
// store calls race, and returns when all have finished.
inline void AllAtOnce(int threads, const std::function<void(int)>& body) {
  std::atomic<bool> go{false};
  std::vector<std::thread> running;
  running.reserve(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    running.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      body(t);
    });
  }
  go.store(true);
  for (auto& th : running) th.join();
}

// Race tallies the answers of calls that race (AllAtOnce): a call that succeeded won, one that
// failed with the error a loser must get lost, and any other answer is wrong.
struct Race {
  std::atomic<int> won{0};
  std::atomic<int> lost{0};
  std::atomic<int> others{0};
  std::atomic<int> winner{-1};  // the thread that won (the last one, if several did)

  // Count tallies `r`, the answer of thread `t`; `losing` is the error a loser gets.
  template <class T>
  void Count(int t, const Result<T>& r, Error losing) {
    if (r.has_value()) {
      ++won;
      winner.store(t);
    } else if (r.error() == losing) {
      ++lost;
    } else {
      ++others;
    }
  }

  // OneWinner: of `threads` calls exactly one won and all the others lost.
  ::testing::AssertionResult OneWinner(int threads) const {
    if (won.load() == 1 && lost.load() == threads - 1 && others.load() == 0)
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << won.load() << " won, " << lost.load() << " lost and "
                                         << others.load() << " answered otherwise, of " << threads;
  }
};

// Hash returns a 32-byte stand-in for a SHA-256 digest that differs per `seed` and contains NUL
// bytes (at the start, in the middle and at the end), as real digests may.
inline std::string Hash(const std::string& seed) {
  std::string h(32, '\0');
  for (std::size_t i = 0; i < seed.size() && i + 1 < h.size(); ++i) h[i + 1] = seed[i];
  h[16] = '\xff';
  return h;
}

// MakeSession returns a session of `user_id` with every field set; id_hash is Hash(seed).
inline SessionRecord MakeSession(const std::string& seed, const std::string& user_id,
                                 int64_t created_at = 1000) {
  SessionRecord s;
  s.id_hash = Hash(seed);
  s.user_id = user_id;
  s.created_at = created_at;
  s.last_seen_at = created_at + 5;
  s.auth_time = created_at - 1;
  s.amr = "pwd otp";
  s.acr = "urn:example:loa:2";
  s.revoked = false;
  return s;
}

// MakeCode returns an unused code of `user_id`, expiring at `expires_at`, with every field set and
// awkward bytes in the free-text ones; code_hash is Hash(seed).
inline AuthorizationCodeRecord MakeCode(const std::string& seed, const std::string& user_id,
                                        int64_t expires_at = 2000) {
  using namespace std::string_literals;
  AuthorizationCodeRecord c;
  c.code_hash = Hash(seed);
  c.client_id = "client \"" + seed + "\"";
  c.user_id = user_id;
  c.session_id_hash = Hash("session-" + seed);
  c.redirect_uri = "https://app.example/cb?x=1&y=\xc3\xa9";
  c.redirect_uri_sent = true;
  c.scope = "openid profile email";
  c.nonce = "n\0nce\n"s;
  c.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
  c.code_challenge_method = "S256";
  c.auth_time = 990;
  c.amr = "pwd";
  c.acr = "\xff\xfe";
  c.created_at = 1000;
  c.expires_at = expires_at;
  c.used = false;
  return c;
}

// MakeRefreshToken returns a current, unrevoked refresh token of `user_id` in `family_id` with every
// field set and awkward bytes in the free-text ones; token_hash is Hash("rt-" + seed).
inline RefreshTokenRecord MakeRefreshToken(const std::string& seed, const std::string& user_id,
                                           const std::string& family_id = "fam", int64_t expires_at = 2000,
                                           int64_t family_expires_at = 5000) {
  using namespace std::string_literals;
  RefreshTokenRecord r;
  r.token_hash = Hash("rt-" + seed);
  r.family_id = family_id;
  r.client_id = "client \"a\"";
  r.user_id = user_id;
  r.scope = "openid offline_access";
  r.session_id_hash = Hash("session-" + seed);
  r.auth_time = 990;
  r.amr = "pwd\0otp"s;
  r.acr = "\xff\xfe";
  r.created_at = 1000;
  r.expires_at = expires_at;
  r.family_expires_at = family_expires_at;
  r.rotated_at = 0;
  r.successor_hash = "";
  r.revoked = false;
  return r;
}

// MakeAccessToken returns an unrevoked opaque access token of `user_id` (empty: a client's own
// token) with every field set and awkward bytes in the free-text ones; token_hash is
// Hash("at-" + seed).
inline AccessTokenRecord MakeAccessToken(const std::string& seed, const std::string& user_id,
                                         int64_t expires_at = 2000) {
  using namespace std::string_literals;
  AccessTokenRecord t;
  t.token_hash = Hash("at-" + seed);
  t.client_id = "client \"a\"";
  t.subject = user_id.empty() ? t.client_id : user_id;
  t.user_id = user_id;
  t.scope = "openid \xc3\xa9\0x"s;
  t.audience = "https://api.example/\n";
  t.grant_id = user_id.empty() ? "" : "fam-" + seed;
  t.auth_time = 990;
  t.created_at = 1000;
  t.expires_at = expires_at;
  t.revoked = false;
  return t;
}

// MakeDeviceCode returns a pending, never polled device authorization expiring at `expires_at`, with
// awkward bytes in the free-text fields; device_code_hash is Hash("dc-" + seed) and user_code_hash
// Hash("uc-" + seed).
inline DeviceCodeRecord MakeDeviceCode(const std::string& seed, int64_t expires_at = 2000) {
  using namespace std::string_literals;
  DeviceCodeRecord d;
  d.device_code_hash = Hash("dc-" + seed);
  d.user_code_hash = Hash("uc-" + seed);
  d.client_id = "tv \"" + seed + "\"";
  d.scope = "openid offline_access";
  d.device_info = "Mozilla/5.0 (\"TV\")\n\xc3\xa9\0 203.0.113.7"s;
  d.created_at = 1000;
  d.expires_at = expires_at;
  d.interval = 5;
  d.last_polled_at = 0;
  d.status = "pending";
  return d;
}

// MakeDecision returns what an approval page passes to DecideDeviceCode for `user_id`.
inline DeviceCodeRecord MakeDecision(const std::string& user_id) {
  using namespace std::string_literals;
  DeviceCodeRecord d;
  d.user_id = user_id;
  d.session_id_hash = Hash("session-" + user_id);
  d.auth_time = 1100;
  d.amr = "pwd\0otp"s;
  d.acr = "\xff\xfe";
  return d;
}

// Decided returns `d` as DecideDeviceCode leaves it after `decision`.
inline DeviceCodeRecord Decided(DeviceCodeRecord d, bool approve, const DeviceCodeRecord& decision) {
  d.status = approve ? "approved" : "denied";
  d.user_id = decision.user_id;
  d.session_id_hash = decision.session_id_hash;
  d.auth_time = decision.auth_time;
  d.amr = decision.amr;
  d.acr = decision.acr;
  return d;
}

// MakeConsent returns a consent of `user_id` for `client_id` with every field set.
inline ConsentRecord MakeConsent(const std::string& user_id, const std::string& client_id,
                                 const std::string& scope = "openid profile", int64_t at = 1000) {
  return ConsentRecord{user_id, client_id, scope, at, at + 1};
}

// StoreBackend: a backend's name and a function that returns a fresh, empty store of it, or nullptr
// after reporting why with ADD_FAILURE.
struct StoreBackend {
  const char* name;
  std::unique_ptr<Store> (*make)();
};

// PrintTo shows a backend by its name (in test listings, and so in the CTest names).
inline void PrintTo(const StoreBackend& backend, std::ostream* os) { *os << backend.name; }

class StoreContractTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  StoreContractTest() : store_(GetParam().make()) {}

  // SetUp stops the test (rather than crash on a null store) when the factory failed.
  void SetUp() override { ASSERT_NE(store_, nullptr) << "the factory returned no store"; }

  Store& store() { return *store_; }

  // RevisionNow returns the current revision, failing the test when unreadable.
  int64_t RevisionNow() {
    auto r = store_->Revision();
    EXPECT_TRUE(r.has_value());
    return r ? *r : -1;
  }

  std::unique_ptr<Store> store_;
};

}  // namespace latchkey::store::testing
