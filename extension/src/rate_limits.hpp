// Rate limits, exact on one server: one sliding-window state per key in
// shared memory (core/rate_window.hpp), shared by every backend, so a key
// limited to N per window gets exactly N allowed requests in its first window
// however many sessions ask at once. No table is written. Needs
// shared_preload_libraries = 'insight_keys'; without it, or when the table has
// no room for another key, a request is not available and the caller must
// refuse it (a limited key is never let through unlimited). A server restart
// starts every key's window afresh; a standby counts its own requests.
#pragma once

#include <cstdint>

#include "../core/uuid.hpp"
#include "pg_guard.hpp"
#include "shared_memory.hpp"

extern "C" {
#include "utils/timestamp.h"
}

namespace insight {

extern int g_rate_limit_capacity;  // insight.rate_limit_capacity

struct RateLimitSpec {
  int64 limit;      // >= 1
  int64 window_us;  // >= 1 s
};

struct RateLimitResult {
  bool allowed = false;
  bool available = false;  // false: not preloaded, or the table is full
  int32 remaining = 0;     // after this request, capped to INT32_MAX
  TimestampTz reset = 0;   // end of the current fixed window
};

// The table of windows, sized by insight.rate_limit_capacity (fixed at
// start); requested by _PG_init when preloading.
extern const SharedMemoryPart kRateLimitShmem;

// Counts one request of key_id against spec, across all backends. A key whose
// spec changed starts a new window. Takes the table's LWLock shared and the
// entry's spinlock; exclusive only for a key not in the table yet.
RateLimitResult ConsumeRateLimit(const core::Uuid& key_id, const RateLimitSpec& spec,
                                 TimestampTz now);

// The same decision without counting (what verify may report).
RateLimitResult PeekRateLimit(const core::Uuid& key_id, const RateLimitSpec& spec,
                              TimestampTz now);

}  // namespace insight
