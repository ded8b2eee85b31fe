// The cases of StoreContractTest (see store_contract.hpp), compiled once for every backend.
#include "store/testing/store_contract.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "store/store.hpp"

namespace latchkey::store::testing {

TEST_P(StoreContractTest, EmptyStoreListsNothing) {
  auto clients = this->store().ListClients();
  ASSERT_TRUE(clients.has_value());
  EXPECT_TRUE(clients->empty());
  auto keys = this->store().ListSigningKeys();
  ASSERT_TRUE(keys.has_value());
  EXPECT_TRUE(keys->empty());
}

TEST_P(StoreContractTest, CreateThenGetReturnsTheSameRecord) {
  ClientRecord c = MakeClient("app");
  ASSERT_TRUE(this->store().CreateClient(c).has_value());
  auto got = this->store().GetClient("app");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, c);
}

TEST_P(StoreContractTest, GetMissingIsNotFound) {
  ASSERT_TRUE(this->store().CreateClient(MakeClient("app")).has_value());
  auto got = this->store().GetClient("other");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error(), Error::kNotFound);
  // Lookup is exact: no case folding, no prefix match.
  EXPECT_EQ(this->store().GetClient("APP").error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetClient("ap").error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetClient("").error(), Error::kNotFound);
}

TEST_P(StoreContractTest, CreateDuplicateIsConflictAndKeepsTheOriginal) {
  ClientRecord original = MakeClient("app");
  ASSERT_TRUE(this->store().CreateClient(original).has_value());
  ClientRecord second = MakeClient("app");
  second.client_name = "Impostor";
  auto r = this->store().CreateClient(second);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), Error::kConflict);
  auto got = this->store().GetClient("app");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, original);
}

TEST_P(StoreContractTest, UpdateReplacesEveryField) {
  ASSERT_TRUE(this->store().CreateClient(MakeClient("app")).has_value());
  ClientRecord updated = MakeAwkwardClient();
  updated.client_id = "app";
  ASSERT_TRUE(this->store().UpdateClient(updated).has_value());
  auto got = this->store().GetClient("app");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, updated);

  // And back to plain values, including lists that become shorter or empty.
  ClientRecord plain = MakeClient("app");
  plain.redirect_uris.clear();
  plain.secret_hash.clear();
  ASSERT_TRUE(this->store().UpdateClient(plain).has_value());
  got = this->store().GetClient("app");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, plain);
}

TEST_P(StoreContractTest, UpdateMissingIsNotFoundAndCreatesNothing) {
  auto r = this->store().UpdateClient(MakeClient("ghost"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetClient("ghost").error(), Error::kNotFound);
}

TEST_P(StoreContractTest, DeleteRemovesOnlyThatClient) {
  ASSERT_TRUE(this->store().CreateClient(MakeClient("a")).has_value());
  ASSERT_TRUE(this->store().CreateClient(MakeClient("b")).has_value());
  ASSERT_TRUE(this->store().DeleteClient("a").has_value());
  EXPECT_EQ(this->store().GetClient("a").error(), Error::kNotFound);
  auto b = this->store().GetClient("b");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*b, MakeClient("b"));
  auto all = this->store().ListClients();
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), 1u);

  auto again = this->store().DeleteClient("a");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error(), Error::kNotFound);

  // The id is free again.
  EXPECT_TRUE(this->store().CreateClient(MakeClient("a")).has_value());
}

TEST_P(StoreContractTest, AllFieldsRoundTripExactly) {
  ClientRecord awkward = MakeAwkwardClient();
  ClientRecord empty;  // every string and list empty, defaults elsewhere
  empty.client_id = "empty";
  empty.token_endpoint_auth_method = "";
  empty.access_token_format = "";
  ASSERT_TRUE(this->store().CreateClient(awkward).has_value());
  ASSERT_TRUE(this->store().CreateClient(empty).has_value());

  auto got = this->store().GetClient(awkward.client_id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->client_id, awkward.client_id);
  EXPECT_EQ(got->client_name, awkward.client_name);
  EXPECT_EQ(got->secret_hash, awkward.secret_hash);
  EXPECT_EQ(got->secret_hash.size(), 32u);
  EXPECT_EQ(got->token_endpoint_auth_method, awkward.token_endpoint_auth_method);
  EXPECT_EQ(got->redirect_uris, awkward.redirect_uris);
  EXPECT_EQ(got->grant_types, awkward.grant_types);
  EXPECT_EQ(got->scopes, awkward.scopes);
  EXPECT_EQ(got->post_logout_redirect_uris, awkward.post_logout_redirect_uris);
  EXPECT_EQ(got->access_token_lifetime, awkward.access_token_lifetime);
  EXPECT_EQ(got->access_token_alg, awkward.access_token_alg);
  EXPECT_EQ(got->id_token_signed_response_alg, awkward.id_token_signed_response_alg);
  EXPECT_EQ(got->access_token_format, awkward.access_token_format);
  EXPECT_EQ(got->backchannel_logout_uri, awkward.backchannel_logout_uri);
  EXPECT_EQ(got->backchannel_logout_session_required, awkward.backchannel_logout_session_required);
  EXPECT_EQ(got->introspect_any, awkward.introspect_any);
  EXPECT_EQ(got->created_at, awkward.created_at);
  EXPECT_EQ(got->updated_at, awkward.updated_at);
  EXPECT_EQ(*got, awkward);

  auto got_empty = this->store().GetClient("empty");
  ASSERT_TRUE(got_empty.has_value());
  EXPECT_EQ(*got_empty, empty);

  auto all = this->store().ListClients();
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_NE(std::find(all->begin(), all->end(), awkward), all->end());
  EXPECT_NE(std::find(all->begin(), all->end(), empty), all->end());
}

TEST_P(StoreContractTest, ListClientsIsOrderedByClientIdBytes) {
  // Byte-wise order: upper case before lower case, a prefix before its extensions, non-ASCII last.
  std::vector<std::string> ids = {"b", "\xc3\xa9t\xc3\xa9", "a", "ab", "B", "a b", "a-b", "Z9", "0"};
  for (const auto& id : ids) ASSERT_TRUE(this->store().CreateClient(MakeClient(id)).has_value()) << id;
  std::vector<std::string> expected = ids;
  std::sort(expected.begin(), expected.end());
  auto all = this->store().ListClients();
  ASSERT_TRUE(all.has_value());
  std::vector<std::string> listed;
  for (const auto& c : *all) listed.push_back(c.client_id);
  EXPECT_EQ(listed, expected);
  for (const auto& c : *all) EXPECT_EQ(c, MakeClient(c.client_id));
}

TEST_P(StoreContractTest, SigningKeysListInCreatedAtThenKidOrder) {
  SigningKeyRecord k1{"kid-b", "ES256", "-----BEGIN PRIVATE KEY-----\nAAA\n-----END PRIVATE KEY-----\n",
                      "active", 200};
  SigningKeyRecord k2{"kid-a", "RS256", "pem-2", "active", 200};
  SigningKeyRecord k3{"kid-z", "EdDSA", "pem-3", "next", 100};
  SigningKeyRecord k4{"kid-c", "ES256", "", "retired", -5};
  for (const auto& k : {k1, k2, k3, k4}) ASSERT_TRUE(this->store().AddSigningKey(k).has_value()) << k.kid;
  auto keys = this->store().ListSigningKeys();
  ASSERT_TRUE(keys.has_value());
  std::vector<SigningKeyRecord> expected = {k4, k3, k2, k1};
  EXPECT_EQ(*keys, expected);
}

// One active key per algorithm: a second active key of an algorithm is kConflict and not stored;
// keys in other states, and active keys of other algorithms, are added.
TEST_P(StoreContractTest, AddSigningKeyOneActivePerAlg) {
  const SigningKeyRecord es1{"es-1", "ES256", "pem-1", "active", 10};
  ASSERT_TRUE(this->store().AddSigningKey(es1).has_value());
  auto second = this->store().AddSigningKey({"es-2", "ES256", "pem-2", "active", 11});
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error(), Error::kConflict);
  const SigningKeyRecord es3{"es-3", "ES256", "pem-3", "next", 12};
  const SigningKeyRecord rs1{"rs-1", "RS256", "pem-4", "active", 13};
  ASSERT_TRUE(this->store().AddSigningKey(es3).has_value());
  ASSERT_TRUE(this->store().AddSigningKey(rs1).has_value());
  auto keys = this->store().ListSigningKeys();
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(*keys, (std::vector<SigningKeyRecord>{es1, es3, rs1}));
}

// One key waits to sign per algorithm too: a second "next" key of an alg is kConflict.
TEST_P(StoreContractTest, AddSigningKeyOneNextPerAlg) {
  ASSERT_TRUE(this->store().AddSigningKey({"es-n1", "ES256", "pem-1", "next", 10, 500}).has_value());
  auto second = this->store().AddSigningKey({"es-n2", "ES256", "pem-2", "next", 11, 600});
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error(), Error::kConflict);
  ASSERT_TRUE(this->store().AddSigningKey({"rs-n1", "RS256", "pem-3", "next", 12, 700}).has_value());
  ASSERT_TRUE(this->store().AddSigningKey({"es-r1", "ES256", "pem-4", "retired", 1, 2, 3}).has_value());
  ASSERT_TRUE(this->store().AddSigningKey({"es-r2", "ES256", "pem-5", "retired", 1, 2, 4}).has_value());
  auto keys = this->store().ListSigningKeys();
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->size(), 4u);
}

// Activation moves the next key to active and the alg's active key to retired, in one step, and
// touches no other algorithm; every lifecycle field round-trips.
TEST_P(StoreContractTest, ActivateSigningKeyRetiresTheActiveKeyOfItsAlg) {
  const SigningKeyRecord es_old{"es-old", "ES256", "pem-1", "active", 10, 10};
  const SigningKeyRecord es_next{"es-next", "ES256", "pem-2", "next", 20, 900};
  const SigningKeyRecord rs{"rs", "RS256", "pem-3", "active", 30, 30};
  for (const auto& k : {es_old, es_next, rs}) ASSERT_TRUE(this->store().AddSigningKey(k).has_value());
  const int64_t before = this->RevisionNow();
  ASSERT_TRUE(this->store().ActivateSigningKey("es-next", 500).has_value());
  EXPECT_NE(this->RevisionNow(), before);
  auto keys = this->store().ListSigningKeys();
  ASSERT_TRUE(keys.has_value());
  SigningKeyRecord old_retired = es_old;
  old_retired.state = "retired";
  old_retired.retired_at = 500;
  SigningKeyRecord next_active = es_next;
  next_active.state = "active";
  next_active.active_from = 500;
  EXPECT_EQ(*keys, (std::vector<SigningKeyRecord>{old_retired, next_active, rs}));
  // A second activation (another node, a moment later) changes nothing.
  auto again = this->store().ActivateSigningKey("es-next", 600);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error(), Error::kConflict);
  auto missing = this->store().ActivateSigningKey("nope", 600);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error(), Error::kNotFound);
  auto retired = this->store().ActivateSigningKey("es-old", 600);
  ASSERT_FALSE(retired.has_value());
  EXPECT_EQ(retired.error(), Error::kConflict);
  EXPECT_EQ(*this->store().ListSigningKeys(), *keys);
}

// A next key with no active key of its alg simply becomes active.
TEST_P(StoreContractTest, ActivateSigningKeyWithoutAnActiveKey) {
  ASSERT_TRUE(this->store().AddSigningKey({"ed", "EdDSA", "pem", "next", 5, 50}).has_value());
  ASSERT_TRUE(this->store().ActivateSigningKey("ed", 40).has_value());
  auto keys = this->store().ListSigningKeys();
  ASSERT_TRUE(keys.has_value());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ(keys->front().state, "active");
  EXPECT_EQ(keys->front().active_from, 40);
}

TEST_P(StoreContractTest, RetireThenDeleteSigningKeys) {
  ASSERT_TRUE(this->store().AddSigningKey({"a", "ES256", "pem-a", "active", 1, 1}).has_value());
  ASSERT_TRUE(this->store().AddSigningKey({"n", "ES256", "pem-n", "next", 2, 99}).has_value());
  auto not_retired = this->store().DeleteSigningKey("a");
  ASSERT_FALSE(not_retired.has_value());
  EXPECT_EQ(not_retired.error(), Error::kConflict);
  ASSERT_TRUE(this->store().RetireSigningKey("a", 70).has_value());
  ASSERT_TRUE(this->store().RetireSigningKey("n", 71).has_value());
  auto twice = this->store().RetireSigningKey("a", 80);
  ASSERT_FALSE(twice.has_value());
  EXPECT_EQ(twice.error(), Error::kConflict);
  auto keys = this->store().ListSigningKeys();
  ASSERT_TRUE(keys.has_value());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].state, "retired");
  EXPECT_EQ((*keys)[0].retired_at, 70);
  EXPECT_EQ((*keys)[0].active_from, 1);
  EXPECT_EQ((*keys)[1].state, "retired");
  EXPECT_EQ((*keys)[1].retired_at, 71);
  // With none active, a new active key of the alg may be added again.
  ASSERT_TRUE(this->store().AddSigningKey({"b", "ES256", "pem-b", "active", 3, 3}).has_value());
  const int64_t before = this->RevisionNow();
  ASSERT_TRUE(this->store().DeleteSigningKey("a").has_value());
  EXPECT_NE(this->RevisionNow(), before);
  auto gone = this->store().DeleteSigningKey("a");
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error(), Error::kNotFound);
  auto missing = this->store().RetireSigningKey("zz", 1);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error(), Error::kNotFound);
  keys = this->store().ListSigningKeys();
  ASSERT_TRUE(keys.has_value());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].kid, "n");
  EXPECT_EQ((*keys)[1].kid, "b");
}

// Re-sealing is compare-and-set on the stored bytes.
TEST_P(StoreContractTest, ResealSigningKeyOnlyFromTheExpectedValue) {
  ASSERT_TRUE(this->store().AddSigningKey({"k", "RS256", "sealed-1", "active", 1, 1}).has_value());
  auto stale = this->store().ResealSigningKey("k", "sealed-0", "sealed-x");
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error(), Error::kConflict);
  ASSERT_TRUE(this->store().ResealSigningKey("k", "sealed-1", "sealed-2").has_value());
  auto missing = this->store().ResealSigningKey("other", "sealed-1", "sealed-2");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error(), Error::kNotFound);
  auto keys = this->store().ListSigningKeys();
  ASSERT_TRUE(keys.has_value());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ(keys->front().private_key, "sealed-2");
}

// Nodes that decide to rotate at the same moment: exactly one activation wins, and afterwards the
// alg has exactly one active key.
TEST_P(StoreContractTest, ConcurrentActivationsHaveExactlyOneWinner) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 5;
  for (int round = 0; round < kRounds; ++round) {
    const std::string alg = "ES" + std::to_string(round);
    ASSERT_TRUE(this->store().AddSigningKey({"a" + alg, alg, "pem", "active", 1, 1}).has_value());
    ASSERT_TRUE(this->store().AddSigningKey({"n" + alg, alg, "pem", "next", 2, 2}).has_value());
    Race race;
    AllAtOnce(kThreads, [&](int t) {
      race.Count(t, this->store().ActivateSigningKey("n" + alg, 100 + t), Error::kConflict);
    });
    EXPECT_TRUE(race.OneWinner(kThreads)) << "round " << round;
    auto keys = this->store().ListSigningKeys();
    ASSERT_TRUE(keys.has_value());
    int active = 0;
    for (const auto& k : *keys) {
      if (k.alg == alg && k.state == "active") {
        ++active;
        EXPECT_EQ(k.kid, "n" + alg);
      }
    }
    EXPECT_EQ(active, 1) << "round " << round;
  }
}

TEST_P(StoreContractTest, AddSigningKeyDuplicateKidIsConflict) {
  SigningKeyRecord k{"kid-1", "ES256", "pem", "active", 10};
  ASSERT_TRUE(this->store().AddSigningKey(k).has_value());
  SigningKeyRecord dup{"kid-1", "RS256", "other pem", "next", 20};
  auto r = this->store().AddSigningKey(dup);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), Error::kConflict);
  auto keys = this->store().ListSigningKeys();
  ASSERT_TRUE(keys.has_value());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ(keys->front(), k);
}

