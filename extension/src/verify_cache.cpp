#include "verify_cache.hpp"

#include <openssl/crypto.h>

#include <cstring>
#include <new>
#include <type_traits>

#include "usage_stats.hpp"

#include "key_changes.hpp"

extern "C" {
#include "utils/guc.h"
#include "utils/memutils.h"
}

namespace insight {

int g_verify_cache_size = 10000;

namespace {

// Set-associative: a key hashes to one bucket of `ways` slots and evicts the
// least recently used slot of that bucket. buckets * ways never exceeds the
// configured size, so the bound is exact and no allocation happens per call.
struct Cache {
  CachedKey* slots = nullptr;  // in g_cache_context
  // The second index, by key id: direct-mapped, one pointer per slot. An
  // entry is trusted only if its slot is used and holds that key id, so an
  // eviction, a clear or an overwrite needs no bookkeeping here.
  CachedKey** by_id = nullptr;  // in g_cache_context, buckets * ways entries
  uint32_t buckets = 0;
  uint32_t ways = 0;
  int configured = -1;  // g_verify_cache_size the slots were sized for
  uint64_t tick = 0;
  uint64_t epoch = 1;          // a slot is live while its epoch equals this: a clear is one increment
  bool dirty = false;          // "everything changed" arrived: clear before the next use
  bool keys_changed = false;   // "these keys changed" arrived: read the ring before the next use
  KeyChangeCursor changes;     // where this backend is in the ring
  VerifyCacheStatus status;
};

Cache g_cache;

// The slots live in their own context, so the cache shows (by name, with its
// size) in pg_backend_memory_contexts and a resize gives the memory back.
// Freed by a context reset, never by destructors: the slots must not need any.
MemoryContext g_cache_context = nullptr;
static_assert(std::is_trivially_destructible_v<CachedKey>);

struct OwnerSlot {
  uint64_t epoch = 0;  // valid only while equal to g_owner_epoch
  uint8_t org[16];
  uint8_t owner[16];
  bool has_owner = false;
  OwnerFacts facts;
};
constexpr size_t kOwnerSlots = 1024;
OwnerSlot g_owner_slots[kOwnerSlots];

OwnerSlot* OwnerSlotFor(const uint8_t org[16], const uint8_t* owner) noexcept {
  uint32_t h = 2166136261u;
  for (int i = 0; i < 16; i++) h = (h ^ org[i]) * 16777619u;
  if (owner != nullptr) {
    for (int i = 0; i < 16; i++) h = (h ^ owner[i]) * 16777619u;
  }
  return &g_owner_slots[h % kOwnerSlots];
}

uint64_t g_generation = 1;  // bumped by every signal: a read in flight is not stored
uint64_t g_owner_epoch = 1;  // bumped by "everything changed": the owner slots go

uint32_t HashLookup(std::string_view lookup) noexcept {
  uint32_t h = 2166136261u;  // FNV-1a: lookup ids are uniform CSPRNG output
  for (char c : lookup) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  return h;
}

uint32_t HashId(const core::Uuid& id) noexcept {
  uint32_t h = 2166136261u;  // key ids are gen_random_uuid() output
  for (uint8_t b : id.bytes) h = (h ^ b) * 16777619u;
  return h;
}

size_t Capacity() noexcept { return static_cast<size_t>(g_cache.buckets) * g_cache.ways; }

bool Live(const CachedKey& e) noexcept { return e.epoch == g_cache.epoch; }

// O(1): the slots are left as they are and read as empty.
void ClearSlots() noexcept {
  g_cache.epoch++;
  g_cache.status.entries = 0;
  g_cache.dirty = false;
  g_cache.keys_changed = false;
  KeyChangeCursorReset(&g_cache.changes);
}

CachedKey* Bucket(std::string_view lookup) noexcept {
  return &g_cache.slots[static_cast<size_t>(HashLookup(lookup) % g_cache.buckets) * g_cache.ways];
}

void DropLookup(const char* lookup_id) noexcept {
  std::string_view lookup(lookup_id, core::kLookupLen);
  CachedKey* bucket = Bucket(lookup);
  for (uint32_t i = 0; i < g_cache.ways; i++) {
    CachedKey& e = bucket[i];
    if (Live(e) && std::memcmp(e.record.lookup_id, lookup_id, core::kLookupLen) == 0) {
      e.epoch = 0;
      g_cache.status.entries--;
      return;
    }
  }
}

// Applies a changed insight.verify_cache_size and any pending invalidation.
void Prepare() noexcept {
  if (g_cache.configured != g_verify_cache_size) {
    g_cache.slots = nullptr;
    g_cache.by_id = nullptr;
    if (g_cache_context != nullptr) MemoryContextReset(g_cache_context);
    g_cache.buckets = g_cache.ways = 0;
    g_cache.status.entries = 0;
    g_cache.configured = g_verify_cache_size;
    int size = g_verify_cache_size;
    if (size > 0 && g_cache_context != nullptr) {
      uint32_t buckets = size >= 16 ? static_cast<uint32_t>(size) / 8 : 1;
      uint32_t ways = static_cast<uint32_t>(size) / buckets;
      // Out of memory is not worth an error on the verify path: run uncached.
      size_t count = static_cast<size_t>(buckets) * ways;
      void* raw = MemoryContextAllocExtended(g_cache_context, count * sizeof(CachedKey),
                                             MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
      void* index = raw == nullptr ? nullptr
                                   : MemoryContextAllocExtended(
                                         g_cache_context, count * sizeof(CachedKey*),
                                         MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);
      if (raw != nullptr && index != nullptr) {
        g_cache.slots = new (raw) CachedKey[count];
        g_cache.by_id = static_cast<CachedKey**>(index);
        g_cache.buckets = buckets;
        g_cache.ways = ways;
      } else {
        MemoryContextReset(g_cache_context);
      }
    }
    g_cache.status.capacity = static_cast<int64_t>(g_cache.buckets) * g_cache.ways;
    g_cache.status.memory_bytes =
        g_cache.status.capacity * static_cast<int64_t>(sizeof(CachedKey) + sizeof(CachedKey*)) +
        static_cast<int64_t>(sizeof(g_owner_slots));
    ClearSlots();
  }
  if (g_cache.dirty) {
    ClearSlots();
  } else if (g_cache.keys_changed) {
    g_cache.keys_changed = false;
    if (g_cache.buckets == 0 || !ReadKeyChanges(&g_cache.changes, DropLookup)) ClearSlots();
  }
}


}  // namespace

void InitVerifyCache() {
  if (g_cache_context == nullptr) {
    g_cache_context =
        AllocSetContextCreate(TopMemoryContext, "insight_keys verify cache", ALLOCSET_SMALL_SIZES);
  }
}

uint64_t VerifyCacheGeneration() noexcept { return g_generation; }

void VerifyCacheInvalidate() noexcept {
  g_generation++;
  g_owner_epoch++;
  g_cache.dirty = true;
  g_cache.status.invalidations++;
}

void VerifyCacheKeyRowsChanged() noexcept {
  g_generation++;
  // What this backend read of its own uncommitted changes (or of what an
  // aborted subtransaction changed) is in no ring: all of it goes.
  if (!KeyChangeRingAttached() || KeyChangesPending()) {
    g_cache.dirty = true;
  } else {
    g_cache.keys_changed = true;
  }
  g_cache.status.invalidations++;
}

CachedKey* VerifyCacheFind(std::string_view lookup, const uint8_t* presented) noexcept {
  Prepare();
  if (g_cache.buckets == 0 || lookup.size() != core::kLookupLen) return nullptr;
  CachedKey* bucket = Bucket(lookup);
  for (uint32_t i = 0; i < g_cache.ways; i++) {
    CachedKey& e = bucket[i];
    if (Live(e) && std::memcmp(e.record.lookup_id, lookup.data(), core::kLookupLen) == 0) {
      if (presented != nullptr && CRYPTO_memcmp(e.record.secret_hash, presented, 32) != 0) break;
      e.last_hit = ++g_cache.tick;
      g_cache.status.hits++;
      CountEvent(StatCounter::CacheHits);
      return &e;
    }
  }
  g_cache.status.misses++;
  CountEvent(StatCounter::CacheMisses);
  return nullptr;
}

CachedKey* VerifyCacheFindById(const core::Uuid& key_id) noexcept {
  Prepare();
  if (g_cache.buckets == 0) return nullptr;
  CachedKey* e = g_cache.by_id[HashId(key_id) % Capacity()];
  if (e != nullptr && Live(*e) && e->record.key_id == key_id) {
    e->last_hit = ++g_cache.tick;
    g_cache.status.hits++;
    CountEvent(StatCounter::CacheHits);
    return e;
  }
  g_cache.status.misses++;
  CountEvent(StatCounter::CacheMisses);
  return nullptr;
}

CachedKey* VerifyCacheStore(const KeyRecord& record, uint64_t generation) noexcept {
  Prepare();
  std::string_view lookup(record.lookup_id, core::kLookupLen);
  if (g_cache.buckets == 0) return nullptr;
  // Something changed while the row was read: what was read may predate it.
  if (generation != g_generation) return nullptr;
  CachedKey* bucket = Bucket(lookup);
  CachedKey* victim = nullptr;
  for (uint32_t i = 0; i < g_cache.ways; i++) {
    CachedKey& e = bucket[i];
    if (Live(e) && std::memcmp(e.record.lookup_id, lookup.data(), core::kLookupLen) == 0) {
      victim = &e;  // a concurrent miss of the same key in this backend cannot happen, but be exact
      break;
    }
    if (!Live(e)) {
      if (victim == nullptr || Live(*victim)) victim = &e;
    } else if (victim == nullptr || (Live(*victim) && e.last_hit < victim->last_hit)) {
      victim = &e;
    }
  }
  if (Live(*victim)) {
    if (std::memcmp(victim->record.lookup_id, lookup.data(), core::kLookupLen) != 0) {
      g_cache.status.evictions++;
      CountEvent(StatCounter::CacheEvictions);
    }
  } else {
    g_cache.status.entries++;
  }
  victim->record = record;
  g_cache.by_id[HashId(record.key_id) % Capacity()] = victim;
  victim->last_hit = ++g_cache.tick;
  victim->last_reported = 0;
  victim->epoch = g_cache.epoch;
  return victim;
}

bool OwnerFactsFind(const uint8_t org[16], const uint8_t* owner, OwnerFacts* out) noexcept {
  if (g_verify_cache_size <= 0) return false;
  const OwnerSlot* slot = OwnerSlotFor(org, owner);
  if (slot->epoch != g_owner_epoch || slot->has_owner != (owner != nullptr) ||
      std::memcmp(slot->org, org, 16) != 0 ||
      (owner != nullptr && std::memcmp(slot->owner, owner, 16) != 0)) {
    return false;
  }
  *out = slot->facts;
  return true;
}

void OwnerFactsStore(const uint8_t org[16], const uint8_t* owner, const OwnerFacts& facts,
                     uint64_t generation) noexcept {
  if (g_verify_cache_size <= 0 || generation != g_generation) return;
  OwnerSlot* slot = OwnerSlotFor(org, owner);
  std::memcpy(slot->org, org, 16);
  slot->has_owner = owner != nullptr;
  if (owner != nullptr) std::memcpy(slot->owner, owner, 16);
  slot->facts = facts;
  slot->epoch = g_owner_epoch;
}

VerifyCacheStatus CurrentVerifyCacheStatus() noexcept {
  Prepare();
  return g_cache.status;
}

}  // namespace insight
