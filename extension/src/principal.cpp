#include "principal.hpp"

#include <vector>

#include "keys.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/proc.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
}

namespace insight {

namespace {

// Set by authenticate() or act_as(); nothing else writes it.
struct ExplicitPrincipal {
  PrincipalSource source = PrincipalSource::None;  // ApiKey or ActAs when set
  PrincipalScope scope = PrincipalScope::Transaction;
  core::Uuid id;  // the key id (ApiKey) or the user id (ActAs)
  bool set_in_this_xact = false;
  SubTransactionId subid = InvalidSubTransactionId;
  // The roles that set it (current and session user): it acts only while both
  // are current again, so code running as another role (a SECURITY DEFINER
  // function, an index expression) never acts as it (docs/SECURITY.md,
  // "Binding of the principal").
  Oid bound_user = InvalidOid;
  Oid bound_session_user = InvalidOid;
};

ExplicitPrincipal g_explicit;
uint64 g_generation = 0;

struct FactsCache {
  bool valid = false;
  LocalTransactionId lxid = InvalidLocalTransactionId;
  TimestampTz statement_start = 0;
  CommandId command = 0;
  Oid pg_user = InvalidOid;
  uint64 generation = 0;
  PrincipalSource source = PrincipalSource::None;
  core::PrincipalFacts facts;
  core::KeySettings key_settings;  // a key principal's settings (has_scope), else empty
};

FactsCache g_cache;
std::vector<Actor> g_actor_stack;

Statement g_person_stmt = {
    "SELECT u.is_platform_admin, m.org_id, m.role FROM insight.users u "
    "LEFT JOIN insight.memberships m ON m.user_id = u.id WHERE u.id = $1",
    1, {UUIDOID}, nullptr};

Statement g_db_role_stmt = {"SELECT id FROM insight.users WHERE db_role = $1", 1, {NAMEOID},
                            nullptr};

// Inside an Elevated scope. False if the user does not exist.
bool LoadPerson(const core::Uuid& user, core::PrincipalFacts* facts) {
  Datum arg = UuidToDatum(user);
  uint64 n = Run(g_person_stmt, &arg, nullptr, true);
  if (n == 0) return false;
  facts->user = user;
  facts->platform_admin = ColumnBool(0, 1);
  facts->memberships.clear();
  for (uint64 i = 0; i < n; i++) {
    if (ColumnIsNull(i, 2)) continue;
    auto role = core::ParseRole(ColumnText(i, 3));
    facts->memberships.push_back({ColumnUuid(i, 2), role.value_or(core::Role::None)});
  }
  return true;
}

Oid RoleOid(const char* name) {
  return PgCall([name]() { return get_role_oid(name, true); });
}

bool HasPrivsOfRoleNamed(Oid member, const char* role_name) {
  Oid role = RoleOid(role_name);
  return PgCall([member, role]() {
    return OidIsValid(role) ? has_privs_of_role(member, role) : superuser_arg(member);
  });
}

// Whether the explicit principal acts for pg_user: only for the roles that set it.
bool ExplicitBoundTo(Oid pg_user) {
  return g_explicit.source != PrincipalSource::None && g_explicit.bound_user == pg_user &&
         g_explicit.bound_session_user == GetSessionUserId();
}

void LoadFacts(Oid pg_user, core::PrincipalFacts* facts, PrincipalSource* source,
               core::KeySettings* settings) {
  *facts = core::PrincipalFacts{};
  *source = PrincipalSource::None;
  *settings = core::KeySettings{};
  // Any other role is treated as it would be without a principal.
  bool bound = ExplicitBoundTo(pg_user);

  if (bound && g_explicit.source == PrincipalSource::ApiKey) {
    KeyRecord rec;
    if (VerifyKeyId(g_explicit.id, &rec).code != core::VerifyCode::Valid) return;  // nobody
    *source = PrincipalSource::ApiKey;
    facts->org = rec.org;
    // max_role caps every right the key principal has (docs/SECURITY.md,
    // "Narrower keys"); its scopes answer insight.has_scope().
    facts->key_capped = rec.settings.has_max_role;
    facts->key_ceiling = rec.settings.has_max_role ? rec.settings.max_role : core::Role::OrgAdmin;
    *settings = rec.settings;
    if (rec.kind() == core::KeyKind::Organization) {
      facts->kind = core::PrincipalKind::OrgKey;
    } else {
      facts->kind = core::PrincipalKind::UserKey;
      facts->user = *rec.owner;
      facts->platform_admin = rec.facts.owner_platform_admin;
      facts->memberships.push_back({rec.org, rec.facts.owner_role});
    }
    return;
  }

  if (bound && g_explicit.source == PrincipalSource::ActAs) {
    Elevated e = Elevated::Begin();
    bool exists = LoadPerson(g_explicit.id, facts);
    e.End();
    if (exists) {
      facts->kind = core::PrincipalKind::User;
      *source = PrincipalSource::ActAs;
    }
    return;
  }

  Datum role_name = PgCall([pg_user]() {
    Name name = static_cast<Name>(palloc0(NAMEDATALEN));
    namestrcpy(name, GetUserNameFromId(pg_user, false));
    return NameGetDatum(name);
  });
  Elevated e = Elevated::Begin();
  bool mapped = false;
  if (Run(g_db_role_stmt, &role_name, nullptr, true) > 0) {
    core::Uuid user = ColumnUuid(0, 1);
    mapped = LoadPerson(user, facts);
  }
  e.End();
  if (mapped) {
    facts->kind = core::PrincipalKind::User;
    *source = PrincipalSource::DbRole;
    return;
  }
  if (HasPrivsOfRoleNamed(pg_user, "insight_operator")) {
    facts->kind = core::PrincipalKind::Operator;
    *source = PrincipalSource::Operator;
  }
}

void ClearExplicit() {
  g_explicit = ExplicitPrincipal{};
  g_generation++;
  g_cache.valid = false;
}

}  // namespace

void PrincipalAtXactEvent(XactEvent event) noexcept {
  switch (event) {
    case XACT_EVENT_COMMIT:
    case XACT_EVENT_PARALLEL_COMMIT:
    case XACT_EVENT_PREPARE:
      if (g_explicit.scope == PrincipalScope::Transaction) ClearExplicit();
      g_explicit.set_in_this_xact = false;
      break;
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PARALLEL_ABORT:
      // A principal set in a transaction that rolled back never existed.
      if (g_explicit.scope == PrincipalScope::Transaction || g_explicit.set_in_this_xact) {
        ClearExplicit();
      }
      break;
    default:
      return;
  }
  g_actor_stack.clear();
  g_cache.valid = false;
}

void PrincipalAtSubXactEvent(SubXactEvent event, SubTransactionId my_subid) noexcept {
  if (event != SUBXACT_EVENT_ABORT_SUB) return;
  if (g_explicit.set_in_this_xact && g_explicit.subid >= my_subid) ClearExplicit();
  g_actor_stack.clear();
  g_cache.valid = false;
}

namespace {

void SetExplicit(PrincipalSource source, const core::Uuid& id, PrincipalScope scope) {
  RequireMaySetPrincipal();
  g_explicit.source = source;
  g_explicit.id = id;
  g_explicit.scope = scope;
  g_explicit.set_in_this_xact = true;
  g_explicit.subid = GetCurrentSubTransactionId();
  g_explicit.bound_user = GetUserId();
  g_explicit.bound_session_user = GetSessionUserId();
  g_generation++;
  g_cache.valid = false;
}

}  // namespace

bool PrincipalResetBy(const PlannedStmt* pstmt) noexcept {
  Node* parsetree = pstmt->utilityStmt;
  if (IsA(parsetree, DiscardStmt)) return castNode(DiscardStmt, parsetree)->target == DISCARD_ALL;
  if (IsA(parsetree, VariableSetStmt)) {
    auto* set = castNode(VariableSetStmt, parsetree);
    return set->kind == VAR_RESET_ALL ||
           (set->name != nullptr && strcmp(set->name, "session_authorization") == 0);
  }
  return false;
}

void ForgetPrincipal() noexcept { ClearExplicit(); }

void RequireMaySetPrincipal() {
  // Code that runs as another role on the session's behalf (an index
  // expression during REINDEX or ANALYZE, REFRESH MATERIALIZED VIEW, a
  // SECURITY DEFINER function) must not change whom the session acts as.
  if (InSecurityRestrictedOperation() || InLocalUserIdChange()) {
    throw SqlError(ERRCODE_INSUFFICIENT_PRIVILEGE,
                   "cannot set the principal inside a security-restricted operation or a "
                   "SECURITY DEFINER function",
                   "Call insight.authenticate() or insight.act_as() as the session's own role.");
  }
}

PrincipalScope ScopeArgument(FunctionCallInfo fcinfo, int argno) {
  if (PG_NARGS() <= argno) return PrincipalScope::Transaction;
  if (PG_ARGISNULL(argno)) throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "scope must not be null");
  std::string scope = TextFromDatum(PG_GETARG_DATUM(argno));
  if (scope == "transaction") return PrincipalScope::Transaction;
  if (scope == "session") return PrincipalScope::Session;
  throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "scope must be 'transaction' or 'session'");
}

