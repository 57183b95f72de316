// verify() and authenticate(): the read-only path every request takes.
//
// Hot path, in order: the argument's size from its header (no detoast of huge
// input), the key format and CRC in pure C++ (MALFORMED never touches a table
// or the cache), AcceptInvalidationMessages() (so a change committed by any
// session before this statement is honoured), the backend cache, else direct
// index scans in a fresh snapshot; then SHA-256 of the presented key compared
// in constant time with the stored hash, and expiry checked against the clock
// on every call. Nothing is written; usage goes to shared memory.
#include <openssl/crypto.h>
#include <sys/socket.h>

#include <cstring>

#include "key_hash.hpp"
#include "key_lookup.hpp"
#include "keys.hpp"
#include "principal.hpp"
#include "rate_limits.hpp"
#include "usage_stats.hpp"
#include "verify_cache.hpp"

extern "C" {
#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/inet.h"
}

namespace insight {

namespace {

// A use is written to shared memory at most this often per key and backend:
// last_used_at is then at most insight.last_used_flush_interval + 1 s old.
constexpr TimestampTz kReportEvery = USECS_PER_SEC;

// The blessed result descriptors of verify, authenticate, check and
// verify_cache_status (6 functions, three row shapes), built once per
// backend: fn_extra does not survive from one execution of a prepared
// statement to the next, and building the descriptor from pg_proc was a tenth
// of a verify statement. Keyed by function OID, so a re-created extension
// (new OIDs) builds new ones.
struct ResultShape {
  Oid fn_oid;
  TupleDesc desc;  // in CacheMemoryContext
};
ResultShape g_shapes[8];

TupleDesc ResultDesc(FunctionCallInfo fcinfo) {  // inside PgCall
  Oid fn_oid = fcinfo->flinfo->fn_oid;
  for (const ResultShape& s : g_shapes) {
    if (s.fn_oid == fn_oid && s.desc != nullptr) return s.desc;
  }
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) {
    elog(ERROR, "function must return a composite type");
  }
  MemoryContext old = MemoryContextSwitchTo(CacheMemoryContext);
  desc = BlessTupleDesc(CreateTupleDescCopy(desc));
  MemoryContextSwitchTo(old);
  ResultShape* slot = &g_shapes[0];
  for (ResultShape& s : g_shapes) {
    if (s.desc == nullptr) {
      slot = &s;
      break;
    }
  }
  if (slot->desc != nullptr) FreeTupleDesc(slot->desc);  // all taken: replace the first
  slot->fn_oid = fn_oid;
  slot->desc = desc;
  return desc;
}

// The one way this file builds a result row: the cached descriptor, checked
// against the values given. Inside PgCall.
Datum FormResultRow(FunctionCallInfo fcinfo, Datum* values, bool* nulls, int natts) {
  TupleDesc desc = ResultDesc(fcinfo);
  if (desc->natts != natts) elog(ERROR, "unexpected result shape");
  // heap_form_tuple copies the by-reference values.
  return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

// What check() adds to verify's eight columns.
struct RateLimitColumns {
  bool present = false;  // the key has a rate limit
  bool known = false;    // remaining and reset were computed
  int32 remaining = 0;
  TimestampTz reset = 0;
};

// The key is described (key_id ... expires_at) for every code after its secret
// was proven; role only when VALID.
bool Describes(core::VerifyCode code) {
  return code != core::VerifyCode::Malformed && code != core::VerifyCode::NotFound;
}

Datum BuildVerifyRow(FunctionCallInfo fcinfo, const core::VerifyOutcome& out, const KeyRecord& rec,
                     const RateLimitColumns* limits = nullptr) {
  bool describe = Describes(out.code);
  std::string_view code = core::VerifyCodeName(out.code);
  std::string_view kind = core::KindName(rec.kind());
  std::string_view role = out.role;
  return PgCall([&]() {
    Datum values[10];
    bool nulls[10] = {false, false, true, true, true, true, true, true, true, true};
    values[0] = BoolGetDatum(out.code == core::VerifyCode::Valid);
    values[1] =
        PointerGetDatum(cstring_to_text_with_len(code.data(), static_cast<int>(code.size())));
    pg_uuid_t uuids[3];
    if (describe) {
      std::memcpy(uuids[0].data, rec.key_id.bytes.data(), UUID_LEN);
      values[2] = UUIDPGetDatum(&uuids[0]), nulls[2] = false;
      values[3] =
          PointerGetDatum(cstring_to_text_with_len(kind.data(), static_cast<int>(kind.size())));
      nulls[3] = false;
      std::memcpy(uuids[1].data, rec.org.bytes.data(), UUID_LEN);
      values[4] = UUIDPGetDatum(&uuids[1]), nulls[4] = false;
      if (rec.owner) {
        std::memcpy(uuids[2].data, rec.owner->bytes.data(), UUID_LEN);
        values[5] = UUIDPGetDatum(&uuids[2]), nulls[5] = false;
      }
      if (!role.empty()) {
        values[6] =
            PointerGetDatum(cstring_to_text_with_len(role.data(), static_cast<int>(role.size())));
        nulls[6] = false;
      }
      if (rec.expires_at) values[7] = TimestampTzGetDatum(*rec.expires_at), nulls[7] = false;
    }
    if (limits != nullptr && limits->known) {
      values[8] = Int32GetDatum(limits->remaining), nulls[8] = false;
      values[9] = TimestampTzGetDatum(limits->reset), nulls[9] = false;
    }
    // The stack uuids are copied into the row.
    return FormResultRow(fcinfo, values, nulls, limits != nullptr ? 10 : 8);
  });
}

// The last step of check() and authenticate(): counts this request against
// the key's rate limit in shared memory (only a request that reached this
// step counts). A key without a rate limit passes. When the limiter is not
// available (not preloaded, table full) a key that has a limit is refused
// (RATE_LIMITED), never let through unlimited (docs/SECURITY.md, "Rate limits").
core::VerifyOutcome ApplyRateLimit(const core::VerifyOutcome& out, const KeyRecord& rec,
                                   TimestampTz now, RateLimitColumns* cols) {
  cols->present = rec.settings.has_rate_limit;
  if (out.code != core::VerifyCode::Valid || !rec.settings.has_rate_limit) return out;
  RateLimitSpec spec{rec.settings.rate_limit, rec.settings.rate_window_us};
  // now is the time verification decided at: one clock read per request.
  RateLimitResult r = ConsumeRateLimit(rec.key_id, spec, now != 0 ? now : GetCurrentTimestamp());
  if (r.available) {
    cols->known = true;
    cols->remaining = r.remaining;
    cols->reset = r.reset;
  }
  if (!r.available || !r.allowed) return {core::VerifyCode::RateLimited, {}};
  return out;
}

// The client address argument as bytes, read from the inet datum itself.
// A netmask on the argument is ignored: the address is what is checked.
bool AddressArgument(FunctionCallInfo fcinfo, int argno, core::CheckRequest* req,
                     uint8_t bytes[16]) {
  if (PG_NARGS() <= argno || PG_ARGISNULL(argno)) return false;
  // Read in place unless compressed or out of line (pg_detoast_datum_packed's
  // test): only detoasting can raise.
  auto* v = reinterpret_cast<varlena*>(DatumGetPointer(PG_GETARG_DATUM(argno)));
  inet* addr = VARATT_IS_COMPRESSED(v) || VARATT_IS_EXTERNAL(v)
                   ? PgCall([fcinfo, argno]() { return PG_GETARG_INET_PP(argno); })
                   : reinterpret_cast<inet*>(v);
  int family = ip_family(addr);
  int len = family == PGSQL_AF_INET ? 4 : 16;
  std::memset(bytes, 0, 16);
  std::memcpy(bytes, ip_addr(addr), len);
  req->has_address = true;
  req->family = family == PGSQL_AF_INET ? 4 : 6;
  req->addr = bytes;
  return true;
}

// The argument as key text, or nullopt when it cannot be a key. The size is
// read from the (possibly toasted) header first, so a 100 MB argument is
// rejected without being detoasted.
std::optional<std::string_view> KeyArgument(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0)) return std::nullopt;
  Datum raw = PG_GETARG_DATUM(0);
  auto* ptr = reinterpret_cast<struct varlena*>(DatumGetPointer(raw));
  Size size = (VARATT_IS_EXTENDED(ptr) ? toast_raw_datum_size(raw) : VARSIZE(ptr)) - VARHDRSZ;
  if (size < core::kMinKeyLen || size > core::kMaxKeyLen) return std::nullopt;
  text* t = VARATT_IS_COMPRESSED(ptr) || VARATT_IS_EXTERNAL(ptr)
                ? PgCall([raw]() { return DatumGetTextPP(raw); })
                : reinterpret_cast<text*>(ptr);
  return std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

core::VerifyOutcome VerifyArgument(FunctionCallInfo fcinfo, KeyRecord* rec,
                                   TimestampTz* now = nullptr) {
  std::optional<std::string_view> key = KeyArgument(fcinfo);
  core::VerifyOutcome out =
      key ? VerifyKeyText(*key, rec, now) : core::VerifyOutcome{core::VerifyCode::Malformed, {}};
  CountVerify(out.code);
  return out;
}

}  // namespace

