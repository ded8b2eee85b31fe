#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ui/html.hpp"
#include "ui/pages.hpp"
#include "ui/theme.hpp"

namespace latchkey::ui {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

// IsValidUtf8 is written independently of EscapeHtml (a straightforward decoder) so the two
// cannot share a bug.
bool IsValidUtf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    int n = b < 0x80 ? 0 : (b >> 5) == 0x6 ? 1 : (b >> 4) == 0xE ? 2 : (b >> 3) == 0x1E ? 3 : -1;
    if (n < 0 || i + n >= s.size()) return false;
    unsigned cp = n == 0 ? b : n == 1 ? (b & 0x1F) : n == 2 ? (b & 0x0F) : (b & 0x07);
    for (int k = 1; k <= n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    const unsigned min[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

// Hostile returns a value that breaks out of text and of either attribute quoting if unescaped,
// carries invalid UTF-8 (a stray byte, a truncated sequence right before '<'), and names its field
// so each field is checked on its own. Escaped is what it must become.
std::string Hostile(const std::string& field) {
  return "<b data-f=\"" + field + "\">'&amp;\xFF\xE2\x82<script>x</script>";
}
std::string Escaped(const std::string& field) {
  return "&lt;b data-f=&quot;" + field + "&quot;&gt;&#39;&amp;amp;" + kFffd + kFffd +
         "&lt;script&gt;x&lt;/script&gt;";
}

void ExpectNoRawHostile(const std::string& html) {
  EXPECT_EQ(html.find("<b data-f"), std::string::npos) << html;
  EXPECT_EQ(html.find("\">'"), std::string::npos) << html;
  EXPECT_EQ(html.find("<script>x"), std::string::npos) << html;
  EXPECT_TRUE(IsValidUtf8(html)) << html;
}

void ExpectFieldEscaped(const std::string& html, const std::string& field) {
  EXPECT_NE(html.find(Escaped(field)), std::string::npos) << field << " missing or not escaped:\n" << html;
}

Theme HostileTheme() {
  Theme t;
  t.product_name = Hostile("product_name");
  t.logo_url = Hostile("logo_url");
  return t;
}

// Tags returns every start tag named `name` in `html`.
std::vector<std::string> Tags(const std::string& html, const std::string& name) {
  std::vector<std::string> out;
  const std::regex re("<" + name + "(\\s[^>]*)?>");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), re); it != std::sregex_iterator(); ++it) {
    out.push_back(it->str());
  }
  return out;
}

// Attr returns the value of attribute `name` in a start tag, or "<absent>".
std::string Attr(const std::string& tag, const std::string& name) {
  std::smatch m;
  if (std::regex_search(tag, m, std::regex("\\s" + name + "=\"([^\"]*)\""))) return m[1];
  if (std::regex_search(tag, m, std::regex("\\s" + name + "[\\s>]"))) return "";
  return "<absent>";
}

// Input returns the one <input> whose name is `name` (fails the test when not exactly one).
std::string Input(const std::string& html, const std::string& name) {
  std::vector<std::string> found;
  for (const auto& tag : Tags(html, "input")) {
    if (Attr(tag, "name") == name) found.push_back(tag);
  }
  EXPECT_EQ(found.size(), 1u) << name << " in\n" << html;
  return found.empty() ? std::string() : found[0];
}

std::size_t Count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) ++n;
  return n;
}

LoginView SampleLogin() { return {"csrf-1", "req-1", "Photo App", "", "", false}; }
ConsentView SampleConsent() {
  return {"csrf-2", "req-2", "Photo App", "alice", {"openid", "email", "photos:read"}};
}
ErrorView SampleError() {
  return {"Unknown application", "The application is not registered.", "invalid_request"};
}
FormPostView SampleFormPost() {
  return {"https://app.example/cb",
          {{"code", "c0de"}, {"state", "st&te"}, {"iss", "https://id.example"}},
          "n0nce"};
}
DeviceEntryView SampleDeviceEntry() { return {"csrf-3", "/device", "", ""}; }
DeviceConfirmView SampleDeviceConfirm() {
  return {"csrf-4",
          "/device",
          "WDJB-MJHT",
          "TV Player",
          "SmartTV/2.1 (Tizen) from 192.0.2.7",
          "alice",
          {"openid", "offline_access", "video:watch"}};
}
DeviceDoneView SampleDeviceDone() { return {true, "TV Player"}; }
LogoutConfirmView SampleLogoutConfirm() {
  return {"csrf-5",
          "/logout",
          "Photo App",
          "alice",
          {{"post_logout_redirect_uri", "https://app.example/bye?a=1&b=2"},
           {"state", "st&te"},
           {"client_id", "photo-app"}}};
}
LoggedOutView SampleLoggedOut() { return {true, "Photo App"}; }

struct NamedPage {
  const char* name;
  std::function<std::string(const Theme&)> render;
};
const std::vector<NamedPage>& AllPages() {
  static const std::vector<NamedPage> kPages = {
      {"login", [](const Theme& t) { return RenderLogin(t, SampleLogin()); }},
      {"login with message",
       [](const Theme& t) {
         auto v = SampleLogin();
         v.message = "Incorrect username or password.";
         v.username = "alice";
         return RenderLogin(t, v);
       }},
      {"consent", [](const Theme& t) { return RenderConsent(t, SampleConsent()); }},
      {"error", [](const Theme& t) { return RenderError(t, SampleError()); }},
      {"form_post", [](const Theme& t) { return RenderFormPost(t, SampleFormPost()); }},
      {"device entry", [](const Theme& t) { return RenderDeviceEntry(t, SampleDeviceEntry()); }},
      {"device entry with message",
       [](const Theme& t) {
         auto v = SampleDeviceEntry();
         v.user_code = "WDJB-MJHA";
         v.message = "That code is not valid.";
         return RenderDeviceEntry(t, v);
       }},
      {"device confirm", [](const Theme& t) { return RenderDeviceConfirm(t, SampleDeviceConfirm()); }},
      {"device approved", [](const Theme& t) { return RenderDeviceDone(t, SampleDeviceDone()); }},
      {"device denied",
       [](const Theme& t) {
         return RenderDeviceDone(t, DeviceDoneView{false, "TV Player"});
       }},
      {"logout confirm", [](const Theme& t) { return RenderLogoutConfirm(t, SampleLogoutConfirm()); }},
      {"logout confirm without client",
       [](const Theme& t) {
         return RenderLogoutConfirm(t, LogoutConfirmView{"csrf-6", "/logout", "", "", {}});
       }},
      {"logged out", [](const Theme& t) { return RenderLoggedOut(t, SampleLoggedOut()); }},
      {"still signed in",
       [](const Theme& t) {
         return RenderLoggedOut(t, LoggedOutView{false, "Photo App"});
       }},
  };
  return kPages;
}

