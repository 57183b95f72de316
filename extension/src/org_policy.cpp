// set_org_policy() and what a policy makes the extension do besides verify
// (whose side is in key_lookup.cpp): refuse a key's expiry at creation, and
// the worker's revoke_unused_after and key.expiring tasks.
#include "org_policy.hpp"

#include <vector>

#include "../core/json_object.hpp"
#include "../core/key_lifetime.hpp"
#include "audit.hpp"
#include "principal.hpp"
#include "usage_stats.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
}

namespace insight {

int g_key_policy_interval_s = 60;

namespace {

Statement g_policy_for_key = {
    "SELECT require_expiry, now() + max_key_lifetime FROM insight.org_policies_t "
    "WHERE org_id = $1 FOR SHARE",
    1, {UUIDOID}, nullptr};
Statement g_delete_policy = {"DELETE FROM insight.org_policies_t WHERE org_id = $1", 1, {UUIDOID},
                             nullptr};
Statement g_lock_org = {"SELECT 1 FROM insight.organizations WHERE id = $1 FOR SHARE", 1, {UUIDOID},
                        nullptr};
Statement g_upsert_policy = {
    "INSERT INTO insight.org_policies_t AS p (org_id, max_key_lifetime, require_expiry, "
    "revoke_unused_after, notify_before, updated_at, updated_by) "
    "VALUES ($1, $2, $3, $4, $5, now(), $6) "
    "ON CONFLICT (org_id) DO UPDATE SET max_key_lifetime = EXCLUDED.max_key_lifetime, "
    "require_expiry = EXCLUDED.require_expiry, revoke_unused_after = EXCLUDED.revoke_unused_after, "
    "notify_before = EXCLUDED.notify_before, updated_at = EXCLUDED.updated_at, "
    "updated_by = EXCLUDED.updated_by "
    "RETURNING COALESCE(to_json(p.max_key_lifetime)::text, 'null'), "
    "COALESCE(to_json(p.revoke_unused_after)::text, 'null'), "
    "COALESCE(to_json(p.notify_before)::text, 'null')",
    6, {UUIDOID, INTERVALOID, BOOLOID, INTERVALOID, INTERVALOID, UUIDOID}, nullptr};
// SKIP LOCKED: a key a client holds (revoking, rotating it) is left for the
// next run. In READ COMMITTED the row lock re-checks the condition on the
// latest version, so a last use flushed meanwhile keeps the key.
Statement g_revoke_unused = {
    "WITH doomed AS ("
    " SELECT k.id FROM insight.org_policies_t p"
    " JOIN insight.api_keys k ON k.org_id = p.org_id"
    " WHERE p.revoke_unused_after IS NOT NULL"
    "   AND COALESCE(k.last_used_at, k.created_at) < now() - p.revoke_unused_after"
    " ORDER BY k.id LIMIT $1 FOR UPDATE OF k SKIP LOCKED) "
    "DELETE FROM insight.api_keys k USING doomed WHERE k.id = doomed.id "
    "RETURNING k.id, k.kind, k.org_id, k.owner_id, k.name",
    1, {INT4OID}, nullptr};
Statement g_record_expiring = {
    "WITH due AS ("
    " SELECT k.id, LEAST(k.expires_at, k.created_at + p.max_key_lifetime) AS effective"
    " FROM insight.org_policies_t p"
    " JOIN insight.api_keys k ON k.org_id = p.org_id"
    " WHERE p.notify_before IS NOT NULL AND NOT k.expiring_recorded"
    "   AND LEAST(k.expires_at, k.created_at + p.max_key_lifetime) > now()"
    "   AND LEAST(k.expires_at, k.created_at + p.max_key_lifetime) - p.notify_before <= now()"
    " ORDER BY k.id LIMIT $1 FOR UPDATE OF k SKIP LOCKED) "
    "UPDATE insight.api_keys k SET expiring_recorded = true FROM due WHERE k.id = due.id "
    "RETURNING k.id, k.kind, k.org_id, k.owner_id, k.name, to_json(due.effective)::text",
    1, {INT4OID}, nullptr};

// The library may be newer than the installed catalog until ALTER EXTENSION
// UPDATE reaches 1.2: then there is no policy, and nothing to check.
bool PolicyCatalogPresent() {
  return PgCall([]() {
    Oid nsp = get_namespace_oid("insight", true);
    return OidIsValid(nsp) && OidIsValid(get_relname_relid("org_policies_t", nsp));
  });
}

// An interval argument: nullopt when NULL, 22023 unless positive in every part
// and at most 100 years.
bool IntervalArgument(FunctionCallInfo fcinfo, int argno, const char* what) {
  if (PG_ARGISNULL(argno)) return false;
  const Interval* iv = PG_GETARG_INTERVAL_P(argno);
  if (!core::AcceptablePolicyInterval(iv->month, iv->day, iv->time)) {
    throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE,
                   std::string(what) + " must be positive (no negative part) and at most 100 years");
  }
  return true;
}

struct KeyRow {
  core::Uuid id;
  std::string kind;
  core::Uuid org;
  std::optional<core::Uuid> owner;
  std::string name;
  std::string effective_json;
};

// Copies the rows out of SPI_tuptable before WriteAudit runs statements of its own.
std::vector<KeyRow> KeyRows(uint64 n, bool with_effective) {
  std::vector<KeyRow> rows;
  rows.reserve(n);
  for (uint64 i = 0; i < n; i++) {
    KeyRow r;
    r.id = ColumnUuid(i, 1);
    r.kind = ColumnText(i, 2);
    r.org = ColumnUuid(i, 3);
    r.owner = ColumnUuidOrNull(i, 4);
    r.name = ColumnText(i, 5);
    if (with_effective) r.effective_json = ColumnText(i, 6);
    rows.push_back(std::move(r));
  }
  return rows;
}

Actor WorkerActor() {
  Actor actor;
  actor.kind = "worker";
  actor.db_role = PgCall([]() { return pstrdup(GetUserNameFromId(GetSessionUserId(), false)); });
  return actor;
}

}  // namespace