core::VerifyOutcome VerifyKeyText(std::string_view key, KeyRecord* rec, TimestampTz* now_out) {
  core::ParsedKey parsed;
  if (!core::ParseKey(key, &parsed)) return {core::VerifyCode::Malformed, {}};

  // Any invalidation sent by a commit that precedes this call is processed
  // here, clearing the cache, before the cache is consulted.
  AcceptInvalidations();
  uint8_t presented[32];
  HashKey(key, presented);

  CachedKey* entry = VerifyCacheFind(parsed.lookup_id, presented);
  if (entry != nullptr) {
    *rec = entry->record;
  } else {
    uint64_t generation = VerifyCacheGeneration();
    bool cacheable = false;
    // A row whose hash does not match the presented key answers as no row,
    // and is not cached: a wrong secret for an existing lookup id leaves the
    // same trace (answer, cache entries and hits) as an unknown lookup id.
    if (!LookupKeyByLookupId(parsed.lookup_id, rec, &cacheable, presented)) {
      return {core::VerifyCode::NotFound, {}};
    }
    if (cacheable) entry = VerifyCacheStore(*rec, generation);
  }

  TimestampTz now = GetCurrentTimestamp();
  if (now_out != nullptr) *now_out = now;
  core::KeyFacts& f = rec->facts;
  f.hash_matches = CRYPTO_memcmp(rec->secret_hash, presented, 32) == 0;
  // Time passes: expiry is re-checked on every call, cached or not.
  f.expired = rec->expires_at.has_value() && *rec->expires_at <= now;
  // The kind is part of the key text; a row of the other kind is not this key.
  if (rec->kind() != parsed.kind) return {core::VerifyCode::NotFound, {}};
  core::VerifyOutcome out = core::DecideVerify(true, f);
  if (out.code == core::VerifyCode::Valid && UsageTrackingActive()) {
    if (entry == nullptr || now - entry->last_reported >= kReportEvery) {
      RecordLastUsed(rec->key_id, now);
      if (entry != nullptr) entry->last_reported = now;
    }
  }
  return out;
}

