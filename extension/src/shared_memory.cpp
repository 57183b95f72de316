#include "shared_memory.hpp"

#include <string>

#include "pg_guard.hpp"

extern "C" {
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
}

namespace insight {

namespace {

constexpr int kMaxParts = 8;
const SharedMemoryPart* g_parts[kMaxParts];
int g_part_count = 0;

shmem_request_hook_type g_prev_request_hook = nullptr;
shmem_startup_hook_type g_prev_startup_hook = nullptr;

void RequestParts() {
  if (g_prev_request_hook != nullptr) g_prev_request_hook();
  for (int i = 0; i < g_part_count; i++) {
    RequestAddinShmemSpace(g_parts[i]->size());
    if (g_parts[i]->tranche != nullptr) RequestNamedLWLockTranche(g_parts[i]->tranche, 1);
  }
}

void AttachParts() {
  if (g_prev_startup_hook != nullptr) g_prev_startup_hook();
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  for (int i = 0; i < g_part_count; i++) g_parts[i]->attach();
  LWLockRelease(AddinShmemInitLock);
}

}  // namespace

void RequestSharedMemory(const SharedMemoryPart& part) {
  if (!process_shared_preload_libraries_in_progress || g_part_count == kMaxParts) {
    throw SqlError(ERRCODE_INTERNAL_ERROR, std::string("insight_keys: no shared memory for ") +
                                               part.name + " (only while preloading, at most " +
                                               std::to_string(kMaxParts) + " parts)");
  }
  g_parts[g_part_count++] = &part;
}

void InstallSharedMemoryHooks() {
  g_prev_request_hook = shmem_request_hook;
  shmem_request_hook = RequestParts;
  g_prev_startup_hook = shmem_startup_hook;
  shmem_startup_hook = AttachParts;
}

}  // namespace insight
