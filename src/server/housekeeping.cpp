#include "server/housekeeping.hpp"

#include <string>

namespace latchkey::server {
namespace {

template <class DeleteBatch>
int64_t InBatches(int64_t batch, DeleteBatch delete_batch) {
  int64_t total = 0;
  for (;;) {
    store::Result<int64_t> deleted = delete_batch(batch);
    if (!deleted) return -1;
    total += *deleted;
    if (*deleted < batch) return total;
  }
}

}  // namespace

int64_t HousekeepingReport::Total() const {
  int64_t total = 0;
  for (int64_t n : {codes, device_codes, sessions, refresh_tokens, access_tokens, revocations, throttles}) {
    if (n > 0) total += n;
  }
  return total;
}

HousekeepingReport RunHousekeeping(store::Store& store, const HousekeepingPolicy& policy, int64_t now,
                                   common::Metrics& metrics) {
  metrics.Describe("latchkey_housekeeping_deleted_total", "counter",
                   "Expired rows deleted by housekeeping, by kind.");
  metrics.Describe("latchkey_housekeeping_runs_total", "counter", "Housekeeping runs, by outcome.");
  const int64_t batch = policy.batch;
  HousekeepingReport r;
  r.codes = InBatches(batch, [&](int64_t limit) { return store.DeleteExpiredCodes(now, limit); });
  r.device_codes =
      InBatches(batch, [&](int64_t limit) { return store.DeleteExpiredDeviceCodes(now, limit); });
  r.sessions = InBatches(batch, [&](int64_t limit) {
    return store.DeleteExpiredSessions(now - policy.session_absolute_lifetime,
                                       now - policy.session_idle_lifetime, limit);
  });
  r.refresh_tokens =
      InBatches(batch, [&](int64_t limit) { return store.DeleteExpiredRefreshTokens(now, limit); });
  r.access_tokens =
      InBatches(batch, [&](int64_t limit) { return store.DeleteExpiredAccessTokens(now, limit); });
  r.revocations = InBatches(batch, [&](int64_t limit) { return store.DeleteExpiredRevocations(now, limit); });
  r.throttles = InBatches(batch, [&](int64_t limit) { return store.DeleteExpiredThrottles(now, limit); });
  bool failed = false;
  const std::pair<const char*, int64_t> kinds[] = {{"codes", r.codes},
                                                   {"device_codes", r.device_codes},
                                                   {"sessions", r.sessions},
                                                   {"refresh_tokens", r.refresh_tokens},
                                                   {"access_tokens", r.access_tokens},
                                                   {"revocations", r.revocations},
                                                   {"throttles", r.throttles}};
  for (const auto& [kind, n] : kinds) {
    if (n < 0) failed = true;
    if (n > 0)
      metrics.Increment("latchkey_housekeeping_deleted_total", {{"kind", kind}}, static_cast<uint64_t>(n));
  }
  // Deleted rows leave pages in the write-ahead log; give them back (a busy store is skipped and
  // compacted at a later run).
  if (r.Total() > 0 && !store.Compact()) failed = true;
  metrics.Increment("latchkey_housekeeping_runs_total", {{"outcome", failed ? "partial" : "ok"}});
  return r;
}

}  // namespace latchkey::server
