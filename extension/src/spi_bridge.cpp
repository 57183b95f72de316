#include "spi_bridge.hpp"

#include <cstring>

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/syscache.h"
}

namespace insight {

Oid ExtensionOwner() {
  return PgCall([]() -> Oid {
    Oid nsp = get_namespace_oid("insight", false);
    HeapTuple tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
    if (!HeapTupleIsValid(tup)) elog(ERROR, "cache lookup failed for schema insight");
    Oid owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
    ReleaseSysCache(tup);
    // Forced row-level security applies to the owner too; only a role that
    // bypasses it can run the extension's internal statements.
    if (!superuser_arg(owner) && !has_bypassrls_privilege(owner)) {
      ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                      errmsg("the owner of schema insight must be a superuser or have BYPASSRLS")));
    }
    return owner;
  });
}

Elevated Elevated::Begin() {
  Elevated e;
  Oid owner = ExtensionOwner();
  PgCall([&e, owner]() {
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
    GetUserIdAndSecContext(&e.saved_user_, &e.saved_sec_context_);
    SetUserIdAndSecContext(owner, e.saved_sec_context_ | SECURITY_LOCAL_USERID_CHANGE |
                                      SECURITY_RESTRICTED_OPERATION);
    e.guc_level_ = NewGUCNestLevel();
    (void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
                             GUC_ACTION_SAVE, true, 0, false);
  });
  return e;
}

void Elevated::End() {
  PgCall([this]() {
    AtEOXact_GUC(true, guc_level_);
    SetUserIdAndSecContext(saved_user_, saved_sec_context_);
    if (SPI_finish() != SPI_OK_FINISH) elog(ERROR, "SPI_finish failed");
  });
}

uint64 Run(Statement& stmt, const Datum* values, const char* nulls, bool read_only,
           long max_rows) {
  return PgCall([&]() -> uint64 {
    if (stmt.plan == nullptr) {
      // A generic plan: parameters are never folded into the plan, so
      // auto_explain and friends never print a key's hash as a constant,
      // and nothing is re-planned per call.
      SPIPlanPtr plan = SPI_prepare_cursor(stmt.sql, stmt.nargs, stmt.argtypes,
                                           CURSOR_OPT_GENERIC_PLAN);
      if (plan == nullptr) elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
      if (SPI_keepplan(plan) != 0) elog(ERROR, "SPI_keepplan failed");
      stmt.plan = plan;
    }
    int rc = SPI_execute_plan(stmt.plan, const_cast<Datum*>(values), nulls, read_only, max_rows);
    if (rc < 0) elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
    return SPI_processed;
  });
}

Datum ColumnDatum(uint64 row, int col, bool* isnull) {
  return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
}

bool ColumnIsNull(uint64 row, int col) {
  bool isnull;
  (void) ColumnDatum(row, col, &isnull);
  return isnull;
}

core::Uuid ColumnUuid(uint64 row, int col) {
  bool isnull;
  Datum d = ColumnDatum(row, col, &isnull);
  return isnull ? core::Uuid{} : UuidFromDatum(d);
}

std::optional<core::Uuid> ColumnUuidOrNull(uint64 row, int col) {
  bool isnull;
  Datum d = ColumnDatum(row, col, &isnull);
  if (isnull) return std::nullopt;
  return UuidFromDatum(d);
}

std::string ColumnText(uint64 row, int col) {
  bool isnull;
  Datum d = ColumnDatum(row, col, &isnull);
  return isnull ? std::string() : TextFromDatum(d);
}

bool ColumnBool(uint64 row, int col) {
  bool isnull;
  Datum d = ColumnDatum(row, col, &isnull);
  return !isnull && DatumGetBool(d);
}

int64 ColumnInt64(uint64 row, int col) {
  bool isnull;
  Datum d = ColumnDatum(row, col, &isnull);
  return isnull ? 0 : DatumGetInt64(d);
}

core::Uuid UuidFromDatum(Datum d) {
  core::Uuid u;
  std::memcpy(u.bytes.data(), DatumGetUUIDP(d)->data, UUID_LEN);
  return u;
}

Datum UuidToDatum(const core::Uuid& u) {
  return PgCall([&u]() -> Datum {
    auto* p = static_cast<pg_uuid_t*>(palloc(sizeof(pg_uuid_t)));
    std::memcpy(p->data, u.bytes.data(), UUID_LEN);
    return UUIDPGetDatum(p);
  });
}

Datum TextToDatum(const std::string& s) {
  return PgCall([&s]() -> Datum {
    return PointerGetDatum(cstring_to_text_with_len(s.data(), static_cast<int>(s.size())));
  });
}

std::string TextFromDatum(Datum d) {
  std::string out;
  PgCall([&out, d]() {
    text* t = DatumGetTextPP(d);
    out.assign(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
  });
  return out;
}

}  // namespace insight

namespace insight {

Datum ReturnComposite(FunctionCallInfo fcinfo, Datum* values, bool* nulls) {
  return PgCall([=]() {
    TupleDesc desc;
    if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) {
      elog(ERROR, "function returning a row called in a context that cannot accept one");
    }
    desc = BlessTupleDesc(desc);
    return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
  });
}

}  // namespace insight
