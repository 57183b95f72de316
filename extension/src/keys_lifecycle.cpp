// rotate_key(), disable_key() and enable_key() (docs/SECURITY.md, "Rotation"
// and "Disabling a key"), and the worker's purge of rotated keys.
#include "../core/json_object.hpp"
#include "../core/rotation.hpp"
#include "audit.hpp"
#include "key_management.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
}

namespace insight {

namespace {

// Read after LockManagedKey holds the row FOR UPDATE: the latest committed
// state (a concurrent rotation has either committed, and is seen here, or
// not started).
Statement g_key_state = {
    "SELECT expires_at, disabled_at IS NOT NULL, rotated_to IS NOT NULL "
    "FROM insight.api_keys WHERE id = $1",
    1, {UUIDOID}, nullptr};
Statement g_mark_rotated = {
    "UPDATE insight.api_keys SET rotated_to = $2, expires_at = $3 WHERE id = $1", 3,
    {UUIDOID, UUIDOID, TIMESTAMPTZOID}, nullptr};
Statement g_delete_key = {"DELETE FROM insight.api_keys WHERE id = $1", 1, {UUIDOID}, nullptr};
Statement g_disable = {
    "UPDATE insight.api_keys SET disabled_at = pg_catalog.now() "
    "WHERE id = $1 AND disabled_at IS NULL",
    1, {UUIDOID}, nullptr};
Statement g_enable = {
    "UPDATE insight.api_keys SET disabled_at = NULL WHERE id = $1 AND disabled_at IS NOT NULL", 1,
    {UUIDOID}, nullptr};
// SKIP LOCKED: a key a transaction is disabling or revoking is left for the
// next run rather than waited for.
Statement g_purge_rotated = {
    "DELETE FROM insight.api_keys WHERE id IN ("
    "  SELECT id FROM insight.api_keys"
    "   WHERE rotated_to IS NOT NULL AND expires_at < pg_catalog.now()"
    "   ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED) "
    "RETURNING " INSIGHT_MANAGED_KEY_COLUMNS ", id, rotated_to::text",
    1, {INT4OID}, nullptr};

bool IsKeyPrincipal(const core::PrincipalFacts& f) {
  return f.kind == core::PrincipalKind::UserKey || f.kind == core::PrincipalKind::OrgKey;
}

std::string UuidText(const core::Uuid& u) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < u.bytes.size(); i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += kHex[u.bytes[i] >> 4];
    s += kHex[u.bytes[i] & 0xf];
  }
  return s;
}

core::Uuid KeyIdArgument(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0)) throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "key_id must not be null");
  return UuidFromDatum(PG_GETARG_DATUM(0));
}

// Rotation is generation: only who could generate this key may rotate it.
bool MayRotate(const ManagedKey& key) {
  const core::PrincipalFacts& f = key.facts;
  if (key.kind == core::KeyKind::User) {
    return f.kind == core::PrincipalKind::User && key.owner && *key.owner == f.user;
  }
  if (f.kind == core::PrincipalKind::Operator) return true;
  return f.kind == core::PrincipalKind::User && core::MayGenerateOrgKey(f, key.org);
}

}  // namespace

