// Organization policies on key lifetime (docs/DESIGN.md, "Organization
// policies"): the effective expiry of a key and the checks made when a key is
// generated. Pure arithmetic on microsecond timestamps (PostgreSQL's
// TimestampTz), so every branch is unit-tested without a server.
#pragma once
#include "cpp_only.hpp"

#include <cstdint>
#include <optional>

namespace insight::core {

// least(expires_at, created_at + max_key_lifetime), where NULL means "never":
// the stored expiry, capped by the policy's limit (created_at + lifetime,
// computed by the caller in the server's calendar arithmetic).
std::optional<int64_t> EffectiveExpiry(std::optional<int64_t> stored,
                                       std::optional<int64_t> policy_limit) noexcept;

// A key whose effective expiry is not after now answers EXPIRED.
bool ExpiredAt(std::optional<int64_t> effective, int64_t now) noexcept;

enum class ExpiryVerdict { Allowed, ExpiryRequired, ExpiryTooLate };

// The expiry asked for a new key against its organization's policy:
// require_expiry refuses no expiry; latest_allowed (now + max_key_lifetime)
// refuses an expiry after it (a key without an expiry is allowed then: its
// effective expiry is created_at + max_key_lifetime).
ExpiryVerdict CheckRequestedExpiry(bool require_expiry, std::optional<int64_t> latest_allowed,
                                   std::optional<int64_t> requested) noexcept;

// A policy interval (PostgreSQL's interval: months, days, microseconds) is
// accepted only if no part is negative, the whole is positive and it is at
// most 100 years (so created_at + it never leaves the timestamp range).
bool AcceptablePolicyInterval(int32_t months, int32_t days, int64_t usecs) noexcept;

}  // namespace insight::core
