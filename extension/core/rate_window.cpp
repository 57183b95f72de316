#include "rate_window.hpp"

namespace insight::core {

namespace {

// Moves the fixed windows forward so that now falls in the current one.
void Roll(RateWindowState* s, int64_t window_us, int64_t now) noexcept {
  if (now < s->window_start) return;
  // Most calls fall in the current window: no division for them.
  if (now - s->window_start < window_us) return;
  int64_t passed = (now - s->window_start) / window_us;
  if (passed == 0) return;
  s->previous = passed == 1 ? s->current : 0;
  s->current = 0;
  s->window_start += passed * window_us;
}

}  // namespace

RateWindowState RateWindowStart(int64_t now) noexcept {
  RateWindowState s;
  s.window_start = now;
  return s;
}

RateDecision RateWindowDecide(RateWindowState* s, int64_t limit, int64_t window_us, int64_t now,
                              bool count) noexcept {
  Roll(s, window_us, now);
  int64_t elapsed = now > s->window_start ? now - s->window_start : 0;
  // The previous window's share: previous * (window - elapsed) / window.
  // The product can exceed 64 bits for huge counts and windows: then it is
  // taken in 128 bits (a library call); otherwise in 64, and not at all when
  // the previous window counted nothing. All three give the same quotient.
  __int128 overlap = 0;
  if (s->previous != 0) {
    int64_t product;
    if (!__builtin_mul_overflow(s->previous, window_us - elapsed, &product)) {
      overlap = product / window_us;
    } else {
      overlap = static_cast<__int128>(s->previous) * (window_us - elapsed) / window_us;
    }
  }
  __int128 used = overlap + s->current;
  RateDecision d;
  d.reset_at = s->window_start + window_us;
  d.allowed = used < limit;
  if (d.allowed && count) {
    s->current++;
    used++;
  }
  __int128 left = static_cast<__int128>(limit) - used;
  d.remaining = left > 0 ? static_cast<int64_t>(left) : 0;
  return d;
}

}  // namespace insight::core
