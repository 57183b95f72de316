// revoke_key(): permanent, immediate, and indistinguishable from "not found"
// for a key the principal may not manage.
#include "../core/json_object.hpp"
#include "audit.hpp"
#include "key_management.hpp"

extern "C" {
#include "catalog/pg_type.h"
}

namespace insight {

namespace {
// Permission is decided before any lock is taken on the key: a key the caller
// may not see is read exactly like an unknown one (one plain lookup, no lock,
// so no wait on a concurrent holder and no 40001 that would show it exists).
Statement g_find_key = {"SELECT kind, org_id, owner_id, name FROM insight.api_keys WHERE id = $1",
                        1, {UUIDOID}, nullptr};
Statement g_lock_key = {"SELECT kind, org_id, owner_id FROM insight.api_keys WHERE id = $1 FOR UPDATE",
                        1, {UUIDOID}, nullptr};
Statement g_delete_key = {"DELETE FROM insight.api_keys WHERE id = $1", 1, {UUIDOID}, nullptr};

struct KeyFacts {
  core::KeyKind kind = core::KeyKind::User;
  core::Uuid org;
  std::optional<core::Uuid> owner;
};

KeyFacts ReadKeyFacts() {
  KeyFacts k;
  k.kind = ColumnText(0, 1) == "organization" ? core::KeyKind::Organization : core::KeyKind::User;
  k.org = ColumnUuid(0, 2);
  k.owner = ColumnUuidOrNull(0, 3);
  return k;
}
}  // namespace

ManagedKey LockManagedKey(const core::Uuid& key_id) {
  Elevated e = Elevated::Begin();
  Datum arg = UuidToDatum(key_id);
  bool found = Run(g_find_key, &arg, nullptr, false) > 0;
  KeyFacts key;
  std::string name;
  if (found) {
    key = ReadKeyFacts();
    name = ColumnText(0, 4);
  }
  e.End();
  // The acting principal's latest committed rights, locked, in the key's
  // organization (for an unknown key, in none: the same reads either way).
  // Outside the Elevated scope: the principal is the caller, not the owner.
  core::Uuid no_org;
  const core::PrincipalFacts facts = LockedFactsForDecision(found ? &key.org : &no_org);
  e = Elevated::Begin();
  arg = UuidToDatum(key_id);  // the first one was allocated in the scope just ended
  bool visible = found && core::MayViewKey(facts, key.kind, key.org, key.owner ? &*key.owner : nullptr);
  if (!visible) throw SqlError(ERRCODE_NO_DATA_FOUND, "API key not found");
  // Now the lock; the key may have changed since the unlocked read.
  if (Run(g_lock_key, &arg, nullptr, false) == 0) throw SqlError(ERRCODE_NO_DATA_FOUND, "API key not found");
  KeyFacts locked = ReadKeyFacts();
  if (!(locked.kind == key.kind && locked.org == key.org && locked.owner == key.owner)) {
    throw SqlError(ERRCODE_NO_DATA_FOUND, "API key not found");
  }
  e.End();
  ManagedKey m;
  m.id = key_id;
  m.kind = key.kind;
  m.org = key.org;
  m.owner = key.owner;
  m.name = name;
  m.facts = facts;
  return m;
}

static Datum RevokeKey(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0)) throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "key_id must not be null");
  core::Uuid key_id = UuidFromDatum(PG_GETARG_DATUM(0));
  Actor actor = CurrentActor();
  ManagedKey key = LockManagedKey(key_id);

  Elevated e = Elevated::Begin();
  Datum arg = UuidToDatum(key_id);
  Run(g_delete_key, &arg, nullptr, false);
  core::JsonObject detail;
  detail.Add("kind", core::KindName(key.kind)).Add("name", key.name).Add("reason", "revoked");
  WriteAudit(actor, "key.revoked", key.org, key.owner, key_id, detail.Str());
  e.End();
  PG_RETURN_VOID();
}

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_revoke_key, insight::RevokeKey)
