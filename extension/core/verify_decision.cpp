#include "verify_decision.hpp"

namespace insight::core {

std::string_view VerifyCodeName(VerifyCode code) noexcept {
  switch (code) {
    case VerifyCode::Valid:
      return "VALID";
    case VerifyCode::Malformed:
      return "MALFORMED";
    case VerifyCode::NotFound:
      return "NOT_FOUND";
    case VerifyCode::Expired:
      return "EXPIRED";
    case VerifyCode::OwnerInactive:
      return "OWNER_INACTIVE";
    case VerifyCode::Disabled:
      return "DISABLED";
    case VerifyCode::Forbidden:
      return "FORBIDDEN";
    case VerifyCode::InsufficientPermissions:
      return "INSUFFICIENT_PERMISSIONS";
    case VerifyCode::RateLimited:
      return "RATE_LIMITED";
  }
  return "NOT_FOUND";
}

VerifyOutcome DecideVerify(bool found, const KeyFacts& f) noexcept {
  // A wrong secret for an existing lookup id is indistinguishable from an
  // unknown key: no existence oracle.
  if (!found || !f.hash_matches) return {VerifyCode::NotFound, {}};
  // Disabled before expired: a key someone contained answers so even after
  // its expiry, and the holder learns nothing more than that.
  if (f.disabled) return {VerifyCode::Disabled, {}};
  if (f.expired) return {VerifyCode::Expired, {}};
  if (!f.org_exists) return {VerifyCode::OwnerInactive, {}};
  if (f.kind == KeyKind::Organization) {
    return {VerifyCode::Valid, CappedKeyRole(f.kind, false, Role::OrgAdmin, f.has_max_role, f.max_role)};
  }
  if (!f.owner_exists) return {VerifyCode::OwnerInactive, {}};
  // A platform admin may hold user keys in organizations they do not belong to.
  if (!f.owner_platform_admin && f.owner_role == Role::None) {
    return {VerifyCode::OwnerInactive, {}};
  }
  return {VerifyCode::Valid, CappedKeyRole(f.kind, f.owner_platform_admin, f.owner_role,
                                           f.has_max_role, f.max_role)};
}

VerifyOutcome DecideCheck(const VerifyOutcome& verified, const KeySettings& s,
                          const CheckRequest& r) noexcept {
  if (verified.code != VerifyCode::Valid) return verified;
  if (s.invalid || !AddressAllowed(s, r.has_address, r.family, r.addr)) {
    return {VerifyCode::Forbidden, {}};
  }
  if (r.has_permission && !AnyScopeMatches(s, r.permission)) {
    return {VerifyCode::InsufficientPermissions, {}};
  }
  return verified;
}

}  // namespace insight::core
