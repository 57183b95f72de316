// Module entry: PG_MODULE_MAGIC and _PG_init, which sets the process up in
// four steps, each in one place (docs/DESIGN.md, "Process plumbing"): the
// settings (settings.cpp), the shared memory (shared_memory.cpp), the
// background workers (worker/) and the hooks (process_hooks.cpp).
// Headers that include core/ first: core/ comes before any PostgreSQL header.
#include "rate_limits.hpp"
#include "usage_stats.hpp"

#include "key_changes.hpp"

#include "background.hpp"
#include "pg_guard.hpp"
#include "process_hooks.hpp"
#include "settings.hpp"
#include "shared_memory.hpp"

extern "C" {
#include "miscadmin.h"

PG_MODULE_MAGIC;
void _PG_init(void);
}

namespace insight {
namespace {
bool g_preloaded = false;
}

static Datum WorkerLoaded(FunctionCallInfo) { PG_RETURN_BOOL(g_preloaded); }

}  // namespace insight

extern "C" void _PG_init(void) {
  // pg_upgrade's servers run with -b: no settings, shared memory, workers or
  // hooks then. The upgrade only restores the catalog; a worker must not touch
  // it meanwhile.
  if (IsBinaryUpgrade) return;
  insight::InvokeGuarded([]() -> Datum {
    using namespace insight;
    bool preloading = process_shared_preload_libraries_in_progress;
    g_preloaded = preloading;
    DefineSettings(preloading);
    if (preloading) {
      // Sized from settings that are final by now (PGC_POSTMASTER).
      RequestSharedMemory(kUsageShmem);
      RequestSharedMemory(kCascadeRegistryShmem);
      RequestSharedMemory(kRateLimitShmem);
      RequestSharedMemory(kKeyChangeShmem);
      InstallSharedMemoryHooks();
      RegisterBackgroundWorkers();
    }
    InstallHooks(preloading);
    return Datum(0);
  });
}

INSIGHT_SQL_FUNCTION(insight_worker_loaded, insight::WorkerLoaded)
