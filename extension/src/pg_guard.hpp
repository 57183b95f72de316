// The boundary between C++ and PostgreSQL (see docs/DESIGN.md, "Error boundary").
//
// PostgreSQL raises errors with longjmp, which skips C++ destructors; a C++
// exception that reaches a PostgreSQL C frame aborts the backend. Therefore:
//  * every SQL-callable entry point runs its body through InvokeGuarded(),
//    which catches every C++ exception and re-raises it as ereport(ERROR)
//    only after the catch scope has closed;
//  * every PostgreSQL call that may ereport while C++ objects are alive goes
//    through PgCall(), which turns the PostgreSQL error into a PgError
//    exception so the C++ frames unwind normally, and InvokeGuarded()
//    re-throws the original error (SQLSTATE, message, context) unchanged.
// C++ objects own only C++ memory: nothing in a destructor calls PostgreSQL,
// because after an error PostgreSQL's own abort processing cleans up SPI,
// snapshots, user id and GUC nesting.
#pragma once

#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "utils/elog.h"
#include "utils/memutils.h"
}

#include "pg_compat.hpp"

namespace insight {

// An error meant for the client: a SQLSTATE and a message that never contains
// key material.
class SqlError : public std::exception {
 public:
  SqlError(int sqlstate, std::string message, std::string hint = {})
      : sqlstate_(sqlstate), message_(std::move(message)), hint_(std::move(hint)) {}
  int sqlstate() const noexcept { return sqlstate_; }
  const std::string& hint() const noexcept { return hint_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  int sqlstate_;
  std::string message_;
  std::string hint_;
};

// A PostgreSQL error caught by PgCall, carried across C++ frames.
class PgError : public std::exception {
 public:
  explicit PgError(ErrorData* edata) : edata_(edata) {}
  ErrorData* edata() const noexcept { return edata_; }
  const char* what() const noexcept override { return "PostgreSQL error"; }

 private:
  ErrorData* edata_;  // palloc'd in the caller's memory context
};

namespace detail {
// The setjmp frame: everything it writes lives in the caller's frame, so no
// local of this function is live across the longjmp.
template <typename Fn>
void PgTry(Fn& fn, ErrorData** edata, std::exception_ptr* cpp_error) {
  MemoryContext caller_context = CurrentMemoryContext;
  PG_TRY();
  {
    try {
      fn();
    } catch (...) {
      *cpp_error = std::current_exception();
    }
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(caller_context);
    *edata = CopyErrorData();
    FlushErrorState();
  }
  PG_END_TRY();
}
}  // namespace detail

// Runs fn, which calls PostgreSQL and owns no C++ objects, and converts a
// PostgreSQL error into a PgError. A C++ exception from fn is carried past
// PG_END_TRY (leaving PG_TRY by a C++ throw would leave PostgreSQL's error
// stack pointing into a dead frame) and re-thrown after it.
template <typename Fn>
auto PgCall(Fn&& fn) {
  using Result = decltype(fn());
  ErrorData* edata = nullptr;
  std::exception_ptr cpp_error;
  if constexpr (std::is_void_v<Result>) {
    detail::PgTry(fn, &edata, &cpp_error);
    if (edata != nullptr) throw PgError(edata);
    if (cpp_error) std::rethrow_exception(cpp_error);
  } else {
    Result result{};
    auto assign = [&result, &fn]() { result = fn(); };
    detail::PgTry(assign, &edata, &cpp_error);
    if (edata != nullptr) throw PgError(edata);
    if (cpp_error) std::rethrow_exception(cpp_error);
    return result;
  }
}

// The one funnel for entry points. Returns what body returns, or raises.
template <typename Body>
Datum InvokeGuarded(Body&& body) noexcept {
  ErrorData* pg_error = nullptr;
  int sqlstate = 0;
  // Copied without allocating: nothing inside a catch block may ereport.
  char message[512];
  char hint[256];
  message[0] = hint[0] = '\0';
  try {
    return body();
  } catch (const PgError& e) {
    pg_error = e.edata();
  } catch (const SqlError& e) {
    sqlstate = e.sqlstate();
    strlcpy(message, e.what(), sizeof message);
    strlcpy(hint, e.hint().c_str(), sizeof hint);
  } catch (const std::bad_alloc&) {
    sqlstate = ERRCODE_OUT_OF_MEMORY;
    strlcpy(message, "out of memory in insight_keys", sizeof message);
  } catch (const std::exception& e) {
    sqlstate = ERRCODE_INTERNAL_ERROR;
    strlcpy(message, e.what(), sizeof message);
  } catch (...) {
    sqlstate = ERRCODE_INTERNAL_ERROR;
    strlcpy(message, "unexpected C++ exception in insight_keys", sizeof message);
  }
  if (pg_error != nullptr) ReThrowError(pg_error);
  ereport(ERROR, (errcode(sqlstate), errmsg_internal("%s", message),
                  hint[0] != '\0' ? errhint("%s", hint) : 0));
  pg_unreachable();
}

}  // namespace insight

// Declares a SQL-callable function whose body is `Datum Impl(FunctionCallInfo)`
// run behind the boundary.
#define INSIGHT_SQL_FUNCTION(sql_name, impl)                                  \
  extern "C" {                                                                \
  PG_FUNCTION_INFO_V1(sql_name);                                              \
  Datum sql_name(PG_FUNCTION_ARGS) {                                          \
    return ::insight::InvokeGuarded([fcinfo]() -> Datum { return impl(fcinfo); }); \
  }                                                                           \
  }
