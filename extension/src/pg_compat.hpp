// PostgreSQL version differences, in one place (docs/DESIGN.md, "Version-dependent
// places", lists every one). The extension builds against 15, 16 and 17.
#pragma once

extern "C" {
#include "postgres.h"

#include "miscadmin.h"
#include "storage/proc.h"
#if PG_VERSION_NUM < 170000
#include "storage/backendid.h"
#endif
}

namespace insight {

// This backend's local transaction id: PGPROC.lxid until 16, PGPROC.vxid.lxid
// from 17.
inline LocalTransactionId CurrentLocalTransactionId() {
#if PG_VERSION_NUM >= 170000
  return MyProc->vxid.lxid;
#else
  return MyProc->lxid;
#endif
}

// A number for this backend in 1..MaxBackends, unique among live backends, or
// 0 for a process without one: MyBackendId until 16, MyProcNumber + 1 from 17.
inline int CurrentBackendNumber() {
#if PG_VERSION_NUM >= 170000
  return MyProcNumber >= 0 ? MyProcNumber + 1 : 0;
#else
  return MyBackendId != InvalidBackendId ? MyBackendId : 0;
#endif
}

}  // namespace insight
