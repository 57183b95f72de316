// What verify() answers, decided from the facts read about one key. Pure, so
// every branch is unit-tested without a server.
#pragma once
#include "cpp_only.hpp"

#include <cstdint>
#include <string_view>

#include "key_codec.hpp"
#include "key_settings.hpp"
#include "permissions.hpp"

namespace insight::core {

// New codes are appended (the numeric values are counters' indexes elsewhere);
// the order in which they are decided is DecideVerify's and DecideCheck's, not this one.
enum class VerifyCode : uint8_t {
  Valid,
  Malformed,
  NotFound,
  Expired,
  OwnerInactive,
  Disabled,
  Forbidden,
  InsufficientPermissions,
  RateLimited,
};

std::string_view VerifyCodeName(VerifyCode code) noexcept;

// The stored row and the current state of its owner, as read in one snapshot.
struct KeyFacts {
  KeyKind kind = KeyKind::User;
  bool hash_matches = false;  // constant-time comparison of the secret's hash
  bool expired = false;       // expires_at is set and not after now
  bool org_exists = false;
  bool owner_exists = false;  // user keys
  bool owner_platform_admin = false;
  Role owner_role = Role::None;  // the owner's membership role in the key's org
  bool disabled = false;         // disabled_at is set (insight.disable_key)
  bool has_max_role = false;     // the key's settings: max_role
  Role max_role = Role::OrgAdmin;
};

struct VerifyOutcome {
  VerifyCode code = VerifyCode::NotFound;
  std::string_view role;  // effective role when Valid, else empty
};

// found == false: no key with that lookup id.
VerifyOutcome DecideVerify(bool found, const KeyFacts& facts) noexcept;

// What check() adds after DecideVerify answered VALID, in its order: the
// address (FORBIDDEN), then the permission (INSUFFICIENT_PERMISSIONS). The
// rate limit, the last step, is the caller's (shared memory). Settings that
// did not parse fail closed (FORBIDDEN). Any other outcome is returned as is.
struct CheckRequest {
  bool has_permission = false;
  std::string_view permission;
  bool has_address = false;
  uint8_t family = 0;
  const uint8_t* addr = nullptr;
};
VerifyOutcome DecideCheck(const VerifyOutcome& verified, const KeySettings& settings,
                          const CheckRequest& request) noexcept;

}  // namespace insight::core