// ---- EscapeHtml ----

TEST(EscapeHtml, Table) {
  struct Case {
    std::string in, want;
  };
  const Case kCases[] = {
      {"", ""},
      {"plain text", "plain text"},
      {"a&b", "a&amp;b"},
      {"&amp;", "&amp;amp;"},
      {"<script>", "&lt;script&gt;"},
      {"\"'", "&quot;&#39;"},
      {"Åström €5 😀", "Åström €5 😀"},  // valid 2-, 3- and 4-byte sequences pass through
      {std::string("a\0b", 3), "a" + kFffd + "b"},
      {"\xFF", kFffd},
      {"a\x80z", "a" + kFffd + "z"},                        // stray continuation byte
      {"\xC0\xAF", kFffd + kFffd},                          // overlong "/"
      {"\xE0\x80\xAF", kFffd + kFffd + kFffd},              // overlong 3-byte "/"
      {"\xE2\x82", kFffd},                                  // truncated: one U+FFFD for the subpart
      {"\xE2\x82<", kFffd + "&lt;"},                        // truncation never swallows a '<'
      {"\xE2\"", kFffd + "&quot;"},                         // nor a quote
      {"\xED\xA0\x80", kFffd + kFffd + kFffd},              // UTF-16 surrogate
      {"\xF4\x90\x80\x80", kFffd + kFffd + kFffd + kFffd},  // above U+10FFFF
      {"\xF0\x9F\x98", kFffd},                              // truncated 4-byte
      {"\xF0\x9F\x98\x80", "😀"},
  };
  for (const auto& c : kCases) EXPECT_EQ(EscapeHtml(c.in), c.want) << "input: " << c.in;
}

TEST(EscapeHtml, AnyTwoBytesGiveValidUtf8WithoutMarkup) {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const std::string in = {'x', static_cast<char>(a), static_cast<char>(b), '<'};
      const std::string out = EscapeHtml(in);
      ASSERT_TRUE(IsValidUtf8(out)) << a << " " << b;
      ASSERT_EQ(out.find_first_of("<>\"'"), std::string::npos) << a << " " << b;
      ASSERT_EQ(out.substr(out.size() - 4), "&lt;") << a << " " << b;
    }
  }
}

// ---- hostile values in every field of every page ----

TEST(HostileValues, LoginEscapesEveryField) {
  LoginView v{Hostile("csrf"),     Hostile("request"), Hostile("client_name"),
              Hostile("username"), Hostile("message"), false};
  const std::string html = RenderLogin(HostileTheme(), v);
  ExpectNoRawHostile(html);
  for (const char* f :
       {"csrf", "request", "client_name", "username", "message", "product_name", "logo_url"}) {
    ExpectFieldEscaped(html, f);
  }
}

TEST(HostileValues, ConsentEscapesEveryField) {
  ConsentView v{Hostile("csrf"),
                Hostile("request"),
                Hostile("client_name"),
                Hostile("username"),
                {Hostile("scope1"), "openid", Hostile("scope2")}};
  const std::string html = RenderConsent(HostileTheme(), v);
  ExpectNoRawHostile(html);
  for (const char* f :
       {"csrf", "request", "client_name", "username", "scope1", "scope2", "product_name", "logo_url"}) {
    ExpectFieldEscaped(html, f);
  }
}

TEST(HostileValues, ErrorEscapesEveryField) {
  ErrorView v{Hostile("title"), Hostile("message"), Hostile("error_code")};
  const std::string html = RenderError(HostileTheme(), v);
  ExpectNoRawHostile(html);
  for (const char* f : {"title", "message", "error_code", "product_name", "logo_url"})
    ExpectFieldEscaped(html, f);
}

TEST(HostileValues, FormPostEscapesEveryField) {
  FormPostView v{Hostile("action"),
                 {{Hostile("name1"), Hostile("value1")}, {"state", Hostile("value2")}},
                 Hostile("nonce")};
  const std::string html = RenderFormPost(HostileTheme(), v);
  ExpectNoRawHostile(html);
  for (const char* f : {"action", "name1", "value1", "value2", "nonce", "product_name", "logo_url"}) {
    ExpectFieldEscaped(html, f);
  }
  EXPECT_EQ(Count(html, "<script"), 1u);
}

TEST(HostileValues, DeviceEntryEscapesEveryField) {
  DeviceEntryView v{Hostile("csrf"), Hostile("action"), Hostile("user_code"), Hostile("message")};
  const std::string html = RenderDeviceEntry(HostileTheme(), v);
  ExpectNoRawHostile(html);
  for (const char* f : {"csrf", "action", "user_code", "message", "product_name", "logo_url"}) {
    ExpectFieldEscaped(html, f);
  }
}

TEST(HostileValues, DeviceConfirmEscapesEveryField) {
  DeviceConfirmView v{Hostile("csrf"),
                      Hostile("action"),
                      Hostile("user_code"),
                      Hostile("client_name"),
                      Hostile("device_info"),
                      Hostile("username"),
                      {Hostile("scope1"), "openid", Hostile("scope2")}};
  const std::string html = RenderDeviceConfirm(HostileTheme(), v);
  ExpectNoRawHostile(html);
  for (const char* f : {"csrf", "action", "user_code", "client_name", "device_info", "username", "scope1",
                        "scope2", "product_name", "logo_url"}) {
    ExpectFieldEscaped(html, f);
  }
  // The code is both shown and posted back: escaped in both places.
  EXPECT_EQ(Count(html, Escaped("user_code")), 2u);
}

TEST(HostileValues, DeviceDoneEscapesEveryField) {
  for (bool approved : {true, false}) {
    const std::string html =
        RenderDeviceDone(HostileTheme(), DeviceDoneView{approved, Hostile("client_name")});
    ExpectNoRawHostile(html);
    for (const char* f : {"product_name", "logo_url"}) ExpectFieldEscaped(html, f);
    if (approved) ExpectFieldEscaped(html, "client_name");
  }
}

