#include "http/forwarded.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include <boost/url/ipv4_address.hpp>
#include <boost/url/ipv6_address.hpp>

namespace latchkey::http {
namespace {

std::optional<IpAddress> ParseIpv4(std::string_view text) {
  auto parsed = boost::urls::parse_ipv4_address(text);
  if (!parsed) return std::nullopt;
  IpAddress out;
  out.v4 = true;
  const auto bytes = parsed->to_bytes();
  std::copy(bytes.begin(), bytes.end(), out.bytes.begin());
  return out;
}

// ParseIpv6 folds IPv4-mapped addresses (RFC 4291 §2.5.5.2) into IPv4. Boost.URL's grammar is
// RFC 3986's IPv6address: no zone id, no brackets.
std::optional<IpAddress> ParseIpv6(std::string_view text) {
  auto parsed = boost::urls::parse_ipv6_address(text);
  if (!parsed) return std::nullopt;
  const auto bytes = parsed->to_bytes();
  IpAddress out;
  if (parsed->is_v4_mapped()) {
    out.v4 = true;
    std::copy(bytes.begin() + 12, bytes.end(), out.bytes.begin());
  } else {
    std::copy(bytes.begin(), bytes.end(), out.bytes.begin());
  }
  return out;
}

// IsPort: 1 to 5 decimal digits, at most 65535.
bool IsPort(std::string_view text) {
  if (text.empty() || text.size() > 5) return false;
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && ptr == text.data() + text.size() && value <= 65535;
}

// ParseForwardedNode reads one X-Forwarded-For element (already trimmed): an address, optionally
// with a port, IPv6 in brackets when it has one. Some proxies (Azure Application Gateway, IIS ARR)
// append "address:port"; the port says nothing about the client and is dropped.
std::optional<IpAddress> ParseForwardedNode(std::string_view node) {
  if (node.starts_with('[')) {
    const size_t close = node.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view rest = node.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !IsPort(rest.substr(1)))) return std::nullopt;
    return ParseIpv6(node.substr(1, close - 1));
  }
  const size_t colons = static_cast<size_t>(std::count(node.begin(), node.end(), ':'));
  if (colons == 1) {
    const size_t colon = node.find(':');
    if (!IsPort(node.substr(colon + 1))) return std::nullopt;
    return ParseIpv4(node.substr(0, colon));
  }
  return ParseIpAddress(node);
}

std::string_view TrimOws(std::string_view text) {
  // OWS = *( SP / HTAB ), RFC 9110 §5.6.3.
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::optional<IpAddress> ParseIpAddress(std::string_view text) {
  if (text.find(':') == std::string_view::npos) return ParseIpv4(text);
  return ParseIpv6(text);
}

common::Result<IpRange, IpRangeError> ParseIpRange(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  const bool written_v6 = address_text.find(':') != std::string_view::npos;
  auto address = ParseIpAddress(address_text);
  if (!address) return IpRangeError::kBadAddress;
  const int max_prefix = written_v6 ? 128 : 32;
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    // Digits only: from_chars would also take a sign, and "/08" is not how anyone writes a prefix.
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits.front() == '0') ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return IpRangeError::kBadPrefix;
    }
    std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (prefix > max_prefix) return IpRangeError::kBadPrefix;
  }
  if (written_v6 && address->v4) {
    // ::ffff:a.b.c.d/N covers IPv4 addresses only when N keeps the ::ffff: part fixed.
    if (prefix < 96) return IpRangeError::kBadPrefix;
    prefix -= 96;
  }
  IpRange range{*address, prefix};
  const int bits = address->v4 ? 32 : 128;
  for (int bit = prefix; bit < bits; ++bit) {
    if ((address->bytes[static_cast<size_t>(bit / 8)] >> (7 - bit % 8)) & 1)
      return IpRangeError::kHostBitsSet;
  }
  return range;
}

