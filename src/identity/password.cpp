#include "identity/password.hpp"

#include <argon2.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "common/base64.hpp"
#include "crypto/digest.hpp"

namespace latchkey::identity {
namespace {

constexpr size_t kSaltBytes = 16;
constexpr size_t kTagBytes = 32;

// Upper limits on the cost parameters VerifyPassword will run. A stored hash is not attacker
// input in normal operation, but a corrupted or tampered row must not make one login allocate
// terabytes or spin for hours; HashPassword refuses the same range so it never produces a string
// VerifyPassword rejects. The lower limits are Argon2's own (RFC 9106 §3.1).
constexpr uint32_t kMaxMemoryKib = uint32_t{1} << 22;  // 4 GiB
constexpr uint32_t kMaxIterations = 256;
constexpr uint32_t kMaxParallelism = 64;
constexpr size_t kMinSaltBytes = 8;
constexpr size_t kMaxSaltBytes = 64;
constexpr size_t kMinTagBytes = 4;
constexpr size_t kMaxTagBytes = 64;

constexpr std::string_view kPrefix = "$argon2id$v=19$";

bool ParamsSupported(uint32_t memory_kib, uint32_t iterations, uint32_t parallelism) {
  return parallelism >= 1 && parallelism <= kMaxParallelism && iterations >= 1 &&
         iterations <= kMaxIterations && memory_kib >= 8 * parallelism && memory_kib <= kMaxMemoryKib;
}

// PhcHash is a parsed "$argon2id$v=19$m=..,t=..,p=..$salt$tag".
struct PhcHash {
  uint32_t memory_kib = 0;
  uint32_t iterations = 0;
  uint32_t parallelism = 0;
  std::string salt;
  std::string tag;
};

// ConsumeLiteral strips `literal` from the front of `text`; false when it is not there.
bool ConsumeLiteral(std::string_view& text, std::string_view literal) {
  if (!text.starts_with(literal)) return false;
  text.remove_prefix(literal.size());
  return true;
}

// ConsumeDecimal parses decimal = "0" / %x31-39 *DIGIT from the front of `text` into a uint32_t.
// Leading zeros are refused so one parameter set has exactly one spelling.
std::optional<uint32_t> ConsumeDecimal(std::string_view& text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || (digits > 1 && text[0] == '0')) return std::nullopt;
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, value);
  if (ec != std::errc() || end != text.data() + digits) return std::nullopt;  // overflow
  text.remove_prefix(digits);
  return value;
}

// DecodeB64 decodes standard base64 without padding (the PHC string format's "B64"), refusing
// padding, characters outside the alphabet and non-zero trailing bits.
std::optional<std::string> DecodeB64(std::string_view text) {
  if (text.find('=') != std::string_view::npos || text.size() % 4 == 1) return std::nullopt;
  std::string padded(text);
  padded.append((4 - text.size() % 4) % 4, '=');
  return common::Base64Decode(padded);
}

// ParsePhc parses exactly the strings argon2's encoder writes for Argon2id version 0x13:
//   "$argon2id$v=19$m=" decimal ",t=" decimal ",p=" decimal "$" B64(salt) "$" B64(tag)
// nullopt for anything else, including argon2i/argon2d, the version-less (v=16) form, optional
// "keyid"/"data" fields, and parameters or lengths outside the supported limits.
std::optional<PhcHash> ParsePhc(std::string_view text) {
  PhcHash phc;
  if (!ConsumeLiteral(text, kPrefix) || !ConsumeLiteral(text, "m=")) return std::nullopt;
  auto memory_kib = ConsumeDecimal(text);
  if (!memory_kib || !ConsumeLiteral(text, ",t=")) return std::nullopt;
  auto iterations = ConsumeDecimal(text);
  if (!iterations || !ConsumeLiteral(text, ",p=")) return std::nullopt;
  auto parallelism = ConsumeDecimal(text);
  if (!parallelism || !ConsumeLiteral(text, "$")) return std::nullopt;
  if (!ParamsSupported(*memory_kib, *iterations, *parallelism)) return std::nullopt;

  size_t dollar = text.find('$');
  if (dollar == std::string_view::npos) return std::nullopt;
  auto salt = DecodeB64(text.substr(0, dollar));
  auto tag = DecodeB64(text.substr(dollar + 1));  // a second '$' fails the alphabet check
  if (!salt || !tag) return std::nullopt;
  if (salt->size() < kMinSaltBytes || salt->size() > kMaxSaltBytes) return std::nullopt;
  if (tag->size() < kMinTagBytes || tag->size() > kMaxTagBytes) return std::nullopt;

  phc.memory_kib = *memory_kib;
  phc.iterations = *iterations;
  phc.parallelism = *parallelism;
  phc.salt = std::move(*salt);
  phc.tag = std::move(*tag);
  return phc;
}

// Argon2id's work areas (m KiB each) are pooled instead of being allocated for every
// verification: a fresh 19 MiB mapping costs thousands of page faults and the kernel's zeroing,
// about a third of a verification's CPU time on a small VM. Argon2 wipes an area before handing it
// back (clear_internal_memory), so no password-derived data stays in the pool. Areas idle for a
// while are freed by TrimPasswordWorkAreas, so a burst of sign-ins does not pin its memory.
// Areas above kMaxPooledWorkArea (parameters far beyond OWASP's) are never pooled.
constexpr size_t kMaxPooledWorkArea = size_t{256} << 20;

