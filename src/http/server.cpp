#include "http/server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <exception>
#include <mutex>
#include <random>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "common/log.hpp"
#include "common/strings.hpp"

namespace latchkey::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kRequestsTotal = "latchkey_http_requests_total";
constexpr std::string_view kRequestDuration = "latchkey_http_request_duration_seconds";
constexpr std::string_view kHtmlCsp =
    "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'";

// NewRequestId returns 16 random hex chars. An id for correlating logs, not a secret: a fast PRNG
// is enough.
std::string NewRequestId() {
  thread_local std::mt19937_64 engine{(static_cast<uint64_t>(std::random_device{}()) << 32) ^
                                      std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(engine()));
  return std::string(buf, 16);
}

// HttpDate returns the current time as an IMF-fixdate (RFC 9110 §5.6.7), formatted once a second
// per thread.
const std::string& HttpDate() {
  thread_local std::time_t last = -1;
  thread_local std::string formatted;
  const std::time_t now = std::time(nullptr);
  if (now == last) return formatted;
  std::tm tm{};
  gmtime_r(&now, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  formatted = buf;
  last = now;
  return formatted;
}

// AppendDecimal appends `value` in decimal.
void AppendDecimal(std::string& out, uint64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

// AppendHeader appends one header line. A name that is not a token or a value with a control
// character other than tab (RFC 9110 §5.1, §5.5) is dropped and logged: written as is, a CR or LF
// would let it split the response.
void AppendHeader(std::string& out, std::string_view name, std::string_view value) {
  const bool name_ok = !name.empty() && std::ranges::all_of(name, [](unsigned char c) {
    return c > 0x20 && c < 0x7f && c != ':' && c != '(' && c != ')' && c != ',' && c != '/' && c != ';' &&
           c != '<' && c != '=' && c != '>' && c != '?' && c != '@' && c != '[' && c != '\\' && c != ']' &&
           c != '{' && c != '}' && c != '"';
  });
  const bool value_ok =
      std::ranges::none_of(value, [](unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; });
  if (!name_ok || !value_ok) {
    common::LogError("response header dropped", {{"name", name_ok ? std::string(name) : std::string("?")}});
    return;
  }
  out.append(name).append(": ").append(value).append("\r\n");
}

Response ErrorJson(int status, std::string_view error, std::string_view description = {}) {
  boost::json::object body;
  body["error"] = error;
  if (!description.empty()) body["error_description"] = description;
  return Response::Json(status, boost::json::serialize(body));
}

// TokenBucket limits requests per connection: `rate` tokens per second, burst `rate`.
class TokenBucket {
 public:
  explicit TokenBucket(int rate) : rate_(rate), tokens_(rate), last_(std::chrono::steady_clock::now()) {}

  // TryTake returns true and consumes a token when one is available. A rate <= 0 disables the limit.
  bool TryTake() {
    if (rate_ <= 0) return true;
    auto now = std::chrono::steady_clock::now();
    double elapsed = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    tokens_ = std::min<double>(rate_, tokens_ + elapsed * rate_);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  int rate_;
  double tokens_;
  std::chrono::steady_clock::time_point last_;
};

// ConnectionBase: what shutdown needs to see of a live connection.
struct ConnectionBase {
  virtual ~ConnectionBase() = default;
  // CloseIfIdle closes the socket when the connection is waiting for its next request. Must run
  // on the connection's io_context thread.
  virtual void CloseIfIdle() = 0;
  virtual asio::any_io_executor Executor() = 0;
};

template <class Stream>
struct Connection : ConnectionBase {
  template <class... Args>
  explicit Connection(Args&&... args) : stream(std::forward<Args>(args)...) {}

  void CloseIfIdle() override {
    if (idle) {
      beast::error_code ec;
      beast::get_lowest_layer(stream).socket().close(ec);
    }
  }
  asio::any_io_executor Executor() override { return stream.get_executor(); }

  Stream stream;
  bool idle = true;  // touched only on the connection's io_context thread
};

}  // namespace

struct Server::Impl {
  Impl(ServerOptions opts, const Router& r, common::Metrics& m)
      : options(std::move(opts)),
        router(r),
        metrics(m),
        pool(static_cast<size_t>(std::max(1, options.handler_threads))),
        contexts(MakeContexts(std::max(1, options.network_threads))),
        ioc(*contexts.front()),
        acceptor(ioc),
        signals(ioc) {}

  // One single-threaded io_context per network thread, each connection pinned to one of them: no
  // lock is shared between network threads on the request path (a shared multi-threaded
  // io_context halved requests per CPU-second in measurements).
  static std::vector<std::unique_ptr<asio::io_context>> MakeContexts(int n) {
    std::vector<std::unique_ptr<asio::io_context>> out;
    for (int i = 0; i < n; ++i) out.push_back(std::make_unique<asio::io_context>(1));
    return out;
  }

  ~Impl() {
    // Handlers still running on the pool post their completion to `ioc`; wait for them before the
    // io_context goes away.
    pool.join();
  }

  // State for one request being processed; lives in the connection coroutine.
  struct Exchange {
    Request request;
    std::string route = "unmatched";
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    bool head = false;
  };

  template <class Stream>
  asio::awaitable<void> Session(std::shared_ptr<Connection<Stream>> conn, std::string remote);
  template <class Stream>
  asio::awaitable<bool> WriteResponse(Connection<Stream>& conn, Exchange& exchange, Response response,
                                      bool keep_alive);
  asio::awaitable<Response> RunHandler(const Request& request);
  std::optional<Response> RunInline(const Request& request);
  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> Shutdown();
  void Register(uint64_t id, const std::shared_ptr<ConnectionBase>& conn);
  void Unregister(uint64_t id);

  ServerOptions options;
  const Router& router;
  common::Metrics& metrics;
  std::optional<asio::ssl::context> ssl_ctx;  // outlives every stream (declared before ioc)
  std::mutex connections_mutex;
  std::unordered_map<uint64_t, std::weak_ptr<ConnectionBase>> connections;
  uint64_t next_connection_id = 0;  // guarded by connections_mutex
  std::atomic<int> in_flight{0};
  std::atomic<bool> stopping{false};
  asio::thread_pool pool;
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  asio::io_context& ioc;    // contexts[0]: also runs the acceptor, signals and shutdown
  size_t next_context = 0;  // round-robin over contexts; touched only by the accept loop
  tcp::acceptor acceptor;
  asio::signal_set signals;
};

void Server::Impl::Register(uint64_t id, const std::shared_ptr<ConnectionBase>& conn) {
  std::lock_guard lock(connections_mutex);
  connections.emplace(id, conn);
}

void Server::Impl::Unregister(uint64_t id) {
  std::lock_guard lock(connections_mutex);
  connections.erase(id);
}

// CatchAll runs `dispatch` under the one catch-all per request (STYLE.md): a handler bug costs one
// 500, logged with the request id, not the process.
template <class T, class F>
T CatchAll(const Request& request, F&& dispatch) {
  try {
    return dispatch();
  } catch (const std::exception& e) {
    common::LogError("handler threw", {{"request_id", request.request_id}, {"what", e.what()}});
  } catch (...) {
    common::LogError("handler threw", {{"request_id", request.request_id}, {"what", "unknown"}});
  }
  return T(ErrorJson(500, "server_error", "internal error"));
}

std::optional<Response> Server::Impl::RunInline(const Request& request) {
  return CatchAll<std::optional<Response>>(request, [&] { return router.DispatchInline(request); });
}

asio::awaitable<Response> Server::Impl::RunHandler(const Request& request) {
  co_return CatchAll<Response>(request, [&] { return router.Dispatch(request); });
}

template <class Stream>
asio::awaitable<bool> Server::Impl::WriteResponse(Connection<Stream>& conn, Exchange& exchange,
                                                  Response response, bool keep_alive) {
  // The head is rendered into one string and sent with the body in one gather write (RFC 9112 §2.1,
  // §4, §5): cheaper than a field container and its serializer, and the hot path of every request.
  std::string head;
  head.reserve(512);
  head.append("HTTP/1.1 ");
  AppendDecimal(head, response.status);
  head.push_back(' ');
  // RFC 9112 §4: the reason phrase may be empty (for a code Beast has no phrase for).
  if (const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(response.status));
      reason != "<unknown-status>") {
    head.append(reason);
  }
  head.append("\r\n");
  for (const auto& [name, value] : response.headers) {
    // The server owns these; a handler's copy would duplicate them.
    if (common::EqualsIgnoreCase(name, "content-length") || common::EqualsIgnoreCase(name, "connection") ||
        common::EqualsIgnoreCase(name, "date") || common::EqualsIgnoreCase(name, "server")) {
      continue;
    }
    AppendHeader(head, name, value);
  }
  AppendHeader(head, "Server", "latchkey");
  AppendHeader(head, "Date", HttpDate());
  AppendHeader(head, "X-Request-Id", exchange.request.request_id);
  AppendHeader(head, "X-Content-Type-Options", "nosniff");
  AppendHeader(head, "Referrer-Policy", "no-referrer");
  if (!response.Header("Cache-Control")) AppendHeader(head, "Cache-Control", "no-store");
  auto content_type = response.Header("Content-Type");
  if (content_type && content_type->substr(0, 9) == "text/html") {
    // A page that needs more (a form posting to a client, a nonce script) sets its own policy.
    if (!response.Header("Content-Security-Policy")) AppendHeader(head, "Content-Security-Policy", kHtmlCsp);
    AppendHeader(head, "X-Frame-Options", "DENY");
  }
  if (exchange.request.tls) AppendHeader(head, "Strict-Transport-Security", "max-age=31536000");
  const size_t body_bytes = response.body.size();
  // HEAD (RFC 9110 §9.3.2): the GET headers, Content-Length included, and no content.
  head.append("Content-Length: ");
  AppendDecimal(head, body_bytes);
  head.append("\r\n");
  // RFC 9112 §9.6: "close" when this is the last response on the connection.
  if (!keep_alive) head.append("Connection: close\r\n");
  head.append("\r\n");

  // Logged and counted before the write so an observer that has the response also sees the metrics;
  // the duration therefore excludes sending.
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - exchange.start).count();
  const std::string status = std::to_string(response.status);
  // The path only: the query string can carry codes and tokens. Never headers or body.
  common::LogRequest({exchange.request.request_id, exchange.request.method, exchange.request.path,
                      exchange.route, exchange.request.remote_address, response.status,
                      exchange.head ? 0 : body_bytes, seconds * 1000.0, exchange.request.peer_address});
  metrics.Increment(kRequestsTotal,
                    {{"route", exchange.route}, {"method", exchange.request.method}, {"status", status}});
  metrics.Observe(kRequestDuration, {{"route", exchange.route}}, seconds);
  beast::get_lowest_layer(conn.stream).expires_after(options.read_timeout);
  const std::array<asio::const_buffer, 2> buffers = {
      asio::buffer(head), exchange.head ? asio::const_buffer() : asio::buffer(response.body)};
  auto [ec, written] = co_await asio::async_write(conn.stream, buffers, kAwait);
  co_return !ec;
}

