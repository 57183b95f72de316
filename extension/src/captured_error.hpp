// An error caught at the C++/PostgreSQL boundary and kept in C++ memory, so it
// outlives the rollback of the transaction or subtransaction that raised it
// (a PgError's ErrorData lives in memory that rollback may free). The worker
// and apply_cascades() handle a failed step with it (cascades.hpp).
#pragma once

#include <exception>
#include <string>

#include "pg_guard.hpp"

namespace insight {

struct CapturedError {
  int sqlstate = ERRCODE_INTERNAL_ERROR;
  std::string message;
  std::string detail;
  std::string hint;
  std::string context;

  // A cancel (pg_cancel_backend, statement_timeout) or a shutdown: whoever ran
  // the step was stopped; the step itself did not fail.
  bool Interrupted() const noexcept;
};

// From inside a catch block: CaptureError(std::current_exception()). Any
// exception: a PgError keeps the PostgreSQL error's fields, a SqlError its
// SQLSTATE, message and hint, anything else is an internal error.
CapturedError CaptureError(std::exception_ptr raised);

// Reports it as a WARNING, "<what>: <message>", with its SQLSTATE, detail,
// hint and context, through PostgreSQL's error reporting (errfinish, then
// EmitErrorReport: the server log, and the client of a backend). Throws
// PgError only if reporting itself fails.
void ReportCapturedError(const std::string& what, const CapturedError& error);

}  // namespace insight