void CheckPolicyExpiry(const core::Uuid& org, std::optional<TimestampTz> requested) {
  if (!PolicyCatalogPresent()) return;
  Datum arg = UuidToDatum(org);
  if (Run(g_policy_for_key, &arg, nullptr, false) == 0) return;
  bool require_expiry = ColumnBool(0, 1);
  bool isnull = false;
  Datum latest = ColumnDatum(0, 2, &isnull);
  std::optional<int64_t> latest_allowed;
  if (!isnull) latest_allowed = DatumGetTimestampTz(latest);
  std::optional<int64_t> asked;
  if (requested) asked = *requested;
  switch (core::CheckRequestedExpiry(require_expiry, latest_allowed, asked)) {
    case core::ExpiryVerdict::Allowed:
      return;
    case core::ExpiryVerdict::ExpiryRequired:
      throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE,
                     "the organization's policy requires keys to have an expiry");
    case core::ExpiryVerdict::ExpiryTooLate:
      throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE,
                     "expires_at is later than the organization's max_key_lifetime allows");
  }
}

void ForgetOrgPolicy(const core::Uuid& org) {
  if (!PolicyCatalogPresent()) return;
  Datum arg = UuidToDatum(org);
  Run(g_delete_policy, &arg, nullptr, false);
}

int64 RevokeUnusedKeys(int batch) {
  if (!PolicyCatalogPresent()) return 0;
  // Uses still in shared memory first: a key verified a moment ago is used.
  if (UsageTrackingActive()) (void)FlushLastUsed();
  Datum arg = Int32GetDatum(batch);
  uint64 n = Run(g_revoke_unused, &arg, nullptr, false);
  std::vector<KeyRow> rows = KeyRows(n, false);
  Actor actor = WorkerActor();
  for (const KeyRow& r : rows) {
    core::JsonObject detail;
    detail.Add("kind", r.kind).Add("name", r.name).Add("reason", "unused");
    WriteAudit(actor, "key.revoked", r.org, r.owner, r.id, detail.Str());
  }
  return static_cast<int64>(rows.size());
}