template <class Stream>
asio::awaitable<void> Server::Impl::Session(std::shared_ptr<Connection<Stream>> conn, std::string remote) {
  const bool tls = options.tls.has_value();
  auto& lowest = beast::get_lowest_layer(conn->stream);
  uint64_t id;
  {
    std::lock_guard lock(connections_mutex);
    id = next_connection_id++;
  }
  Register(id, conn);
  struct Unregisterer {
    Impl* impl;
    uint64_t id;
    ~Unregisterer() { impl->Unregister(id); }
  } unregisterer{this, id};

  if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
    lowest.expires_after(options.read_timeout);
    auto [ec] = co_await conn->stream.async_handshake(asio::ssl::stream_base::server, kAwait);
    if (ec) co_return;
  }

  beast::flat_buffer buffer;
  TokenBucket bucket(options.max_requests_per_second_per_connection);
  bool first = true;
  for (;;) {
    if (stopping.load()) break;
    // Wait for the first byte of the next request under the idle deadline; the whole request then
    // has read_timeout. A slow-loris client trickling bytes hits the read deadline and is cut off.
    if (first) {
      lowest.expires_after(options.read_timeout);
    } else {
      lowest.expires_after(options.idle_timeout);
    }
    if (buffer.size() == 0) {
      conn->idle = true;
      auto [ec, n] = co_await conn->stream.async_read_some(buffer.prepare(4096), kAwait);
      conn->idle = false;
      if (ec) break;  // eof, timeout, closed by shutdown: nothing to answer
      buffer.commit(n);
    }
    conn->idle = false;
    if (!first) lowest.expires_after(options.read_timeout);
    first = false;

    Exchange exchange;
    exchange.request.request_id = NewRequestId();
    exchange.request.remote_address = remote;
    exchange.request.peer_address = remote;
    exchange.request.tls = tls;

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(std::min<size_t>(options.max_header_bytes, UINT32_MAX)));
    parser.body_limit(options.max_body_bytes);
    auto [read_ec, read_n] = co_await bhttp::async_read(conn->stream, buffer, parser, kAwait);
    if (read_ec) {
      // Socket errors, timeouts and EOF mid-request: just close. Parse errors: answer, then close.
      if (read_ec.category() != bhttp::make_error_code(bhttp::error::end_of_stream).category() ||
          read_ec == bhttp::error::end_of_stream || read_ec == bhttp::error::partial_message) {
        break;
      }
      Response response;
      if (read_ec == bhttp::error::header_limit) {
        response = ErrorJson(431, "invalid_request", "request header fields too large");
      } else if (read_ec == bhttp::error::body_limit) {
        response = ErrorJson(413, "invalid_request", "request body too large");
      } else {
        response = ErrorJson(400, "invalid_request", "malformed HTTP request");
      }
      if (parser.is_header_done()) {
        exchange.request.method = std::string(parser.get().method_string());
        std::string_view target = parser.get().target();
        exchange.request.path = std::string(target.substr(0, target.find('?')));
      }
      co_await WriteResponse(*conn, exchange, std::move(response), false);
      break;
    }

    auto req = parser.release();
    Request& request = exchange.request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    const size_t question = request.target.find('?');
    request.path = request.target.substr(0, question);
    request.query = question == std::string::npos ? std::string() : request.target.substr(question + 1);
    request.headers.reserve(static_cast<size_t>(std::distance(req.begin(), req.end())));
    for (const auto& field : req) {
      request.headers.emplace_back(common::ToLower(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(req.body());
    if (!options.trusted_proxies.empty()) {
      // Behind a trusted reverse proxy, the client is the one its X-Forwarded-For names; from any
      // other peer the header is ignored (ClientAddress decides both).
      std::vector<std::string_view> forwarded_for;
      for (const auto& [name, value] : request.headers) {
        if (name == "x-forwarded-for") forwarded_for.emplace_back(value);
      }
      request.remote_address = ClientAddress(request.peer_address, forwarded_for, options.trusted_proxies);
    }
    exchange.head = request.method == "HEAD";
    exchange.route = std::string(router.RouteName(request.path));
    bool keep_alive = req.keep_alive();

    Response response;
    std::optional<Response> inline_response;
    if (!bucket.TryTake()) {
      response = ErrorJson(429, "temporarily_unavailable", "too many requests on this connection");
      response.SetHeader("Retry-After", "1");
      keep_alive = false;
    } else if ((inline_response = RunInline(request))) {
      response = std::move(*inline_response);
    } else if (in_flight.fetch_add(1) >= options.max_in_flight) {
      // Past the cap: refuse now rather than queue without bound.
      in_flight.fetch_sub(1);
      response = ErrorJson(503, "temporarily_unavailable", "server busy");
      response.SetHeader("Retry-After", "1");
    } else {
      response = co_await asio::co_spawn(
          pool, [this, &request]() -> asio::awaitable<Response> { return RunHandler(request); },
          asio::use_awaitable);
      in_flight.fetch_sub(1);
    }
    if (stopping.load()) keep_alive = false;
    bool written = co_await WriteResponse(*conn, exchange, std::move(response), keep_alive);
    if (!written || !keep_alive) break;
  }

  // Orderly close: TLS close_notify (bounded), then FIN.
  if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
    if (lowest.socket().is_open()) {
      lowest.expires_after(std::chrono::seconds(1));
      co_await conn->stream.async_shutdown(kAwait);
    }
  }
  beast::error_code ec;
  lowest.socket().shutdown(tcp::socket::shutdown_send, ec);
  lowest.socket().close(ec);
}

