// The whole bridge to the extension's own SQL, for the files that use all of
// it: each part has its own header and file, by job.
//   spi_statements.hpp    prepared SPI statements and their result rows
//   elevated.hpp          the switch to the extension owner's privileges
//   datum_conversion.hpp  Datum <-> C++ values
//   composite_row.hpp     a SQL function's composite result row
#pragma once

// These two first: they include core/ headers, which come before postgres.h.
#include "datum_conversion.hpp"
#include "spi_statements.hpp"

#include "composite_row.hpp"
#include "elevated.hpp"
