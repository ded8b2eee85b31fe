#include "http/client.hpp"

#include <algorithm>
#include <array>
#include <exception>
#include <optional>
#include <string_view>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include "common/strings.hpp"

namespace latchkey::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using ClientResult = common::Result<OutboundResponse, std::string>;
using BeastRequest = bhttp::request<bhttp::string_body>;

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr size_t kReadChunk = 16 * 1024;

// Target: the parts of an OutboundRequest::url that the exchange needs.
struct Target {
  bool tls = false;
  std::string host;         // decoded, IPv6 without brackets: for resolution, SNI and verification
  bool host_is_ip = false;  // RFC 6066 §3: no SNI for IP literals
  std::string port;         // decimal
  std::string host_header;  // RFC 9110 §7.2: uri-host [ ":" port ] as written in the URL
  std::string request_target;
};

ClientResult Fail(std::string_view step, const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return std::string(step) + ": timed out";
  return std::string(step) + " failed: " + ec.message();
}

common::Result<Target, std::string> ParseTarget(std::string_view url) {
  // absolute-URI = scheme ":" hier-part [ "?" query ] (RFC 3986 §4.3): no fragment.
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return std::string("malformed url");
  Target target;
  if (parsed->scheme_id() == boost::urls::scheme::https) {
    target.tls = true;
  } else if (parsed->scheme_id() != boost::urls::scheme::http) {
    return std::string("url scheme must be http or https");
  }
  // Credentials in a URL would be sent nowhere (we do no HTTP authentication) and invite
  // https://trusted@evil.example/ confusion in logs.
  if (parsed->has_userinfo()) return std::string("url must not contain user information");
  switch (parsed->host_type()) {
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6: target.host_is_ip = true; break;
    case boost::urls::host_type::name:
      // A percent-escaped DNS name could decode to bytes (NUL, '/') that the resolver, SNI and
      // certificate matching would each read differently.
      if (parsed->encoded_host().empty() || parsed->encoded_host().find('%') != std::string_view::npos) {
        return std::string("malformed url host");
      }
      break;
    default: return std::string("malformed url host");
  }
  target.host = parsed->host_address();
  target.port = target.tls ? "443" : "80";
  target.host_header = std::string(parsed->encoded_host());
  if (parsed->has_port() && !parsed->port().empty()) {
    if (parsed->port_number() == 0) return std::string("malformed url port");
    target.port = std::to_string(parsed->port_number());
    target.host_header += ":" + target.port;
  }
  target.request_target = std::string(parsed->encoded_target());
  if (target.request_target.empty() || target.request_target.front() != '/') {
    target.request_target.insert(0, "/");
  }
  return target;
}

// IsToken: field-name = token (RFC 9110 §5.1, §5.6.2).
bool IsToken(std::string_view name) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           kSpecials.find(c) != std::string_view::npos;
  });
}

common::Result<BeastRequest, std::string> BuildRequest(const OutboundRequest& request, const Target& target) {
  static constexpr std::array<std::string_view, 5> kReserved = {"host", "content-type", "content-length",
                                                                "transfer-encoding", "connection"};
  BeastRequest out{bhttp::verb::post, target.request_target, 11};
  out.set(bhttp::field::host, target.host_header);
  out.set(bhttp::field::user_agent, "latchkey");
  out.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
  out.set(bhttp::field::accept, "*/*");
  out.set(bhttp::field::connection, "close");
  for (const auto& [name, value] : request.headers) {
    // Framing headers stay ours: a second Content-Length or Transfer-Encoding would let the
    // request be read two ways (request smuggling, RFC 9112 §6.3, §11.2).
    const std::string lower = common::ToLower(name);
    if (std::find(kReserved.begin(), kReserved.end(), lower) != kReserved.end()) {
      return std::string("reserved request header");
    }
    // CR or LF in a name or value would start a new header line (header injection).
    if (!IsToken(name) || value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return std::string("malformed request header");
    }
    out.insert(name, value);
  }
  out.body() = request.body;
  out.prepare_payload();
  return out;
}

// TlsClientContext: one verifying client context for the process. An SSL_CTX may be shared by
// streams on any thread once configured.
struct TlsClientContext {
  asio::ssl::context context{asio::ssl::context::tls_client};
  boost::system::error_code error;

  // ca_file: PEM trust anchors; "": the system's default verify paths.
  explicit TlsClientContext(const std::string& ca_file) {
    context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                            asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                            asio::ssl::context::no_tlsv1_1 | asio::ssl::context::no_compression,
                        error);
    if (!error && ca_file.empty()) context.set_default_verify_paths(error);
    if (!error && !ca_file.empty()) context.load_verify_file(ca_file, error);
    if (!error) context.set_verify_mode(asio::ssl::verify_peer, error);
  }
};

TlsClientContext& SystemTlsContext() {
  static TlsClientContext tls("");
  return tls;
}

