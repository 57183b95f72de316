// The emit_log_hook behind insight.redact_logs (default on, superuser-only),
// the same redaction of the statement text in pg_stat_activity, and the
// in-place masking of the client's statement text that pg_stat_statements
// stores (both below).
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
// (Once parse analysis ran, debug_query_string is itself masked to its own
// length, see MaskStatement, and the line is printed as it is.)
//
// Node dumps (debug_print_parse/rewritten/plan) print a constant as its
// datum's bytes; a key there is decoded and masked (core::RedactDatumDumps).
//
// Hazards: this runs inside error reporting. It must never throw (everything
// is behind noexcept / catch), never ereport (allocations use
// MCXT_ALLOC_NO_OOM; when memory runs out the text is masked in place), and
// allocates in the entry's own context, which FreeErrorDataContents frees.
#include <cstring>
#include <string>
#include <string_view>

// core/ headers before any PostgreSQL header (log_redaction.hpp has some).
#include "../core/redact.hpp"
#include "log_redaction.hpp"

extern "C" {
#include "postgres.h"

#include "executor/executor.h"
#include "miscadmin.h"
#include "optimizer/planner.h"
#include "parser/analyze.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/backend_status.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/memutils.h"
}

namespace insight {

bool g_redact_logs = true;

namespace {

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
  std::string_view view(text, len);
  bool dump = core::HasDatumDump(view);
  if (!dump && !core::MayContainKey(view)) return;
  char* copy = nullptr;
  bool changed = true;
  try {
    std::string redacted =
        dump ? core::RedactKeys(core::RedactDatumDumps(view)) : core::RedactKeys(view);
    changed = redacted != view;
    if (changed) copy = CopyToContext(cxt, redacted);
  } catch (...) {
    copy = nullptr;
  }
  if (!changed) return;
  if (copy == nullptr) {
    if (dump) core::MaskDatumDumpsInPlace(text, len);
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

}  // namespace

void RedactLogEntryAndActivity(ErrorData* edata) noexcept {
  if (g_redact_logs && edata != nullptr) RedactLogEntry(edata);
  // Any entry this backend logs, an ERROR above all: a statement that fails
  // before parse analysis ends would otherwise keep its key in
  // pg_stat_activity while the session idles (in an aborted transaction).
  if (g_redact_logs) RedactOwnActivity();
}

// pg_stat_activity.query shows what the backend published in its status slot:
// the statement text, copied (clipped to track_activity_query_size) before the
// statement is even parsed (exec_simple_query, and exec_parse_message,
// exec_bind_message and exec_execute_message for each extended-protocol
// message), and it stays there while the session idles, or idles in an
// aborted transaction after the statement failed. RedactOwnActivity rewrites
// that copy in place, redacted: after parse analysis, at planning, executor
// start and run and utility execution of the client's statement, and from the
// emit_log_hook for every entry this backend logs (so an ERROR raised before
// parse analysis ends, a syntax error or any statement in an aborted
// transaction, leaves no key behind). What remains is the window between the
// publication and the first of these points (docs/SECURITY.md).
void RedactOwnActivity() noexcept {
  if (!g_redact_logs) return;
  volatile PgBackendStatus* entry = MyBEEntry;
  if (entry == nullptr || !pgstat_track_activities || entry->st_activity_raw == nullptr) return;
  // Only this backend writes its slot, so reading it needs no retry loop;
  // writing follows the changecount protocol readers rely on.
  char* slot = const_cast<char*>(entry->st_activity_raw);
  size_t cap = static_cast<size_t>(pgstat_track_activity_query_size);
  if (cap == 0) return;
  size_t len = strnlen(slot, cap - 1);
  std::string_view view(slot, len);
  if (!core::MayContainKey(view)) return;
  std::string redacted;
  bool ok = true;
  try {
    redacted = core::RedactKeys(view);
  } catch (...) {
    ok = false;
  }
  PGSTAT_BEGIN_WRITE_ACTIVITY(entry);
  if (ok) {
    size_t n = redacted.size() < cap - 1 ? redacted.size() : cap - 1;
    memcpy(slot, redacted.data(), n);
    slot[n] = '\0';
  } else {
    core::MaskKeysInPlace(slot, len);
  }
  PGSTAT_END_WRITE_ACTIVITY(entry);
}

namespace {

// The client's statement text, as the hooks below see it: debug_query_string
// itself (the simple protocol's message buffer, the prepared statement's text
// at Bind) or the running portal's copy of it (Execute). Both are heap memory
// this backend owns and PostgreSQL reads again only for offsets into them.
// Only client backends: a background worker or a parallel worker may run
// statements whose text is not its own to change.
bool IsClientStatement(const char* text) noexcept {
  if (text == nullptr) return false;
  if (MyBackendType != B_BACKEND && MyBackendType != B_WAL_SENDER) return false;
  return text == debug_query_string || (ActivePortal != nullptr && text == ActivePortal->sourceText);
}

// Masks the key material in the statement text[location, location + len), in
// place and to the same length (core::MaskKeysKeepingHint), before anything
// after parse analysis reads it. pg_stat_statements stores a statement's
// text from exactly these buffers (at parse analysis, planning, ExecutorEnd
// and after a utility statement), so it stores the masked text whichever of
// the two libraries' hooks runs first: ours mask before calling the next hook,
// and when pg_stat_statements' hooks run first they call ours before they
// store. The parse tree keeps copies of its literals, and locations stay
// valid, so the statement runs unchanged; current_query() and the STATEMENT
// line show the masked text. Only the statement's own range: the statements
// after it in a multi-statement string are masked when they are analyzed.
void MaskStatement(const char* text, int location, int len) noexcept {
  if (!g_redact_logs || !IsClientStatement(text)) return;
  size_t total = strlen(text);
  size_t start = location > 0 ? static_cast<size_t>(location) : 0;
  if (start >= total) return;
  size_t n = total - start;
  if (len > 0 && static_cast<size_t>(len) < n) n = static_cast<size_t>(len);
  core::MaskKeysKeepingHint(const_cast<char*>(text) + start, n);
}

}  // namespace

bool MaskAnalyzedStatement(ParseState* pstate, Query* query) noexcept {
  bool client = g_redact_logs && pstate != nullptr && IsClientStatement(pstate->p_sourcetext);
  if (client && query != nullptr)
    MaskStatement(pstate->p_sourcetext, query->stmt_location, query->stmt_len);
  return client;
}

void MaskPlannedStatement(Query* parse, const char* query_string) noexcept {
  if (g_redact_logs && parse != nullptr && IsClientStatement(query_string)) {
    MaskStatement(query_string, parse->stmt_location, parse->stmt_len);
    RedactOwnActivity();
  }
}

void MaskExecutorStatement(QueryDesc* query_desc) noexcept {
  if (g_redact_logs && query_desc != nullptr && IsClientStatement(query_desc->sourceText)) {
    const PlannedStmt* stmt = query_desc->plannedstmt;
    MaskStatement(query_desc->sourceText, stmt != nullptr ? stmt->stmt_location : -1,
                  stmt != nullptr ? stmt->stmt_len : 0);
    RedactOwnActivity();
  }
}

// Execute re-publishes the statement text after the portal started (Bind
// runs ExecutorStart), so the slot is redacted again at ExecutorRun.
void RedactActivityAtRun(QueryDesc* query_desc) noexcept {
  if (g_redact_logs && query_desc != nullptr && IsClientStatement(query_desc->sourceText))
    RedactOwnActivity();
}

void MaskUtilityStatement(PlannedStmt* pstmt, const char* query_string) noexcept {
  if (g_redact_logs && pstmt != nullptr && IsClientStatement(query_string)) {
    MaskStatement(query_string, pstmt->stmt_location, pstmt->stmt_len);
    RedactOwnActivity();
  }
}

}  // namespace insight
