// The one permission-then-lock path of revoke_key, configure_key, rotate_key,
// disable_key and enable_key, and the one reader of the key facts they decide
// on (key_management.hpp).
#include "key_management.hpp"

#include "../core/key_codec.hpp"

extern "C" {
#include "catalog/pg_type.h"
}

namespace insight {

namespace {
Statement g_find_key = {
    "SELECT " INSIGHT_MANAGED_KEY_COLUMNS " FROM insight.api_keys WHERE id = $1", 1, {UUIDOID},
    nullptr};
Statement g_lock_key = {
    "SELECT " INSIGHT_MANAGED_KEY_COLUMNS " FROM insight.api_keys WHERE id = $1 FOR UPDATE", 1,
    {UUIDOID}, nullptr};
}  // namespace

ManagedKeyRow ReadManagedKeyRow(uint64 row) {
  ManagedKeyRow k;
  k.kind = core::KindFromName(ColumnText(row, 1));
  k.org = ColumnUuid(row, 2);
  k.owner = ColumnUuidOrNull(row, 3);
  k.name = ColumnText(row, 4);
  return k;
}

bool FindManagedKey(const core::Uuid& key_id, ManagedKeyRow* key) {
  Datum arg = UuidToDatum(key_id);
  if (Run(g_find_key, &arg, nullptr, false) == 0) return false;
  *key = ReadManagedKeyRow(0);
  return true;
}

bool LockDecidedKey(const core::Uuid& key_id, const ManagedKeyRow& decided) {
  Datum arg = UuidToDatum(key_id);
  if (Run(g_lock_key, &arg, nullptr, false) == 0) return false;
  return ReadManagedKeyRow(0).SameOwnership(decided);
}

ManagedKey LockManagedKey(const core::Uuid& key_id) {
  ManagedKey m;
  m.id = key_id;
  Elevated e = Elevated::Begin();
  bool found = FindManagedKey(key_id, &m);
  e.End();
  // The acting principal's latest committed rights, locked, in the key's
  // organization (for an unknown key, in none: the same reads either way).
  // Outside the Elevated scope: the principal is the caller, not the owner.
  core::Uuid no_org;
  m.facts = LockedFactsForDecision(found ? &m.org : &no_org);
  bool visible = found && core::MayViewKey(m.facts, m.kind, m.org, m.owner ? &*m.owner : nullptr);
  if (!visible) throw SqlError(ERRCODE_NO_DATA_FOUND, "API key not found");
  e = Elevated::Begin();
  if (!LockDecidedKey(key_id, m)) throw SqlError(ERRCODE_NO_DATA_FOUND, "API key not found");
  e.End();
  return m;
}

}  // namespace insight