namespace {

const char* SourceName(PrincipalSource s) {
  switch (s) {
    case PrincipalSource::ApiKey:
      return "api_key";
    case PrincipalSource::ActAs:
      return "act_as";
    case PrincipalSource::DbRole:
      return "db_role";
    case PrincipalSource::Operator:
      return "operator";
    case PrincipalSource::None:
      break;
  }
  return nullptr;
}

}  // namespace

const core::PrincipalFacts& CurrentFacts() {
  Oid pg_user = GetUserId();
  LocalTransactionId lxid = CurrentLocalTransactionId();
  TimestampTz statement_start = GetCurrentStatementStartTimestamp();
  CommandId command = GetCurrentCommandId(false);
  if (g_cache.valid && g_cache.lxid == lxid && g_cache.statement_start == statement_start &&
      g_cache.command == command && g_cache.pg_user == pg_user &&
      g_cache.generation == g_generation) {
    return g_cache.facts;
  }
  g_cache.valid = false;
  LoadFacts(pg_user, &g_cache.facts, &g_cache.source, &g_cache.key_settings);
  g_cache.lxid = lxid;
  g_cache.statement_start = statement_start;
  g_cache.command = command;
  g_cache.pg_user = pg_user;
  g_cache.generation = g_generation;
  g_cache.valid = true;
  return g_cache.facts;
}

