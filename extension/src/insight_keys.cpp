// Module entry: PG_MODULE_MAGIC, settings, callbacks, and the worker when
// preloaded.
#include "cascades.hpp"
#include "identity.hpp"
#include "keys.hpp"
#include "log_redaction.hpp"
#include "org_policy.hpp"
#include "principal.hpp"
#include "rate_limits.hpp"
#include "../../worker/worker.hpp"

extern "C" {
#include "miscadmin.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;
void _PG_init(void);
}

namespace insight {
namespace {
bool g_preloaded = false;
}

static Datum WorkerLoaded(FunctionCallInfo) { PG_RETURN_BOOL(g_preloaded); }

static void DefineSettings() {
  DefineCustomIntVariable("insight.cascade_batch_size",
                          "Keys deleted per transaction when a cascade is applied.", nullptr,
                          &g_cascade_batch_size, 5000, 1, 1000000, PGC_SIGHUP, 0, nullptr, nullptr,
                          nullptr);
  DefineCustomIntVariable("insight.cascade_naptime",
                          "Longest sleep of the cascade worker between sweeps of the queue.",
                          nullptr, &g_cascade_naptime_s, 10, 1, 3600, PGC_SIGHUP, GUC_UNIT_S,
                          nullptr, nullptr, nullptr);
  DefineCustomIntVariable("insight.cascade_max_attempts",
                          "Attempts before a failing cascade event is parked as failed.", nullptr,
                          &g_cascade_max_attempts, 5, 1, 1000, PGC_SIGHUP, 0, nullptr, nullptr,
                          nullptr);
  MarkGUCPrefixReserved("insight");
}

}  // namespace insight

extern "C" void _PG_init(void) {
  insight::InvokeGuarded([]() -> Datum {
    insight::g_preloaded = process_shared_preload_libraries_in_progress;
    insight::InitLogRedaction();  // before DefineSettings reserves the prefix
    insight::InitVerify(process_shared_preload_libraries_in_progress);  // likewise
    insight::InitCascadeWorkers(process_shared_preload_libraries_in_progress);  // likewise
    insight::InitIdentitySettings();  // likewise
    insight::InitOrgPolicySettings();  // likewise
    insight::InitStandbyUsage(process_shared_preload_libraries_in_progress);    // likewise
    insight::InitPolicyFunctions();  // likewise
    insight::InitRateLimits(process_shared_preload_libraries_in_progress);  // likewise
    insight::DefineSettings();
    insight::InitPrincipal();
    return Datum(0);
  });
}

INSIGHT_SQL_FUNCTION(insight_worker_loaded, insight::WorkerLoaded)
