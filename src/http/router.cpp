#include "http/router.hpp"

#include <algorithm>

#include "common/strings.hpp"

namespace latchkey::http {

namespace {

bool Allows(const std::vector<std::string>& methods, std::string_view method) {
  if (std::find(methods.begin(), methods.end(), method) != methods.end()) return true;
  // RFC 9110 §9.3.2: a server that answers GET should answer HEAD the same way (minus the body,
  // which the server strips).
  return method == "HEAD" && std::find(methods.begin(), methods.end(), "GET") != methods.end();
}

std::string AllowHeader(const std::vector<std::string>& methods) {
  std::vector<std::string> allowed = methods;
  const bool has_get = std::find(allowed.begin(), allowed.end(), "GET") != allowed.end();
  const bool has_head = std::find(allowed.begin(), allowed.end(), "HEAD") != allowed.end();
  if (has_get && !has_head) allowed.emplace_back("HEAD");
  return common::Join(allowed, ", ");
}

}  // namespace

void Router::Add(std::string path, std::vector<std::string> methods, Handler handler, std::string name) {
  if (name.empty()) name = path;
  routes_[std::move(path)] = Route{std::move(methods), std::move(handler), std::move(name)};
}

Response Router::Dispatch(const Request& request) const {
  auto it = routes_.find(request.path);
  if (it == routes_.end()) return Response::Json(404, R"({"error":"not_found"})");
  const Route& route = it->second;
  if (!Allows(route.methods, request.method)) {
    // RFC 9110 §15.5.6: a 405 response MUST carry Allow with the route's methods.
    Response response =
        Response::Json(405, R"({"error":"invalid_request","error_description":"method not allowed"})");
    response.SetHeader("Allow", AllowHeader(route.methods));
    return response;
  }
  return route.handler(request);
}

std::string_view Router::RouteName(std::string_view path) const {
  auto it = routes_.find(std::string(path));
  if (it == routes_.end()) return "unmatched";
  return it->second.name;
}

}  // namespace latchkey::http
