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
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

namespace insight {

namespace {

// The relations verify reads, resolved once per backend and forgotten by the
// relcache callback (so DROP/CREATE EXTENSION in the same session works).
struct Relations {
  bool valid = false;
  Oid api_keys, keys_pkey, keys_lookup_idx;
  Oid organizations, organizations_pkey;
  Oid users, users_pkey;
  Oid memberships, memberships_pkey;
  Oid policies, policies_pkey;  // InvalidOid until the catalog reaches 1.2
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

// A PostgreSQL callback: plain C only, never raises.
void OnRelcacheInvalidation(Datum, Oid relid) {
  if (relid == InvalidOid || !g_rels.valid || g_rels.Tracks(relid)) {
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

// What one lookup read, as plain data filled inside PgCall.
struct RawKey {
  bool found;
  pg_uuid_t id;
  bool is_org;
  pg_uuid_t org;
  bool has_owner;
  pg_uuid_t owner;
  bool hash_ok;  // stored hash is 32 bytes
  uint8_t hash[32];
  bool has_expires;
  TimestampTz expires;
  TimestampTz created;
  bool has_lifetime_end;   // the organization's policy has max_key_lifetime
  TimestampTz lifetime_end;  // created_at + max_key_lifetime
  int64 generation;  // when the key was inserted, in insight.generation_seq's order
  bool disabled;     // disabled_at is set
  bool org_exists;
  bool owner_exists;
  bool owner_admin;
  core::Role role;
  bool cacheable;  // read in a fresh snapshot: may be cached
  char* settings;  // api_keys.settings as JSON text (palloc'd), or nullptr for none
};

// Inside PgCall: one equality probe of a unique index; read() sees the row.
template <typename Read>
bool Probe(Oid heap_oid, Oid index_oid, Snapshot snap, ScanKeyData* keys, int nkeys, Read&& read) {
  Relation heap = table_open(heap_oid, AccessShareLock);
  SysScanDesc scan = systable_beginscan(heap, index_oid, true, snap, nkeys, keys);
  HeapTuple tup = systable_getnext(scan);
  bool found = HeapTupleIsValid(tup);
  if (found) read(tup, RelationGetDescr(heap));
  systable_endscan(scan);
  table_close(heap, AccessShareLock);
  return found;
}

void CopyUuid(Datum d, pg_uuid_t* out) { std::memcpy(out->data, DatumGetUUIDP(d)->data, UUID_LEN); }

bool TextEquals(Datum d, const char* s) {
  text* t = DatumGetTextPP(d);
  size_t n = strlen(s);
  return VARSIZE_ANY_EXHDR(t) == n && std::memcmp(VARDATA_ANY(t), s, n) == 0;
}

// A user key counts for its owner's membership only if it was inserted after
// the membership began: the keys of a member who was removed and re-added
// (before the cascade deleted them, even in the same transaction) belong to
// the removed membership, and answer OWNER_INACTIVE at once
// (docs/SECURITY.md, "Membership removal").
bool KeyCoveredBy(const RawKey& key, const OwnerFacts& facts) {
  return key.generation >= facts.member_generation;
}

// Inside PgCall. created_at + the organization's max_key_lifetime, in the
// server's calendar arithmetic (timestamptz + interval, as the views compute
// it). set_org_policy bounds the lifetime, so this cannot leave the range.
void ApplyLifetime(const OwnerFacts& facts, RawKey* raw) {
  raw->has_lifetime_end = facts.has_max_lifetime;
  if (!facts.has_max_lifetime) return;
  Interval iv;
  iv.time = facts.lifetime_usecs;
  iv.day = facts.lifetime_days;
  iv.month = facts.lifetime_months;
  raw->lifetime_end = DatumGetTimestampTz(DirectFunctionCall2(
      timestamptz_pl_interval, TimestampTzGetDatum(raw->created), IntervalPGetDatum(&iv)));
}

// Inside PgCall. Reads the key row found by (attno = value) through index, then
// the organization, the owner and the membership, all in one fresh snapshot.
void ReadKey(const Relations& r, Oid index, AttrNumber attno, RegProcedure eq, Datum value,
             RawKey* raw, const uint8_t* presented = nullptr) {
  std::memset(raw, 0, sizeof *raw);
  raw->role = core::Role::None;
  // Before the snapshot: facts read in it are cached only if no invalidation
  // arrives meanwhile (see VerifyCacheGeneration).
  uint64_t generation = VerifyCacheGeneration();
  // A query with a Gather node runs its leader in parallel mode, where no new
  // snapshot may be taken: read in the statement's snapshot then, and cache
  // nothing (it may predate an invalidation this backend already processed).
  raw->cacheable = !IsInParallelMode();
  Snapshot snap = RegisterSnapshot(raw->cacheable ? GetLatestSnapshot() : GetActiveSnapshot());
  ScanKeyData key;
  ScanKeyInit(&key, attno, BTEqualStrategyNumber, eq, value);
  raw->found = Probe(r.api_keys, index, snap, &key, 1, [&](HeapTuple tup, TupleDesc desc) {
    bool isnull;
    CopyUuid(heap_getattr(tup, r.k_id, desc, &isnull), &raw->id);
    raw->is_org = TextEquals(heap_getattr(tup, r.k_kind, desc, &isnull), "organization");
    CopyUuid(heap_getattr(tup, r.k_org, desc, &isnull), &raw->org);
    Datum owner = heap_getattr(tup, r.k_owner, desc, &isnull);
    raw->has_owner = !isnull;
    if (!isnull) CopyUuid(owner, &raw->owner);
    Datum hash = heap_getattr(tup, r.k_hash, desc, &isnull);
    if (!isnull) {
      bytea* b = DatumGetByteaPP(hash);
      raw->hash_ok = VARSIZE_ANY_EXHDR(b) == 32;
      if (raw->hash_ok) std::memcpy(raw->hash, VARDATA_ANY(b), 32);
    }
    Datum expires = heap_getattr(tup, r.k_expires, desc, &isnull);
    raw->has_expires = !isnull;
    if (!isnull) raw->expires = DatumGetTimestampTz(expires);
    raw->created = DatumGetTimestampTz(heap_getattr(tup, r.k_created, desc, &isnull));
    if (r.k_generation != InvalidAttrNumber) {
      Datum generation = heap_getattr(tup, r.k_generation, desc, &isnull);
      raw->generation = isnull ? 0 : DatumGetInt64(generation);
    }
    if (r.k_disabled != InvalidAttrNumber) {
      (void)heap_getattr(tup, r.k_disabled, desc, &isnull);
      raw->disabled = !isnull;
    }
    if (r.k_settings != InvalidAttrNumber) {
      Datum settings = heap_getattr(tup, r.k_settings, desc, &isnull);
      if (!isnull) {
        Jsonb* jb = DatumGetJsonbP(settings);
        // The common case, '{}', needs no text and no parse.
        if (!(JB_ROOT_IS_OBJECT(jb) && JB_ROOT_COUNT(jb) == 0)) {
          raw->settings = JsonbToCString(nullptr, &jb->root, VARSIZE(jb));
        }
      }
    }
  });
  if (raw->found && presented != nullptr &&
      !(raw->hash_ok && CRYPTO_memcmp(raw->hash, presented, 32) == 0)) {
    // Not this key: nothing about the row's owner is read or cached, so the
    // caller's answer, its cost and every cache counter are those of an
    // unknown lookup id.
    std::memset(raw, 0, sizeof *raw);
    raw->role = core::Role::None;
    raw->cacheable = !IsInParallelMode();
    UnregisterSnapshot(snap);
    return;
  }
  const uint8_t* owner = raw->has_owner ? raw->owner.data : nullptr;
  OwnerFacts cached;
  if (raw->found && OwnerFactsFind(raw->org.data, owner, &cached)) {
    raw->org_exists = cached.org_exists;
    raw->owner_exists = cached.owner_exists;
    raw->owner_admin = cached.owner_admin;
    raw->role = KeyCoveredBy(*raw, cached) ? cached.role : core::Role::None;
    ApplyLifetime(cached, raw);
    UnregisterSnapshot(snap);
    return;
  }
  int64 member_generation = 0;
  OwnerFacts policy;  // only its lifetime fields are used
  if (raw->found) {
    ScanKeyInit(&key, r.o_id, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(&raw->org));
    raw->org_exists =
        Probe(r.organizations, r.organizations_pkey, snap, &key, 1, [](HeapTuple, TupleDesc) {});
  }
  if (raw->found && raw->org_exists && OidIsValid(r.policies)) {
    // One more probe, only when the organization's facts are not cached.
    ScanKeyInit(&key, r.p_org, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(&raw->org));
    Probe(r.policies, r.policies_pkey, snap, &key, 1, [&](HeapTuple tup, TupleDesc desc) {
      bool isnull;
      Datum lifetime = heap_getattr(tup, r.p_max_lifetime, desc, &isnull);
      if (isnull) return;
      const Interval* iv = DatumGetIntervalP(lifetime);
      policy.has_max_lifetime = true;
      policy.lifetime_usecs = iv->time;
      policy.lifetime_days = iv->day;
      policy.lifetime_months = iv->month;
    });
  }
  if (raw->found && raw->has_owner) {
    ScanKeyInit(&key, r.u_id, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(&raw->owner));
    raw->owner_exists =
        Probe(r.users, r.users_pkey, snap, &key, 1, [&](HeapTuple tup, TupleDesc desc) {
          bool isnull;
          Datum admin = heap_getattr(tup, r.u_admin, desc, &isnull);
          raw->owner_admin = !isnull && DatumGetBool(admin);
        });
    ScanKeyData mkeys[2];
    ScanKeyInit(&mkeys[0], r.m_user, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(&raw->owner));
    ScanKeyInit(&mkeys[1], r.m_org, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(&raw->org));
    Probe(r.memberships, r.memberships_pkey, snap, mkeys, 2, [&](HeapTuple tup, TupleDesc desc) {
      bool isnull;
      Datum role = heap_getattr(tup, r.m_role, desc, &isnull);
      if (isnull) return;
      text* t = DatumGetTextPP(role);
      raw->role = core::ParseRole(std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)))
                      .value_or(core::Role::None);
      if (r.m_generation != InvalidAttrNumber) {
        Datum since = heap_getattr(tup, r.m_generation, desc, &isnull);
        member_generation = isnull ? 0 : DatumGetInt64(since);
      }
    });
  }
  if (raw->found) {
    OwnerFacts facts;
    facts.org_exists = raw->org_exists;
    facts.owner_exists = raw->owner_exists;
    facts.owner_admin = raw->owner_admin;
    facts.role = raw->role;
    facts.member_generation = member_generation;
    facts.has_max_lifetime = policy.has_max_lifetime;
    facts.lifetime_usecs = policy.lifetime_usecs;
    facts.lifetime_days = policy.lifetime_days;
    facts.lifetime_months = policy.lifetime_months;
    ApplyLifetime(facts, raw);
    if (raw->cacheable) OwnerFactsStore(raw->org.data, owner, facts, generation);
    if (!KeyCoveredBy(*raw, facts)) raw->role = core::Role::None;
  }
  UnregisterSnapshot(snap);
}

core::Uuid ToUuid(const pg_uuid_t& u) {
  core::Uuid out;
  std::memcpy(out.bytes.data(), u.data, UUID_LEN);
  return out;
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

void FillRecord(const RawKey& raw, KeyRecord* rec) {
  rec->key_id = ToUuid(raw.id);
  rec->kind = raw.is_org ? core::KeyKind::Organization : core::KeyKind::User;
  rec->org = ToUuid(raw.org);
  rec->owner = raw.has_owner ? std::optional<core::Uuid>(ToUuid(raw.owner)) : std::nullopt;
  rec->stored_expires_at =
      raw.has_expires ? std::optional<TimestampTz>(raw.expires) : std::nullopt;
  std::optional<int64_t> limit;
  if (raw.has_lifetime_end) limit = raw.lifetime_end;
  std::optional<int64_t> effective = core::EffectiveExpiry(rec->stored_expires_at, limit);
  rec->expires_at = effective ? std::optional<TimestampTz>(*effective) : std::nullopt;
  core::KeyFacts& f = rec->facts;
  f = core::KeyFacts{};
  f.kind = rec->kind;
  f.org_exists = raw.org_exists;
  f.owner_exists = raw.owner_exists;
  f.owner_platform_admin = raw.owner_admin;
  f.owner_role = raw.role;
  f.disabled = raw.disabled;
  ParseSettings(raw.settings, &rec->settings);
  f.has_max_role = rec->settings.has_max_role;
  f.max_role = rec->settings.max_role;
}

Datum InvalidateOnChange(FunctionCallInfo fcinfo) {
  if (!CALLED_AS_TRIGGER(fcinfo)) {
    throw SqlError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                   "insight._verify_cache_invalidate() must be called as a trigger");
  }
  auto* td = reinterpret_cast<TriggerData*>(fcinfo->context);
  // Sent to every backend (and to standbys, in the commit record) when this
  // transaction commits, after the change is visible; applied here at once.
  PgCall([td]() { CacheInvalidateRelcache(td->tg_relation); });
  VerifyCacheInvalidate();
  return PointerGetDatum(nullptr);
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

bool LookupKeyByLookupId(std::string_view lookup_id, KeyRecord* rec, uint8_t secret_hash[32],
                         bool* cacheable, const uint8_t* presented) {
  Relations r = ResolveRelations();
  RawKey raw;
  char lookup[core::kLookupLen];
  if (lookup_id.size() != core::kLookupLen) return false;
  std::memcpy(lookup, lookup_id.data(), core::kLookupLen);
  PgCall([&r, &raw, &lookup, presented]() {
    text* value = cstring_to_text_with_len(lookup, core::kLookupLen);
    ReadKey(r, r.keys_lookup_idx, r.k_lookup, F_TEXTEQ, PointerGetDatum(value), &raw, presented);
    pfree(value);
  });
  *cacheable = raw.cacheable;
  if (!raw.found) return false;
  FillRecord(raw, rec);
  if (raw.hash_ok) {
    std::memcpy(secret_hash, raw.hash, 32);
  } else {
    std::memset(secret_hash, 0, 32);  // matches no SHA-256 that anyone can find
  }
  return true;
}

bool LookupKeyById(const core::Uuid& key_id, KeyRecord* rec) {
  Relations r = ResolveRelations();
  RawKey raw;
  pg_uuid_t id;
  std::memcpy(id.data, key_id.bytes.data(), UUID_LEN);
  PgCall(
      [&r, &raw, &id]() { ReadKey(r, r.keys_pkey, r.k_id, F_UUID_EQ, UUIDPGetDatum(&id), &raw); });
  if (!raw.found) return false;
  FillRecord(raw, rec);
  return true;
}

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_verify_cache_invalidate, insight::InvalidateOnChange)