const core::KeySettings& CurrentKeySettings() {
  CurrentFacts();
  return g_cache.key_settings;
}

const core::PrincipalFacts& CurrentFacts(const core::KeySettings** settings) {
  const core::PrincipalFacts& facts = CurrentFacts();
  *settings = &g_cache.key_settings;
  return facts;
}

Actor CurrentActor() {
  if (const Actor* a = ActorOverride()) return *a;
  Actor actor;
  const core::PrincipalFacts& f = CurrentFacts();
  switch (f.kind) {
    case core::PrincipalKind::Operator:
      actor.kind = "operator";
      break;
    case core::PrincipalKind::User:
      actor.kind = "user";
      actor.user = f.user;
      break;
    case core::PrincipalKind::UserKey:
      actor.kind = "user_key";
      actor.user = f.user;
      actor.key = g_explicit.id;
      break;
    case core::PrincipalKind::OrgKey:
      actor.kind = "org_key";
      actor.key = g_explicit.id;
      break;
    case core::PrincipalKind::Nobody:
      actor.kind = "nobody";
      break;
  }
  Oid pg_user = GetUserId();
  actor.db_role = PgCall([pg_user]() { return pstrdup(GetUserNameFromId(pg_user, false)); });
  return actor;
}

void PushActor(const Actor& actor) { g_actor_stack.push_back(actor); }
void PopActor() {
  if (!g_actor_stack.empty()) g_actor_stack.pop_back();
}
const Actor* ActorOverride() { return g_actor_stack.empty() ? nullptr : &g_actor_stack.back(); }

