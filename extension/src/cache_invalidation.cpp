// insight._verify_cache_invalidate(): the statement trigger on api_keys,
// users, memberships, organizations and org_policies_t that tells every
// backend "key data changed" (docs/DESIGN.md, "Verify cache invalidation").
//
// The signal is a relcache invalidation of insight.cache_inval_keys, an empty
// relation that exists only for it: queued now, sent to every backend of the
// cluster when this transaction commits (and WAL-logged with the commit
// record, so hot standbys receive it), never sent if it rolls back. Each
// backend's relcache callback (key_lookup.cpp) then clears its verify cache,
// and verify accepts pending invalidations before every lookup. The changed
// tables' own relcache entries, and the plans cached over them, are left
// alone.
#include "key_lookup.hpp"
#include "verify_cache.hpp"

extern "C" {
#include "commands/trigger.h"
#include "utils/inval.h"
#include "utils/rel.h"
}

namespace insight {

namespace {

Datum InvalidateOnChange(FunctionCallInfo fcinfo) {
  if (!CALLED_AS_TRIGGER(fcinfo)) {
    throw SqlError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                   "insight._verify_cache_invalidate() must be called as a trigger");
  }
  auto* td = reinterpret_cast<TriggerData*>(fcinfo->context);
  Oid key_data = KeyDataInvalidationRelation();
  PgCall([td, key_data]() {
    if (OidIsValid(key_data)) {
      CacheInvalidateRelcacheByRelid(key_data);
    } else {
      // A catalog not yet updated to 1.3 has no such relation: the changed
      // table itself is invalidated, which every backend's callback also
      // takes as "clear the cache" (and re-resolves the relations, finding
      // insight.cache_inval_keys once it exists).
      CacheInvalidateRelcache(td->tg_relation);
    }
  });
  // This backend's cache goes at once: the rest of this transaction must not
  // answer from entries read before the change.
  VerifyCacheInvalidate();
  return PointerGetDatum(nullptr);
}

}  // namespace

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_verify_cache_invalidate, insight::InvalidateOnChange)
