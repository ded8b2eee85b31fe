#pragma once

// Plain request/response structs: what the protocol side of Latchkey sees of HTTP. No Beast here.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace latchkey::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Request: one parsed HTTP/1.1 request. Header names are lowercased; order and repeats kept.
struct Request {
  std::string method;  // "GET", "POST", ... as sent
  std::string target;  // request-target as sent (path + "?" + query)
  std::string path;    // target before '?', not decoded
  std::string query;   // target after '?', not decoded ("" when absent)
  Headers headers;
  std::string body;
  // remote_address: the client's IP. The TCP peer's, unless the peer is a trusted reverse proxy
  // (ServerOptions::trusted_proxies): then the client X-Forwarded-For names (http/forwarded.hpp).
  // Keys per-address rate limits and goes into audit events.
  std::string remote_address;
  std::string peer_address;  // the TCP peer's IP (the proxy, when there is one)
  std::string request_id;    // unique per request, echoed as X-Request-Id
  bool tls = false;

  // Header returns the first value of header `name` (lowercase), or nullopt.
  std::optional<std::string_view> Header(std::string_view name) const;
  // HeaderCount returns how many times header `name` (lowercase) occurs.
  size_t HeaderCount(std::string_view name) const;
};

// Response: what a handler returns. The server adds Content-Length, Date, X-Request-Id and the
// security headers; a handler sets Content-Type and any Cache-Control of its own (default:
// "no-store").
struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  // SetHeader replaces any header named `name` (case-insensitive) with one value.
  void SetHeader(std::string_view name, std::string value);
  // AddHeader appends one more header `name`, keeping any already present: for fields that may
  // repeat, above all Set-Cookie (RFC 6265 §3: never folded into one line). The server writes
  // every entry of `headers`.
  void AddHeader(std::string name, std::string value);
  std::optional<std::string_view> Header(std::string_view name) const;

  static Response Json(int status, std::string body);
  static Response Text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  static Response Html(int status, std::string body);
};

// Handler: a synchronous function from request to response. Runs on the handler pool, never on a
// network thread; may block on the database. Must not throw for bad input (the server turns an
// escaped exception into a 500 and logs it).
using Handler = std::function<Response(const Request&)>;

}  // namespace latchkey::http