core::VerifyOutcome VerifyKeyId(const core::Uuid& key_id, KeyRecord* rec) {
  // As in VerifyKeyText: a change committed by another session (a demotion, a
  // removed membership) is seen by the key principal at its next statement,
  // even inside a transaction that already holds every lock it needs. The
  // cache is exactly as current as the table: that change cleared it.
  AcceptInvalidations();
  bool found = true;
  if (const CachedKey* entry = VerifyCacheFindById(key_id)) {
    *rec = entry->record;
  } else {
    uint64_t generation = VerifyCacheGeneration();
    bool cacheable = false;
    found = LookupKeyById(key_id, rec, &cacheable);
    if (found && cacheable) VerifyCacheStore(*rec, generation);
  }
  if (found) {
    rec->facts.hash_matches = true;  // the caller proved the secret when it authenticated
    rec->facts.expired = rec->expires_at.has_value() && *rec->expires_at <= GetCurrentTimestamp();
  }
  return core::DecideVerify(found, rec->facts);
}

std::optional<std::string_view> KeyTextArgument(FunctionCallInfo fcinfo) {
  return KeyArgument(fcinfo);
}

bool FindKeyText(std::string_view key, KeyRecord* rec) {
  core::ParsedKey parsed;
  if (!core::ParseKey(key, &parsed)) return false;
  AcceptInvalidations();
  uint8_t presented[32];
  HashKey(key, presented);
  bool cacheable = false;
  // Always the table, in a fresh snapshot (never the cache): the caller is
  // about to lock and change the row.
  if (!LookupKeyByLookupId(parsed.lookup_id, rec, &cacheable, presented)) return false;
  if (CRYPTO_memcmp(rec->secret_hash, presented, 32) != 0) return false;
  return rec->kind() == parsed.kind;
}

