// The one place where the extension hooks into PostgreSQL. Each hook below is
// installed once and chains to whatever was installed before it (another
// library loaded earlier); its body calls the subsystems' parts in a fixed
// order, the order the separate hooks used to nest in:
//
//   ProcessUtility   principal, then cascade workers (preloaded), then log
//                    redaction before the statement runs; after it succeeded,
//                    the workers' part, then the principal's
//   ExecutorStart    the principal shipped to parallel workers, then log
//                    redaction
//   ExecutorRun, planner, post_parse_analyze, emit_log
//                    log redaction only (an entry is redacted before a
//                    library loaded earlier, a log shipper, sees it)
//   transaction      the principal, then the changed keys (key_changes.hpp),
//                    then the cascade workers (preloaded)
//   subtransaction   the principal, then the changed keys
//   relcache         the verify cache (InitVerify, key_lookup.cpp)
//
// The hooks are PostgreSQL callbacks: only plain data lives in these frames,
// so an ereport from the next hook unwinds nothing of ours.
#include "process_hooks.hpp"

// Headers that include core/ first: core/ comes before any PostgreSQL header.
#include "keys.hpp"
#include "principal.hpp"
#include "verify_cache.hpp"

#include "background.hpp"
#include "key_changes.hpp"
#include "log_redaction.hpp"

extern "C" {
#include "access/xact.h"
#include "executor/executor.h"
#include "optimizer/planner.h"
#include "parser/analyze.h"
#include "tcop/utility.h"
#include "utils/elog.h"
}

namespace insight {

namespace {

bool g_workers = false;  // preloaded: the cascade workers' parts run too

ProcessUtility_hook_type g_prev_process_utility = nullptr;
ExecutorStart_hook_type g_prev_executor_start = nullptr;
ExecutorRun_hook_type g_prev_executor_run = nullptr;
planner_hook_type g_prev_planner = nullptr;
post_parse_analyze_hook_type g_prev_post_parse_analyze = nullptr;
emit_log_hook_type g_prev_emit_log = nullptr;

void ProcessUtilityHook(PlannedStmt* pstmt, const char* query_string, bool read_only_tree,
                        ProcessUtilityContext context, ParamListInfo params,
                        QueryEnvironment* query_env, DestReceiver* dest, QueryCompletion* qc) {
  bool reset = PrincipalResetBy(pstmt);
  WorkerUtilityEffects effects;
  if (g_workers) effects = CascadeWorkersBeforeUtility(pstmt);
  MaskUtilityStatement(pstmt, query_string);
  if (g_prev_process_utility != nullptr) {
    g_prev_process_utility(pstmt, query_string, read_only_tree, context, params, query_env, dest,
                           qc);
  } else {
    standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest,
                            qc);
  }
  // Reached only when the statement succeeded.
  if (g_workers) CascadeWorkersAfterUtility(effects);
  if (reset) ForgetPrincipal();
}

void ExecutorStartHook(QueryDesc* query_desc, int eflags) {
  ShipPrincipalForParallelPlan(query_desc, eflags);
  MaskExecutorStatement(query_desc);
  if (g_prev_executor_start != nullptr) {
    g_prev_executor_start(query_desc, eflags);
  } else {
    standard_ExecutorStart(query_desc, eflags);
  }
}

void ExecutorRunHook(QueryDesc* query_desc, ScanDirection direction, uint64 count,
                     bool execute_once) {
  RedactActivityAtRun(query_desc);
  if (g_prev_executor_run != nullptr) {
    g_prev_executor_run(query_desc, direction, count, execute_once);
  } else {
    standard_ExecutorRun(query_desc, direction, count, execute_once);
  }
}

PlannedStmt* PlannerHook(Query* parse, const char* query_string, int cursor_options,
                         ParamListInfo bound_params) {
  MaskPlannedStatement(parse, query_string);
  if (g_prev_planner != nullptr)
    return g_prev_planner(parse, query_string, cursor_options, bound_params);
  return standard_planner(parse, query_string, cursor_options, bound_params);
}

void PostParseAnalyzeHook(ParseState* pstate, Query* query, JumbleState* jstate) {
  bool client = MaskAnalyzedStatement(pstate, query);
  if (g_prev_post_parse_analyze != nullptr) g_prev_post_parse_analyze(pstate, query, jstate);
  if (client) RedactOwnActivity();
}

void EmitLogHook(ErrorData* edata) {
  RedactLogEntryAndActivity(edata);
  if (g_prev_emit_log != nullptr) g_prev_emit_log(edata);
}

// Both run inside transaction commit or abort: they must not fail (only
// PRE_PREPARE may raise, failing the PREPARE TRANSACTION).
void OnXactEvent(XactEvent event, void*) {
  PrincipalAtXactEvent(event);
  // What this backend read of its own aborted changes is in no ring.
  if (KeyChangesAtXactEvent(event) && event == XACT_EVENT_ABORT) VerifyCacheInvalidate();
  if (g_workers) CascadeWorkersAtXactEvent(event);
}

void OnSubXactEvent(SubXactEvent event, SubTransactionId my_subid, SubTransactionId, void*) {
  PrincipalAtSubXactEvent(event, my_subid);
  KeyChangesAtSubXactEvent(event);
}

}  // namespace

void InstallHooks(bool preloaded) {
  g_workers = preloaded;
  g_prev_process_utility = ProcessUtility_hook;
  ProcessUtility_hook = ProcessUtilityHook;
  g_prev_executor_start = ExecutorStart_hook;
  ExecutorStart_hook = ExecutorStartHook;
  g_prev_executor_run = ExecutorRun_hook;
  ExecutorRun_hook = ExecutorRunHook;
  g_prev_planner = planner_hook;
  planner_hook = PlannerHook;
  g_prev_post_parse_analyze = post_parse_analyze_hook;
  post_parse_analyze_hook = PostParseAnalyzeHook;
  g_prev_emit_log = emit_log_hook;
  emit_log_hook = EmitLogHook;
  // Registered in the postmaster when preloaded, inherited by every backend.
  RegisterXactCallback(OnXactEvent, nullptr);
  RegisterSubXactCallback(OnSubXactEvent, nullptr);
  InitVerify();
}

}  // namespace insight
