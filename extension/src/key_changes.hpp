// Which keys changed: the narrow half of verify cache invalidation
// (docs/DESIGN.md, "Verify cache invalidation").
//
// A change to api_keys rows (revocation, rotation, disabling, settings) makes
// only those keys' cache entries wrong. The row trigger on api_keys records
// each changed row's lookup id here (pending, in this backend) and queues a
// relcache invalidation of insight.cache_inval_key_rows. When the transaction
// commits, after the commit is visible and before the invalidation is sent,
// the lookup ids are written to a ring in shared memory. A backend that
// receives the invalidation drops the entries named in the ring since it last
// read it, and keeps the rest of its cache. It drops everything instead when
// the ring cannot say (it wrapped, an entry was overwritten while read, it
// names nothing new, the server is or was a hot standby, or no shared memory:
// not preloaded).
//
// A transaction that cannot write its lookup ids at commit (more changed rows
// than a transaction records, or PREPARE TRANSACTION) queues the broad signal
// instead, a relcache invalidation of insight.cache_inval_keys, which clears
// every cache.
#pragma once

#include <cstdint>

#include "shared_memory.hpp"

extern "C" {
#include "access/xact.h"
}

namespace insight {

inline constexpr int kKeyChangeIdLen = 16;  // core::kLookupLen

extern const SharedMemoryPart kKeyChangeShmem;

// Whether the ring exists (the library was preloaded).
bool KeyChangeRingAttached() noexcept;

// From the row trigger: remembers a changed key's lookup id until commit.
// False when it cannot be carried by the ring (no ring, or this transaction
// already changed more keys than it records): the caller then sends the broad
// signal. `broad` is insight.cache_inval_keys, queued at PREPARE TRANSACTION.
bool NoteKeyChange(const char lookup_id[kKeyChangeIdLen], Oid broad) noexcept;

// Whether this transaction already queued the broad signal, which covers
// every later change of it: the row trigger then has nothing to add. A
// subtransaction abort forgets it (the signal may have gone with it).
bool BroadSignalQueued() noexcept;
void NoteBroadSignalQueued() noexcept;
void KeyChangesAtSubXactEvent(SubXactEvent event) noexcept;

// Whether this backend's open transaction changed key rows: its own cache
// then holds what it read of its uncommitted changes, and is cleared whole.
bool KeyChangesPending() noexcept;

// From the transaction callback. COMMIT writes the pending lookup ids to the
// ring; PRE_PREPARE queues the broad signal (may raise: the prepare fails);
// the rest forget them. ABORT returns whether any were pending.
bool KeyChangesAtXactEvent(XactEvent event);

// The reader's position in the ring.
struct KeyChangeCursor {
  bool started = false;
  bool saw_recovery = false;
  uint64_t seen = 0;
};

// Starts the cursor at the ring's head: what was written before is of no
// concern to a cache that is empty.
void KeyChangeCursorReset(KeyChangeCursor* cursor) noexcept;

// Calls drop(lookup_id) for each lookup id written since the cursor, and
// advances it. False when the ring cannot say which keys changed: the caller
// then drops every entry (the cursor is at the head again).
bool ReadKeyChanges(KeyChangeCursor* cursor, void (*drop)(const char* lookup_id)) noexcept;

}  // namespace insight