void SetKeyPrincipal(const core::Uuid& key_id, PrincipalScope scope) {
  SetExplicit(PrincipalSource::ApiKey, key_id, scope);
}

// ---- SQL: act_as, reset_principal, whoami ---------------------------------

static Datum ActAs(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0)) throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "user_id must not be null");
  PrincipalScope scope = ScopeArgument(fcinfo, 1);
  RequireMaySetPrincipal();
  if (!HasPrivsOfRoleNamed(GetUserId(), "insight_trusted_app")) {
    throw SqlError(ERRCODE_INSUFFICIENT_PRIVILEGE, "permission denied to act as a user",
                   "Only members of role insight_trusted_app may call insight.act_as().");
  }
  core::Uuid user = UuidFromDatum(PG_GETARG_DATUM(0));
  core::PrincipalFacts probe;
  Elevated e = Elevated::Begin();
  bool exists = LoadPerson(user, &probe);
  e.End();
  if (!exists) throw SqlError(ERRCODE_NO_DATA_FOUND, "user not found");
  SetExplicit(PrincipalSource::ActAs, user, scope);
  PG_RETURN_VOID();
}

static Datum ResetPrincipal(FunctionCallInfo) {
  ClearExplicit();
  PG_RETURN_VOID();
}

static Datum WhoAmI(FunctionCallInfo fcinfo) {
  const core::PrincipalFacts& f = CurrentFacts();
  PrincipalSource source = g_cache.source;
  Datum values[8];
  bool nulls[8] = {true, true, true, true, true, true, true, true};
  const char* kind = "nobody";
  std::string role;
  switch (f.kind) {
    case core::PrincipalKind::Operator:
      kind = "operator";
      break;
    case core::PrincipalKind::User:
    case core::PrincipalKind::UserKey:
      kind = "user";
      break;
    case core::PrincipalKind::OrgKey:
      kind = "organization";
      break;
    case core::PrincipalKind::Nobody:
      break;
  }
  if (f.kind == core::PrincipalKind::UserKey) {
    role = core::CappedKeyRole(core::KeyKind::User, f.platform_admin,
                               f.memberships.empty() ? core::Role::None : f.memberships[0].role,
                               f.key_capped, f.key_ceiling);
  } else if (f.kind == core::PrincipalKind::OrgKey) {
    role = core::CappedKeyRole(core::KeyKind::Organization, false, core::Role::OrgAdmin,
                               f.key_capped, f.key_ceiling);
  }
  bool has_user = f.kind == core::PrincipalKind::User || f.kind == core::PrincipalKind::UserKey;
  bool has_org = f.kind == core::PrincipalKind::UserKey || f.kind == core::PrincipalKind::OrgKey;
  const char* via = SourceName(source);
  const char* scope = nullptr;
  if (source == PrincipalSource::ApiKey || source == PrincipalSource::ActAs) {
    scope = g_explicit.scope == PrincipalScope::Session ? "session" : "transaction";
  }

  values[0] = TextToDatum(kind);
  nulls[0] = false;
  if (via != nullptr) values[1] = TextToDatum(via), nulls[1] = false;
  if (has_user) values[2] = UuidToDatum(f.user), nulls[2] = false;
  if (has_org) values[3] = UuidToDatum(f.org), nulls[3] = false;
  if (source == PrincipalSource::ApiKey) values[4] = UuidToDatum(g_explicit.id), nulls[4] = false;
  if (!role.empty()) values[5] = TextToDatum(role), nulls[5] = false;
  if (has_user) values[6] = BoolGetDatum(f.platform_admin), nulls[6] = false;
  if (scope != nullptr) values[7] = TextToDatum(scope), nulls[7] = false;

  return ReturnComposite(fcinfo, values, nulls);
}

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_act_as, insight::ActAs)
INSIGHT_SQL_FUNCTION(insight_reset_principal, insight::ResetPrincipal)
INSIGHT_SQL_FUNCTION(insight_whoami, insight::WhoAmI)