static Datum RotateKey(FunctionCallInfo fcinfo) {
  core::Uuid key_id = KeyIdArgument(fcinfo);
  if (PG_ARGISNULL(1)) throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "grace must not be null");
  const Interval* grace = PG_GETARG_INTERVAL_P(1);
  if (!core::GraceAccepted({grace->month, grace->day, grace->time})) {
    throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "grace must be between 0 and 7 days");
  }
  Actor actor = CurrentActor();
  ManagedKey key = LockManagedKey(key_id);
  if (!MayRotate(key)) {
    throw SqlError(ERRCODE_INSUFFICIENT_PRIVILEGE,
                   IsKeyPrincipal(key.facts) ? "an API key cannot rotate API keys"
                                             : "permission denied to rotate this API key");
  }

  Elevated e = Elevated::Begin();
  Datum arg = UuidToDatum(key_id);
  if (Run(g_key_state, &arg, nullptr, false) == 0) {
    throw SqlError(ERRCODE_NO_DATA_FOUND, "API key not found");
  }
  bool isnull = false;
  Datum expires = ColumnDatum(0, 1, &isnull);
  std::optional<TimestampTz> expires_at;
  if (!isnull) expires_at = DatumGetTimestampTz(expires);
  bool disabled = ColumnBool(0, 2);
  bool rotated = ColumnBool(0, 3);
  // The clock, as verify reads it: a key verify calls expired is expired here.
  if (expires_at && *expires_at <= GetCurrentTimestamp()) {
    throw SqlError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, "cannot rotate an expired API key");
  }
  if (disabled) {
    throw SqlError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, "cannot rotate a disabled API key");
  }
  if (rotated) {
    throw SqlError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, "API key was already rotated");
  }
  e.End();

  NewKeyRequest request;
  request.kind = key.kind;
  request.org = key.org;
  request.name = key.name;
  request.expires_at = expires_at;  // the stored expiry, carried over
  request.audit_generated = false;  // key.rotated below names both keys
  NewKey created = CreateKey(request);

  e = Elevated::Begin();
  // now() + grace in the session's time zone, as SQL computes it.
  Interval grace_copy = *grace;
  TimestampTz grace_end = PgCall([&grace_copy]() {
    return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
                                                   TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
                                                   PointerGetDatum(&grace_copy)));
  });
  TimestampTz old_until = core::RotatedExpiry(grace_end, expires_at);
  bool revoke_now = grace_copy.month == 0 && grace_copy.day == 0 && grace_copy.time == 0;
  Datum old_arg = UuidToDatum(key_id);
  if (revoke_now) {
    Run(g_delete_key, &old_arg, nullptr, false);
  } else {
    Datum values[3] = {old_arg, UuidToDatum(created.key_id), TimestampTzGetDatum(old_until)};
    Run(g_mark_rotated, values, nullptr, false);
  }
  core::JsonObject detail;
  detail.Add("kind", core::KindName(key.kind))
      .Add("name", key.name)
      .Add("old_key_id", UuidText(key_id))
      .Add("new_key_id", UuidText(created.key_id));
  if (revoke_now) {
    detail.AddBool("old_key_revoked", true);
  } else {
    std::string until = PgCall([old_until]() -> std::string {
      return timestamptz_to_str(old_until);
    });
    detail.Add("old_key_expires_at", until);
  }
  WriteAudit(actor, "key.rotated", key.org, key.owner, key_id, detail.Str());
  if (revoke_now) {
    core::JsonObject revoked;
    revoked.Add("kind", core::KindName(key.kind)).Add("name", key.name).Add("reason", "rotated");
    WriteAudit(actor, "key.revoked", key.org, key.owner, key_id, revoked.Str());
  }
  e.End();

  Datum out[2] = {UuidToDatum(created.key_id), TextToDatum(created.api_key)};
  bool out_nulls[2] = {false, false};
  return ReturnComposite(fcinfo, out, out_nulls);
}

// Idempotent: a second disable (or enable) of a key already in that state
// changes nothing and records nothing.
static Datum SetDisabled(FunctionCallInfo fcinfo, bool disable) {
  core::Uuid key_id = KeyIdArgument(fcinfo);
  Actor actor = CurrentActor();
  ManagedKey key = LockManagedKey(key_id);
  // A leaked key may contain itself or another key, never undo a containment.
  if (!disable && IsKeyPrincipal(key.facts)) {
    throw SqlError(ERRCODE_INSUFFICIENT_PRIVILEGE, "an API key cannot enable API keys");
  }
  Elevated e = Elevated::Begin();
  Datum arg = UuidToDatum(key_id);
  if (Run(disable ? g_disable : g_enable, &arg, nullptr, false) > 0) {
    core::JsonObject detail;
    detail.Add("kind", core::KindName(key.kind)).Add("name", key.name);
    WriteAudit(actor, disable ? "key.disabled" : "key.enabled", key.org, key.owner, key_id,
               detail.Str());
  }
  e.End();
  PG_RETURN_VOID();
}

static Datum DisableKey(FunctionCallInfo fcinfo) { return SetDisabled(fcinfo, true); }
static Datum EnableKey(FunctionCallInfo fcinfo) { return SetDisabled(fcinfo, false); }

int64 PurgeRotatedKeys(int batch) {
  // Before ALTER EXTENSION UPDATE reaches 1.2 there is nothing to purge.
  bool has_column = PgCall([]() {
    Oid nsp = get_namespace_oid("insight", true);
    Oid rel = OidIsValid(nsp) ? get_relname_relid("api_keys", nsp) : InvalidOid;
    return OidIsValid(rel) && get_attnum(rel, "rotated_to") != InvalidAttrNumber;
  });
  if (!has_column) return 0;
  struct Gone {
    ManagedKeyRow key;
    core::Uuid id;
    std::string successor;
  };
  Datum arg = Int32GetDatum(batch);
  uint64 n = Run(g_purge_rotated, &arg, nullptr, false);
  std::vector<Gone> gone;
  for (uint64 i = 0; i < n; i++) {
    gone.push_back({ReadManagedKeyRow(i), ColumnUuid(i, 5), ColumnText(i, 6)});
  }
  Actor actor;
  actor.kind = "cascade";
  actor.db_role = PgCall([]() -> std::string { return GetUserNameFromId(GetSessionUserId(), false); });
  for (const Gone& g : gone) {
    core::JsonObject detail;
    detail.Add("kind", core::KindName(g.key.kind))
        .Add("name", g.key.name)
        .Add("reason", "rotated")
        .Add("new_key_id", g.successor);
    WriteAudit(actor, "key.revoked", g.key.org, g.key.owner, g.id, detail.Str());
  }
  return static_cast<int64>(n);
}

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_rotate_key, insight::RotateKey)
INSIGHT_SQL_FUNCTION(insight_disable_key, insight::DisableKey)
INSIGHT_SQL_FUNCTION(insight_enable_key, insight::EnableKey)