TEST_P(StoreContractTest, RevisionChangesAfterEveryWrite) {
  std::set<int64_t> seen = {this->RevisionNow()};
  auto expect_new_revision = [&](const char* after) {
    int64_t r = this->RevisionNow();
    EXPECT_TRUE(seen.insert(r).second) << "revision " << r << " repeated after " << after;
  };
  ASSERT_TRUE(this->store().CreateClient(MakeClient("a")).has_value());
  expect_new_revision("CreateClient");
  ClientRecord changed = MakeClient("a");
  changed.client_name = "renamed";
  ASSERT_TRUE(this->store().UpdateClient(changed).has_value());
  expect_new_revision("UpdateClient");
  // An update that changes nothing is still a write.
  ASSERT_TRUE(this->store().UpdateClient(changed).has_value());
  expect_new_revision("UpdateClient (same values)");
  ASSERT_TRUE(this->store().AddSigningKey({"kid", "ES256", "pem", "active", 1}).has_value());
  expect_new_revision("AddSigningKey");
  ASSERT_TRUE(this->store().DeleteClient("a").has_value());
  expect_new_revision("DeleteClient");
}

TEST_P(StoreContractTest, RevisionStaysAfterReadsAndFailedWrites) {
  ASSERT_TRUE(this->store().CreateClient(MakeClient("a")).has_value());
  ASSERT_TRUE(this->store().AddSigningKey({"kid", "ES256", "pem", "active", 1}).has_value());
  const int64_t before = this->RevisionNow();
  EXPECT_TRUE(this->store().GetClient("a").has_value());
  EXPECT_FALSE(this->store().GetClient("missing").has_value());
  EXPECT_TRUE(this->store().ListClients().has_value());
  EXPECT_TRUE(this->store().ListSigningKeys().has_value());
  EXPECT_EQ(this->RevisionNow(), before) << "after reads";
  EXPECT_FALSE(this->store().CreateClient(MakeClient("a")).has_value());
  EXPECT_FALSE(this->store().UpdateClient(MakeClient("missing")).has_value());
  EXPECT_FALSE(this->store().DeleteClient("missing").has_value());
  EXPECT_FALSE(this->store().AddSigningKey({"kid", "ES256", "pem", "active", 1}).has_value());
  EXPECT_EQ(this->RevisionNow(), before) << "after failed writes";
}

TEST_P(StoreContractTest, ConcurrentWritesAndReadsAllSucceed) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  const int64_t before = this->RevisionNow();
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t, &failures] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!this->store().CreateClient(MakeClient(id)).has_value()) ++failures[t];
        if (!this->store().GetClient(id).has_value()) ++failures[t];
        if (!this->store().Revision().has_value()) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
  auto all = this->store().ListClients();
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_NE(this->RevisionNow(), before);
}

TEST_P(StoreContractTest, EmptyStoreListsNoUsers) {
  auto users = this->store().ListUsers();
  ASSERT_TRUE(users.has_value());
  EXPECT_TRUE(users->empty());
}

TEST_P(StoreContractTest, CreateUserThenGetByIdAndByUsername) {
  UserRecord u = MakeUser("1");
  ASSERT_TRUE(this->store().CreateUser(u).has_value());
  auto by_id = this->store().GetUser("1");
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ(*by_id, u);
  auto by_name = this->store().GetUserByUsername("user-1");
  ASSERT_TRUE(by_name.has_value());
  EXPECT_EQ(*by_name, u);
}

TEST_P(StoreContractTest, GetMissingUserIsNotFound) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("1")).has_value());
  EXPECT_EQ(this->store().GetUser("2").error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetUser("").error(), Error::kNotFound);
  // The two keys are separate: a username is not a user_id and vice versa.
  EXPECT_EQ(this->store().GetUser("user-1").error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetUserByUsername("1").error(), Error::kNotFound);
  // Lookup is exact: no case folding, no prefix match.
  EXPECT_EQ(this->store().GetUserByUsername("USER-1").error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetUserByUsername("user-").error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetUserByUsername("").error(), Error::kNotFound);
}

TEST_P(StoreContractTest, CreateUserDuplicateIdOrUsernameIsConflict) {
  UserRecord original = MakeUser("1");
  ASSERT_TRUE(this->store().CreateUser(original).has_value());

  UserRecord same_id = MakeUser("1");
  same_id.username = "someone-else";
  auto r = this->store().CreateUser(same_id);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), Error::kConflict);
  EXPECT_EQ(this->store().GetUserByUsername("someone-else").error(), Error::kNotFound);

  UserRecord same_username = MakeUser("2");
  same_username.username = original.username;
  r = this->store().CreateUser(same_username);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), Error::kConflict);
  EXPECT_EQ(this->store().GetUser("2").error(), Error::kNotFound);

  auto got = this->store().GetUserByUsername(original.username);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, original);
  auto all = this->store().ListUsers();
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(*all, std::vector<UserRecord>{original});

  // Usernames differing only in case are different usernames.
  UserRecord upper = MakeUser("3");
  upper.username = "USER-1";
  EXPECT_TRUE(this->store().CreateUser(upper).has_value());
}

TEST_P(StoreContractTest, ListUsersIsOrderedByUsernameBytes) {
  // user_id order deliberately differs from username order.
  std::vector<std::pair<std::string, std::string>> id_and_name = {
      {"1", "b"}, {"2", "\xc3\xa9t\xc3\xa9"}, {"3", "a"}, {"4", "ab"}, {"5", "B"}, {"6", "a b"}, {"7", "Z9"},
      {"8", "0"}};
  for (const auto& [id, name] : id_and_name) {
    UserRecord u = MakeUser(id);
    u.username = name;
    ASSERT_TRUE(this->store().CreateUser(u).has_value()) << id;
  }
  std::vector<std::string> expected;
  for (const auto& [id, name] : id_and_name) expected.push_back(name);
  std::sort(expected.begin(), expected.end());
  auto all = this->store().ListUsers();
  ASSERT_TRUE(all.has_value());
  std::vector<std::string> listed;
  for (const auto& u : *all) listed.push_back(u.username);
  EXPECT_EQ(listed, expected);
  for (const auto& u : *all) {
    UserRecord want = MakeUser(u.user_id);
    want.username = u.username;
    EXPECT_EQ(u, want);
  }
}

TEST_P(StoreContractTest, UpdateUserReplacesEveryFieldAndRenames) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("1")).has_value());
  UserRecord updated = MakeAwkwardUser();
  updated.user_id = "1";
  ASSERT_TRUE(this->store().UpdateUser(updated).has_value());
  auto got = this->store().GetUser("1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, updated);
  // The rename moved the username: the new one finds the user, the old one is free.
  auto by_new = this->store().GetUserByUsername(updated.username);
  ASSERT_TRUE(by_new.has_value());
  EXPECT_EQ(*by_new, updated);
  EXPECT_EQ(this->store().GetUserByUsername("user-1").error(), Error::kNotFound);
  UserRecord takes_old_name = MakeUser("2");
  takes_old_name.username = "user-1";
  EXPECT_TRUE(this->store().CreateUser(takes_old_name).has_value());

  // And back to plain values, keeping the username (not a conflict with itself).
  UserRecord plain = MakeUser("1");
  plain.username = updated.username;
  ASSERT_TRUE(this->store().UpdateUser(plain).has_value());
  got = this->store().GetUser("1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, plain);
  auto all = this->store().ListUsers();
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), 2u);
}

TEST_P(StoreContractTest, UpdateUserOntoAnotherUsernameIsConflict) {
  UserRecord a = MakeUser("a");
  UserRecord b = MakeUser("b");
  ASSERT_TRUE(this->store().CreateUser(a).has_value());
  ASSERT_TRUE(this->store().CreateUser(b).has_value());
  UserRecord rename = b;
  rename.username = a.username;
  rename.name = "should not be written";
  auto r = this->store().UpdateUser(rename);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), Error::kConflict);
  // Both users are untouched, and each username still finds its own user.
  auto got_a = this->store().GetUserByUsername(a.username);
  ASSERT_TRUE(got_a.has_value());
  EXPECT_EQ(*got_a, a);
  auto got_b = this->store().GetUser("b");
  ASSERT_TRUE(got_b.has_value());
  EXPECT_EQ(*got_b, b);
  auto got_b_by_name = this->store().GetUserByUsername(b.username);
  ASSERT_TRUE(got_b_by_name.has_value());
  EXPECT_EQ(*got_b_by_name, b);
}

TEST_P(StoreContractTest, UpdateMissingUserIsNotFoundAndCreatesNothing) {
  auto r = this->store().UpdateUser(MakeUser("ghost"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetUser("ghost").error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetUserByUsername("user-ghost").error(), Error::kNotFound);
  // Also kNotFound when the username is taken: the missing id is what the caller got wrong.
  ASSERT_TRUE(this->store().CreateUser(MakeUser("1")).has_value());
  UserRecord ghost = MakeUser("ghost");
  ghost.username = "user-1";
  EXPECT_EQ(this->store().UpdateUser(ghost).error(), Error::kNotFound);
}

TEST_P(StoreContractTest, DeleteUserRemovesOnlyThatUser) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("a")).has_value());
  ASSERT_TRUE(this->store().CreateUser(MakeUser("b")).has_value());
  ASSERT_TRUE(this->store().DeleteUser("a").has_value());
  EXPECT_EQ(this->store().GetUser("a").error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetUserByUsername("user-a").error(), Error::kNotFound);
  auto b = this->store().GetUser("b");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*b, MakeUser("b"));
  auto all = this->store().ListUsers();
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(*all, std::vector<UserRecord>{MakeUser("b")});

  auto again = this->store().DeleteUser("a");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error(), Error::kNotFound);
  // Deleting by username is not a thing: the key is user_id.
  EXPECT_EQ(this->store().DeleteUser("user-b").error(), Error::kNotFound);

  // The username is free again (the store does not police user_id reuse; callers never reuse).
  UserRecord newcomer = MakeUser("c");
  newcomer.username = "user-a";
  EXPECT_TRUE(this->store().CreateUser(newcomer).has_value());
}

TEST_P(StoreContractTest, AllUserFieldsRoundTripExactly) {
  UserRecord awkward = MakeAwkwardUser();
  UserRecord plain = MakeUser("plain");  // booleans the other way round from awkward's
  UserRecord empty;                      // every string empty, defaults elsewhere
  empty.user_id = "";
  empty.username = "";
  empty.status = "";
  for (const auto& u : {awkward, plain, empty})
    ASSERT_TRUE(this->store().CreateUser(u).has_value()) << u.user_id;

  auto got = this->store().GetUser(awkward.user_id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->user_id, awkward.user_id);
  EXPECT_EQ(got->username, awkward.username);
  EXPECT_EQ(got->password_hash, awkward.password_hash);
  EXPECT_EQ(got->status, awkward.status);
  EXPECT_EQ(got->name, awkward.name);
  EXPECT_EQ(got->given_name, awkward.given_name);
  EXPECT_EQ(got->family_name, awkward.family_name);
  EXPECT_EQ(got->preferred_username, awkward.preferred_username);
  EXPECT_EQ(got->email, awkward.email);
  EXPECT_EQ(got->email.size(), awkward.email.size());
  EXPECT_FALSE(got->email_verified);
  EXPECT_EQ(got->phone_number, awkward.phone_number);
  EXPECT_TRUE(got->phone_number_verified);
  EXPECT_EQ(got->address_json, awkward.address_json);
  EXPECT_EQ(got->picture, awkward.picture);
  EXPECT_EQ(got->locale, awkward.locale);
  EXPECT_EQ(got->zoneinfo, awkward.zoneinfo);
  EXPECT_EQ(got->created_at, awkward.created_at);
  EXPECT_EQ(got->updated_at, awkward.updated_at);
  EXPECT_EQ(*got, awkward);
  auto by_name = this->store().GetUserByUsername(awkward.username);
  ASSERT_TRUE(by_name.has_value());
  EXPECT_EQ(*by_name, awkward);

  auto got_plain = this->store().GetUser("plain");
  ASSERT_TRUE(got_plain.has_value());
  EXPECT_TRUE(got_plain->email_verified);
  EXPECT_FALSE(got_plain->phone_number_verified);
  EXPECT_EQ(*got_plain, plain);

  auto got_empty = this->store().GetUser("");
  ASSERT_TRUE(got_empty.has_value());
  EXPECT_EQ(*got_empty, empty);
  auto got_empty_by_name = this->store().GetUserByUsername("");
  ASSERT_TRUE(got_empty_by_name.has_value());
  EXPECT_EQ(*got_empty_by_name, empty);

  auto all = this->store().ListUsers();
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 3u);
  for (const auto& u : {awkward, plain, empty}) EXPECT_NE(std::find(all->begin(), all->end(), u), all->end());
}

TEST_P(StoreContractTest, UserWritesLeaveRevisionUnchanged) {
  // Store::Revision covers clients and keys only: the server reads users per sign-in.
  const int64_t before = this->RevisionNow();
  ASSERT_TRUE(this->store().CreateUser(MakeUser("1")).has_value());
  EXPECT_EQ(this->RevisionNow(), before) << "after CreateUser";
  UserRecord changed = MakeUser("1");
  changed.username = "renamed";
  ASSERT_TRUE(this->store().UpdateUser(changed).has_value());
  EXPECT_EQ(this->RevisionNow(), before) << "after UpdateUser";
  EXPECT_FALSE(this->store().CreateUser(MakeUser("1")).has_value());
  EXPECT_FALSE(this->store().UpdateUser(MakeUser("missing")).has_value());
  EXPECT_TRUE(this->store().GetUser("1").has_value());
  EXPECT_TRUE(this->store().ListUsers().has_value());
  EXPECT_EQ(this->RevisionNow(), before) << "after failed user writes and reads";
  ASSERT_TRUE(this->store().DeleteUser("1").has_value());
  EXPECT_EQ(this->RevisionNow(), before) << "after DeleteUser";
  // Client writes still bump it with users present.
  ASSERT_TRUE(this->store().CreateUser(MakeUser("2")).has_value());
  ASSERT_TRUE(this->store().CreateClient(MakeClient("a")).has_value());
  EXPECT_NE(this->RevisionNow(), before) << "after CreateClient";
}

TEST_P(StoreContractTest, ConcurrentUserWritesAndReadsAllSucceed) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t, &failures] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!this->store().CreateUser(MakeUser(id)).has_value()) ++failures[t];
        if (!this->store().GetUserByUsername("user-" + id).has_value()) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
  auto all = this->store().ListUsers();
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), static_cast<std::size_t>(kThreads * kPerThread));
}

TEST_P(StoreContractTest, SessionRoundTripsEveryField) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  SessionRecord s = MakeSession("a", "u");
  s.revoked = true;
  s.created_at = -9223372036854775807LL - 1;
  s.last_seen_at = 9223372036854775807LL;
  SessionRecord empty;  // empty hash and strings
  empty.user_id = "u";
  for (const auto& r : {s, empty}) ASSERT_TRUE(this->store().CreateSession(r).has_value());
  auto got = this->store().GetSession(s.id_hash);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->id_hash.size(), 32u);
  EXPECT_EQ(*got, s);
  auto got_empty = this->store().GetSession("");
  ASSERT_TRUE(got_empty.has_value());
  EXPECT_EQ(*got_empty, empty);
  // The key is every byte: a prefix up to the first NUL, or the hash with one byte changed, is not it.
  EXPECT_EQ(this->store().GetSession(std::string(1, '\0')).error(), Error::kNotFound);
  std::string other = s.id_hash;
  other[31] = '\x01';
  EXPECT_EQ(this->store().GetSession(other).error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetSession(Hash("missing")).error(), Error::kNotFound);
}

TEST_P(StoreContractTest, CreateSessionDuplicateIsConflictUnknownUserIsNotFound) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(this->store().CreateUser(MakeUser("v")).has_value());
  SessionRecord original = MakeSession("a", "u");
  ASSERT_TRUE(this->store().CreateSession(original).has_value());
  SessionRecord dup = MakeSession("a", "v", 5000);
  EXPECT_EQ(this->store().CreateSession(dup).error(), Error::kConflict);
  EXPECT_EQ(*this->store().GetSession(original.id_hash), original);
  EXPECT_TRUE(this->store().ListUserSessions("v")->empty());
  EXPECT_EQ(this->store().CreateSession(MakeSession("b", "ghost")).error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetSession(Hash("b")).error(), Error::kNotFound);
}

TEST_P(StoreContractTest, TouchRevokeAndListUserSessions) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(this->store().CreateUser(MakeUser("v")).has_value());
  // Created out of order; "b" and "c" tie on created_at, so id_hash bytes decide.
  SessionRecord a = MakeSession("a", "u", 300);
  SessionRecord c = MakeSession("c", "u", 100);
  SessionRecord b = MakeSession("b", "u", 100);
  SessionRecord other = MakeSession("o", "v", 50);
  for (const auto& r : {a, c, b, other}) ASSERT_TRUE(this->store().CreateSession(r).has_value());

  ASSERT_TRUE(this->store().TouchSession(a.id_hash, 777).has_value());
  a.last_seen_at = 777;
  ASSERT_TRUE(this->store().RevokeSession(c.id_hash).has_value());
  c.revoked = true;
  ASSERT_TRUE(this->store().RevokeSession(c.id_hash).has_value()) << "revoking twice is not an error";
  EXPECT_EQ(*this->store().GetSession(a.id_hash), a);
  EXPECT_EQ(*this->store().GetSession(c.id_hash), c);

  auto listed = this->store().ListUserSessions("u");
  ASSERT_TRUE(listed.has_value());
  EXPECT_EQ(*listed, (std::vector<SessionRecord>{b, c, a}));
  EXPECT_EQ(*this->store().ListUserSessions("v"), std::vector<SessionRecord>{other});
  auto none = this->store().ListUserSessions("ghost");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());

  EXPECT_EQ(this->store().TouchSession(Hash("missing"), 1).error(), Error::kNotFound);
  EXPECT_EQ(this->store().RevokeSession(Hash("missing")).error(), Error::kNotFound);
}