TEST(HostileValues, LogoutConfirmEscapesEveryField) {
  LogoutConfirmView v{
      Hostile("csrf"),
      Hostile("action"),
      Hostile("client_name"),
      Hostile("username"),
      {{"post_logout_redirect_uri", Hostile("value1")}, {Hostile("name2"), Hostile("value2")}}};
  const std::string html = RenderLogoutConfirm(HostileTheme(), v);
  ExpectNoRawHostile(html);
  for (const char* f : {"csrf", "action", "client_name", "username", "value1", "name2", "value2",
                        "product_name", "logo_url"}) {
    ExpectFieldEscaped(html, f);
  }
  // Without a client the product name moves into the question: escaped there too.
  v.client_name.clear();
  const std::string bare = RenderLogoutConfirm(HostileTheme(), v);
  ExpectNoRawHostile(bare);
  EXPECT_NE(bare.find("Do you want to sign out of " + Escaped("product_name") + "?"), std::string::npos)
      << bare;
}

TEST(HostileValues, LoggedOutEscapesEveryField) {
  for (bool signed_out : {true, false}) {
    const std::string html =
        RenderLoggedOut(HostileTheme(), LoggedOutView{signed_out, Hostile("client_name")});
    ExpectNoRawHostile(html);
    for (const char* f : {"client_name", "product_name", "logo_url"}) ExpectFieldEscaped(html, f);
  }
}

// A User-Agent is whatever the device sent: quotes and markup in it stay text, never a link.
TEST(HostileValues, DeviceInfoQuotesAndUrlsStayText) {
  auto v = SampleDeviceConfirm();
  v.device_info = "Evil\"TV' onmouseover=\"alert(1)\" <a href=\"https://evil.example\">x</a>";
  v.client_name = "Quote\"Client'";
  const std::string html = RenderDeviceConfirm(Theme{}, v);
  EXPECT_NE(html.find("<p>Device: Evil&quot;TV&#39; onmouseover=&quot;alert(1)&quot; &lt;a "
                      "href=&quot;https://evil.example&quot;&gt;x&lt;/a&gt;</p>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<strong>Quote&quot;Client&#39;</strong>"), std::string::npos) << html;
  EXPECT_EQ(Tags(html, "a").size(), 0u);
  // The handler's name is left in the text, but no tag carries it.
  EXPECT_FALSE(std::regex_search(html, std::regex("<[^>]*\\son[a-z]+="))) << html;
}

// ---- the shell every page shares ----

TEST(Pages, EveryPageHasTheDocumentShell) {
  Theme theme;
  theme.product_name = "Acme ID";
  for (const auto& page : AllPages()) {
    const std::string html = page.render(theme);
    EXPECT_EQ(html.rfind("<!doctype html>\n<html lang=\"en\">", 0), 0u) << page.name;
    EXPECT_NE(html.find("<meta charset=\"utf-8\">"), std::string::npos) << page.name;
    EXPECT_NE(html.find("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"),
              std::string::npos)
        << page.name;
    EXPECT_NE(html.find("<link rel=\"stylesheet\" href=\"/assets/latchkey.css\">"), std::string::npos)
        << page.name;
    std::smatch title;
    ASSERT_TRUE(std::regex_search(html, title, std::regex("<title>([^<]*)</title>"))) << page.name;
    EXPECT_NE(title[1].str().find("Acme ID"), std::string::npos) << page.name << ": " << title[1];
    EXPECT_TRUE(IsValidUtf8(html)) << page.name;
  }
}

TEST(Pages, NoScriptInlineStyleOrEventHandlerExceptTheFormPostSubmit) {
  for (const auto& page : AllPages()) {
    const std::string html = page.render(Theme{});
    const bool form_post = std::string(page.name) == "form_post";
    EXPECT_EQ(Count(html, "<script"), form_post ? 1u : 0u) << page.name;
    // style-src 'self' forbids inline styles; script-src forbids inline handlers.
    EXPECT_EQ(Count(html, "<style"), 0u) << page.name;
    EXPECT_FALSE(std::regex_search(html, std::regex("\\sstyle="))) << page.name;
    EXPECT_FALSE(std::regex_search(html, std::regex("\\son[a-z]+="))) << page.name;
    EXPECT_FALSE(std::regex_search(html, std::regex("javascript:"))) << page.name;
  }
}

TEST(Pages, LogoOnlyWhenConfiguredWithProductAlt) {
  Theme theme;
  theme.product_name = "Acme";
  EXPECT_EQ(Tags(RenderLogin(theme, SampleLogin()), "img").size(), 0u);
  theme.logo_url = "https://cdn.example/logo.svg";
  for (const auto& page : AllPages()) {
    const auto imgs = Tags(page.render(theme), "img");
    ASSERT_EQ(imgs.size(), 1u) << page.name;
    EXPECT_EQ(Attr(imgs[0], "src"), "https://cdn.example/logo.svg") << page.name;
    EXPECT_EQ(Attr(imgs[0], "alt"), "Acme logo") << page.name;
  }
}

TEST(Pages, EveryLabelNamesOneInputAndEveryVisibleInputHasALabel) {
  for (const auto& page : AllPages()) {
    const std::string html = page.render(Theme{});
    std::vector<std::string> labelled;
    for (const auto& label : Tags(html, "label")) {
      const std::string id = Attr(label, "for");
      ASSERT_NE(id, "<absent>") << page.name << ": " << label;
      EXPECT_EQ(Count(html, " id=\"" + id + "\""), 1u) << page.name << ": " << id;
      bool is_input = false;
      for (const auto& input : Tags(html, "input")) is_input |= Attr(input, "id") == id;
      EXPECT_TRUE(is_input) << page.name << ": label for " << id << " names no input";
      labelled.push_back(id);
    }
    for (const auto& input : Tags(html, "input")) {
      if (Attr(input, "type") == "hidden") continue;
      const std::string id = Attr(input, "id");
      EXPECT_NE(std::find(labelled.begin(), labelled.end(), id), labelled.end())
          << page.name << ": " << input;
    }
  }
}

// ---- login ----

