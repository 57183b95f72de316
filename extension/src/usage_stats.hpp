// Usage tracking in shared memory: verification counters by result code and
// the last use of each key, so verify never writes a table (it runs on a hot
// standby and in READ ONLY transactions). Needs
// shared_preload_libraries = 'insight_keys'; without it every function here is
// a no-op and insight.stats shows tracking = false.
#pragma once

#include <cstdint>

#include "../core/uuid.hpp"
#include "../core/verify_decision.hpp"
#include "pg_guard.hpp"
#include "shared_memory.hpp"

extern "C" {
#include "utils/timestamp.h"
#include "utils/uuid.h"
}

namespace insight {

extern int g_last_used_flush_interval_s;  // insight.last_used_flush_interval
extern int g_last_used_capacity;          // insight.last_used_capacity (fixed at start)

enum class StatCounter : uint8_t {
  Valid,
  Malformed,
  NotFound,
  Expired,
  OwnerInactive,
  CacheHits,
  CacheMisses,
  CacheEvictions,
  kCount
};

// The counters and the last-used table, sized by insight.last_used_capacity;
// requested by _PG_init when preloading.
extern const SharedMemoryPart kUsageShmem;

bool UsageTrackingActive() noexcept;

// Lock-free: each backend writes only its own slot. Never raises.
void CountEvent(StatCounter counter) noexcept;
void CountVerify(core::VerifyCode code) noexcept;

// Records that key_id was used at `at` (kept if later than what is recorded).
// A key already recorded takes the usage LWLock shared and its entry's
// spinlock; a new key takes it exclusively. When the table is full, uses no
// worker wrote for insight.last_used_flush_interval x 10 are forgotten first.
// May raise only as LWLockAcquire can.
void RecordLastUsed(const core::Uuid& key_id, TimestampTz at);

// Forgets the recorded uses of one database (its extension or itself was
// dropped). Plain C, callable from a transaction callback.
void ForgetLastUsedOf(Oid database) noexcept;

// For the launcher: forgets the uses of every database for which
// keep_database() is false, once no worker wrote them for
// insight.last_used_flush_interval x 10. Plain C.
void ForgetLastUsedWhere(bool (*keep_database)(Oid database, void* arg), void* arg,
                         TimestampTz now) noexcept;

// Writes the recorded last uses into insight.api_keys.last_used_at in batches
// and forgets what it wrote. Contract for callers (the worker):
//  * call inside a transaction with an active snapshot (StartTransactionCommand
//    + PushActiveSnapshot(GetTransactionSnapshot())), from C++ behind the
//    error boundary: it throws PgError/SqlError on failure;
//  * it does its own SPI_connect / owner switch (Elevated), nested SPI is fine;
//  * it never waits on the usage LWLock while running SQL; row locks are taken
//    in key-id order (as cascades do), so it cannot deadlock with a cascade;
//  * writes only the current database's keys (each database's worker flushes
//    its own); returns the number of keys whose last_used_at it advanced; 0
//    when not preloaded or on a hot standby (nothing can be written there);
//  * if the caller's transaction later aborts, that batch of timestamps is lost
//    (last_used_at is advisory); the next verifications record new ones.
int64_t FlushLastUsed();

// For the standby usage sender (standby_usage.cpp, docs/SCALING.md): the
// recorded uses of every database, copied under the usage lock into a palloc'd
// array (*count entries, at most max), and forgetting those of them that were
// delivered (an entry updated by a later use meanwhile stays). Plain C
// callers: they may raise as LWLockAcquire and palloc can.
struct RecordedUse {
  Oid database;
  pg_uuid_t key_id;
  TimestampTz at;
};
RecordedUse* CopyRecordedUses(int max, int* count);
void ForgetRecordedUses(const RecordedUse* uses, int count);

}  // namespace insight