asio::awaitable<void> Server::Impl::AcceptLoop() {
  for (;;) {
    auto& context = *contexts[next_context++ % contexts.size()];
    auto [ec, socket] = co_await acceptor.async_accept(context.get_executor(), kAwait);
    if (ec) {
      if (stopping.load() || !acceptor.is_open()) co_return;
      continue;  // e.g. a connection reset before accept, or EMFILE: keep serving
    }
    beast::error_code ep_ec;
    auto endpoint = socket.remote_endpoint(ep_ec);
    std::string remote = ep_ec ? std::string() : endpoint.address().to_string();
    auto executor = socket.get_executor();
    if (ssl_ctx) {
      auto conn =
          std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(std::move(socket), *ssl_ctx);
      asio::co_spawn(executor, Session(std::move(conn), std::move(remote)), asio::detached);
    } else {
      auto conn = std::make_shared<Connection<beast::tcp_stream>>(std::move(socket));
      asio::co_spawn(executor, Session(std::move(conn), std::move(remote)), asio::detached);
    }
  }
}

asio::awaitable<void> Server::Impl::Shutdown() {
  if (stopping.exchange(true)) co_return;
  common::LogInfo("shutting down", {{"grace_seconds", options.shutdown_grace.count()}});
  beast::error_code ec;
  acceptor.close(ec);
  signals.cancel(ec);
  const auto deadline = std::chrono::steady_clock::now() + options.shutdown_grace;
  asio::steady_timer timer(ioc);
  for (;;) {
    // Close connections waiting for a next request; busy ones close after their response. Repeat,
    // since a connection can turn idle between rounds.
    std::vector<std::shared_ptr<ConnectionBase>> live;
    {
      std::lock_guard lock(connections_mutex);
      for (auto& [id, weak] : connections) {
        if (auto conn = weak.lock()) live.push_back(std::move(conn));
      }
    }
    if (live.empty() || std::chrono::steady_clock::now() >= deadline) break;
    for (auto& conn : live) {
      auto executor = conn->Executor();
      asio::post(executor, [c = std::move(conn)] { c->CloseIfIdle(); });
    }
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(kAwait);
  }
  for (auto& context : contexts) context->stop();
}

