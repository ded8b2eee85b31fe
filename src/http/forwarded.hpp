#pragma once

// Client addresses behind reverse proxies: IP addresses, CIDR ranges, and the client address of a
// request from its TCP peer and its X-Forwarded-For header, believed only when the peer is a
// configured trusted proxy. Pure functions: no sockets, no allocation beyond the returned strings.
//
// Only X-Forwarded-For is read. The RFC 7239 `Forwarded` header is deliberately ignored: a proxy
// that appends to X-Forwarded-For but passes a client's own `Forwarded` header through untouched
// (nginx's proxy_add_x_forwarded_for, HAProxy's `option forwardfor`, most load balancers) would
// otherwise hand the client the choice of its address. Reading one header that every common proxy
// writes leaves one thing to configure. X-Forwarded-Proto and X-Forwarded-Host are not read either:
// every URL Latchkey prints comes from the configured issuer, never from the request.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace latchkey::http {

// IpAddress: an IPv4 or IPv6 address. An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a
// dual-stack socket reports for an IPv4 peer; RFC 4291 §2.5.5.2) is held as the IPv4 address, so
// both spellings of one peer fall in the same IPv4 ranges.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4
  bool v4 = false;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// IpRange: a CIDR block (RFC 4632 §3.1 for IPv4, RFC 4291 §2.3 for IPv6): every address whose
// first `prefix_length` bits equal those of `base`. The bits of `base` past the prefix are zero.
struct IpRange {
  IpAddress base;
  int prefix_length = 0;  // 0..32 (IPv4) or 0..128 (IPv6)
};

// IpRangeError: why ParseIpRange refused its input.
enum class IpRangeError {
  kNone = 0,
  kBadAddress,   // not an IPv4 or IPv6 literal (host names, zone ids and brackets are refused)
  kBadPrefix,    // "/N" missing digits, out of range, or too short for an IPv4-mapped IPv6 base
  kHostBitsSet,  // "10.0.0.1/8": bits set past the prefix, most likely a typo for 10.0.0.0/8
};

// ParseIpAddress returns the address written as an IPv4 dotted quad (RFC 3986 §3.2.2 IPv4address:
// four decimal octets, no leading zeros) or an IPv6 literal (RFC 4291 §2.2, RFC 3986 IPv6address,
// hex digits of either case), or nullopt. No brackets, port, zone id ("%eth0") or surrounding
// space: the caller strips what its syntax allows.
std::optional<IpAddress> ParseIpAddress(std::string_view text);

// ParseIpRange returns the range written as ADDRESS (a single address: /32 or /128) or
// ADDRESS/PREFIX, with ADDRESS as ParseIpAddress accepts it. An IPv4-mapped IPv6 range
// (::ffff:10.0.0.0/104) becomes the IPv4 range it covers (10.0.0.0/8), and needs a prefix of at
// least 96. A range with bits set past its prefix is refused rather than silently widened.
common::Result<IpRange, IpRangeError> ParseIpRange(std::string_view text);

// FormatIpAddress returns the canonical text of `address`: dotted quad for IPv4, RFC 5952 for
// IPv6 (lower case, leading zeros dropped, the longest run of two or more zero groups as "::").
std::string FormatIpAddress(const IpAddress& address);

// InRange returns whether `address` lies in `range`. An IPv4 address never lies in an IPv6 range
// and the other way round (IPv4-mapped addresses were already folded into IPv4 by the parsers).
bool InRange(const IpAddress& address, const IpRange& range);

// IsTrusted returns whether `address` lies in any of `trusted`.
bool IsTrusted(const IpAddress& address, std::span<const IpRange> trusted);

// kMaxForwardedHops: X-Forwarded-For elements examined from the right before giving up. Real
// chains are one to three proxies long; the cap bounds the work a client can cause with a long
// header of addresses that happen to be trusted.
constexpr size_t kMaxForwardedHops = 16;
// kMaxForwardedElementBytes: longer elements are malformed. The longest valid one,
// "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535", has 53 characters.
constexpr size_t kMaxForwardedElementBytes = 64;

// ClientAddress returns the address of the client that sent a request which reached Latchkey from
// TCP peer `peer`, given every X-Forwarded-For header line of the request in order
// (`x_forwarded_for`; several lines are one comma-separated list, RFC 9110 §5.3) and the ranges of
// the reverse proxies Latchkey trusts:
//
//   X-Forwarded-For = 1#( IPv4address / IPv6address / "[" IPv6address "]" ) [ ":" port ]
//                     (de facto; every proxy appends the address of the peer it received from)
//
// - `peer` untrusted (or not an address), or `trusted` empty: `peer`, exactly as given. The header
//   is ignored: anybody can send one.
// - `peer` trusted: the elements are walked from the right (the one the nearest proxy appended)
//   to the left. Trusted addresses are skipped; the first address that is not trusted is the
//   client, in canonical form (FormatIpAddress). Only the elements to the right of it were
//   written by proxies we trust; everything to its left came from the client or from a proxy we
//   know nothing about, so a client cannot choose its address by sending a header of its own
//   (RFC 7239 §8.1: "the chain of IP addresses listed before the request came to the proxy cannot
//   be trusted"; §5.2 for the meaning of a "for" node).
// - Every element trusted: the leftmost (a trusted host was itself the client).
// - An element that is not an address ("unknown", an obfuscated "_id", a host name, one longer
//   than kMaxForwardedElementBytes with its spaces), or more than kMaxForwardedHops elements all
//   trusted: the walk stops and the answer is the last trusted hop seen (the peer, or the leftmost
//   trusted element read). Garbage is never believed, and never skipped over to reach an address
//   further left.
//
// Empty list elements ("a,,b", RFC 9110 §5.6.1) are ignored but count towards kMaxForwardedHops.
// Does NOT check that an address is publicly routable: a private client address behind the proxy
// is a client like any other.
std::string ClientAddress(std::string_view peer, std::span<const std::string_view> x_forwarded_for,
                          std::span<const IpRange> trusted);

}  // namespace latchkey::http
