// The emit_log_hook behind insight.redact_logs (default on, superuser-only),
// and the same redaction of the statement text in pg_stat_activity (below).
//
// PostgreSQL calls the hook for every entry bound for the server log, before
// it writes the entry and before it sends the error to the client, so the
// fields rewritten here are what both see. Key material (core::RedactKeys: a
// key prefix and a key-shaped body, valid checksum or not) is replaced in the
// message, detail, detail_log, hint, context and internal query.
//
// The statement is the hard part: the "STATEMENT:" line is printed by the log
// writer from debug_query_string, after this hook has returned, whenever
// log_min_error_statement admits the entry. A statement that holds a key gets
// hide_stmt = true (which suppresses that line in the text, csv and json logs
// alike) and its redacted copy goes into detail_log, the server-only detail:
// the client's error is unchanged and the log keeps the statement, redacted.
// debug_query_string itself is left alone (current_query() and parallel
// workers read it).
//
// Hazards: this runs inside error reporting. It must never throw (everything
// is behind noexcept / catch), never ereport (allocations use
// MCXT_ALLOC_NO_OOM; when memory runs out the text is masked in place), and
// allocates in the entry's own context, which FreeErrorDataContents frees.
#include "log_redaction.hpp"

#include <cstring>
#include <string>
#include <string_view>

#include "../core/redact.hpp"

extern "C" {
#include "postgres.h"

#include "executor/executor.h"
#include "parser/analyze.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/memutils.h"
}

