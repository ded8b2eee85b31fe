#pragma once

// FakeTransport: a scripted Transport for SDK tests. Routes answer by method + URL (the query is
// part of the URL); every request is recorded. Unknown URLs get 404. Thread-safe.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "latchkey/client/transport.hpp"

namespace latchkey::client::testing {

class FakeTransport final : public Transport {
 public:
  using Handler = std::function<Result<HttpResponse>(const HttpRequest&)>;

  // On answers `method url` with `handler` (replacing an earlier one).
  void On(const std::string& method, const std::string& url, Handler handler) {
    std::lock_guard lock(mutex_);
    routes_[method + " " + url] = std::move(handler);
  }

  // Json answers `method url` with `status` and a JSON body.
  void Json(const std::string& method, const std::string& url, int status, std::string body) {
    On(method, url, [status, body = std::move(body)](const HttpRequest&) -> Result<HttpResponse> {
      HttpResponse r;
      r.status = status;
      r.headers.emplace_back("Content-Type", "application/json");
      r.body = body;
      return r;
    });
  }

  // Fail makes `method url` fail with a transport error.
  void Fail(const std::string& method, const std::string& url) {
    On(method, url, [](const HttpRequest&) -> Result<HttpResponse> {
      return Error{ErrorCode::kTransport, "connection refused"};
    });
  }

  Result<HttpResponse> Send(const HttpRequest& request) override {
    Handler handler;
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
      auto it = routes_.find(request.method + " " + request.url);
      if (it != routes_.end()) handler = it->second;
    }
    if (!handler) {
      HttpResponse r;
      r.status = 404;
      r.body = R"({"error":"not_found"})";
      return r;
    }
    return handler(request);
  }

  std::vector<HttpRequest> Requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

  // Count returns how many requests went to `method url`.
  int Count(const std::string& method, const std::string& url) const {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (const auto& r : requests_) n += r.method == method && r.url == url ? 1 : 0;
    return n;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, Handler> routes_;
  std::vector<HttpRequest> requests_;
};

// FakeClock: a settable Clock.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now) : now_(now) {}
  int64_t NowSeconds() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  void Set(int64_t now) {
    std::lock_guard lock(mutex_);
    now_ = now;
  }
  void Advance(int64_t seconds) {
    std::lock_guard lock(mutex_);
    now_ += seconds;
  }

 private:
  mutable std::mutex mutex_;
  int64_t now_;
};

}  // namespace latchkey::client::testing
