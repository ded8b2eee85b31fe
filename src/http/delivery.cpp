#include "http/delivery.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

#include "common/log.hpp"

namespace latchkey::http {
namespace {

using SteadyClock = std::chrono::steady_clock;

// IsRetryable: the statuses that say "not now" rather than "not this request": 5xx (the RP's
// server failed or is overloaded) and 429 (RFC 6585 §4). Any other 4xx means the RP rejected the
// request (Back-Channel Logout §2.8: 400 for an invalid logout token) and sending the same bytes
// again cannot help.
bool IsRetryable(int status) { return status == 429 || (status >= 500 && status <= 599); }

bool IsSuccess(int status) { return status >= 200 && status <= 299; }

// BackoffDelay: initial * 2^(attempts-1). The shift is capped so a large max_attempts cannot
// overflow the duration.
std::chrono::milliseconds BackoffDelay(std::chrono::milliseconds initial, int attempts) {
  const int doublings = std::clamp(attempts - 1, 0, 20);
  return initial * (int64_t{1} << doublings);
}

}  // namespace

std::string_view DeliveryOutcomeName(DeliveryOutcome::Kind kind) {
  switch (kind) {
    case DeliveryOutcome::Kind::kDelivered: return "delivered";
    case DeliveryOutcome::Kind::kFailed: return "failed";
    case DeliveryOutcome::Kind::kDropped: return "dropped";
    case DeliveryOutcome::Kind::kAbandoned: return "abandoned";
  }
  return "unknown";
}

DeliveryQueue::DeliveryQueue(DeliveryOptions options)
    : options_(std::move(options)), send_(options_.send ? options_.send : Sender(PostForm)) {
  assert(options_.max_attempts >= 1);
  worker_ = std::thread([this] { Run(); });
}

DeliveryQueue::~DeliveryQueue() { Stop(); }

bool DeliveryQueue::Enqueue(OutboundRequest request, boost::json::object labels) {
  std::string reason;
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && queue_.size() < options_.max_queued) {
      queue_.emplace(SteadyClock::now(), Item{std::move(request), std::move(labels)});
      wake_.notify_one();
      return true;
    }
    // Bounded: a dead RP plus a burst of logouts must not grow memory without limit.
    reason = stopping_ ? "stopped" : "queue full";
  }
  Report(DeliveryOutcome{
      .kind = DeliveryOutcome::Kind::kDropped, .error = std::move(reason), .labels = std::move(labels)});
  return false;
}

void DeliveryQueue::Stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    worker_.join();
    // The worker is gone: nothing else touches queue_ now.
    for (auto& [due, item] : queue_) {
      Report(DeliveryOutcome{.kind = DeliveryOutcome::Kind::kAbandoned,
                             .attempts = item.attempts,
                             .status = item.last_status,
                             .error = item.attempts == 0 ? "stopped" : "stopped: " + item.last_error,
                             .labels = std::move(item.labels)});
    }
    queue_.clear();
  });
}

void DeliveryQueue::Run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (queue_.empty()) {
      wake_.wait(lock);
      continue;
    }
    // A condition variable wait rather than a sleep: Stop and earlier-due requests wake it.
    const TimePoint due = queue_.begin()->first;
    if (due > SteadyClock::now()) {
      wake_.wait_until(lock, due);
      continue;
    }
    Item item = std::move(queue_.begin()->second);
    queue_.erase(queue_.begin());
    lock.unlock();
    Attempt(std::move(item));
    lock.lock();
  }
}

void DeliveryQueue::Attempt(Item item) {
  ++item.attempts;
  auto result = send_(item.request);
  item.last_status = result ? result->status : 0;
  item.last_error = result ? std::string() : result.error();

  if (result && IsSuccess(result->status)) {
    Report(DeliveryOutcome{.kind = DeliveryOutcome::Kind::kDelivered,
                           .attempts = item.attempts,
                           .status = item.last_status,
                           .labels = std::move(item.labels)});
    return;
  }
  const bool retryable = !result || IsRetryable(result->status);
  if (retryable && item.attempts < options_.max_attempts) {
    const TimePoint due = SteadyClock::now() + BackoffDelay(options_.initial_delay, item.attempts);
    std::lock_guard lock(mutex_);
    // Re-queued even when stopping: Stop reports it as abandoned after the join. Not counted
    // against max_queued: it was accepted already.
    queue_.emplace(due, std::move(item));
    return;
  }
  Report(DeliveryOutcome{.kind = DeliveryOutcome::Kind::kFailed,
                         .attempts = item.attempts,
                         .status = item.last_status,
                         .error = std::move(item.last_error),
                         .labels = std::move(item.labels)});
}

void DeliveryQueue::Report(DeliveryOutcome outcome) const {
  if (!options_.event_prefix.empty()) {
    boost::json::object fields = outcome.labels;
    fields["attempts"] = outcome.attempts;
    if (outcome.status != 0) fields["status"] = outcome.status;
    if (!outcome.error.empty()) fields["error"] = outcome.error;
    const std::string event = options_.event_prefix + "_" + std::string(DeliveryOutcomeName(outcome.kind));
    const bool delivered = outcome.kind == DeliveryOutcome::Kind::kDelivered;
    common::Log(delivered ? common::LogLevel::kInfo : common::LogLevel::kWarn, event, std::move(fields));
  }
  if (options_.on_outcome) options_.on_outcome(outcome);
}

}  // namespace latchkey::http
