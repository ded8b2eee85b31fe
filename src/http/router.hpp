#pragma once

// Router: exact-path routing with per-route allowed methods (405 + Allow otherwise, RFC 9110
// §15.5.6) and 404 for unknown paths.

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/message.hpp"

namespace latchkey::http {

class Router {
 public:
  // Add registers `handler` for exact `path` and `methods` (HEAD is implied by GET).
  // `name` labels the route in metrics and logs (defaults to the path).
  void Add(std::string path, std::vector<std::string> methods, Handler handler, std::string name = {});

  // Dispatch runs the matching handler, or returns 404/405 JSON errors.
  Response Dispatch(const Request& request) const;

  // RouteName returns the metrics label for `path` ("unmatched" for unknown paths).
  std::string_view RouteName(std::string_view path) const;

 private:
  struct Route {
    std::vector<std::string> methods;
    Handler handler;
    std::string name;
  };
  std::unordered_map<std::string, Route> routes_;
};

}  // namespace latchkey::http
