#include "common/base64.hpp"

#include <array>
#include <cstdint>

namespace latchkey::common {
namespace {

constexpr std::string_view kStd = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Encode(std::string_view in, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8) |
                 static_cast<uint8_t>(in[i + 2]);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  size_t rest = in.size() - i;
  if (rest == 1) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (pad) out.append("==");
  } else if (rest == 2) {
    uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    if (pad) out.push_back('=');
  }
  return out;
}

using Table = std::array<int8_t, 256>;

Table MakeTable(std::string_view alphabet) {
  Table t;
  t.fill(-1);
  for (size_t i = 0; i < alphabet.size(); ++i) t[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);
  return t;
}

// Decodes unpadded text; rejects lengths of 1 mod 4 and non-zero trailing bits. Four characters
// make three bytes, written in place: decoding tokens is on every request's path.
std::optional<std::string> DecodeUnpadded(std::string_view in, const Table& table) {
  const size_t tail = in.size() % 4;
  if (tail == 1) return std::nullopt;
  const size_t groups = in.size() / 4;
  std::string out(groups * 3 + (tail == 0 ? 0 : tail - 1), '\0');
  const auto* src = reinterpret_cast<const uint8_t*>(in.data());
  char* dst = out.data();
  // A character outside the alphabet maps to -1, so any of them makes the OR negative.
  const auto at = [&](size_t i) { return static_cast<int32_t>(table[src[i]]); };
  for (size_t g = 0; g < groups; ++g, src += 4, dst += 3) {
    const int32_t a = at(0), b = at(1), c = at(2), d = at(3);
    if ((a | b | c | d) < 0) return std::nullopt;
    const uint32_t v = (static_cast<uint32_t>(a) << 18) | (static_cast<uint32_t>(b) << 12) |
                       (static_cast<uint32_t>(c) << 6) | static_cast<uint32_t>(d);
    dst[0] = static_cast<char>(v >> 16);
    dst[1] = static_cast<char>((v >> 8) & 0xFF);
    dst[2] = static_cast<char>(v & 0xFF);
  }
  if (tail == 2) {
    const int32_t a = at(0), b = at(1);
    // 12 bits carry one byte: the low 4 bits must be zero (RFC 4648 §3.5 canonical encoding).
    if ((a | b) < 0 || (b & 0x0F) != 0) return std::nullopt;
    dst[0] = static_cast<char>((a << 2) | (b >> 4));
  } else if (tail == 3) {
    const int32_t a = at(0), b = at(1), c = at(2);
    // 18 bits carry two bytes: the low 2 bits must be zero.
    if ((a | b | c) < 0 || (c & 0x03) != 0) return std::nullopt;
    const uint32_t v =
        (static_cast<uint32_t>(a) << 18) | (static_cast<uint32_t>(b) << 12) | (static_cast<uint32_t>(c) << 6);
    dst[0] = static_cast<char>(v >> 16);
    dst[1] = static_cast<char>((v >> 8) & 0xFF);
  }
  return out;
}

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) { return Encode(bytes, kUrl, false); }

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  static const Table kTable = MakeTable(kUrl);
  return DecodeUnpadded(text, kTable);
}

std::string Base64Encode(std::string_view bytes) { return Encode(bytes, kStd, true); }

std::optional<std::string> Base64Decode(std::string_view text) {
  static const Table kTable = MakeTable(kStd);
  if (text.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  return DecodeUnpadded(text.substr(0, text.size() - pad), kTable);
}

}  // namespace latchkey::common
