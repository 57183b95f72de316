#include "key_lifetime.hpp"

namespace insight::core {

namespace {
constexpr int64_t kUsecsPerDay = 86400LL * 1000000LL;
constexpr int32_t kMaxYears = 100;
// 100 years with 30-day months for the month part and 365.25-day years for
// the bound: generous, and far from any overflow.
constexpr int64_t kMaxDays = kMaxYears * 36525LL / 100LL;
}  // namespace

std::optional<int64_t> EffectiveExpiry(std::optional<int64_t> stored,
                                       std::optional<int64_t> policy_limit) noexcept {
  if (!stored) return policy_limit;
  if (!policy_limit) return stored;
  return *stored < *policy_limit ? stored : policy_limit;
}

bool ExpiredAt(std::optional<int64_t> effective, int64_t now) noexcept {
  return effective.has_value() && *effective <= now;
}

ExpiryVerdict CheckRequestedExpiry(bool require_expiry, std::optional<int64_t> latest_allowed,
                                   std::optional<int64_t> requested) noexcept {
  // Without require_expiry a key may have no expiry: max_key_lifetime alone
  // then bounds its effective expiry (created_at + lifetime).
  if (!requested) return require_expiry ? ExpiryVerdict::ExpiryRequired : ExpiryVerdict::Allowed;
  if (latest_allowed && *requested > *latest_allowed) return ExpiryVerdict::ExpiryTooLate;
  return ExpiryVerdict::Allowed;
}

bool AcceptablePolicyInterval(int32_t months, int32_t days, int64_t usecs) noexcept {
  if (months < 0 || days < 0 || usecs < 0) return false;
  if (months == 0 && days == 0 && usecs == 0) return false;
  if (months > kMaxYears * 12 || days > kMaxDays || usecs > kMaxDays * kUsecsPerDay) return false;
  int64_t total_days = static_cast<int64_t>(months) * 30 + days + usecs / kUsecsPerDay;
  return total_days <= kMaxDays;
}

}  // namespace insight::core
