// A server-side web app that signs people in with any OpenID provider (the authorization code flow
// with PKCE, OIDC Core §3.1), built on Boost.Beast and the public SDK only.
//
//   LATCHKEY_CLIENT_SECRET=... latchkey-example-webapp ISSUER CLIENT_ID PORT [POST_LOGOUT_REDIRECT_URI]
//
// The app listens on 127.0.0.1:PORT (0: any free port) and prints "READY <port>" once it accepts
// connections. Its redirect URI is http://127.0.0.1:<port>/callback: register exactly that at the
// provider (a public client registered as http://127.0.0.1/callback may use any port, RFC 8252
// §7.3). Without LATCHKEY_CLIENT_SECRET the app is a public client and sends only its client_id.
//
// Routes:
//   GET /          who is signed in (the ID token's sub, name and email), or a sign-in link
//   GET /login     starts a sign-in and redirects the browser to the provider
//   GET /callback  where the provider sends the browser back; ends the sign-in
//   GET /profile   calls the provider's UserInfo endpoint with a fresh access token
//   GET /logout    forgets the session, revokes its tokens and signs out at the provider too
//
// The browser holds a random session id in a cookie; everything else (the pending authorization,
// the tokens) stays on the server. Everything runs on one thread, so the session table needs no
// lock; an app that serves requests from several threads guards it with a mutex (the SDK objects
// are thread-safe already). SIGINT or SIGTERM stops the app.

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url.hpp>

#include "latchkey/client/curl_transport.hpp"
#include "latchkey/client/relying_party.hpp"
#include "latchkey/client/token_manager.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace client = latchkey::client;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kCookieName = "session";
constexpr std::string_view kScope = "openid profile email offline_access";
constexpr auto kSignInLifetime = std::chrono::minutes(10);  // from /login to /callback
constexpr auto kSessionLifetime = std::chrono::hours(8);    // once signed in
constexpr size_t kMaxSessions = 10000;                      // /login is public: bound the table

// Session: what the server keeps for one browser. The browser only holds the id.
struct Session {
  std::chrono::steady_clock::time_point expires_at;
  // Between /login and /callback: the state, nonce and PKCE verifier of this browser's request.
  std::optional<client::PendingAuthorization> pending;
  // Once signed in: the person's tokens (refreshed when needed) and the validated ID token's claims.
  std::unique_ptr<client::TokenManager> tokens;
  client::IdTokenClaims user;
  std::string name;  // from the ID token or UserInfo; "" when the provider gave none
  std::string email;
};

// Reply: what one request gets.
struct Reply {
  http::status status = http::status::ok;
  std::string body;
  std::string location;    // a redirect when not empty
  std::string set_cookie;  // a Set-Cookie header when not empty
};

// RandomId returns 256 bits from the operating system's CSPRNG, hex-encoded, or "" if it cannot be
// read. A session id is a bearer credential: guessing one signs the guesser in as its owner, so it
// must be unpredictable. std::rand and std::mt19937 are predictable, and std::random_device is not
// promised to be a CSPRNG everywhere, so the example reads /dev/urandom (getrandom(2), arc4random or
// the app's TLS library do the same job).
std::string RandomId() {
  unsigned char bytes[32];
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  if (!urandom.read(reinterpret_cast<char*>(bytes), sizeof bytes)) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 0xf];
  }
  return id;
}

// Escape makes text safe inside HTML. Claims and error descriptions come from the provider and the
// callback URL (anyone can craft one), so they are never written into a page as they are.
std::string Escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Page(std::string_view content) {
  return "<!doctype html>\n<html lang=\"en\"><meta charset=\"utf-8\"><title>Example app</title>\n" +
         std::string(content) + "\n</html>\n";
}

// StringClaim returns the string member `name` of a JSON object, or "".
std::string StringClaim(const boost::json::value& claims, std::string_view name) {
  const auto* object = claims.if_object();
  const auto* member = object ? object->if_contains(name) : nullptr;
  const auto* text = member ? member->if_string() : nullptr;
  return text ? std::string(text->data(), text->size()) : "";
}

Reply Redirect(std::string location) { return {http::status::found, "", std::move(location), ""}; }

Reply Fail(http::status status, std::string_view message) {
  return {status, Page("<p id=\"error\">" + Escape(message) + "</p>\n<p><a href=\"/\">Home</a></p>"), "", ""};
}

class WebApp {
 public:
  WebApp(client::RelyingParty& app, bool secure_cookies, std::string post_logout_redirect_uri)
      : app_(app),
        secure_cookies_(secure_cookies),
        post_logout_redirect_uri_(std::move(post_logout_redirect_uri)) {}

