// Shared memory that ties the launcher, the cascade workers and ordinary
// backends together: which database has a worker (its PGPROC, to set its
// latch), which database asked for one, which is being dropped.
// Every field is guarded by the spinlock; nothing inside the lock may
// allocate, ereport or throw.
#pragma once

extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "datatype/timestamp.h"
#include "postmaster/bgworker.h"
#include "storage/proc.h"
#include "storage/spin.h"
}

namespace insight::worker {

constexpr int kMaxDatabases = 256;

// A copy of the launcher's BackgroundWorkerHandle of a database's worker, so
// that any backend can stop that worker with TerminateBackgroundWorker: the
// postmaster signals the process it started, never a pid that was reused.
// PostgreSQL keeps the struct opaque; this is its layout (postmaster/bgworker.c,
// unchanged from 9.4 to 17). A stale copy is harmless: TerminateBackgroundWorker
// compares the generation, which changes when the slot is reused.
struct WorkerHandle {
  int slot;
  uint64 generation;
};

struct DatabaseSlot {
  Oid db;                  // InvalidOid: the slot is free
  pid_t pid;               // the cascade worker connected to db, 0 when none
  PGPROC* proc;            // its PGPROC: SetLatch(&proc->procLatch) wakes it
  bool has_handle;         // handle: the last worker the launcher registered for db
  WorkerHandle handle;
  bool requested;          // CREATE EXTENSION committed: start a worker even if absent
  bool absent;             // a worker found no insight_keys here: start none until requested
  TimestampTz hold_until;  // DROP DATABASE under way: start none before this
};

struct Registry {
  slock_t mutex;
  pid_t launcher_pid;
  PGPROC* launcher_proc;
  DatabaseSlot slots[kMaxDatabases];
};

// nullptr unless the library was preloaded (and shared memory is attached).
Registry* SharedRegistry();

// Callers hold registry->mutex.
DatabaseSlot* FindSlot(Registry* r, Oid db);
DatabaseSlot* FindOrAddSlot(Registry* r, Oid db);  // nullptr when full

// Sets the latch of the launcher / of db's worker, if any. Take the lock.
void WakeLauncher();
void WakeDatabaseWorker(Oid db);

// Asks the postmaster to stop the worker behind a copied handle (takes
// BackgroundWorkerLock; call without the registry's spinlock).
void TerminateWorker(const WorkerHandle& handle);
// The copy of a handle the launcher owns.
WorkerHandle CopyHandle(const BackgroundWorkerHandle* handle);

// Done by this backend once its transaction commits (nothing on abort).
enum AtCommitAction : unsigned {
  kWakeWorker = 1,     // this database's worker: a cascade was enqueued
  kRequestWorker = 2,  // CREATE EXTENSION insight_keys: the launcher starts a worker here
  kWakeLauncher = 4,   // CREATE DATABASE: the launcher looks at the new database
  kForgetLastUsed = 8,  // DROP EXTENSION insight_keys: forget this database's recorded uses
};
void AtCommit(unsigned what) noexcept;

// The transaction callback's part (CascadeWorkersAtXactEvent).
void AtXactEvent(XactEvent event) noexcept;

// Registered with the postmaster while preloading (RegisterBackgroundWorkers).
void RegisterLauncher();     // launcher.cpp
void RegisterUsageSender();  // standby_usage.cpp

}  // namespace insight::worker
