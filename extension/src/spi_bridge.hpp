// Running the extension's own SQL: as the extension owner, with search_path
// pinned, through SPI plans prepared once per backend.
#pragma once

#include <optional>
#include <string>

#include "../core/uuid.hpp"
#include "pg_guard.hpp"

extern "C" {
#include "executor/spi.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
}

namespace insight {

// A statement of the extension's own, prepared and kept on first use. The SQL
// names every relation with its schema; it runs with search_path pinned.
struct Statement {
  const char* sql;
  int nargs;
  Oid argtypes[12];
  SPIPlanPtr plan;
};

// SPI connected, current user switched to the extension's owner (who bypasses
// row-level security) with SECURITY_RESTRICTED_OPERATION, and search_path set
// to pg_catalog, pg_temp. Not a destructor-driven guard: on error PostgreSQL's
// abort processing restores user id, GUCs and SPI; on success call End().
class Elevated {
 public:
  static Elevated Begin();
  void End();

 private:
  Oid saved_user_ = InvalidOid;
  int saved_sec_context_ = 0;
  int guc_level_ = 0;
};

// Runs the statement; returns SPI_processed. Rows stay in SPI_tuptable.
uint64 Run(Statement& stmt, const Datum* values, const char* nulls, bool read_only,
           long max_rows = 0);

// Accessors for row `row` of the last result, column `col` (1-based).
bool ColumnIsNull(uint64 row, int col);
core::Uuid ColumnUuid(uint64 row, int col);
std::optional<core::Uuid> ColumnUuidOrNull(uint64 row, int col);
std::string ColumnText(uint64 row, int col);
bool ColumnBool(uint64 row, int col);
int64 ColumnInt64(uint64 row, int col);
Datum ColumnDatum(uint64 row, int col, bool* isnull);

// Conversions. The Datum forms are palloc'd in the current memory context.
core::Uuid UuidFromDatum(Datum d);
Datum UuidToDatum(const core::Uuid& u);
Datum TextToDatum(const std::string& s);
std::string TextFromDatum(Datum d);
// value or a NULL marker for Run's nulls array.
inline char NullFlag(bool isnull) { return isnull ? 'n' : ' '; }

// The function's composite result row built from values/nulls.
Datum ReturnComposite(FunctionCallInfo fcinfo, Datum* values, bool* nulls);

// The schema's owner: whom the extension's own statements run as.
Oid ExtensionOwner();

}  // namespace insight
