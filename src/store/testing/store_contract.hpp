#pragma once

// StoreContractTest: the behaviour every store::Store backend must show. A backend's test file
// instantiates it with a factory type that has `static std::unique_ptr<Store> Make()` returning a
// fresh, empty store (the factory owns any cleanup, e.g. by returning a wrapper that deletes its
// temp file when destroyed):
//
//   struct MemoryFactory { static std::unique_ptr<Store> Make() { return NewMemoryStore(); } };
//   INSTANTIATE_TYPED_TEST_SUITE_P(Memory, StoreContractTest, MemoryFactory);

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
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
  c.created_at = 9223372036854775807LL;
  c.updated_at = -1;
  return c;
}

template <class Factory>
class StoreContractTest : public ::testing::Test {
 protected:
  StoreContractTest() : store_(Factory::Make()) {}

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

TYPED_TEST_SUITE_P(StoreContractTest);

TYPED_TEST_P(StoreContractTest, EmptyStoreListsNothing) {
  auto clients = this->store().ListClients();
  ASSERT_TRUE(clients.has_value());
  EXPECT_TRUE(clients->empty());
  auto keys = this->store().ListSigningKeys();
  ASSERT_TRUE(keys.has_value());
  EXPECT_TRUE(keys->empty());
}

TYPED_TEST_P(StoreContractTest, CreateThenGetReturnsTheSameRecord) {
  ClientRecord c = MakeClient("app");
  ASSERT_TRUE(this->store().CreateClient(c).has_value());
  auto got = this->store().GetClient("app");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, c);
}

TYPED_TEST_P(StoreContractTest, GetMissingIsNotFound) {
  ASSERT_TRUE(this->store().CreateClient(MakeClient("app")).has_value());
  auto got = this->store().GetClient("other");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error(), Error::kNotFound);
  // Lookup is exact: no case folding, no prefix match.
  EXPECT_EQ(this->store().GetClient("APP").error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetClient("ap").error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetClient("").error(), Error::kNotFound);
}

TYPED_TEST_P(StoreContractTest, CreateDuplicateIsConflictAndKeepsTheOriginal) {
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

TYPED_TEST_P(StoreContractTest, UpdateReplacesEveryField) {
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

TYPED_TEST_P(StoreContractTest, UpdateMissingIsNotFoundAndCreatesNothing) {
  auto r = this->store().UpdateClient(MakeClient("ghost"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), Error::kNotFound);
  EXPECT_EQ(this->store().GetClient("ghost").error(), Error::kNotFound);
}

TYPED_TEST_P(StoreContractTest, DeleteRemovesOnlyThatClient) {
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

TYPED_TEST_P(StoreContractTest, AllFieldsRoundTripExactly) {
  ClientRecord awkward = MakeAwkwardClient();
  ClientRecord empty;  // every string and list empty, defaults elsewhere
  empty.client_id = "empty";
  empty.token_endpoint_auth_method = "";
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

TYPED_TEST_P(StoreContractTest, ListClientsIsOrderedByClientIdBytes) {
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

TYPED_TEST_P(StoreContractTest, SigningKeysListInCreatedAtThenKidOrder) {
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

TYPED_TEST_P(StoreContractTest, AddSigningKeyDuplicateKidIsConflict) {
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

TYPED_TEST_P(StoreContractTest, RevisionChangesAfterEveryWrite) {
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

TYPED_TEST_P(StoreContractTest, RevisionStaysAfterReadsAndFailedWrites) {
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

TYPED_TEST_P(StoreContractTest, ConcurrentWritesAndReadsAllSucceed) {
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

REGISTER_TYPED_TEST_SUITE_P(StoreContractTest, EmptyStoreListsNothing, CreateThenGetReturnsTheSameRecord,
                            GetMissingIsNotFound, CreateDuplicateIsConflictAndKeepsTheOriginal,
                            UpdateReplacesEveryField, UpdateMissingIsNotFoundAndCreatesNothing,
                            DeleteRemovesOnlyThatClient, AllFieldsRoundTripExactly,
                            ListClientsIsOrderedByClientIdBytes, SigningKeysListInCreatedAtThenKidOrder,
                            AddSigningKeyDuplicateKidIsConflict, RevisionChangesAfterEveryWrite,
                            RevisionStaysAfterReadsAndFailedWrites, ConcurrentWritesAndReadsAllSucceed);

}  // namespace latchkey::store::testing
