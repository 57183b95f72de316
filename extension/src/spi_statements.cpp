#include "spi_statements.hpp"

#include "datum_conversion.hpp"

namespace insight {

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

}  // namespace insight
