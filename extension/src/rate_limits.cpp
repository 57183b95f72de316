#include "rate_limits.hpp"

#include <climits>
#include <cstring>

#include "../core/rate_window.hpp"
#include "spi_bridge.hpp"

extern "C" {
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/uuid.h"
}

namespace insight {

int g_rate_limit_capacity = 16384;

namespace {

constexpr const char* kTrancheName = "insight_keys rate limits";
// When the table is full, idle entries are looked for at most this often: a
// scan of the whole table under the exclusive lock must not run per request.
constexpr TimestampTz kFullScanEvery = USECS_PER_SEC;

struct SharedRateLimits {
  // Shared to find a key and decide under its entry's spinlock (every
  // request), exclusive only to add or remove keys (the shape of
  // contrib/pg_stat_statements).
  LWLock* lock;
  pg_atomic_uint64 refused_full;  // requests refused because no entry was free
  TimestampTz full_scan_after;    // guarded by lock (exclusive)
  uint64 shared_bytes;
};

struct RateKey {
  Oid database;
  pg_uuid_t key_id;
};

struct RateEntry {
  RateKey key;  // hash key (zeroed before filling: compared as bytes)
  slock_t mutex;  // guards everything below while the lock is held shared
  int64 limit;
  int64 window_us;
  core::RateWindowState state;
};

SharedRateLimits* g_shared = nullptr;
HTAB* g_table = nullptr;
Size TotalSize() {
  return add_size(MAXALIGN(sizeof(SharedRateLimits)),
                  hash_estimate_size(g_rate_limit_capacity, sizeof(RateEntry)));
}

// Runs in the postmaster with AddinShmemInitLock held (shared_memory.cpp):
// plain C calls only, no C++ objects alive.
void AttachShmem() {
  bool found;
  g_shared = static_cast<SharedRateLimits*>(
      ShmemInitStruct("insight_keys rate limits", sizeof(SharedRateLimits), &found));
  if (!found) {
    g_shared->lock = &GetNamedLWLockTranche(kTrancheName)->lock;
    pg_atomic_init_u64(&g_shared->refused_full, 0);
    g_shared->full_scan_after = 0;
    g_shared->shared_bytes = TotalSize();
  }
  HASHCTL info;
  std::memset(&info, 0, sizeof info);
  info.keysize = sizeof(RateKey);
  info.entrysize = sizeof(RateEntry);
  g_table = ShmemInitHash("insight_keys rate limit table", g_rate_limit_capacity,
                          g_rate_limit_capacity, &info, HASH_ELEM | HASH_BLOBS | HASH_FIXED_SIZE);
}

bool Active() noexcept { return g_shared != nullptr && g_table != nullptr; }

RateKey MakeKey(const core::Uuid& key_id) {
  RateKey key;
  std::memset(&key, 0, sizeof key);
  key.database = MyDatabaseId;
  std::memcpy(key.key_id.data, key_id.bytes.data(), UUID_LEN);
  return key;
}

// Under the entry's spinlock: straight-line arithmetic, no call that can raise.
RateLimitResult DecideLocked(RateEntry* e, const RateLimitSpec& spec, TimestampTz now,
                             bool count) noexcept {
  if (e->limit != spec.limit || e->window_us != spec.window_us) {
    e->limit = spec.limit;
    e->window_us = spec.window_us;
    e->state = core::RateWindowStart(now);
  }
  core::RateDecision d = core::RateWindowDecide(&e->state, spec.limit, spec.window_us, now, count);
  RateLimitResult r;
  r.available = true;
  r.allowed = d.allowed;
  r.remaining = d.remaining > INT32_MAX ? INT32_MAX : static_cast<int32>(d.remaining);
  r.reset = d.reset_at;
  return r;
}

// An entry whose last two windows are over holds nothing a fresh one would
// not: removing it cannot let a request through that its limit would refuse.
bool Idle(const RateEntry& e, TimestampTz now) noexcept {
  return now - e.state.window_start >= 2 * e.window_us;
}

// Caller holds the lock exclusively. dynahash allows removing the entry
// hash_seq_search just returned.
int64 RemoveIdleLocked(TimestampTz now) {
  int64 removed = 0;
  HASH_SEQ_STATUS seq;
  hash_seq_init(&seq, g_table);
  RateEntry* e;
  while ((e = static_cast<RateEntry*>(hash_seq_search(&seq))) != nullptr) {
    if (Idle(*e, now)) {
      hash_search(g_table, &e->key, HASH_REMOVE, nullptr);
      removed++;
    }
  }
  return removed;
}

RateLimitResult Decide(const core::Uuid& key_id, const RateLimitSpec& spec, TimestampTz now,
                       bool count) {
  RateLimitResult unavailable;
  if (!Active() || spec.limit < 1 || spec.window_us < 1) return unavailable;
  RateKey key = MakeKey(key_id);
  return PgCall([&key, &spec, now, count]() -> RateLimitResult {
    LWLockAcquire(g_shared->lock, LW_SHARED);
    auto* e = static_cast<RateEntry*>(hash_search(g_table, &key, HASH_FIND, nullptr));
    if (e != nullptr) {
      SpinLockAcquire(&e->mutex);
      RateLimitResult r = DecideLocked(e, spec, now, count);
      SpinLockRelease(&e->mutex);
      LWLockRelease(g_shared->lock);
      return r;
    }
    LWLockRelease(g_shared->lock);
    if (!count) {
      // A key never counted has its whole limit left.
      RateEntry fresh{};
      return DecideLocked(&fresh, spec, now, false);
    }
    // A new key: exclusive, and look again (another backend may have added it).
    LWLockAcquire(g_shared->lock, LW_EXCLUSIVE);
    bool found;
    e = static_cast<RateEntry*>(hash_search(g_table, &key, HASH_ENTER_NULL, &found));
    if (e == nullptr && now >= g_shared->full_scan_after) {
      g_shared->full_scan_after = now + kFullScanEvery;
      if (RemoveIdleLocked(now) > 0) {
        e = static_cast<RateEntry*>(hash_search(g_table, &key, HASH_ENTER_NULL, &found));
      }
    }
    if (e == nullptr) {
      LWLockRelease(g_shared->lock);
      pg_atomic_fetch_add_u64(&g_shared->refused_full, 1);
      RateLimitResult full;
      return full;
    }
    if (!found) {
      SpinLockInit(&e->mutex);
      e->limit = spec.limit;
      e->window_us = spec.window_us;
      e->state = core::RateWindowStart(now);
    }
    // Exclusive: no one else holds the entry's spinlock; taken anyway so the
    // rule "state only under the spinlock" has no exception.
    SpinLockAcquire(&e->mutex);
    RateLimitResult r = DecideLocked(e, spec, now, count);
    SpinLockRelease(&e->mutex);
    LWLockRelease(g_shared->lock);
    return r;
  });
}

// ---- SQL: insight._rate_limit_consume, insight._rate_limit_stats -----------

int64 IntervalMicros(const Interval* iv) {
  // Months and days as 30 and 1 days, as interval comparison does; the
  // settings validation requires at least one second.
  return iv->time + static_cast<int64>(iv->day) * USECS_PER_DAY +
         static_cast<int64>(iv->month) * DAYS_PER_MONTH * USECS_PER_DAY;
}

Datum ConsumeSql(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2)) {
    throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "key_id, limit and window must not be null");
  }
  RateLimitSpec spec{PG_GETARG_INT64(1), IntervalMicros(PG_GETARG_INTERVAL_P(2))};
  if (spec.limit < 1) throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "limit must be at least 1");
  if (spec.window_us < USECS_PER_SEC) {
    throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "window must be at least 1 second");
  }
  core::Uuid key = UuidFromDatum(PG_GETARG_DATUM(0));
  RateLimitResult r = ConsumeRateLimit(key, spec, GetCurrentTimestamp());
  Datum values[4] = {BoolGetDatum(r.allowed), BoolGetDatum(r.available), Int32GetDatum(r.remaining),
                     TimestampTzGetDatum(r.reset)};
  bool nulls[4] = {false, false, !r.available, !r.available};
  return ReturnComposite(fcinfo, values, nulls);
}

