// Rotation's grace rules: accepted graces and the old key's capped expiry.
#include <gtest/gtest.h>

#include "rotation.hpp"

namespace insight::core {
namespace {

constexpr int64_t kHour = int64_t{3600} * 1000000;
constexpr int64_t kDay = 24 * kHour;

TEST(GraceAccepted, ZeroUpToSevenDays) {
  EXPECT_TRUE(GraceAccepted({0, 0, 0}));
  EXPECT_TRUE(GraceAccepted({0, 0, 1}));
  EXPECT_TRUE(GraceAccepted({0, 7, 0}));
  EXPECT_TRUE(GraceAccepted({0, 0, 7 * kDay}));
  EXPECT_TRUE(GraceAccepted({0, 6, 24 * kHour}));
}

TEST(GraceAccepted, NegativeRefused) {
  EXPECT_FALSE(GraceAccepted({0, 0, -1}));
  EXPECT_FALSE(GraceAccepted({0, -1, 0}));
  EXPECT_FALSE(GraceAccepted({-1, 0, 0}));
  // Mixed signs count as PostgreSQL compares them: -1 day + 25 hours = 1 hour.
  EXPECT_TRUE(GraceAccepted({0, -1, 25 * kHour}));
  EXPECT_FALSE(GraceAccepted({0, 1, -25 * kHour}));
}

TEST(GraceAccepted, OverSevenDaysRefused) {
  EXPECT_FALSE(GraceAccepted({0, 0, 7 * kDay + 1}));
  EXPECT_FALSE(GraceAccepted({0, 8, 0}));
  EXPECT_FALSE(GraceAccepted({1, 0, 0}));  // a month is 30 days
  EXPECT_FALSE(GraceAccepted({INT32_MAX, INT32_MAX, INT64_MAX}));
  EXPECT_FALSE(GraceAccepted({INT32_MIN, INT32_MIN, INT64_MIN}));
}

TEST(RotatedExpiry, GraceEndWithoutExpiry) {
  EXPECT_EQ(RotatedExpiry(1000, std::nullopt), 1000);
}

TEST(RotatedExpiry, CappedByTheOldExpiry) {
  // A key expiring in 1 hour rotated with 2 days of grace keeps its expiry.
  EXPECT_EQ(RotatedExpiry(2 * kDay, kHour), kHour);
  EXPECT_EQ(RotatedExpiry(kHour, 2 * kDay), kHour);
  EXPECT_EQ(RotatedExpiry(kHour, kHour), kHour);
}

}  // namespace
}  // namespace insight::core