std::string FormatIpAddress(const IpAddress& address) {
  if (address.v4) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", address.bytes[0], address.bytes[1], address.bytes[2],
                  address.bytes[3]);
    return buf;
  }
  // RFC 5952 §4 by hand: Boost.URL's printer also shortens a single zero group to "::", which
  // §4.2.2 forbids, and one client must have exactly one spelling (it keys rate limits).
  std::array<unsigned, 8> groups{};
  for (size_t i = 0; i < groups.size(); ++i) {
    groups[i] = static_cast<unsigned>(address.bytes[2 * i] << 8 | address.bytes[2 * i + 1]);
  }
  // §4.2.1 and §4.2.3: the longest run of two or more zero groups, the first of equal runs.
  size_t best_start = groups.size();
  size_t best_length = 1;
  for (size_t i = 0; i < groups.size();) {
    size_t j = i;
    while (j < groups.size() && groups[j] == 0) ++j;
    if (j - i > best_length) {
      best_start = i;
      best_length = j - i;
    }
    i = j == i ? i + 1 : j;
  }
  std::string out;
  char buf[8];
  for (size_t i = 0; i < groups.size(); ++i) {
    if (i == best_start) {
      out += "::";
      i += best_length - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::snprintf(buf, sizeof buf, "%x", groups[i]);  // §4.1 no leading zeros, §4.3 lower case
    out += buf;
  }
  return out;
}

bool InRange(const IpAddress& address, const IpRange& range) {
  if (address.v4 != range.base.v4) return false;
  const auto whole = static_cast<size_t>(range.prefix_length / 8);
  if (!std::equal(address.bytes.begin(), address.bytes.begin() + static_cast<std::ptrdiff_t>(whole),
                  range.base.bytes.begin())) {
    return false;
  }
  const int rest = range.prefix_length % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (address.bytes[whole] & mask) == range.base.bytes[whole];
}

bool IsTrusted(const IpAddress& address, std::span<const IpRange> trusted) {
  return std::any_of(trusted.begin(), trusted.end(),
                     [&](const IpRange& range) { return InRange(address, range); });
}

std::string ClientAddress(std::string_view peer, std::span<const std::string_view> x_forwarded_for,
                          std::span<const IpRange> trusted) {
  if (trusted.empty()) return std::string(peer);
  // Anybody can send X-Forwarded-For: only a trusted proxy's word about who its peer was counts.
  const auto peer_address = ParseIpAddress(peer);
  if (!peer_address || !IsTrusted(*peer_address, trusted)) return std::string(peer);

  std::optional<IpAddress> last_trusted;  // nullopt: the peer itself
  auto fallback = [&] { return last_trusted ? FormatIpAddress(*last_trusted) : std::string(peer); };
  size_t hops = 0;
  // Right to left: the last line's last element is the one the nearest proxy appended.
  for (auto line = x_forwarded_for.rbegin(); line != x_forwarded_for.rend(); ++line) {
    std::string_view rest = *line;
    for (bool more = true; more;) {
      if (++hops > kMaxForwardedHops) return fallback();
      // Find the element's start without scanning further back than an element may be long: a
      // megabyte without a comma costs no more than a short element.
      size_t start = rest.size();
      size_t scanned = 0;
      while (start > 0 && rest[start - 1] != ',' && scanned <= kMaxForwardedElementBytes) {
        --start;
        ++scanned;
      }
      if (scanned > kMaxForwardedElementBytes) return fallback();
      const std::string_view element = TrimOws(rest.substr(start));
      more = start > 0;
      rest = more ? rest.substr(0, start - 1) : std::string_view();
      if (element.empty()) continue;  // RFC 9110 §5.6.1: empty list elements are ignored
      const auto address = ParseForwardedNode(element);
      // Never believe garbage, and never skip over it to an address further left: whatever wrote
      // it is not a proxy we know, so nothing to its left is vouched for.
      if (!address) return fallback();
      if (!IsTrusted(*address, trusted)) return FormatIpAddress(*address);
      last_trusted = *address;
    }
  }
  return fallback();
}

}  // namespace latchkey::http
