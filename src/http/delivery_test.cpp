#include "http/delivery.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "common/log.hpp"
#include "http/testing/test_listener.hpp"

namespace latchkey::http {
namespace {

using namespace std::chrono_literals;
using Kind = DeliveryOutcome::Kind;
using SendResult = common::Result<OutboundResponse, std::string>;

// Outcomes collects what on_outcome reports, so a test can wait for the worker.
class Outcomes {
 public:
  std::function<void(const DeliveryOutcome&)> Callback() {
    return [this](const DeliveryOutcome& outcome) {
      std::lock_guard lock(mutex_);
      outcomes_.push_back(outcome);
      changed_.notify_all();
    };
  }

  // WaitFor returns the outcomes once there are at least `n`, or what there is after 5 s.
  std::vector<DeliveryOutcome> WaitFor(size_t n) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, 5s, [&] { return outcomes_.size() >= n; });
    return outcomes_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<DeliveryOutcome> outcomes_;
};

// ScriptedSender answers attempt i with script[i] (the last entry repeats) and counts attempts.
struct ScriptedSender {
  std::vector<SendResult> script;
  std::shared_ptr<std::atomic<int>> attempts = std::make_shared<std::atomic<int>>(0);

  Sender AsSender() const {
    return [script = script, attempts = attempts](const OutboundRequest&) {
      const int i = attempts->fetch_add(1);
      return script[std::min<size_t>(static_cast<size_t>(i), script.size() - 1)];
    };
  }
};

SendResult Status(int status) { return OutboundResponse{.status = status}; }
SendResult TransportError() { return std::string("connect failed: Connection refused"); }

DeliveryOptions FastOptions(Outcomes& outcomes, Sender send) {
  DeliveryOptions options;
  options.initial_delay = 5ms;
  options.max_attempts = 3;
  options.event_prefix = "";  // keep test output quiet; one test checks the log lines
  options.on_outcome = outcomes.Callback();
  options.send = std::move(send);
  return options;
}

OutboundRequest Request(std::string url = "http://rp.example/logout") {
  return OutboundRequest{.url = std::move(url), .body = "logout_token=t"};
}

TEST(DeliveryQueueTest, DeliversOnceOn200) {
  Outcomes outcomes;
  ScriptedSender sender{{Status(200)}};
  DeliveryQueue queue(FastOptions(outcomes, sender.AsSender()));

  ASSERT_TRUE(queue.Enqueue(Request(), {{"client_id", "c1"}}));

  auto got = outcomes.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Kind::kDelivered);
  EXPECT_EQ(got[0].attempts, 1);
  EXPECT_EQ(got[0].status, 200);
  EXPECT_EQ(got[0].labels.at("client_id").as_string(), "c1");
  queue.Stop();
  EXPECT_EQ(*sender.attempts, 1);
}

// Back-Channel Logout §2.8: "OPs should be prepared to also process an HTTP 204 No Content
// response as a successful response."
TEST(DeliveryQueueTest, Treats204AsDelivered) {
  Outcomes outcomes;
  ScriptedSender sender{{Status(204)}};
  DeliveryQueue queue(FastOptions(outcomes, sender.AsSender()));
  queue.Enqueue(Request());
  auto got = outcomes.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Kind::kDelivered);
}

// Back-Channel Logout §2.5: retransmit only after "potentially recoverable errors".
TEST(DeliveryQueueTest, RetriesOnlyRecoverableFailures) {
  struct Case {
    SendResult first;
    bool retried;
  };
  const Case cases[] = {
      {TransportError(), true}, {Status(500), true},  {Status(502), true},
      {Status(503), true},      {Status(429), true},  {Status(400), false},
      {Status(401), false},     {Status(404), false}, {Status(302), false},
  };
  for (const auto& c : cases) {
    const std::string name = c.first ? std::to_string(c.first->status) : c.first.error();
    Outcomes outcomes;
    ScriptedSender sender{{c.first, Status(200)}};
    DeliveryQueue queue(FastOptions(outcomes, sender.AsSender()));
    queue.Enqueue(Request());
    auto got = outcomes.WaitFor(1);
    ASSERT_EQ(got.size(), 1u) << name;
    queue.Stop();
    if (c.retried) {
      EXPECT_EQ(got[0].kind, Kind::kDelivered) << name;
      EXPECT_EQ(got[0].attempts, 2) << name;
      EXPECT_EQ(*sender.attempts, 2) << name;
    } else {
      EXPECT_EQ(got[0].kind, Kind::kFailed) << name;
      EXPECT_EQ(got[0].attempts, 1) << name;
      EXPECT_EQ(got[0].status, c.first->status) << name;
      EXPECT_EQ(*sender.attempts, 1) << name;
    }
  }
}