Server::Server(ServerOptions options, const Router& router, common::Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), router, metrics)) {
  metrics.Describe(kRequestsTotal, "counter", "HTTP requests by route, method and status.");
  metrics.Describe(kRequestDuration, "histogram", "HTTP request duration in seconds by route.");
}

Server::~Server() = default;

common::Result<uint16_t, StartError> Server::Start() {
  Impl& impl = *impl_;
  if (impl.options.tls) {
    asio::ssl::context ctx(asio::ssl::context::tls_server);
    beast::error_code ec;
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                        asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                    ec);
    if (!ec) ctx.use_certificate_chain_file(impl.options.tls->cert_file, ec);
    if (!ec) ctx.use_private_key_file(impl.options.tls->key_file, asio::ssl::context::pem, ec);
    if (ec) {
      common::LogError("tls config", {{"error", ec.message()}});
      return StartError::kTlsConfig;
    }
    impl.ssl_ctx.emplace(std::move(ctx));
  }

  beast::error_code ec;
  tcp::endpoint endpoint;
  auto address = asio::ip::make_address(impl.options.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, impl.options.port);
  } else {
    tcp::resolver resolver(impl.ioc);
    auto results = resolver.resolve(impl.options.host, std::to_string(impl.options.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) {
      common::LogError("bind failed", {{"host", impl.options.host}, {"error", ec.message()}});
      return StartError::kBindFailed;
    }
    endpoint = results.begin()->endpoint();
  }
  impl.acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(endpoint, ec);
  if (!ec) impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    common::LogError("bind failed",
                     {{"host", impl.options.host}, {"port", impl.options.port}, {"error", ec.message()}});
    beast::error_code ignored;
    impl.acceptor.close(ignored);
    return StartError::kBindFailed;
  }
  uint16_t port = impl.acceptor.local_endpoint(ec).port();
  common::LogInfo("socket bound",
                  {{"host", impl.options.host}, {"port", port}, {"tls", impl.ssl_ctx.has_value()}});
  return port;
}

void Server::Run() {
  Impl& impl = *impl_;
  impl.signals.add(SIGINT);
  impl.signals.add(SIGTERM);
  impl.signals.async_wait([&impl](const beast::error_code& ec, int) {
    if (!ec) asio::co_spawn(impl.ioc, impl.Shutdown(), asio::detached);
  });
  asio::co_spawn(impl.ioc, impl.AcceptLoop(), asio::detached);

  std::vector<std::thread> threads;
  for (size_t i = 1; i < impl.contexts.size(); ++i) {
    threads.emplace_back([context = impl.contexts[i].get()] {
      // Keep running while idle; Shutdown() stops every context.
      auto guard = asio::make_work_guard(*context);
      context->run();
    });
  }
  impl.ioc.run();
  for (auto& thread : threads) thread.join();
  // Handlers that outlived the grace period still finish; their completions are dropped.
  impl.pool.join();
}

void Server::Stop() {
  asio::post(impl_->ioc,
             [impl = impl_.get()] { asio::co_spawn(impl->ioc, impl->Shutdown(), asio::detached); });
}

}  // namespace latchkey::http
