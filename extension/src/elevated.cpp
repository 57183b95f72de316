#include "elevated.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
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

}  // namespace insight
