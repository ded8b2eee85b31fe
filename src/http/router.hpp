#pragma once

// Router: exact-path routing with per-route allowed methods (405 + Allow otherwise, RFC 9110
// §15.5.6) and 404 for unknown paths.

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/message.hpp"

namespace latchkey::http {

class Router {
 public:
  // Add registers `handler` for exact `path` and `methods` (HEAD is implied by GET). The handler
  // runs on the handler pool and may block (database, password hashing).
  // `name` labels the route in metrics and logs (defaults to the path).
  void Add(std::string path, std::vector<std::string> methods, Handler handler, std::string name = {});

  // AddInline registers a handler that runs on the network thread that read the request, saving
  // two thread hand-offs. It must never block: bounded CPU work on in-memory data only (serving a
  // cached document, signing a token), no I/O and no long-held locks.
  void AddInline(std::string path, std::vector<std::string> methods, Handler handler, std::string name = {});

  // InlineAttempt: a network-thread handler that answers what it can without blocking and returns
  // nullopt for the rest, which then runs on the handler pool.
  using InlineAttempt = std::function<std::optional<Response>(const Request&)>;

  // AddSplit registers a route whose requests first go to `attempt` on the network thread (same
  // rules as AddInline) and, when it declines, to `handler` on the pool (e.g. the token endpoint:
  // client_credentials signs in memory, the code and refresh grants read the database).
  void AddSplit(std::string path, std::vector<std::string> methods, InlineAttempt attempt, Handler handler,
                std::string name = {});

  // DispatchInline answers what can be answered on the network thread: unknown paths (404), wrong
  // methods (405) and inline routes. nullopt means "run Dispatch on the handler pool".
  std::optional<Response> DispatchInline(const Request& request) const;

  // Dispatch runs the matching handler, or returns 404/405 JSON errors.
  Response Dispatch(const Request& request) const;

  // RouteName returns the metrics label for `path` ("unmatched" for unknown paths).
  std::string_view RouteName(std::string_view path) const;

 private:
  struct Route {
    std::vector<std::string> methods;
    Handler handler;
    std::string name;
    bool inline_handler = false;
    InlineAttempt attempt;  // AddSplit only
  };
  // Find returns the route for `request`, or the 404/405 response to send instead.
  const Route* Find(const Request& request, Response& refusal) const;
  std::unordered_map<std::string, Route> routes_;
};

}  // namespace latchkey::http