TEST_P(StoreContractTest, DeleteExpiredSessionsByEitherClock) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  auto make = [](const std::string& seed, int64_t created_at, int64_t last_seen_at) {
    SessionRecord s = MakeSession(seed, "u", created_at);
    s.last_seen_at = last_seen_at;
    return s;
  };
  SessionRecord too_old = make("old", 99, 1000);  // absolute lifetime over
  SessionRecord idle = make("idle", 500, 199);    // idle lifetime over
  SessionRecord both = make("both", 10, 10);      // both over: counted once
  SessionRecord edge = make("edge", 100, 200);    // exactly at both bounds: kept (strictly before)
  SessionRecord fresh = make("fresh", 900, 950);
  for (const auto& s : {too_old, idle, both, edge, fresh})
    ASSERT_TRUE(this->store().CreateSession(s).has_value());

  auto deleted = this->store().DeleteExpiredSessions(100, 200, 100);
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(*deleted, 3);
  EXPECT_EQ(*this->store().ListUserSessions("u"), (std::vector<SessionRecord>{edge, fresh}));
  EXPECT_EQ(*this->store().DeleteExpiredSessions(100, 200, 100), 0);
  // Only the idle clock.
  EXPECT_EQ(*this->store().DeleteExpiredSessions(0, 201, 100), 1);
  EXPECT_EQ(*this->store().ListUserSessions("u"), std::vector<SessionRecord>{fresh});
  // Only the absolute clock.
  EXPECT_EQ(*this->store().DeleteExpiredSessions(901, 0, 100), 1);
  EXPECT_TRUE(this->store().ListUserSessions("u")->empty());
}

TEST_P(StoreContractTest, CodeRoundTripsEveryFieldAndDuplicateIsConflict) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  AuthorizationCodeRecord c = MakeCode("a", "u");
  AuthorizationCodeRecord plain;  // empty strings, false booleans, stored already used
  plain.code_hash = Hash("plain");
  plain.user_id = "u";
  plain.used = true;
  for (const auto& r : {c, plain}) ASSERT_TRUE(this->store().CreateCode(r).has_value());
  auto got = this->store().GetCode(c.code_hash);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->code_hash.size(), 32u);
  EXPECT_EQ(got->session_id_hash, c.session_id_hash);
  EXPECT_EQ(got->nonce, c.nonce);
  EXPECT_EQ(*got, c);
  EXPECT_EQ(*this->store().GetCode(plain.code_hash), plain);

  AuthorizationCodeRecord dup = MakeCode("a", "u", 9999);
  dup.client_id = "impostor";
  EXPECT_EQ(this->store().CreateCode(dup).error(), Error::kConflict);
  EXPECT_EQ(*this->store().GetCode(c.code_hash), c);
  EXPECT_EQ(this->store().CreateCode(MakeCode("b", "ghost")).error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetCode(Hash("b")).error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetCode(std::string(1, '\0')).error(), Error::kNotFound);
}

TEST_P(StoreContractTest, RedeemCodeIsSingleUse) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  AuthorizationCodeRecord c = MakeCode("a", "u", 2000);
  ASSERT_TRUE(this->store().CreateCode(c).has_value());

  auto first = this->store().RedeemCode(c.code_hash, 1999);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, c) << "the record as it was before: used == false";
  auto second = this->store().RedeemCode(c.code_hash, 1999);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error(), Error::kConflict);
  // Still a replay once expired: the caller must learn of it to revoke the grant.
  EXPECT_EQ(this->store().RedeemCode(c.code_hash, 5000).error(), Error::kConflict);

  auto after = this->store().GetCode(c.code_hash);
  ASSERT_TRUE(after.has_value());
  AuthorizationCodeRecord used = c;
  used.used = true;
  EXPECT_EQ(*after, used);
}

TEST_P(StoreContractTest, RedeemExpiredOrUnknownCodeIsNotFound) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  AuthorizationCodeRecord c = MakeCode("a", "u", 2000);
  ASSERT_TRUE(this->store().CreateCode(c).has_value());
  // expires_at <= now is expired; an expired redemption does not consume the code.
  EXPECT_EQ(this->store().RedeemCode(c.code_hash, 2000).error(), Error::kNotFound);
  EXPECT_EQ(this->store().RedeemCode(c.code_hash, 3000).error(), Error::kNotFound);
  EXPECT_EQ(*this->store().GetCode(c.code_hash), c);
  EXPECT_EQ(this->store().RedeemCode(Hash("missing"), 0).error(), Error::kNotFound);
  EXPECT_EQ(this->store().RedeemCode("", 0).error(), Error::kNotFound);
  std::string prefix = c.code_hash.substr(0, 16);
  EXPECT_EQ(this->store().RedeemCode(prefix, 0).error(), Error::kNotFound);
}

// RedeemCodeWithTokens spends the code as RedeemCode does, with the tokens stored exactly as given
// once it has; a token that cannot be stored leaves the code unspent.
TEST_P(StoreContractTest, RedeemCodeWithTokensStoresThemAndSpendsTheCodeOnce) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  const AuthorizationCodeRecord c = MakeCode("a", "u", 2000);
  ASSERT_TRUE(this->store().CreateCode(c).has_value());
  const AccessTokenRecord taken = MakeAccessToken("taken", "u");
  ASSERT_TRUE(this->store().CreateAccessToken(taken).has_value());
  GrantTokens tokens{MakeRefreshToken("first", "u"), MakeAccessToken("at", "u")};

  // A token that cannot be written is not a replay, and the code stays unspent. (The retry draws new
  // tokens: a backend may keep what it wrote before the failure.)
  GrantTokens clashing = tokens;
  clashing.refresh_token->token_hash = Hash("rt-attempt");
  clashing.access_token->token_hash = taken.token_hash;
  EXPECT_EQ(this->store().RedeemCodeWithTokens(c.code_hash, 1999, clashing).error(), Error::kUnavailable);
  EXPECT_FALSE(this->store().GetCode(c.code_hash)->used);

  auto redeemed = this->store().RedeemCodeWithTokens(c.code_hash, 1999, tokens);
  ASSERT_TRUE(redeemed.has_value());
  EXPECT_EQ(*redeemed, c) << "the record as it was before: used == false";
  EXPECT_TRUE(this->store().GetCode(c.code_hash)->used);
  EXPECT_EQ(*this->store().GetRefreshToken(tokens.refresh_token->token_hash), *tokens.refresh_token);
  EXPECT_EQ(*this->store().GetAccessToken(tokens.access_token->token_hash), *tokens.access_token);

  // Used: a replay, whatever else it carries; expired or unknown: kNotFound, as for RedeemCode.
  GrantTokens others{MakeRefreshToken("second", "u"), std::nullopt};
  EXPECT_EQ(this->store().RedeemCodeWithTokens(c.code_hash, 1999, others).error(), Error::kConflict);
  const AuthorizationCodeRecord expired = MakeCode("b", "u", 1000);
  ASSERT_TRUE(this->store().CreateCode(expired).has_value());
  GrantTokens more{MakeRefreshToken("third", "u"), std::nullopt};
  EXPECT_EQ(this->store().RedeemCodeWithTokens(expired.code_hash, 1999, more).error(), Error::kNotFound);
  EXPECT_FALSE(this->store().GetCode(expired.code_hash)->used);
  EXPECT_EQ(this->store().RedeemCodeWithTokens(Hash("missing"), 1999, {}).error(), Error::kNotFound);
}

// Without tokens it is RedeemCode.
TEST_P(StoreContractTest, RedeemCodeWithoutTokensStoresNone) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  const AuthorizationCodeRecord c = MakeCode("a", "u", 2000);
  ASSERT_TRUE(this->store().CreateCode(c).has_value());
  ASSERT_TRUE(this->store().RedeemCodeWithTokens(c.code_hash, 1999, {}).has_value());
  EXPECT_TRUE(this->store().GetCode(c.code_hash)->used);
  // A backend that fills an empty hash in for "none" must not store a token under it.
  EXPECT_EQ(this->store().GetRefreshToken("").error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetAccessToken("").error(), Error::kNotFound);
}

TEST_P(StoreContractTest, DeleteExpiredCodesCountsAndKeepsLiveOnes) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(this->store().CreateCode(MakeCode("past", "u", 50)).has_value());
  ASSERT_TRUE(this->store().CreateCode(MakeCode("edge", "u", 100)).has_value());
  ASSERT_TRUE(this->store().CreateCode(MakeCode("live", "u", 101)).has_value());
  ASSERT_TRUE(this->store().CreateCode(MakeCode("used", "u", 500)).has_value());
  ASSERT_TRUE(this->store().RedeemCode(Hash("used"), 0).has_value());
  auto deleted = this->store().DeleteExpiredCodes(100, 100);
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(*deleted, 2);
  EXPECT_EQ(this->store().GetCode(Hash("past")).error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetCode(Hash("edge")).error(), Error::kNotFound);
  EXPECT_TRUE(this->store().GetCode(Hash("live")).has_value());
  // A used but unexpired code stays, so a replay is still recognised as one.
  EXPECT_EQ(this->store().RedeemCode(Hash("used"), 100).error(), Error::kConflict);
  EXPECT_EQ(*this->store().DeleteExpiredCodes(100, 100), 0);
  EXPECT_EQ(*this->store().DeleteExpiredCodes(1000, 100), 2);
}

TEST_P(StoreContractTest, ConcurrentRedemptionsHaveExactlyOneWinner) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 10;
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  for (int round = 0; round < kRounds; ++round) {
    const AuthorizationCodeRecord c = MakeCode("race" + std::to_string(round), "u", 2000);
    ASSERT_TRUE(this->store().CreateCode(c).has_value());
    Race race;
    AllAtOnce(kThreads, [&](int t) {
      auto r = this->store().RedeemCode(c.code_hash, 1000);
      race.Count(t, r, Error::kConflict);
      if (r.has_value() && !(*r == c)) ++race.others;  // the winner gets the code as it was
    });
    EXPECT_TRUE(race.OneWinner(kThreads)) << "round " << round;
    EXPECT_TRUE(this->store().GetCode(c.code_hash)->used);
  }
}

TEST_P(StoreContractTest, DeletingAUserDeletesTheirSessionsAndCodes) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(this->store().CreateUser(MakeUser("v")).has_value());
  ASSERT_TRUE(this->store().CreateSession(MakeSession("su", "u")).has_value());
  ASSERT_TRUE(this->store().CreateSession(MakeSession("sv", "v")).has_value());
  ASSERT_TRUE(this->store().CreateCode(MakeCode("cu", "u")).has_value());
  ASSERT_TRUE(this->store().CreateCode(MakeCode("cv", "v")).has_value());
  ASSERT_TRUE(this->store().DeleteUser("u").has_value());
  EXPECT_EQ(this->store().GetSession(Hash("su")).error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetCode(Hash("cu")).error(), Error::kNotFound);
  EXPECT_TRUE(this->store().ListUserSessions("u")->empty());
  EXPECT_EQ(*this->store().GetSession(Hash("sv")), MakeSession("sv", "v"));
  EXPECT_EQ(*this->store().GetCode(Hash("cv")), MakeCode("cv", "v"));
}

TEST_P(StoreContractTest, SessionAndCodeWritesLeaveRevisionUnchanged) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  const int64_t before = this->RevisionNow();
  ASSERT_TRUE(this->store().CreateSession(MakeSession("s", "u")).has_value());
  ASSERT_TRUE(this->store().TouchSession(Hash("s"), 5).has_value());
  ASSERT_TRUE(this->store().RevokeSession(Hash("s")).has_value());
  EXPECT_FALSE(this->store().CreateSession(MakeSession("s", "u")).has_value());
  EXPECT_EQ(*this->store().DeleteExpiredSessions(9999, 9999, 100), 1);
  EXPECT_EQ(this->RevisionNow(), before) << "after session writes";
  ASSERT_TRUE(this->store().CreateCode(MakeCode("c", "u", 100)).has_value());
  ASSERT_TRUE(this->store().RedeemCode(Hash("c"), 0).has_value());
  EXPECT_FALSE(this->store().RedeemCode(Hash("c"), 0).has_value());
  EXPECT_FALSE(this->store().CreateCode(MakeCode("c", "u")).has_value());
  EXPECT_EQ(*this->store().DeleteExpiredCodes(100, 100), 1);
  EXPECT_EQ(this->RevisionNow(), before) << "after code writes";
}

TEST_P(StoreContractTest, RefreshTokenRoundTripsEveryFieldAndDuplicateIsConflict) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(this->store().CreateUser(MakeUser("v")).has_value());
  RefreshTokenRecord r = MakeRefreshToken("a", "u");
  // Stored as given, whatever the state.
  RefreshTokenRecord rotated =
      MakeRefreshToken("b", "u", "fam \xc3\xa9", -9223372036854775807LL - 1, 9223372036854775807LL);
  rotated.rotated_at = 1234;
  rotated.successor_hash = Hash("rt-a");
  rotated.revoked = true;
  RefreshTokenRecord empty;  // empty hashes and strings
  empty.user_id = "u";
  for (const auto& t : {r, rotated, empty}) ASSERT_TRUE(this->store().CreateRefreshToken(t).has_value());
  auto got = this->store().GetRefreshToken(r.token_hash);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->token_hash.size(), 32u);
  EXPECT_EQ(got->session_id_hash, r.session_id_hash);
  EXPECT_EQ(got->amr, r.amr);
  EXPECT_EQ(*got, r);
  EXPECT_EQ(*this->store().GetRefreshToken(rotated.token_hash), rotated);
  EXPECT_EQ(*this->store().GetRefreshToken(""), empty);
  // The key is every byte.
  EXPECT_EQ(this->store().GetRefreshToken(std::string(1, '\0')).error(), Error::kNotFound);
  std::string other = r.token_hash;
  other[31] = '\x01';
  EXPECT_EQ(this->store().GetRefreshToken(other).error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetRefreshToken(Hash("rt-missing")).error(), Error::kNotFound);

  RefreshTokenRecord dup = MakeRefreshToken("a", "v", "other");
  EXPECT_EQ(this->store().CreateRefreshToken(dup).error(), Error::kConflict);
  EXPECT_EQ(*this->store().GetRefreshToken(r.token_hash), r);
  EXPECT_EQ(this->store().CreateRefreshToken(MakeRefreshToken("c", "ghost")).error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetRefreshToken(Hash("rt-c")).error(), Error::kNotFound);
}

// GetRefreshTokenWithUser is GetRefreshToken and GetUser read together: every field of both, the
// token in whatever state, and kNotFound for an absent token or one whose user was deleted.
TEST_P(StoreContractTest, RefreshTokenWithUserIsBothRecordsAsStored) {
  UserRecord u = MakeUser("u");
  u.status = "disabled";
  u.address_json = R"({"country":"\u00e9"})";
  u.email_verified = false;
  ASSERT_TRUE(this->store().CreateUser(u).has_value());
  ASSERT_TRUE(this->store().CreateUser(MakeUser("v")).has_value());
  RefreshTokenRecord rotated = MakeRefreshToken("a", "u", "fam", -5, 9223372036854775807LL);
  rotated.rotated_at = 77;
  rotated.successor_hash = Hash("rt-b");
  rotated.revoked = true;
  const RefreshTokenRecord other = MakeRefreshToken("b", "v");
  ASSERT_TRUE(this->store().CreateRefreshToken(rotated).has_value());
  ASSERT_TRUE(this->store().CreateRefreshToken(other).has_value());

  auto got = this->store().GetRefreshTokenWithUser(rotated.token_hash);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->token, rotated);
  EXPECT_EQ(got->user, *this->store().GetUser("u"));
  EXPECT_EQ(got->user.status, "disabled");
  auto got_other = this->store().GetRefreshTokenWithUser(other.token_hash);
  ASSERT_TRUE(got_other.has_value());
  EXPECT_EQ(got_other->token, other);
  EXPECT_EQ(got_other->user, MakeUser("v"));

  EXPECT_EQ(this->store().GetRefreshTokenWithUser(Hash("rt-missing")).error(), Error::kNotFound);
  ASSERT_TRUE(this->store().DeleteUser("v").has_value());
  EXPECT_EQ(this->store().GetRefreshTokenWithUser(other.token_hash).error(), Error::kNotFound);
}

