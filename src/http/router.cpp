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

void Router::AddInline(std::string path, std::vector<std::string> methods, Handler handler,
                       std::string name) {
  if (name.empty()) name = path;
  routes_[std::move(path)] = Route{std::move(methods), std::move(handler), std::move(name), true};
}

void Router::AddSplit(std::string path, std::vector<std::string> methods, InlineAttempt attempt,
                      Handler handler, std::string name) {
  if (name.empty()) name = path;
  Route route{std::move(methods), std::move(handler), std::move(name)};
  route.attempt = std::move(attempt);
  routes_[std::move(path)] = std::move(route);
}

const Router::Route* Router::Find(const Request& request, Response& refusal) const {
  auto it = routes_.find(request.path);
  if (it == routes_.end()) {
    refusal = Response::Json(404, R"({"error":"not_found"})");
    return nullptr;
  }
  const Route& route = it->second;
  if (!Allows(route.methods, request.method)) {
    // RFC 9110 §15.5.6: a 405 response MUST carry Allow with the route's methods.
    refusal = Response::Json(405, R"({"error":"invalid_request","error_description":"method not allowed"})");
    refusal.SetHeader("Allow", AllowHeader(route.methods));
    return nullptr;
  }
  return &route;
}

std::optional<Response> Router::DispatchInline(const Request& request) const {
  Response refusal;
  const Route* route = Find(request, refusal);
  if (route == nullptr) return refusal;
  if (route->attempt) return route->attempt(request);
  if (!route->inline_handler) return std::nullopt;
  return route->handler(request);
}

Response Router::Dispatch(const Request& request) const {
  Response refusal;
  const Route* route = Find(request, refusal);
  if (route == nullptr) return refusal;
  return route->handler(request);
}

std::string_view Router::RouteName(std::string_view path) const {
  auto it = routes_.find(std::string(path));
  if (it == routes_.end()) return "unmatched";
  return it->second.name;
}

}  // namespace latchkey::http
