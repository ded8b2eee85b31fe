#pragma once

// DeliveryQueue: fire-and-forget delivery of outbound POSTs on a background thread, with retries
// for failures that may be temporary. Built for OpenID Connect Back-Channel Logout 1.0 §2.5: "The
// OP should not retransmit a Back-Channel Logout Request unless the OP suspects that previous
// transmissions may have failed due to potentially recoverable errors (such as network outage or
// temporary service interruption [...]). In this case, the OP SHOULD delay retransmission".

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include <boost/json/object.hpp>

#include "common/result.hpp"
#include "http/client.hpp"

namespace latchkey::http {

// Sender: sends one request (PostForm by default; tests inject their own).
using Sender = std::function<common::Result<OutboundResponse, std::string>(const OutboundRequest&)>;

// DeliveryOutcome: how one enqueued request ended.
struct DeliveryOutcome {
  enum class Kind {
    kDelivered,  // a 2xx response
    kFailed,     // a non-retryable response, or the last attempt failed
    kDropped,    // never attempted: the queue was full or stopped
    kAbandoned,  // the queue stopped while the request waited for a (re)try
  };
  Kind kind = Kind::kDelivered;
  int attempts = 0;
  int status = 0;     // the last response's status; 0 when the last attempt got no response
  std::string error;  // the last transport error, or why it was dropped/abandoned; "" otherwise
  boost::json::object labels;
};

// DeliveryOutcomeName returns "delivered", "failed", "dropped" or "abandoned".
std::string_view DeliveryOutcomeName(DeliveryOutcome::Kind kind);

struct DeliveryOptions {
  // Attempt n + 1 (n >= 1) starts initial_delay * 2^(n-1) after attempt n ended.
  std::chrono::milliseconds initial_delay{1000};
  int max_attempts = 5;  // >= 1, the first attempt included
  // max_queued: requests waiting (for a first attempt or a retry) past which Enqueue drops.
  size_t max_queued = 1000;
  // event_prefix: every outcome is logged as "<event_prefix>_<DeliveryOutcomeName>" with the
  // labels, attempts, status and error as fields (info for delivered, warn otherwise). Empty: no log.
  std::string event_prefix = "delivery";
  // on_outcome: called once per enqueued request, after the log line, on the worker thread (on
  // the caller's thread for kDropped, on the thread calling Stop for kAbandoned). Must not call
  // back into the queue's Stop. May be empty.
  std::function<void(const DeliveryOutcome&)> on_outcome;
  // send: performs one attempt. Empty: PostForm.
  Sender send;
};

// DeliveryQueue owns one worker thread that sends enqueued requests one at a time, earliest due
// first. An attempt succeeds on a 2xx status; it is retried after a transport error (no
// response), a 5xx or a 429, and never after any other status (a 4xx says the request itself is
// wrong; a 3xx is not followed, see PostForm). It does NOT persist the queue (requests still
// queued at Stop or at a crash are lost), honour Retry-After, or deduplicate requests. Every
// method is thread-safe.
class DeliveryQueue {
 public:
  // Starts the worker thread. Aborts (assert) when max_attempts < 1.
  explicit DeliveryQueue(DeliveryOptions options = {});
  // Calls Stop.
  ~DeliveryQueue();
  DeliveryQueue(const DeliveryQueue&) = delete;
  DeliveryQueue& operator=(const DeliveryQueue&) = delete;

  // Enqueue schedules `request` for an immediate first attempt and returns true, or reports a
  // kDropped outcome and returns false when max_queued requests are already waiting or the queue
  // was stopped. `labels` are copied into the log lines and the outcome: never put a secret
  // (the request body, a token) in them. Does not block on delivery.
  bool Enqueue(OutboundRequest request, boost::json::object labels = {});

  // Stop wakes the worker, waits for an attempt in progress to end (at most that request's
  // timeout), joins the thread, and reports every request still waiting as kAbandoned. Never
  // waits for a retry delay. Idempotent.
  void Stop();

 private:
  struct Item {
    OutboundRequest request;
    boost::json::object labels;
    int attempts = 0;
    int last_status = 0;
    std::string last_error;
  };
  using TimePoint = std::chrono::steady_clock::time_point;

  void Run();
  void Attempt(Item item);
  void Report(DeliveryOutcome outcome) const;

  const DeliveryOptions options_;
  const Sender send_;
  std::mutex mutex_;
  std::condition_variable wake_;
  // Due time -> item; equal due times keep their insertion order (multimap inserts at the end of
  // an equal range), so first attempts go out first in, first out.
  std::multimap<TimePoint, Item> queue_;
  bool stopping_ = false;
  std::once_flag stop_once_;
  std::thread worker_;  // last: starts after every other member is ready
};

}  // namespace latchkey::http
