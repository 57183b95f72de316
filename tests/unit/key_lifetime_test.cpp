// Effective expiry and the generation checks of an organization's policy.
#include <gtest/gtest.h>

#include "key_lifetime.hpp"

namespace insight::core {
namespace {

constexpr int64_t kDay = 86400LL * 1000000LL;

TEST(EffectiveExpiry, NeitherMeansNever) {
  EXPECT_EQ(EffectiveExpiry(std::nullopt, std::nullopt), std::nullopt);
}

TEST(EffectiveExpiry, StoredOnly) { EXPECT_EQ(EffectiveExpiry(100, std::nullopt), 100); }

TEST(EffectiveExpiry, PolicyOnly) { EXPECT_EQ(EffectiveExpiry(std::nullopt, 70), 70); }

TEST(EffectiveExpiry, TheEarlierWins) {
  EXPECT_EQ(EffectiveExpiry(100, 70), 70);
  EXPECT_EQ(EffectiveExpiry(70, 100), 70);
  EXPECT_EQ(EffectiveExpiry(70, 70), 70);
  EXPECT_EQ(EffectiveExpiry(-5, 3), -5);
}

TEST(ExpiredAt, AtTheInstantAndAfter) {
  EXPECT_FALSE(ExpiredAt(std::nullopt, 0));
  EXPECT_FALSE(ExpiredAt(101, 100));
  EXPECT_TRUE(ExpiredAt(100, 100));
  EXPECT_TRUE(ExpiredAt(99, 100));
}

TEST(CheckRequestedExpiry, NoPolicyAllowsAnything) {
  EXPECT_EQ(CheckRequestedExpiry(false, std::nullopt, std::nullopt), ExpiryVerdict::Allowed);
  EXPECT_EQ(CheckRequestedExpiry(false, std::nullopt, 5), ExpiryVerdict::Allowed);
}

TEST(CheckRequestedExpiry, RequireExpiry) {
  EXPECT_EQ(CheckRequestedExpiry(true, std::nullopt, std::nullopt), ExpiryVerdict::ExpiryRequired);
  EXPECT_EQ(CheckRequestedExpiry(true, std::nullopt, 5), ExpiryVerdict::Allowed);
}

TEST(CheckRequestedExpiry, MaxLifetime) {
  EXPECT_EQ(CheckRequestedExpiry(false, 100, 100), ExpiryVerdict::Allowed);
  EXPECT_EQ(CheckRequestedExpiry(false, 100, 99), ExpiryVerdict::Allowed);
  EXPECT_EQ(CheckRequestedExpiry(false, 100, 101), ExpiryVerdict::ExpiryTooLate);
  EXPECT_EQ(CheckRequestedExpiry(true, 100, 101), ExpiryVerdict::ExpiryTooLate);
  EXPECT_EQ(CheckRequestedExpiry(false, 100, std::nullopt), ExpiryVerdict::Allowed);
  EXPECT_EQ(CheckRequestedExpiry(true, 100, std::nullopt), ExpiryVerdict::ExpiryRequired);
}

TEST(AcceptablePolicyInterval, PositiveParts) {
  EXPECT_TRUE(AcceptablePolicyInterval(0, 0, 1));
  EXPECT_TRUE(AcceptablePolicyInterval(0, 1, 0));
  EXPECT_TRUE(AcceptablePolicyInterval(1, 0, 0));
  EXPECT_TRUE(AcceptablePolicyInterval(12, 3, 4 * kDay));
}

TEST(AcceptablePolicyInterval, ZeroOrNegative) {
  EXPECT_FALSE(AcceptablePolicyInterval(0, 0, 0));
  EXPECT_FALSE(AcceptablePolicyInterval(0, 0, -1));
  EXPECT_FALSE(AcceptablePolicyInterval(0, -1, 0));
  EXPECT_FALSE(AcceptablePolicyInterval(-1, 0, 0));
  // "1 mon -29 days" compares as positive, but is a negative lifetime in February.
  EXPECT_FALSE(AcceptablePolicyInterval(1, -29, 0));
  EXPECT_FALSE(AcceptablePolicyInterval(0, 2, -kDay));
}

TEST(AcceptablePolicyInterval, AtMostAHundredYears) {
  EXPECT_TRUE(AcceptablePolicyInterval(1200, 0, 0));
  EXPECT_FALSE(AcceptablePolicyInterval(1201, 0, 0));
  EXPECT_TRUE(AcceptablePolicyInterval(0, 36525, 0));
  EXPECT_FALSE(AcceptablePolicyInterval(0, 36526, 0));
  EXPECT_FALSE(AcceptablePolicyInterval(0, 0, 36526 * kDay));
  EXPECT_TRUE(AcceptablePolicyInterval(1200, 525, 0));
  EXPECT_FALSE(AcceptablePolicyInterval(1200, 526, 0));
  EXPECT_FALSE(AcceptablePolicyInterval(INT32_MAX, INT32_MAX, INT64_MAX));
}

}  // namespace
}  // namespace insight::core