TEST(DeliveryQueueTest, RetriesA503AgainstARealListenerThenSucceeds) {
  testing::TestListener listener({503, 503, 200});
  Outcomes outcomes;
  DeliveryOptions options = FastOptions(outcomes, {});  // the default sender: PostForm
  options.max_attempts = 5;
  DeliveryQueue queue(std::move(options));

  OutboundRequest request = Request(listener.Url("/bc-logout"));
  request.timeout = 2s;
  queue.Enqueue(std::move(request), {{"client_id", "rp"}});

  auto got = outcomes.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Kind::kDelivered) << got[0].error;
  EXPECT_EQ(got[0].attempts, 3);
  auto received = listener.Received();
  ASSERT_EQ(received.size(), 3u);
  for (const auto& r : received) {
    EXPECT_EQ(r.target, "/bc-logout");
    EXPECT_EQ(r.body, "logout_token=t");  // the same request each time
  }
}

TEST(DeliveryQueueTest, GivesUpAfterMaxAttempts) {
  Outcomes outcomes;
  ScriptedSender sender{{TransportError()}};
  DeliveryQueue queue(FastOptions(outcomes, sender.AsSender()));
  queue.Enqueue(Request());

  auto got = outcomes.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Kind::kFailed);
  EXPECT_EQ(got[0].attempts, 3);
  EXPECT_EQ(got[0].status, 0);
  EXPECT_EQ(got[0].error, "connect failed: Connection refused");
  queue.Stop();
  EXPECT_EQ(*sender.attempts, 3);
}

TEST(DeliveryQueueTest, BackoffDoublesBetweenAttempts) {
  Outcomes outcomes;
  std::mutex mutex;
  std::vector<std::chrono::steady_clock::time_point> times;
  DeliveryOptions options = FastOptions(outcomes, [&](const OutboundRequest&) -> SendResult {
    std::lock_guard lock(mutex);
    times.push_back(std::chrono::steady_clock::now());
    return Status(503);
  });
  options.initial_delay = 40ms;
  DeliveryQueue queue(std::move(options));
  queue.Enqueue(Request());

  ASSERT_EQ(outcomes.WaitFor(1).size(), 1u);
  queue.Stop();
  ASSERT_EQ(times.size(), 3u);
  EXPECT_GE(times[1] - times[0], 40ms);
  EXPECT_GE(times[2] - times[1], 80ms);
}

TEST(DeliveryQueueTest, StopWhileARetryWaitsReturnsPromptlyAndAbandonsIt) {
  Outcomes outcomes;
  ScriptedSender sender{{Status(503)}};
  DeliveryOptions options = FastOptions(outcomes, sender.AsSender());
  options.initial_delay = 60s;
  DeliveryQueue queue(std::move(options));
  queue.Enqueue(Request(), {{"client_id", "slow"}});
  // Wait until the first attempt has happened and the retry is scheduled a minute away.
  for (int i = 0; i < 500 && *sender.attempts == 0; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(*sender.attempts, 1);

  const auto start = std::chrono::steady_clock::now();
  queue.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);

  auto got = outcomes.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Kind::kAbandoned);
  EXPECT_EQ(got[0].attempts, 1);
  EXPECT_EQ(got[0].status, 503);
  EXPECT_EQ(got[0].labels.at("client_id").as_string(), "slow");
  EXPECT_EQ(*sender.attempts, 1);
}

