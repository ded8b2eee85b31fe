#include "ui/theme.hpp"

#include <cmath>
#include <cstddef>

#include "common/strings.hpp"

namespace latchkey::ui {
namespace {

// Channel returns colour channel `index` (0 red, 1 green, 2 blue) of a valid colour, 0..255.
int Channel(std::string_view color, std::size_t index) {
  if (color.size() == 4) return common::HexDigitValue(color[1 + index]) * 17;
  return common::HexDigitValue(color[1 + 2 * index]) * 16 + common::HexDigitValue(color[2 + 2 * index]);
}

// RelativeLuminance per WCAG 2.1 (sRGB); alpha is ignored.
double RelativeLuminance(std::string_view color) {
  double rgb[3];
  for (std::size_t i = 0; i < 3; ++i) {
    const double c = Channel(color, i) / 255.0;
    rgb[i] = c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
  }
  return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
}

std::string_view ValidOr(const std::string& color, const std::string& fallback) {
  return IsValidColor(color) ? std::string_view(color) : std::string_view(fallback);
}

// Fixed colours, chosen against the default surface (#ffffff): border 4.8:1 (WCAG 1.4.11 asks
// 3:1), error text 5.7:1 on its background (1.4.3 asks 4.5:1). ui_test checks the ratios.
constexpr std::string_view kBorder = "#6b7280";
constexpr std::string_view kError = "#b3261e";
constexpr std::string_view kErrorBackground = "#fdecea";

constexpr std::string_view kRules = R"css(
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0;
  min-height: 100vh;
  background: var(--lk-background);
  color: var(--lk-text);
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 1rem;
  line-height: 1.5;
}
.lk-card {
  width: 100%;
  max-width: 26rem;
  margin: 4rem auto;
  padding: 2rem;
  background: var(--lk-surface);
  color: var(--lk-text);
  border-radius: 0.5rem;
  box-shadow: 0 1px 3px rgba(0, 0, 0, 0.12), 0 4px 16px rgba(0, 0, 0, 0.08);
}
.lk-logo { display: block; max-width: 100%; max-height: 3rem; margin: 0 0 1.5rem; }
h1 { font-size: 1.5rem; line-height: 1.25; margin: 0 0 0.5rem; overflow-wrap: anywhere; }
p, li { overflow-wrap: anywhere; }
p { margin: 0 0 1rem; }
.lk-subtitle { margin-bottom: 1.5rem; }
.lk-field { margin: 0 0 1rem; }
label { display: block; font-weight: 600; margin: 0 0 0.25rem; }
input[type="text"], input[type="password"] {
  display: block;
  width: 100%;
  min-height: 2.75rem;
  padding: 0.5rem 0.75rem;
  font: inherit;
  color: var(--lk-text);
  background: var(--lk-surface);
  border: 1px solid var(--lk-border);
  border-radius: 0.375rem;
}
button {
  display: block;
  width: 100%;
  min-height: 2.75rem;
  padding: 0.5rem 1rem;
  font: inherit;
  font-weight: 600;
  color: var(--lk-on-primary);
  background: var(--lk-primary);
  border: 2px solid var(--lk-primary);
  border-radius: 0.375rem;
  cursor: pointer;
}
button.lk-secondary { color: var(--lk-primary); background: var(--lk-surface); }
input:focus-visible, button:focus-visible { outline: 3px solid var(--lk-primary); outline-offset: 2px; }
.lk-actions { display: flex; flex-wrap: wrap; gap: 0.75rem; }
.lk-actions button { flex: 1 1 8rem; width: auto; }
.lk-error {
  color: var(--lk-error);
  background: var(--lk-error-background);
  border-left: 4px solid var(--lk-error);
  border-radius: 0.25rem;
  padding: 0.75rem 1rem;
}
.lk-scopes { margin: 0 0 1.5rem; padding-left: 1.25rem; }
.lk-scopes li + li { margin-top: 0.25rem; }
.lk-code { font-size: 0.875rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
@media (max-width: 30rem) {
  .lk-card { max-width: none; min-height: 100vh; margin: 0; padding: 1.5rem 1rem; border-radius: 0; box-shadow: none; }
}
)css";

}  // namespace

bool IsValidColor(std::string_view color) {
  if (color.size() != 4 && color.size() != 7 && color.size() != 9) return false;
  if (color[0] != '#') return false;
  for (char c : color.substr(1)) {
    if (common::HexDigitValue(c) < 0) return false;
  }
  return true;
}

std::string Stylesheet(const Theme& theme) {
  const Theme defaults;
  const std::string_view primary = ValidOr(theme.primary_color, defaults.primary_color);
  // Button text: the better of black and white against the primary colour, so a light brand colour
  // (say #ffcc00) still gets readable buttons.
  const double l = RelativeLuminance(primary);
  const std::string_view on_primary = (1.05 / (l + 0.05)) >= ((l + 0.05) / 0.05) ? "#ffffff" : "#000000";

  std::string css =
      "/* Latchkey sign-in pages. Theme colours come from the ui.* configuration. */\n:root {\n";
  auto var = [&css](std::string_view name, std::string_view value) {
    css.append("  --lk-").append(name).append(": ").append(value).append(";\n");
  };
  var("primary", primary);
  var("on-primary", on_primary);
  var("background", ValidOr(theme.background_color, defaults.background_color));
  var("surface", ValidOr(theme.surface_color, defaults.surface_color));
  var("text", ValidOr(theme.text_color, defaults.text_color));
  var("border", kBorder);
  var("error", kError);
  var("error-background", kErrorBackground);
  css.append("}");
  css.append(kRules);
  return css;
}

}  // namespace latchkey::ui
