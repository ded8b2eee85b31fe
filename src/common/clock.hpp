#pragma once

// Clock: the injected source of time, so expiry logic is testable without sleeping.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace latchkey::common {

// Clock returns the current time as seconds since the Unix epoch (the JWT NumericDate, RFC 7519
// §2). Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowSeconds() const = 0;
};

// SystemClock reads the wall clock.
class SystemClock final : public Clock {
 public:
  int64_t NowSeconds() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// FakeClock returns whatever a test set; Advance moves it forward.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now) : now_(now) {}
  int64_t NowSeconds() const override { return now_.load(); }
  void Set(int64_t now) { now_.store(now); }
  void Advance(int64_t seconds) { now_.fetch_add(seconds); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace latchkey::common
