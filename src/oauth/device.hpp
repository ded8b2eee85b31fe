#pragma once

// The device authorization grant (RFC 8628): user and device codes, the device authorization
// response, and the decision of a device access token request. Pure: the store calls, hashing of
// the codes, client authentication and token issuance stay with the caller.
//
// Flow, for the caller: the device authorization endpoint (§3.1) mints NewDeviceCode and
// NewUserCode, stores their SHA-256 hashes (the user code hashed in its canonical, unformatted
// form) and answers DeviceAuthorizationResponseJson; the verification page (§3.3) runs what the
// user typed through NormalizeUserCode before hashing it; the token endpoint (§3.4) calls
// store::DeviceCodeStore::PollDeviceCode and then DecideDevicePoll on the record it returns.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/random.hpp"
#include "oauth/error.hpp"
#include "store/store.hpp"

namespace latchkey::oauth {

// kDeviceCodeGrantType: the grant_type of a device access token request (RFC 8628 §3.4).
inline constexpr std::string_view kDeviceCodeGrantType = "urn:ietf:params:oauth:grant-type:device_code";

// kUserCodeAlphabet: the base-20 character set of RFC 8628 §6.1: upper-case consonants only, so
// codes are typed without modifier keys, never spell words, and hold no look-alikes such as 0/O
// or 1/I/l.
inline constexpr std::string_view kUserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ";

// kUserCodeLength: significant characters of a user code. 20^8 ≈ 2^34.6 (RFC 8628 §6.1, §5.1):
// enough only together with a short lifetime and rate-limited attempts, which the caller enforces.
inline constexpr std::size_t kUserCodeLength = 8;

// kMaxUserCodeInput: the longest input NormalizeUserCode reads, in bytes.
inline constexpr std::size_t kMaxUserCodeInput = 64;

// kDefaultPollInterval: the polling interval, in seconds, a client uses when none is given
// (RFC 8628 §3.2, §3.5).
inline constexpr int64_t kDefaultPollInterval = 5;

// NewUserCode returns a fresh user code: kUserCodeLength characters of kUserCodeAlphabet, each
// uniform (bytes are drawn from `random` and those >= 240 are rejected, so "byte % 20" carries no
// modulo bias). Canonical form, no dash: hash this, show FormatUserCode of it. Does NOT check that
// the code is unused: the store refuses a duplicate (kConflict) and the caller draws again.
std::string NewUserCode(common::Random& random);

// FormatUserCode returns a canonical user code as the user reads it, "WDJBMJHT" -> "WDJB-MJHT"
// (RFC 8628 §6.1: dashes for readability). `canonical` must be kUserCodeLength characters (from
// NewUserCode or NormalizeUserCode); anything else is returned unchanged.
std::string FormatUserCode(std::string_view canonical);

// NormalizeUserCode returns the canonical form of a user code as typed (RFC 8628 §6.1): ASCII
// letters upper-cased, dashes and ASCII whitespace (space, \t, \n, \v, \f, \r) removed anywhere.
// nullopt when `typed` is longer than kMaxUserCodeInput bytes, or when what remains is not exactly
// kUserCodeLength characters of kUserCodeAlphabet: a vowel, digit, other punctuation or non-ASCII
// byte (even a Unicode dash or space) rejects the input rather than being dropped, so a typo is
// reported to the user instead of silently yielding a different code.
// Does NOT rate-limit: every call on user input counts as one guess (§5.1) for the caller.
std::optional<std::string> NormalizeUserCode(std::string_view typed);

// NewDeviceCode returns a fresh device_code: 256 bits from `random`, base64url without padding
// (43 characters). RFC 8628 §5.2: it is never typed, so it carries the entropy of a bearer secret.
std::string NewDeviceCode(common::Random& random);

// VerificationUriComplete returns `verification_uri` with the query parameter user_code set to
// `user_code` (form-encoded; expected: the formatted code), appended with '?' or '&' and placed
// before any fragment (RFC 8628 §3.3.1). Does NOT validate `verification_uri`: it comes from the
// server's configuration.
std::string VerificationUriComplete(std::string_view verification_uri, std::string_view user_code);

// DeviceAuthorizationResponse: a successful device authorization response (RFC 8628 §3.2).
struct DeviceAuthorizationResponse {
  std::string device_code;
  std::string user_code;  // formatted, as the device shows it ("WDJB-MJHT")
  std::string verification_uri;
  std::string verification_uri_complete;  // OPTIONAL; empty: omitted
  int64_t expires_in = 0;                 // seconds until both codes expire
  int64_t interval = kDefaultPollInterval;
};

// DeviceAuthorizationResponseJson renders the §3.2 JSON body (sent with status 200 and
// Cache-Control: no-store). Every member is present except an empty verification_uri_complete.
std::string DeviceAuthorizationResponseJson(const DeviceAuthorizationResponse& response);

// DecideDevicePoll decides a device access token request (RFC 8628 §3.5) from `before`, the record
// as store::DeviceCodeStore::PollDeviceCode returned it, i.e. as it was BEFORE this poll, whose
// side effects the store has already applied. `client_id` is the client the token endpoint
// authenticated (or identified, for a public client); `now` the same time passed to the store.
// Success (an empty value): issue tokens for before.user_id and before.scope; the store has marked
// the code "consumed", so this poll is the only one that succeeds. Otherwise, the first that holds:
//   1. before.client_id != client_id: invalid_grant (RFC 6749 §5.2, "issued to another client").
//      First, so a client holding another client's device_code learns nothing of its state. (The
//      store has applied the poll regardless: such a poll of an approved code consumes it. Only
//      a holder of the 256-bit device_code can do that, and the owner then gets invalid_grant.)
//   2. before.expires_at <= now: expired_token. Ahead of slow_down: the session has concluded and
//      the client must stop polling rather than be told to keep going more slowly.
//   3. before.last_polled_at != 0 and now - before.last_polled_at < before.interval: slow_down.
//      Ahead of every status: the store does not consume an approved code on a poll that comes too
//      soon (so answering with tokens would issue them without consuming the code), and a client
//      polling too fast learns nothing sooner than one that waits.
//   4. by before.status: "pending": authorization_pending; "denied": access_denied; "consumed":
//      invalid_grant (a device_code is single use); "approved": success, unless before.user_id is
//      empty (server_error). Any other status is server_error: the store holds a record this code
//      does not understand.
// Does NOT authenticate the client, check that the client may use this grant type, or check the
// device_code itself: the caller found the record by its hash.
Result<void> DecideDevicePoll(const store::DeviceCodeRecord& before, std::string_view client_id, int64_t now);

}  // namespace latchkey::oauth