// WriteAndRead sends `request` and reads one response, keeping at most `max_body` bytes of its
// body: the body is read in chunks into a fixed buffer so a huge or endless response costs no
// more memory than the limit.
template <class Stream>
asio::awaitable<ClientResult> WriteAndRead(Stream& stream, const BeastRequest& request, size_t max_body) {
  auto [write_ec, written] = co_await bhttp::async_write(stream, request, kAwait);
  if (write_ec) co_return Fail("write", write_ec);

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.body_limit(boost::none);  // we stop reading ourselves at max_body
  auto [header_ec, header_bytes] = co_await bhttp::async_read_header(stream, buffer, parser, kAwait);
  if (header_ec) co_return Fail("read", header_ec);

  OutboundResponse response;
  response.status = static_cast<int>(parser.get().result_int());
  std::string chunk(kReadChunk, '\0');
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    auto [read_ec, read_bytes] = co_await bhttp::async_read(stream, buffer, parser, kAwait);
    if (read_ec == bhttp::error::need_buffer) read_ec = {};
    if (read_ec) co_return Fail("read", read_ec);
    const size_t got = chunk.size() - parser.get().body().size;
    const size_t room = max_body - response.body.size();
    response.body.append(chunk.data(), std::min(got, room));
    if (got > room) {
      response.body_truncated = true;
      break;
    }
  }
  co_return response;
}

asio::awaitable<ClientResult> Exchange(const Target& target, const BeastRequest& request,
                                       const OutboundRequest& options, Clock::time_point deadline) {
  const size_t max_body = options.max_body_bytes;
  auto executor = co_await asio::this_coro::executor;
  // A synchronous resolve: it blocks this (the caller's) thread either way, and the asynchronous
  // one would start a private resolver thread per call.
  tcp::resolver resolver(executor);
  boost::system::error_code resolve_ec;
  auto endpoints = resolver.resolve(target.host, target.port, tcp::resolver::numeric_service, resolve_ec);
  if (resolve_ec) co_return Fail("resolve", resolve_ec);
  if (Clock::now() >= deadline) co_return std::string("resolve: timed out");

  beast::tcp_stream stream(executor);
  // One deadline for every later step: a peer that trickles bytes cannot extend it.
  stream.expires_at(deadline);
  auto [connect_ec, endpoint] = co_await stream.async_connect(endpoints, kAwait);
  if (connect_ec) co_return Fail("connect", connect_ec);
  if (!target.tls) co_return co_await WriteAndRead(stream, request, max_body);

  // A private trust store gets its own context (loaded per call: rare, and never cached stale).
  std::optional<TlsClientContext> own_tls;
  if (!options.ca_file.empty()) own_tls.emplace(options.ca_file);
  TlsClientContext& tls = own_tls ? *own_tls : SystemTlsContext();
  if (tls.error) co_return Fail("tls setup", tls.error);
  beast::ssl_stream<beast::tcp_stream> tls_stream(std::move(stream), tls.context);
  tls_stream.next_layer().expires_at(deadline);
  if (!target.host_is_ip && !SSL_set_tlsext_host_name(tls_stream.native_handle(), target.host.c_str())) {
    co_return std::string("tls setup failed: cannot set server name");
  }
  // Verification on with the host name checked: without it any certificate from any trusted CA
  // (or a self-signed one) would let an on-path attacker read the request.
  boost::system::error_code verify_ec;
  tls_stream.set_verify_mode(asio::ssl::verify_peer, verify_ec);
  if (!verify_ec) tls_stream.set_verify_callback(asio::ssl::host_name_verification(target.host), verify_ec);
  if (verify_ec) co_return Fail("tls setup", verify_ec);
  auto [handshake_ec] = co_await tls_stream.async_handshake(asio::ssl::stream_base::client, kAwait);
  if (handshake_ec) co_return Fail("tls handshake", handshake_ec);
  co_return co_await WriteAndRead(tls_stream, request, max_body);
}

}  // namespace

common::Result<OutboundResponse, std::string> PostForm(const OutboundRequest& request) {
  const Clock::time_point deadline = Clock::now() + request.timeout;
  auto target = ParseTarget(request.url);
  if (!target) return target.error();
  auto beast_request = BuildRequest(request, *target);
  if (!beast_request) return beast_request.error();

  asio::io_context ioc(1);
  std::optional<ClientResult> result;
  asio::co_spawn(ioc, Exchange(*target, *beast_request, request, deadline),
                 [&result](std::exception_ptr error, ClientResult value) {
                   // Only allocation failure or an Asio bug throws here; report it like any
                   // other failed delivery rather than unwinding through the caller's worker.
                   result = error ? ClientResult(std::string("internal error")) : std::move(value);
                 });
  ioc.run();
  if (!result) return std::string("internal error");
  return std::move(*result);
}

}  // namespace latchkey::http
