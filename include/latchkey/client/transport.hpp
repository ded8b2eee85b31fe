#pragma once

// Transport and Clock: the two things the SDK needs from the outside world, as interfaces so that
// tests (and apps with their own HTTP stack) can supply them. CurlTransport
// (latchkey/client/curl_transport.hpp) is the ready-made HTTP implementation.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "latchkey/client/error.hpp"

namespace latchkey::client {

// Header: one HTTP header field. Names compare case-insensitively (RFC 9110 §5.1).
using Header = std::pair<std::string, std::string>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute http(s) URL
  std::vector<Header> headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  std::vector<Header> headers;
  std::string body;

  // HeaderValue returns the first value of header `name` (any case), or nullopt.
  std::optional<std::string_view> HeaderValue(std::string_view name) const;
};

// Transport sends one HTTP request and returns the answer. Any status is a successful Send; only a
// failure to get an answer (DNS, connection, TLS, timeout) is an error (ErrorCode::kTransport).
// Implementations must be thread-safe: the SDK calls Send from many threads at once.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

// Clock: seconds since the Unix epoch (JWT NumericDate). Injected so that expiry is testable.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowSeconds() const = 0;
};

// SystemClock reads the wall clock.
class SystemClock final : public Clock {
 public:
  int64_t NowSeconds() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace latchkey::client
