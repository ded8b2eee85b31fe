#include "http/cookie.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace latchkey::http {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

Request WithCookieHeaders(std::vector<std::string> values) {
  Request request;
  request.headers.emplace_back("host", "op.example");
  for (auto& value : values) request.headers.emplace_back("cookie", std::move(value));
  request.headers.emplace_back("accept", "text/html");
  return request;
}

struct ParseCase {
  const char* what;
  std::vector<std::string> headers;
  Pairs want;
};

// RFC 6265 §4.2.1 (what a conforming user agent sends) and §5.4 (what browsers really send).
TEST(CookieTest, ParseCookiesRfc6265Section4_2_1Table) {
  const ParseCase kCases[] = {
      {"no header", {}, {}},
      {"one pair", {"a=b"}, {{"a", "b"}}},
      {"canonical separator",
       {"SID=31d4d96e407aad42; lang=en-US"},
       {{"SID", "31d4d96e407aad42"}, {"lang", "en-US"}}},
      {"no space after ';'", {"a=1;b=2"}, {{"a", "1"}, {"b", "2"}}},
      {"extra spaces and tabs trimmed", {"  a = 1 ;\tb=2\t;  "}, {{"a", "1"}, {"b", "2"}}},
      {"inner space kept", {"a=x y"}, {{"a", "x y"}}},
      {"one pair of quotes stripped",
       {"a=\"quoted\"; b=\"\"\"x\"\"\""},
       {{"a", "quoted"}, {"b", "\"\"x\"\""}}},
      {"lone quote kept", {"a=\"; b=\"x"}, {{"a", "\""}, {"b", "\"x"}}},
      {"empty value", {"a=; b=\"\"; c="}, {{"a", ""}, {"b", ""}, {"c", ""}}},
      {"'=' inside a value", {"t=abc==; u=a=b=c"}, {{"t", "abc=="}, {"u", "a=b=c"}}},
      {"no '=' skipped", {"flag; a=1; ; ;b"}, {{"a", "1"}}},
      {"empty name skipped", {"=v; a=1;  =w"}, {{"a", "1"}}},
      {"control character skipped", {"a=1\x01; b\x7f=2; c=3"}, {{"c", "3"}}},
      {"NUL skipped", {std::string("a=x\0y; b=2", 10)}, {{"b", "2"}}},
      {"repeats kept in order", {"a=1; a=2"}, {{"a", "1"}, {"a", "2"}}},
      {"names are case-sensitive", {"A=1; a=2"}, {{"A", "1"}, {"a", "2"}}},
      {"several Cookie headers, in order",
       {"a=1; b=2", "c=3", "a=4"},
       {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"a", "4"}}},
      {"empty header", {"", "a=1"}, {{"a", "1"}}},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(ParseCookies(WithCookieHeaders(c.headers)), c.want) << c.what;
  }
}

TEST(CookieTest, ParseCookiesIgnoresOtherHeaders) {
  Request request;
  request.headers = {{"set-cookie", "a=1"}, {"x-cookie", "b=2"}, {"cookies", "c=3"}, {"cookie", "d=4"}};
  EXPECT_EQ(ParseCookies(request), (Pairs{{"d", "4"}}));
}

TEST(CookieTest, CookieValueFirstWinsRfc6265Section5_4) {
  Request request = WithCookieHeaders({"other=x; latchkey_csrf=first", "latchkey_csrf=second"});
  EXPECT_EQ(CookieValue(request, "latchkey_csrf"), "first");
  EXPECT_EQ(CookieValue(request, "other"), "x");
  EXPECT_EQ(CookieValue(request, "LATCHKEY_CSRF"), std::nullopt);
  EXPECT_EQ(CookieValue(request, "latchkey"), std::nullopt);
  EXPECT_EQ(CookieValue(request, ""), std::nullopt);
  EXPECT_EQ(CookieValue(WithCookieHeaders({}), "latchkey_csrf"), std::nullopt);
  // Present but empty is not absent.
  EXPECT_EQ(CookieValue(WithCookieHeaders({"e="}), "e"), "");
  // A malformed first pair does not hide a later good one.
  EXPECT_EQ(CookieValue(WithCookieHeaders({"s; s=ok"}), "s"), "ok");
}

SetCookie Cookie(std::string name, std::string value) {
  SetCookie cookie;
  cookie.name = std::move(name);
  cookie.value = std::move(value);
  return cookie;
}

