// The triggers that tell every backend's verify cache what changed
// (docs/DESIGN.md, "Verify cache invalidation").
//
// insight._verify_cache_invalidate(): the statement trigger on users,
// memberships, organizations and org_policies_t, and on TRUNCATE of api_keys.
// It sends the broad signal, "key data changed": a relcache invalidation of
// insight.cache_inval_keys, an empty relation that exists only for it. Every
// backend then clears its verify cache and its owner facts.
//
// insight._verify_cache_key_changed(): the row trigger on api_keys (DELETE,
// and UPDATE of a column verify reads). It records the row's lookup id
// (key_changes.hpp) and sends the narrow signal, "these keys changed": a
// relcache invalidation of insight.cache_inval_key_rows. Every backend then
// drops those keys only. A transaction that cannot name its keys sends the
// broad signal instead.
//
// Both signals are queued now, sent to every backend of the cluster when this
// transaction commits (and WAL-logged with the commit record, so hot standbys
// receive them), never sent if it rolls back. The changed tables' own relcache
// entries, and the plans cached over them, are left alone.
#include "key_lookup.hpp"
#include "verify_cache.hpp"

#include "key_changes.hpp"

#include <cstring>

extern "C" {
#include "access/htup_details.h"
#include "commands/trigger.h"
#include "utils/inval.h"
#include "utils/rel.h"
}

namespace insight {

namespace {

TriggerData* TriggerCall(FunctionCallInfo fcinfo, const char* name) {
  if (!CALLED_AS_TRIGGER(fcinfo)) {
    throw SqlError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                   std::string("insight.") + name + "() must be called as a trigger");
  }
  return reinterpret_cast<TriggerData*>(fcinfo->context);
}

// Inside PgCall.
void SendBroad(Oid broad, Relation changed) {
  if (OidIsValid(broad)) {
    CacheInvalidateRelcacheByRelid(broad);
  } else {
    // A catalog not yet updated to 1.3 has no such relation: the changed
    // table itself is invalidated, which every backend's callback also
    // takes as "clear the cache" (and re-resolves the relations, finding the
    // signal relations once they exist).
    CacheInvalidateRelcache(changed);
  }
}

Datum InvalidateOnChange(FunctionCallInfo fcinfo) {
  TriggerData* td = TriggerCall(fcinfo, "_verify_cache_invalidate");
  Oid broad = KeyInvalidationTargets().broad;
  PgCall([td, broad]() { SendBroad(broad, td->tg_relation); });
  NoteBroadSignalQueued();
  // This backend's cache goes at once: the rest of this transaction must not
  // answer from entries read before the change.
  VerifyCacheInvalidate();
  return PointerGetDatum(nullptr);
}

// Inside PgCall: the lookup id of a row, if it has one of the right length.
bool LookupIdOf(HeapTuple tuple, TupleDesc desc, AttrNumber column, char out[kKeyChangeIdLen]) {
  if (tuple == nullptr || column == InvalidAttrNumber) return false;
  bool isnull;
  Datum d = heap_getattr(tuple, column, desc, &isnull);
  if (isnull) return false;
  text* t = DatumGetTextPP(d);
  if (VARSIZE_ANY_EXHDR(t) != kKeyChangeIdLen) return false;
  std::memcpy(out, VARDATA_ANY(t), kKeyChangeIdLen);
  return true;
}

Datum InvalidateKeyRow(FunctionCallInfo fcinfo) {
  TriggerData* td = TriggerCall(fcinfo, "_verify_cache_key_changed");
  // A bulk change (a cascade deleting a user's keys) went broad at its 65th
  // row: the rest of its rows cost no more than this test.
  if (BroadSignalQueued()) {
    VerifyCacheInvalidate();
    return PointerGetDatum(nullptr);
  }
  InvalidationTargets targets = KeyInvalidationTargets();
  bool named = false;
  PgCall([td, &targets, &named]() {
    TriggerEvent event = td->tg_event;
    if (!TRIGGER_FIRED_FOR_ROW(event) || !TRIGGER_FIRED_AFTER(event)) {
      elog(ERROR, "insight._verify_cache_key_changed() must be an AFTER ROW trigger");
    }
    TupleDesc desc = RelationGetDescr(td->tg_relation);
    named = OidIsValid(targets.narrow);
    // The row as it was and, for an UPDATE, as it is: a changed lookup id
    // makes both stale.
    char id[kKeyChangeIdLen];
    HeapTuple rows[2] = {td->tg_trigtuple,
                         TRIGGER_FIRED_BY_UPDATE(event) ? td->tg_newtuple : nullptr};
    for (HeapTuple row : rows) {
      if (!named || row == nullptr) continue;
      if (!LookupIdOf(row, desc, targets.lookup_column, id)) {
        named = false;  // a row verify could not have cached: say nothing narrow about it
        continue;
      }
      // Without the ring (not preloaded) every backend drops all of its keys
      // on the narrow signal, which needs no names. NoteKeyChange keeps each
      // id once (an UPDATE that kept the lookup id names it once).
      if (KeyChangeRingAttached() && !NoteKeyChange(id, targets.broad)) named = false;
    }
    if (named) {
      CacheInvalidateRelcacheByRelid(targets.narrow);
    } else {
      SendBroad(targets.broad, td->tg_relation);
    }
  });
  // This backend's own entries go at once: with the names noted, its own
  // transaction's changes make it clear all its keys.
  if (named) {
    VerifyCacheKeyRowsChanged();
  } else {
    NoteBroadSignalQueued();
    VerifyCacheInvalidate();
  }
  return PointerGetDatum(nullptr);
}

}  // namespace

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_verify_cache_invalidate, insight::InvalidateOnChange)
INSIGHT_SQL_FUNCTION(insight_verify_cache_key_changed, insight::InvalidateKeyRow)
