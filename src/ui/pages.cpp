#include "ui/pages.hpp"

#include "ui/html.hpp"

namespace latchkey::ui {
namespace {

std::string ProductName(const Theme& theme) {
  return theme.product_name.empty() ? std::string("Latchkey") : theme.product_name;
}

// Page wraps a card body in the document every page shares. `title` and `body` are already HTML.
std::string Page(const Theme& theme, std::string_view title, std::string_view body,
                 std::string_view after_card = {}) {
  std::string html;
  html.reserve(1024 + body.size());
  html.append(
      "<!doctype html>\n"
      "<html lang=\"en\">\n"
      "<head>\n"
      "<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>");
  html.append(title);
  html.append(
      "</title>\n"
      "<link rel=\"stylesheet\" href=\"/assets/latchkey.css\">\n"
      "</head>\n"
      "<body>\n"
      "<main class=\"lk-card\">\n");
  if (!theme.logo_url.empty()) {
    html.append("<img class=\"lk-logo\" src=\"")
        .append(EscapeHtml(theme.logo_url))
        .append("\" alt=\"")
        .append(EscapeHtml(ProductName(theme) + " logo"))
        .append("\">\n");
  }
  html.append(body);
  html.append("</main>\n");
  html.append(after_card);
  html.append("</body>\n</html>\n");
  return html;
}

void AppendHidden(std::string& html, std::string_view name, std::string_view value) {
  html.append("<input type=\"hidden\" name=\"")
      .append(EscapeHtml(name))
      .append("\" value=\"")
      .append(EscapeHtml(value))
      .append("\">\n");
}

constexpr std::string_view kLockedOutMessage =
    "Too many sign-in attempts. Wait a few minutes, then try again.";

}  // namespace

std::string RenderLogin(const Theme& theme, const LoginView& view) {
  const std::string title = "Sign in to " + EscapeHtml(ProductName(theme));
  const std::string_view message = !view.message.empty() ? std::string_view(view.message)
                                   : view.locked_out     ? kLockedOutMessage
                                                         : "";
  const bool prefilled = !view.username.empty();

  std::string body = "<h1>" + title + "</h1>\n";
  if (!view.client_name.empty()) {
    body.append("<p class=\"lk-subtitle\">to continue to <strong>")
        .append(EscapeHtml(view.client_name))
        .append("</strong></p>\n");
  }
  // role="alert" makes screen readers announce the failure; the fields point at it too, so it is
  // read again when the user lands on them.
  const std::string_view described = message.empty() ? "" : " aria-describedby=\"lk-error\"";
  if (!message.empty()) {
    body.append("<p id=\"lk-error\" class=\"lk-error\" role=\"alert\">")
        .append(EscapeHtml(message))
        .append("</p>\n");
  }
  body.append("<form method=\"post\" action=\"/login\">\n");
  AppendHidden(body, "csrf", view.csrf);
  AppendHidden(body, "request", view.request);
  body.append(
          "<div class=\"lk-field\">\n"
          "<label for=\"username\">Username</label>\n"
          "<input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" "
          "autocapitalize=\"none\" spellcheck=\"false\" required")
      .append(described)
      .append(prefilled ? "" : " autofocus")
      .append(" value=\"")
      .append(EscapeHtml(view.username))
      .append(
          "\">\n"
          "</div>\n"
          "<div class=\"lk-field\">\n"
          "<label for=\"password\">Password</label>\n"
          "<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" "
          "required")
      .append(described)
      .append(prefilled ? " autofocus" : "")
      .append(
          ">\n"
          "</div>\n"
          "<button type=\"submit\">Sign in</button>\n"
          "</form>\n");
  return Page(theme, title, body);
}

std::string RenderConsent(const Theme& theme, const ConsentView& view) {
  const std::string client =
      view.client_name.empty() ? std::string("This application") : EscapeHtml(view.client_name);
  std::string body = "<h1>" + client + " wants to access your account</h1>\n";
  if (!view.username.empty()) {
    body.append("<p>Signed in as <strong>").append(EscapeHtml(view.username)).append("</strong></p>\n");
  }
  if (!view.scopes.empty()) {
    body.append("<p>It is asking for:</p>\n<ul class=\"lk-scopes\">\n");
    for (const std::string& scope : view.scopes) {
      body.append("<li>").append(EscapeHtml(ScopeDescription(scope))).append("</li>\n");
    }
    body.append("</ul>\n");
  }
  body.append("<form method=\"post\" action=\"/consent\">\n");
  AppendHidden(body, "csrf", view.csrf);
  AppendHidden(body, "request", view.request);
  body.append(
      "<div class=\"lk-actions\">\n"
      "<button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\n"
      "<button type=\"submit\" name=\"decision\" value=\"deny\" class=\"lk-secondary\">Deny</button>\n"
      "</div>\n"
      "</form>\n");
  return Page(theme, "Allow access – " + EscapeHtml(ProductName(theme)), body);
}

std::string RenderError(const Theme& theme, const ErrorView& view) {
  const std::string heading = EscapeHtml(view.title.empty() ? std::string_view("Something went wrong")
                                                            : std::string_view(view.title));
  std::string body = "<h1>" + heading + "</h1>\n";
  if (!view.message.empty()) body.append("<p>").append(EscapeHtml(view.message)).append("</p>\n");
  if (!view.error_code.empty()) {
    body.append("<p class=\"lk-code\">Error code: <code>")
        .append(EscapeHtml(view.error_code))
        .append("</code></p>\n");
  }
  return Page(theme, heading + " – " + EscapeHtml(ProductName(theme)), body);
}

std::string RenderFormPost(const Theme& theme, const FormPostView& view) {
  std::string body =
      "<h1>Continue</h1>\n"
      "<p>Taking you back to the application…</p>\n"
      "<form method=\"post\" action=\"" +
      EscapeHtml(view.action) + "\">\n";
  for (const auto& [name, value] : view.fields) AppendHidden(body, name, value);
  body.append(
      "<noscript>\n"
      "<p>Script is turned off in this browser. Select Continue to go back to the application.</p>\n"
      "<button type=\"submit\">Continue</button>\n"
      "</noscript>\n"
      "</form>\n");
  // The only script on any page: a constant, after the form, allowed by this response's nonce.
  const std::string script =
      "<script nonce=\"" + EscapeHtml(view.script_nonce) + "\">document.forms[0].submit();</script>\n";
  return Page(theme, "Continue – " + EscapeHtml(ProductName(theme)), body, script);
}

std::string ScopeDescription(std::string_view scope) {
  if (scope == "openid") return "Confirm your identity (your user ID)";
  if (scope == "profile") return "Your name and basic profile (picture, locale, time zone)";
  if (scope == "email") return "Your email address";
  if (scope == "phone") return "Your phone number";
  if (scope == "address") return "Your postal address";
  if (scope == "offline_access")
    return "Stay signed in to this app: access your data when you are not using it";
  return "Access to “" + std::string(scope) + "”";
}

}  // namespace latchkey::ui
