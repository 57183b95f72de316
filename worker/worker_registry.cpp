// First: extension/core headers must come before postgres.h.
#include "../extension/src/usage_stats.hpp"
#include "worker_registry.hpp"

#include "worker.hpp"

extern "C" {
#include "access/xact.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"
}

namespace insight::worker {

namespace {

Registry* g_registry = nullptr;
shmem_startup_hook_type g_prev_shmem_startup = nullptr;
shmem_request_hook_type g_prev_shmem_request = nullptr;

// What this backend's transaction asked for, done once it commits (a worker
// woken before the commit would not see the event). Backend-local.
unsigned g_at_commit = 0;

void ShmemRequest() {
  if (g_prev_shmem_request) g_prev_shmem_request();
  RequestAddinShmemSpace(MAXALIGN(sizeof(Registry)));
}

void ShmemStartup() {
  if (g_prev_shmem_startup) g_prev_shmem_startup();
  bool found = false;
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  auto* r = static_cast<Registry*>(
      ShmemInitStruct("insight_keys cascade registry", sizeof(Registry), &found));
  if (!found) {
    // Also after a crash restart: every worker is gone then, the launcher
    // starts them again.
    memset(r, 0, sizeof(Registry));
    SpinLockInit(&r->mutex);
  }
  LWLockRelease(AddinShmemInitLock);
  g_registry = r;
}

// Runs inside CommitTransaction after the commit is visible to others; it
// must not fail, and it does not: a spinlock and SetLatch.
void OnXactEvent(XactEvent event, void*) {
  switch (event) {
    case XACT_EVENT_COMMIT:
    case XACT_EVENT_PARALLEL_COMMIT:
      if (g_at_commit & kRequestWorker) {
        Registry* r = g_registry;
        SpinLockAcquire(&r->mutex);
        if (DatabaseSlot* slot = FindOrAddSlot(r, MyDatabaseId)) {
          slot->requested = true;
          slot->absent = false;
        }
        SpinLockRelease(&r->mutex);
      }
      if (g_at_commit & kForgetLastUsed) ForgetLastUsedOf(MyDatabaseId);
      if (g_at_commit & kWakeWorker) WakeDatabaseWorker(MyDatabaseId);
      if (g_at_commit & (kRequestWorker | kWakeLauncher)) WakeLauncher();
      g_at_commit = 0;
      break;
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PARALLEL_ABORT:
    case XACT_EVENT_PREPARE:  // COMMIT PREPARED wakes nobody: the sweep finds it
      g_at_commit = 0;
      break;
    default:
      break;
  }
}

}  // namespace

Registry* SharedRegistry() { return g_registry; }

DatabaseSlot* FindSlot(Registry* r, Oid db) {
  for (auto& slot : r->slots) {
    if (slot.db == db) return &slot;
  }
  return nullptr;
}

DatabaseSlot* FindOrAddSlot(Registry* r, Oid db) {
  if (DatabaseSlot* slot = FindSlot(r, db)) return slot;
  for (auto& slot : r->slots) {
    if (slot.db == InvalidOid) {
      memset(&slot, 0, sizeof slot);
      slot.db = db;
      return &slot;
    }
  }
  return nullptr;
}

void WakeLauncher() {
  Registry* r = g_registry;
  if (r == nullptr) return;
  SpinLockAcquire(&r->mutex);
  PGPROC* proc = r->launcher_pid != 0 ? r->launcher_proc : nullptr;
  SpinLockRelease(&r->mutex);
  // A PGPROC outlives the lock: at worst a recycled one gets a spurious
  // wake-up, which every latch user tolerates.
  if (proc != nullptr) SetLatch(&proc->procLatch);
}

void WakeDatabaseWorker(Oid db) {
  Registry* r = g_registry;
  if (r == nullptr) return;
  SpinLockAcquire(&r->mutex);
  DatabaseSlot* slot = FindSlot(r, db);
  PGPROC* proc = slot != nullptr && slot->pid != 0 ? slot->proc : nullptr;
  SpinLockRelease(&r->mutex);
  if (proc != nullptr) SetLatch(&proc->procLatch);
}

void TerminateWorker(const WorkerHandle& handle) {
  WorkerHandle copy = handle;
  TerminateBackgroundWorker(reinterpret_cast<BackgroundWorkerHandle*>(&copy));
}

WorkerHandle CopyHandle(const BackgroundWorkerHandle* handle) {
  WorkerHandle copy;
  memcpy(&copy, handle, sizeof copy);
  return copy;
}

void InstallRegistryHooks() {
  g_prev_shmem_request = shmem_request_hook;
  shmem_request_hook = ShmemRequest;
  g_prev_shmem_startup = shmem_startup_hook;
  shmem_startup_hook = ShmemStartup;
  // Registered in the postmaster, inherited by every backend.
  RegisterXactCallback(OnXactEvent, nullptr);
}

void AtCommit(unsigned what) noexcept { g_at_commit |= what; }

}  // namespace insight::worker

namespace insight {

int g_cascade_worker_nice = 10;

void InitCascadeWorkers(bool preloaded) {
  // Defined either way, so the setting is known (and settable) without the
  // preload too; it only matters to a worker.
  DefineCustomIntVariable(
      "insight.cascade_worker_nice", "Scheduling priority (nice) of the cascade workers.",
      "Higher yields more CPU to other backends when the cores are busy; 0 competes equally.",
      &g_cascade_worker_nice, 10, 0, 19, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  if (!preloaded) return;
  worker::InstallRegistryHooks();
  worker::InstallUtilityHook();
  worker::RegisterLauncher();
}

void WakeCascadeWorkerAtCommit() noexcept {
  if (worker::SharedRegistry() == nullptr) return;
  worker::AtCommit(worker::kWakeWorker);
}

}  // namespace insight