  // Handle answers one request; `target` is the request-target ("/callback?code=...").
  Reply Handle(http::verb method, std::string_view target, std::string_view cookie_header) {
    const auto question = target.find('?');
    const std::string_view path = target.substr(0, question);
    const std::string_view query = question == std::string_view::npos ? "" : target.substr(question + 1);
    if (path != "/" && path != "/login" && path != "/callback" && path != "/profile" && path != "/logout") {
      return Fail(http::status::not_found, "Not found.");
    }
    if (method != http::verb::get) return Fail(http::status::method_not_allowed, "Method not allowed.");
    const std::string session_id = CookieValue(cookie_header);
    Session* session = Find(session_id);
    if (path == "/") return Home(session);
    if (path == "/login") return Login(session_id, session);
    if (path == "/callback") return Callback(session_id, session, query);
    if (path == "/profile") return Profile(session_id, session);
    return Logout(session_id, session);
  }

 private:
  Reply Home(const Session* session) {
    if (session == nullptr || !session->tokens) {
      return {http::status::ok,
              Page("<p id=\"signed-out\">Not signed in. <a href=\"/login\">Sign in</a></p>"), "", ""};
    }
    std::string content = "<p>Signed in as <code id=\"sub\">" + Escape(session->user.sub) + "</code></p>\n";
    if (!session->name.empty()) {
      content += "<p>Name: <span id=\"name\">" + Escape(session->name) + "</span></p>\n";
    }
    if (!session->email.empty()) {
      content += "<p>Email: <span id=\"email\">" + Escape(session->email) + "</span></p>\n";
    }
    content += "<p><a href=\"/profile\">Profile</a> <a href=\"/logout\">Sign out</a></p>";
    return {http::status::ok, Page(content), "", ""};
  }

  // GET /login: BeginAuthorization makes a fresh state, nonce and PKCE verifier; they stay in this
  // browser's session on the server and only the authorization URL goes to the browser.
  Reply Login(std::string session_id, Session* session) {
    if (session != nullptr && session->tokens) return Redirect("/");
    auto pending = app_.BeginAuthorization();
    if (!pending) {
      return Fail(http::status::bad_gateway,
                  "Cannot start the sign-in: " + client::Describe(pending.error()));
    }
    std::string set_cookie;
    if (session == nullptr) {
      session_id = Create();
      if (session_id.empty()) {
        return Fail(http::status::service_unavailable, "Too many sessions; try again later.");
      }
      session = Find(session_id);
      set_cookie = Cookie(session_id);
    }
    // A second /login in the same browser (another tab) replaces the first: only the latest
    // request's callback can succeed.
    session->pending = std::move(*pending);
    session->expires_at = std::chrono::steady_clock::now() + kSignInLifetime;
    return {http::status::found, "", session->pending->url, std::move(set_cookie)};
  }

  // GET /callback: completes the sign-in that THIS browser started, once.
  Reply Callback(const std::string& session_id, Session* session, std::string_view query) {
    // A callback without the session that started it may be an attacker's authorization response
    // pushed into this browser (login CSRF, RFC 6749 §10.12): there is nothing to compare its state with.
    if (session == nullptr || !session->pending) {
      return Fail(http::status::bad_request, "No sign-in is in progress in this browser.");
    }
    // Take the pending request out before using it: whatever happens, this state, nonce and
    // verifier are never used again, so a replayed or forged callback cannot try twice.
    const client::PendingAuthorization pending = std::move(*session->pending);
    session->pending.reset();
    // Checks state and iss, turns an error callback into kOAuth, exchanges the code with the
    // verifier and validates the ID token (signature, iss, aud, exp, nonce, at_hash).
    auto tokens = app_.CompleteAuthorization(pending, query);
    if (!tokens) {
      return Fail(http::status::bad_request, "Sign-in failed: " + client::Describe(tokens.error()));
    }
    // Session fixation: whoever knew the id before the sign-in (it may have been planted in this
    // browser) must not be signed in by it. The signed-in session gets a new id; the old one is gone.
    sessions_.erase(session_id);
    const std::string new_id = Create();
    if (new_id.empty()) return Fail(http::status::service_unavailable, "Too many sessions; try again later.");
    Session& signed_in = sessions_[new_id];
    signed_in.expires_at = std::chrono::steady_clock::now() + kSessionLifetime;
    signed_in.user = *tokens->id_claims;  // always set: CompleteAuthorization requires the ID token
    signed_in.tokens = std::make_unique<client::TokenManager>(app_, std::move(*tokens));
    // Providers may leave profile claims out of the ID token and serve them from UserInfo only
    // (OIDC Core §5.4), so ask once now. A failure here only means a page without a name.
    signed_in.name = signed_in.user.name;
    signed_in.email = signed_in.user.email;
    if (auto info = signed_in.tokens->UserInfo(); info) {
      boost::system::error_code ec;
      const boost::json::value claims = boost::json::parse(*info, ec);
      if (const std::string name = StringClaim(claims, "name"); !ec && !name.empty()) signed_in.name = name;
      if (const std::string email = StringClaim(claims, "email"); !ec && !email.empty()) {
        signed_in.email = email;
      }
    } else {
      std::fprintf(stderr, "userinfo failed: %s\n", client::Describe(info.error()).c_str());
    }
    return {http::status::found, "", "/", Cookie(new_id)};
  }