// ---- facts for a management decision ---------------------------------------
// read_only = false: SPI takes a new snapshot for each statement, so under READ
// COMMITTED these see what committed last, even from inside a cursor or a
// statement whose own snapshot is older; under REPEATABLE READ they read the
// transaction snapshot and the row lock raises 40001 for a row changed since.

namespace insight {

namespace {

Statement g_lock_person_by_id = {
    "SELECT is_platform_admin FROM insight.users WHERE id = $1 FOR SHARE", 1, {UUIDOID}, nullptr};
Statement g_lock_person_by_db_role = {
    "SELECT id, is_platform_admin FROM insight.users WHERE db_role = $1 FOR SHARE", 1, {NAMEOID},
    nullptr};
Statement g_lock_person_membership = {
    "SELECT org_id, role FROM insight.memberships WHERE user_id = $1 AND org_id = $2 FOR SHARE", 2,
    {UUIDOID, UUIDOID}, nullptr};
// KEY SHARE: holds the key against revocation without blocking its
// last_used_at updates.
Statement g_lock_principal_key = {"SELECT 1 FROM insight.api_keys WHERE id = $1 FOR KEY SHARE", 1,
                                  {UUIDOID}, nullptr};

void ReadLockedMembership(const core::Uuid& user, const core::Uuid* org,
                          core::PrincipalFacts* facts) {
  facts->memberships.clear();
  if (org == nullptr) return;
  Datum args[2] = {UuidToDatum(user), UuidToDatum(*org)};
  uint64 n = Run(g_lock_person_membership, args, nullptr, false);
  for (uint64 i = 0; i < n; i++) {
    auto role = core::ParseRole(ColumnText(i, 2));
    facts->memberships.push_back({ColumnUuid(i, 1), role.value_or(core::Role::None)});
  }
}

}  // namespace

core::PrincipalFacts LockedFactsForDecision(const core::Uuid* org) {
  core::PrincipalFacts facts = CurrentFacts();
  PrincipalSource source = g_cache.source;
  if (facts.kind == core::PrincipalKind::Nobody || facts.kind == core::PrincipalKind::Operator) {
    return facts;
  }
  core::PrincipalFacts nobody;
  Datum role_name = 0;
  if (source == PrincipalSource::DbRole) {
    Oid pg_user = GetUserId();
    role_name = PgCall([pg_user]() {
      Name name = static_cast<Name>(palloc0(NAMEDATALEN));
      namestrcpy(name, GetUserNameFromId(pg_user, false));
      return NameGetDatum(name);
    });
  }
  Elevated e = Elevated::Begin();
  bool still = true;
  if (facts.kind == core::PrincipalKind::UserKey || facts.kind == core::PrincipalKind::OrgKey) {
    Datum key_arg = UuidToDatum(g_explicit.id);
    still = Run(g_lock_principal_key, &key_arg, nullptr, false) > 0;
  }
  if (still && facts.kind != core::PrincipalKind::OrgKey) {
    Datum user_arg = UuidToDatum(facts.user);
    if (source == PrincipalSource::DbRole) {
      still = Run(g_lock_person_by_db_role, &role_name, nullptr, false) > 0 &&
              ColumnUuid(0, 1) == facts.user;
      if (still) facts.platform_admin = ColumnBool(0, 2);
    } else {
      still = Run(g_lock_person_by_id, &user_arg, nullptr, false) > 0;
      if (still) facts.platform_admin = ColumnBool(0, 1);
    }
    if (still && facts.kind == core::PrincipalKind::UserKey) {
      // A user key acts only in its own organization, and only while its
      // owner is a member there (or a platform admin, as verify decides).
      core::Uuid key_org = facts.org;
      ReadLockedMembership(facts.user, &key_org, &facts);
      still = facts.platform_admin || !facts.memberships.empty();
    } else if (still) {
      ReadLockedMembership(facts.user, org, &facts);
    }
  }
  e.End();
  return still ? facts : nobody;
}

}  // namespace insight
