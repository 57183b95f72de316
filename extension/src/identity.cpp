// Identity administration: organizations, users, memberships.
// Auditing and cascade enqueueing happen in the identity trigger
// (identity_changes.cpp), so a DBA's direct DELETE/UPDATE is treated the same.
#include "identity.hpp"

#include <optional>

#include "arguments.hpp"
#include "principal.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
}

namespace insight {

// How long an identity change waits for a row lock held by another
// transaction (docs/SECURITY.md, "Lock waits"): an open transaction of a
// lower-privileged role (an org admin's set_membership, anyone's generate_*)
// can hold locks on a user's rows, and must not stall administration
// indefinitely. 0 waits as long as lock_timeout allows.
int g_identity_lock_timeout_ms = 5000;

namespace {

constexpr size_t kMaxEmailLen = 320;

Statement g_org_by_name = {"SELECT 1 FROM insight.organizations WHERE name = $1", 1, {TEXTOID}, nullptr};
Statement g_insert_org = {"INSERT INTO insight.organizations (name) VALUES ($1) RETURNING id", 1,
                          {TEXTOID}, nullptr};
Statement g_delete_org = {"DELETE FROM insight.organizations WHERE id = $1", 1, {UUIDOID}, nullptr};
Statement g_org_exists = {"SELECT 1 FROM insight.organizations WHERE id = $1 FOR SHARE", 1, {UUIDOID},
                          nullptr};
Statement g_user_by_email = {"SELECT 1 FROM insight.users WHERE lower(email) = lower($1)", 1,
                             {TEXTOID}, nullptr};
Statement g_user_by_db_role = {"SELECT 1 FROM insight.users WHERE db_role = $1", 1, {NAMEOID}, nullptr};
Statement g_insert_user = {
    "INSERT INTO insight.users (email, display_name, is_platform_admin, db_role) "
    "VALUES ($1, $2, $3, $4) RETURNING id",
    4, {TEXTOID, TEXTOID, BOOLOID, NAMEOID}, nullptr};
// KEY SHARE, like the membership's foreign key: holds the user against
// deletion without blocking a platform admin's other changes to the user.
Statement g_user_exists = {"SELECT 1 FROM insight.users WHERE id = $1 FOR KEY SHARE", 1, {UUIDOID},
                           nullptr};
Statement g_upsert_membership = {
    "INSERT INTO insight.memberships (user_id, org_id, role) VALUES ($1, $2, $3) "
    "ON CONFLICT (user_id, org_id) DO UPDATE SET role = EXCLUDED.role, updated_at = now() "
    "WHERE memberships.role IS DISTINCT FROM EXCLUDED.role",
    3, {UUIDOID, UUIDOID, TEXTOID}, nullptr};
// FOR NO KEY UPDATE: the membership an org admin changes stays until its
// upsert (a concurrent removal cannot turn a role change into a re-add).
Statement g_lock_member = {
    "SELECT 1 FROM insight.memberships WHERE user_id = $1 AND org_id = $2 FOR NO KEY UPDATE", 2,
    {UUIDOID, UUIDOID}, nullptr};
// Whom an org admin may add: any user but a platform admin.
Statement g_addable_user = {
    "SELECT 1 FROM insight.users WHERE id = $1 AND NOT is_platform_admin FOR KEY SHARE", 1,
    {UUIDOID}, nullptr};
Statement g_delete_membership = {"DELETE FROM insight.memberships WHERE user_id = $1 AND org_id = $2",
                                 2, {UUIDOID, UUIDOID}, nullptr};
Statement g_set_platform_admin = {
    "UPDATE insight.users SET is_platform_admin = $2 WHERE id = $1", 2, {UUIDOID, BOOLOID}, nullptr};
Statement g_delete_user = {"DELETE FROM insight.users WHERE id = $1", 1, {UUIDOID}, nullptr};

core::Uuid RequiredUuid(FunctionCallInfo fcinfo, int argno, const char* what) {
  if (PG_ARGISNULL(argno)) {
    throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, std::string(what) + " must not be null");
  }
  return UuidFromDatum(PG_GETARG_DATUM(argno));
}

bool PlausibleEmail(const std::string& email) {
  size_t at = email.find('@');
  if (at == std::string::npos || at == 0 || at + 1 >= email.size()) return false;
  if (email.find('@', at + 1) != std::string::npos) return false;
  for (unsigned char c : email) {
    if (c <= ' ' || c == 0x7f) return false;
  }
  return true;
}

void RequireAdministrator(const core::PrincipalFacts& facts, const char* action) {
  if (!core::MayAdministerIdentities(facts)) {
    throw SqlError(ERRCODE_INSUFFICIENT_PRIVILEGE,
                   std::string("permission denied to ") + action,
                   "Only the operator or a platform administrator may do this.");
  }
}

// Inside an Elevated scope (whose GUC nest level restores it): bounds every
// lock wait of the change by insight.identity_lock_timeout, or by the
// caller's own lock_timeout when that is shorter.
void BoundLockWaits() {
  int bound = g_identity_lock_timeout_ms;
  if (bound <= 0) return;
  PgCall([bound]() {
    if (LockTimeout > 0 && LockTimeout <= bound) return;
    char value[32];
    snprintf(value, sizeof value, "%d", bound);
    (void) set_config_option("lock_timeout", value, PGC_SUSET, PGC_S_SESSION, GUC_ACTION_SAVE,
                             true, 0, false);
  });
}

// Runs `change` elevated, with the acting principal recorded for the trigger.
template <typename Fn>
auto AsActor(Fn&& change) {
  Actor actor = CurrentActor();
  Elevated e = Elevated::Begin();
  BoundLockWaits();
  PushActor(actor);
  try {
    auto result = change();
    PopActor();
    e.End();
    return result;
  } catch (const PgError& err) {
    if (err.edata()->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE) throw;
  }
  throw SqlError(ERRCODE_LOCK_NOT_AVAILABLE,
                 "another transaction holds a lock on a row this change needs",
                 "An open transaction is using this user, membership or organization (for "
                 "example an uncommitted set_membership or key generation); retry when it ends, "
                 "or end it. See insight.identity_lock_timeout.");
}

}  // namespace

