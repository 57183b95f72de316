#include "key_lookup.hpp"

#include <cstring>

#include <openssl/crypto.h>

#include "../core/key_lifetime.hpp"
#include "verify_cache.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
}

namespace insight {

namespace {

// The relations verify reads, resolved once per backend and forgotten by the
// relcache callback when one of them may have changed shape or been dropped
// (so DROP/CREATE EXTENSION and ALTER EXTENSION UPDATE in the same session work).
struct Relations {
  bool valid = false;
  Oid api_keys, keys_pkey, keys_lookup_idx;
  Oid organizations, organizations_pkey;
  Oid users, users_pkey;
  Oid memberships, memberships_pkey;
  Oid policies, policies_pkey;  // InvalidOid until the catalog reaches 1.2
  Oid key_data;                 // insight.cache_inval_keys; InvalidOid until 1.3
  Oid key_rows;                 // insight.cache_inval_key_rows; InvalidOid until 1.4
  AttrNumber k_id, k_lookup, k_kind, k_org, k_owner, k_hash, k_expires, k_generation;
  AttrNumber k_disabled;
  AttrNumber k_created, p_org, p_max_lifetime;
  AttrNumber k_settings;
  AttrNumber o_id;
  AttrNumber u_id, u_admin;
  AttrNumber m_user, m_org, m_role, m_generation;