// GetCodeWithUser is GetCode and GetUser read together: every field of both, the code in whatever
// state, and kNotFound for an absent code or one whose user was deleted.
TEST_P(StoreContractTest, CodeWithUserIsBothRecordsAsStored) {
  UserRecord u = MakeUser("u");
  u.status = "disabled";
  u.address_json = R"({"country":"\u00e9"})";
  ASSERT_TRUE(this->store().CreateUser(u).has_value());
  ASSERT_TRUE(this->store().CreateUser(MakeUser("v")).has_value());
  AuthorizationCodeRecord spent = MakeCode("a", "u", -5);
  spent.used = true;
  const AuthorizationCodeRecord other = MakeCode("b", "v");
  ASSERT_TRUE(this->store().CreateCode(spent).has_value());
  ASSERT_TRUE(this->store().CreateCode(other).has_value());

  auto got = this->store().GetCodeWithUser(spent.code_hash);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->code, spent);
  EXPECT_EQ(got->user, *this->store().GetUser("u"));
  EXPECT_EQ(got->user.status, "disabled");
  auto got_other = this->store().GetCodeWithUser(other.code_hash);
  ASSERT_TRUE(got_other.has_value());
  EXPECT_EQ(got_other->code, other);
  EXPECT_EQ(got_other->user, MakeUser("v"));

  EXPECT_EQ(this->store().GetCodeWithUser(Hash("missing")).error(), Error::kNotFound);
  ASSERT_TRUE(this->store().DeleteUser("v").has_value());
  EXPECT_EQ(this->store().GetCodeWithUser(other.code_hash).error(), Error::kNotFound);
}

// GetSessionWithUser is GetSession and GetUser read together: every field of both, the session in
// whatever state (revoked, expired: the caller decides), and kNotFound for an absent session or one
// whose user was deleted.
TEST_P(StoreContractTest, SessionWithUserIsBothRecordsAsStored) {
  UserRecord u = MakeUser("u");
  u.status = "disabled";
  u.address_json = R"({"country":"\u00e9"})";
  ASSERT_TRUE(this->store().CreateUser(u).has_value());
  ASSERT_TRUE(this->store().CreateUser(MakeUser("v")).has_value());
  SessionRecord revoked = MakeSession("s", "u", 10);
  const SessionRecord live = MakeSession("t", "v");
  ASSERT_TRUE(this->store().CreateSession(revoked).has_value());
  ASSERT_TRUE(this->store().CreateSession(live).has_value());
  ASSERT_TRUE(this->store().RevokeSession(revoked.id_hash).has_value());
  revoked.revoked = true;

  auto got = this->store().GetSessionWithUser(revoked.id_hash);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->session, revoked);
  EXPECT_EQ(got->user, *this->store().GetUser("u"));
  EXPECT_EQ(got->user.status, "disabled");
  auto got_live = this->store().GetSessionWithUser(live.id_hash);
  ASSERT_TRUE(got_live.has_value());
  EXPECT_EQ(got_live->session, live);
  EXPECT_EQ(got_live->user, MakeUser("v"));

  EXPECT_EQ(this->store().GetSessionWithUser(Hash("missing")).error(), Error::kNotFound);
  ASSERT_TRUE(this->store().DeleteUser("v").has_value());
  EXPECT_EQ(this->store().GetSessionWithUser(live.id_hash).error(), Error::kNotFound);
}

// CreateCodeForSession stores the code and records its client among its session's clients (what
// logout notifies): a second code of the same session and client is no error; an absent session is
// kNotFound and a code hash already stored kConflict, and neither adds a client to a session.
TEST_P(StoreContractTest, CreatingACodeForASessionRecordsItsClient) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  const SessionRecord s = MakeSession("s", "u");
  ASSERT_TRUE(this->store().CreateSession(s).has_value());
  AuthorizationCodeRecord first = MakeCode("a", "u");
  first.session_id_hash = s.id_hash;
  first.client_id = "app";
  AuthorizationCodeRecord second = MakeCode("b", "u");
  second.session_id_hash = s.id_hash;
  second.client_id = "app";
  ASSERT_TRUE(this->store().CreateCodeForSession(first).has_value());
  ASSERT_TRUE(this->store().CreateCodeForSession(second).has_value())
      << "the session has this client already";
  EXPECT_EQ(*this->store().GetCode(first.code_hash), first);
  EXPECT_EQ(*this->store().GetCode(second.code_hash), second);
  EXPECT_EQ(*this->store().ListSessionClients(s.id_hash), std::vector<std::string>{"app"});

  AuthorizationCodeRecord again = first;
  again.client_id = "other";
  EXPECT_EQ(this->store().CreateCodeForSession(again).error(), Error::kConflict);
  EXPECT_EQ(*this->store().GetCode(first.code_hash), first) << "the stored code is unchanged";
  EXPECT_EQ(*this->store().ListSessionClients(s.id_hash), std::vector<std::string>{"app"});

  AuthorizationCodeRecord orphan = MakeCode("c", "u");
  orphan.session_id_hash = Hash("ghost");
  EXPECT_EQ(this->store().CreateCodeForSession(orphan).error(), Error::kNotFound);
  EXPECT_TRUE(this->store().ListSessionClients(Hash("ghost"))->empty());
}

TEST_P(StoreContractTest, RotatingACurrentRefreshTokenLinksAndInsertsTheSuccessor) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  const RefreshTokenRecord first = MakeRefreshToken("1", "u");
  ASSERT_TRUE(this->store().CreateRefreshToken(first).has_value());
  RefreshTokenRecord second = MakeRefreshToken("2", "u");
  second.created_at = 1500;
  second.expires_at = 3500;

  auto r = this->store().RotateRefreshToken(first.token_hash, second, 1500, 30);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->retried);
  EXPECT_EQ(r->previous, first) << "the token as it was before: rotated_at == 0";
  RefreshTokenRecord first_after = first;
  first_after.rotated_at = 1500;
  first_after.successor_hash = second.token_hash;
  EXPECT_EQ(*this->store().GetRefreshToken(first.token_hash), first_after);
  EXPECT_EQ(*this->store().GetRefreshToken(second.token_hash), second);

  // The successor is current: it rotates in turn, at its own pace.
  const RefreshTokenRecord third = MakeRefreshToken("3", "u");
  auto r2 = this->store().RotateRefreshToken(second.token_hash, third, 1999, 0);
  ASSERT_TRUE(r2.has_value());
  EXPECT_FALSE(r2->retried);
  EXPECT_EQ(r2->previous, second);
  EXPECT_EQ(this->store().GetRefreshToken(second.token_hash)->successor_hash, third.token_hash);
  EXPECT_EQ(this->store().GetRefreshToken(second.token_hash)->rotated_at, 1999);
  EXPECT_EQ(*this->store().GetRefreshToken(third.token_hash), third);
}

TEST_P(StoreContractTest, RotationWhoseSuccessorCannotBeInsertedWritesNothing) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  const RefreshTokenRecord current = MakeRefreshToken("cur", "u");
  const RefreshTokenRecord taken = MakeRefreshToken("taken", "u", "other family");
  ASSERT_TRUE(this->store().CreateRefreshToken(current).has_value());
  ASSERT_TRUE(this->store().CreateRefreshToken(taken).has_value());

  RefreshTokenRecord clash = MakeRefreshToken("taken", "u");
  clash.scope = "should not be written";
  EXPECT_EQ(this->store().RotateRefreshToken(current.token_hash, clash, 1500, 30).error(), Error::kConflict);
  EXPECT_EQ(this->store().RotateRefreshToken(current.token_hash, current, 1500, 30).error(),
            Error::kConflict);
  EXPECT_EQ(
      this->store().RotateRefreshToken(current.token_hash, MakeRefreshToken("n", "ghost"), 1500, 30).error(),
      Error::kNotFound);
  EXPECT_EQ(this->store().GetRefreshToken(Hash("rt-n")).error(), Error::kNotFound);
  EXPECT_EQ(*this->store().GetRefreshToken(current.token_hash), current) << "still current";
  EXPECT_EQ(*this->store().GetRefreshToken(taken.token_hash), taken);
  // And it still rotates normally afterwards.
  auto r = this->store().RotateRefreshToken(current.token_hash, MakeRefreshToken("next", "u"), 1500, 30);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->retried);
}

TEST_P(StoreContractTest, RotatingAnUnknownRevokedOrExpiredRefreshTokenIsNotFound) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  const RefreshTokenRecord succ = MakeRefreshToken("succ", "u");
  auto expect_not_found = [&](const RefreshTokenRecord& presented, int64_t now, const char* what) {
    auto r = this->store().RotateRefreshToken(presented.token_hash, succ, now, 1000);
    ASSERT_FALSE(r.has_value()) << what;
    EXPECT_EQ(r.error(), Error::kNotFound) << what;
    EXPECT_EQ(this->store().GetRefreshToken(succ.token_hash).error(), Error::kNotFound) << what;
    auto stored = this->store().GetRefreshToken(presented.token_hash);
    if (stored) {
      EXPECT_EQ(*stored, presented) << what << ": nothing written";
    }
  };
  expect_not_found(MakeRefreshToken("missing", "u"), 1500, "unknown");
  EXPECT_EQ(this->store().RotateRefreshToken("", succ, 1500, 0).error(), Error::kNotFound);

  RefreshTokenRecord revoked = MakeRefreshToken("revoked", "u", "f1");
  revoked.revoked = true;
  // Idle expiry and absolute expiry, each exactly at the bound (expires once <= now).
  RefreshTokenRecord idle = MakeRefreshToken("idle", "u", "f2", 1500, 5000);
  RefreshTokenRecord absolute = MakeRefreshToken("absolute", "u", "f3", 5000, 1500);
  // Revoked or expired wins over rotated: no reuse alarm for a token that is dead anyway.
  RefreshTokenRecord rotated_revoked = MakeRefreshToken("rotated-revoked", "u", "f4");
  rotated_revoked.rotated_at = 1499;
  rotated_revoked.successor_hash = succ.token_hash;
  rotated_revoked.revoked = true;
  RefreshTokenRecord rotated_expired = MakeRefreshToken("rotated-expired", "u", "f5", 1500, 5000);
  rotated_expired.rotated_at = 1499;
  rotated_expired.successor_hash = Hash("rt-elsewhere");
  for (const auto& t : {revoked, idle, absolute, rotated_revoked, rotated_expired})
    ASSERT_TRUE(this->store().CreateRefreshToken(t).has_value());
  expect_not_found(revoked, 1500, "revoked");
  expect_not_found(idle, 1500, "idle expiry at the bound");
  expect_not_found(idle, 1501, "idle expiry past the bound");
  expect_not_found(absolute, 1500, "absolute expiry at the bound");
  expect_not_found(rotated_revoked, 1500, "rotated and revoked");
  expect_not_found(rotated_expired, 1500, "rotated and expired");

  // One second earlier, both expiring tokens are still good.
  auto r = this->store().RotateRefreshToken(absolute.token_hash, succ, 1499, 0);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->retried);
  RefreshTokenRecord succ2 = MakeRefreshToken("succ2", "u");
  EXPECT_TRUE(this->store().RotateRefreshToken(idle.token_hash, succ2, 1499, 0).has_value());
}

TEST_P(StoreContractTest, RotationRetryInsideTheGraceWindowWritesNothing) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  const RefreshTokenRecord old_token = MakeRefreshToken("old", "u");
  const RefreshTokenRecord successor = MakeRefreshToken("new", "u");
  ASSERT_TRUE(this->store().CreateRefreshToken(old_token).has_value());
  ASSERT_TRUE(this->store().RotateRefreshToken(old_token.token_hash, successor, 1000, 30).has_value());
  const RefreshTokenRecord old_after = *this->store().GetRefreshToken(old_token.token_hash);
  ASSERT_EQ(old_after.rotated_at, 1000);

  // The retry carries the same successor hash; its other fields differ, and must not be written.
  RefreshTokenRecord retry_successor = successor;
  retry_successor.scope = "not written";
  retry_successor.expires_at = 99999;
  for (int64_t now : {1000, 1015, 1030, 999}) {
    auto r = this->store().RotateRefreshToken(old_token.token_hash, retry_successor, now, 30);
    ASSERT_TRUE(r.has_value()) << "now " << now;
    EXPECT_TRUE(r->retried) << "now " << now;
    EXPECT_EQ(r->previous, old_after) << "now " << now << ": the token as stored (already rotated)";
  }
  EXPECT_EQ(*this->store().GetRefreshToken(old_token.token_hash), old_after);
  EXPECT_EQ(*this->store().GetRefreshToken(successor.token_hash), successor);
  // A zero grace window disables retries, even in the same second: the second use is reuse.
  auto same_second = this->store().RotateRefreshToken(old_token.token_hash, successor, 1000, 0);
  ASSERT_FALSE(same_second.has_value());
  EXPECT_EQ(same_second.error(), Error::kConflict);
}

TEST_P(StoreContractTest, ReuseOfARotatedRefreshTokenIsConflict) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  const RefreshTokenRecord old_token = MakeRefreshToken("old", "u");
  const RefreshTokenRecord successor = MakeRefreshToken("new", "u");
  ASSERT_TRUE(this->store().CreateRefreshToken(old_token).has_value());
  ASSERT_TRUE(this->store().RotateRefreshToken(old_token.token_hash, successor, 1000, 30).has_value());
  const RefreshTokenRecord old_after = *this->store().GetRefreshToken(old_token.token_hash);
  const RefreshTokenRecord other = MakeRefreshToken("other", "u");

  auto expect_conflict = [&](const RefreshTokenRecord& presented_successor, int64_t now, int64_t grace,
                             const char* what) {
    auto r = this->store().RotateRefreshToken(old_token.token_hash, presented_successor, now, grace);
    ASSERT_FALSE(r.has_value()) << what;
    EXPECT_EQ(r.error(), Error::kConflict) << what;
  };
  expect_conflict(successor, 1031, 30, "just outside the grace window");
  expect_conflict(successor, 1001, 0, "no grace window");
  expect_conflict(successor, 1010, -1, "negative grace window");
  expect_conflict(other, 1010, 30, "inside the window with another successor");
  // Nothing was written, and the store revoked nothing: that is the caller's move.
  EXPECT_EQ(this->store().GetRefreshToken(other.token_hash).error(), Error::kNotFound);
  EXPECT_EQ(*this->store().GetRefreshToken(old_token.token_hash), old_after);
  EXPECT_EQ(*this->store().GetRefreshToken(successor.token_hash), successor);
}

TEST_P(StoreContractTest, RetryAfterTheSuccessorWasUsedRevokedOrDeletedIsConflict) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  // The successor was rotated in turn: the retry is a replay of a superseded token.
  const RefreshTokenRecord a = MakeRefreshToken("a", "u");
  const RefreshTokenRecord b = MakeRefreshToken("b", "u");
  ASSERT_TRUE(this->store().CreateRefreshToken(a).has_value());
  ASSERT_TRUE(this->store().RotateRefreshToken(a.token_hash, b, 1000, 30).has_value());
  ASSERT_TRUE(
      this->store().RotateRefreshToken(b.token_hash, MakeRefreshToken("c", "u"), 1005, 30).has_value());
  EXPECT_EQ(this->store().RotateRefreshToken(a.token_hash, b, 1010, 30).error(), Error::kConflict);

  // The successor was revoked (the predecessor not), or no longer exists.
  RefreshTokenRecord p = MakeRefreshToken("p", "u", "g");
  p.rotated_at = 1000;
  p.successor_hash = Hash("rt-q");
  RefreshTokenRecord q = MakeRefreshToken("q", "u", "g");
  q.revoked = true;
  RefreshTokenRecord orphan = MakeRefreshToken("orphan", "u", "h");
  orphan.rotated_at = 1000;
  orphan.successor_hash = Hash("rt-gone");
  for (const auto& t : {p, q, orphan}) ASSERT_TRUE(this->store().CreateRefreshToken(t).has_value());
  EXPECT_EQ(this->store().RotateRefreshToken(p.token_hash, q, 1010, 30).error(), Error::kConflict);
  EXPECT_EQ(
      this->store().RotateRefreshToken(orphan.token_hash, MakeRefreshToken("gone", "u"), 1010, 30).error(),
      Error::kConflict);
  EXPECT_EQ(this->store().GetRefreshToken(Hash("rt-gone")).error(), Error::kNotFound);
  EXPECT_EQ(*this->store().GetRefreshToken(q.token_hash), q);
}