Datum StatsSql(FunctionCallInfo fcinfo) {
  Datum values[4];
  bool nulls[4] = {false, true, true, true};
  values[0] = BoolGetDatum(Active());
  if (Active()) {
    int64 entries = PgCall([]() {
      LWLockAcquire(g_shared->lock, LW_SHARED);
      int64 n = hash_get_num_entries(g_table);
      LWLockRelease(g_shared->lock);
      return n;
    });
    values[1] = Int64GetDatum(g_rate_limit_capacity);
    values[2] = Int64GetDatum(entries);
    values[3] = Int64GetDatum(static_cast<int64>(pg_atomic_read_u64(&g_shared->refused_full)));
    nulls[1] = nulls[2] = nulls[3] = false;
  }
  return ReturnComposite(fcinfo, values, nulls);
}

}  // namespace

const SharedMemoryPart kRateLimitShmem = {"rate limits", TotalSize, kTrancheName, AttachShmem};

RateLimitResult ConsumeRateLimit(const core::Uuid& key_id, const RateLimitSpec& spec,
                                 TimestampTz now) {
  return Decide(key_id, spec, now, true);
}

RateLimitResult PeekRateLimit(const core::Uuid& key_id, const RateLimitSpec& spec,
                              TimestampTz now) {
  return Decide(key_id, spec, now, false);
}

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_rate_limit_consume, insight::ConsumeSql)
INSIGHT_SQL_FUNCTION(insight_rate_limit_stats, insight::StatsSql)