  bool Tracks(Oid relid) const {
    return relid == api_keys || relid == keys_pkey || relid == keys_lookup_idx ||
           relid == organizations || relid == organizations_pkey || relid == users ||
           relid == users_pkey || relid == memberships || relid == memberships_pkey ||
           (OidIsValid(policies) && (relid == policies || relid == policies_pkey));
  }
};

Relations g_rels;
uint64_t g_rels_generation = 0;

// A PostgreSQL callback: plain C only, never raises. Three signals arrive here:
//  - "these keys changed": a relcache invalidation of
//    insight.cache_inval_key_rows, sent by the row trigger on api_keys
//    (cache_invalidation.cpp) at commit of a change to some keys. Only their
//    entries go (key_changes.hpp says which).
//  - "key data changed": one of insight.cache_inval_keys, sent by the
//    statement triggers on users, memberships, organizations and
//    org_policies_t, by TRUNCATE of api_keys, and in place of the narrow
//    signal when a transaction cannot name its keys. The whole verify cache
//    goes, owner facts too.
//  - "the relations may have changed": an invalidation of a table or index
//    verify reads (DDL, DROP EXTENSION, VACUUM's statistics), of every
//    relation (relid 0), or of anything while the OIDs are not resolved. The
//    OIDs are forgotten and the cache goes too: the rows may be gone with them.
//    Before the catalog reaches 1.4 (no insight.cache_inval_key_rows) every
//    relcache invalidation counts as this: the triggers of the older catalog
//    send other signals, and the relations that ALTER EXTENSION UPDATE
//    creates (their creation is an invalidation too) must be found by a
//    session that resolved the OIDs before the update, or their signals would
//    go unheard.
void OnRelcacheInvalidation(Datum, Oid relid) {
  bool current = g_rels.valid && OidIsValid(g_rels.key_data) && OidIsValid(g_rels.key_rows);
  if (current && relid == g_rels.key_rows) {
    VerifyCacheKeyRowsChanged();
    return;
  }
  if (current && relid == g_rels.key_data) {
    VerifyCacheInvalidate();
    return;
  }
  if (relid == InvalidOid || !current || g_rels.Tracks(relid)) {
    g_rels.valid = false;
    g_rels_generation++;
    VerifyCacheInvalidate();
  }
}

// Inside PgCall.
Oid RelationIn(Oid nsp, const char* name) {
  Oid relid = get_relname_relid(name, nsp);
  if (!OidIsValid(relid)) elog(ERROR, "insight_keys: relation insight.%s is missing", name);
  return relid;
}

AttrNumber Column(Oid relid, const char* name) {
  AttrNumber att = get_attnum(relid, name);
  if (att == InvalidAttrNumber) elog(ERROR, "insight_keys: column %s is missing", name);
  return att;
}

Relations ResolveRelations() {
  if (g_rels.valid) return g_rels;
  uint64_t generation = g_rels_generation;
  Relations r = PgCall([]() {
    Relations r;
    Oid nsp = get_namespace_oid("insight", false);
    r.api_keys = RelationIn(nsp, "api_keys");
    r.keys_pkey = RelationIn(nsp, "api_keys_pkey");
    r.keys_lookup_idx = RelationIn(nsp, "api_keys_lookup_id_key");
    r.organizations = RelationIn(nsp, "organizations");
    r.organizations_pkey = RelationIn(nsp, "organizations_pkey");
    r.users = RelationIn(nsp, "users");
    r.users_pkey = RelationIn(nsp, "users_pkey");
    r.memberships = RelationIn(nsp, "memberships");
    r.memberships_pkey = RelationIn(nsp, "memberships_pkey");
    // Absent until ALTER EXTENSION UPDATE reaches 1.3: the triggers then
    // invalidate the changed table itself, which Tracks() catches.
    r.key_data = get_relname_relid("cache_inval_keys", nsp);
    // Absent until 1.4: the api_keys triggers then send the broad signal.
    r.key_rows = get_relname_relid("cache_inval_key_rows", nsp);
    r.k_id = Column(r.api_keys, "id");
    r.k_lookup = Column(r.api_keys, "lookup_id");
    r.k_kind = Column(r.api_keys, "kind");
    r.k_org = Column(r.api_keys, "org_id");
    r.k_owner = Column(r.api_keys, "owner_id");
    r.k_hash = Column(r.api_keys, "secret_hash");
    r.k_expires = Column(r.api_keys, "expires_at");
    // Absent until ALTER EXTENSION UPDATE reaches 1.2: every key reads as 0.
    r.k_generation = get_attnum(r.api_keys, "generation");
    // Likewise: before 1.2 no key is disabled.
    r.k_disabled = get_attnum(r.api_keys, "disabled_at");
    // Absent before 1.2 as well: every key then has no settings.
    r.k_settings = get_attnum(r.api_keys, "settings");
    r.o_id = Column(r.organizations, "id");
    r.u_id = Column(r.users, "id");
    r.u_admin = Column(r.users, "is_platform_admin");
    r.m_user = Column(r.memberships, "user_id");
    r.m_org = Column(r.memberships, "org_id");
    r.m_role = Column(r.memberships, "role");
    r.m_generation = get_attnum(r.memberships, "generation");
    r.k_created = Column(r.api_keys, "created_at");
    // Absent until ALTER EXTENSION UPDATE reaches 1.2: no policy applies.
    r.policies = get_relname_relid("org_policies_t", nsp);
    r.policies_pkey = get_relname_relid("org_policies_t_pkey", nsp);
    if (!OidIsValid(r.policies_pkey)) r.policies = InvalidOid;
    if (OidIsValid(r.policies)) {
      r.p_org = Column(r.policies, "org_id");
      r.p_max_lifetime = Column(r.policies, "max_key_lifetime");
    }
    return r;
  });
  // Keep them only if no invalidation arrived while they were looked up.
  r.valid = generation == g_rels_generation;
  if (r.valid) g_rels = r;
  return r;
}

// Inside PgCall: one equality probe of a unique index; read() sees the row in
// the slot. The key columns are the index's (1, 2, ...). Both relations stay
// locked until the transaction ends (NoLock at close), as a query's would: a
// second probe in the same transaction then takes no lock and processes no
// invalidation, and the relations cannot be dropped under the transaction.
template <typename Read>
bool Probe(Oid heap_oid, Oid index_oid, Snapshot snap, ScanKeyData* keys, int nkeys, Read&& read) {
  Relation heap = table_open(heap_oid, AccessShareLock);
  Relation index = index_open(index_oid, AccessShareLock);
  IndexScanDesc scan = index_beginscan(heap, index, snap, nkeys, 0);
  index_rescan(scan, keys, nkeys, nullptr, 0);
  TupleTableSlot* slot = table_slot_create(heap, nullptr);
  bool found = index_getnext_slot(scan, ForwardScanDirection, slot);
  if (found) read(slot);
  ExecDropSingleTupleTableSlot(slot);
  index_endscan(scan);
  index_close(index, NoLock);
  table_close(heap, NoLock);
  return found;
}

void CopyUuid(Datum d, core::Uuid* out) {
  std::memcpy(out->bytes.data(), DatumGetUUIDP(d)->data, UUID_LEN);
}

Datum UuidDatum(const core::Uuid& u) {
  // pg_uuid_t is 16 unsigned chars: the bytes of a core::Uuid are one.
  return UUIDPGetDatum(reinterpret_cast<const pg_uuid_t*>(u.bytes.data()));
}

// A user key counts for its owner's membership only if it was inserted after
// the membership began: the keys of a member who was removed and re-added
// (before the cascade deleted them, even in the same transaction) belong to
// the removed membership, and answer OWNER_INACTIVE at once
// (docs/SECURITY.md, "Membership removal").
bool KeyCoveredBy(const KeyRecord& rec, const OwnerFacts& facts) {
  return rec.generation >= facts.member_generation;
}

// Inside PgCall. What the owner facts say about this key: the owner's state,
// and created_at + the organization's max_key_lifetime, in the server's
// calendar arithmetic (timestamptz + interval, as the views compute it).
// set_org_policy bounds the lifetime, so this cannot leave the range.
void ApplyOwnerFacts(const OwnerFacts& facts, KeyRecord* rec,
                     std::optional<TimestampTz>* lifetime_end) {
  rec->facts.org_exists = facts.org_exists;
  rec->facts.owner_exists = facts.owner_exists;
  rec->facts.owner_platform_admin = facts.owner_admin;
  rec->facts.owner_role = KeyCoveredBy(*rec, facts) ? facts.role : core::Role::None;
  if (!facts.has_max_lifetime) return;
  Interval iv;
  iv.time = facts.lifetime_usecs;
  iv.day = facts.lifetime_days;
  iv.month = facts.lifetime_months;
  *lifetime_end = DatumGetTimestampTz(DirectFunctionCall2(
      timestamptz_pl_interval, TimestampTzGetDatum(rec->created_at), IntervalPGetDatum(&iv)));
}

// What ReadKey leaves to be finished outside PgCall.
struct ReadResult {
  bool found = false;
  bool cacheable = false;  // read in a fresh snapshot: may be cached
  std::optional<TimestampTz> lifetime_end;
  char* settings = nullptr;  // api_keys.settings as JSON text (palloc'd), or nullptr for none
};

// Inside PgCall. Reads the key row found by (index column 1 = value) into rec,
// then the organization, the owner and the membership (or their cached
// facts), all in one fresh snapshot.
void ReadKey(const Relations& r, Oid index, RegProcedure eq, Datum value, KeyRecord* rec,
             ReadResult* res, const uint8_t* presented) {
  *rec = KeyRecord{};
  *res = ReadResult{};
  // Before the snapshot: facts read in it are cached only if no invalidation
  // arrives meanwhile (see VerifyCacheGeneration).
  uint64_t generation = VerifyCacheGeneration();
  // A query with a Gather node runs its leader in parallel mode, where no new
  // snapshot may be taken: read in the statement's snapshot then, and cache
  // nothing (it may predate an invalidation this backend already processed).
  res->cacheable = !IsInParallelMode();
  Snapshot snap = RegisterSnapshot(res->cacheable ? GetLatestSnapshot() : GetActiveSnapshot());
  ScanKeyData key;
  ScanKeyInit(&key, 1, BTEqualStrategyNumber, eq, value);
  bool hash_ok = false;
  res->found = Probe(r.api_keys, index, snap, &key, 1, [&](TupleTableSlot* slot) {
    bool isnull;
    CopyUuid(slot_getattr(slot, r.k_id, &isnull), &rec->key_id);
    text* lookup = DatumGetTextPP(slot_getattr(slot, r.k_lookup, &isnull));
    if (VARSIZE_ANY_EXHDR(lookup) == core::kLookupLen) {
      std::memcpy(rec->lookup_id, VARDATA_ANY(lookup), core::kLookupLen);
    }
    text* kind = DatumGetTextPP(slot_getattr(slot, r.k_kind, &isnull));
    rec->facts.kind =
        core::KindFromName(std::string_view(VARDATA_ANY(kind), VARSIZE_ANY_EXHDR(kind)));
    CopyUuid(slot_getattr(slot, r.k_org, &isnull), &rec->org);
    Datum owner = slot_getattr(slot, r.k_owner, &isnull);
    if (!isnull) CopyUuid(owner, &rec->owner.emplace());
    Datum hash = slot_getattr(slot, r.k_hash, &isnull);
    if (!isnull) {
      bytea* b = DatumGetByteaPP(hash);
      hash_ok = VARSIZE_ANY_EXHDR(b) == 32;
      // Otherwise all zero: matches no SHA-256 that anyone can find.
      if (hash_ok) std::memcpy(rec->secret_hash, VARDATA_ANY(b), 32);
    }
    Datum expires = slot_getattr(slot, r.k_expires, &isnull);
    if (!isnull) rec->stored_expires_at = DatumGetTimestampTz(expires);
    rec->created_at = DatumGetTimestampTz(slot_getattr(slot, r.k_created, &isnull));
    if (r.k_generation != InvalidAttrNumber) {
      Datum g = slot_getattr(slot, r.k_generation, &isnull);
      rec->generation = isnull ? 0 : DatumGetInt64(g);
    }
    if (r.k_disabled != InvalidAttrNumber) {
      (void)slot_getattr(slot, r.k_disabled, &isnull);
      rec->facts.disabled = !isnull;
    }
    if (r.k_settings != InvalidAttrNumber) {
      Datum settings = slot_getattr(slot, r.k_settings, &isnull);
      if (!isnull) {
        Jsonb* jb = DatumGetJsonbP(settings);
        // The common case, '{}', needs no text and no parse.
        if (!(JB_ROOT_IS_OBJECT(jb) && JB_ROOT_COUNT(jb) == 0)) {
          res->settings = JsonbToCString(nullptr, &jb->root, VARSIZE(jb));
        }
      }
    }
  });
  if (res->found && presented != nullptr &&
      !(hash_ok && CRYPTO_memcmp(rec->secret_hash, presented, 32) == 0)) {
    // Not this key: nothing about the row's owner is read or cached, so the
    // caller's answer, its cost and every cache counter are those of an
    // unknown lookup id.
    *rec = KeyRecord{};
    res->found = false;
    res->settings = nullptr;
  }
  if (!res->found) {
    UnregisterSnapshot(snap);
    return;
  }
  const uint8_t* owner = rec->owner ? rec->owner->bytes.data() : nullptr;
  OwnerFacts facts;
  if (OwnerFactsFind(rec->org.bytes.data(), owner, &facts)) {
    ApplyOwnerFacts(facts, rec, &res->lifetime_end);
    UnregisterSnapshot(snap);
    return;
  }
  ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ, UuidDatum(rec->org));
  facts.org_exists =
      Probe(r.organizations, r.organizations_pkey, snap, &key, 1, [](TupleTableSlot*) {});
  if (facts.org_exists && OidIsValid(r.policies)) {
    // One more probe, only when the organization's facts are not cached.
    ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ, UuidDatum(rec->org));
    Probe(r.policies, r.policies_pkey, snap, &key, 1, [&](TupleTableSlot* slot) {
      bool isnull;
      Datum lifetime = slot_getattr(slot, r.p_max_lifetime, &isnull);
      if (isnull) return;
      const Interval* iv = DatumGetIntervalP(lifetime);
      facts.has_max_lifetime = true;
      facts.lifetime_usecs = iv->time;
      facts.lifetime_days = iv->day;
      facts.lifetime_months = iv->month;
    });
  }
  if (rec->owner) {
    ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ, UuidDatum(*rec->owner));
    facts.owner_exists = Probe(r.users, r.users_pkey, snap, &key, 1, [&](TupleTableSlot* slot) {
      bool isnull;
      Datum admin = slot_getattr(slot, r.u_admin, &isnull);
      facts.owner_admin = !isnull && DatumGetBool(admin);
    });
    ScanKeyData mkeys[2];
    ScanKeyInit(&mkeys[0], 1, BTEqualStrategyNumber, F_UUID_EQ, UuidDatum(*rec->owner));
    ScanKeyInit(&mkeys[1], 2, BTEqualStrategyNumber, F_UUID_EQ, UuidDatum(rec->org));
    Probe(r.memberships, r.memberships_pkey, snap, mkeys, 2, [&](TupleTableSlot* slot) {
      bool isnull;
      Datum role = slot_getattr(slot, r.m_role, &isnull);
      if (isnull) return;
      text* t = DatumGetTextPP(role);
      facts.role = core::ParseRole(std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)))
                       .value_or(core::Role::None);
      if (r.m_generation != InvalidAttrNumber) {
        Datum since = slot_getattr(slot, r.m_generation, &isnull);
        facts.member_generation = isnull ? 0 : DatumGetInt64(since);
      }
    });
  }
  if (res->cacheable) OwnerFactsStore(rec->org.bytes.data(), owner, facts, generation);
  ApplyOwnerFacts(facts, rec, &res->lifetime_end);
  UnregisterSnapshot(snap);
}

