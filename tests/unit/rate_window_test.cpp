#include <gtest/gtest.h>

#include "rate_window.hpp"

namespace insight::core {
namespace {

constexpr int64_t kMinute = 60'000'000;

int64_t AllowedIn(RateWindowState* s, int64_t limit, int64_t window, int64_t now, int tries) {
  int64_t allowed = 0;
  for (int i = 0; i < tries; i++) allowed += RateWindowDecide(s, limit, window, now, true).allowed;
  return allowed;
}

TEST(RateWindow, FirstWindowAllowsExactlyTheLimit) {
  RateWindowState s = RateWindowStart(1000);
  EXPECT_EQ(AllowedIn(&s, 100, kMinute, 1000, 250), 100);
  EXPECT_EQ(s.current, 100);  // refused requests are not counted
}

TEST(RateWindow, RemainingCountsDownToZeroAndResetIsTheWindowEnd) {
  RateWindowState s = RateWindowStart(0);
  for (int64_t i = 1; i <= 3; i++) {
    RateDecision d = RateWindowDecide(&s, 3, kMinute, 10, true);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, 3 - i);
    EXPECT_EQ(d.reset_at, kMinute);
  }
  RateDecision refused = RateWindowDecide(&s, 3, kMinute, 20, true);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0);
}

TEST(RateWindow, LastMicrosecondOfTheWindowStillBelongsToIt) {
  RateWindowState s = RateWindowStart(0);
  EXPECT_EQ(AllowedIn(&s, 5, kMinute, 0, 5), 5);
  EXPECT_FALSE(RateWindowDecide(&s, 5, kMinute, kMinute - 1, true).allowed);
  EXPECT_EQ(s.window_start, 0);
}

TEST(RateWindow, PreviousWindowWeighsByItsOverlap) {
  RateWindowState s = RateWindowStart(0);
  EXPECT_EQ(AllowedIn(&s, 100, kMinute, 0, 100), 100);
  // At the start of the next window the previous one still counts fully.
  EXPECT_FALSE(RateWindowDecide(&s, 100, kMinute, kMinute, true).allowed);
  EXPECT_EQ(s.previous, 100);
  EXPECT_EQ(s.current, 0);
  // A quarter in: 75 of the previous 100 still overlap, so 25 more.
  EXPECT_EQ(AllowedIn(&s, 100, kMinute, kMinute + kMinute / 4, 50), 25);
  // Half way: floor(100 * 0.5) + 25 = 75 used, 25 more.
  EXPECT_EQ(AllowedIn(&s, 100, kMinute, kMinute + kMinute / 2, 50), 25);
}

TEST(RateWindow, OverlapIsRoundedDownOneMicrosecondIn) {
  RateWindowState s = RateWindowStart(0);
  EXPECT_EQ(AllowedIn(&s, 3, kMinute, 0, 3), 3);
  // floor(3 * (w - 1) / w) = 2: one request fits a microsecond into the next window.
  EXPECT_EQ(AllowedIn(&s, 3, kMinute, kMinute + 1, 5), 1);
}

TEST(RateWindow, TwoIdleWindowsForgetEverything) {
  RateWindowState s = RateWindowStart(0);
  EXPECT_EQ(AllowedIn(&s, 10, kMinute, 0, 10), 10);
  EXPECT_EQ(AllowedIn(&s, 10, kMinute, 2 * kMinute, 20), 10);
  EXPECT_EQ(s.previous, 0);
  EXPECT_EQ(s.window_start, 2 * kMinute);
  // Far in the future: windows stay aligned to the first request.
  EXPECT_EQ(AllowedIn(&s, 10, kMinute, 1000 * kMinute + 7, 20), 10);
  EXPECT_EQ(s.window_start, 1000 * kMinute);
}

TEST(RateWindow, PeekDoesNotCount) {
  RateWindowState s = RateWindowStart(0);
  for (int i = 0; i < 10; i++) {
    RateDecision d = RateWindowDecide(&s, 2, kMinute, 5, false);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, 2);
  }
  EXPECT_EQ(s.current, 0);
}

TEST(RateWindow, ClockGoingBackwardsCountsAsNoTimePassing) {
  RateWindowState s = RateWindowStart(kMinute);
  EXPECT_EQ(AllowedIn(&s, 2, kMinute, kMinute, 2), 2);
  EXPECT_FALSE(RateWindowDecide(&s, 2, kMinute, 0, true).allowed);
  EXPECT_EQ(s.window_start, kMinute);
}

TEST(RateWindow, HugeCountsAndWindowsDoNotOverflow) {
  RateWindowState s = RateWindowStart(0);
  s.current = INT64_MAX / 2;
  const int64_t year = 365LL * 24 * 3600 * 1'000'000;
  RateDecision d = RateWindowDecide(&s, INT64_MAX, year, year + 1, true);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(s.previous, INT64_MAX / 2);
  EXPECT_GT(d.remaining, 0);
}

TEST(RateWindow, LimitOfOneWindowOfOneSecond) {
  RateWindowState s = RateWindowStart(0);
  EXPECT_TRUE(RateWindowDecide(&s, 1, 1'000'000, 0, true).allowed);
  EXPECT_FALSE(RateWindowDecide(&s, 1, 1'000'000, 999'999, true).allowed);
  // At 1.5 s: floor(1 * 0.5) = 0 of the previous window remains.
  EXPECT_TRUE(RateWindowDecide(&s, 1, 1'000'000, 1'500'000, true).allowed);
}

}  // namespace
}  // namespace insight::core
