// The background side of the cascades (docs/WORKER.md): a launcher on
// shared catalogs starts one cascade worker per database where insight_keys is
// installed; both run only when the library is in shared_preload_libraries.
#pragma once

namespace insight {

// Called once from _PG_init. When preloaded: requests the shared registry,
// registers the launcher and installs the utility hook (CREATE/DROP EXTENSION,
// CREATE/DROP DATABASE). Otherwise does nothing: cascades then wait for
// insight.apply_cascades().
void InitCascadeWorkers(bool preloaded);

// Called by the transaction that enqueued a cascade: wakes this database's
// worker after that transaction commits (never before, so the worker sees the
// event). Plain C code, never throws; a no-op without the preloaded registry.
void WakeCascadeWorkerAtCommit() noexcept;

// Called once from _PG_init: defines insight.primary_conninfo and, when
// preloading, registers the usage sender that forwards a standby's recorded
// key uses to the primary (worker/standby_usage.cpp, docs/SCALING.md).
void InitStandbyUsage(bool preloading);

// insight.cascade_worker_nice (defined by InitCascadeWorkers when preloaded).
extern int g_cascade_worker_nice;

}  // namespace insight
