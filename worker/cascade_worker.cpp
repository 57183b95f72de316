// The per-database cascade worker: applies the cascade queue in batches of
// insight.cascade_batch_size keys, one transaction per batch, with the same
// functions as insight.apply_cascades() (extension/src/cascades.cpp).
//
// Shape (PostgreSQL's worker_spi, PG 15): signals, connect by OID, then
// loop { drain; WaitLatch; ResetLatch; CHECK_FOR_INTERRUPTS; reload }.
// Error boundary: the body runs inside InvokeGuarded; every PostgreSQL call
// made while C++ objects are alive goes through PgCall, so an error in one
// event becomes a PgError here, is recorded against that event, and the
// worker goes on with the next one (TimescaleDB's src/bgw/job.c does the same
// abort / new transaction / record dance).
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <sys/resource.h>

#include "../extension/src/cascades.hpp"
#include "../extension/src/key_management.hpp"
#include "../extension/src/org_policy.hpp"
#include "../extension/src/usage_stats.hpp"
#include "../extension/src/background.hpp"
#include "worker_registry.hpp"

extern "C" {
#include "access/xact.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

PGDLLEXPORT void insight_cascade_worker_main(Datum main_arg);
}

namespace insight::worker {

namespace {

using insight::g_cascade_worker_nice;

MemoryContext g_loop_context = nullptr;

// Registered in the slot of its database: exactly one worker per database.
// Returns false when another worker already holds it.
bool ClaimSlot(Oid db) {
  Registry* r = SharedRegistry();
  bool mine = false;
  SpinLockAcquire(&r->mutex);
  DatabaseSlot* slot = FindOrAddSlot(r, db);
  if (slot != nullptr && slot->pid == 0) {
    slot->pid = MyProcPid;
    slot->proc = MyProc;
    slot->absent = false;
    // Cleared before this worker's first look at pg_extension: a CREATE
    // EXTENSION committing after that look sets it again (see ExitIfAbsent).
    slot->requested = false;
    mine = true;
  }
  SpinLockRelease(&r->mutex);
  return mine;
}

void ReleaseSlot(int, Datum db) {
  Registry* r = SharedRegistry();
  SpinLockAcquire(&r->mutex);
  DatabaseSlot* slot = FindSlot(r, DatumGetObjectId(db));
  if (slot != nullptr && slot->pid == MyProcPid) {
    slot->pid = 0;
    slot->proc = nullptr;
  }
  SpinLockRelease(&r->mutex);
  WakeLauncher();  // it decides whether this database needs a new worker
}

// Marks the slot absent unless a CREATE EXTENSION committed meanwhile.
// Returns true when the worker should exit.
bool MarkAbsent(Oid db) {
  Registry* r = SharedRegistry();
  bool exit_now = true;
  SpinLockAcquire(&r->mutex);
  DatabaseSlot* slot = FindSlot(r, db);
  if (slot != nullptr) {
    if (slot->requested) {
      slot->requested = false;
      exit_now = false;
    } else {
      slot->absent = true;
    }
  }
  SpinLockRelease(&r->mutex);
  // No extension here: uses recorded for its keys (before a DROP EXTENSION
  // that another path missed) would never be written.
  if (exit_now) PgCall([db]() { ForgetLastUsedOf(db); });
  return exit_now;
}

// Transaction brackets. Plain PostgreSQL calls, each behind PgCall because the
// caller's frame owns C++ objects.
void BeginBatch(const char* activity) {
  PgCall([activity]() {
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    PushActiveSnapshot(GetTransactionSnapshot());
    pgstat_report_activity(STATE_RUNNING, activity);
  });
}

void CommitBatch() {
  PgCall([]() {
    PopActiveSnapshot();
    CommitTransactionCommand();
    pgstat_report_activity(STATE_IDLE, nullptr);
    pgstat_report_stat(false);
    // The commit leaves CurrentMemoryContext in TopMemoryContext.
    MemoryContextSwitchTo(g_loop_context);
  });
}

// After a PgError was caught: the error state was already flushed by PgCall;
// the transaction, SPI, snapshots and user id are cleaned up by the abort.
void AbortBatch() {
  PgCall([]() {
    HOLD_INTERRUPTS();
    AbortCurrentTransaction();
    RESUME_INTERRUPTS();
    pgstat_report_activity(STATE_IDLE, nullptr);
    MemoryContextSwitchTo(g_loop_context);
  });
}

bool ExtensionInstalled() {
  return PgCall([]() { return OidIsValid(get_extension_oid("insight_keys", true)); });
}

constexpr const char* kWho = "insight_keys cascade worker";

// The worker's one way to run a step: body runs in a transaction of its own
// (it opens its Elevated scope itself); when it raises, the transaction is
// rolled back and what was raised is returned, captured before the rollback.
// Callers report it (ReportCapturedError, CascadeAttemptFailed) and go on.
template <typename Body>
std::optional<CapturedError> InTransaction(const char* activity, Body&& body) {
  std::exception_ptr raised;
  std::optional<CapturedError> error;
  try {
    BeginBatch(activity);
    body();
    CommitBatch();
    return error;
  } catch (...) {
    raised = std::current_exception();
  }
  // Outside the catch scope: the abort calls PostgreSQL.
  error = CaptureError(raised);
  AbortBatch();
  return error;
}

// The worker yields the CPU to foreground backends (verification above all):
// a niced process gets a small share when the cores are contended and all of
// it when they are idle. Raising the nice value always works; lowering it
// needs a privilege the server does not have, so it waits for a restart.
void ApplyNice() {
  errno = 0;
  int current = getpriority(PRIO_PROCESS, 0);
  if (errno != 0 || current == g_cascade_worker_nice) return;
  if (setpriority(PRIO_PROCESS, 0, g_cascade_worker_nice) != 0) {
    int err = errno;
    PgCall([err, current]() {
      ereport(LOG, (errmsg("insight_keys cascade worker: could not change nice from %d to %d: %s; "
                           "it applies when the worker restarts",
                           current, g_cascade_worker_nice, strerror(err))));
    });
  }
}

void LogSettings(const char* when) {
  ApplyNice();
  PgCall([when]() {
    ereport(
        LOG,
        (errmsg("insight_keys cascade worker %s: batch_size=%d naptime=%ds max_attempts=%d nice=%d",
                when, g_cascade_batch_size, g_cascade_naptime_s, g_cascade_max_attempts,
                g_cascade_worker_nice)));
  });
}

enum class BatchResult { Idle, Progress, Failed, ExtensionGone };

// Where the worker is in the event it works on (see ApplyCascadeBatch).
int64 g_cursor_event = 0;
std::optional<core::Uuid> g_cursor;

// One transaction: claim the oldest due event and apply one batch of it.
BatchResult RunOneBatch(const std::string& db_role) {
  int64 claimed = 0;
  BatchResult result = BatchResult::Idle;
  std::optional<CapturedError> error = InTransaction("insight_keys: applying cascades", [&]() {
    if (!ExtensionInstalled()) {
      result = BatchResult::ExtensionGone;
      return;
    }
    Elevated e = Elevated::Begin();
    std::optional<CascadeEvent> ev = ClaimNextCascade();
    if (ev) {
      claimed = ev->id;
      if (g_cursor_event != ev->id) g_cursor.reset();
      g_cursor_event = ev->id;
      // More, Done and Blocked all mean: claim again. A Blocked event (the
      // rest of its keys locked by another transaction) was deferred a little,
      // so the next claim takes the one behind it.
      (void)ApplyCascadeBatch(*ev, g_cascade_batch_size, db_role, LockWait::Skip, &g_cursor);
      result = BatchResult::Progress;
    }
    e.End();
  });
  if (!error) return result;
  g_cursor_event = 0;  // what the failed batch saw was rolled back
  if (claimed == 0) {
    // Nothing to charge it to: wait for the sweep.
    ReportCapturedError(std::string(kWho) + ": could not claim a cascade", *error);
    return BatchResult::Failed;
  }
  // Interrupted (a cancel): not the event's failure; like a failure that
  // cannot be charged to an event, wait for the sweep rather than retry.
  if (!CascadeAttemptFailed(kWho, claimed, *error)) return BatchResult::Failed;
  // Recorded in a transaction of its own so the event backs off and later
  // events go on.
  std::optional<CapturedError> unrecorded =
      InTransaction("insight_keys: recording a cascade failure", [&]() {
        Elevated e = Elevated::Begin();
        RecordCascadeFailure(claimed, error->message, g_cascade_max_attempts);
        e.End();
      });
  if (unrecorded) {
    // The event stays as it is (it is retried): wait for the next sweep
    // rather than spin.
    ReportCapturedError(std::string(kWho) + ": could not record the failure of cascade event " +
                            std::to_string(claimed),
                        *unrecorded);
    return BatchResult::Failed;
  }
  return BatchResult::Progress;
}

// Periodic per-database work besides the queue, each run in a transaction of
// its own (in the extension's elevated context) at most every *interval_s
// seconds; a failure is logged and retried at the next interval. Adding one
// is one line in g_periodic, e.g.
//   {"insight_keys: flushing last use", &g_some_interval_s, []() { SomeFlush(); }},
// One batch of insight.cascade_batch_size per run: the backlog of a mass
// rotation drains over a few naptimes without one long transaction.
void PurgeRotatedKeysTask() {
  if (ExtensionInstalled()) (void)PurgeRotatedKeys(g_cascade_batch_size);
}

struct PeriodicTask {
  const char* activity;
  const int* interval_s;
  void (*run)();
  TimestampTz last_run;
};
std::vector<PeriodicTask> g_periodic = {
    // Key uses recorded in shared memory by verify() reach
    // insight.api_keys.last_used_at (verify itself never writes).
    {"insight_keys: flushing last use", &g_last_used_flush_interval_s,
     []() {
       if (ExtensionInstalled()) FlushLastUsed();
     },
     0},
    // Rotated keys whose grace has ended: they already answer EXPIRED.
    {"insight_keys: purging rotated keys", &g_cascade_naptime_s, PurgeRotatedKeysTask, 0},
    // Organization policies (docs/WORKER.md): one bounded batch per run,
    // the rest at the next interval.
    {"insight_keys: revoking unused keys", &g_key_policy_interval_s,
     []() {
       if (ExtensionInstalled()) (void)RevokeUnusedKeys(g_cascade_batch_size);
     },
     0},
    {"insight_keys: recording expiring keys", &g_key_policy_interval_s,
     []() {
       if (ExtensionInstalled()) (void)RecordExpiringKeys(g_cascade_batch_size);
     },
     0},
};

long RunPeriodicTasks() {
  long next_ms = -1;
  for (PeriodicTask& task : g_periodic) {
    TimestampTz now = GetCurrentTimestamp();
    if (task.last_run == 0) task.last_run = now;  // the first run is one interval after start
    long interval_ms = static_cast<long>(*task.interval_s) * 1000L;
    long since_ms = TimestampDifferenceMilliseconds(task.last_run, now);
    if (since_ms >= interval_ms) {
      task.last_run = now;
      std::optional<CapturedError> error = InTransaction(task.activity, [&task]() {
        // Housekeeping yields: a lock wait shorter than deadlock_timeout ends
        // in this task's lock timeout (retried next interval), never in a
        // deadlock error for the DDL or TRUNCATE it collided with.
        PgCall([]() {
          (void)set_config_option("lock_timeout", "200", PGC_SUSET, PGC_S_SESSION,
                                  GUC_ACTION_LOCAL, true, 0, false);
        });
        Elevated e = Elevated::Begin();
        task.run();
        e.End();
      });
      if (error) {
        ReportCapturedError(std::string(kWho) + ": \"" + task.activity + "\" failed", *error);
      }
      since_ms = 0;
    }
    long due_ms = interval_ms - since_ms;
    next_ms = next_ms < 0 ? due_ms : Min(next_ms, due_ms);
  }
  return next_ms;
}

// Milliseconds until the next event is due (a backoff), capped by the naptime.
long NextSweepMs() {
  long naptime_ms = static_cast<long>(g_cascade_naptime_s) * 1000L;
  long due_ms = naptime_ms;
  // A failure here only costs a full naptime; the batches report theirs.
  (void)InTransaction("insight_keys: next due cascade", [&due_ms]() {
    Elevated e = Elevated::Begin();
    due_ms = NextCascadeDueMs();
    e.End();
  });
  if (due_ms < 0 || due_ms > naptime_ms) return naptime_ms;
  // Due now yet not claimed: another drainer holds it; look again shortly.
  return Max(due_ms, 100L);
}

void ExitWorker() {
  PgCall([]() { proc_exit(0); });
}

// The role recorded as actor_db_role of what the worker does; nullopt when
// the database has no insight_keys (then the worker leaves at once, quietly:
// the launcher starts one in every database to find out).
std::optional<std::string> StartingRole() {
  BeginBatch("insight_keys: starting");
  std::optional<std::string> role;
  if (ExtensionInstalled()) {
    role = PgCall([]() -> const char* { return GetUserNameFromId(GetUserId(), false); });
  }
  CommitBatch();
  return role;
}

// Session settings a database or role may have set (ALTER DATABASE ... SET)
// that would turn batches into failures: a timeout that cancels a batch, a
// serializable default that makes it retry, a read-only default.
void PinSessionSettings() {
  PgCall([]() {
    SetConfigOption("statement_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
    SetConfigOption("lock_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
    SetConfigOption("idle_in_transaction_session_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
    SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);
    SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);
  });
}

void CascadeWorkerLoop(Oid db) {
  PinSessionSettings();
  std::optional<std::string> role;
  while (!(role = StartingRole())) {
    if (MarkAbsent(db)) ExitWorker();
  }
  const std::string db_role = *role;
  LogSettings("started");
  for (;;) {
    // Drain: one transaction per batch until nothing is due.
    BatchResult result;
    do {
      PgCall([]() {
        MemoryContextReset(g_loop_context);
        CHECK_FOR_INTERRUPTS();
      });
      if (ConfigReloadPending) {
        ConfigReloadPending = false;
        PgCall([]() { ProcessConfigFile(PGC_SIGHUP); });
        LogSettings("reloaded");
      }
      result = RunOneBatch(db_role);
      if (result == BatchResult::ExtensionGone) {
        if (MarkAbsent(db)) ExitWorker();
        result = BatchResult::Progress;  // CREATE EXTENSION raced us: look again
      }
    } while (result == BatchResult::Progress);

    // After a failure that could not be charged to an event, a full naptime:
    // retrying at once would only repeat it.
    long sleep_ms = result == BatchResult::Failed ? static_cast<long>(g_cascade_naptime_s) * 1000L
                                                  : NextSweepMs();
    long periodic_ms = RunPeriodicTasks();
    if (periodic_ms >= 0) sleep_ms = Max(Min(sleep_ms, periodic_ms), 10L);
    PgCall([sleep_ms]() {
      (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, sleep_ms,
                      PG_WAIT_EXTENSION);
      ResetLatch(MyLatch);
      CHECK_FOR_INTERRUPTS();
    });
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      PgCall([]() { ProcessConfigFile(PGC_SIGHUP); });
      LogSettings("reloaded");
    }
  }
}

}  // namespace

}  // namespace insight::worker

extern "C" void insight_cascade_worker_main(Datum main_arg) {
  using namespace insight::worker;
  Oid db = DatumGetObjectId(main_arg);
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  if (SharedRegistry() == nullptr)
    ereport(ERROR, (errmsg("insight_keys cascade worker: shared memory not initialized")));
  // Claim before connecting: a duplicate (two starts racing) leaves at once.
  if (!ClaimSlot(db)) proc_exit(0);
  before_shmem_exit(ReleaseSlot, ObjectIdGetDatum(db));
  BackgroundWorkerInitializeConnectionByOid(db, InvalidOid, 0);
  g_loop_context =
      AllocSetContextCreate(TopMemoryContext, "insight_keys cascade loop", ALLOCSET_DEFAULT_SIZES);
  MemoryContextSwitchTo(g_loop_context);
  // The boundary: a C++ exception or a PostgreSQL error that escapes the loop
  // ends the worker with an ERROR (exit 1); the launcher starts it again.
  (void)insight::InvokeGuarded([db]() -> Datum {
    insight::worker::CascadeWorkerLoop(db);
    return Datum(0);
  });
}