int64 RecordExpiringKeys(int batch) {
  if (!PolicyCatalogPresent()) return 0;
  Datum arg = Int32GetDatum(batch);
  uint64 n = Run(g_record_expiring, &arg, nullptr, false);
  std::vector<KeyRow> rows = KeyRows(n, true);
  Actor actor = WorkerActor();
  for (const KeyRow& r : rows) {
    core::JsonObject detail;
    detail.Add("kind", r.kind).Add("name", r.name).AddRaw("expires_at", r.effective_json);
    WriteAudit(actor, "key.expiring", r.org, r.owner, r.id, detail.Str());
  }
  return static_cast<int64>(rows.size());
}

static Datum SetOrgPolicy(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0)) throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "org_id must not be null");
  core::Uuid org = UuidFromDatum(PG_GETARG_DATUM(0));
  bool has_lifetime = IntervalArgument(fcinfo, 1, "max_key_lifetime");
  if (PG_ARGISNULL(2)) {
    throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "require_expiry must not be null");
  }
  bool require_expiry = PG_GETARG_BOOL(2);
  bool has_unused = IntervalArgument(fcinfo, 3, "revoke_unused_after");
  bool has_notify = IntervalArgument(fcinfo, 4, "notify_before");

  // A key must not loosen the rules that contain it (nor tighten them).
  core::PrincipalKind kind = CurrentFacts().kind;
  if (kind == core::PrincipalKind::UserKey || kind == core::PrincipalKind::OrgKey) {
    throw SqlError(ERRCODE_INSUFFICIENT_PRIVILEGE, "an API key cannot set an organization's policy");
  }
  Actor actor = CurrentActor();
  core::PrincipalFacts facts = LockedFactsForDecision(&org);
  // An organization the caller may not see answers as an unknown one.
  if (!core::MayViewOrganization(facts, org)) {
    throw SqlError(ERRCODE_NO_DATA_FOUND, "organization not found");
  }
  if (!core::MayManageMemberships(facts, org)) {
    throw SqlError(ERRCODE_INSUFFICIENT_PRIVILEGE,
                   "permission denied to set the policy of this organization");
  }
  Elevated e = Elevated::Begin();
  Datum values[6];
  char nulls[7] = "      ";
  values[0] = UuidToDatum(org);
  // A platform-wide caller's organization is looked up and held; an org
  // admin's is held by its locked membership (whose foreign key makes a
  // deletion of the organization wait), so the deletion, which deletes the
  // policy, comes after this one commits or before it looks.
  if (core::IsPlatformWide(facts) && Run(g_lock_org, values, nullptr, false) == 0) {
    throw SqlError(ERRCODE_NO_DATA_FOUND, "organization not found");
  }
  values[1] = has_lifetime ? PG_GETARG_DATUM(1) : Datum(0);
  nulls[1] = NullFlag(!has_lifetime);
  values[2] = BoolGetDatum(require_expiry);
  values[3] = has_unused ? PG_GETARG_DATUM(3) : Datum(0);
  nulls[3] = NullFlag(!has_unused);
  values[4] = has_notify ? PG_GETARG_DATUM(4) : Datum(0);
  nulls[4] = NullFlag(!has_notify);
  bool by_user = facts.kind == core::PrincipalKind::User;
  values[5] = by_user ? UuidToDatum(facts.user) : Datum(0);
  nulls[5] = NullFlag(!by_user);
  Run(g_upsert_policy, values, nulls, false);
  core::JsonObject detail;
  detail.AddRaw("max_key_lifetime", ColumnText(0, 1))
      .AddBool("require_expiry", require_expiry)
      .AddRaw("revoke_unused_after", ColumnText(0, 2))
      .AddRaw("notify_before", ColumnText(0, 3));
  WriteAudit(actor, "organization.policy_set", org, std::nullopt, std::nullopt, detail.Str());
  e.End();
  PG_RETURN_VOID();
}

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_set_org_policy, insight::SetOrgPolicy)
