#include "server/web.hpp"

#include <boost/url/parse.hpp>

#include "common/base64.hpp"
#include "common/strings.hpp"
#include "crypto/digest.hpp"
#include "oauth/error.hpp"

namespace latchkey::server {

std::string SessionCookie(bool secure) { return secure ? "__Host-latchkey_session" : "latchkey_session"; }
std::string CsrfCookieName(bool secure) { return secure ? "__Host-latchkey_csrf" : "latchkey_csrf"; }

bool IsFormPost(const http::Request& request) {
  auto content_type = request.Header("content-type");
  return content_type &&
         common::EqualsIgnoreCase(common::Trim(content_type->substr(0, content_type->find(';'))),
                                  "application/x-www-form-urlencoded");
}

std::string FormActionSource(std::string_view redirect_uri) {
  auto url = boost::urls::parse_absolute_uri(redirect_uri);
  if (!url) return {};
  std::string scheme(url->scheme());
  if (scheme == "http" || scheme == "https")
    return scheme + "://" + std::string(url->encoded_host_and_port());
  return scheme + ":";
}

std::string PageCsp(std::string_view redirect_uri, std::string_view script_nonce) {
  std::string csp = "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'";
  if (auto source = FormActionSource(redirect_uri); !source.empty()) csp += " " + source;
  if (!script_nonce.empty()) csp += "; script-src 'nonce-" + std::string(script_nonce) + "'";
  csp += "; frame-ancestors 'none'; base-uri 'none'";
  return csp;
}

std::string SessionSid(std::string_view session_id_hash) {
  if (session_id_hash.empty()) return {};
  return common::Base64UrlEncode(crypto::Sha256(std::string("sid:").append(session_id_hash))).substr(0, 32);
}

http::Response NoStoreJson(int status, std::string body) {
  http::Response r = http::Response::Json(status, std::move(body));
  r.SetHeader("Cache-Control", "no-store");
  r.SetHeader("Pragma", "no-cache");
  return r;
}

oauth::TokenHttpRequest TokenHttp(const http::Request& request) {
  oauth::TokenHttpRequest out;
  out.method = request.method;
  out.content_type = request.Header("content-type");
  out.authorization_count = request.HeaderCount("authorization");
  out.authorization = request.Header("authorization");
  out.body = request.body;
  return out;
}

void AddCookies(http::Response& response, const std::vector<std::string>& set_cookies) {
  for (const auto& c : set_cookies) response.headers.emplace_back("Set-Cookie", c);
}

oauth::Error StoreUnavailable() {
  return oauth::MakeError(oauth::ErrorCode::kTemporarilyUnavailable, "the store is unavailable; retry later");
}

oauth::Result<store::UserRecord> ActiveUser(store::UserStore& users, const std::string& user_id) {
  return ActiveUser(users.GetUser(user_id));
}

oauth::Result<store::UserRecord> ActiveUser(store::Result<store::UserRecord> user) {
  if (!user) {
    if (user.error() == store::Error::kNotFound)
      return oauth::MakeError(oauth::ErrorCode::kInvalidGrant, "the user no longer exists");
    return StoreUnavailable();
  }
  if (user->status != "active")
    return oauth::MakeError(oauth::ErrorCode::kInvalidGrant, "the user is disabled");
  return std::move(*user);
}

}  // namespace latchkey::server
