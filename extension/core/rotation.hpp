// Rotation's grace period: which graces are accepted and when the old key
// stops working. Pure, so the rules are unit-tested without a server.
#pragma once
#include "cpp_only.hpp"

#include <cstdint>
#include <optional>

namespace insight::core {

// The longest grace rotate_key accepts.
constexpr int64_t kMaxGraceUsecs = int64_t{7} * 24 * 3600 * 1000000;

// A PostgreSQL interval's fields. Months count 30 days and days 24 hours, as
// PostgreSQL compares intervals (interval '1 mon' > interval '7 days').
struct GraceInterval {
  int32_t months = 0;
  int32_t days = 0;
  int64_t usecs = 0;
};

// Not negative and at most 7 days.
bool GraceAccepted(const GraceInterval& grace) noexcept;

// The instant the old key stops answering VALID (its new expires_at):
// now + grace, but never later than the expiry it already had.
int64_t RotatedExpiry(int64_t grace_end, std::optional<int64_t> expires_at) noexcept;

}  // namespace insight::core