// RFC 6265 §4.1.1 (syntax) and §4.1.2 (attributes); SameSite and name prefixes from RFC 6265bis.
TEST(CookieTest, RenderRfc6265Section4_1ExactStrings) {
  EXPECT_EQ(Render(Cookie("sid", "abc-_09")), "sid=abc-_09; Path=/; HttpOnly; SameSite=Lax");

  SetCookie secure = Cookie("__Host-latchkey_csrf", "AbC_-123");
  secure.secure = true;
  secure.max_age = 600;
  secure.same_site = "Strict";
  EXPECT_EQ(Render(secure),
            "__Host-latchkey_csrf=AbC_-123; Path=/; Max-Age=600; Secure; HttpOnly; SameSite=Strict");

  SetCookie remove = Cookie("sid", "");
  remove.max_age = 0;
  EXPECT_EQ(Render(remove), "sid=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");

  SetCookie script_visible = Cookie("ui", "dark");
  script_visible.http_only = false;
  script_visible.same_site = "";
  script_visible.path = "/authorize";
  EXPECT_EQ(Render(script_visible), "ui=dark; Path=/authorize");

  SetCookie cross_site = Cookie("x", "1");
  cross_site.secure = true;
  cross_site.same_site = "None";
  EXPECT_EQ(Render(cross_site), "x=1; Path=/; Secure; HttpOnly; SameSite=None");

  // Every cookie-octet is accepted: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E.
  std::string octets;
  for (int c = 0x21; c <= 0x7e; ++c) {
    if (c != '"' && c != ',' && c != ';' && c != '\\') octets.push_back(static_cast<char>(c));
  }
  EXPECT_EQ(Render(Cookie("o", octets)), "o=" + octets + "; Path=/; HttpOnly; SameSite=Lax");
}

TEST(CookieTest, RenderRejectsWhatIsNotCookieOctetsRfc6265Section4_1_1) {
  for (const char* value : {"a;b", "a b", "a\"b", "\"ab\"", "a,b", "a\\b", "a\tb", "a\r\nSet-Cookie: x=y",
                            "\x7f", "caf\xc3\xa9", "x; Domain=evil.example"}) {
    EXPECT_EQ(Render(Cookie("n", value)), "") << value;
  }
  EXPECT_EQ(Render(Cookie("n", std::string("a\0b", 3))), "");
  for (const char* name :
       {"", "a b", "a=b", "a;b", "a(b)", "a/b", "a\"", "a\x01", "n\xc3\xa9", "a,b", "a:b"}) {
    EXPECT_EQ(Render(Cookie(name, "v")), "") << name;
  }
}

TEST(CookieTest, RenderRejectsBadAttributes) {
  auto with = [](auto change) {
    SetCookie cookie = Cookie("n", "v");
    cookie.secure = true;
    change(cookie);
    return Render(cookie);
  };
  EXPECT_NE(with([](SetCookie&) {}), "");  // the baseline renders
  EXPECT_EQ(with([](SetCookie& c) { c.path = ""; }), "");
  EXPECT_EQ(with([](SetCookie& c) { c.path = "authorize"; }), "");
  EXPECT_EQ(with([](SetCookie& c) { c.path = "/a;Domain=evil.example"; }), "");
  EXPECT_EQ(with([](SetCookie& c) { c.path = "/a\r\nX: y"; }), "");
  EXPECT_EQ(with([](SetCookie& c) { c.max_age = -2; }), "");
  EXPECT_EQ(with([](SetCookie& c) { c.same_site = "lax"; }), "");
  EXPECT_EQ(with([](SetCookie& c) { c.same_site = "Lax; Domain=evil.example"; }), "");
  // SameSite=None without Secure is dropped by browsers.
  EXPECT_NE(with([](SetCookie& c) { c.same_site = "None"; }), "");
  EXPECT_EQ(with([](SetCookie& c) {
              c.same_site = "None";
              c.secure = false;
            }),
            "");
  // RFC 6265bis §4.1.3 prefixes.
  EXPECT_NE(with([](SetCookie& c) { c.name = "__Secure-n"; }), "");
  EXPECT_EQ(with([](SetCookie& c) {
              c.name = "__Secure-n";
              c.secure = false;
            }),
            "");
  EXPECT_NE(with([](SetCookie& c) { c.name = "__Host-n"; }), "");
  EXPECT_EQ(with([](SetCookie& c) {
              c.name = "__Host-n";
              c.secure = false;
            }),
            "");
  EXPECT_EQ(with([](SetCookie& c) {
              c.name = "__Host-n";
              c.path = "/authorize";
            }),
            "");
}

TEST(CookieTest, RenderNeverWritesDomain) {
  SetCookie cookie = Cookie("n", "v");
  cookie.secure = true;
  cookie.max_age = 1;
  EXPECT_EQ(Render(cookie).find("Domain"), std::string::npos);
}

// RFC 6265 §3: a server sends one Set-Cookie header field per cookie, never folded.
TEST(CookieTest, ResponseAddHeaderKeepsEverySetCookie) {
  Response response = Response::Html(200, "<p>hi</p>");
  response.AddHeader("Set-Cookie", "a=1; Path=/");
  response.AddHeader("Set-Cookie", "b=2; Path=/");
  Headers want = {{"Content-Type", "text/html; charset=utf-8"},
                  {"Set-Cookie", "a=1; Path=/"},
                  {"Set-Cookie", "b=2; Path=/"}};
  EXPECT_EQ(response.headers, want);
  // SetHeader still replaces all of them (case-insensitively).
  response.SetHeader("set-cookie", "c=3");
  want = {{"Content-Type", "text/html; charset=utf-8"}, {"set-cookie", "c=3"}};
  EXPECT_EQ(response.headers, want);
}

}  // namespace
}  // namespace latchkey::http
