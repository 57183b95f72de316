#include "permissions.hpp"

namespace insight::core {

namespace {

bool IsPerson(const PrincipalFacts& p) noexcept {
  return p.kind == PrincipalKind::User || p.kind == PrincipalKind::UserKey;
}

Role MembershipRole(const PrincipalFacts& p, const Uuid& org) noexcept {
  for (const Membership& m : p.memberships) {
    if (m.org == org) return m.role;
  }
  return Role::None;
}

// A key principal acts in its own organization and nowhere else.
bool OutsideKeyScope(const PrincipalFacts& p, const Uuid& org) noexcept {
  return (p.kind == PrincipalKind::UserKey || p.kind == PrincipalKind::OrgKey) && p.org != org;
}

}  // namespace

std::optional<Role> ParseRole(std::string_view name) noexcept {
  if (name == "org_admin") return Role::OrgAdmin;
  if (name == "read_write") return Role::ReadWrite;
  if (name == "read_only") return Role::ReadOnly;
  return std::nullopt;
}

std::string_view RoleName(Role role) noexcept {
  switch (role) {
    case Role::OrgAdmin:
      return "org_admin";
    case Role::ReadWrite:
      return "read_write";
    case Role::ReadOnly:
      return "read_only";
    case Role::None:
      break;
  }
  return "";
}

Role LowerRole(Role a, Role b) noexcept {
  return static_cast<uint8_t>(a) < static_cast<uint8_t>(b) ? a : b;
}

std::string_view CappedKeyRole(KeyKind kind, bool platform_admin, Role membership, bool capped,
                               Role max_role) noexcept {
  if (kind == KeyKind::Organization) return RoleName(capped ? LowerRole(Role::OrgAdmin, max_role) : Role::OrgAdmin);
  if (!capped) return ReportedRole(platform_admin, membership);
  // platform_admin ranks above org_admin, so any max_role is below it.
  return RoleName(LowerRole(platform_admin ? Role::OrgAdmin : membership, max_role));
}

Role EffectiveRole(const PrincipalFacts& p, const Uuid& org) noexcept {
  if (OutsideKeyScope(p, org)) return Role::None;
  switch (p.kind) {
    case PrincipalKind::OrgKey:
      return LowerRole(Role::OrgAdmin, p.key_ceiling);
    case PrincipalKind::UserKey:
      return LowerRole(p.platform_admin ? Role::OrgAdmin : MembershipRole(p, org), p.key_ceiling);
    case PrincipalKind::User:
      return p.platform_admin ? Role::OrgAdmin : MembershipRole(p, org);
    case PrincipalKind::Operator:
    case PrincipalKind::Nobody:
      break;
  }
  return Role::None;
}

std::string_view ReportedRole(bool platform_admin, Role membership) noexcept {
  return platform_admin ? "platform_admin" : RoleName(membership);
}

bool IsPlatformWide(const PrincipalFacts& p) noexcept {
  return p.kind == PrincipalKind::Operator || (p.kind == PrincipalKind::User && p.platform_admin);
}

bool MayGenerateUserKey(const PrincipalFacts& p, const Uuid& org) noexcept {
  // Only a person, never a key, and only for themself.
  return p.kind == PrincipalKind::User && EffectiveRole(p, org) != Role::None;
}

bool MayGenerateOrgKey(const PrincipalFacts& p, const Uuid& org) noexcept {
  if (p.kind == PrincipalKind::Operator) return true;
  return p.kind == PrincipalKind::User && EffectiveRole(p, org) == Role::OrgAdmin;
}

bool MayViewKey(const PrincipalFacts& p, KeyKind kind, const Uuid& org,
                const Uuid* owner) noexcept {
  if (IsPlatformWide(p)) return true;
  if (OutsideKeyScope(p, org)) return false;
  if (EffectiveRole(p, org) == Role::OrgAdmin) return true;
  return IsPerson(p) && kind == KeyKind::User && owner != nullptr && *owner == p.user;
}

bool MayAdministerIdentities(const PrincipalFacts& p) noexcept { return IsPlatformWide(p); }

bool MayManageMemberships(const PrincipalFacts& p, const Uuid& org) noexcept {
  // Never a key: a leaked key that could make someone an org admin could have
  // keys generated that outlive its own revocation.
  return IsPlatformWide(p) ||
         (p.kind == PrincipalKind::User && EffectiveRole(p, org) == Role::OrgAdmin);
}

bool MayViewOrganization(const PrincipalFacts& p, const Uuid& org) noexcept {
  return IsPlatformWide(p) || EffectiveRole(p, org) != Role::None;
}

bool MayViewMembers(const PrincipalFacts& p, const Uuid& org) noexcept {
  return IsPlatformWide(p) || EffectiveRole(p, org) == Role::OrgAdmin;
}

bool MayViewMembership(const PrincipalFacts& p, const Uuid& user, const Uuid& org) noexcept {
  if (IsPlatformWide(p)) return true;
  if (OutsideKeyScope(p, org)) return false;
  return (IsPerson(p) && user == p.user) || EffectiveRole(p, org) == Role::OrgAdmin;
}

bool MayViewUser(const PrincipalFacts& p, const Uuid& user) noexcept {
  return IsPlatformWide(p) || (IsPerson(p) && user == p.user);
}

bool MayViewAuditEvent(const PrincipalFacts& p, const Uuid* org, const Uuid* actor_user,
                       const Uuid* subject_user) noexcept {
  if (IsPlatformWide(p)) return true;
  if (p.kind == PrincipalKind::Nobody || p.kind == PrincipalKind::Operator) return false;
  if (org != nullptr && EffectiveRole(p, *org) == Role::OrgAdmin) return true;
  if (!IsPerson(p)) return false;
  if (p.kind == PrincipalKind::UserKey && (org == nullptr || *org != p.org)) return false;
  return (actor_user != nullptr && *actor_user == p.user) ||
         (subject_user != nullptr && *subject_user == p.user);
}

bool MayViewCascades(const PrincipalFacts& p) noexcept { return IsPlatformWide(p); }

bool ActsInOrg(const PrincipalFacts& p, const Uuid& org) noexcept {
  switch (p.kind) {
    case PrincipalKind::Operator:
      return true;
    case PrincipalKind::User:
      return p.platform_admin || MembershipRole(p, org) != Role::None;
    case PrincipalKind::UserKey:
    case PrincipalKind::OrgKey:
      // The principal is a key only while verify answers VALID for it, which
      // for a user key requires its owner's membership (or platform admin).
      return p.org == org;
    case PrincipalKind::Nobody:
      break;
  }
  return false;
}

}  // namespace insight::core
