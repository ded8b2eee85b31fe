#pragma once

// Metrics: counters and latency histograms rendered in the Prometheus text exposition format
// (version 0.0.4). One registry per process, passed by reference; thread-safe.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace latchkey::common {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  // Describe registers a family's type ("counter" or "histogram") and help text. Families that
  // are used without being described are rendered as untyped.
  void Describe(std::string_view name, std::string_view type, std::string_view help);

  // Increment adds `by` to the counter `name` with `labels`.
  void Increment(std::string_view name, const MetricLabels& labels, uint64_t by = 1);

  // Observe records `seconds` in the histogram `name` with `labels` (fixed latency buckets from
  // 100 µs to 10 s).
  void Observe(std::string_view name, const MetricLabels& labels, double seconds);

  // Render returns the whole registry as Prometheus text, families sorted by name.
  std::string Render() const;

  // CounterValue returns the current value of one counter (0 when never incremented).
  uint64_t CounterValue(std::string_view name, const MetricLabels& labels) const;

 private:
  struct Histogram {
    std::vector<uint64_t> buckets;
    uint64_t count = 0;
    double sum = 0;
  };
  struct Family {
    std::string type;
    std::string help;
    std::map<std::string, uint64_t> counters;     // key: rendered label set
    std::map<std::string, Histogram> histograms;  // key: rendered label set
  };

  mutable std::mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;
};

}  // namespace latchkey::common
