#include "http/forwarded.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace latchkey::http {
namespace {

std::vector<IpRange> Ranges(std::initializer_list<std::string_view> texts) {
  std::vector<IpRange> out;
  for (auto text : texts) {
    auto range = ParseIpRange(text);
    EXPECT_TRUE(range.has_value()) << text;
    if (range) out.push_back(*range);
  }
  return out;
}

std::string Client(std::string_view peer, std::vector<std::string_view> lines,
                   const std::vector<IpRange>& trusted) {
  return ClientAddress(peer, lines, trusted);
}

TEST(ForwardedTest, ParseIpAddressAcceptsLiteralsInCanonicalForm) {
  struct Case {
    std::string_view text;
    std::string_view canonical;
    bool v4;
  };
  const Case kCases[] = {
      {"127.0.0.1", "127.0.0.1", true},
      {"0.0.0.0", "0.0.0.0", true},
      {"255.255.255.255", "255.255.255.255", true},
      {"::1", "::1", false},
      {"::", "::", false},
      {"2001:DB8::A", "2001:db8::a", false},
      {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1", false},
      // RFC 5952 §4.2.2: one zero group is not "::"; §4.2.3: the first of equal runs is.
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1", false},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", false},
      {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1", false},
      {"0:0:1:0:0:0:1:0", "0:0:1::1:0", false},
      {"1:0:0:0:0:0:0:0", "1::", false},
      {"fd00:0:0:0:0:0:0:0", "fd00::", false},
      // IPv4-mapped IPv6 (RFC 4291 §2.5.5.2) is the IPv4 address: one client, one rate-limit key.
      {"::ffff:192.0.2.7", "192.0.2.7", true},
      {"::FFFF:c000:0207", "192.0.2.7", true},
  };
  for (const auto& c : kCases) {
    auto parsed = ParseIpAddress(c.text);
    ASSERT_TRUE(parsed.has_value()) << c.text;
    EXPECT_EQ(parsed->v4, c.v4) << c.text;
    EXPECT_EQ(FormatIpAddress(*parsed), c.canonical) << c.text;
  }
}

TEST(ForwardedTest, ParseIpAddressRejectsEverythingElse) {
  const std::string_view kRejected[] = {
      "",           "localhost",         "proxy.internal", "1.2.3",
      "1.2.3.4.5",  "256.1.1.1",         "01.2.3.4",       "1.2.3.04",
      " 1.2.3.4",   "1.2.3.4 ",          "1.2.3.4:80",     "[::1]",
      "fe80::1%1",  "fe80::1%eth0",      "1::2::3",        "12345::",
      "::g",        "1:2:3:4:5:6:7:8:9", "unknown",        "_hidden",
      "0x7f.0.0.1", "2130706433",        "-1.2.3.4",       std::string_view("1.2.3.4\0", 8),
  };
  for (auto text : kRejected) EXPECT_FALSE(ParseIpAddress(text).has_value()) << text;
}

TEST(ForwardedTest, ParseIpRangeAcceptedTable) {
  struct Case {
    std::string_view text;
    std::string_view base;
    int prefix_length;
  };
  const Case kCases[] = {
      {"10.0.0.0/8", "10.0.0.0", 8},
      {"192.0.2.1", "192.0.2.1", 32},
      {"192.0.2.1/32", "192.0.2.1", 32},
      {"0.0.0.0/0", "0.0.0.0", 0},
      {"172.16.0.0/12", "172.16.0.0", 12},
      {"2001:db8::/32", "2001:db8::", 32},
      {"::1", "::1", 128},
      {"::/0", "::", 0},
      {"fd00::/8", "fd00::", 8},
      {"::ffff:10.0.0.0/104", "10.0.0.0", 8},
      {"::ffff:192.0.2.1", "192.0.2.1", 32},
  };
  for (const auto& c : kCases) {
    auto range = ParseIpRange(c.text);
    ASSERT_TRUE(range.has_value()) << c.text;
    EXPECT_EQ(FormatIpAddress(range->base), c.base) << c.text;
    EXPECT_EQ(range->prefix_length, c.prefix_length) << c.text;
  }
}

TEST(ForwardedTest, ParseIpRangeRejectedTable) {
  struct Case {
    std::string_view text;
    IpRangeError error;
  };
  const Case kCases[] = {
      {"", IpRangeError::kBadAddress},
      {"proxy.internal", IpRangeError::kBadAddress},
      {"proxy.internal/24", IpRangeError::kBadAddress},
      {"10.0.0/8", IpRangeError::kBadAddress},
      {"[::1]/128", IpRangeError::kBadAddress},
      {" 10.0.0.0/8", IpRangeError::kBadAddress},
      {"10.0.0.0/", IpRangeError::kBadPrefix},
      {"10.0.0.0/33", IpRangeError::kBadPrefix},
      {"10.0.0.0/-1", IpRangeError::kBadPrefix},
      {"10.0.0.0/+8", IpRangeError::kBadPrefix},
      {"10.0.0.0/08", IpRangeError::kBadPrefix},
      {"10.0.0.0/8 ", IpRangeError::kBadPrefix},
      {"10.0.0.0/8/8", IpRangeError::kBadPrefix},
      {"10.0.0.0/1000", IpRangeError::kBadPrefix},
      {"::/129", IpRangeError::kBadPrefix},
      {"::ffff:10.0.0.0/95", IpRangeError::kBadPrefix},
      {"10.0.0.1/8", IpRangeError::kHostBitsSet},
      {"192.168.1.1/24", IpRangeError::kHostBitsSet},
      {"10.0.0.128/25", IpRangeError::kNone},  // control: .128 is the first address of a /25
      {"10.0.0.129/25", IpRangeError::kHostBitsSet},
      {"2001:db8::1/64", IpRangeError::kHostBitsSet},
      {"2001:db8::/28", IpRangeError::kHostBitsSet},
  };
  for (const auto& c : kCases) {
    auto range = ParseIpRange(c.text);
    if (c.error == IpRangeError::kNone) {
      EXPECT_TRUE(range.has_value()) << c.text;
    } else {
      ASSERT_FALSE(range.has_value()) << c.text;
      EXPECT_EQ(range.error(), c.error) << c.text;
    }
  }
}

TEST(ForwardedTest, InRangeCidrEdges) {
  struct Case {
    std::string_view range;
    std::string_view address;
    bool in;
  };
  const Case kCases[] = {
      {"10.0.0.0/8", "10.0.0.0", true},
      {"10.0.0.0/8", "10.255.255.255", true},
      {"10.0.0.0/8", "11.0.0.0", false},
      {"10.0.0.0/8", "9.255.255.255", false},
      {"172.16.0.0/12", "172.31.255.255", true},
      {"172.16.0.0/12", "172.32.0.0", false},
      {"172.16.0.0/12", "172.15.255.255", false},
      {"192.0.2.128/25", "192.0.2.128", true},
      {"192.0.2.128/25", "192.0.2.255", true},
      {"192.0.2.128/25", "192.0.2.127", false},
      {"192.0.2.7", "192.0.2.7", true},
      {"192.0.2.7", "192.0.2.8", false},
      {"0.0.0.0/0", "203.0.113.9", true},
      {"0.0.0.0/0", "2001:db8::1", false},  // families never mix
      {"::/0", "203.0.113.9", false},
      {"::/0", "2001:db8::1", true},
      {"2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true},
      {"2001:db8::/32", "2001:db9::", false},
      {"2001:db8::/33", "2001:db8:7fff::1", true},
      {"2001:db8::/33", "2001:db8:8000::", false},
      {"::1", "::1", true},
      {"::1", "::2", false},
      {"127.0.0.1", "::ffff:127.0.0.1", true},  // the dual-stack spelling of an IPv4 peer
      {"::ffff:127.0.0.0/104", "127.1.2.3", true},
      {"::1", "127.0.0.1", false},
  };
  for (const auto& c : kCases) {
    auto range = ParseIpRange(c.range);
    auto address = ParseIpAddress(c.address);
    ASSERT_TRUE(range.has_value()) << c.range;
    ASSERT_TRUE(address.has_value()) << c.address;
    EXPECT_EQ(InRange(*address, *range), c.in) << c.address << " in " << c.range;
  }
}

TEST(ForwardedTest, NoTrustedProxiesMeansTheHeaderIsIgnored) {
  EXPECT_EQ(Client("203.0.113.9", {"198.51.100.1"}, {}), "203.0.113.9");
  EXPECT_EQ(Client("127.0.0.1", {"198.51.100.1"}, {}), "127.0.0.1");
}

TEST(ForwardedTest, UntrustedPeerIsTheClientWhateverItSends) {
  const auto trusted = Ranges({"10.0.0.0/8"});
  // A client claiming, in the header, to be a trusted proxy or anybody else.
  EXPECT_EQ(Client("203.0.113.9", {"198.51.100.1"}, trusted), "203.0.113.9");
  EXPECT_EQ(Client("203.0.113.9", {"198.51.100.1, 10.0.0.5"}, trusted), "203.0.113.9");
  EXPECT_EQ(Client("203.0.113.9", {"garbage"}, trusted), "203.0.113.9");
  // The peer as the socket reported it, not reformatted.
  EXPECT_EQ(Client("::ffff:203.0.113.9", {"198.51.100.1"}, trusted), "::ffff:203.0.113.9");
  EXPECT_EQ(Client("", {"198.51.100.1"}, trusted), "");
}

TEST(ForwardedTest, TrustedPeerTable) {
  const auto trusted = Ranges({"127.0.0.1", "10.0.0.0/8", "2001:db8:1::/48"});
  struct Case {
    const char* what;
    std::string_view peer;
    std::vector<std::string_view> lines;
    std::string_view want;
  };
  const Case kCases[] = {
      {"no header: the peer", "10.0.0.1", {}, "10.0.0.1"},
      {"one proxy", "127.0.0.1", {"198.51.100.1"}, "198.51.100.1"},
      {"spoofed leftmost entries are never reached",
       "127.0.0.1",
       {"1.1.1.1, 2.2.2.2, 198.51.100.1"},
       "198.51.100.1"},
      {"a spoofed trusted address to the left does not matter",
       "127.0.0.1",
       {"10.9.9.9, 198.51.100.1"},
       "198.51.100.1"},
      {"a chain of trusted proxies is skipped",
       "127.0.0.1",
       {"198.51.100.1, 10.0.0.7, 10.0.0.8"},
       "198.51.100.1"},
      {"the client leaves a spoofed entry, the proxies append",
       "10.0.0.1",
       {"6.6.6.6, 198.51.100.1, 10.0.0.2"},
       "198.51.100.1"},
      {"all trusted: the leftmost", "127.0.0.1", {"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},
      {"several header lines are one list, in order",
       "127.0.0.1",
       {"6.6.6.6", "198.51.100.1, 10.0.0.2"},
       "198.51.100.1"},
      {"the last line holds the nearest hop", "127.0.0.1", {"198.51.100.1", "6.6.6.6"}, "6.6.6.6"},
      {"an untrusted hop in the middle ends the walk",
       "127.0.0.1",
       {"198.51.100.1, 203.0.113.5, 10.0.0.2"},
       "203.0.113.5"},
      {"spaces and tabs around elements",
       "127.0.0.1",
       {" 6.6.6.6 ,\t198.51.100.1\t, 10.0.0.2 "},
       "198.51.100.1"},
      {"empty elements are ignored", "127.0.0.1", {",198.51.100.1,,", ""}, "198.51.100.1"},
      {"IPv6 client, canonical form", "127.0.0.1", {"2001:DB8:AB::0001"}, "2001:db8:ab::1"},
      {"IPv6 client in brackets with a port", "127.0.0.1", {"[2001:db8:ab::1]:4711"}, "2001:db8:ab::1"},
      {"IPv6 client in brackets", "127.0.0.1", {"[2001:db8:ab::1]"}, "2001:db8:ab::1"},
      {"IPv4 client with a port", "127.0.0.1", {"198.51.100.1:61234"}, "198.51.100.1"},
      {"IPv4-mapped client is its IPv4 address", "127.0.0.1", {"::ffff:198.51.100.1"}, "198.51.100.1"},
      {"IPv6 trusted proxy range", "2001:db8:1:2::9", {"198.51.100.1, 2001:db8:1:ffff::1"}, "198.51.100.1"},
      {"just outside the IPv6 range is a client", "127.0.0.1", {"2001:db8:2::1"}, "2001:db8:2::1"},
      {"dual-stack peer spelling is trusted", "::ffff:127.0.0.1", {"198.51.100.1"}, "198.51.100.1"},
      {"a trusted hop with a port is skipped", "127.0.0.1", {"198.51.100.1, 10.0.0.2:8080"}, "198.51.100.1"},
      // Garbage stops the walk: the last trusted hop seen is the answer, never an address to its left.
      {"garbage right away: the peer", "127.0.0.1", {"6.6.6.6, garbage"}, "127.0.0.1"},
      {"garbage after trusted hops: the last of them",
       "127.0.0.1",
       {"6.6.6.6, unknown, 10.0.0.9, 10.0.0.8"},
       "10.0.0.9"},
      {"obfuscated identifier", "127.0.0.1", {"198.51.100.1, _hidden"}, "127.0.0.1"},
      {"host name", "127.0.0.1", {"198.51.100.1, client.example"}, "127.0.0.1"},
      {"zone id", "127.0.0.1", {"fe80::1%eth0"}, "127.0.0.1"},
      {"bad port", "127.0.0.1", {"198.51.100.1:99999"}, "127.0.0.1"},
      {"empty port", "127.0.0.1", {"198.51.100.1:"}, "127.0.0.1"},
      {"IPv6 port without brackets is not a port", "127.0.0.1", {"2001:db8::1:80"}, "2001:db8::1:80"},
      {"unclosed bracket", "127.0.0.1", {"[2001:db8::1"}, "127.0.0.1"},
      {"IPv4 in brackets", "127.0.0.1", {"[198.51.100.1]"}, "127.0.0.1"},
      {"junk after a bracket", "127.0.0.1", {"[2001:db8::1]x"}, "127.0.0.1"},
      {"quoted (Forwarded syntax, not X-Forwarded-For)", "127.0.0.1", {"\"198.51.100.1\""}, "127.0.0.1"},
      {"a Forwarded-style pair", "127.0.0.1", {"for=198.51.100.1"}, "127.0.0.1"},
      {"NUL inside", "127.0.0.1", {std::string_view("198.51.100.1\0", 13)}, "127.0.0.1"},
      {"semicolon list", "127.0.0.1", {"198.51.100.1; 10.0.0.2"}, "127.0.0.1"},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(Client(c.peer, c.lines, trusted), c.want) << c.what;
  }
}

TEST(ForwardedTest, ManyEntriesAreCapped) {
  const auto trusted = Ranges({"127.0.0.1", "10.0.0.0/8"});
  // kMaxForwardedHops trusted elements, then the client: out of reach, so the last trusted hop.
  std::string chain = "198.51.100.1";
  for (size_t i = 0; i < kMaxForwardedHops; ++i) chain += ", 10.0.0." + std::to_string(i + 1);
  EXPECT_EQ(Client("127.0.0.1", {chain}, trusted), "10.0.0.1");
  // One hop fewer and the client is found.
  std::string shorter = "198.51.100.1";
  for (size_t i = 1; i < kMaxForwardedHops; ++i) shorter += ", 10.0.0." + std::to_string(i + 1);
  EXPECT_EQ(Client("127.0.0.1", {shorter}, trusted), "198.51.100.1");
  // Empty elements count too: a header of commas ends the walk at the cap.
  EXPECT_EQ(Client("127.0.0.1", {"198.51.100.1" + std::string(100000, ',')}, trusted), "127.0.0.1");
  // Many header lines count together.
  std::vector<std::string_view> lines(kMaxForwardedHops, "10.0.0.2");
  lines.insert(lines.begin(), "198.51.100.1");
  EXPECT_EQ(Client("127.0.0.1", lines, trusted), "10.0.0.2");
  lines.erase(lines.begin() + 1);
  EXPECT_EQ(Client("127.0.0.1", lines, trusted), "198.51.100.1");
  // Thousands of spoofed entries to the left of the real client cost nothing.
  std::string spoofed;
  for (int i = 0; i < 5000; ++i) spoofed += "6.6.6." + std::to_string(i % 250) + ", ";
  EXPECT_EQ(Client("127.0.0.1", {spoofed + "198.51.100.1"}, trusted), "198.51.100.1");
}

TEST(ForwardedTest, LongElementsAreMalformed) {
  const auto trusted = Ranges({"127.0.0.1"});
  const std::string padded = std::string(kMaxForwardedElementBytes - 12, ' ') + "198.51.100.1";
  ASSERT_EQ(padded.size(), kMaxForwardedElementBytes);
  EXPECT_EQ(Client("127.0.0.1", {padded}, trusted), "198.51.100.1");
  EXPECT_EQ(Client("127.0.0.1", {" " + padded}, trusted), "127.0.0.1");
  EXPECT_EQ(Client("127.0.0.1", {std::string(1 << 20, 'a')}, trusted), "127.0.0.1");
  // The longest valid element fits.
  EXPECT_EQ(Client("127.0.0.1", {"[2001:db8:ffff:ffff:ffff:ffff:255.255.255.255]:65535"}, trusted),
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
}

}  // namespace
}  // namespace latchkey::http