TEST_P(StoreContractTest, RevokeRefreshFamilyCountsNewlyRevoked) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  RefreshTokenRecord f1 = MakeRefreshToken("f1", "u", "f");
  RefreshTokenRecord f2 = MakeRefreshToken("f2", "u", "f");
  RefreshTokenRecord f3 = MakeRefreshToken("f3", "u", "f");
  f3.revoked = true;
  RefreshTokenRecord g1 = MakeRefreshToken("g1", "u", "g");
  RefreshTokenRecord prefix = MakeRefreshToken("fx", "u", "f ");  // not the same family
  for (const auto& t : {f1, f2, f3, g1, prefix}) ASSERT_TRUE(this->store().CreateRefreshToken(t).has_value());

  auto revoked = this->store().RevokeRefreshFamily("f");
  ASSERT_TRUE(revoked.has_value());
  EXPECT_EQ(*revoked, 2);
  for (const auto& t : {f1, f2, f3}) EXPECT_TRUE(this->store().GetRefreshToken(t.token_hash)->revoked);
  EXPECT_EQ(*this->store().GetRefreshToken(g1.token_hash), g1);
  EXPECT_EQ(*this->store().GetRefreshToken(prefix.token_hash), prefix);
  EXPECT_EQ(*this->store().RevokeRefreshFamily("f"), 0) << "already revoked";
  EXPECT_EQ(*this->store().RevokeRefreshFamily("unknown"), 0);
  EXPECT_EQ(
      this->store().RotateRefreshToken(f1.token_hash, MakeRefreshToken("n", "u", "f"), 1500, 30).error(),
      Error::kNotFound);
}

TEST_P(StoreContractTest, RevokeRefreshTokensFiltersAndReturnsNewlyRevokedFamilies) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(this->store().CreateUser(MakeUser("v")).has_value());
  // Each token: user, client, session seed, family. Families are given out of byte order, and two
  // tokens share "fam-z" so that it must come back once.
  auto make = [](const std::string& seed, const std::string& user, const std::string& client,
                 const std::string& session, const std::string& family) {
    RefreshTokenRecord r = MakeRefreshToken(seed, user, family);
    r.client_id = client;
    r.session_id_hash = session.empty() ? "" : Hash("s-" + session);
    return r;
  };
  const RefreshTokenRecord tokens[] = {
      make("1", "u", "a", "s1", "fam-z"), make("2", "u", "a", "s1", "fam-z"),
      make("3", "u", "a", "s2", "fam-b"), make("4", "u", "b", "s1", "fam-\xc3\xa9"),
      make("5", "u", "b", "s2", "fam-A"), make("6", "u", "b", "", "fam-nosession"),
      make("7", "v", "a", "s1", "fam-v"),
  };
  for (const auto& t : tokens) ASSERT_TRUE(this->store().CreateRefreshToken(t).has_value());
  auto revoked_set = [&]() {
    std::set<std::string> hashes;
    for (const auto& t : tokens) {
      if (this->store().GetRefreshToken(t.token_hash)->revoked) hashes.insert(t.token_hash);
    }
    return hashes;
  };
  using Families = std::vector<std::string>;

  // Client and session: only that client's tokens from that session.
  auto both = this->store().RevokeRefreshTokens("u", "a", Hash("s-s1"));
  ASSERT_TRUE(both.has_value());
  EXPECT_EQ(*both, Families{"fam-z"}) << "distinct";
  EXPECT_EQ(revoked_set(), (std::set<std::string>{tokens[0].token_hash, tokens[1].token_hash}));
  EXPECT_EQ(*this->store().RevokeRefreshTokens("u", "a", Hash("s-s1")), Families{}) << "nothing new";

  // Session only (logout of one browser): every client of that session.
  EXPECT_EQ(*this->store().RevokeRefreshTokens("u", "", Hash("s-s2")), (Families{"fam-A", "fam-b"}));
  EXPECT_TRUE(this->store().GetRefreshToken(tokens[2].token_hash)->revoked);
  EXPECT_TRUE(this->store().GetRefreshToken(tokens[4].token_hash)->revoked);
  EXPECT_FALSE(this->store().GetRefreshToken(tokens[3].token_hash)->revoked);

  // Client only (consent revoked): a family already revoked is not listed again.
  EXPECT_EQ(*this->store().RevokeRefreshTokens("u", "b", ""), (Families{"fam-nosession", "fam-\xc3\xa9"}));
  EXPECT_EQ(*this->store().GetRefreshToken(tokens[6].token_hash), tokens[6]) << "other users keep theirs";

  // Both empty (log out everywhere): whatever is left of the user's; here, nothing.
  EXPECT_EQ(*this->store().RevokeRefreshTokens("u", "", ""), Families{});
  EXPECT_EQ(*this->store().RevokeRefreshTokens("v", "", ""), Families{"fam-v"});
  EXPECT_EQ(revoked_set().size(), std::size(tokens));
  EXPECT_EQ(*this->store().RevokeRefreshTokens("ghost", "", ""), Families{});
  EXPECT_EQ(*this->store().RevokeRefreshTokens("u", "c", ""), Families{});
}

TEST_P(StoreContractTest, RevokeRefreshTokensWithBothFiltersEmptyRevokesEveryToken) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(this->store().CreateUser(MakeUser("v")).has_value());
  RefreshTokenRecord a = MakeRefreshToken("a", "u", "f2");
  RefreshTokenRecord b = MakeRefreshToken("b", "u", "f1");
  b.client_id = "other";
  b.session_id_hash = "";
  RefreshTokenRecord c = MakeRefreshToken("c", "u", "f3");
  c.revoked = true;  // already revoked: its family is not newly revoked
  RefreshTokenRecord d = MakeRefreshToken("d", "v", "f4");
  for (const auto& t : {a, b, c, d}) ASSERT_TRUE(this->store().CreateRefreshToken(t).has_value());
  auto families = this->store().RevokeRefreshTokens("u", "", "");
  ASSERT_TRUE(families.has_value());
  EXPECT_EQ(*families, (std::vector<std::string>{"f1", "f2"}));
  for (const auto& t : {a, b, c}) EXPECT_TRUE(this->store().GetRefreshToken(t.token_hash)->revoked);
  EXPECT_EQ(*this->store().GetRefreshToken(d.token_hash), d);
}

TEST_P(StoreContractTest, DeleteExpiredRefreshTokensByEitherClock) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  RefreshTokenRecord idle = MakeRefreshToken("idle", "u", "f1", 100, 5000);       // idle expiry at the bound
  RefreshTokenRecord absolute = MakeRefreshToken("abs", "u", "f2", 5000, 100);    // absolute at the bound
  RefreshTokenRecord both = MakeRefreshToken("both", "u", "f3", 10, 10);          // counted once
  RefreshTokenRecord live = MakeRefreshToken("live", "u", "f4", 101, 101);        // kept
  RefreshTokenRecord rotated = MakeRefreshToken("rotated", "u", "f5", 500, 600);  // kept: unexpired
  rotated.rotated_at = 50;
  rotated.successor_hash = Hash("rt-x");
  rotated.revoked = true;
  for (const auto& t : {idle, absolute, both, live, rotated})
    ASSERT_TRUE(this->store().CreateRefreshToken(t).has_value());
  auto deleted = this->store().DeleteExpiredRefreshTokens(100, 100);
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(*deleted, 3);
  for (const auto& t : {idle, absolute, both})
    EXPECT_EQ(this->store().GetRefreshToken(t.token_hash).error(), Error::kNotFound);
  EXPECT_EQ(*this->store().GetRefreshToken(live.token_hash), live);
  EXPECT_EQ(*this->store().GetRefreshToken(rotated.token_hash), rotated);
  EXPECT_EQ(*this->store().DeleteExpiredRefreshTokens(100, 100), 0);
  EXPECT_EQ(*this->store().DeleteExpiredRefreshTokens(101, 100), 1);
  EXPECT_EQ(*this->store().DeleteExpiredRefreshTokens(1000, 100), 1);
}

TEST_P(StoreContractTest, ConcurrentRotationsHaveExactlyOneWinner) {
  // Every thread presents the same current token. Even threads bring successor A, odd threads B, so
  // the losers that brought the winner's successor look like retries (retried == true) and the
  // others like reuse (kConflict); no thread may win a second branch of the grant.
  constexpr int kThreads = 8;
  constexpr int kRounds = 10;
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  for (int round = 0; round < kRounds; ++round) {
    const std::string r = std::to_string(round);
    const RefreshTokenRecord current = MakeRefreshToken("race" + r, "u", "fam" + r);
    ASSERT_TRUE(this->store().CreateRefreshToken(current).has_value());
    const RefreshTokenRecord successors[2] = {MakeRefreshToken("A" + r, "u", "fam" + r),
                                              MakeRefreshToken("B" + r, "u", "fam" + r)};
    std::atomic<int> wins{0};
    std::atomic<int> others{0};
    std::atomic<int> winner{-1};
    std::vector<std::atomic<int>> retried(2);
    std::vector<std::atomic<int>> conflicts(2);
    AllAtOnce(kThreads, [&](int t) {
      const int which = t % 2;
      auto result = this->store().RotateRefreshToken(current.token_hash, successors[which], 1500, 30);
      if (!result.has_value()) {
        if (result.error() == Error::kConflict) {
          ++conflicts[which];
        } else {
          ++others;
        }
      } else if (result->retried) {
        ++retried[which];
      } else {
        ++wins;
        winner.store(which);
        if (!(result->previous == current)) ++others;
      }
    });
    ASSERT_EQ(wins.load(), 1) << "round " << round;
    EXPECT_EQ(others.load(), 0) << "round " << round;
    const int w = winner.load();
    ASSERT_TRUE(w == 0 || w == 1);
    // The winner's companions retried; the other side saw reuse.
    EXPECT_EQ(retried[w].load(), kThreads / 2 - 1) << "round " << round;
    EXPECT_EQ(conflicts[w].load(), 0) << "round " << round;
    EXPECT_EQ(retried[1 - w].load(), 0) << "round " << round;
    EXPECT_EQ(conflicts[1 - w].load(), kThreads / 2) << "round " << round;
    // Exactly one successor exists, and it is the one the token links to.
    auto stored = this->store().GetRefreshToken(current.token_hash);
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->successor_hash, successors[w].token_hash);
    EXPECT_EQ(*this->store().GetRefreshToken(successors[w].token_hash), successors[w]);
    EXPECT_EQ(this->store().GetRefreshToken(successors[1 - w].token_hash).error(), Error::kNotFound);
  }
}

// RotateCurrentRefreshToken rotates only a current token of the named client whose user is active,
// building the successor as SuccessorOf does; in every other case it writes nothing (kNotFound).
TEST_P(StoreContractTest, RotateCurrentRefreshTokenOnlyForACurrentTokenOfThatClientAndAnActiveUser) {
  UserRecord disabled = MakeUser("d");
  disabled.status = "disabled";
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(this->store().CreateUser(disabled).has_value());
  const RefreshTokenRecord current = MakeRefreshToken("cur", "u", "fam", 2000, 5000);
  RefreshTokenRecord rotated = MakeRefreshToken("rot", "u");
  rotated.rotated_at = 1200;
  rotated.successor_hash = Hash("rt-somewhere");
  RefreshTokenRecord revoked = MakeRefreshToken("rev", "u");
  revoked.revoked = true;
  const RefreshTokenRecord expired = MakeRefreshToken("exp", "u", "fam", 1500);
  const RefreshTokenRecord family_expired = MakeRefreshToken("fexp", "u", "fam", 2000, 1500);
  const RefreshTokenRecord of_disabled = MakeRefreshToken("dis", "d");
  const RefreshTokenRecord taken = MakeRefreshToken("taken", "u", "other family");
  const std::vector<RefreshTokenRecord> all = {current,        rotated,     revoked, expired,
                                               family_expired, of_disabled, taken};
  for (const auto& t : all) ASSERT_TRUE(this->store().CreateRefreshToken(t).has_value());

  const std::string client = current.client_id;
  auto ask = [&](const RefreshTokenRecord& t, const std::string& client_id, const std::string& successor) {
    return this->store().RotateCurrentRefreshToken({t.token_hash, client_id, successor, 1500, 1000});
  };
  EXPECT_EQ(ask(current, "another client", Hash("rt-next")).error(), Error::kNotFound);
  EXPECT_EQ(ask(current, "", Hash("rt-next")).error(), Error::kNotFound);
  EXPECT_EQ(ask(current, client, taken.token_hash).error(), Error::kNotFound) << "successor exists";
  for (const auto& t : {rotated, revoked, expired, family_expired, of_disabled}) {
    EXPECT_EQ(ask(t, client, Hash("rt-next")).error(), Error::kNotFound) << t.token_hash;
  }
  EXPECT_EQ(this->store()
                .RotateCurrentRefreshToken({Hash("rt-missing"), client, Hash("rt-next"), 1500, 1000})
                .error(),
            Error::kNotFound);
  for (const auto& t : all) EXPECT_EQ(*this->store().GetRefreshToken(t.token_hash), t) << "nothing written";
  EXPECT_EQ(this->store().GetRefreshToken(Hash("rt-next")).error(), Error::kNotFound);

  // The current token: rotated at `now`, its successor expires after the idle lifetime...
  auto won = ask(current, client, Hash("rt-next"));
  ASSERT_TRUE(won.has_value());
  EXPECT_EQ(won->token, current) << "the token as it was before";
  EXPECT_EQ(won->user, *this->store().GetUser("u"));
  RefreshTokenRecord current_after = current;
  current_after.rotated_at = 1500;
  current_after.successor_hash = Hash("rt-next");
  EXPECT_EQ(*this->store().GetRefreshToken(current.token_hash), current_after);
  const RefreshTokenRecord next = SuccessorOf(current, Hash("rt-next"), 1500, 1000);
  EXPECT_EQ(next.expires_at, 2500);
  EXPECT_EQ(*this->store().GetRefreshToken(Hash("rt-next")), next);
  // ...once: it is no longer current.
  EXPECT_EQ(ask(current, client, Hash("rt-next")).error(), Error::kNotFound);
  EXPECT_EQ(ask(current, client, Hash("rt-other")).error(), Error::kNotFound);
  EXPECT_EQ(*this->store().GetRefreshToken(current.token_hash), current_after);

  // ...or with its family, when that comes first.
  auto again =
      this->store().RotateCurrentRefreshToken({next.token_hash, client, Hash("rt-last"), 2000, 86400});
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->token, next);
  EXPECT_EQ(this->store().GetRefreshToken(Hash("rt-last"))->expires_at, 5000);
  EXPECT_EQ(*this->store().GetRefreshToken(Hash("rt-last")), SuccessorOf(next, Hash("rt-last"), 2000, 86400));
}

// An opaque access token asked for with a current rotation is stored with it, completed from the
// rotated token, when the backend says it stored it; otherwise nothing is stored for it. Nothing is
// stored when the rotation does not happen.
TEST_P(StoreContractTest, RotateCurrentRefreshTokenStoresTheAccessTokenOnlyWhenItSaysSo) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  const RefreshTokenRecord current = MakeRefreshToken("cur", "u");
  ASSERT_TRUE(this->store().CreateRefreshToken(current).has_value());
  AccessTokenRecord given;
  given.token_hash = Hash("at-1");
  given.client_id = current.client_id;
  given.audience = "https://api.example";
  given.created_at = 1500;
  given.expires_at = 1800;
  CurrentRotation rotation{current.token_hash, "another client", Hash("rt-next"), 1500, 1000, given};

  EXPECT_EQ(this->store().RotateCurrentRefreshToken(rotation).error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetAccessToken(given.token_hash).error(), Error::kNotFound);

  rotation.client_id = current.client_id;
  auto rotated = this->store().RotateCurrentRefreshToken(rotation);
  ASSERT_TRUE(rotated.has_value());
  auto stored = this->store().GetAccessToken(given.token_hash);
  if (!rotated->access_token_stored) {
    EXPECT_EQ(stored.error(), Error::kNotFound);
    return;
  }
  AccessTokenRecord expected = given;
  expected.subject = "u";
  expected.user_id = "u";
  expected.scope = current.scope;
  expected.auth_time = current.auth_time;
  expected.grant_id = "pX1W-mxEjFt0bu5xWpW3C-";  // oauth::GrantId("fam"), introspection_test.cpp
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(*stored, expected);
}

// Without an access token, none is stored or said to be.
TEST_P(StoreContractTest, RotateCurrentRefreshTokenWithoutAnAccessTokenStoresNone) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  const RefreshTokenRecord current = MakeRefreshToken("cur", "u");
  ASSERT_TRUE(this->store().CreateRefreshToken(current).has_value());
  auto rotated = this->store().RotateCurrentRefreshToken(
      {current.token_hash, current.client_id, Hash("rt-next"), 1500, 1000});
  ASSERT_TRUE(rotated.has_value());
  EXPECT_FALSE(rotated->access_token_stored);
  // A backend that fills an empty hash in for "none" must not store a token under it.
  EXPECT_EQ(this->store().GetAccessToken("").error(), Error::kNotFound);
}

