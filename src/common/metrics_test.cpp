#include "common/metrics.hpp"

#include <gtest/gtest.h>

namespace latchkey::common {
namespace {

TEST(Metrics, RendersCountersAndHistogramsInPrometheusText) {
  Metrics m;
  m.Describe("latchkey_http_requests_total", "counter", "HTTP requests.");
  m.Increment("latchkey_http_requests_total", {{"route", "/token"}, {"status", "200"}});
  m.Increment("latchkey_http_requests_total", {{"route", "/token"}, {"status", "200"}}, 2);
  m.Observe("latchkey_http_request_duration_seconds", {{"route", "/token"}}, 0.0003);
  std::string text = m.Render();
  EXPECT_NE(text.find("# TYPE latchkey_http_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("latchkey_http_requests_total{route=\"/token\",status=\"200\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("latchkey_http_request_duration_seconds_bucket{route=\"/token\",le=\"0.00025\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("latchkey_http_request_duration_seconds_bucket{route=\"/token\",le=\"0.0005\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("latchkey_http_request_duration_seconds_count{route=\"/token\"} 1\n"),
            std::string::npos);
  EXPECT_EQ(m.CounterValue("latchkey_http_requests_total", {{"route", "/token"}, {"status", "200"}}), 3u);
}

TEST(Metrics, EscapesLabelValues) {
  Metrics m;
  m.Increment("c", {{"v", "a\"b\\c\nd"}});
  EXPECT_NE(m.Render().find("c{v=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos);
}

}  // namespace
}  // namespace latchkey::common