TEST(Login, FormFollowsTheContract) {
  const std::string html = RenderLogin(Theme{}, SampleLogin());
  ASSERT_EQ(Tags(html, "form").size(), 1u);
  EXPECT_EQ(Tags(html, "form")[0], "<form method=\"post\" action=\"/login\">");
  const std::string user = Input(html, "username");
  EXPECT_EQ(Attr(user, "id"), "username");
  EXPECT_EQ(Attr(user, "type"), "text");
  EXPECT_EQ(Attr(user, "autocomplete"), "username");
  const std::string pass = Input(html, "password");
  EXPECT_EQ(Attr(pass, "id"), "password");
  EXPECT_EQ(Attr(pass, "type"), "password");
  EXPECT_EQ(Attr(pass, "autocomplete"), "current-password");
  EXPECT_EQ(Attr(pass, "value"), "<absent>");  // a password is never echoed back
  EXPECT_EQ(Attr(Input(html, "csrf"), "type"), "hidden");
  EXPECT_EQ(Attr(Input(html, "csrf"), "value"), "csrf-1");
  EXPECT_EQ(Attr(Input(html, "request"), "type"), "hidden");
  EXPECT_EQ(Attr(Input(html, "request"), "value"), "req-1");
  EXPECT_EQ(Count(html, "<button type=\"submit\">Sign in</button>"), 1u);
  EXPECT_EQ(Tags(html, "button").size(), 1u);
  EXPECT_EQ(Tags(html, "input").size(), 4u);
}

TEST(Login, TitleHeadingAndClient) {
  Theme theme;
  theme.product_name = "Acme";
  const std::string html = RenderLogin(theme, SampleLogin());
  EXPECT_NE(html.find("<title>Sign in to Acme</title>"), std::string::npos);
  EXPECT_NE(html.find("<h1>Sign in to Acme</h1>"), std::string::npos);
  EXPECT_NE(html.find("to continue to <strong>Photo App</strong>"), std::string::npos);
  auto v = SampleLogin();
  v.client_name.clear();
  EXPECT_EQ(RenderLogin(theme, v).find("to continue to"), std::string::npos);
  theme.product_name.clear();
  EXPECT_NE(RenderLogin(theme, v).find("<h1>Sign in to Latchkey</h1>"), std::string::npos);
}

TEST(Login, FocusOrderIsUsernamePasswordSubmitWithOneAutofocus) {
  const std::string html = RenderLogin(Theme{}, SampleLogin());
  const auto user = html.find("name=\"username\"");
  const auto pass = html.find("name=\"password\"");
  const auto submit = html.find("<button type=\"submit\"");
  ASSERT_NE(user, std::string::npos);
  EXPECT_LT(user, pass);
  EXPECT_LT(pass, submit);
  EXPECT_EQ(html.find("tabindex"), std::string::npos);  // source order is the focus order
  EXPECT_EQ(Count(html, " autofocus"), 1u);
  EXPECT_EQ(Attr(Input(html, "username"), "autofocus"), "");

  // Prefilled username (login_hint, or after a failure): the cursor goes where typing is needed.
  auto v = SampleLogin();
  v.username = "alice";
  const std::string prefilled = RenderLogin(Theme{}, v);
  EXPECT_EQ(Count(prefilled, " autofocus"), 1u);
  EXPECT_EQ(Attr(Input(prefilled, "password"), "autofocus"), "");
  EXPECT_EQ(Attr(Input(prefilled, "username"), "value"), "alice");
}

TEST(Login, ErrorMessageIsAnnouncedAndDescribesTheFields) {
  EXPECT_EQ(RenderLogin(Theme{}, SampleLogin()).find("role=\"alert\""), std::string::npos);

  auto v = SampleLogin();
  v.message = "Incorrect username or password.";
  const std::string html = RenderLogin(Theme{}, v);
  EXPECT_NE(
      html.find("<p id=\"lk-error\" class=\"lk-error\" role=\"alert\">Incorrect username or password.</p>"),
      std::string::npos);
  EXPECT_EQ(Attr(Input(html, "username"), "aria-describedby"), "lk-error");
  EXPECT_EQ(Attr(Input(html, "password"), "aria-describedby"), "lk-error");
  EXPECT_LT(html.find("role=\"alert\""), html.find("<form"));

  v.message.clear();
  v.locked_out = true;
  const std::string locked = RenderLogin(Theme{}, v);
  EXPECT_NE(locked.find("role=\"alert\">Too many sign-in attempts. Wait a few minutes, then try again.</p>"),
            std::string::npos);
  EXPECT_EQ(Tags(locked, "form").size(), 1u);  // still there: the user can try again after waiting
}

// ---- consent ----

TEST(Consent, FormFollowsTheContract) {
  const std::string html = RenderConsent(Theme{}, SampleConsent());
  ASSERT_EQ(Tags(html, "form").size(), 1u);
  EXPECT_EQ(Tags(html, "form")[0], "<form method=\"post\" action=\"/consent\">");
  EXPECT_EQ(Attr(Input(html, "csrf"), "value"), "csrf-2");
  EXPECT_EQ(Attr(Input(html, "csrf"), "type"), "hidden");
  EXPECT_EQ(Attr(Input(html, "request"), "value"), "req-2");
  EXPECT_EQ(Attr(Input(html, "request"), "type"), "hidden");
  EXPECT_EQ(Tags(html, "input").size(), 2u);
  EXPECT_NE(html.find("<button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>"),
            std::string::npos);
  EXPECT_NE(
      html.find(
          "<button type=\"submit\" name=\"decision\" value=\"deny\" class=\"lk-secondary\">Deny</button>"),
      std::string::npos);
  EXPECT_EQ(Tags(html, "button").size(), 2u);
}

TEST(Consent, ShowsClientUserAndScopesInPlainWords) {
  const std::string html = RenderConsent(Theme{}, SampleConsent());
  EXPECT_NE(html.find("<h1>Photo App wants to access your account</h1>"), std::string::npos);
  EXPECT_NE(html.find("Signed in as <strong>alice</strong>"), std::string::npos);
  EXPECT_NE(html.find("<ul class=\"lk-scopes\">\n"
                      "<li>Confirm your identity (your user ID)</li>\n"
                      "<li>Your email address</li>\n"
                      "<li>Access to “photos:read”</li>\n"
                      "</ul>"),
            std::string::npos)
      << html;
  auto v = SampleConsent();
  v.client_name.clear();
  EXPECT_NE(RenderConsent(Theme{}, v).find("<h1>This application wants to access your account</h1>"),
            std::string::npos);
}

// ---- error ----

