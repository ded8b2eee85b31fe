#pragma once

// Password hashing with Argon2id (RFC 9106) in the PHC string format
// "$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<tag>" (salt and tag in standard base64
// without padding, as the reference implementation's encoder writes them).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/random.hpp"
#include "common/result.hpp"

namespace latchkey::identity {

// PasswordParams are the Argon2id cost parameters. The defaults are the OWASP Password Storage
// Cheat Sheet minimum for Argon2id: 19 MiB of memory, 2 passes, 1 lane.
struct PasswordParams {
  uint32_t memory_kib = 19456;
  uint32_t iterations = 2;
  uint32_t parallelism = 1;
};

// PasswordError says why HashPassword failed.
enum class PasswordError {
  kNone = 0,
  kMalformedHash,  // reserved for callers that parse stored hashes; HashPassword never returns it
  kTooLong,        // the password exceeds kMaxPasswordBytes
  kInternal,       // parameters outside the supported range, or Argon2 itself failed (e.g. out of memory)
};

// kMaxPasswordBytes is the longest password accepted. Argon2 cost does not grow with the password
// length in any meaningful way, but an unbounded input still lets a client make the server copy
// and hash megabytes per login attempt; 4096 bytes is far beyond any real passphrase.
inline constexpr size_t kMaxPasswordBytes = 4096;

// HashPassword returns the PHC string of `password` under Argon2id version 0x13 with `params`, a
// fresh 16-byte salt drawn from `random`, and a 32-byte tag. Fails with kTooLong when `password`
// exceeds kMaxPasswordBytes and kInternal when `params` fall outside what Argon2 (and
// VerifyPassword) accept, or hashing fails. Does NOT check password strength or that `params` are
// strong enough (the caller's policy). Blocks for the full Argon2 cost: call it off the network
// threads. `random` is borrowed for the call only.
common::Result<std::string, PasswordError> HashPassword(std::string_view password,
                                                        const PasswordParams& params, common::Random& random);

// VerifyPassword returns true only when `encoded` is a well-formed Argon2id (v=19) PHC string and
// `password` hashes to its tag; false for a wrong password, a password over kMaxPasswordBytes, any
// other algorithm (argon2i, argon2d, bcrypt, ...), a malformed string, or parameters beyond the
// supported limits. The tag comparison takes time independent of where the tags differ. Does NOT
// check whether the parameters are still strong enough: see NeedsRehash.
bool VerifyPassword(std::string_view password, std::string_view encoded);

// NeedsRehash returns true when `encoded` is malformed, is not Argon2id v=19, or was made with a
// memory cost, pass count or lane count below `params` (or a salt shorter than 16 bytes or a tag
// shorter than 32 bytes), so the caller should store a fresh HashPassword result after a
// successful VerifyPassword. False when the stored parameters are at least `params`.
bool NeedsRehash(std::string_view encoded, const PasswordParams& params);

// TrimPasswordWorkAreas frees the Argon2id work areas that VerifyPassword keeps for reuse and that
// have been idle for at least `max_idle`; returns how many it freed. Call it now and then (the
// server does once a minute). Thread-safe.
size_t TrimPasswordWorkAreas(std::chrono::seconds max_idle);

}  // namespace latchkey::identity
