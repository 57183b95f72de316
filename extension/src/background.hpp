// The background processes as the rest of the extension sees them: the
// launcher, one cascade worker per database and the standby usage sender
// (docs/WORKER.md). They live in worker/, which implements this header; the
// include goes one way only: worker/ includes extension/ headers, nothing in
// extension/ includes a worker/ header. Everything here but the settings and
// WakeCascadeWorkerAtCommit matters only when the library is preloaded.
#pragma once

#include "shared_memory.hpp"

extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "nodes/plannodes.h"
}

namespace insight {

extern int g_cascade_worker_nice;  // insight.cascade_worker_nice
extern char* g_primary_conninfo;   // insight.primary_conninfo

// The registry that ties the launcher, the workers and the backends together
// (worker/worker_registry.hpp).
extern const SharedMemoryPart kCascadeRegistryShmem;

// While preloading: registers the launcher, then the standby usage sender.
void RegisterBackgroundWorkers();

// Called by the transaction that enqueued a cascade: wakes this database's
// worker after that transaction commits (never before, so the worker sees the
// event). Plain C code, never throws; a no-op without the preloaded registry.
void WakeCascadeWorkerAtCommit() noexcept;

// The workers' part of the transaction callback: what a committed transaction
// asked for (wake a worker, request one, forget recorded uses) is done at
// commit and forgotten on abort. Runs after the commit is visible; never fails.
void CascadeWorkersAtXactEvent(XactEvent event) noexcept;

// The workers' part of the utility hook, around the statement: CREATE/DROP
// EXTENSION insight_keys and CREATE/DROP/ALTER/RENAME DATABASE change where a
// worker belongs. Before asks a worker to leave a database the statement
// needs without connections; After runs only when the statement succeeded.
struct WorkerUtilityEffects {
  unsigned at_commit = 0;   // what to do once the transaction commits
  Oid held = InvalidOid;    // a database whose worker was stopped for the statement
  Oid dropped = InvalidOid;  // a database being dropped
};
WorkerUtilityEffects CascadeWorkersBeforeUtility(PlannedStmt* pstmt);
void CascadeWorkersAfterUtility(const WorkerUtilityEffects& effects);

}  // namespace insight
