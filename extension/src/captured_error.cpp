#include "captured_error.hpp"

#include <new>

namespace insight {

bool CapturedError::Interrupted() const noexcept {
  return sqlstate == ERRCODE_QUERY_CANCELED || sqlstate == ERRCODE_ADMIN_SHUTDOWN;
}

CapturedError CaptureError(std::exception_ptr raised) {
  CapturedError out;
  try {
    std::rethrow_exception(raised);
  } catch (const PgError& e) {
    const ErrorData* edata = e.edata();
    if (edata != nullptr) {
      out.sqlstate = edata->sqlerrcode;
      if (edata->message != nullptr) out.message = edata->message;
      if (edata->detail != nullptr) out.detail = edata->detail;
      if (edata->hint != nullptr) out.hint = edata->hint;
      if (edata->context != nullptr) out.context = edata->context;
    }
  } catch (const SqlError& e) {
    out.sqlstate = e.sqlstate();
    out.message = e.what();
    out.hint = e.hint();
  } catch (const std::bad_alloc&) {
    out.sqlstate = ERRCODE_OUT_OF_MEMORY;
    out.message = "out of memory in insight_keys";
  } catch (const std::exception& e) {
    out.message = e.what();
  } catch (...) {
    out.message = "unexpected C++ exception in insight_keys";
  }
  if (out.message.empty()) out.message = "unknown error";
  return out;
}

void ReportCapturedError(const std::string& what, const CapturedError& error) {
  const char* w = what.c_str();
  const CapturedError* e = &error;
  PgCall([w, e]() {
    ereport(WARNING,
            (errcode(e->sqlstate), errmsg_internal("%s: %s", w, e->message.c_str()),
             !e->detail.empty() ? errdetail_internal("%s", e->detail.c_str()) : 0,
             !e->hint.empty() ? errhint("%s", e->hint.c_str()) : 0,
             !e->context.empty() ? errcontext("%s", e->context.c_str()) : 0));
  });
}

}  // namespace insight
