#include "datum_conversion.hpp"

#include <cstring>

extern "C" {
#include "utils/builtins.h"
}

namespace insight {

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
