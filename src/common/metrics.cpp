#include "common/metrics.hpp"

#include <array>
#include <cstdio>

namespace latchkey::common {
namespace {

constexpr std::array<double, 12> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                             0.01,   0.025,   0.05,   0.1,   1.0,    10.0};

// Label values are escaped per the exposition format: backslash, double quote and newline.
std::string RenderLabels(const MetricLabels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out.push_back(',');
    out += k;
    out += "=\"";
    for (char c : v) {
      if (c == '\\' || c == '"') {
        out.push_back('\\');
        out.push_back(c);
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out.push_back(c);
      }
    }
    out.push_back('"');
  }
  return out;
}

std::string FormatDouble(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string Braced(const std::string& labels, const std::string& extra = {}) {
  std::string all = labels;
  if (!extra.empty()) {
    if (!all.empty()) all.push_back(',');
    all += extra;
  }
  return all.empty() ? std::string() : "{" + all + "}";
}

}  // namespace

void Metrics::Describe(std::string_view name, std::string_view type, std::string_view help) {
  std::lock_guard lock(mutex_);
  auto& f = families_[std::string(name)];
  f.type = type;
  f.help = help;
}

void Metrics::Increment(std::string_view name, const MetricLabels& labels, uint64_t by) {
  std::string key = RenderLabels(labels);
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) it = families_.emplace(std::string(name), Family{}).first;
  it->second.counters[key] += by;
}

void Metrics::Observe(std::string_view name, const MetricLabels& labels, double seconds) {
  std::string key = RenderLabels(labels);
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) it = families_.emplace(std::string(name), Family{}).first;
  auto& h = it->second.histograms[key];
  if (h.buckets.empty()) h.buckets.assign(kBuckets.size(), 0);
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

uint64_t Metrics::CounterValue(std::string_view name, const MetricLabels& labels) const {
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  auto c = it->second.counters.find(RenderLabels(labels));
  return c == it->second.counters.end() ? 0 : c->second;
}

std::string Metrics::Render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, f] : families_) {
    if (!f.help.empty()) out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + " " + (f.type.empty() ? std::string("untyped") : f.type) + "\n";
    for (const auto& [labels, value] : f.counters) {
      out += name + Braced(labels) + " " + std::to_string(value) + "\n";
    }
    for (const auto& [labels, h] : f.histograms) {
      for (size_t i = 0; i < kBuckets.size(); ++i) {
        out += name + "_bucket" + Braced(labels, "le=\"" + FormatDouble(kBuckets[i]) + "\"") + " " +
               std::to_string(h.buckets[i]) + "\n";
      }
      out += name + "_bucket" + Braced(labels, "le=\"+Inf\"") + " " + std::to_string(h.count) + "\n";
      out += name + "_sum" + Braced(labels) + " " + FormatDouble(h.sum) + "\n";
      out += name + "_count" + Braced(labels) + " " + std::to_string(h.count) + "\n";
    }
  }
  return out;
}

}  // namespace latchkey::common