// The stored settings in their compact form. configure_key wrote them after
// the same validation, so a failure here means the row was written some other
// way: the key then fails closed (check answers FORBIDDEN).
void ParseSettings(const char* json, core::KeySettings* out) {
  if (json == nullptr) {
    *out = core::KeySettings{};
    return;
  }
  std::string window, error;
  if (!core::ParseKeySettings(json, false, out, &window, &error)) {
    *out = core::KeySettings{};
    out->invalid = true;
    return;
  }
  if (out->has_rate_limit) {
    std::optional<int64_t> us = IntervalMicroseconds(window);
    if (!us) {
      *out = core::KeySettings{};
      out->invalid = true;
      return;
    }
    out->rate_window_us = *us;
  }
}

// Outside PgCall: what follows from the row and the owner facts.
void FinishRecord(const ReadResult& res, KeyRecord* rec) {
  std::optional<int64_t> limit;
  if (res.lifetime_end) limit = *res.lifetime_end;
  std::optional<int64_t> effective = core::EffectiveExpiry(rec->stored_expires_at, limit);
  rec->expires_at = effective ? std::optional<TimestampTz>(*effective) : std::nullopt;
  ParseSettings(res.settings, &rec->settings);
  rec->facts.has_max_role = rec->settings.has_max_role;
  rec->facts.max_role = rec->settings.max_role;
}

}  // namespace