TEST(Error, ShowsTitleMessageCodeAndNoLink) {
  const std::string html = RenderError(Theme{}, SampleError());
  EXPECT_NE(html.find("<h1>Unknown application</h1>"), std::string::npos);
  EXPECT_NE(html.find("<p>The application is not registered.</p>"), std::string::npos);
  EXPECT_NE(html.find("<code>invalid_request</code>"), std::string::npos);
  EXPECT_EQ(Tags(html, "a").size(), 0u);
  EXPECT_EQ(Tags(html, "form").size(), 0u);
  EXPECT_EQ(Count(html, "href="), 1u);  // the stylesheet only
  EXPECT_EQ(Count(html, "https://"), 0u);

  auto v = SampleError();
  v.error_code.clear();
  EXPECT_EQ(RenderError(Theme{}, v).find("Error code"), std::string::npos);
  v.title.clear();
  EXPECT_NE(RenderError(Theme{}, v).find("<h1>Something went wrong</h1>"), std::string::npos);
}

// ---- form_post ----

TEST(FormPost, PostsEveryFieldWithNoncedScriptAndNoscriptButton) {
  const std::string html = RenderFormPost(Theme{}, SampleFormPost());
  ASSERT_EQ(Tags(html, "form").size(), 1u);
  EXPECT_EQ(Tags(html, "form")[0], "<form method=\"post\" action=\"https://app.example/cb\">");
  const auto inputs = Tags(html, "input");
  ASSERT_EQ(inputs.size(), 3u);
  EXPECT_EQ(inputs[0], "<input type=\"hidden\" name=\"code\" value=\"c0de\">");
  EXPECT_EQ(inputs[1], "<input type=\"hidden\" name=\"state\" value=\"st&amp;te\">");
  EXPECT_EQ(inputs[2], "<input type=\"hidden\" name=\"iss\" value=\"https://id.example\">");
  EXPECT_NE(html.find("<script nonce=\"n0nce\">document.forms[0].submit();</script>"), std::string::npos);
  EXPECT_GT(html.find("<script"), html.find("</form>"));  // the form exists when the script runs
  const auto noscript = html.find("<noscript>");
  const auto button = html.find("<button type=\"submit\">Continue</button>");
  ASSERT_NE(noscript, std::string::npos);
  ASSERT_NE(button, std::string::npos);
  EXPECT_LT(noscript, button);
  EXPECT_LT(button, html.find("</noscript>"));
  EXPECT_LT(html.find("</noscript>"), html.find("</form>"));
  EXPECT_NE(html.find("<title>Continue – Latchkey</title>"), std::string::npos);
}

// ---- device verification (RFC 8628 §3.3) ----

TEST(DeviceEntry, Rfc8628Section3_3FormFollowsTheContract) {
  const std::string html = RenderDeviceEntry(Theme{}, SampleDeviceEntry());
  EXPECT_NE(html.find("<h1>Connect a device</h1>"), std::string::npos);
  EXPECT_NE(html.find("<title>Connect a device – Latchkey</title>"), std::string::npos);
  ASSERT_EQ(Tags(html, "form").size(), 1u);
  EXPECT_EQ(Tags(html, "form")[0], "<form method=\"post\" action=\"/device\">");
  EXPECT_EQ(Attr(Input(html, "csrf"), "type"), "hidden");
  EXPECT_EQ(Attr(Input(html, "csrf"), "value"), "csrf-3");
  const std::string code = Input(html, "user_code");
  EXPECT_EQ(Attr(code, "id"), "user_code");
  EXPECT_EQ(Attr(code, "type"), "text");
  EXPECT_EQ(Attr(code, "inputmode"), "text");
  EXPECT_EQ(Attr(code, "autocomplete"), "off");
  EXPECT_EQ(Attr(code, "autocapitalize"), "characters");
  EXPECT_EQ(Attr(code, "spellcheck"), "false");
  EXPECT_EQ(Attr(code, "maxlength"), "16");
  EXPECT_EQ(Attr(code, "required"), "");
  EXPECT_EQ(Attr(code, "autofocus"), "");
  EXPECT_EQ(Attr(code, "value"), "");
  EXPECT_EQ(Attr(code, "aria-describedby"), "lk-hint");
  EXPECT_NE(html.find("<label for=\"user_code\">Code</label>"), std::string::npos);
  EXPECT_NE(html.find("<p id=\"lk-hint\" class=\"lk-subtitle\">Enter the code shown on your device.</p>"),
            std::string::npos);
  EXPECT_EQ(Count(html, "<button type=\"submit\">Continue</button>"), 1u);
  EXPECT_EQ(Tags(html, "button").size(), 1u);
  EXPECT_EQ(Tags(html, "input").size(), 2u);
  EXPECT_EQ(html.find("role=\"alert\""), std::string::npos);
}

TEST(DeviceEntry, Rfc8628Section3_3_1PrefillAndAction) {
  auto v = SampleDeviceEntry();
  v.user_code = "WDJB-MJHT";  // from verification_uri_complete
  v.action = "/device?step=1&x=2";
  const std::string html = RenderDeviceEntry(Theme{}, v);
  EXPECT_EQ(Attr(Input(html, "user_code"), "value"), "WDJB-MJHT");
  EXPECT_EQ(Tags(html, "form")[0], "<form method=\"post\" action=\"/device?step=1&amp;x=2\">");
}

TEST(DeviceEntry, ErrorMessageIsAnnouncedAndDescribesTheField) {
  auto v = SampleDeviceEntry();
  v.user_code = "WDJB-MJHA";
  v.message = "That code is not valid. Check it and try again.";
  const std::string html = RenderDeviceEntry(Theme{}, v);
  EXPECT_NE(html.find("<p id=\"lk-error\" class=\"lk-error\" role=\"alert\">That code is not valid. Check "
                      "it and try again.</p>"),
            std::string::npos)
      << html;
  EXPECT_EQ(Count(html, "role=\"alert\""), 1u);
  EXPECT_LT(html.find("role=\"alert\""), html.find("<form"));
  EXPECT_EQ(Attr(Input(html, "user_code"), "aria-describedby"), "lk-hint lk-error");
  EXPECT_EQ(Attr(Input(html, "user_code"), "value"), "WDJB-MJHA");  // kept for correction
  EXPECT_EQ(Tags(html, "form").size(), 1u);
}

