#pragma once

// Storage interfaces and records. Backends: memory/ (tests), sqlite/ (embedded default), and
// later postgres/. Nothing here names a SQL dialect; every backend passes the contract suite in
// testing/store_contract.hpp.
//
// Thread safety: every method of every interface may be called from any thread concurrently.

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace latchkey::store {

enum class Error {
  kNone = 0,
  kNotFound,     // no record with that key
  kConflict,     // a record with that key already exists
  kUnavailable,  // the database cannot be reached or is busy; retry later (503)
  kCorrupt,      // stored data could not be decoded (a bug or tampering; logged)
};

template <class T>
using Result = common::Result<T, Error>;

// ClientRecord: a registered OAuth client (RFC 6749 §2; RFC 7591 §2 metadata names).
struct ClientRecord {
  std::string client_id;
  std::string client_name;
  // secret_hash: SHA-256 of the client secret, raw 32 bytes; empty for public clients.
  std::string secret_hash;
  // token_endpoint_auth_method: "client_secret_basic", "client_secret_post" or "none".
  std::string token_endpoint_auth_method = "client_secret_basic";
  std::vector<std::string> redirect_uris;
  std::vector<std::string> grant_types;
  std::vector<std::string> scopes;  // scopes the client may request
  std::vector<std::string> post_logout_redirect_uris;
  int64_t access_token_lifetime = 0;  // seconds; 0: the server's default
  std::string access_token_alg;       // "ES256", "RS256", ...; empty: the server's default
  int64_t created_at = 0;
  int64_t updated_at = 0;

  bool operator==(const ClientRecord&) const = default;
};

// ClientStore: CRUD over clients.
class ClientStore {
 public:
  virtual ~ClientStore() = default;
  // GetClient: kNotFound when absent.
  virtual Result<ClientRecord> GetClient(const std::string& client_id) = 0;
  // ListClients: all clients ordered by client_id.
  virtual Result<std::vector<ClientRecord>> ListClients() = 0;
  // CreateClient: kConflict when the id exists.
  virtual Result<void> CreateClient(const ClientRecord& client) = 0;
  // UpdateClient replaces every field of an existing client: kNotFound when absent.
  virtual Result<void> UpdateClient(const ClientRecord& client) = 0;
  // DeleteClient: kNotFound when absent.
  virtual Result<void> DeleteClient(const std::string& client_id) = 0;
};

// SigningKeyRecord: one JWS signing key. private_pem is PKCS#8 PEM.
struct SigningKeyRecord {
  std::string kid;
  std::string alg;  // "RS256" (also usable for PS256), "ES256", "EdDSA"
  std::string private_pem;
  std::string state = "active";  // "active" (later: "next", "retired")
  int64_t created_at = 0;

  bool operator==(const SigningKeyRecord&) const = default;
};

// KeyStore: the server's signing keys.
class KeyStore {
 public:
  virtual ~KeyStore() = default;
  // ListSigningKeys: all keys ordered by created_at, then kid.
  virtual Result<std::vector<SigningKeyRecord>> ListSigningKeys() = 0;
  // AddSigningKey: kConflict when the kid exists.
  virtual Result<void> AddSigningKey(const SigningKeyRecord& key) = 0;
};

// Store: one backend's whole surface.
class Store : public ClientStore, public KeyStore {
 public:
  // Revision returns a number that changes whenever any client or key is written, by this
  // process or another one sharing the database (how a running server notices admin commands).
  virtual Result<int64_t> Revision() = 0;
};

}  // namespace latchkey::store
