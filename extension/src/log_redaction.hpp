// Keys never reach a log line or pg_stat_activity: the redaction of every
// field of every log entry, and of the statement text the backend publishes
// in pg_stat_activity and that pg_stat_statements stores (log_redaction.cpp).
// The PostgreSQL hooks that call these are installed by process_hooks.cpp;
// each function here is its part of one hook, called before the next hook in
// the chain runs. None of them throws or raises.
#pragma once

extern "C" {
#include "postgres.h"

#include "executor/execdesc.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "parser/parse_node.h"
#include "utils/elog.h"
}

namespace insight {

extern bool g_redact_logs;  // insight.redact_logs

// emit_log_hook: rewrites the entry's fields, redacted, and this backend's
// pg_stat_activity text.
void RedactLogEntryAndActivity(ErrorData* edata) noexcept;

// post_parse_analyze_hook: masks the client's statement text; returns whether
// RedactOwnActivity() is due once the next hook has run.
bool MaskAnalyzedStatement(ParseState* pstate, Query* query) noexcept;
// planner_hook, ExecutorStart_hook, ExecutorRun_hook, ProcessUtility_hook.
void MaskPlannedStatement(Query* parse, const char* query_string) noexcept;
void MaskExecutorStatement(QueryDesc* query_desc) noexcept;
void RedactActivityAtRun(QueryDesc* query_desc) noexcept;
void MaskUtilityStatement(PlannedStmt* pstmt, const char* query_string) noexcept;

// Rewrites this backend's pg_stat_activity text in place, redacted.
void RedactOwnActivity() noexcept;

}  // namespace insight
