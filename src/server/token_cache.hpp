#pragma once

// TokenCache: what introspection found for active access tokens, kept in memory so that asking
// again about the same token is answered without the store (and without verifying a JWT again).
//
// Only positive answers are kept, each until its token expires. Anything that can end a token
// early (a revocation, a disabled or deleted person) makes the cache forget everything:
//   - at this node, the code that wrote the revocation calls Forget() after the write;
//   - elsewhere (another node, the admin command line), the store's RevocationRevision moves, and
//     the server's revision poll calls Forget() when it sees that.
// A lookup that raced a Forget() is not kept: Put() takes the generation read before the store
// was asked, and drops the entry when a Forget() came in between.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace latchkey::server {

class TokenCache {
 public:
  struct Entry {
    std::string client_id;  // whom the token was issued to (who may introspect it)
    int64_t expires_at = 0;
    std::string body;  // the introspection response for an active token
  };

  // At most `capacity` entries; 0 keeps nothing.
  explicit TokenCache(std::size_t capacity);

  // Generation: read before asking the store, passed to Put.
  uint64_t Generation() const;

  // Put keeps `entry` under `token_hash` unless Forget() was called since `generation` was read,
  // the entry has expired at `now`, or the cache is disabled. A full cache first drops what has
  // expired, then (still full) everything: simple, and cheap next to the lookups it saves.
  void Put(uint64_t generation, const std::string& token_hash, Entry entry, int64_t now);

  // Get returns the entry for `token_hash` while its token has not expired at `now`.
  std::shared_ptr<const Entry> Get(const std::string& token_hash, int64_t now) const;

  // Forget drops every entry and moves the generation on.
  void Forget();

  std::size_t Size() const;

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  uint64_t generation_ = 0;
  std::unordered_map<std::string, std::shared_ptr<const Entry>> entries_;
};

}  // namespace latchkey::server
