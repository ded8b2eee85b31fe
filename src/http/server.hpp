#pragma once

// Server: the HTTP/1.1 listener (Boost.Beast/Asio; the only place that touches sockets).
//
// One C++20 coroutine per connection on a fixed number of network threads; handlers run on a
// separate fixed pool with a cap on requests in flight (503 + Retry-After past it, never an
// unbounded queue); limits on header and body size, per-connection request rate, and read/idle
// timeouts (a slow client cannot hold a thread: sockets are async and every read has a deadline);
// graceful shutdown on SIGTERM/SIGINT (stop accepting, finish in-flight requests, close).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/metrics.hpp"
#include "common/result.hpp"
#include "http/forwarded.hpp"
#include "http/router.hpp"

namespace latchkey::http {

struct TlsOptions {
  std::string cert_file;  // PEM certificate chain
  std::string key_file;   // PEM private key
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: pick a free port (see Server::port())
  int network_threads = 1;
  int handler_threads = 2;
  int max_in_flight = 1024;  // requests queued or running on the handler pool
  size_t max_header_bytes = 8 * 1024;
  size_t max_body_bytes = 64 * 1024;
  std::chrono::seconds read_timeout{10};              // whole request (headers + body) must arrive in this
  std::chrono::seconds idle_timeout{30};              // keep-alive connection with no request
  int max_requests_per_second_per_connection = 5000;  // token bucket; 429 and close past it
  std::optional<TlsOptions> tls;
  std::chrono::seconds shutdown_grace{10};
  // Reverse proxies whose X-Forwarded-For is believed (ClientAddress in http/forwarded.hpp);
  // empty: the header is ignored and every request's address is its TCP peer's.
  std::vector<IpRange> trusted_proxies;
};

// Error: why the server could not start.
enum class StartError { kNone = 0, kBindFailed, kTlsConfig };

class Server {
 public:
  // `router` and `metrics` must outlive the server.
  Server(ServerOptions options, const Router& router, common::Metrics& metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Start binds and listens; returns the bound port. Does not block.
  common::Result<uint16_t, StartError> Start();

  // Run serves until Stop() or SIGTERM/SIGINT, then drains in-flight requests (up to
  // shutdown_grace) and returns.
  void Run();

  // Stop asks Run to return (thread-safe, callable from a signal-free context or another thread).
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace latchkey::http
