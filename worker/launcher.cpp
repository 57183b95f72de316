// The launcher: one process on shared catalogs that keeps one cascade worker
// in every database that has insight_keys (the model is TimescaleDB's
// src/loader/bgw_launcher.c). It cannot read a database's pg_extension, so
// it starts a worker in every connectable database once; a worker that finds
// no extension marks its slot absent and exits, and is started again only
// when CREATE EXTENSION insight_keys commits there (see utility_hook.cpp).
//
// Plain C style on purpose: no C++ object lives in these frames, so an
// ereport anywhere simply ends the launcher and the postmaster restarts it
// after bgw_restart_time.
#include "../extension/src/cascades.hpp"
#include "../extension/src/usage_stats.hpp"
#include "worker_registry.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

PGDLLEXPORT void insight_launcher_main(Datum main_arg);
}

namespace insight::worker {

namespace {

// A worker that stopped (error, SIGTERM) is started again after this, like
// bgw_restart_time for a static worker.
constexpr int kRestartDelayMs = 1000;

// Launcher-local, indexed like Registry::slots.
BackgroundWorkerHandle* g_handles[kMaxDatabases];
TimestampTz g_last_start[kMaxDatabases];
bool g_start_failed[kMaxDatabases];  // warned once, until a start succeeds
bool g_too_many_warned = false;

struct DatabaseList {
  Oid oids[kMaxDatabases * 4];
  int count;
};

struct WorkerDatabases {
  Oid oids[kMaxDatabases];
  int count;
};

bool HasWorker(Oid db, void* arg) {
  const auto* w = static_cast<const WorkerDatabases*>(arg);
  for (int i = 0; i < w->count; i++) {
    if (w->oids[i] == db) return true;
  }
  return false;
}

// Uses recorded in a database without a worker (none could start, or it has
// no insight_keys any more, or it is no longer connectable) are never written:
// forget them once they are old enough that no restarting worker will.
void ForgetUnwrittenUses(Registry* r, TimestampTz now) {
  WorkerDatabases live;
  live.count = 0;
  SpinLockAcquire(&r->mutex);
  for (const DatabaseSlot& slot : r->slots) {
    if (slot.db != InvalidOid && slot.pid != 0) live.oids[live.count++] = slot.db;
  }
  SpinLockRelease(&r->mutex);
  ForgetLastUsedWhere(HasWorker, &live, now);
}

// Connectable, non-template databases. Templates are skipped: a connection
// there would make CREATE DATABASE ... TEMPLATE fail.
void ListDatabases(DatabaseList* out) {
  out->count = 0;
  StartTransactionCommand();
  (void)GetTransactionSnapshot();
  Relation rel = table_open(DatabaseRelationId, AccessShareLock);
  TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
  HeapTuple tup;
  while ((tup = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
    auto* form = reinterpret_cast<Form_pg_database>(GETSTRUCT(tup));
    if (!form->datallowconn || form->datistemplate) continue;
    if (out->count < static_cast<int>(lengthof(out->oids))) out->oids[out->count++] = form->oid;
  }
  table_endscan(scan);
  table_close(rel, AccessShareLock);
  CommitTransactionCommand();
}

bool StartWorker(Oid db, BackgroundWorkerHandle** handle) {
  BackgroundWorker bgw;
  memset(&bgw, 0, sizeof bgw);
  bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
  // The launcher restarts it (after kRestartDelayMs); a postmaster restart
  // would race the launcher and start a second one.
  bgw.bgw_restart_time = BGW_NEVER_RESTART;
  snprintf(bgw.bgw_library_name, BGW_MAXLEN, "insight_keys");
  snprintf(bgw.bgw_function_name, BGW_MAXLEN, "insight_cascade_worker_main");
  snprintf(bgw.bgw_name, BGW_MAXLEN, "insight_keys cascade worker for database %u", db);
  snprintf(bgw.bgw_type, BGW_MAXLEN, "insight_keys cascade worker");
  bgw.bgw_main_arg = ObjectIdGetDatum(db);
  bgw.bgw_notify_pid = MyProcPid;
  // The handle outlives this pass: not in the loop context, which is reset.
  MemoryContext caller = MemoryContextSwitchTo(TopMemoryContext);
  bool ok = RegisterDynamicBackgroundWorker(&bgw, handle);
  MemoryContextSwitchTo(caller);
  return ok;
}

// One pass: forget dropped databases, start what is missing. Returns how long
// to sleep at most.
long Reconcile(const DatabaseList& dbs) {
  Registry* r = SharedRegistry();
  TimestampTz now = GetCurrentTimestamp();
  long sleep_ms = static_cast<long>(g_cascade_naptime_s) * 1000L;

  // Handles of workers that stopped.
  for (int i = 0; i < kMaxDatabases; i++) {
    if (g_handles[i] == nullptr) continue;
    pid_t pid;
    if (GetBackgroundWorkerPid(g_handles[i], &pid) == BGWH_STOPPED) {
      pfree(g_handles[i]);
      g_handles[i] = nullptr;
    }
  }

  ForgetUnwrittenUses(r, now);

  SpinLockAcquire(&r->mutex);
  for (int i = 0; i < kMaxDatabases; i++) {
    DatabaseSlot& slot = r->slots[i];
    if (slot.db == InvalidOid || slot.pid != 0) continue;
    bool listed = false;
    for (int j = 0; j < dbs.count && !listed; j++) listed = dbs.oids[j] == slot.db;
    if (!listed && g_handles[i] == nullptr) {
      slot.db = InvalidOid;
      g_last_start[i] = 0;
      g_start_failed[i] = false;
    }
  }
  SpinLockRelease(&r->mutex);

  for (int j = 0; j < dbs.count; j++) {
    Oid db = dbs.oids[j];
    bool start = false;
    int index = -1;
    SpinLockAcquire(&r->mutex);
    DatabaseSlot* slot = FindOrAddSlot(r, db);
    if (slot != nullptr) {
      index = static_cast<int>(slot - r->slots);
      start = slot->pid == 0 && g_handles[index] == nullptr && slot->hold_until <= now &&
              (!slot->absent || slot->requested);
      if (slot->hold_until > now) sleep_ms = Min(sleep_ms, kRestartDelayMs);
    }
    SpinLockRelease(&r->mutex);
    if (slot == nullptr) {
      if (!g_too_many_warned) {
        ereport(
            WARNING,
            (errmsg(
                "insight_keys launcher: more than %d databases, no cascade worker for database %u",
                kMaxDatabases, db)));
      }
      g_too_many_warned = true;
      continue;
    }
    if (!start) continue;
    long since_ms = TimestampDifferenceMilliseconds(g_last_start[index], now);
    if (g_last_start[index] != 0 && since_ms < kRestartDelayMs) {
      sleep_ms = Min(sleep_ms, kRestartDelayMs - since_ms);
      continue;
    }
    g_last_start[index] = now;
    if (!StartWorker(db, &g_handles[index])) {
      g_handles[index] = nullptr;
      if (!g_start_failed[index]) {
        ereport(
            WARNING,
            (errmsg("insight_keys launcher: could not start a cascade worker for database %u", db),
             errhint("Raise max_worker_processes; the launcher keeps trying.")));
      }
      g_start_failed[index] = true;
      sleep_ms = Min(sleep_ms, kRestartDelayMs);
      continue;
    }
    g_start_failed[index] = false;
    // Published for the utility hook, which stops workers by handle. A
    // statement that set its hold after the check above found no handle to
    // stop: the launcher stops this worker itself, before it connects.
    WorkerHandle handle = CopyHandle(g_handles[index]);
    TimestampTz registered = GetCurrentTimestamp();
    SpinLockAcquire(&r->mutex);
    slot->has_handle = true;
    slot->handle = handle;
    bool held = slot->hold_until > registered;
    SpinLockRelease(&r->mutex);
    if (held) TerminateWorker(handle);
  }
  return sleep_ms;
}

void ClearLauncher(int, Datum) {
  Registry* r = SharedRegistry();
  SpinLockAcquire(&r->mutex);
  if (r->launcher_pid == MyProcPid) {
    r->launcher_pid = 0;
    r->launcher_proc = nullptr;
  }
  SpinLockRelease(&r->mutex);
}

}  // namespace

void RegisterLauncher() {
  BackgroundWorker bgw;
  memset(&bgw, 0, sizeof bgw);
  bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
  bgw.bgw_restart_time = 1;
  snprintf(bgw.bgw_library_name, BGW_MAXLEN, "insight_keys");
  snprintf(bgw.bgw_function_name, BGW_MAXLEN, "insight_launcher_main");
  snprintf(bgw.bgw_name, BGW_MAXLEN, "insight_keys launcher");
  snprintf(bgw.bgw_type, BGW_MAXLEN, "insight_keys launcher");
  RegisterBackgroundWorker(&bgw);
}

}  // namespace insight::worker

extern "C" void insight_launcher_main(Datum) {
  using namespace insight::worker;
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);  // shared catalogs only

  Registry* r = SharedRegistry();
  if (r == nullptr)
    ereport(ERROR, (errmsg("insight_keys launcher: shared memory not initialized")));
  SpinLockAcquire(&r->mutex);
  r->launcher_pid = MyProcPid;
  r->launcher_proc = MyProc;
  SpinLockRelease(&r->mutex);
  before_shmem_exit(ClearLauncher, 0);

  MemoryContext loop_context =
      AllocSetContextCreate(TopMemoryContext, "insight_keys launcher loop", ALLOCSET_DEFAULT_SIZES);
  DatabaseList* dbs =
      static_cast<DatabaseList*>(MemoryContextAllocZero(TopMemoryContext, sizeof(DatabaseList)));
  for (;;) {
    MemoryContextReset(loop_context);
    MemoryContextSwitchTo(loop_context);
    pgstat_report_activity(STATE_RUNNING, "scanning databases");
    ListDatabases(dbs);
    MemoryContextSwitchTo(loop_context);  // the commit left us in TopMemoryContext
    long sleep_ms = Reconcile(*dbs);
    pgstat_report_activity(STATE_IDLE, nullptr);

    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, Max(sleep_ms, 10L),
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
    }
  }
}