TEST(DeliveryQueueTest, DropsWhenFullAndAfterStop) {
  Outcomes outcomes;
  std::latch entered(1);
  std::latch release(1);
  std::atomic<int> calls = 0;
  DeliveryOptions options = FastOptions(outcomes, [&](const OutboundRequest&) -> SendResult {
    if (calls.fetch_add(1) == 0) {
      entered.count_down();
      release.wait();
    }
    return Status(200);
  });
  options.max_queued = 1;
  DeliveryQueue queue(std::move(options));

  ASSERT_TRUE(queue.Enqueue(Request(), {{"n", 1}}));
  entered.wait();                                      // #1 is in flight: the queue is empty
  EXPECT_TRUE(queue.Enqueue(Request(), {{"n", 2}}));   // waits
  EXPECT_FALSE(queue.Enqueue(Request(), {{"n", 3}}));  // over max_queued

  auto got = outcomes.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Kind::kDropped);
  EXPECT_EQ(got[0].labels.at("n").as_int64(), 3);
  EXPECT_EQ(got[0].error, "queue full");

  release.count_down();
  got = outcomes.WaitFor(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1].kind, Kind::kDelivered);
  EXPECT_EQ(got[2].kind, Kind::kDelivered);

  queue.Stop();
  EXPECT_FALSE(queue.Enqueue(Request(), {{"n", 4}}));
  got = outcomes.WaitFor(4);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[3].kind, Kind::kDropped);
  EXPECT_EQ(got[3].error, "stopped");
  EXPECT_EQ(calls, 2);  // #3 and #4 were never attempted
}

TEST(DeliveryQueueTest, LogsOneEventPerOutcomeWithThePrefix) {
  Outcomes outcomes;
  ScriptedSender ok{{Status(200)}};
  ScriptedSender rejected{{Status(400)}};
  common::FlushLogs();  // earlier tests' batched lines must not land in the capture
  ::testing::internal::CaptureStderr();
  {
    DeliveryOptions options = FastOptions(outcomes, {});
    options.event_prefix = "backchannel_logout";
    options.send = [&](const OutboundRequest& r) {
      return r.url == "http://ok.example/" ? ok.AsSender()(r) : rejected.AsSender()(r);
    };
    DeliveryQueue queue(std::move(options));
    queue.Enqueue(Request("http://ok.example/"), {{"client_id", "a"}});
    queue.Enqueue(Request("http://bad.example/"), {{"client_id", "b"}});
    ASSERT_EQ(outcomes.WaitFor(2).size(), 2u);
  }
  common::FlushLogs();
  const std::string out = ::testing::internal::GetCapturedStderr();

  std::vector<boost::json::object> lines;
  std::istringstream stream(out);
  for (std::string line; std::getline(stream, line);) {
    auto object = boost::json::parse(line).as_object();
    if (object.at("msg").as_string().starts_with("backchannel_logout")) lines.push_back(std::move(object));
  }
  ASSERT_EQ(lines.size(), 2u) << out;
  // The warning is written at once, the info line is batched: match by msg, not order.
  bool saw_delivered = false, saw_failed = false;
  for (const auto& line : lines) {
    if (line.at("msg") == "backchannel_logout_delivered") {
      saw_delivered = true;
      EXPECT_EQ(line.at("level"), "info");
      EXPECT_EQ(line.at("client_id"), "a");
      EXPECT_EQ(line.at("attempts"), 1);
      EXPECT_EQ(line.at("status"), 200);
    } else if (line.at("msg") == "backchannel_logout_failed") {
      saw_failed = true;
      EXPECT_EQ(line.at("level"), "warn");
      EXPECT_EQ(line.at("client_id"), "b");
      EXPECT_EQ(line.at("status"), 400);
    }
    EXPECT_FALSE(line.contains("logout_token"));  // the body (a token) is never logged
  }
  EXPECT_TRUE(saw_delivered);
  EXPECT_TRUE(saw_failed);
}

}  // namespace
}  // namespace latchkey::http
