#include "usage_stats.hpp"

#include <algorithm>
#include <cstring>

#include "spi_bridge.hpp"

extern "C" {
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/array.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
}

namespace insight {

int g_last_used_flush_interval_s = 60;
int g_last_used_capacity = 16384;

namespace {

constexpr const char* kTrancheName = "insight_keys";
constexpr int kCounterCount = static_cast<int>(StatCounter::kCount);
constexpr int kFlushChunk = 1000;
// Flush intervals after which an unwritten use is forgotten when its database
// has no worker, or when the table is full (see StaleAfter).
constexpr int kStaleFlushIntervals = 10;

// One slot per backend id, written only by the backend holding that id, so
// counting is a plain load and store on a cache line nobody else writes.
// Slot 0 is shared (fetch-add) by anything without a backend id.
struct alignas(64) CounterSlot {
  pg_atomic_uint64 counts[kCounterCount];
};

struct SharedUsage {
  // Guards the last-used table and the totals below. Shared to find an entry
  // and update its time (under the entry's spinlock: the hot path of every
  // verification), exclusive only to add or remove entries (the model is
  // contrib/pg_stat_statements).
  LWLock* lock;
  int slot_count;
  uint64 last_used_dropped;  // uses not recorded because the table was full
  uint64 last_used_flushed;  // keys written by FlushLastUsed
  TimestampTz full_scan_after;  // the table was full: look for stale entries not before this
  uint64 shared_bytes;
};

// Keys of every database share the table; each database's flush writes and
// forgets only its own.
struct LastUsedKey {
  Oid database;
  pg_uuid_t key_id;
};
struct LastUsedEntry {
  LastUsedKey key;  // hash key (zeroed before filling: compared as bytes)
  slock_t mutex;    // guards at while the lock is held shared
  TimestampTz at;
};

SharedUsage* g_shared = nullptr;
CounterSlot* g_slots = nullptr;
HTAB* g_last_used = nullptr;
int SlotCount() { return MaxBackends + 1; }

Size CountersSize() {
  return add_size(MAXALIGN(sizeof(SharedUsage)),
                  add_size(mul_size(SlotCount(), sizeof(CounterSlot)), alignof(CounterSlot)));
}

Size TotalSize() {
  return add_size(CountersSize(), hash_estimate_size(g_last_used_capacity, sizeof(LastUsedEntry)));
}

// Runs in the postmaster with AddinShmemInitLock held (shared_memory.cpp):
// plain C calls only, no C++ objects alive.
void AttachShmem() {
  bool found;
  void* raw = ShmemInitStruct("insight_keys usage", CountersSize(), &found);
  g_shared = static_cast<SharedUsage*>(raw);
  uintptr_t slots = reinterpret_cast<uintptr_t>(raw) + MAXALIGN(sizeof(SharedUsage));
  slots = (slots + alignof(CounterSlot) - 1) & ~(uintptr_t(alignof(CounterSlot)) - 1);
  g_slots = reinterpret_cast<CounterSlot*>(slots);
  if (!found) {
    g_shared->lock = &GetNamedLWLockTranche(kTrancheName)->lock;
    g_shared->slot_count = SlotCount();
    g_shared->last_used_dropped = 0;
    g_shared->last_used_flushed = 0;
    g_shared->full_scan_after = 0;
    g_shared->shared_bytes = TotalSize();
    for (int s = 0; s < g_shared->slot_count; s++) {
      for (int c = 0; c < kCounterCount; c++) pg_atomic_init_u64(&g_slots[s].counts[c], 0);
    }
  }
  HASHCTL info;
  std::memset(&info, 0, sizeof info);
  info.keysize = sizeof(LastUsedKey);
  info.entrysize = sizeof(LastUsedEntry);
  g_last_used = ShmemInitHash("insight_keys last used", g_last_used_capacity, g_last_used_capacity,
                              &info, HASH_ELEM | HASH_BLOBS | HASH_FIXED_SIZE);
}

int MySlot() noexcept {
  int slot = CurrentBackendNumber();
  return slot < g_shared->slot_count ? slot : 0;
}

struct PendingUse {
  pg_uuid_t key_id;
  TimestampTz at;
};

Statement g_flush_stmt = {
    // Rows are locked in key-id order, as the cascades delete them, so a flush
    // and a cascade never deadlock; only later timestamps are written.
    "WITH v AS (SELECT * FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.uuid[]), "
    "pg_catalog.unnest($2::pg_catalog.timestamptz[])) AS v(id, at)), "
    "l AS (SELECT k.id, v.at FROM insight.api_keys k JOIN v ON k.id OPERATOR(pg_catalog.=) v.id "
    "WHERE k.last_used_at IS NULL OR k.last_used_at OPERATOR(pg_catalog.<) v.at "
    "ORDER BY k.id FOR UPDATE OF k) "
    "UPDATE insight.api_keys k SET last_used_at = l.at FROM l "
    "WHERE k.id OPERATOR(pg_catalog.=) l.id",
    2,
    {UUIDARRAYOID, TIMESTAMPTZARRAYOID},
    nullptr};

// An entry no worker wrote for this long has nobody to write it (its
// database has no worker, or its worker cannot write): it may be forgotten.
TimestampTz StaleAfter() {
  return static_cast<TimestampTz>(kStaleFlushIntervals) * g_last_used_flush_interval_s *
         USECS_PER_SEC;
}

// Caller holds the lock exclusively. Plain C: dynahash allows removing the
// entry hash_seq_search just returned.
int64 RemoveIfLocked(bool (*drop)(const LastUsedEntry&, void*), void* arg) {
  int64 removed = 0;
  HASH_SEQ_STATUS seq;
  hash_seq_init(&seq, g_last_used);
  LastUsedEntry* e;
  while ((e = static_cast<LastUsedEntry*>(hash_seq_search(&seq))) != nullptr) {
    if (drop(*e, arg)) {
      hash_search(g_last_used, &e->key, HASH_REMOVE, nullptr);
      removed++;
    }
  }
  return removed;
}

bool OlderThan(const LastUsedEntry& e, void* arg) {
  return e.at < *static_cast<const TimestampTz*>(arg);
}

int64 RemoveStaleLocked(TimestampTz before) {
  return RemoveIfLocked(OlderThan, &before);
}

bool InDatabase(const LastUsedEntry& e, void* arg) {
  return e.key.database == *static_cast<const Oid*>(arg);
}

// Copies the recorded uses; the entries stay until written.
PendingUse* SnapshotPending(int64* count) {
  return PgCall([count]() -> PendingUse* {
    LWLockAcquire(g_shared->lock, LW_SHARED);
    long n = hash_get_num_entries(g_last_used);
    PendingUse* items = static_cast<PendingUse*>(palloc(sizeof(PendingUse) * (n > 0 ? n : 1)));
    HASH_SEQ_STATUS seq;
    hash_seq_init(&seq, g_last_used);
    long i = 0;
    LastUsedEntry* e;
    while ((e = static_cast<LastUsedEntry*>(hash_seq_search(&seq))) != nullptr) {
      if (i < n && e->key.database == MyDatabaseId) {
        SpinLockAcquire(&e->mutex);
        items[i] = {e->key.key_id, e->at};
        SpinLockRelease(&e->mutex);
        i++;
      }
    }
    LWLockRelease(g_shared->lock);
    *count = i;
    return items;
  });
}

// Forgets the entries written, unless a later use arrived meanwhile.
void ForgetWritten(const PendingUse* items, int64 count, int64 advanced) {
  PgCall([items, count, advanced]() {
    LWLockAcquire(g_shared->lock, LW_EXCLUSIVE);
    for (int64 i = 0; i < count; i++) {
      LastUsedKey key;
      std::memset(&key, 0, sizeof key);
      key.database = MyDatabaseId;
      key.key_id = items[i].key_id;
      bool found;
      auto* e = static_cast<LastUsedEntry*>(hash_search(g_last_used, &key, HASH_FIND, &found));
      if (e != nullptr && e->at <= items[i].at)
        hash_search(g_last_used, &key, HASH_REMOVE, nullptr);
    }
    g_shared->last_used_flushed += static_cast<uint64>(advanced);
    LWLockRelease(g_shared->lock);
  });
}

Datum Stats(FunctionCallInfo fcinfo) {
  Datum values[13];
  bool nulls[13];
  for (bool& n : nulls) n = !UsageTrackingActive();
  values[0] = BoolGetDatum(UsageTrackingActive());
  nulls[0] = false;
  if (UsageTrackingActive()) {
    uint64 totals[kCounterCount] = {};
    for (int s = 0; s < g_shared->slot_count; s++) {
      for (int c = 0; c < kCounterCount; c++)
        totals[c] += pg_atomic_read_u64(&g_slots[s].counts[c]);
    }
    for (int c = 0; c < kCounterCount; c++)
      values[1 + c] = Int64GetDatum(static_cast<int64>(totals[c]));
    uint64 pending = 0, dropped = 0, flushed = 0;
    PgCall([&pending, &dropped, &flushed]() {
      LWLockAcquire(g_shared->lock, LW_SHARED);
      pending = static_cast<uint64>(hash_get_num_entries(g_last_used));
      dropped = g_shared->last_used_dropped;
      flushed = g_shared->last_used_flushed;
      LWLockRelease(g_shared->lock);
    });
    values[9] = Int64GetDatum(static_cast<int64>(pending));
    values[10] = Int64GetDatum(static_cast<int64>(dropped));
    values[11] = Int64GetDatum(static_cast<int64>(flushed));
    values[12] = Int64GetDatum(static_cast<int64>(g_shared->shared_bytes));
  }
  return ReturnComposite(fcinfo, values, nulls);
}

Datum FlushLastUsedSql(FunctionCallInfo) { return Int64GetDatum(FlushLastUsed()); }

}  // namespace

const SharedMemoryPart kUsageShmem = {"usage tracking", TotalSize, kTrancheName, AttachShmem};

bool UsageTrackingActive() noexcept { return g_shared != nullptr && g_last_used != nullptr; }

void CountEvent(StatCounter counter) noexcept {
  if (g_shared == nullptr) return;
  int slot = MySlot();
  pg_atomic_uint64* c = &g_slots[slot].counts[static_cast<int>(counter)];
  if (slot == 0) {
    pg_atomic_fetch_add_u64(c, 1);
  } else {
    pg_atomic_write_u64(c, pg_atomic_read_u64(c) + 1);
  }
}

void CountVerify(core::VerifyCode code) noexcept {
  switch (code) {
    case core::VerifyCode::Valid:
      return CountEvent(StatCounter::Valid);
    case core::VerifyCode::Malformed:
      return CountEvent(StatCounter::Malformed);
    case core::VerifyCode::NotFound:
      return CountEvent(StatCounter::NotFound);
    case core::VerifyCode::Expired:
      return CountEvent(StatCounter::Expired);
    case core::VerifyCode::OwnerInactive:
      return CountEvent(StatCounter::OwnerInactive);
    case core::VerifyCode::Disabled:
      return;  // not one of insight.stats' counters
    case core::VerifyCode::Forbidden:
    case core::VerifyCode::InsufficientPermissions:
    case core::VerifyCode::RateLimited:
      return;  // decided after the lookup counted: check() answers them
  }
}

void RecordLastUsed(const core::Uuid& key_id, TimestampTz at) {
  if (!UsageTrackingActive()) return;
  LastUsedKey key;
  std::memset(&key, 0, sizeof key);
  key.database = MyDatabaseId;
  std::memcpy(key.key_id.data, key_id.bytes.data(), UUID_LEN);
  PgCall([&key, at]() {
    // A key already in the table: shared lock, entry spinlock.
    LWLockAcquire(g_shared->lock, LW_SHARED);
    auto* e = static_cast<LastUsedEntry*>(hash_search(g_last_used, &key, HASH_FIND, nullptr));
    if (e != nullptr) {
      SpinLockAcquire(&e->mutex);
      if (e->at < at) e->at = at;
      SpinLockRelease(&e->mutex);
      LWLockRelease(g_shared->lock);
      return;
    }
    LWLockRelease(g_shared->lock);
    // A new key: exclusive, and look again (another backend may have added it).
    LWLockAcquire(g_shared->lock, LW_EXCLUSIVE);
    bool found;
    e = static_cast<LastUsedEntry*>(hash_search(g_last_used, &key, HASH_ENTER_NULL, &found));
    // Full: forget stale entries, at most once a flush interval (a scan of
    // the whole table under the exclusive lock must not run for every use).
    if (e == nullptr && at >= g_shared->full_scan_after) {
      g_shared->full_scan_after = at + g_last_used_flush_interval_s * USECS_PER_SEC;
      if (RemoveStaleLocked(at - StaleAfter()) > 0) {
        e = static_cast<LastUsedEntry*>(hash_search(g_last_used, &key, HASH_ENTER_NULL, &found));
      }
    }
    if (e == nullptr) {
      g_shared->last_used_dropped++;
    } else if (!found) {
      SpinLockInit(&e->mutex);
      e->at = at;
    } else if (e->at < at) {
      e->at = at;
    }
    LWLockRelease(g_shared->lock);
  });
}

int64_t FlushLastUsed() {
  if (!UsageTrackingActive()) return 0;
  if (PgCall([]() { return RecoveryInProgress(); })) return 0;
  int64 count = 0;
  PendingUse* items = SnapshotPending(&count);
  if (count == 0) return 0;
  std::sort(items, items + count, [](const PendingUse& a, const PendingUse& b) {
    return std::memcmp(a.key_id.data, b.key_id.data, UUID_LEN) < 0;
  });
  int64 advanced = 0;
  Elevated e = Elevated::Begin();
  for (int64 start = 0; start < count; start += kFlushChunk) {
    int n = static_cast<int>(std::min<int64>(kFlushChunk, count - start));
    Datum args[2] = {0, 0};
    PgCall([&args, items, start, n]() {
      Datum* ids = static_cast<Datum*>(palloc(sizeof(Datum) * n));
      Datum* ats = static_cast<Datum*>(palloc(sizeof(Datum) * n));
      for (int i = 0; i < n; i++) {
        ids[i] = UUIDPGetDatum(const_cast<pg_uuid_t*>(&items[start + i].key_id));
        ats[i] = TimestampTzGetDatum(items[start + i].at);
      }
      args[0] = PointerGetDatum(construct_array(ids, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
      args[1] = PointerGetDatum(construct_array(ats, n, TIMESTAMPTZOID, sizeof(TimestampTz),
                                                FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
    });
    advanced += static_cast<int64>(Run(g_flush_stmt, args, nullptr, false));
  }
  e.End();
  ForgetWritten(items, count, advanced);
  return advanced;
}

RecordedUse* CopyRecordedUses(int max, int* count) {
  *count = 0;
  if (!UsageTrackingActive()) return nullptr;
  LWLockAcquire(g_shared->lock, LW_SHARED);
  long n = Min(hash_get_num_entries(g_last_used), static_cast<long>(max));
  auto* uses = static_cast<RecordedUse*>(palloc(sizeof(RecordedUse) * (n > 0 ? n : 1)));
  HASH_SEQ_STATUS seq;
  hash_seq_init(&seq, g_last_used);
  int i = 0;
  LastUsedEntry* e;
  while ((e = static_cast<LastUsedEntry*>(hash_seq_search(&seq))) != nullptr) {
    if (i >= n) {
      hash_seq_term(&seq);
      break;
    }
    SpinLockAcquire(&e->mutex);
    TimestampTz at = e->at;
    SpinLockRelease(&e->mutex);
    uses[i++] = {e->key.database, e->key.key_id, at};
  }
  LWLockRelease(g_shared->lock);
  *count = i;
  return uses;
}

void ForgetRecordedUses(const RecordedUse* uses, int count) {
  if (!UsageTrackingActive() || count == 0) return;
  LWLockAcquire(g_shared->lock, LW_EXCLUSIVE);
  for (int i = 0; i < count; i++) {
    LastUsedKey key;
    std::memset(&key, 0, sizeof key);
    key.database = uses[i].database;
    key.key_id = uses[i].key_id;
    auto* e = static_cast<LastUsedEntry*>(hash_search(g_last_used, &key, HASH_FIND, nullptr));
    if (e != nullptr && e->at <= uses[i].at) hash_search(g_last_used, &key, HASH_REMOVE, nullptr);
  }
  LWLockRelease(g_shared->lock);
}

void ForgetLastUsedOf(Oid database) noexcept {
  if (!UsageTrackingActive()) return;
  LWLockAcquire(g_shared->lock, LW_EXCLUSIVE);
  (void)RemoveIfLocked(InDatabase, &database);
  LWLockRelease(g_shared->lock);
}

void ForgetLastUsedWhere(bool (*keep_database)(Oid database, void* arg), void* arg,
                         TimestampTz now) noexcept {
  if (!UsageTrackingActive()) return;
  struct Filter {
    bool (*keep_database)(Oid, void*);
    void* arg;
    TimestampTz stale_before;
    static bool Drop(const LastUsedEntry& e, void* self) {
      auto* f = static_cast<Filter*>(self);
      return !f->keep_database(e.key.database, f->arg) && e.at < f->stale_before;
    }
  } filter{keep_database, arg, now - StaleAfter()};
  // Looked at under the shared lock first: most passes remove nothing, and
  // verifications must not wait for them.
  bool any = false;
  LWLockAcquire(g_shared->lock, LW_SHARED);
  HASH_SEQ_STATUS seq;
  hash_seq_init(&seq, g_last_used);
  LastUsedEntry* e;
  while ((e = static_cast<LastUsedEntry*>(hash_seq_search(&seq))) != nullptr) {
    SpinLockAcquire(&e->mutex);
    LastUsedEntry copy = *e;
    SpinLockRelease(&e->mutex);
    if (Filter::Drop(copy, &filter)) {
      any = true;
      hash_seq_term(&seq);
      break;
    }
  }
  LWLockRelease(g_shared->lock);
  if (!any) return;
  LWLockAcquire(g_shared->lock, LW_EXCLUSIVE);
  (void)RemoveIfLocked(Filter::Drop, &filter);
  LWLockRelease(g_shared->lock);
}

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_stats, insight::Stats)
INSIGHT_SQL_FUNCTION(insight_flush_last_used, insight::FlushLastUsedSql)
