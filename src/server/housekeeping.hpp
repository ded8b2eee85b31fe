#pragma once

// Housekeeping: deletes what can no longer be used (expired codes, device codes, sessions, access
// and refresh tokens, denylist entries, forgotten throttle counts) in bounded batches, so the store does not
// grow without limit and a large backlog never holds the database's write lock for long.

#include <cstdint>

#include "common/metrics.hpp"
#include "store/store.hpp"

namespace latchkey::server {

struct HousekeepingPolicy {
  int64_t batch = 1000;                   // rows per delete statement
  int64_t session_absolute_lifetime = 0;  // seconds
  int64_t session_idle_lifetime = 0;      // seconds
};

// HousekeepingReport: rows deleted per kind in one run; -1 when a batch of that kind failed (the
// rest is retried at the next run).
struct HousekeepingReport {
  int64_t codes = 0, device_codes = 0, sessions = 0, refresh_tokens = 0, access_tokens = 0, revocations = 0,
          throttles = 0;
  int64_t Total() const;
};

// RunHousekeeping deletes, kind by kind, batch after batch, until a batch deletes fewer rows than
// it may. Nothing that is still valid at `now` is touched. Counts go to
// latchkey_housekeeping_deleted_total{kind} and latchkey_housekeeping_runs_total{outcome}.
HousekeepingReport RunHousekeeping(store::Store& store, const HousekeepingPolicy& policy, int64_t now,
                                   common::Metrics& metrics);

}  // namespace latchkey::server