TEST_P(StoreContractTest, ConcurrentCurrentRotationsHaveExactlyOneWinner) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 10;
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  for (int round = 0; round < kRounds; ++round) {
    const std::string r = std::to_string(round);
    const RefreshTokenRecord current = MakeRefreshToken("race" + r, "u", "fam" + r);
    ASSERT_TRUE(this->store().CreateRefreshToken(current).has_value());
    Race race;
    AllAtOnce(kThreads, [&](int t) {
      race.Count(
          t,
          this->store().RotateCurrentRefreshToken({current.token_hash, current.client_id,
                                                   Hash("next" + r + "-" + std::to_string(t)), 1500, 1000}),
          Error::kNotFound);
    });
    ASSERT_TRUE(race.OneWinner(kThreads)) << "round " << round;
    const int winner = race.winner.load();
    // Exactly one successor exists, and it is the one the token links to.
    for (int t = 0; t < kThreads; ++t) {
      const std::string successor = Hash("next" + r + "-" + std::to_string(t));
      EXPECT_EQ(this->store().GetRefreshToken(successor).has_value(), t == winner) << "round " << round;
    }
    EXPECT_EQ(this->store().GetRefreshToken(current.token_hash)->successor_hash,
              Hash("next" + r + "-" + std::to_string(winner)));
  }
}

TEST_P(StoreContractTest, EnsureSecretKeepsTheFirstValueStored) {
  using namespace std::string_literals;
  const std::string first = "\0\xff raw bytes"s;
  auto stored = this->store().EnsureSecret("refresh", first);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(*stored, first);
  auto again = this->store().EnsureSecret("refresh", "another candidate");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, first) << "the first value stays";
  EXPECT_EQ(*this->store().EnsureSecret("csrf", "c"), "c") << "names are independent";
  auto before = this->store().Revision();
  ASSERT_TRUE(before.has_value());
  ASSERT_TRUE(this->store().EnsureSecret("other", "o").has_value());
  EXPECT_EQ(*this->store().Revision(), *before);
}

// Throttle counts (identity::LoginThrottle): shared by every node on the database.
TEST_P(StoreContractTest, ThrottleCountsFailuresAndStartsAfreshOnceForgotten) {
  auto& s = this->store();
  EXPECT_EQ(s.GetThrottle("user:alice").error(), Error::kNotFound);
  auto first = s.CountThrottleFailure("user:alice", 100, 3700);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, (ThrottleRecord{"user:alice", 1, 100, 3700}));
  EXPECT_EQ(*s.GetThrottle("user:alice"), *first);
  // Counted again; times only move forward (a node whose clock lags lowers neither).
  EXPECT_EQ(*s.CountThrottleFailure("user:alice", 200, 3800), (ThrottleRecord{"user:alice", 2, 200, 3800}));
  EXPECT_EQ(*s.CountThrottleFailure("user:alice", 150, 3750), (ThrottleRecord{"user:alice", 3, 200, 3800}));
  EXPECT_EQ(*s.GetThrottle("user:alice"), (ThrottleRecord{"user:alice", 3, 200, 3800}));
  // Keys are independent and compared exactly.
  EXPECT_EQ(*s.CountThrottleFailure("user:Alice", 200, 3800), (ThrottleRecord{"user:Alice", 1, 200, 3800}));
  // At forget_at the count starts again from one.
  EXPECT_EQ(*s.CountThrottleFailure("user:alice", 3800, 7400), (ThrottleRecord{"user:alice", 1, 3800, 7400}));
  // Deleting forgets it (and deleting an absent key is no error); the other key stays.
  ASSERT_TRUE(s.DeleteThrottle("user:alice").has_value());
  EXPECT_EQ(s.GetThrottle("user:alice").error(), Error::kNotFound);
  EXPECT_TRUE(s.DeleteThrottle("user:alice").has_value());
  EXPECT_EQ(s.GetThrottle("user:Alice")->failures, 1);
  EXPECT_EQ(*s.CountThrottleFailure("user:alice", 4000, 7600), (ThrottleRecord{"user:alice", 1, 4000, 7600}));
  // Not a client or key write.
  auto before = s.Revision();
  ASSERT_TRUE(before.has_value());
  ASSERT_TRUE(s.CountThrottleFailure("ip:192.0.2.1", 4000, 7600).has_value());
  ASSERT_TRUE(s.DeleteThrottle("ip:192.0.2.1").has_value());
  EXPECT_EQ(*s.Revision(), *before);
}

TEST_P(StoreContractTest, ConcurrentThrottleFailuresAreEachCountedOnce) {
  constexpr int kThreads = 8;
  constexpr int kEach = 25;
  std::atomic<int> failed{0};
  AllAtOnce(kThreads, [&](int) {
    for (int i = 0; i < kEach; ++i) {
      if (!this->store().CountThrottleFailure("user:alice", 100, 3700)) ++failed;
    }
  });
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(this->store().GetThrottle("user:alice")->failures, kThreads * kEach);
}

TEST_P(StoreContractTest, ConcurrentEnsureSecretAgreesOnOneValue) {
  std::vector<std::string> got(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i) {
    threads.emplace_back([&, i] {
      auto r = this->store().EnsureSecret("shared", "candidate-" + std::to_string(i));
      if (r) got[i] = *r;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, got[0]);
  EXPECT_EQ(got[0].rfind("candidate-", 0), 0u);
}

TEST_P(StoreContractTest, ConsentPutGetAndReplaceKeepsCreatedAt) {
  using namespace std::string_literals;
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(this->store().CreateUser(MakeUser("v")).has_value());
  const ConsentRecord c = MakeConsent("u", "client \"a\"\n\0\xff"s, "openid \xc3\xa9", 1000);
  ASSERT_TRUE(this->store().PutConsent(c).has_value());
  auto got = this->store().GetConsent("u", c.client_id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->client_id.size(), c.client_id.size());
  EXPECT_EQ(*got, c);
  // Keys are exact, and per user.
  EXPECT_EQ(this->store().GetConsent("v", c.client_id).error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetConsent("u", "client \"a\"\n"s).error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetConsent("u", "other").error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetConsent("ghost", c.client_id).error(), Error::kNotFound);

  // Replacing takes every field but created_at.
  ConsentRecord wider = MakeConsent("u", c.client_id, "openid profile email", 2000);
  ASSERT_TRUE(this->store().PutConsent(wider).has_value());
  ConsentRecord expected = wider;
  expected.created_at = c.created_at;
  EXPECT_EQ(*this->store().GetConsent("u", c.client_id), expected);
  EXPECT_EQ(this->store().ListUserConsents("u")->size(), 1u) << "replaced, not added";

  EXPECT_EQ(this->store().PutConsent(MakeConsent("ghost", "a")).error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetConsent("ghost", "a").error(), Error::kNotFound);
}

TEST_P(StoreContractTest, ListUserConsentsIsOrderedByClientIdAndDeleteRemovesOne) {
  // "u" is a prefix of "u2": a range scan that stops late would leak the other user's consents.
  for (const char* id : {"u", "u2", "t"}) ASSERT_TRUE(this->store().CreateUser(MakeUser(id)).has_value());
  std::vector<std::string> clients = {"b", "\xc3\xa9t\xc3\xa9", "a", "ab", "B", "", "Z9"};
  for (const auto& client : clients)
    ASSERT_TRUE(this->store().PutConsent(MakeConsent("u", client)).has_value());
  ASSERT_TRUE(this->store().PutConsent(MakeConsent("u2", "a")).has_value());
  ASSERT_TRUE(this->store().PutConsent(MakeConsent("t", "zz")).has_value());
  std::vector<std::string> expected = clients;
  std::sort(expected.begin(), expected.end());
  auto listed = this->store().ListUserConsents("u");
  ASSERT_TRUE(listed.has_value());
  std::vector<std::string> listed_clients;
  for (const auto& c : *listed) {
    listed_clients.push_back(c.client_id);
    EXPECT_EQ(c, MakeConsent("u", c.client_id));
  }
  EXPECT_EQ(listed_clients, expected);
  EXPECT_EQ(*this->store().ListUserConsents("u2"), std::vector<ConsentRecord>{MakeConsent("u2", "a")});
  auto none = this->store().ListUserConsents("ghost");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());

  ASSERT_TRUE(this->store().DeleteConsent("u", "a").has_value());
  EXPECT_EQ(this->store().GetConsent("u", "a").error(), Error::kNotFound);
  EXPECT_EQ(this->store().ListUserConsents("u")->size(), clients.size() - 1);
  EXPECT_EQ(*this->store().GetConsent("u2", "a"), MakeConsent("u2", "a")) << "other users keep theirs";
  EXPECT_EQ(this->store().DeleteConsent("u", "a").error(), Error::kNotFound);
  EXPECT_EQ(this->store().DeleteConsent("ghost", "a").error(), Error::kNotFound);
  EXPECT_EQ(this->store().DeleteConsent("u", "zz").error(), Error::kNotFound);
}

TEST_P(StoreContractTest, DeletingAUserDeletesTheirRefreshTokensAndConsents) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(this->store().CreateUser(MakeUser("v")).has_value());
  ASSERT_TRUE(this->store().CreateRefreshToken(MakeRefreshToken("ru", "u", "fu")).has_value());
  ASSERT_TRUE(this->store().CreateRefreshToken(MakeRefreshToken("rv", "v", "fv")).has_value());
  ASSERT_TRUE(this->store().PutConsent(MakeConsent("u", "a")).has_value());
  ASSERT_TRUE(this->store().PutConsent(MakeConsent("v", "a")).has_value());
  ASSERT_TRUE(this->store().DeleteUser("u").has_value());
  EXPECT_EQ(this->store().GetRefreshToken(Hash("rt-ru")).error(), Error::kNotFound);
  EXPECT_EQ(*this->store().RevokeRefreshFamily("fu"), 0);
  EXPECT_EQ(this->store().GetConsent("u", "a").error(), Error::kNotFound);
  EXPECT_TRUE(this->store().ListUserConsents("u")->empty());
  EXPECT_EQ(*this->store().GetRefreshToken(Hash("rt-rv")), MakeRefreshToken("rv", "v", "fv"));
  EXPECT_EQ(*this->store().GetConsent("v", "a"), MakeConsent("v", "a"));
  // A user created later with the same id (callers never do this) does not inherit anything.
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  EXPECT_EQ(this->store().GetRefreshToken(Hash("rt-ru")).error(), Error::kNotFound);
  EXPECT_TRUE(this->store().ListUserConsents("u")->empty());
}

TEST_P(StoreContractTest, RefreshTokenAndConsentWritesLeaveRevisionUnchanged) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  const int64_t before = this->RevisionNow();
  ASSERT_TRUE(this->store().CreateRefreshToken(MakeRefreshToken("a", "u")).has_value());
  EXPECT_FALSE(this->store().CreateRefreshToken(MakeRefreshToken("a", "u")).has_value());
  ASSERT_TRUE(
      this->store().RotateRefreshToken(Hash("rt-a"), MakeRefreshToken("b", "u"), 1500, 30).has_value());
  ASSERT_TRUE(
      this->store().RotateRefreshToken(Hash("rt-a"), MakeRefreshToken("b", "u"), 1500, 30).has_value());
  EXPECT_FALSE(
      this->store().RotateRefreshToken(Hash("rt-a"), MakeRefreshToken("c", "u"), 1500, 30).has_value());
  EXPECT_EQ(*this->store().RevokeRefreshTokens("u", MakeRefreshToken("a", "u").client_id, ""),
            std::vector<std::string>{"fam"});
  EXPECT_EQ(*this->store().RevokeRefreshFamily("fam"), 0);
  EXPECT_EQ(*this->store().DeleteExpiredRefreshTokens(9999, 100), 2);
  EXPECT_EQ(this->RevisionNow(), before) << "after refresh token writes";
  ASSERT_TRUE(this->store().PutConsent(MakeConsent("u", "a")).has_value());
  ASSERT_TRUE(this->store().PutConsent(MakeConsent("u", "a", "openid", 2000)).has_value());
  EXPECT_FALSE(this->store().PutConsent(MakeConsent("ghost", "a")).has_value());
  ASSERT_TRUE(this->store().DeleteConsent("u", "a").has_value());
  EXPECT_EQ(this->RevisionNow(), before) << "after consent writes";
  ASSERT_TRUE(this->store().DeleteUser("u").has_value());
  EXPECT_EQ(this->RevisionNow(), before) << "after DeleteUser";
}

TEST_P(StoreContractTest, NewClientFieldsHaveDefaultsAndRoundTrip) {
  // A client built without the new fields reads back with their defaults.
  ClientRecord plain;
  plain.client_id = "plain";
  ASSERT_TRUE(this->store().CreateClient(plain).has_value());
  auto got = this->store().GetClient("plain");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->access_token_format, "jwt");
  EXPECT_EQ(got->backchannel_logout_uri, "");
  EXPECT_FALSE(got->backchannel_logout_session_required);
  EXPECT_FALSE(got->introspect_any);
  EXPECT_EQ(*got, plain);
  // Each field changes on its own, and back.
  ClientRecord changed = plain;
  changed.access_token_format = "opaque";
  ASSERT_TRUE(this->store().UpdateClient(changed).has_value());
  EXPECT_EQ(*this->store().GetClient("plain"), changed);
  changed.backchannel_logout_uri = "https://rp.example/bc";
  ASSERT_TRUE(this->store().UpdateClient(changed).has_value());
  EXPECT_EQ(*this->store().GetClient("plain"), changed);
  changed.backchannel_logout_session_required = true;
  ASSERT_TRUE(this->store().UpdateClient(changed).has_value());
  EXPECT_EQ(*this->store().GetClient("plain"), changed);
  changed.introspect_any = true;
  ASSERT_TRUE(this->store().UpdateClient(changed).has_value());
  EXPECT_EQ(*this->store().GetClient("plain"), changed);
  EXPECT_EQ(*this->store().ListClients(), std::vector<ClientRecord>{changed});
  ASSERT_TRUE(this->store().UpdateClient(plain).has_value());
  EXPECT_EQ(*this->store().GetClient("plain"), plain);
}

TEST_P(StoreContractTest, SessionClientsAreIdempotentOrderedAndNeedASession) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  const SessionRecord s = MakeSession("s", "u");
  const SessionRecord t = MakeSession("t", "u");
  ASSERT_TRUE(this->store().CreateSession(s).has_value());
  ASSERT_TRUE(this->store().CreateSession(t).has_value());
  auto none = this->store().ListSessionClients(s.id_hash);
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
  using namespace std::string_literals;
  const std::vector<std::string> clients = {"b", "\xc3\xa9t\xc3\xa9", "a", "ab", "B", "", "a\0b"s};
  for (const auto& c : clients) ASSERT_TRUE(this->store().AddSessionClient(s.id_hash, c).has_value());
  ASSERT_TRUE(this->store().AddSessionClient(s.id_hash, "a").has_value()) << "a repeat is no error";
  ASSERT_TRUE(this->store().AddSessionClient(t.id_hash, "z").has_value());
  std::vector<std::string> expected = clients;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(*this->store().ListSessionClients(s.id_hash), expected);
  EXPECT_EQ(*this->store().ListSessionClients(t.id_hash), std::vector<std::string>{"z"});
  // Unknown session: kNotFound on write, empty on read; keys are every byte.
  EXPECT_EQ(this->store().AddSessionClient(Hash("ghost"), "a").error(), Error::kNotFound);
  EXPECT_TRUE(this->store().ListSessionClients(Hash("ghost"))->empty());
  EXPECT_TRUE(this->store().ListSessionClients(s.id_hash.substr(0, 16))->empty());
  // A revoked session still records its clients (logout needs them).
  ASSERT_TRUE(this->store().RevokeSession(t.id_hash).has_value());
  ASSERT_TRUE(this->store().AddSessionClient(t.id_hash, "y").has_value());
  EXPECT_EQ(*this->store().ListSessionClients(t.id_hash), (std::vector<std::string>{"y", "z"}));
}

