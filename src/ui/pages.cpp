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

std::string RenderDeviceEntry(const Theme& theme, const DeviceEntryView& view) {
  std::string body =
      "<h1>Connect a device</h1>\n"
      "<p id=\"lk-hint\" class=\"lk-subtitle\">Enter the code shown on your device.</p>\n";
  if (!view.message.empty()) {
    body.append("<p id=\"lk-error\" class=\"lk-error\" role=\"alert\">")
        .append(EscapeHtml(view.message))
        .append("</p>\n");
  }
  body.append("<form method=\"post\" action=\"").append(EscapeHtml(view.action)).append("\">\n");
  AppendHidden(body, "csrf", view.csrf);
  // Codes are upper-case consonants with a dash (RFC 8628 §6.1): capitalise as typed, and keep
  // autocorrect, spellcheck and autofill from rewriting them. maxlength leaves room for the dash
  // and stray spaces; the server normalises and validates whatever arrives.
  body.append(
          "<div class=\"lk-field\">\n"
          "<label for=\"user_code\">Code</label>\n"
          "<input id=\"user_code\" name=\"user_code\" type=\"text\" inputmode=\"text\" "
          "autocomplete=\"off\" autocapitalize=\"characters\" autocorrect=\"off\" spellcheck=\"false\" "
          "maxlength=\"16\" required autofocus aria-describedby=\"lk-hint")
      .append(view.message.empty() ? "" : " lk-error")
      .append("\" value=\"")
      .append(EscapeHtml(view.user_code))
      .append(
          "\">\n"
          "</div>\n"
          "<button type=\"submit\">Continue</button>\n"
          "</form>\n");
  return Page(theme, "Connect a device – " + EscapeHtml(ProductName(theme)), body);
}

std::string RenderDeviceConfirm(const Theme& theme, const DeviceConfirmView& view) {
  std::string body = "<h1>Connect a device</h1>\n<p class=\"lk-subtitle\">";
  if (view.client_name.empty()) {
    body.append("An application");
  } else {
    body.append("<strong>").append(EscapeHtml(view.client_name)).append("</strong>");
  }
  body.append(" on a device wants to access your account.</p>\n");
  if (!view.username.empty()) {
    body.append("<p>Signed in as <strong>").append(EscapeHtml(view.username)).append("</strong></p>\n");
  }
  // RFC 8628 §3.3.1, §5.4: with verification_uri_complete the user typed nothing, so they compare
  // the code here with the device's; the device description lets them notice a software client
  // posing as the device they hold. device_info is the device's own claim: text, never a link.
  body.append("<p>Check that your device shows this code: <strong><code>")
      .append(EscapeHtml(view.user_code))
      .append("</code></strong></p>\n");
  if (!view.device_info.empty()) {
    body.append("<p>Device: ").append(EscapeHtml(view.device_info)).append("</p>\n");
  }
  body.append(
      "<p>Allow only a device you have with you and set up yourself. If someone sent you this code, "
      "select Deny.</p>\n");
  if (!view.scopes.empty()) {
    body.append("<p>It is asking for:</p>\n<ul class=\"lk-scopes\">\n");
    for (const std::string& scope : view.scopes) {
      body.append("<li>").append(EscapeHtml(ScopeDescription(scope))).append("</li>\n");
    }
    body.append("</ul>\n");
  }
  body.append("<form method=\"post\" action=\"").append(EscapeHtml(view.action)).append("\">\n");
  AppendHidden(body, "csrf", view.csrf);
  AppendHidden(body, "user_code", view.user_code);
  body.append(
      "<div class=\"lk-actions\">\n"
      "<button type=\"submit\" name=\"decision\" value=\"approve\">Allow</button>\n"
      "<button type=\"submit\" name=\"decision\" value=\"deny\" class=\"lk-secondary\">Deny</button>\n"
      "</div>\n"
      "</form>\n");
  return Page(theme, "Connect a device – " + EscapeHtml(ProductName(theme)), body);
}

std::string RenderDeviceDone(const Theme& theme, const DeviceDoneView& view) {
  const std::string_view heading = view.approved ? "Device connected" : "Device not connected";
  std::string body = "<h1>" + std::string(heading) + "</h1>\n<p>";
  if (view.approved) {
    body.append(view.client_name.empty() ? std::string("The application") : EscapeHtml(view.client_name))
        .append(" can now use your account. You can return to your device.</p>\n");
  } else {
    body.append("You denied access. You can close this page.</p>\n");
  }
  return Page(theme, std::string(heading) + " – " + EscapeHtml(ProductName(theme)), body);
}

std::string RenderLogoutConfirm(const Theme& theme, const LogoutConfirmView& view) {
  const std::string product = EscapeHtml(ProductName(theme));
  std::string body = "<h1>Sign out?</h1>\n<p class=\"lk-subtitle\">";
  // Anyone can link a user to the logout endpoint (RP-Initiated Logout §6): a request the server
  // cannot tie to the user's application lands here, so a stray link only costs a click.
  if (view.client_name.empty()) {
    body.append("Do you want to sign out of ").append(product).append("?</p>\n");
  } else {
    body.append("<strong>")
        .append(EscapeHtml(view.client_name))
        .append("</strong> asks to sign you out of ")
        .append(product)
        .append(".</p>\n");
  }
  if (!view.username.empty()) {
    body.append("<p>Signed in as <strong>").append(EscapeHtml(view.username)).append("</strong></p>\n");
  }
  body.append("<form method=\"post\" action=\"").append(EscapeHtml(view.action)).append("\">\n");
  AppendHidden(body, "csrf", view.csrf);
  // The redirect URI rides along as a hidden input only: it is checked against the client's
  // registration on the POST, and never offered as a link before that.
  for (const auto& [name, value] : view.fields) AppendHidden(body, name, value);
  body.append(
      "<div class=\"lk-actions\">\n"
      "<button type=\"submit\" name=\"decision\" value=\"logout\">Sign out</button>\n"
      "<button type=\"submit\" name=\"decision\" value=\"stay\" class=\"lk-secondary\">Stay signed "
      "in</button>\n"
      "</div>\n"
      "</form>\n");
  return Page(theme, "Sign out? – " + product, body);
}

std::string RenderLoggedOut(const Theme& theme, const LoggedOutView& view) {
  const std::string product = EscapeHtml(ProductName(theme));
  const std::string_view heading = view.signed_out ? "You are signed out" : "You are still signed in";
  std::string body = "<h1>" + std::string(heading) + "</h1>\n";
  if (view.signed_out) {
    body.append("<p>You have signed out of ").append(product).append(".</p>\n<p>");
    if (!view.client_name.empty()) {
      body.append("You can return to <strong>")
          .append(EscapeHtml(view.client_name))
          .append("</strong> or close this page.</p>\n");
    } else {
      body.append("You can close this page.</p>\n");
    }
  } else {
    body.append("<p>You are still signed in to ").append(product).append(".</p>\n");
    // The application usually ends its own session before it sends the user here.
    if (!view.client_name.empty()) {
      body.append("<p><strong>")
          .append(EscapeHtml(view.client_name))
          .append("</strong> may have signed you out of its own pages.</p>\n");
    }
    body.append("<p>You can close this page.</p>\n");
  }
  return Page(theme, std::string(heading) + " – " + product, body);
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
