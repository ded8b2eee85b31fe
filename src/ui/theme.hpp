#pragma once

// Theme: the operator's branding for the sign-in pages (config keys ui.*), and the one stylesheet
// that carries it. Colours reach the pages only as CSS custom properties (--lk-*), so a theme never
// needs a template change.

#include <string>
#include <string_view>

namespace latchkey::ui {

// Theme is plain configuration, copied freely. Text fields are escaped wherever a page emits them;
// colours are emitted only by Stylesheet, and only when IsValidColor accepts them.
struct Theme {
  std::string product_name = "Latchkey";     // ui.product_name; empty: "Latchkey"
  std::string logo_url;                      // ui.logo_url; empty: no logo, else <img alt="{product} logo">
  std::string primary_color = "#1f5fbf";     // ui.primary_color: buttons, focus rings
  std::string background_color = "#f4f5f7";  // ui.background_color: behind the card
  std::string surface_color = "#ffffff";     // ui.surface_color: the card and the fields
  std::string text_color = "#1b1f24";        // ui.text_color: all text on the card
};

// IsValidColor accepts exactly "#rgb", "#rrggbb" and "#rrggbbaa" (hex digits, either case) and
// rejects everything else, named colours and functions included: a config value that passes can
// never break out of a CSS declaration (e.g. "red;}body{display:none").
// The config loader should reject a bad value at startup; Stylesheet falls back regardless.
bool IsValidColor(std::string_view color);

// Stylesheet returns the whole CSS served at GET /assets/latchkey.css (text/css; the pages link to
// it, so a CSP of style-src 'self' suffices). It starts with
//   :root { --lk-primary: ...; --lk-on-primary: ...; --lk-background: ...; --lk-surface: ...;
//           --lk-text: ...; --lk-border: ...; --lk-error: ...; --lk-error-background: ...; }
// Each theme colour that IsValidColor rejects is replaced by the Theme{} default. --lk-on-primary
// (button text) is black or white, whichever contrasts more with the primary colour.
// Does NOT check that the operator's own colours contrast enough with each other; the defaults meet
// WCAG 2.1 AA (4.5:1 for text, 3:1 for borders and focus rings).
std::string Stylesheet(const Theme& theme);

}  // namespace latchkey::ui
