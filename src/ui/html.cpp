#include "ui/html.hpp"

#include <cstddef>

#include "common/strings.hpp"

namespace latchkey::ui {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

std::string EscapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      std::size_t bad = 0;
      if (std::size_t n = common::Utf8SequenceLength(text.substr(i), bad); n != 0) {
        out.append(text.substr(i, n));
        i += n;
      } else {
        out.append(kReplacement);
        i += bad;
      }
      continue;
    }
    switch (c) {
      case '&': out.append("&amp;"); break;
      case '<': out.append("&lt;"); break;
      case '>': out.append("&gt;"); break;
      case '"': out.append("&quot;"); break;
      case '\'': out.append("&#39;"); break;
      case '\0': out.append(kReplacement); break;
      default: out.push_back(c);
    }
    ++i;
  }
  return out;
}

}  // namespace latchkey::ui