namespace insight {

namespace {

bool g_redact_logs = true;
emit_log_hook_type g_prev_emit_log_hook = nullptr;
post_parse_analyze_hook_type g_prev_post_parse_analyze_hook = nullptr;
ExecutorRun_hook_type g_prev_executor_run_hook = nullptr;

constexpr std::string_view kStatementLabel = "STATEMENT (keys redacted):  ";

// A NUL-terminated copy of text in cxt, or nullptr when no memory is left.
char* CopyToContext(MemoryContext cxt, std::string_view text) noexcept {
  void* p = MemoryContextAllocExtended(cxt, text.size() + 1, MCXT_ALLOC_NO_OOM | MCXT_ALLOC_HUGE);
  if (p == nullptr) return nullptr;
  char* s = static_cast<char*>(p);
  memcpy(s, text.data(), text.size());
  s[text.size()] = '\0';
  return s;
}

// Replaces *field by its redacted copy (freeing the original: every field of
// an ErrorData is palloc'd, and a LOG entry never resets its context, so a
// leak here would grow with every logged statement).
void RedactField(MemoryContext cxt, char** field) noexcept {
  char* text = *field;
  if (text == nullptr) return;
  size_t len = strlen(text);
  if (!core::MayContainKey(std::string_view(text, len))) return;
  char* copy = nullptr;
  try {
    std::string redacted = core::RedactKeys(std::string_view(text, len));
    copy = CopyToContext(cxt, redacted);
  } catch (...) {
    copy = nullptr;
  }
  if (copy == nullptr) {
    core::MaskKeysInPlace(text, len);
    return;
  }
  *field = copy;
  pfree(text);
}

// Mirrors elog.c's is_log_level_output(): would the log writer add the
// STATEMENT line for an entry of this level?
bool StatementWouldBeLogged(int elevel) noexcept {
  int min = log_min_error_statement;
  if (elevel == LOG || elevel == LOG_SERVER_ONLY) return min == LOG || min <= ERROR;
  if (elevel == WARNING_CLIENT_ONLY) return false;
  if (min == LOG) return elevel >= FATAL;
  return elevel >= min;
}

// The STATEMENT line: hidden when it would carry a key, and its redacted copy
// appended to the server-only detail.
void RedactStatement(MemoryContext cxt, ErrorData* edata) noexcept {
  const char* stmt = debug_query_string;
  if (edata->hide_stmt || stmt == nullptr) return;
  std::string_view text(stmt);
  if (!core::MayContainKey(text)) return;
  edata->hide_stmt = true;
  if (!StatementWouldBeLogged(edata->elevel)) return;
  char* copy = nullptr;
  try {
    // detail_log replaces detail in the server log, so it starts with it.
    const char* base = edata->detail_log != nullptr ? edata->detail_log : edata->detail;
    std::string detail;
    if (base != nullptr) {
      detail += base;
      detail += '\n';
    }
    detail += kStatementLabel;
    detail += core::RedactKeys(text);
    copy = CopyToContext(cxt, detail);
  } catch (...) {
    copy = nullptr;
  }
  if (copy == nullptr) return;  // the line stays hidden: better lost than leaked
  if (edata->detail_log != nullptr) pfree(edata->detail_log);
  edata->detail_log = copy;
}

void RedactLogEntry(ErrorData* edata) noexcept {
  // The fields were palloc'd in assoc_context (errmsg and friends), which is
  // also where FreeErrorDataContents expects them.
  MemoryContext cxt = edata->assoc_context != nullptr ? edata->assoc_context : ErrorContext;
  RedactField(cxt, &edata->message);
  RedactField(cxt, &edata->detail);
  RedactField(cxt, &edata->detail_log);
  RedactField(cxt, &edata->hint);
  RedactField(cxt, &edata->context);
  RedactField(cxt, &edata->internalquery);
  RedactStatement(cxt, edata);
}

void EmitLogHook(ErrorData* edata) noexcept {
  if (g_redact_logs && edata != nullptr) RedactLogEntry(edata);
  // Hooks installed before ours (log shippers, auditors) see the redacted entry.
  if (g_prev_emit_log_hook != nullptr) g_prev_emit_log_hook(edata);
}

// pg_stat_activity.query: the backend publishes the statement text before
// running it (exec_simple_query before parsing; exec_execute_message again
// before each Execute), and it stays there after the statement (an idle
// session shows its last query). A top-level text holding a key is replaced
// by its redacted copy after parse analysis (simple protocol, utility
// statements included) and at ExecutorRun (extended protocol, which
// re-publishes the text at Execute, after any parse or executor start).
// Only the top level (the text equals debug_query_string; exec_execute_message
// publishes a copy, hence a comparison of contents, not of pointers): nested
// SPI queries are not what the view shows. Not covered: a utility statement with a literal
// key sent over the extended protocol (no executor run after the re-publish).
void RedactActivity(const char* text) noexcept {
  const char* top = debug_query_string;
  if (text == nullptr || top == nullptr || (text != top && strcmp(text, top) != 0)) return;
  size_t len = strlen(text);
  if (!core::MayContainKey(std::string_view(text, len))) return;
  char* copy = nullptr;
  try {
    copy = CopyToContext(CurrentMemoryContext, core::RedactKeys(std::string_view(text, len)));
  } catch (...) {
    copy = nullptr;
  }
  if (copy == nullptr) return;
  // Never ereports: copies (clipped to track_activity_query_size) into this
  // backend's status slot.
  pgstat_report_activity(STATE_RUNNING, copy);
  pfree(copy);
}

void PostParseAnalyzeHook(ParseState* pstate, Query* query, JumbleState* jstate) {
  if (g_prev_post_parse_analyze_hook != nullptr)
    g_prev_post_parse_analyze_hook(pstate, query, jstate);
  if (g_redact_logs && pstate != nullptr) RedactActivity(pstate->p_sourcetext);
}

void ExecutorRunHook(QueryDesc* query_desc, ScanDirection direction, uint64 count,
                     bool execute_once) {
  if (g_redact_logs && query_desc != nullptr) RedactActivity(query_desc->sourceText);
  if (g_prev_executor_run_hook != nullptr) {
    g_prev_executor_run_hook(query_desc, direction, count, execute_once);
  } else {
    standard_ExecutorRun(query_desc, direction, count, execute_once);
  }
}

}  // namespace

void InitLogRedaction() {
  DefineCustomBoolVariable(
      "insight.redact_logs",
      "Redacts anything shaped like an API key from server log entries and pg_stat_activity.",
      "Covers message, detail, hint, context, internal query and the statement text of log "
      "entries, and the statement text pg_stat_activity shows. "
      "Turn off only to debug, never in production.",
      &g_redact_logs, true, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  g_prev_emit_log_hook = emit_log_hook;
  emit_log_hook = EmitLogHook;
  g_prev_post_parse_analyze_hook = post_parse_analyze_hook;
  post_parse_analyze_hook = PostParseAnalyzeHook;
  g_prev_executor_run_hook = ExecutorRun_hook;
  ExecutorRun_hook = ExecutorRunHook;
}

}  // namespace insight