TEST_P(StoreContractTest, DeleteExpiredSessionsHonoursTheLimitAndDropsTheirClients) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  for (int i = 0; i < 5; ++i) {
    SessionRecord old = MakeSession("old" + std::to_string(i), "u", 10);
    ASSERT_TRUE(this->store().CreateSession(old).has_value());
    ASSERT_TRUE(this->store().AddSessionClient(old.id_hash, "app").has_value());
  }
  const SessionRecord live = MakeSession("live", "u", 900);
  ASSERT_TRUE(this->store().CreateSession(live).has_value());
  ASSERT_TRUE(this->store().AddSessionClient(live.id_hash, "app").has_value());
  EXPECT_EQ(*this->store().DeleteExpiredSessions(100, 0, 0), 0) << "limit 0 deletes nothing";
  EXPECT_EQ(*this->store().DeleteExpiredSessions(100, 0, 2), 2);
  EXPECT_EQ(*this->store().DeleteExpiredSessions(100, 0, 2), 2);
  EXPECT_EQ(*this->store().DeleteExpiredSessions(100, 0, 2), 1);
  EXPECT_EQ(*this->store().DeleteExpiredSessions(100, 0, 2), 0);
  EXPECT_EQ(*this->store().ListUserSessions("u"), std::vector<SessionRecord>{live});
  EXPECT_EQ(*this->store().ListSessionClients(live.id_hash), std::vector<std::string>{"app"});
  // The deleted sessions' clients went with them: a session re-created under the same hash (a
  // cookie value never repeats; this only checks that no row was left behind) starts empty.
  for (int i = 0; i < 5; ++i) {
    const SessionRecord again = MakeSession("old" + std::to_string(i), "u", 900);
    EXPECT_TRUE(this->store().ListSessionClients(again.id_hash)->empty()) << i;
    ASSERT_TRUE(this->store().CreateSession(again).has_value());
    EXPECT_TRUE(this->store().ListSessionClients(again.id_hash)->empty()) << i;
  }
}

TEST_P(StoreContractTest, EveryDeleteExpiredHonoursTheLimit) {
  // For each kind: five expired records and one live one; limit 2 deletes 2, 2, 1, then 0, and the
  // live record stays. A limit of 0 or less deletes nothing.
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  for (int i = 0; i < 6; ++i) {
    const std::string n = std::to_string(i);
    const int64_t expires_at = i < 5 ? 100 : 101;
    ASSERT_TRUE(this->store().CreateCode(MakeCode("c" + n, "u", expires_at)).has_value());
    ASSERT_TRUE(this->store()
                    .CreateRefreshToken(MakeRefreshToken("r" + n, "u", "f" + n, expires_at, 5000))
                    .has_value());
    ASSERT_TRUE(
        this->store().CreateAccessToken(MakeAccessToken("a" + n, i % 2 ? "u" : "", expires_at)).has_value());
    ASSERT_TRUE(this->store().PutRevocation({"jti:" + n, 50, expires_at}).has_value());
    ASSERT_TRUE(this->store().CreateDeviceCode(MakeDeviceCode("d" + n, expires_at)).has_value());
    ASSERT_TRUE(this->store().CountThrottleFailure("t" + n, 50, expires_at).has_value());
  }
  struct Kind {
    const char* name;
    std::function<Result<int64_t>(int64_t)> delete_expired;  // at now = 100, with this limit
  };
  Store& store = this->store();
  const Kind kinds[] = {
      {"codes", [&](int64_t limit) { return store.DeleteExpiredCodes(100, limit); }},
      {"refresh tokens", [&](int64_t limit) { return store.DeleteExpiredRefreshTokens(100, limit); }},
      {"access tokens", [&](int64_t limit) { return store.DeleteExpiredAccessTokens(100, limit); }},
      {"revocations", [&](int64_t limit) { return store.DeleteExpiredRevocations(100, limit); }},
      {"device codes", [&](int64_t limit) { return store.DeleteExpiredDeviceCodes(100, limit); }},
      {"throttles", [&](int64_t limit) { return store.DeleteExpiredThrottles(100, limit); }},
  };
  for (const auto& kind : kinds) {
    SCOPED_TRACE(kind.name);
    EXPECT_EQ(*kind.delete_expired(0), 0);
    EXPECT_EQ(*kind.delete_expired(-1), 0);
    for (int64_t expected : {2, 2, 1, 0}) EXPECT_EQ(*kind.delete_expired(2), expected);
  }
  for (int i = 0; i < 5; ++i) {
    const std::string n = std::to_string(i);
    EXPECT_EQ(store.GetCode(Hash("c" + n)).error(), Error::kNotFound);
    EXPECT_EQ(store.GetRefreshToken(Hash("rt-r" + n)).error(), Error::kNotFound);
    EXPECT_EQ(store.GetAccessToken(Hash("at-a" + n)).error(), Error::kNotFound);
    EXPECT_EQ(store.GetDeviceCodeByUserCode(Hash("uc-d" + n)).error(), Error::kNotFound);
    EXPECT_EQ(store.GetThrottle("t" + n).error(), Error::kNotFound);
  }
  EXPECT_EQ(*store.LatestRevocation({"jti:0", "jti:1", "jti:2", "jti:3", "jti:4"}), 0);
  EXPECT_EQ(*store.GetCode(Hash("c5")), MakeCode("c5", "u", 101));
  EXPECT_EQ(*store.GetRefreshToken(Hash("rt-r5")), MakeRefreshToken("r5", "u", "f5", 101, 5000));
  EXPECT_EQ(*store.GetAccessToken(Hash("at-a5")), MakeAccessToken("a5", "u", 101));
  EXPECT_EQ(*store.LatestRevocation({"jti:5"}), 50);
  EXPECT_EQ(*store.GetDeviceCodeByUserCode(Hash("uc-d5")), MakeDeviceCode("d5", 101));
  EXPECT_EQ(*store.GetThrottle("t5"), (ThrottleRecord{"t5", 1, 50, 101}));
}

TEST_P(StoreContractTest, AccessTokenRoundTripsEveryFieldAndDuplicateIsConflict) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(this->store().CreateUser(MakeUser("v")).has_value());
  AccessTokenRecord user_token = MakeAccessToken("a", "u");
  AccessTokenRecord client_token = MakeAccessToken("b", "");  // client_credentials: no user
  AccessTokenRecord stored_revoked = MakeAccessToken("c", "u", 9223372036854775807LL);
  stored_revoked.revoked = true;
  stored_revoked.created_at = -9223372036854775807LL - 1;
  AccessTokenRecord empty;  // empty hash and strings
  for (const auto& t : {user_token, client_token, stored_revoked, empty})
    ASSERT_TRUE(this->store().CreateAccessToken(t).has_value());
  auto got = this->store().GetAccessToken(user_token.token_hash);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->token_hash.size(), 32u);
  EXPECT_EQ(got->scope, user_token.scope);
  EXPECT_EQ(*got, user_token);
  EXPECT_EQ(*this->store().GetAccessToken(client_token.token_hash), client_token);
  EXPECT_EQ(*this->store().GetAccessToken(stored_revoked.token_hash), stored_revoked);
  EXPECT_EQ(*this->store().GetAccessToken(""), empty);
  // The key is every byte.
  EXPECT_EQ(this->store().GetAccessToken(std::string(1, '\0')).error(), Error::kNotFound);
  std::string other = user_token.token_hash;
  other[31] = '\x01';
  EXPECT_EQ(this->store().GetAccessToken(other).error(), Error::kNotFound);

  AccessTokenRecord dup = MakeAccessToken("a", "v");
  dup.scope = "impostor";
  EXPECT_EQ(this->store().CreateAccessToken(dup).error(), Error::kConflict);
  EXPECT_EQ(*this->store().GetAccessToken(user_token.token_hash), user_token);
  EXPECT_EQ(this->store().CreateAccessToken(MakeAccessToken("d", "ghost")).error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetAccessToken(Hash("at-d")).error(), Error::kNotFound);
}

TEST_P(StoreContractTest, RevokeAndDeleteExpiredAccessTokens) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  const AccessTokenRecord a = MakeAccessToken("a", "u", 100);
  const AccessTokenRecord b = MakeAccessToken("b", "", 101);
  ASSERT_TRUE(this->store().CreateAccessToken(a).has_value());
  ASSERT_TRUE(this->store().CreateAccessToken(b).has_value());
  ASSERT_TRUE(this->store().RevokeAccessToken(a.token_hash).has_value());
  ASSERT_TRUE(this->store().RevokeAccessToken(a.token_hash).has_value()) << "revoking twice is not an error";
  AccessTokenRecord a_revoked = a;
  a_revoked.revoked = true;
  EXPECT_EQ(*this->store().GetAccessToken(a.token_hash), a_revoked);
  EXPECT_EQ(*this->store().GetAccessToken(b.token_hash), b);
  EXPECT_EQ(this->store().RevokeAccessToken(Hash("at-missing")).error(), Error::kNotFound);
  // expires_at <= now is expired.
  EXPECT_EQ(*this->store().DeleteExpiredAccessTokens(99, 100), 0);
  EXPECT_EQ(*this->store().DeleteExpiredAccessTokens(100, 100), 1);
  EXPECT_EQ(this->store().GetAccessToken(a.token_hash).error(), Error::kNotFound);
  EXPECT_EQ(*this->store().DeleteExpiredAccessTokens(101, 100), 1);
  EXPECT_EQ(this->store().GetAccessToken(b.token_hash).error(), Error::kNotFound);
}

TEST_P(StoreContractTest, PutRevocationNeverLowersValues) {
  ASSERT_TRUE(this->store().PutRevocation({"grant:g", 100, 500}).has_value());
  EXPECT_EQ(*this->store().LatestRevocation({"grant:g"}), 100);
  // Lower on both: nothing changes (the entry must still outlive the tokens it matches).
  ASSERT_TRUE(this->store().PutRevocation({"grant:g", 50, 400}).has_value());
  EXPECT_EQ(*this->store().LatestRevocation({"grant:g"}), 100);
  EXPECT_EQ(*this->store().DeleteExpiredRevocations(499, 100), 0) << "expires_at was not lowered";
  // Higher revoked_at, lower expires_at: only revoked_at rises.
  ASSERT_TRUE(this->store().PutRevocation({"grant:g", 200, 300}).has_value());
  EXPECT_EQ(*this->store().LatestRevocation({"grant:g"}), 200);
  EXPECT_EQ(*this->store().DeleteExpiredRevocations(499, 100), 0);
  // Lower revoked_at, higher expires_at: only expires_at rises.
  ASSERT_TRUE(this->store().PutRevocation({"grant:g", 150, 800}).has_value());
  EXPECT_EQ(*this->store().LatestRevocation({"grant:g"}), 200);
  EXPECT_EQ(*this->store().DeleteExpiredRevocations(799, 100), 0);
  EXPECT_EQ(*this->store().DeleteExpiredRevocations(800, 100), 1) << "expires_at <= now is expired";
  EXPECT_EQ(*this->store().LatestRevocation({"grant:g"}), 0);
  // Once deleted, the key starts afresh.
  ASSERT_TRUE(this->store().PutRevocation({"grant:g", 10, 20}).has_value());
  EXPECT_EQ(*this->store().LatestRevocation({"grant:g"}), 10);
}

TEST_P(StoreContractTest, LatestRevocationTakesTheLargestOverSeveralKeys) {
  using namespace std::string_literals;
  const std::string awkward = "jti:\0\xff\"x\"\n"s;
  ASSERT_TRUE(this->store().PutRevocation({"user:u", 300, 1000}).has_value());
  ASSERT_TRUE(this->store().PutRevocation({"grant:g", 500, 1000}).has_value());
  ASSERT_TRUE(this->store().PutRevocation({"jti:1", 400, 10}).has_value());  // expired, still counted
  ASSERT_TRUE(this->store().PutRevocation({awkward, 700, 1000}).has_value());
  using Keys = std::vector<std::string>;
  EXPECT_EQ(*this->store().LatestRevocation(Keys{}), 0);
  EXPECT_EQ(*this->store().LatestRevocation(Keys{"jti:none", "grant:none"}), 0);
  EXPECT_EQ(*this->store().LatestRevocation(Keys{"user:u"}), 300);
  EXPECT_EQ(*this->store().LatestRevocation(Keys{"jti:1", "grant:g", "user:u"}), 500);
  EXPECT_EQ(*this->store().LatestRevocation(Keys{"jti:1", "user:u", "jti:none"}), 400);
  EXPECT_EQ(*this->store().LatestRevocation(Keys{"user:u", "user:u"}), 300) << "a repeated key";
  EXPECT_EQ(*this->store().LatestRevocation(Keys{awkward, "user:u"}), 700);
  // Keys are exact: no prefix or case folding.
  EXPECT_EQ(*this->store().LatestRevocation(Keys{"jti:", "user:U", "grant:g ", "jti:\0"s}), 0);
  // Many keys, the match last.
  Keys many;
  for (int i = 0; i < 40; ++i) many.push_back("jti:many-" + std::to_string(i));
  EXPECT_EQ(*this->store().LatestRevocation(many), 0);
  many.push_back("grant:g");
  EXPECT_EQ(*this->store().LatestRevocation(many), 500);
}

TEST_P(StoreContractTest, DeviceCodeRoundTripsEveryFieldAndEitherHashConflicts) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  const DeviceCodeRecord pending = MakeDeviceCode("p");
  // Stored as given, whatever the state.
  DeviceCodeRecord approved = Decided(MakeDeviceCode("a", 9223372036854775807LL), true, MakeDecision("u"));
  approved.interval = 25;
  approved.last_polled_at = 1234;
  approved.created_at = -9223372036854775807LL - 1;
  for (const auto& d : {pending, approved}) ASSERT_TRUE(this->store().CreateDeviceCode(d).has_value());
  auto got = this->store().GetDeviceCodeByUserCode(pending.user_code_hash);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->device_code_hash.size(), 32u);
  EXPECT_EQ(got->device_info, pending.device_info);
  EXPECT_EQ(*got, pending);
  EXPECT_EQ(*this->store().GetDeviceCodeByUserCode(approved.user_code_hash), approved);
  // Looked up by the user code only, every byte of it.
  EXPECT_EQ(this->store().GetDeviceCodeByUserCode(pending.device_code_hash).error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetDeviceCodeByUserCode(pending.user_code_hash.substr(0, 16)).error(),
            Error::kNotFound);
  EXPECT_EQ(this->store().GetDeviceCodeByUserCode(Hash("uc-missing")).error(), Error::kNotFound);

  DeviceCodeRecord same_device = MakeDeviceCode("x");
  same_device.device_code_hash = pending.device_code_hash;
  DeviceCodeRecord same_user_code = MakeDeviceCode("y");
  same_user_code.user_code_hash = pending.user_code_hash;
  EXPECT_EQ(this->store().CreateDeviceCode(same_device).error(), Error::kConflict);
  EXPECT_EQ(this->store().CreateDeviceCode(same_user_code).error(), Error::kConflict);
  EXPECT_EQ(this->store().GetDeviceCodeByUserCode(same_device.user_code_hash).error(), Error::kNotFound)
      << "nothing written";
  EXPECT_EQ(this->store().PollDeviceCode(same_user_code.device_code_hash, 1000).error(), Error::kNotFound)
      << "nothing written";
  EXPECT_EQ(*this->store().GetDeviceCodeByUserCode(pending.user_code_hash), pending);
}

TEST_P(StoreContractTest, DecideDeviceCodeOnceOnlyWhilePendingAndUnexpired) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(this->store().CreateUser(MakeUser("v")).has_value());
  const DeviceCodeRecord a = MakeDeviceCode("a", 2000);
  const DeviceCodeRecord b = MakeDeviceCode("b", 2000);
  const DeviceCodeRecord expired = MakeDeviceCode("e", 1500);
  for (const auto& d : {a, b, expired}) ASSERT_TRUE(this->store().CreateDeviceCode(d).has_value());

  // The decision's other fields are ignored.
  DeviceCodeRecord decision = MakeDecision("u");
  decision.client_id = "not written";
  decision.scope = "admin";
  decision.status = "consumed";
  decision.interval = 1;
  decision.expires_at = 99999;
  auto approved = this->store().DecideDeviceCode(a.user_code_hash, true, decision, 1999);
  ASSERT_TRUE(approved.has_value());
  EXPECT_EQ(*approved, a) << "the record as it was before";
  EXPECT_EQ(*this->store().GetDeviceCodeByUserCode(a.user_code_hash), Decided(a, true, MakeDecision("u")));
  // A second decision, either way and by anyone: kConflict, nothing changes.
  EXPECT_EQ(this->store().DecideDeviceCode(a.user_code_hash, false, MakeDecision("v"), 1999).error(),
            Error::kConflict);
  EXPECT_EQ(this->store().DecideDeviceCode(a.user_code_hash, true, MakeDecision("u"), 1999).error(),
            Error::kConflict);
  EXPECT_EQ(*this->store().GetDeviceCodeByUserCode(a.user_code_hash), Decided(a, true, MakeDecision("u")));

  // Denial records who denied, and is final too.
  auto denied = this->store().DecideDeviceCode(b.user_code_hash, false, MakeDecision("v"), 1000);
  ASSERT_TRUE(denied.has_value());
  EXPECT_EQ(*denied, b);
  EXPECT_EQ(*this->store().GetDeviceCodeByUserCode(b.user_code_hash), Decided(b, false, MakeDecision("v")));
  EXPECT_EQ(this->store().DecideDeviceCode(b.user_code_hash, true, MakeDecision("u"), 1000).error(),
            Error::kConflict);

  // Expired (expires_at <= now) or unknown: kNotFound, nothing changes.
  EXPECT_EQ(this->store().DecideDeviceCode(expired.user_code_hash, true, MakeDecision("u"), 1500).error(),
            Error::kNotFound);
  EXPECT_EQ(*this->store().GetDeviceCodeByUserCode(expired.user_code_hash), expired);
  EXPECT_EQ(this->store().DecideDeviceCode(Hash("uc-missing"), true, MakeDecision("u"), 0).error(),
            Error::kNotFound);
  EXPECT_EQ(this->store().DecideDeviceCode(a.device_code_hash, true, MakeDecision("u"), 0).error(),
            Error::kNotFound)
      << "keyed by the user code, not the device code";
}