static Datum CreateOrganization(FunctionCallInfo fcinfo) {
  std::string name = RequiredText(fcinfo, 0, "name", kMaxTextLen);
  RequireAdministrator(LockedFactsForDecision(nullptr), "create an organization");
  core::Uuid id = AsActor([&]() {
    Datum arg = TextToDatum(name);
    if (Run(g_org_by_name, &arg, nullptr, false) > 0) {
      throw SqlError(ERRCODE_UNIQUE_VIOLATION, "an organization with this name already exists");
    }
    Run(g_insert_org, &arg, nullptr, false);
    return ColumnUuid(0, 1);
  });
  return UuidToDatum(id);
}

static Datum DeleteOrganization(FunctionCallInfo fcinfo) {
  core::Uuid org = RequiredUuid(fcinfo, 0, "org_id");
  RequireAdministrator(LockedFactsForDecision(nullptr), "delete an organization");
  AsActor([&]() {
    Datum arg = UuidToDatum(org);
    if (Run(g_delete_org, &arg, nullptr, false) == 0) {
      throw SqlError(ERRCODE_NO_DATA_FOUND, "organization not found");
    }
    return true;
  });
  PG_RETURN_VOID();
}

static Datum CreateUser(FunctionCallInfo fcinfo) {
  std::string email = RequiredText(fcinfo, 0, "email", kMaxEmailLen);
  if (!PlausibleEmail(email)) throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "email is not a valid address");
  bool has_display = PG_NARGS() > 1 && !PG_ARGISNULL(1);
  std::string display = has_display ? TextFromDatum(PG_GETARG_DATUM(1)) : std::string();
  if (display.size() > kMaxTextLen) {
    throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "display_name must be at most 200 bytes");
  }
  bool platform_admin = PG_NARGS() > 2 && !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);
  bool has_role = PG_NARGS() > 3 && !PG_ARGISNULL(3);
  Datum role_arg = has_role ? PG_GETARG_DATUM(3) : Datum(0);
  if (has_role) {
    const char* role = NameStr(*DatumGetName(role_arg));
    if (!OidIsValid(PgCall([role]() { return get_role_oid(role, true); }))) {
      throw SqlError(ERRCODE_UNDEFINED_OBJECT, "db_role is not an existing role");
    }
  }
  RequireAdministrator(LockedFactsForDecision(nullptr), "create a user");
  core::Uuid id = AsActor([&]() {
    Datum email_arg = TextToDatum(email);
    if (Run(g_user_by_email, &email_arg, nullptr, false) > 0) {
      throw SqlError(ERRCODE_UNIQUE_VIOLATION, "a user with this email already exists");
    }
    if (has_role && Run(g_user_by_db_role, &role_arg, nullptr, false) > 0) {
      throw SqlError(ERRCODE_UNIQUE_VIOLATION, "this db_role is already mapped to a user");
    }
    Datum values[4] = {email_arg, has_display ? TextToDatum(display) : Datum(0),
                       BoolGetDatum(platform_admin), role_arg};
    char nulls[5] = "    ";
    if (!has_display) nulls[1] = 'n';
    if (!has_role) nulls[3] = 'n';
    Run(g_insert_user, values, nulls, false);
    return ColumnUuid(0, 1);
  });
  return UuidToDatum(id);
}