struct WorkArea {
  uint8_t* memory = nullptr;
  size_t size = 0;
  std::chrono::steady_clock::time_point released;
};

std::mutex g_pool_mutex;
std::vector<WorkArea>& Pool() {
  static auto* pool = new std::vector<WorkArea>();  // never destroyed: threads may hash at exit
  return *pool;
}

int AllocateWorkArea(uint8_t** memory, size_t bytes) {
  if (bytes <= kMaxPooledWorkArea) {
    std::lock_guard lock(g_pool_mutex);
    auto& pool = Pool();
    for (auto it = pool.begin(); it != pool.end(); ++it) {
      if (it->size == bytes) {
        *memory = it->memory;
        pool.erase(it);
        return ARGON2_OK;
      }
    }
  }
  *memory = new (std::nothrow) uint8_t[bytes];
  return *memory == nullptr ? ARGON2_MEMORY_ALLOCATION_ERROR : ARGON2_OK;
}

void ReleaseWorkArea(uint8_t* memory, size_t bytes) {
  if (bytes > kMaxPooledWorkArea) {
    delete[] memory;
    return;
  }
  std::lock_guard lock(g_pool_mutex);
  Pool().push_back(WorkArea{memory, bytes, std::chrono::steady_clock::now()});
}

}  // namespace

common::Result<std::string, PasswordError> HashPassword(std::string_view password,
                                                        const PasswordParams& params,
                                                        common::Random& random) {
  // DoS guard: without a cap a client can post a megabyte "password" to every login attempt.
  if (password.size() > kMaxPasswordBytes) return PasswordError::kTooLong;
  if (!ParamsSupported(params.memory_kib, params.iterations, params.parallelism))
    return PasswordError::kInternal;

  std::string salt = random.Bytes(kSaltBytes);
  // Random's contract is exactly n bytes; a shorter salt would silently weaken every hash.
  if (salt.size() != kSaltBytes) std::abort();

  std::string encoded(argon2_encodedlen(params.iterations, params.memory_kib, params.parallelism, kSaltBytes,
                                        kTagBytes, Argon2_id),
                      '\0');
  int rc = argon2id_hash_encoded(params.iterations, params.memory_kib, params.parallelism, password.data(),
                                 password.size(), salt.data(), salt.size(), kTagBytes, encoded.data(),
                                 encoded.size());
  if (rc != ARGON2_OK) return PasswordError::kInternal;
  encoded.resize(encoded.find('\0'));  // argon2_encodedlen counts the terminating NUL
  return encoded;
}

bool VerifyPassword(std::string_view password, std::string_view encoded) {
  // Same DoS guard as HashPassword; no stored hash can match such a password anyway.
  if (password.size() > kMaxPasswordBytes) return false;
  std::optional<PhcHash> phc = ParsePhc(encoded);
  if (!phc) return false;

  std::string computed(phc->tag.size(), '\0');
  argon2_context ctx{};
  ctx.out = reinterpret_cast<uint8_t*>(computed.data());
  ctx.outlen = static_cast<uint32_t>(computed.size());
  // argon2 only writes through pwd when ARGON2_FLAG_CLEAR_PASSWORD is set, which it is not here.
  ctx.pwd = reinterpret_cast<uint8_t*>(const_cast<char*>(password.data()));
  ctx.pwdlen = static_cast<uint32_t>(password.size());
  ctx.salt = reinterpret_cast<uint8_t*>(phc->salt.data());
  ctx.saltlen = static_cast<uint32_t>(phc->salt.size());
  ctx.t_cost = phc->iterations;
  ctx.m_cost = phc->memory_kib;
  ctx.lanes = phc->parallelism;
  ctx.threads = phc->parallelism;
  ctx.version = ARGON2_VERSION_13;
  ctx.flags = ARGON2_DEFAULT_FLAGS;
  ctx.allocate_cbk = AllocateWorkArea;
  ctx.free_cbk = ReleaseWorkArea;
  if (argon2_ctx(&ctx, Argon2_id) != ARGON2_OK) return false;
  // Constant time: an early-exit compare would leak how many tag bytes a guess got right.
  return crypto::ConstantTimeEquals(computed, phc->tag);
}

size_t TrimPasswordWorkAreas(std::chrono::seconds max_idle) {
  const auto cutoff = std::chrono::steady_clock::now() - max_idle;
  std::vector<WorkArea> freed;
  {
    std::lock_guard lock(g_pool_mutex);
    auto& pool = Pool();
    auto idle = std::stable_partition(pool.begin(), pool.end(),
                                      [&](const WorkArea& a) { return a.released > cutoff; });
    freed.assign(idle, pool.end());
    pool.erase(idle, pool.end());
  }
  for (auto& area : freed) delete[] area.memory;
  return freed.size();
}

bool NeedsRehash(std::string_view encoded, const PasswordParams& params) {
  std::optional<PhcHash> phc = ParsePhc(encoded);
  if (!phc) return true;
  return phc->memory_kib < params.memory_kib || phc->iterations < params.iterations ||
         phc->parallelism < params.parallelism || phc->salt.size() < kSaltBytes ||
         phc->tag.size() < kTagBytes;
}

}  // namespace latchkey::identity
