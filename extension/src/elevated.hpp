// The privilege switch: the extension's own statements run as the owner of
// schema insight, with search_path pinned.
#pragma once

#include "pg_guard.hpp"

namespace insight {

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

// The schema's owner: whom the extension's own statements run as.
Oid ExtensionOwner();

}  // namespace insight