TEST(DeviceConfirm, Rfc8628Section3_3FormFollowsTheContract) {
  const std::string html = RenderDeviceConfirm(Theme{}, SampleDeviceConfirm());
  ASSERT_EQ(Tags(html, "form").size(), 1u);
  EXPECT_EQ(Tags(html, "form")[0], "<form method=\"post\" action=\"/device\">");
  EXPECT_EQ(Attr(Input(html, "csrf"), "type"), "hidden");
  EXPECT_EQ(Attr(Input(html, "csrf"), "value"), "csrf-4");
  EXPECT_EQ(Attr(Input(html, "user_code"), "type"), "hidden");
  EXPECT_EQ(Attr(Input(html, "user_code"), "value"), "WDJB-MJHT");
  EXPECT_EQ(Tags(html, "input").size(), 2u);
  EXPECT_NE(html.find("<button type=\"submit\" name=\"decision\" value=\"approve\">Allow</button>"),
            std::string::npos);
  EXPECT_NE(
      html.find(
          "<button type=\"submit\" name=\"decision\" value=\"deny\" class=\"lk-secondary\">Deny</button>"),
      std::string::npos);
  EXPECT_EQ(Tags(html, "button").size(), 2u);
  EXPECT_LT(html.find("value=\"approve\""), html.find("value=\"deny\""));
}

TEST(DeviceConfirm, Rfc8628Section5_4ShowsClientDeviceCodeUserAndScopes) {
  const std::string html = RenderDeviceConfirm(Theme{}, SampleDeviceConfirm());
  EXPECT_NE(html.find("<h1>Connect a device</h1>"), std::string::npos);
  EXPECT_NE(html.find("<strong>TV Player</strong> on a device wants to access your account."),
            std::string::npos);
  EXPECT_NE(html.find("Signed in as <strong>alice</strong>"), std::string::npos);
  EXPECT_NE(html.find("Check that your device shows this code: <strong><code>WDJB-MJHT</code></strong>"),
            std::string::npos);
  EXPECT_NE(html.find("<p>Device: SmartTV/2.1 (Tizen) from 192.0.2.7</p>"), std::string::npos);
  EXPECT_NE(html.find("If someone sent you this code, select Deny."), std::string::npos);
  EXPECT_NE(html.find("<ul class=\"lk-scopes\">\n"
                      "<li>Confirm your identity (your user ID)</li>\n"
                      "<li>Stay signed in to this app: access your data when you are not using it</li>\n"
                      "<li>Access to “video:watch”</li>\n"
                      "</ul>"),
            std::string::npos)
      << html;
  // Everything the user must check comes before the buttons.
  EXPECT_LT(html.find("WDJB-MJHT</code>"), html.find("<form"));
  EXPECT_LT(html.find("<p>Device:"), html.find("<form"));

  auto v = SampleDeviceConfirm();
  v.client_name.clear();
  v.device_info.clear();
  v.username.clear();
  v.scopes.clear();
  const std::string bare = RenderDeviceConfirm(Theme{}, v);
  EXPECT_NE(bare.find("An application on a device wants to access your account."), std::string::npos);
  EXPECT_EQ(bare.find("Device:"), std::string::npos);
  EXPECT_EQ(bare.find("Signed in as"), std::string::npos);
  EXPECT_EQ(Tags(bare, "ul").size(), 0u);
  EXPECT_NE(bare.find("<code>WDJB-MJHT</code>"), std::string::npos);  // the code is always shown
}

TEST(DeviceDone, Rfc8628Section3_3SendsTheUserBackToTheDevice) {
  const std::string approved = RenderDeviceDone(Theme{}, SampleDeviceDone());
  EXPECT_NE(approved.find("<h1>Device connected</h1>"), std::string::npos);
  EXPECT_NE(approved.find("<title>Device connected – Latchkey</title>"), std::string::npos);
  EXPECT_NE(approved.find("TV Player can now use your account. You can return to your device."),
            std::string::npos);
  EXPECT_NE(RenderDeviceDone(Theme{}, DeviceDoneView{true, ""})
                .find("<p>The application can now use your account."),
            std::string::npos);

  const std::string denied = RenderDeviceDone(Theme{}, DeviceDoneView{false, "TV Player"});
  EXPECT_NE(denied.find("<h1>Device not connected</h1>"), std::string::npos);
  EXPECT_NE(denied.find("You denied access. You can close this page."), std::string::npos);
  EXPECT_EQ(denied.find("return to your device"), std::string::npos);
  EXPECT_EQ(denied.find("Device connected"), std::string::npos);
  for (const std::string& html : {approved, denied}) {
    EXPECT_EQ(Tags(html, "form").size(), 0u);
    EXPECT_EQ(Tags(html, "a").size(), 0u);
    EXPECT_EQ(Tags(html, "input").size(), 0u);
  }
}

// ---- logout (OpenID Connect RP-Initiated Logout 1.0) ----

TEST(LogoutConfirm, RpInitiatedLogoutSection2FormFollowsTheContract) {
  const std::string html = RenderLogoutConfirm(Theme{}, SampleLogoutConfirm());
  EXPECT_NE(html.find("<title>Sign out? – Latchkey</title>"), std::string::npos);
  EXPECT_NE(html.find("<h1>Sign out?</h1>"), std::string::npos);
  ASSERT_EQ(Tags(html, "form").size(), 1u);
  EXPECT_EQ(Tags(html, "form")[0], "<form method=\"post\" action=\"/logout\">");
  const auto inputs = Tags(html, "input");
  ASSERT_EQ(inputs.size(), 4u);
  // csrf first, then the carried fields in the caller's order.
  EXPECT_EQ(inputs[0], "<input type=\"hidden\" name=\"csrf\" value=\"csrf-5\">");
  EXPECT_EQ(inputs[1],
            "<input type=\"hidden\" name=\"post_logout_redirect_uri\" "
            "value=\"https://app.example/bye?a=1&amp;b=2\">");
  EXPECT_EQ(inputs[2], "<input type=\"hidden\" name=\"state\" value=\"st&amp;te\">");
  EXPECT_EQ(inputs[3], "<input type=\"hidden\" name=\"client_id\" value=\"photo-app\">");
  EXPECT_NE(html.find("<button type=\"submit\" name=\"decision\" value=\"logout\">Sign out</button>"),
            std::string::npos);
  EXPECT_NE(html.find("<button type=\"submit\" name=\"decision\" value=\"stay\" "
                      "class=\"lk-secondary\">Stay signed in</button>"),
            std::string::npos);
  EXPECT_EQ(Tags(html, "button").size(), 2u);
  EXPECT_LT(html.find("value=\"logout\""), html.find("value=\"stay\""));
  // The buttons sit inside the form.
  EXPECT_GT(html.find("value=\"logout\""), html.find("<form"));
  EXPECT_LT(html.find("value=\"stay\""), html.find("</form>"));

  auto v = SampleLogoutConfirm();
  v.action = "/logout?x=1&y=2";
  v.fields.clear();
  const std::string moved = RenderLogoutConfirm(Theme{}, v);
  EXPECT_EQ(Tags(moved, "form")[0], "<form method=\"post\" action=\"/logout?x=1&amp;y=2\">");
  EXPECT_EQ(Tags(moved, "input").size(), 1u);  // csrf only
}

