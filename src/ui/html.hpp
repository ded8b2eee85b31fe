#pragma once

// HTML escaping for the server-rendered pages: the one function every dynamic value goes through.

#include <string>
#include <string_view>

namespace latchkey::ui {

// EscapeHtml returns `text` safe to place in HTML text content and in a double- or single-quoted
// attribute value: & < > " ' become &amp; &lt; &gt; &quot; &#39;. Invalid UTF-8 is replaced by
// U+FFFD, one per maximal ill-formed subpart (WHATWG Encoding "UTF-8 decode", as browsers do), and
// so is U+0000. Never fails.
// Does NOT make a value safe inside <script> or <style>, in an unquoted attribute, or as a URL
// (a "javascript:" URL stays one): callers only place escaped values in text and quoted attributes.
std::string EscapeHtml(std::string_view text);

}  // namespace latchkey::ui
