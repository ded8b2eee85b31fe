#include "common/log.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace latchkey::common {
namespace {

std::string CaptureRequestLine(const RequestLogLine& line) {
  testing::internal::CaptureStderr();
  LogRequest(line);
  FlushLogs();
  return testing::internal::GetCapturedStderr();
}

TEST(LogRequest, WritesOneParseableJsonLine) {
  std::string out = CaptureRequestLine({"abc123", "POST", "/token", "/token", "127.0.0.1", 200, 550, 1.25});
  ASSERT_EQ(out.back(), '\n');
  EXPECT_EQ(out.find('\n'), out.size() - 1);
  auto line = boost::json::parse(out).as_object();
  EXPECT_EQ(line.at("msg").as_string(), "request");
  EXPECT_EQ(line.at("level").as_string(), "info");
  EXPECT_EQ(line.at("request_id").as_string(), "abc123");
  EXPECT_EQ(line.at("status").as_int64(), 200);
  EXPECT_EQ(line.at("bytes").as_int64(), 550);
  EXPECT_DOUBLE_EQ(line.at("duration_ms").to_number<double>(), 1.25);
  const std::string ts(line.at("ts").as_string());
  ASSERT_EQ(ts.size(), 24u);  // 2026-01-02T03:04:05.678Z (RFC 3339 §5.6, UTC, milliseconds)
  EXPECT_EQ(ts[19], '.');
  for (size_t i = 20; i < 23; ++i) EXPECT_TRUE(ts[i] >= '0' && ts[i] <= '9') << ts;
  EXPECT_EQ(ts[23], 'Z');
  EXPECT_NE(out.find(R"("duration_ms":1.250,)"), std::string::npos) << out;
}

// Behind a trusted proxy both addresses are logged; a direct request's line has no "peer".
TEST(LogRequest, PeerOnlyWhenItDiffersFromTheClient) {
  auto proxied =
      boost::json::parse(CaptureRequestLine({"id", "GET", "/", "/", "198.51.100.1", 200, 0, 0, "10.0.0.2"}))
          .as_object();
  EXPECT_EQ(proxied.at("remote").as_string(), "198.51.100.1");
  EXPECT_EQ(proxied.at("peer").as_string(), "10.0.0.2");
  for (std::string_view peer : {"", "127.0.0.1"}) {
    auto direct =
        boost::json::parse(CaptureRequestLine({"id", "GET", "/", "/", "127.0.0.1", 200, 0, 0, peer}))
            .as_object();
    EXPECT_EQ(direct.at("remote").as_string(), "127.0.0.1");
    EXPECT_FALSE(direct.contains("peer")) << peer;
  }
}

// A hostile request path must not break the line or add fields (log injection).
TEST(LogRequest, EscapesHostilePaths) {
  std::string path = "/x\"}\n{\"msg\":\"forged\\\x01\xff";
  std::string out = CaptureRequestLine({"id", "GET", path, "unmatched", "::1", 404, 0, 0});
  EXPECT_EQ(out.find('\n'), out.size() - 1);
  auto line = boost::json::parse(out).as_object();
  EXPECT_EQ(line.at("msg").as_string(), "request");
  EXPECT_EQ(line.size(), 11u);
  EXPECT_EQ(std::string(line.at("path").as_string()).substr(0, 20), path.substr(0, 20));
}

// RFC 8259 §8.1: JSON text is UTF-8. Field values fed by requests (a typed username) may hold any
// bytes; the line must still parse (Boost.JSON's parser rejects ill-formed UTF-8).
TEST(Log, FieldsWithIllFormedUtf8StayValidJson) {
  testing::internal::CaptureStderr();
  LogInfo("audit", {{"username", "bad\xff\xc3(\xe2\x82"},
                    {"nested", boost::json::object{{"k\xfe", "v\x80"}}},
                    {"key\xc3", "value"}});
  FlushLogs();
  std::string out = testing::internal::GetCapturedStderr();
  boost::system::error_code ec;
  auto parsed = boost::json::parse(out, ec);
  ASSERT_FALSE(ec) << out;
  EXPECT_EQ(parsed.as_object().at("username").as_string(), "bad\xEF\xBF\xBD\xEF\xBF\xBD(\xEF\xBF\xBD");
  EXPECT_EQ(parsed.as_object().at("nested").as_object().at("k\xEF\xBF\xBD").as_string(), "v\xEF\xBF\xBD");
  EXPECT_EQ(parsed.as_object().at("key\xEF\xBF\xBD").as_string(), "value");
}

TEST(LogRequest, SilentBelowConfiguredLevel) {
  SetLogLevel(LogLevel::kWarn);
  std::string out = CaptureRequestLine({"id", "GET", "/", "/", "", 200, 0, 0});
  SetLogLevel(LogLevel::kInfo);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace latchkey::common
