#include "http/router.hpp"

#include <gtest/gtest.h>

namespace latchkey::http {
namespace {

Request MakeRequest(std::string method, std::string path) {
  Request request;
  request.method = std::move(method);
  request.path = std::move(path);
  request.target = request.path;
  return request;
}

Router MakeRouter() {
  Router router;
  router.Add(
      "/hello", {"GET"}, [](const Request&) { return Response::Text(200, "hi"); }, "hello");
  router.Add("/token", {"POST"}, [](const Request& r) { return Response::Json(200, r.body); });
  return router;
}

TEST(Router, ExactMatchRunsHandler) {
  Router router = MakeRouter();
  Response response = router.Dispatch(MakeRequest("GET", "/hello"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "hi");
}

TEST(Router, UnknownPathIs404Json) {
  Router router = MakeRouter();
  for (const char* path : {"/nope", "/hello/", "/hell", "/Hello", ""}) {
    Response response = router.Dispatch(MakeRequest("GET", path));
    EXPECT_EQ(response.status, 404) << path;
    EXPECT_EQ(response.body, R"({"error":"not_found"})");
    EXPECT_EQ(response.Header("content-type"), "application/json");
  }
}

TEST(Router, WrongMethodIs405WithAllow) {
  Router router = MakeRouter();
  Response response = router.Dispatch(MakeRequest("POST", "/hello"));
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.Header("Allow"), "GET, HEAD");
  EXPECT_EQ(response.body, R"({"error":"invalid_request","error_description":"method not allowed"})");

  response = router.Dispatch(MakeRequest("GET", "/token"));
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.Header("allow"), "POST");
  // HEAD is only implied by GET.
  EXPECT_EQ(router.Dispatch(MakeRequest("HEAD", "/token")).status, 405);
}

TEST(Router, GetRouteAnswersHead) {
  Router router = MakeRouter();
  Response response = router.Dispatch(MakeRequest("HEAD", "/hello"));
  EXPECT_EQ(response.status, 200);
}

TEST(Router, RouteNames) {
  Router router = MakeRouter();
  EXPECT_EQ(router.RouteName("/hello"), "hello");
  EXPECT_EQ(router.RouteName("/token"), "/token");
  EXPECT_EQ(router.RouteName("/other"), "unmatched");
}

TEST(Router, SplitRouteAnswersInlineOrDefersToThePool) {
  Router router;
  router.AddSplit(
      "/token", {"POST"},
      [](const Request& r) -> std::optional<Response> {
        if (r.body == "fast") return Response::Text(200, "inline");
        return std::nullopt;
      },
      [](const Request&) { return Response::Text(200, "pool"); });
  Request fast = MakeRequest("POST", "/token");
  fast.body = "fast";
  auto inline_answer = router.DispatchInline(fast);
  ASSERT_TRUE(inline_answer.has_value());
  EXPECT_EQ(inline_answer->body, "inline");
  Request slow = MakeRequest("POST", "/token");
  slow.body = "slow";
  EXPECT_FALSE(router.DispatchInline(slow).has_value());
  EXPECT_EQ(router.Dispatch(slow).body, "pool");
  // Method checks still happen inline.
  auto refused = router.DispatchInline(MakeRequest("GET", "/token"));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 405);
}

TEST(Message, HeadersAndFactories) {
  Response response = Response::Html(200, "<p>");
  EXPECT_EQ(response.Header("Content-Type"), "text/html; charset=utf-8");
  response.SetHeader("content-type", "text/plain");
  EXPECT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.Header("CONTENT-TYPE"), "text/plain");

  Request request;
  request.headers = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
  EXPECT_EQ(request.Header("a"), "1");
  EXPECT_EQ(request.HeaderCount("a"), 2u);
  EXPECT_EQ(request.HeaderCount("c"), 0u);
  EXPECT_FALSE(request.Header("c").has_value());
}

}  // namespace
}  // namespace latchkey::http
