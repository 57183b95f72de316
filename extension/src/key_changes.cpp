#include "key_changes.hpp"

#include <cstring>

extern "C" {
#include "access/xlog.h"
#include "port/atomics.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/inval.h"
}

namespace insight {

namespace {

// Enough for every revocation between two statements of a busy backend; a
// backend that falls further behind drops its whole cache once.
constexpr uint64_t kRingSlots = 1024;
// Rows one transaction records; beyond that it sends the broad signal.
constexpr int kPendingMax = 64;

struct RingSlot {
  pg_atomic_uint64 seq;  // the position written here; 0 while being written
  char lookup_id[kKeyChangeIdLen];
};

struct Ring {
  slock_t writer;         // one committing transaction writes at a time
  pg_atomic_uint64 head;  // the last position written (positions start at 1)
  RingSlot slots[kRingSlots];
};

Ring* g_ring = nullptr;

struct Pending {
  int count = 0;
  bool overflow = false;
  bool broad_queued = false;
  Oid broad = InvalidOid;
  char ids[kPendingMax][kKeyChangeIdLen];
};
Pending g_pending;

Size RingSize() { return sizeof(Ring); }

void AttachRing() {
  bool found = false;
  g_ring = static_cast<Ring*>(ShmemInitStruct("insight_keys key changes", sizeof(Ring), &found));
  if (!found) {
    SpinLockInit(&g_ring->writer);
    pg_atomic_init_u64(&g_ring->head, 0);
    for (uint64_t i = 0; i < kRingSlots; i++) pg_atomic_init_u64(&g_ring->slots[i].seq, 0);
  }
}

void ForgetPending() noexcept {
  g_pending.count = 0;
  g_pending.overflow = false;
  g_pending.broad_queued = false;
  g_pending.broad = InvalidOid;
}

// Runs after the commit is visible to new snapshots and before its
// invalidations are sent: a backend that reads these positions and then
// reads the key again sees the change.
void WritePending() noexcept {
  if (g_ring == nullptr || g_pending.count == 0) return;
  SpinLockAcquire(&g_ring->writer);
  uint64_t pos = pg_atomic_read_u64(&g_ring->head);
  for (int i = 0; i < g_pending.count; i++) {
    RingSlot& slot = g_ring->slots[++pos % kRingSlots];
    pg_atomic_write_u64(&slot.seq, 0);
    pg_write_barrier();
    std::memcpy(slot.lookup_id, g_pending.ids[i], kKeyChangeIdLen);
    pg_write_barrier();
    pg_atomic_write_u64(&slot.seq, pos);
  }
  pg_write_barrier();
  pg_atomic_write_u64(&g_ring->head, pos);
  SpinLockRelease(&g_ring->writer);
}

}  // namespace

const SharedMemoryPart kKeyChangeShmem = {"changed keys", RingSize, nullptr, AttachRing};

bool KeyChangeRingAttached() noexcept { return g_ring != nullptr; }

bool NoteKeyChange(const char lookup_id[kKeyChangeIdLen], Oid broad) noexcept {
  if (g_ring == nullptr) return false;
  g_pending.broad = broad;
  if (g_pending.overflow) return false;
  for (int i = 0; i < g_pending.count; i++) {
    if (std::memcmp(g_pending.ids[i], lookup_id, kKeyChangeIdLen) == 0) return true;
  }
  if (g_pending.count == kPendingMax) {
    g_pending.overflow = true;
    return false;
  }
  std::memcpy(g_pending.ids[g_pending.count++], lookup_id, kKeyChangeIdLen);
  return true;
}

bool BroadSignalQueued() noexcept { return g_pending.broad_queued; }

void NoteBroadSignalQueued() noexcept { g_pending.broad_queued = true; }

void KeyChangesAtSubXactEvent(SubXactEvent event) noexcept {
  if (event == SUBXACT_EVENT_ABORT_SUB) g_pending.broad_queued = false;
}

bool KeyChangesPending() noexcept { return g_pending.count > 0 || g_pending.overflow; }

bool KeyChangesAtXactEvent(XactEvent event) {
  bool pending = KeyChangesPending();
  switch (event) {
    case XACT_EVENT_COMMIT:
      WritePending();
      ForgetPending();
      break;
    case XACT_EVENT_PRE_PREPARE:
      // COMMIT PREPARED sends this transaction's invalidations from another
      // backend, which has no lookup ids to write: every cache then clears.
      if (pending && OidIsValid(g_pending.broad)) CacheInvalidateRelcacheByRelid(g_pending.broad);
      break;
    case XACT_EVENT_PRE_COMMIT:
    case XACT_EVENT_PARALLEL_PRE_COMMIT:
      break;
    default:
      ForgetPending();
      break;
  }
  return pending;
}

void KeyChangeCursorReset(KeyChangeCursor* cursor) noexcept {
  cursor->started = true;
  cursor->seen = g_ring == nullptr ? 0 : pg_atomic_read_u64(&g_ring->head);
}

bool ReadKeyChanges(KeyChangeCursor* cursor, void (*drop)(const char* lookup_id)) noexcept {
  if (g_ring == nullptr || !cursor->started) {
    KeyChangeCursorReset(cursor);
    return false;
  }
  // A hot standby's ring is never written: what it replays names no keys.
  // A backend that lived through a promotion may hold replayed signals that
  // the ring does not cover: it drops everything once.
  if (RecoveryInProgress()) {
    cursor->saw_recovery = true;
    KeyChangeCursorReset(cursor);
    return false;
  }
  if (cursor->saw_recovery) {
    cursor->saw_recovery = false;
    KeyChangeCursorReset(cursor);
    return false;
  }
  uint64_t head = pg_atomic_read_u64(&g_ring->head);
  pg_read_barrier();
  uint64_t from = cursor->seen;
  cursor->seen = head;
  // Nothing new: the signal came from somewhere the ring does not cover.
  if (head == from || head - from > kRingSlots) return false;
  for (uint64_t pos = from + 1; pos <= head; pos++) {
    const RingSlot& slot = g_ring->slots[pos % kRingSlots];
    char id[kKeyChangeIdLen];
    uint64_t before = pg_atomic_read_u64(const_cast<pg_atomic_uint64*>(&slot.seq));
    pg_read_barrier();
    std::memcpy(id, slot.lookup_id, kKeyChangeIdLen);
    pg_read_barrier();
    uint64_t after = pg_atomic_read_u64(const_cast<pg_atomic_uint64*>(&slot.seq));
    // Overwritten while read: a writer lapped this backend.
    if (before != pos || after != pos) return false;
    drop(id);
  }
  return true;
}

}  // namespace insight
