// Conversions between PostgreSQL Datums and the C++ values of the extension.
#pragma once

#include <string>

#include "../core/uuid.hpp"
#include "pg_guard.hpp"

extern "C" {
#include "utils/uuid.h"
}

namespace insight {

// The Datum forms are palloc'd in the current memory context.
core::Uuid UuidFromDatum(Datum d);
Datum UuidToDatum(const core::Uuid& u);
Datum TextToDatum(const std::string& s);
std::string TextFromDatum(Datum d);

// value or a NULL marker for Run's nulls array (spi_statements.hpp).
inline char NullFlag(bool isnull) { return isnull ? 'n' : ' '; }

}  // namespace insight
