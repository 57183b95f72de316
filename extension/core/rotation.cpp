#include "rotation.hpp"

namespace insight::core {

namespace {
__extension__ using Wide = __int128;  // GCC and Clang; -Wpedantic knows it as an extension
}

bool GraceAccepted(const GraceInterval& g) noexcept {
  // 128 bits: months * 30 days in microseconds overflows 64 bits for the
  // largest intervals PostgreSQL accepts.
  constexpr Wide kDay = Wide{24} * 3600 * 1000000;
  Wide total = Wide{g.usecs} + Wide{g.days} * kDay + Wide{g.months} * 30 * kDay;
  return total >= 0 && total <= kMaxGraceUsecs;
}

int64_t RotatedExpiry(int64_t grace_end, std::optional<int64_t> expires_at) noexcept {
  return expires_at && *expires_at < grace_end ? *expires_at : grace_end;
}

}  // namespace insight::core