// §6: the redirect URI is not trusted before the POST: it is carried, never shown or linked.
TEST(LogoutConfirm, RpInitiatedLogoutSection6RedirectUriIsOnlyAHiddenInput) {
  const std::string html = RenderLogoutConfirm(Theme{}, SampleLogoutConfirm());
  EXPECT_EQ(Count(html, "https://app.example/bye"), 1u);
  EXPECT_EQ(Tags(html, "a").size(), 0u);
  EXPECT_EQ(Count(html, "href="), 1u);  // the stylesheet only
}

TEST(LogoutConfirm, AsksWithClientProductAndUser) {
  Theme theme;
  theme.product_name = "Acme ID";
  const std::string html = RenderLogoutConfirm(theme, SampleLogoutConfirm());
  EXPECT_NE(html.find("<title>Sign out? – Acme ID</title>"), std::string::npos);
  EXPECT_NE(html.find("<p class=\"lk-subtitle\"><strong>Photo App</strong> asks to sign you out of "
                      "Acme ID.</p>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<p>Signed in as <strong>alice</strong></p>"), std::string::npos);
  EXPECT_EQ(html.find("Do you want"), std::string::npos);
  // What the user must read comes before the buttons.
  EXPECT_LT(html.find("asks to sign you out"), html.find("<form"));
  EXPECT_LT(html.find("Signed in as"), html.find("<form"));

  auto v = SampleLogoutConfirm();
  v.client_name.clear();
  v.username.clear();
  const std::string bare = RenderLogoutConfirm(theme, v);
  EXPECT_NE(bare.find("<p class=\"lk-subtitle\">Do you want to sign out of Acme ID?</p>"), std::string::npos)
      << bare;
  EXPECT_EQ(bare.find("asks to sign you out"), std::string::npos);
  EXPECT_EQ(bare.find("Signed in as"), std::string::npos);
  EXPECT_EQ(Tags(bare, "strong").size(), 0u);
  EXPECT_NE(RenderLogoutConfirm(Theme{}, v).find("Do you want to sign out of Latchkey?"), std::string::npos);
}

