// First: extension/core headers must come before postgres.h.
#include "../extension/src/usage_stats.hpp"
#include "worker_registry.hpp"

#include "../extension/src/background.hpp"

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

// What this backend's transaction asked for, done once it commits (a worker
// woken before the commit would not see the event). Backend-local.
unsigned g_at_commit = 0;

Size RegistrySize() { return MAXALIGN(sizeof(Registry)); }

// With AddinShmemInitLock held (extension/src/shared_memory.cpp).
void AttachRegistry() {
  bool found = false;
  auto* r = static_cast<Registry*>(
      ShmemInitStruct("insight_keys cascade registry", sizeof(Registry), &found));
  if (!found) {
    // Also after a crash restart: every worker is gone then, the launcher
    // starts them again.
    memset(r, 0, sizeof(Registry));
    SpinLockInit(&r->mutex);
  }
  g_registry = r;
}

}  // namespace

// Runs inside CommitTransaction after the commit is visible to others; it
// must not fail, and it does not: a spinlock and SetLatch.
void AtXactEvent(XactEvent event) noexcept {
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

void AtCommit(unsigned what) noexcept { g_at_commit |= what; }

}  // namespace insight::worker

namespace insight {

int g_cascade_worker_nice = 10;

const SharedMemoryPart kCascadeRegistryShmem = {"the cascade worker registry",
                                                worker::RegistrySize, nullptr,
                                                worker::AttachRegistry};

void RegisterBackgroundWorkers() {
  worker::RegisterLauncher();
  worker::RegisterUsageSender();
}

void CascadeWorkersAtXactEvent(XactEvent event) noexcept { worker::AtXactEvent(event); }

void WakeCascadeWorkerAtCommit() noexcept {
  if (worker::SharedRegistry() == nullptr) return;
  worker::AtCommit(worker::kWakeWorker);
}

}  // namespace insight
