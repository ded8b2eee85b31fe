#include "oauth/device.hpp"

#include <cstdlib>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "common/base64.hpp"
#include "common/form.hpp"

namespace latchkey::oauth {
namespace {

// The largest multiple of the alphabet size that fits in a byte: bytes at or above it are
// rejected, so each of the 20 characters comes from exactly 12 byte values.
constexpr unsigned kUnbiasedByteLimit = 256 - 256 % kUserCodeAlphabet.size();
static_assert(kUnbiasedByteLimit == 240);

// kMaxUserCodeDraws bounds the calls to Random::Bytes per code. A working RNG rejects a byte with
// probability 1/16, so needing more than this many batches means it returns constant output:
// continuing would either spin forever or hand out predictable codes.
constexpr int kMaxUserCodeDraws = 64;

bool IsAsciiWhitespace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

}  // namespace

std::string NewUserCode(common::Random& random) {
  std::string code;
  code.reserve(kUserCodeLength);
  for (int draw = 0; code.size() < kUserCodeLength; ++draw) {
    if (draw == kMaxUserCodeDraws) std::abort();
    // Ask for exactly the characters still missing; rejected bytes are replaced by the next batch.
    for (char c : random.Bytes(kUserCodeLength - code.size())) {
      const auto b = static_cast<unsigned char>(c);
      // Rejection sampling: "b % 20" over all 256 values would favour the first 16 characters
      // (13 byte values each against 12), shrinking the space an attacker must search (§5.1).
      if (b >= kUnbiasedByteLimit) continue;
      code.push_back(kUserCodeAlphabet[b % kUserCodeAlphabet.size()]);
    }
  }
  return code;
}

std::string FormatUserCode(std::string_view canonical) {
  if (canonical.size() != kUserCodeLength) return std::string(canonical);
  constexpr std::size_t kHalf = kUserCodeLength / 2;
  std::string formatted(canonical.substr(0, kHalf));
  formatted.push_back('-');
  formatted.append(canonical.substr(kHalf));
  return formatted;
}

std::optional<std::string> NormalizeUserCode(std::string_view typed) {
  // Bounded work per attempt, whatever a browser posts.
  if (typed.size() > kMaxUserCodeInput) return std::nullopt;
  std::string code;
  code.reserve(kUserCodeLength);
  for (char c : typed) {
    if (c == '-' || IsAsciiWhitespace(c)) continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    // Only ASCII upper-case letters can be in the alphabet; a non-ASCII byte is never in it (no
    // locale-dependent case mapping), and a NUL byte cannot end the search early.
    if (kUserCodeAlphabet.find(c) == std::string_view::npos) return std::nullopt;
    if (code.size() == kUserCodeLength) return std::nullopt;
    code.push_back(c);
  }
  if (code.size() != kUserCodeLength) return std::nullopt;
  return code;
}

std::string NewDeviceCode(common::Random& random) { return common::Base64UrlEncode(random.Bytes(32)); }

std::string VerificationUriComplete(std::string_view verification_uri, std::string_view user_code) {
  const std::size_t hash = verification_uri.find('#');
  const std::string_view base = verification_uri.substr(0, hash);
  const std::string_view fragment = hash == std::string_view::npos ? "" : verification_uri.substr(hash);
  std::string uri(base);
  if (base.find('?') == std::string_view::npos) {
    uri.push_back('?');
  } else if (base.back() != '?' && base.back() != '&') {
    uri.push_back('&');
  }
  uri.append("user_code=").append(common::FormEncode(user_code)).append(fragment);
  return uri;
}

std::string DeviceAuthorizationResponseJson(const DeviceAuthorizationResponse& response) {
  boost::json::object body;
  body["device_code"] = response.device_code;
  body["user_code"] = response.user_code;
  body["verification_uri"] = response.verification_uri;
  if (!response.verification_uri_complete.empty())
    body["verification_uri_complete"] = response.verification_uri_complete;
  body["expires_in"] = response.expires_in;
  body["interval"] = response.interval;
  return boost::json::serialize(body);
}

Result<void> DecideDevicePoll(const store::DeviceCodeRecord& before, std::string_view client_id,
                              int64_t now) {
  // The order is documented in the header; each step relies on the ones before it.
  if (before.client_id != client_id)
    return MakeError(ErrorCode::kInvalidGrant, "the device_code was issued to another client");
  if (before.expires_at <= now) return MakeError(ErrorCode::kExpiredToken, "the device_code has expired");
  // Same test as the store's, on the same values, so the two agree on which polls came too soon.
  if (before.last_polled_at != 0 && now - before.last_polled_at < before.interval) {
    return MakeError(ErrorCode::kSlowDown, "polling too often: wait 5 more seconds between requests");
  }
  if (before.status == "pending")
    return MakeError(ErrorCode::kAuthorizationPending, "the user has not approved the device yet");
  if (before.status == "denied") return MakeError(ErrorCode::kAccessDenied, "the user denied the request");
  if (before.status == "consumed")
    return MakeError(ErrorCode::kInvalidGrant, "the device_code has already been used");
  if (before.status == "approved") {
    // The store guarantees an approver; never issue a token without a subject if it did not.
    if (before.user_id.empty()) return MakeError(ErrorCode::kServerError, "the device code is inconsistent");
    return {};
  }
  return MakeError(ErrorCode::kServerError, "the device code is in an unknown state");
}

}  // namespace latchkey::oauth