void InitVerify() {
  InitVerifyCache();
  InitKeyLookup();
}

static Datum Verify(FunctionCallInfo fcinfo) {
  KeyRecord rec;
  core::VerifyOutcome out = VerifyArgument(fcinfo, &rec);
  // No address to check: a key with allowed_cidrs answers FORBIDDEN. verify
  // never counts against a rate limit.
  out = core::DecideCheck(out, rec.settings, core::CheckRequest{});
  return BuildVerifyRow(fcinfo, out, rec);
}

// authenticate(api_key[, scope]) and authenticate(api_key, scope, client_addr):
// check()'s steps without a permission, counted against the rate limit.
static Datum Authenticate(FunctionCallInfo fcinfo) {
  PrincipalScope scope = ScopeArgument(fcinfo, 1);
  RequireMaySetPrincipal();  // before the key is looked at or its use recorded
  core::CheckRequest req;
  uint8_t addr[16];
  AddressArgument(fcinfo, 2, &req, addr);
  KeyRecord rec;
  TimestampTz now = 0;
  core::VerifyOutcome out = VerifyArgument(fcinfo, &rec, &now);
  out = core::DecideCheck(out, rec.settings, req);
  RateLimitColumns limits;
  out = ApplyRateLimit(out, rec, now, &limits);
  if (out.code != core::VerifyCode::Valid) {
    // Never echo the key: the code is all the caller learns.
    throw SqlError(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
                   "API key authentication failed: " + std::string(core::VerifyCodeName(out.code)));
  }
  SetKeyPrincipal(rec.key_id, scope);
  return BuildVerifyRow(fcinfo, out, rec);
}

static Datum Check(FunctionCallInfo fcinfo) {
  core::CheckRequest req;
  text* permission = nullptr;
  if (!PG_ARGISNULL(1)) {
    // In place unless compressed or out of line, as AddressArgument reads.
    auto* v = reinterpret_cast<varlena*>(DatumGetPointer(PG_GETARG_DATUM(1)));
    permission = VARATT_IS_COMPRESSED(v) || VARATT_IS_EXTERNAL(v)
                     ? PgCall([fcinfo]() { return PG_GETARG_TEXT_PP(1); })
                     : reinterpret_cast<text*>(v);
    req.has_permission = true;
    req.permission = std::string_view(VARDATA_ANY(permission), VARSIZE_ANY_EXHDR(permission));
  }
  uint8_t addr[16];
  AddressArgument(fcinfo, 2, &req, addr);
  KeyRecord rec;
  TimestampTz now = 0;
  core::VerifyOutcome out = VerifyArgument(fcinfo, &rec, &now);
  out = core::DecideCheck(out, rec.settings, req);
  RateLimitColumns limits;
  out = ApplyRateLimit(out, rec, now, &limits);
  return BuildVerifyRow(fcinfo, out, rec, &limits);
}

static Datum VerifyCacheStatusSql(FunctionCallInfo fcinfo) {
  VerifyCacheStatus s = CurrentVerifyCacheStatus();
  Datum values[7] = {Int64GetDatum(s.capacity),    Int64GetDatum(s.entries),
                     Int64GetDatum(s.hits),        Int64GetDatum(s.misses),
                     Int64GetDatum(s.evictions),   Int64GetDatum(s.invalidations),
                     Int64GetDatum(s.memory_bytes)};
  bool nulls[7] = {false, false, false, false, false, false, false};
  return PgCall([&]() { return FormResultRow(fcinfo, values, nulls, 7); });
}

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_verify, insight::Verify)
INSIGHT_SQL_FUNCTION(insight_authenticate, insight::Authenticate)
INSIGHT_SQL_FUNCTION(insight_check, insight::Check)
INSIGHT_SQL_FUNCTION(insight_verify_cache_status, insight::VerifyCacheStatusSql)