TEST(LoggedOut, SignedOutOrStillSignedInWithNoFormOrLink) {
  Theme theme;
  theme.product_name = "Acme ID";
  const std::string out = RenderLoggedOut(theme, SampleLoggedOut());
  EXPECT_NE(out.find("<title>You are signed out – Acme ID</title>"), std::string::npos);
  EXPECT_NE(out.find("<h1>You are signed out</h1>"), std::string::npos);
  EXPECT_NE(out.find("<p>You have signed out of Acme ID.</p>"), std::string::npos) << out;
  EXPECT_NE(out.find("<p>You can return to <strong>Photo App</strong> or close this page.</p>"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("still signed in"), std::string::npos);
  const std::string out_bare = RenderLoggedOut(theme, LoggedOutView{true, ""});
  EXPECT_NE(out_bare.find("<p>You have signed out of Acme ID.</p>\n<p>You can close this page.</p>"),
            std::string::npos)
      << out_bare;
  EXPECT_EQ(out_bare.find("<strong>"), std::string::npos);
  EXPECT_NE(RenderLoggedOut(Theme{}, LoggedOutView{}).find("You have signed out of Latchkey."),
            std::string::npos);  // signed_out defaults to true

  const std::string stay = RenderLoggedOut(theme, LoggedOutView{false, "Photo App"});
  EXPECT_NE(stay.find("<title>You are still signed in – Acme ID</title>"), std::string::npos);
  EXPECT_NE(stay.find("<h1>You are still signed in</h1>"), std::string::npos);
  EXPECT_NE(stay.find("<p>You are still signed in to Acme ID.</p>"), std::string::npos) << stay;
  EXPECT_NE(stay.find("<strong>Photo App</strong> may have signed you out of its own pages."),
            std::string::npos)
      << stay;
  EXPECT_EQ(stay.find("You are signed out"), std::string::npos);
  EXPECT_EQ(stay.find("You have signed out"), std::string::npos);
  const std::string stay_bare = RenderLoggedOut(theme, LoggedOutView{false, ""});
  EXPECT_EQ(stay_bare.find("may have signed you out"), std::string::npos);
  EXPECT_NE(stay_bare.find("<p>You can close this page.</p>"), std::string::npos);

  for (const std::string& html : {out, out_bare, stay, stay_bare}) {
    EXPECT_EQ(Tags(html, "form").size(), 0u);
    EXPECT_EQ(Tags(html, "a").size(), 0u);
    EXPECT_EQ(Tags(html, "input").size(), 0u);
    EXPECT_EQ(Tags(html, "button").size(), 0u);
    EXPECT_EQ(Count(html, "href="), 1u);  // the stylesheet only
  }
}

// ---- theme ----

TEST(IsValidColor, AcceptedTable) {
  for (const char* c : {"#fff", "#FFF", "#1f5fbf", "#1F5FBF", "#00000000", "#abcdef80", "#0a0B0c"}) {
    EXPECT_TRUE(IsValidColor(c)) << c;
  }
}

TEST(IsValidColor, RejectedTable) {
  for (const char* c :
       {"",         "#",          "fff",        "1f5fbf",   "#ff",    "#ffff",      "#fffff",
        "#fffffff", "#fffffffff", "#ggg",       "#12345g",  "red",    "red;}body{", "#fff;}body{display:none",
        "#fff }",   " #fff",      "rgb(0,0,0)", "var(--x)", "#fff\n", "#f\"f",      "##fff"}) {
    EXPECT_FALSE(IsValidColor(c)) << c;
  }
  EXPECT_FALSE(IsValidColor(std::string_view("#ff\0", 4)));
}

TEST(Stylesheet, CarriesTheThemeAsCustomProperties) {
  Theme theme;
  theme.primary_color = "#123456";
  theme.background_color = "#abc";
  theme.surface_color = "#fefefe";
  theme.text_color = "#000000ff";
  const std::string css = Stylesheet(theme);
  EXPECT_EQ(css.find(":root {"), css.find('{') - 6);
  EXPECT_NE(css.find("--lk-primary: #123456;"), std::string::npos);
  EXPECT_NE(css.find("--lk-background: #abc;"), std::string::npos);
  EXPECT_NE(css.find("--lk-surface: #fefefe;"), std::string::npos);
  EXPECT_NE(css.find("--lk-text: #000000ff;"), std::string::npos);
  for (const char* use :
       {"var(--lk-primary)", "var(--lk-on-primary)", "var(--lk-background)", "var(--lk-surface)",
        "var(--lk-text)", "var(--lk-border)", "var(--lk-error)", "var(--lk-error-background)"}) {
    EXPECT_NE(css.find(use), std::string::npos) << use;
  }
  // Phones: a centred card with a max width that goes full-bleed on small screens; focus visible.
  EXPECT_NE(css.find("max-width: 26rem"), std::string::npos);
  EXPECT_NE(css.find("margin: 4rem auto"), std::string::npos);
  EXPECT_NE(css.find("@media (max-width: 30rem)"), std::string::npos);
  EXPECT_NE(css.find(":focus-visible { outline: 3px solid"), std::string::npos);
  EXPECT_EQ(css.find("outline: none"), std::string::npos);
  EXPECT_EQ(css.find("outline: 0"), std::string::npos);
}

TEST(Stylesheet, NeverEmitsAnInvalidColour) {
  const Theme defaults;
  for (const char* bad : {"red;}body{", "#fff;}body{display:none}", "</style><script>", "", "blue"}) {
    for (int field = 0; field < 4; ++field) {
      Theme theme;
      std::string* target[] = {&theme.primary_color, &theme.background_color, &theme.surface_color,
                               &theme.text_color};
      const std::string fallback = *target[field];
      *target[field] = bad;
      const std::string css = Stylesheet(theme);
      if (*bad != '\0') {
        EXPECT_EQ(css.find(bad), std::string::npos) << bad;
      }
      const char* names[] = {"primary", "background", "surface", "text"};
      EXPECT_NE(css.find(std::string("--lk-") + names[field] + ": " + fallback + ";"), std::string::npos)
          << names[field] << " with " << bad;
    }
  }
  // Every declaration in :root has a valid colour as its value.
  const std::string css = Stylesheet(Theme{"x", "y", "red;}body{", "#12", "nope", "#zzz"});
  const std::string root = css.substr(css.find(":root {"), css.find('}') - css.find(":root {"));
  std::smatch m;
  std::string rest = root;
  int declarations = 0;
  while (std::regex_search(rest, m, std::regex("--lk-[a-z-]+: ([^;]*);"))) {
    EXPECT_TRUE(IsValidColor(m[1].str())) << m[1];
    ++declarations;
    rest = m.suffix();
  }
  EXPECT_EQ(declarations, 8);
}

double Luminance(const std::string& hex) {
  auto channel = [&](int i) {
    const double c = std::stoi(hex.substr(1 + 2 * i, 2), nullptr, 16) / 255.0;
    return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
  };
  return 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
}

double Contrast(const std::string& a, const std::string& b) {
  const double la = Luminance(a), lb = Luminance(b);
  return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

std::string Var(const std::string& css, const std::string& name) {
  std::smatch m;
  EXPECT_TRUE(std::regex_search(css, m, std::regex("--lk-" + name + ": (#[0-9a-fA-F]{6});"))) << name;
  return m[1];
}

TEST(Stylesheet, DefaultColoursMeetWcagAa) {
  const std::string css = Stylesheet(Theme{});
  const std::string text = Var(css, "text"), surface = Var(css, "surface"),
                    background = Var(css, "background");
  const std::string primary = Var(css, "primary"), on_primary = Var(css, "on-primary");
  EXPECT_GE(Contrast(text, surface), 4.5);
  EXPECT_GE(Contrast(text, background), 4.5);
  EXPECT_GE(Contrast(on_primary, primary), 4.5);  // "Sign in", "Allow"
  EXPECT_GE(Contrast(primary, surface), 4.5);     // "Deny", and the focus ring (3:1 needed)
  EXPECT_GE(Contrast(Var(css, "error"), Var(css, "error-background")), 4.5);
  EXPECT_GE(Contrast(Var(css, "border"), surface), 3.0);  // field boundaries, WCAG 1.4.11
}

TEST(Stylesheet, ButtonTextFollowsThePrimaryColour) {
  Theme theme;
  theme.primary_color = "#ffcc00";  // light brand colour: dark text
  EXPECT_NE(Stylesheet(theme).find("--lk-on-primary: #000000;"), std::string::npos);
  theme.primary_color = "#1f5fbf";
  EXPECT_NE(Stylesheet(theme).find("--lk-on-primary: #ffffff;"), std::string::npos);
  theme.primary_color = "#fc0";  // short form is read as #ffcc00
  EXPECT_NE(Stylesheet(theme).find("--lk-on-primary: #000000;"), std::string::npos);
}

// ---- scopes ----

TEST(ScopeDescription, Table) {
  struct Case {
    const char* scope;
    const char* want;
  };
  const Case kCases[] = {
      {"openid", "Confirm your identity (your user ID)"},
      {"profile", "Your name and basic profile (picture, locale, time zone)"},
      {"email", "Your email address"},
      {"phone", "Your phone number"},
      {"address", "Your postal address"},
      {"offline_access", "Stay signed in to this app: access your data when you are not using it"},
      {"photos:read", "Access to “photos:read”"},
      {"OPENID", "Access to “OPENID”"},  // scope tokens are case-sensitive (RFC 6749 §3.3)
      {"<b>", "Access to “<b>”"},        // not escaped here: the page escapes it
  };
  for (const auto& c : kCases) EXPECT_EQ(ScopeDescription(c.scope), c.want) << c.scope;
}

}  // namespace
}  // namespace latchkey::ui
