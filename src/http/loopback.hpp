#pragma once

// LoopbackRedirect: the receiving end of a native app's authorization redirect (RFC 8252 §7.3): a
// one-shot HTTP/1.1 listener on 127.0.0.1 that waits for the browser to GET the redirect URI and
// hands back its query string. Boost.Asio stays inside loopback.cpp.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace latchkey::http {

// LoopbackError: why a LoopbackRedirect call failed. `message` is short and safe to show.
struct LoopbackError {
  enum class Code {
    kCannotListen,  // Start: the port is taken, or no socket could be opened
    kWrongState,    // Start called twice; WaitForQuery without a successful Start, or twice
    kTimedOut,      // WaitForQuery: nothing acceptable arrived in time
    kAcceptFailed,  // WaitForQuery: the listener broke (out of file descriptors, ...)
  };
  Code code = Code::kCannotListen;
  std::string message;
};

// LoopbackRedirect listens on the IPv4 loopback address only (RFC 8252 §8.3: the literal
// 127.0.0.1, not "localhost", so no resolver or other interface is involved). Not thread-safe: one
// thread calls Start, then WaitForQuery once.
//
//   http::LoopbackRedirect listener;
//   auto port = listener.Start(0);  // redirect_uri = "http://127.0.0.1:" + port + "/callback"
//   auto query = listener.WaitForQuery("/callback", 300s, [&](std::string_view q) { ... });
class LoopbackRedirect {
 public:
  LoopbackRedirect();
  ~LoopbackRedirect();
  LoopbackRedirect(const LoopbackRedirect&) = delete;
  LoopbackRedirect& operator=(const LoopbackRedirect&) = delete;

  // Start binds 127.0.0.1:`port` (0: a free port the system picks) and starts listening; returns
  // the bound port. Fails when the port is taken or the socket cannot be opened ("cannot listen on
  // 127.0.0.1:PORT: ..."), kCannotListen; kWrongState when called twice.
  common::Result<uint16_t, LoopbackError> Start(uint16_t port);

  // WaitForQuery serves connections until a GET of exactly `path` arrives whose query `accept`
  // approves, answers it with a small HTML page telling the person to close the window, and
  // returns that query (the request-target after '?', still percent-encoded; "" when none). Every
  // other request gets an error page and the wait goes on: 404 for another path, 405 for another
  // method, 400 when `accept` says no. `accept` is how the caller ignores requests that did not
  // come from its own authorization request (another web page or local process can reach a
  // loopback port; RFC 8252 §8.10), typically by comparing the `state` parameter.
  //
  // Each connection carries one request (Connection: close), with a header limit of 8 KiB and 10 s
  // to send it; at most 16 are open at once. Fails with kTimedOut ("timed out") when `timeout`
  // passes first, kWrongState without a successful Start, kAcceptFailed when accepting fails for
  // good. Blocks the calling thread; closes the listener and
  // every connection before returning, so it can be called only once.
  common::Result<std::string, LoopbackError> WaitForQuery(
      std::string_view path, std::chrono::milliseconds timeout,
      const std::function<bool(std::string_view query)>& accept);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace latchkey::http