namespace {

// The membership change of set_membership, after the caller's rights in org
// were decided. An org admin (not platform-wide) may set the role of a current
// member of its organization, or add any user who is not a platform admin; any
// other uuid, existing or not, answers the same "user not found" after the
// same two probes (docs/SECURITY.md, "What an org admin learns about its
// members"). A platform-wide caller's org is looked up; an org admin's is held
// by its own locked membership (the foreign key), so it is not locked again
// (that order could deadlock with a deletion of the organization).
void ChangeMembership(const core::Uuid& user, const core::Uuid& org, const std::string& role,
                      bool platform_wide) {
  AsActor([&]() {
    Datum args[3] = {UuidToDatum(user), UuidToDatum(org), TextToDatum(role)};
    if (platform_wide) {
      if (Run(g_user_exists, args, nullptr, false) == 0) throw SqlError(ERRCODE_NO_DATA_FOUND, "user not found");
      if (Run(g_org_exists, &args[1], nullptr, false) == 0) {
        throw SqlError(ERRCODE_NO_DATA_FOUND, "organization not found");
      }
    } else {
      bool member = Run(g_lock_member, args, nullptr, false) > 0;
      bool addable = Run(g_addable_user, args, nullptr, false) > 0;
      if (!member && !addable) throw SqlError(ERRCODE_NO_DATA_FOUND, "user not found");
    }
    Run(g_upsert_membership, args, nullptr, false);
    return true;
  });
}

std::string RequiredRole(FunctionCallInfo fcinfo, int argno) {
  std::string role = RequiredText(fcinfo, argno, "role", kMaxTextLen);
  if (!core::ParseRole(role)) {
    throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "role must be org_admin, read_write or read_only");
  }
  return role;
}

// The caller's latest committed rights in org, locked; 42501 without them.
core::PrincipalFacts RequireMembershipManager(const core::Uuid& org) {
  core::PrincipalFacts facts = LockedFactsForDecision(&org);
  if (!core::MayManageMemberships(facts, org)) {
    throw SqlError(ERRCODE_INSUFFICIENT_PRIVILEGE, "permission denied to manage memberships of this organization");
  }
  return facts;
}

}  // namespace

static Datum SetMembership(FunctionCallInfo fcinfo) {
  core::Uuid user = RequiredUuid(fcinfo, 0, "user_id");
  core::Uuid org = RequiredUuid(fcinfo, 1, "org_id");
  std::string role = RequiredRole(fcinfo, 2);
  core::PrincipalFacts facts = RequireMembershipManager(org);
  ChangeMembership(user, org, role, core::IsPlatformWide(facts));
  PG_RETURN_VOID();
}

static Datum RemoveMembership(FunctionCallInfo fcinfo) {
  core::Uuid user = RequiredUuid(fcinfo, 0, "user_id");
  core::Uuid org = RequiredUuid(fcinfo, 1, "org_id");
  if (!core::MayManageMemberships(LockedFactsForDecision(&org), org)) {
    throw SqlError(ERRCODE_INSUFFICIENT_PRIVILEGE, "permission denied to manage memberships of this organization");
  }
  AsActor([&]() {
    Datum args[2] = {UuidToDatum(user), UuidToDatum(org)};
    if (Run(g_delete_membership, args, nullptr, false) == 0) {
      throw SqlError(ERRCODE_NO_DATA_FOUND, "membership not found");
    }
    return true;
  });
  PG_RETURN_VOID();
}

static Datum SetPlatformAdmin(FunctionCallInfo fcinfo) {
  core::Uuid user = RequiredUuid(fcinfo, 0, "user_id");
  if (PG_ARGISNULL(1)) throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "is_admin must not be null");
  bool is_admin = PG_GETARG_BOOL(1);
  RequireAdministrator(LockedFactsForDecision(nullptr), "change platform administrators");
  AsActor([&]() {
    Datum args[2] = {UuidToDatum(user), BoolGetDatum(is_admin)};
    if (Run(g_set_platform_admin, args, nullptr, false) == 0) {
      throw SqlError(ERRCODE_NO_DATA_FOUND, "user not found");
    }
    return true;
  });
  PG_RETURN_VOID();
}

static Datum DeleteUser(FunctionCallInfo fcinfo) {
  core::Uuid user = RequiredUuid(fcinfo, 0, "user_id");
  RequireAdministrator(LockedFactsForDecision(nullptr), "delete a user");
  AsActor([&]() {
    Datum arg = UuidToDatum(user);
    if (Run(g_delete_user, &arg, nullptr, false) == 0) throw SqlError(ERRCODE_NO_DATA_FOUND, "user not found");
    return true;
  });
  PG_RETURN_VOID();
}

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_create_organization, insight::CreateOrganization)
INSIGHT_SQL_FUNCTION(insight_delete_organization, insight::DeleteOrganization)
INSIGHT_SQL_FUNCTION(insight_create_user, insight::CreateUser)
INSIGHT_SQL_FUNCTION(insight_set_membership, insight::SetMembership)
INSIGHT_SQL_FUNCTION(insight_remove_membership, insight::RemoveMembership)
INSIGHT_SQL_FUNCTION(insight_set_platform_admin, insight::SetPlatformAdmin)
INSIGHT_SQL_FUNCTION(insight_delete_user, insight::DeleteUser)
