// The extension's own SQL, run through SPI plans prepared once per backend
// (inside an Elevated scope, elevated.hpp), and the rows they return.
#pragma once

#include <optional>
#include <string>

#include "../core/uuid.hpp"
#include "pg_guard.hpp"

extern "C" {
#include "executor/spi.h"
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

}  // namespace insight