std::optional<int64_t> IntervalMicroseconds(const std::string& text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  char buf[65];
  std::memcpy(buf, text.c_str(), text.size() + 1);
  bool ok = false;
  Interval iv{};
  try {
    // interval_in raises on a syntax error or an overflow; a pure parse holds
    // no lock, buffer or snapshot, so the error is consumed here and the
    // value is reported as not an interval.
    iv = PgCall([&buf]() {
      Interval* p = DatumGetIntervalP(
          DirectFunctionCall3(interval_in, CStringGetDatum(buf), ObjectIdGetDatum(InvalidOid),
                              Int32GetDatum(-1)));
      return *p;
    });
    ok = true;
  } catch (const PgError&) {
    ok = false;
  }
  // Months have no fixed length: a window is given in days or less.
  if (!ok || iv.month != 0 || iv.day < 0 || iv.time < 0) return std::nullopt;
  __int128 us = static_cast<__int128>(iv.day) * USECS_PER_DAY + iv.time;
  if (us < USECS_PER_SEC || us > static_cast<__int128>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(us);
}

void InitKeyLookup() { CacheRegisterRelcacheCallback(OnRelcacheInvalidation, Datum(0)); }

void AcceptInvalidations() {
  PgCall([]() { AcceptInvalidationMessages(); });
}

bool LookupKeyByLookupId(std::string_view lookup_id, KeyRecord* rec, bool* cacheable,
                         const uint8_t* presented) {
  *cacheable = false;
  if (lookup_id.size() != core::kLookupLen) return false;
  Relations r = ResolveRelations();
  ReadResult res;
  char lookup[core::kLookupLen];
  std::memcpy(lookup, lookup_id.data(), core::kLookupLen);
  PgCall([&r, &res, &lookup, rec, presented]() {
    text* value = cstring_to_text_with_len(lookup, core::kLookupLen);
    ReadKey(r, r.keys_lookup_idx, F_TEXTEQ, PointerGetDatum(value), rec, &res, presented);
    pfree(value);
  });
  *cacheable = res.cacheable;
  if (!res.found) return false;
  FinishRecord(res, rec);
  return true;
}

bool LookupKeyById(const core::Uuid& key_id, KeyRecord* rec, bool* cacheable) {
  Relations r = ResolveRelations();
  ReadResult res;
  PgCall([&r, &res, &key_id, rec]() {
    ReadKey(r, r.keys_pkey, F_UUID_EQ, UuidDatum(key_id), rec, &res, nullptr);
  });
  *cacheable = res.cacheable;
  if (!res.found) return false;
  FinishRecord(res, rec);
  return true;
}

InvalidationTargets KeyInvalidationTargets() {
  Relations r = ResolveRelations();
  if (!OidIsValid(r.key_data)) return {};
  // Their own relcache invalidations read as signals, so a relation dropped
  // on its own (not with the extension) would go unnoticed here: check they
  // still exist, else resolve again.
  Oid key_data = r.key_data, key_rows = r.key_rows;
  bool exists = PgCall([key_data, key_rows]() {
    return SearchSysCacheExists1(RELOID, ObjectIdGetDatum(key_data)) &&
           (!OidIsValid(key_rows) || SearchSysCacheExists1(RELOID, ObjectIdGetDatum(key_rows)));
  });
  if (!exists) {
    g_rels.valid = false;
    g_rels_generation++;
    r = ResolveRelations();
  }
  return {r.key_data, r.key_rows, r.k_lookup};
}

}  // namespace insight

