#pragma once

// Outbound HTTP/1.1 client: one synchronous form POST (Boost.Beast/Asio stay inside client.cpp).
// Used for server-to-server notifications such as OpenID Connect Back-Channel Logout 1.0 §2.5.

#include <chrono>
#include <cstddef>
#include <string>

#include "common/result.hpp"
#include "http/message.hpp"

namespace latchkey::http {

// OutboundRequest: one POST of an application/x-www-form-urlencoded body.
struct OutboundRequest {
  // url: an absolute http:// or https:// URL without user information or fragment. Its path and
  // query are sent as the request-target ("/" when the path is empty).
  std::string url;
  // body: already form-encoded (common::BuildForm). Sent with Content-Type
  // application/x-www-form-urlencoded.
  std::string body;
  // headers: extra request headers. Host, Content-Type, Content-Length, Transfer-Encoding and
  // Connection are set by PostForm; an extra header with one of those names is an error.
  Headers headers;
  // timeout: the total time for connecting, the TLS handshake, writing the request and reading the
  // response. Name resolution is not bounded by it (the system resolver cannot be cancelled; its
  // own limits from resolv.conf apply), but is counted against it.
  std::chrono::milliseconds timeout{5000};
  // max_body_bytes: the response body is truncated to this many bytes (the rest is not read).
  size_t max_body_bytes = 64 * 1024;
  // ca_file: a PEM file of trust anchors to verify https peers against instead of the system's
  // default trust store (a private CA; tests). "": the system default.
  std::string ca_file;
};

// OutboundResponse: what the peer answered. Any status, 3xx and error statuses included, is a
// response: redirects are never followed.
struct OutboundResponse {
  int status = 0;
  std::string body;             // at most max_body_bytes
  bool body_truncated = false;  // true when the peer sent more than max_body_bytes
};

// PostForm sends `request` as one HTTP/1.1 POST on a fresh connection ("Connection: close") and
// returns the peer's response, whatever its status. Fails with a short description (no URL, no
// body, safe to log) when the URL is malformed or not http/https, when an extra header is
// reserved or holds CR, LF or NUL, when resolving, connecting, the TLS handshake, writing or
// reading fails, or when `request.timeout` elapses. For https the peer certificate is verified
// against the system's default trust store and the URL's host name (or IP address, RFC 6125 §6),
// with SNI (RFC 6066 §3) for host names and TLS 1.2 or later (`ca_file` replaces the trust store). It does
// NOT follow redirects, retry, reuse connections, accept cookies or decode content encodings. Blocks the
// calling thread; thread-safe.
common::Result<OutboundResponse, std::string> PostForm(const OutboundRequest& request);

}  // namespace latchkey::http
