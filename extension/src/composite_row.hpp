// The result row of a SQL function that returns a composite type.
#pragma once

#include "pg_guard.hpp"

namespace insight {

// The function's composite result row built from values/nulls.
Datum ReturnComposite(FunctionCallInfo fcinfo, Datum* values, bool* nulls);

}  // namespace insight
