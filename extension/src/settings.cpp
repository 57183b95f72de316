// The table of every insight.* setting (see settings.hpp). A new setting is
// one row here plus its variable in the code that reads it.
#include "settings.hpp"

#include <climits>

// Headers that include core/ first: core/ comes before any PostgreSQL header.
#include "cascades.hpp"
#include "org_policy.hpp"
#include "principal.hpp"
#include "rate_limits.hpp"
#include "usage_stats.hpp"
#include "verify_cache.hpp"

#include "background.hpp"
#include "identity.hpp"
#include "log_redaction.hpp"

extern "C" {
#include "miscadmin.h"
#include "utils/guc.h"
}

namespace insight {

namespace {

enum class Type { Bool, Int, String };

struct Setting {
  Type type;
  const char* name;
  const char* description;
  const char* long_description;  // nullptr: none
  void* variable;                // bool*, int* or char**, as the type says
  bool bool_default;
  int int_default;
  const char* string_default;
  int min;
  int max;
  GucContext context;  // PGC_POSTMASTER: defined only when preloading
  int unit;            // GUC_UNIT_* or 0
  int flags;           // other GUC_* flags
};

constexpr Setting Bool(const char* name, const char* description, const char* long_description,
                       bool* variable, bool default_value, GucContext context, int flags) {
  return Setting{Type::Bool, name, description, long_description, variable, default_value, 0,
                 nullptr,    0,    0,           context,          0,        flags};
}

constexpr Setting Int(const char* name, const char* description, const char* long_description,
                      int* variable, int default_value, int min, int max, GucContext context,
                      int unit) {
  return Setting{Type::Int, name, description, long_description, variable, false, default_value,
                 nullptr,   min,  max,         context,          unit,     0};
}

constexpr Setting String(const char* name, const char* description, const char* long_description,
                         char** variable, const char* default_value, GucContext context,
                         int flags) {
  return Setting{Type::String, name, description, long_description, variable, false, 0,
                 default_value, 0,    0,           context,          0,        flags};
}

// By subsystem; the order is the order of definition, which nothing depends on.
const Setting kSettings[] = {
    // Log redaction (log_redaction.cpp)
    Bool("insight.redact_logs",
         "Redacts anything shaped like an API key from server log entries and pg_stat_activity.",
         "Covers message, detail, hint, context, internal query and the statement text of log "
         "entries, and the statement text pg_stat_activity shows. "
         "Turn off only to debug, never in production.",
         &g_redact_logs, true, PGC_SUSET, 0),

    // Verification (verify_cache.cpp, usage_stats.cpp, rate_limits.cpp).
    // Superuser-only: the size decides how much memory every backend may pin
    // (about 620 MB at the maximum), which is not for any role to choose.
    Int("insight.verify_cache_size",
        "Verified keys each backend keeps in memory (0 disables the cache).",
        "Each entry takes about 620 bytes; entries are dropped on any change to keys, users, "
        "memberships or organizations.",
        &g_verify_cache_size, 10000, 0, 1000000, PGC_SUSET, 0),
    Int("insight.last_used_flush_interval",
        "How often the worker writes recorded key uses to insight.api_keys.last_used_at.",
        nullptr, &g_last_used_flush_interval_s, 60, 1, 86400, PGC_SIGHUP, GUC_UNIT_S),
    Int("insight.last_used_capacity",
        "Keys whose last use shared memory can hold between two flushes.",
        "Uses of further keys are counted in insight.stats.last_used_dropped until the next "
        "flush.",
        &g_last_used_capacity, 16384, 16, 4194304, PGC_POSTMASTER, 0),
    Int("insight.rate_limit_capacity",
        "Keys with a rate limit whose windows shared memory can hold at once.",
        "A further key's requests are refused (RATE_LIMITED, counted in insight.stats) until an "
        "idle key's entry is freed.",
        &g_rate_limit_capacity, 16384, 16, 4194304, PGC_POSTMASTER, 0),

    // The principal in the application's policies (app_policies.cpp). Only
    // the extension sets it; hidden from SHOW ALL and never read from a file.
    String("insight.parallel_principal", "The acting principal, as copied to parallel workers.",
           "Set by the extension when a parallel plan starts; not meant to be set by hand.",
           &g_parallel_principal, "", PGC_SUSET,
           GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE | GUC_SUPERUSER_ONLY |
               GUC_NO_RESET_ALL),

    // Identity administration (identity.cpp)
    Int("insight.identity_lock_timeout",
        "Longest wait of an identity administration function for a row lock held by another "
        "transaction.",
        "0 waits as long as lock_timeout allows.", &g_identity_lock_timeout_ms, 5000, 0, INT_MAX,
        PGC_SUSET, GUC_UNIT_MS),

    // Cascades, applied by the worker or by apply_cascades() (cascades.cpp)
    Int("insight.cascade_batch_size", "Keys deleted per transaction when a cascade is applied.",
        nullptr, &g_cascade_batch_size, 5000, 1, 1000000, PGC_SIGHUP, 0),
    Int("insight.cascade_naptime",
        "Longest sleep of the cascade worker between sweeps of the queue.", nullptr,
        &g_cascade_naptime_s, 10, 1, 3600, PGC_SIGHUP, GUC_UNIT_S),
    Int("insight.cascade_max_attempts",
        "Attempts before a failing cascade event is parked as failed.", nullptr,
        &g_cascade_max_attempts, 5, 1, 1000, PGC_SIGHUP, 0),

    // The background processes (worker/). Defined with or without the
    // preload, so they are known (and settable) either way; they only matter
    // to a worker.
    Int("insight.cascade_worker_nice", "Scheduling priority (nice) of the cascade workers.",
        "Higher yields more CPU to other backends when the cores are busy; 0 competes equally.",
        &g_cascade_worker_nice, 10, 0, 19, PGC_SIGHUP, 0),
    Int("insight.key_policy_interval",
        "How often the worker revokes unused keys and records expiring keys of organizations "
        "with a policy.",
        nullptr, &g_key_policy_interval_s, 60, 1, 86400, PGC_SIGHUP, GUC_UNIT_S),
    String("insight.primary_conninfo",
           "Where a standby sends the key uses it records (a libpq connection string).",
           "Empty: the standby's primary_conninfo. The database name is always the local one.",
           &g_primary_conninfo, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY),
};

void Define(const Setting& s) {
  switch (s.type) {
    case Type::Bool:
      DefineCustomBoolVariable(s.name, s.description, s.long_description,
                               static_cast<bool*>(s.variable), s.bool_default, s.context, s.flags,
                               nullptr, nullptr, nullptr);
      break;
    case Type::Int:
      DefineCustomIntVariable(s.name, s.description, s.long_description,
                              static_cast<int*>(s.variable), s.int_default, s.min, s.max,
                              s.context, s.unit | s.flags, nullptr, nullptr, nullptr);
      break;
    case Type::String:
      DefineCustomStringVariable(s.name, s.description, s.long_description,
                                 static_cast<char**>(s.variable), s.string_default, s.context,
                                 s.flags, nullptr, nullptr, nullptr);
      break;
  }
}

}  // namespace

void DefineSettings(bool preloading) {
  for (const Setting& s : kSettings) {
    // Defining a PGC_POSTMASTER setting after startup is FATAL.
    if (s.context == PGC_POSTMASTER && !preloading) continue;
    Define(s);
  }
  MarkGUCPrefixReserved("insight");
}

}  // namespace insight
