// The sliding-window rate limit (the estimate Cloudflare and Unkey use): two
// fixed windows, the current one and the one before it, and the previous
// count weighted by how much of it still overlaps the sliding window. Pure
// arithmetic on microsecond timestamps, so every edge is unit-tested; the
// shared-memory table (extension/src/rate_limits.cpp) keeps one state per key.
#pragma once
#include "cpp_only.hpp"

#include <cstdint>

namespace insight::core {

struct RateWindowState {
  int64_t window_start = 0;  // start of the current fixed window (µs)
  int64_t current = 0;       // requests allowed in the current fixed window
  int64_t previous = 0;      // requests allowed in the fixed window before it
};

struct RateDecision {
  bool allowed = false;
  int64_t remaining = 0;  // what is left after this request, never negative
  int64_t reset_at = 0;   // end of the current fixed window (µs)
};

// Starts the state at `now`: the key's first window begins with its first
// request, so a limit of N allows exactly N requests in that window.
RateWindowState RateWindowStart(int64_t now) noexcept;

// Decides one request at `now` (limit >= 1, window_us >= 1) and, when
// `count` and allowed, counts it. A request is allowed while
//   floor(previous * (window - elapsed) / window) + current < limit,
// elapsed being the time since the current fixed window began. Time going
// backwards (a clock step) is treated as no time passing.
RateDecision RateWindowDecide(RateWindowState* state, int64_t limit, int64_t window_us, int64_t now,
                              bool count) noexcept;

}  // namespace insight::core
