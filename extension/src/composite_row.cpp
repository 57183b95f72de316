#include "composite_row.hpp"

extern "C" {
#include "access/htup_details.h"
#include "funcapi.h"
}

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
