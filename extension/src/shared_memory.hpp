// The extension's shared memory, laid out in one place: each subsystem that
// needs some describes its part, _PG_init asks for every part while
// preloading, and one shmem_request_hook and one shmem_startup_hook serve
// them all (docs/DESIGN.md, "Process plumbing").
#pragma once

extern "C" {
#include "postgres.h"
}

namespace insight {

// Both functions run in the postmaster (and again after a crash restart for
// attach): plain C calls only, nothing that throws.
struct SharedMemoryPart {
  const char* name;     // for the reader: which subsystem this is
  Size (*size)();       // bytes it needs; read from shmem_request_hook, once settings are final
  const char* tranche;  // a named LWLock tranche of one lock it gets, or nullptr
  void (*attach)();     // finds or creates it (ShmemInitStruct, ShmemInitHash);
                        // called with AddinShmemInitLock held
};

// While preloading, from _PG_init: the part is requested, and attached at
// startup, in the order asked.
void RequestSharedMemory(const SharedMemoryPart& part);

// Installs the request and startup hooks (chained to whatever was there).
void InstallSharedMemoryHooks();

}  // namespace insight
