// The permission matrix (README "Roles and permissions"), as pure functions
// over the facts about the acting principal. Both the SQL functions and the row-level security
// predicates ask these functions, so the two can never disagree.
#pragma once
#include "cpp_only.hpp"

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "key_codec.hpp"
#include "uuid.hpp"

namespace insight::core {

enum class Role : uint8_t { None, ReadOnly, ReadWrite, OrgAdmin };

enum class PrincipalKind : uint8_t {
  Nobody,    // sees nothing, may do nothing
  Operator,  // the platform itself: superusers and insight_operator members
  User,      // a person: act_as, or the db_role mapping
  UserKey,   // authenticate() with a user key: its owner, limited to one org
  OrgKey,    // authenticate() with an organization key: org_admin of one org
};

struct Membership {
  Uuid org;
  Role role = Role::None;
};

// Everything the decisions need, loaded fresh for each statement.
struct PrincipalFacts {
  PrincipalKind kind = PrincipalKind::Nobody;
  Uuid user;                            // User, UserKey: the person
  Uuid org;                             // UserKey, OrgKey: the only organization it may act in
  bool platform_admin = false;          // User, UserKey: the person's current flag
  std::vector<Membership> memberships;  // User, UserKey: the person's current roles
  // UserKey, OrgKey: the key's max_role (docs/SECURITY.md, "Narrower keys").
  // Every role the key holds is the lower of this and what it would hold
  // without it; OrgAdmin with key_capped false is no ceiling.
  bool key_capped = false;
  Role key_ceiling = Role::OrgAdmin;
};

// A role name as stored ("org_admin", "read_write", "read_only"); nullopt otherwise.
std::optional<Role> ParseRole(std::string_view name) noexcept;
std::string_view RoleName(Role role) noexcept;

// The lower of two roles, in the order None < ReadOnly < ReadWrite < OrgAdmin.
Role LowerRole(Role a, Role b) noexcept;
// The role verify() reports for a key: the holder's role (platform admin
// above org_admin) under the key's max_role, if it has one.
std::string_view CappedKeyRole(KeyKind kind, bool platform_admin, Role membership, bool capped,
                               Role max_role) noexcept;

// Role the principal holds in org, taking platform admin as org_admin.
Role EffectiveRole(const PrincipalFacts& p, const Uuid& org) noexcept;
// The role verify() reports for a user key: platform_admin, else the membership role.
std::string_view ReportedRole(bool platform_admin, Role membership) noexcept;

// Operator or platform admin acting as a person (not through a key).
bool IsPlatformWide(const PrincipalFacts& p) noexcept;

bool MayGenerateUserKey(const PrincipalFacts& p, const Uuid& org) noexcept;
bool MayGenerateOrgKey(const PrincipalFacts& p, const Uuid& org) noexcept;
// View and revoke coincide in every row of the matrix.
bool MayViewKey(const PrincipalFacts& p, KeyKind kind, const Uuid& org, const Uuid* owner) noexcept;
bool MayAdministerIdentities(const PrincipalFacts& p) noexcept;
// Only people (and the operator): keys view and revoke, never administer.
bool MayManageMemberships(const PrincipalFacts& p, const Uuid& org) noexcept;
bool MayViewOrganization(const PrincipalFacts& p, const Uuid& org) noexcept;
// The members of org (their user rows): whoever holds org_admin rights there,
// keys included.
bool MayViewMembers(const PrincipalFacts& p, const Uuid& org) noexcept;
bool MayViewMembership(const PrincipalFacts& p, const Uuid& user, const Uuid& org) noexcept;
bool MayViewUser(const PrincipalFacts& p, const Uuid& user) noexcept;
bool MayViewAuditEvent(const PrincipalFacts& p, const Uuid* org, const Uuid* actor_user,
                       const Uuid* subject_user) noexcept;
bool MayViewCascades(const PrincipalFacts& p) noexcept;
// insight.acts_in_org(): the operator, a platform admin, a member, or a key of that organization.
bool ActsInOrg(const PrincipalFacts& p, const Uuid& org) noexcept;

}  // namespace insight::core