TEST_P(StoreContractTest, DecideDeviceCodeForAnUnknownUserIsNotFoundAndLeavesItPending) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  const DeviceCodeRecord d = MakeDeviceCode("d", 2000);
  ASSERT_TRUE(this->store().CreateDeviceCode(d).has_value());
  EXPECT_EQ(this->store().DecideDeviceCode(d.user_code_hash, true, MakeDecision("ghost"), 1000).error(),
            Error::kNotFound);
  EXPECT_EQ(this->store().DecideDeviceCode(d.user_code_hash, false, MakeDecision(""), 1000).error(),
            Error::kNotFound);
  EXPECT_EQ(*this->store().GetDeviceCodeByUserCode(d.user_code_hash), d);
  // Still pending: a real user may decide it.
  ASSERT_TRUE(this->store().DecideDeviceCode(d.user_code_hash, true, MakeDecision("u"), 1000).has_value());
  EXPECT_EQ(this->store().GetDeviceCodeByUserCode(d.user_code_hash)->status, "approved");
}

TEST_P(StoreContractTest, PollDeviceCodeSlowsDownAndNeverChangesTheStatus) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  DeviceCodeRecord d = MakeDeviceCode("d", 2000);
  ASSERT_TRUE(this->store().CreateDeviceCode(d).has_value());
  auto stored = [&]() { return *this->store().GetDeviceCodeByUserCode(d.user_code_hash); };
  // poll returns the record before the poll and checks the state after it.
  auto poll = [&](int64_t now, const DeviceCodeRecord& expected_before, int64_t interval_after) {
    SCOPED_TRACE("poll at " + std::to_string(now));
    auto r = this->store().PollDeviceCode(d.device_code_hash, now);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, expected_before);
    DeviceCodeRecord after = expected_before;
    after.interval = interval_after;
    after.last_polled_at = now;
    EXPECT_EQ(stored(), after);
  };
  poll(1000, d, 5);          // the first poll is never too soon
  poll(1003, stored(), 10);  // 3 < 5: slow_down, +5
  poll(1012, stored(), 15);  // 9 < 10: again, +5
  poll(1027, stored(), 15);  // 15 is not < 15: on time, interval kept
  ASSERT_TRUE(this->store().DecideDeviceCode(d.user_code_hash, true, MakeDecision("u"), 1028).has_value());
  poll(1030, stored(), 20);  // too soon, approved or not
  poll(1050, stored(), 20);  // on time: still "approved" until ConsumeDeviceCode
  EXPECT_EQ(stored().status, "approved");
  EXPECT_EQ(this->store().PollDeviceCode(Hash("dc-missing"), 1000).error(), Error::kNotFound);
  EXPECT_EQ(this->store().PollDeviceCode(d.user_code_hash, 1000).error(), Error::kNotFound)
      << "keyed by the device code, not the user code";
}

TEST_P(StoreContractTest, ConsumeDeviceCodeSpendsAnUnexpiredApprovalOnce) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  const DeviceCodeRecord ok = MakeDeviceCode("ok", 2000);
  const DeviceCodeRecord late = MakeDeviceCode("late", 2000);
  const DeviceCodeRecord denied = MakeDeviceCode("denied", 2000);
  const DeviceCodeRecord pending = MakeDeviceCode("pending", 2000);
  for (const auto& d : {ok, late, denied, pending})
    ASSERT_TRUE(this->store().CreateDeviceCode(d).has_value());
  for (const auto& d : {ok, late})
    ASSERT_TRUE(this->store().DecideDeviceCode(d.user_code_hash, true, MakeDecision("u"), 1000).has_value());
  ASSERT_TRUE(
      this->store().DecideDeviceCode(denied.user_code_hash, false, MakeDecision("u"), 1000).has_value());
  auto status = [&](const DeviceCodeRecord& d) {
    return this->store().GetDeviceCodeByUserCode(d.user_code_hash)->status;
  };

  ASSERT_TRUE(this->store().ConsumeDeviceCode(ok.device_code_hash, 1999).has_value());
  EXPECT_EQ(status(ok), "consumed");
  EXPECT_EQ(this->store().ConsumeDeviceCode(ok.device_code_hash, 1999).error(), Error::kConflict)
      << "single use";
  // expires_at <= now: an approved but expired code is not spent and stays approved.
  EXPECT_EQ(this->store().ConsumeDeviceCode(late.device_code_hash, 2000).error(), Error::kNotFound);
  EXPECT_EQ(status(late), "approved");
  EXPECT_EQ(this->store().ConsumeDeviceCode(denied.device_code_hash, 1500).error(), Error::kConflict);
  EXPECT_EQ(status(denied), "denied");
  EXPECT_EQ(this->store().ConsumeDeviceCode(pending.device_code_hash, 1500).error(), Error::kConflict);
  EXPECT_EQ(status(pending), "pending");
  EXPECT_EQ(this->store().ConsumeDeviceCode(Hash("dc-missing"), 1500).error(), Error::kNotFound);
  EXPECT_EQ(this->store().ConsumeDeviceCode(ok.user_code_hash, 1500).error(), Error::kNotFound)
      << "keyed by the device code, not the user code";
}

TEST_P(StoreContractTest, ConcurrentConsumptionsOfAnApprovedCodeHaveExactlyOneWinner) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 10;
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  for (int round = 0; round < kRounds; ++round) {
    const DeviceCodeRecord d = MakeDeviceCode("race" + std::to_string(round), 2000);
    ASSERT_TRUE(this->store().CreateDeviceCode(d).has_value());
    ASSERT_TRUE(this->store().DecideDeviceCode(d.user_code_hash, true, MakeDecision("u"), 1001).has_value());
    std::atomic<int> first_polls{0};
    Race race;
    AllAtOnce(kThreads, [&](int t) {
      auto r = this->store().PollDeviceCode(d.device_code_hash, 1010);
      if (r.has_value() && r->last_polled_at == 0) ++first_polls;
      race.Count(t, this->store().ConsumeDeviceCode(d.device_code_hash, 1010), Error::kConflict);
    });
    EXPECT_EQ(first_polls.load(), 1) << "round " << round << ": one poll finds the interval respected";
    EXPECT_TRUE(race.OneWinner(kThreads)) << "round " << round;
    // Every later poll came in the same second as the first: each one raised the interval once.
    auto after = this->store().GetDeviceCodeByUserCode(d.user_code_hash);
    ASSERT_TRUE(after.has_value());
    EXPECT_EQ(after->status, "consumed");
    EXPECT_EQ(after->interval, 5 + 5 * (kThreads - 1)) << "round " << round;
  }
}

TEST_P(StoreContractTest, ConcurrentDecisionsHaveExactlyOneWinner) {
  constexpr int kThreads = 8;
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(this->store().CreateUser(MakeUser("v")).has_value());
  const DeviceCodeRecord d = MakeDeviceCode("race", 2000);
  ASSERT_TRUE(this->store().CreateDeviceCode(d).has_value());
  Race race;
  AllAtOnce(kThreads, [&](int t) {
    race.Count(
        t,
        this->store().DecideDeviceCode(d.user_code_hash, t % 2 == 0, MakeDecision(t % 2 ? "v" : "u"), 1000),
        Error::kConflict);
  });
  ASSERT_TRUE(race.OneWinner(kThreads));
  const int w = race.winner.load();
  EXPECT_EQ(*this->store().GetDeviceCodeByUserCode(d.user_code_hash),
            Decided(d, w % 2 == 0, MakeDecision(w % 2 ? "v" : "u")));
}

TEST_P(StoreContractTest, DeletingAUserDeletesTheirAccessTokensDeviceCodesAndSessionClients) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(this->store().CreateUser(MakeUser("v")).has_value());
  const SessionRecord su = MakeSession("su", "u");
  const SessionRecord sv = MakeSession("sv", "v");
  for (const auto& s : {su, sv}) {
    ASSERT_TRUE(this->store().CreateSession(s).has_value());
    ASSERT_TRUE(this->store().AddSessionClient(s.id_hash, "app").has_value());
  }
  const AccessTokenRecord au = MakeAccessToken("u", "u");
  const AccessTokenRecord av = MakeAccessToken("v", "v");
  const AccessTokenRecord client = MakeAccessToken("client", "");
  for (const auto& t : {au, av, client}) ASSERT_TRUE(this->store().CreateAccessToken(t).has_value());
  const DeviceCodeRecord du = MakeDeviceCode("du");
  const DeviceCodeRecord dv = MakeDeviceCode("dv");
  const DeviceCodeRecord undecided = MakeDeviceCode("undecided");
  for (const auto& d : {du, dv, undecided}) ASSERT_TRUE(this->store().CreateDeviceCode(d).has_value());
  ASSERT_TRUE(this->store().DecideDeviceCode(du.user_code_hash, true, MakeDecision("u"), 1000).has_value());
  ASSERT_TRUE(this->store().DecideDeviceCode(dv.user_code_hash, false, MakeDecision("v"), 1000).has_value());
  ASSERT_TRUE(this->store().PutRevocation({"user:u", 1000, 5000}).has_value());

  ASSERT_TRUE(this->store().DeleteUser("u").has_value());
  EXPECT_EQ(this->store().GetAccessToken(au.token_hash).error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetDeviceCodeByUserCode(du.user_code_hash).error(), Error::kNotFound);
  EXPECT_EQ(this->store().PollDeviceCode(du.device_code_hash, 1100).error(), Error::kNotFound);
  EXPECT_TRUE(this->store().ListSessionClients(su.id_hash)->empty());
  EXPECT_EQ(this->store().AddSessionClient(su.id_hash, "app").error(), Error::kNotFound);
  // Other users', no user's, and the denylist stay.
  EXPECT_EQ(*this->store().GetAccessToken(av.token_hash), av);
  EXPECT_EQ(*this->store().GetAccessToken(client.token_hash), client);
  EXPECT_EQ(*this->store().GetDeviceCodeByUserCode(dv.user_code_hash), Decided(dv, false, MakeDecision("v")));
  EXPECT_EQ(*this->store().GetDeviceCodeByUserCode(undecided.user_code_hash), undecided);
  EXPECT_EQ(*this->store().ListSessionClients(sv.id_hash), std::vector<std::string>{"app"});
  EXPECT_EQ(*this->store().LatestRevocation({"user:u"}), 1000) << "revocations outlive the user";
  // A user created later with the same id (callers never do this) does not inherit anything.
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  EXPECT_EQ(this->store().GetAccessToken(au.token_hash).error(), Error::kNotFound);
  ASSERT_TRUE(this->store().CreateSession(su).has_value());
  EXPECT_TRUE(this->store().ListSessionClients(su.id_hash)->empty());
}

TEST_P(StoreContractTest, TokenRevocationDeviceCodeAndSessionClientWritesLeaveRevisionUnchanged) {
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(this->store().CreateSession(MakeSession("s", "u")).has_value());
  const int64_t before = this->RevisionNow();
  ASSERT_TRUE(this->store().AddSessionClient(Hash("s"), "app").has_value());
  EXPECT_FALSE(this->store().AddSessionClient(Hash("ghost"), "app").has_value());
  ASSERT_TRUE(this->store().CreateAccessToken(MakeAccessToken("a", "u", 100)).has_value());
  EXPECT_FALSE(this->store().CreateAccessToken(MakeAccessToken("a", "u")).has_value());
  ASSERT_TRUE(this->store().RevokeAccessToken(Hash("at-a")).has_value());
  EXPECT_EQ(*this->store().DeleteExpiredAccessTokens(100, 100), 1);
  ASSERT_TRUE(this->store().PutRevocation({"jti:x", 1, 100}).has_value());
  ASSERT_TRUE(this->store().PutRevocation({"jti:x", 2, 100}).has_value());
  EXPECT_EQ(*this->store().DeleteExpiredRevocations(100, 100), 1);
  const DeviceCodeRecord d = MakeDeviceCode("d", 100);
  ASSERT_TRUE(this->store().CreateDeviceCode(d).has_value());
  EXPECT_FALSE(this->store().CreateDeviceCode(d).has_value());
  ASSERT_TRUE(this->store().DecideDeviceCode(d.user_code_hash, true, MakeDecision("u"), 50).has_value());
  EXPECT_FALSE(this->store().DecideDeviceCode(d.user_code_hash, true, MakeDecision("u"), 50).has_value());
  ASSERT_TRUE(this->store().PollDeviceCode(d.device_code_hash, 60).has_value());
  EXPECT_EQ(*this->store().DeleteExpiredDeviceCodes(100, 100), 1);
  EXPECT_EQ(*this->store().RevokeRefreshTokens("u", "", ""), std::vector<std::string>{});
  EXPECT_EQ(this->RevisionNow(), before);
}

// Store::RevocationRevision: a server that remembers token lookups must learn of every write that
// can end a token early, and of nothing it does not need.
TEST_P(StoreContractTest, RevocationRevisionChangesAfterEveryRevocationWrite) {
  auto now = [&] {
    auto r = this->store().RevocationRevision();
    EXPECT_TRUE(r.has_value());
    return r ? *r : -1;
  };
  ASSERT_TRUE(this->store().CreateUser(MakeUser("u")).has_value());
  ASSERT_TRUE(this->store().CreateUser(MakeUser("v")).has_value());
  ASSERT_TRUE(this->store().CreateRefreshToken(MakeRefreshToken("r", "u", "fam-r")).has_value());
  ASSERT_TRUE(this->store().CreateAccessToken(MakeAccessToken("a", "u")).has_value());
  std::set<int64_t> seen = {now()};
  auto expect_new = [&](const char* after) {
    int64_t r = now();
    EXPECT_TRUE(seen.insert(r).second) << "revocation revision " << r << " repeated after " << after;
  };
  auto expect_same = [&](const char* after) {
    EXPECT_EQ(now(), *seen.rbegin()) << "revocation revision changed after " << after;
  };
  EXPECT_TRUE(this->store().GetAccessToken(Hash("at-a")).has_value());
  EXPECT_TRUE(this->store().GetRefreshToken(Hash("rt-r")).has_value());
  ASSERT_TRUE(this->store().CreateAccessToken(MakeAccessToken("b", "")).has_value());
  ASSERT_TRUE(this->store().CreateClient(MakeClient("c")).has_value());
  expect_same("reads, a token issued and a client created");
  ASSERT_TRUE(this->store().RevokeAccessToken(Hash("at-a")).has_value());
  expect_new("RevokeAccessToken");
  EXPECT_FALSE(this->store().RevokeAccessToken(Hash("at-missing")).has_value());
  expect_same("RevokeAccessToken of an unknown token");
  ASSERT_TRUE(this->store().PutRevocation({"grant:x", 1, 100}).has_value());
  expect_new("PutRevocation");
  ASSERT_TRUE(this->store().RevokeRefreshFamily("fam-r").has_value());
  expect_new("RevokeRefreshFamily");
  ASSERT_TRUE(this->store().CreateRefreshToken(MakeRefreshToken("r2", "u", "fam-r2")).has_value());
  ASSERT_TRUE(this->store().RevokeRefreshTokens("u", "", "").has_value());
  expect_new("RevokeRefreshTokens");
  UserRecord disabled = MakeUser("v");
  disabled.status = "disabled";
  ASSERT_TRUE(this->store().UpdateUser(disabled).has_value());
  expect_new("UpdateUser");
  EXPECT_FALSE(this->store().UpdateUser(MakeUser("missing")).has_value());
  expect_same("UpdateUser of an unknown user");
  ASSERT_TRUE(this->store().DeleteUser("u").has_value());
  expect_new("DeleteUser");
}

}  // namespace latchkey::store::testing