  // GET /profile: TokenManager hands out an access token valid for at least another minute,
  // refreshing it first (with rotation) when it is about to expire.
  Reply Profile(const std::string& session_id, Session* session) {
    if (session == nullptr || !session->tokens) return Redirect("/login");
    auto info = session->tokens->UserInfo();
    if (!info) {
      // The refresh token was refused (revoked, expired, reused): the person must sign in again.
      if (info.error().code == client::ErrorCode::kSignInRequired) {
        sessions_.erase(session_id);
        return {http::status::found, "", "/login", ClearCookie()};
      }
      return Fail(http::status::bad_gateway, "UserInfo failed: " + client::Describe(info.error()));
    }
    boost::system::error_code ec;
    const boost::json::value claims = boost::json::parse(*info, ec);
    std::string content =
        "<p>UserInfo for <code id=\"userinfo-sub\">" + Escape(session->user.sub) + "</code></p>\n<ul>\n";
    if (!ec && claims.is_object()) {
      for (const auto& [name, value] : claims.as_object()) {
        if (!value.is_string()) continue;
        const boost::json::string& text = value.as_string();
        content += "<li>" + Escape(name) + ": <span id=\"claim-" + Escape(name) + "\">" +
                   Escape(std::string_view(text.data(), text.size())) + "</span></li>\n";
      }
    }
    content += "</ul>\n<p><a href=\"/\">Home</a></p>";
    return {http::status::ok, Page(content), "", ""};
  }

  // GET /logout. (A real app would sign out with a POST from a form: any site can make a browser
  // GET this URL, which signs the person out against their will.)
  Reply Logout(const std::string& session_id, Session* session) {
    if (session == nullptr) return {http::status::found, "", "/", ClearCookie()};
    std::string id_token;
    if (session->tokens) {
      id_token = session->tokens->Tokens().id_token;
      // Revoke the refresh token at the provider (RFC 7009): a copy of it stolen earlier dies too.
      if (auto revoked = session->tokens->SignOut(); !revoked) {
        std::fprintf(stderr, "revocation failed: %s\n", client::Describe(revoked.error()).c_str());
      }
    }
    sessions_.erase(session_id);
    // OpenID Connect RP-Initiated Logout 1.0 §2: end the session at the provider too, if it
    // offers that. id_token_hint tells it who and which app; it redirects back to
    // post_logout_redirect_uri only when that URI is registered for this client.
    auto metadata = app_.GetProvider().Metadata();
    if (id_token.empty() || !metadata || metadata->end_session_endpoint.empty()) {
      return {http::status::found, "", "/", ClearCookie()};
    }
    auto end_session = boost::urls::parse_uri(metadata->end_session_endpoint);
    if (!end_session) return {http::status::found, "", "/", ClearCookie()};
    boost::urls::url url = *end_session;
    url.params().append({"id_token_hint", id_token});
    if (!post_logout_redirect_uri_.empty()) {
      url.params().append({"post_logout_redirect_uri", post_logout_redirect_uri_});
    }
    return {http::status::found, "", std::string(url.buffer()), ClearCookie()};
  }

  // CookieValue returns our cookie's value from a Cookie header ("a=1; session=...", RFC 6265
  // §5.4), or "".
  static std::string CookieValue(std::string_view header) {
    while (!header.empty()) {
      const auto end = header.find(';');
      std::string_view pair = header.substr(0, end);
      header = end == std::string_view::npos ? "" : header.substr(end + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      if (pair.starts_with(kCookieName) && pair.substr(kCookieName.size()).starts_with('=')) {
        return std::string(pair.substr(kCookieName.size() + 1));
      }
    }
    return "";
  }

  // Cookie: HttpOnly keeps the id away from scripts (an XSS cannot steal the session); SameSite=Lax
  // keeps other sites' forms and scripts from sending it, while the top-level redirect back from
  // the provider to /callback still carries it. Secure keeps it off plain http: set it whenever the
  // app's own URL is https. This example serves plain http on 127.0.0.1, so it cannot: browsers do
  // not all send a Secure cookie back to an http URL, even on loopback.
  std::string Cookie(const std::string& id) const {
    return std::string(kCookieName) + "=" + id + "; Path=/; HttpOnly; SameSite=Lax" +
           (secure_cookies_ ? "; Secure" : "");
  }

  std::string ClearCookie() const { return Cookie("") + "; Max-Age=0"; }

  Session* Find(const std::string& id) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return nullptr;
    if (it->second.expires_at <= std::chrono::steady_clock::now()) {
      sessions_.erase(it);
      return nullptr;
    }
    return &it->second;
  }

