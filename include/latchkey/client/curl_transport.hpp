#pragma once

// CurlTransport: the ready-made Transport, over libcurl (HTTP/1.1, and HTTP/2 over TLS when the
// installed libcurl supports it).
//
// What it always does, with no switch to turn it off:
//   - verifies the server's TLS certificate chain and that the certificate names the URL's host
//     (RFC 6125); TLS 1.2 is the oldest version it accepts;
//   - speaks http and https only; a URL with any other scheme is refused before anything is sent;
//   - never follows redirects: a 3xx answer is returned as it is. An OAuth client must not follow
//     a redirect from a token, revocation or discovery endpoint (the redirect would replay the
//     client's credentials and the grant somewhere else);
//   - never asks for compressed bodies (no Accept-Encoding), so the body limit counts the bytes
//     the app gets and a small compressed answer cannot inflate past it.
//
// Usage:
//   latchkey::client::CurlTransport transport;  // system trust store, 5 s / 15 s timeouts
//   latchkey::client::Provider provider(options, transport, clock);
//
// Thread safety: Send may be called from any number of threads at once. The destructor must not
// run while a Send is in progress.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "latchkey/client/error.hpp"
#include "latchkey/client/transport.hpp"

namespace latchkey::client {

// CurlOptions: how a CurlTransport connects. The defaults suit a client talking to a public
// provider over the Internet.
struct CurlOptions {
  // ca_file: a PEM file of trust anchors used instead of libcurl's default trust store (a private
  // CA, tests). "": the default store libcurl was built with (on Linux the system bundle).
  std::string ca_file;
  // ca_path: a directory of hashed PEM trust anchors (`openssl rehash`), used with or instead of
  // ca_file. "": libcurl's default.
  std::string ca_path;
  // proxy: the proxy for every request, as libcurl understands it ("http://proxy.internal:3128",
  // "socks5h://127.0.0.1:1080"). "": libcurl reads the http_proxy, https_proxy, all_proxy and
  // no_proxy environment variables (lowercase http_proxy only: the uppercase one is ignored, so a
  // CGI-set HTTP_PROXY header cannot redirect traffic).
  std::string proxy;
  // no_proxy: comma-separated host names, domains and IP ranges reached directly, bypassing the
  // proxy ("*" for all). When not empty it replaces the no_proxy environment variable.
  std::string no_proxy;
  // connect_timeout: the most time to resolve, connect and finish the TLS handshake.
  // Zero: libcurl's built-in default (300 s).
  std::chrono::milliseconds connect_timeout{5000};
  // timeout: the most time for the whole exchange, connecting included. Zero: no limit (avoid).
  std::chrono::milliseconds timeout{15000};
  // max_response_bytes: the largest response body accepted; a larger one fails the Send with
  // kTransport "response larger than N bytes" (the transfer stops; no truncated body is returned). The
  // response headers are held to the same limit separately.
  size_t max_response_bytes = 1 << 20;
  // user_agent: the User-Agent header sent with each request unless the request has its own.
  // "": none.
  std::string user_agent = "latchkey-client/0.1";
};

// CurlTransport sends requests with libcurl. It keeps a few idle libcurl handles, and with them
// their open connections, between requests, so consecutive requests to the same provider reuse
// one TLS connection.
class CurlTransport final : public Transport {
 public:
  // CurlTransport copies `options` and, the first time one is made in the process, initialises
  // libcurl (once, thread-safely). libcurl's global state is never cleaned up: it lives until the
  // process exits. Nothing is connected until the first Send.
  explicit CurlTransport(CurlOptions options = {});
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  // Send performs `request` and returns the final answer: its status (any status, 3xx and errors
  // included), its headers (those of the final response only, not of any 1xx interim response or
  // proxy CONNECT answer; names as the server sent them, in order, repeats kept) and its body.
  //
  // Sent: request.method as the method, request.url, each of request.headers exactly (a header
  // libcurl would add itself, such as Accept or User-Agent, is replaced by one of the same name; an
  // empty value is sent as an empty field), and request.body when it is not empty, with its
  // Content-Length. A POST always sends a body: "Content-Length: 0" when it is empty. Content-Type
  // is sent only when the request has one. libcurl's own "Expect: 100-continue" is never added. A
  // HEAD answer is read without a body.
  //
  // Errors:
  //   kInvalidArgument: the URL is not an absolute http or https URL of the form scheme://host...
  //     (spaces and control characters are not repaired but refused), the method is not
  //     an RFC 9110 token, a HEAD request has a body, or a header name is not a token or its value
  //     holds CR, LF or NUL (header injection). Nothing is sent.
  //   kTransport: no answer: name resolution, connection, TLS verification, timeout, a reset
  //     connection, a malformed answer, or a body past max_response_bytes. The message names the
  //     failure and the URL's scheme://host:port only; it never carries the path, query, user
  //     information, headers or body of the request (they may hold codes and secrets).
  Result<HttpResponse> Send(const HttpRequest& request) override;

 private:
  struct Pool;
  const CurlOptions options_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace latchkey::client