  // Create adds an empty session under a new random id, or returns "" when the table is full (even
  // after dropping expired sessions) or the random generator failed.
  std::string Create() {
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(sessions_, [now](const auto& entry) { return entry.second.expires_at <= now; });
    if (sessions_.size() >= kMaxSessions) return "";
    std::string id = RandomId();
    if (id.empty()) return "";
    sessions_[id].expires_at = now + kSignInLifetime;
    return id;
  }

  client::RelyingParty& app_;
  const bool secure_cookies_;
  const std::string post_logout_redirect_uri_;
  std::map<std::string, Session, std::less<>> sessions_;
};

// Serve reads one request from the connection, answers it and closes the connection.
asio::awaitable<void> Serve(tcp::socket socket, WebApp& app) {
  beast::tcp_stream stream(std::move(socket));
  // A connection that never sends a request (a browser's speculative pre-connect) is dropped.
  stream.expires_after(std::chrono::seconds(10));
  beast::flat_buffer buffer;
  http::request_parser<http::empty_body> parser;
  parser.header_limit(16 * 1024);
  auto [read_ec, read_bytes] = co_await http::async_read(stream, buffer, parser, kAwait);
  if (read_ec) co_return;  // closed, timed out, too large or not HTTP
  const auto& request = parser.get();
  // The SDK calls in Handle block this (only) thread while they talk to the provider; fine for an
  // example, while a busy app would run Handle on a thread pool.
  Reply reply = app.Handle(request.method(), request.target(), request[http::field::cookie]);
  http::response<http::string_body> response{reply.status, request.version()};
  response.set(http::field::content_type, "text/html; charset=utf-8");
  // Pages show personal data and the callback URL carries a code: no caching, no Referer.
  response.set(http::field::cache_control, "no-store");
  response.set("Referrer-Policy", "no-referrer");
  response.set("Content-Security-Policy", "default-src 'none'");
  response.set("X-Content-Type-Options", "nosniff");
  if (reply.status == http::status::method_not_allowed) response.set(http::field::allow, "GET");
  if (!reply.location.empty()) response.set(http::field::location, reply.location);
  if (!reply.set_cookie.empty()) response.set(http::field::set_cookie, reply.set_cookie);
  response.keep_alive(false);
  response.body() = std::move(reply.body);
  response.prepare_payload();
  co_await http::async_write(stream, response, kAwait);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> Accept(tcp::acceptor& acceptor, WebApp& app) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kAwait);
    if (ec == asio::error::operation_aborted) co_return;  // stopping
    if (ec) continue;
    asio::co_spawn(acceptor.get_executor(), Serve(std::move(socket), app), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(
        stderr,
        "usage: %s ISSUER CLIENT_ID PORT [POST_LOGOUT_REDIRECT_URI] (secret in LATCHKEY_CLIENT_SECRET)\n",
        argv[0]);
    return 2;
  }
  asio::io_context io(1);
  boost::system::error_code ec;
  tcp::acceptor acceptor(io);
  const tcp::endpoint endpoint(asio::ip::address_v4::loopback(),
                               static_cast<unsigned short>(std::atoi(argv[3])));
  if (acceptor.open(endpoint.protocol(), ec); !ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::fprintf(stderr, "cannot listen on 127.0.0.1:%s: %s\n", argv[3], ec.message().c_str());
    return 1;
  }
  const unsigned port = acceptor.local_endpoint().port();
  const std::string own_url = "http://127.0.0.1:" + std::to_string(port);

  const char* secret = std::getenv("LATCHKEY_CLIENT_SECRET");
  client::CurlTransport http_client;
  client::SystemClock clock;
  client::Provider provider({.issuer = argv[1]}, http_client, clock);
  client::RelyingParty relying_party(provider, {.client_id = argv[2],
                                                .client_secret = secret ? secret : "",
                                                .redirect_uri = own_url + "/callback",
                                                .scope = std::string(kScope)});
  WebApp app(relying_party, own_url.starts_with("https://"), argc == 5 ? argv[4] : "");

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
  asio::co_spawn(io, Accept(acceptor, app), asio::detached);
  std::printf("READY %u\n", port);
  std::fflush(stdout);
  io.run();
  return 0;
}
