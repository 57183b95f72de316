// The backend-local cache of verified keys (docs/PERFORMANCE.md, "Verify").
//
// Holds KeyRecords (the stored SHA-256 of the secret and the facts read about
// the key's owner, never the key itself), found by lookup id (verify) or by
// key id (the session key principal). Bounded by insight.verify_cache_size
// entries. Two signals reach it (cache_invalidation.cpp, key_changes.hpp):
// "these keys changed" (a relcache invalidation of
// insight.cache_inval_key_rows, sent at commit by the row trigger on
// api_keys) drops those keys' entries; "key data changed" (one of
// insight.cache_inval_keys, sent by the statement triggers on users,
// memberships, organizations and org_policies_t and by TRUNCATE of api_keys)
// and any change of the relations themselves clear everything. Every reader
// calls AcceptInvalidationMessages() before looking here.
#pragma once

#include <cstdint>
#include <string_view>

#include "keys.hpp"

namespace insight {

extern int g_verify_cache_size;

struct CachedKey {
  KeyRecord record;               // facts.hash_matches and facts.expired are recomputed per hit
  uint64_t last_hit = 0;          // LRU tick within the bucket
  TimestampTz last_reported = 0;  // when this backend last recorded a use in shared memory
  uint64_t epoch = 0;             // live only while equal to the cache's epoch (0: never)
};

struct VerifyCacheStatus {
  int64_t capacity = 0;
  int64_t entries = 0;
  int64_t hits = 0;
  int64_t misses = 0;
  int64_t evictions = 0;
  int64_t invalidations = 0;
  int64_t memory_bytes = 0;  // what the slots take, allocated once per size change
};

// Creates the cache's memory context; once per backend, from _PG_init.
void InitVerifyCache();

// Bumped by every invalidation. A lookup records it before taking its
// snapshot and stores its result only if it is unchanged afterwards, so an
// invalidation processed during the lookup (e.g. by a lock acquisition) can
// never leave a stale entry behind.
uint64_t VerifyCacheGeneration() noexcept;

// Callable from a relcache callback: sets a flag, frees nothing.
// Everything goes: every key and the owner facts (a change of users,
// memberships, organizations or policies, or of the relations themselves).
void VerifyCacheInvalidate() noexcept;

// Callable from a relcache callback, likewise: some api_keys rows changed.
// The entries of the keys the shared ring names go before the next use
// (key_changes.hpp); every key entry when it cannot say, or when this
// backend's own transaction changed keys. The owner facts stay.
void VerifyCacheKeyRowsChanged() noexcept;

// The entry for lookup_id, or nullptr. Counts a hit or a miss. With
// `presented` (the SHA-256 of the presented key), an entry whose stored hash
// differs is not this key: it counts and answers as a miss, exactly like an
// unknown lookup id.
CachedKey* VerifyCacheFind(std::string_view lookup_id, const uint8_t* presented = nullptr) noexcept;

// The entry of the key with this id, or nullptr; counts a hit or a miss. For
// the session key principal, whose secret was proven when it authenticated.
CachedKey* VerifyCacheFindById(const core::Uuid& key_id) noexcept;

// Remembers a key read at `generation` under its lookup id (and its id);
// returns the entry or nullptr when the cache is disabled or the generation
// moved on.
CachedKey* VerifyCacheStore(const KeyRecord& record, uint64_t generation) noexcept;

VerifyCacheStatus CurrentVerifyCacheStatus() noexcept;

// What a cache miss needs besides the key row: the organization, the owner and
// the owner's membership. Many keys share an owner, so these are cached too
// (1024 slots, no allocation), under the same generation rule and invalidation;
// a miss then costs one index probe instead of four. Off when
// insight.verify_cache_size = 0.
struct OwnerFacts {
  bool org_exists = false;
  bool owner_exists = false;
  bool owner_admin = false;
  core::Role role = core::Role::None;
  int64_t member_generation = 0;  // memberships.generation: the keys it covers start there
  // The organization's max_key_lifetime (org_policies_t), read with these
  // facts: a key's effective expiry is created_at + it, at most.
  bool has_max_lifetime = false;
  int64_t lifetime_usecs = 0;
  int32_t lifetime_days = 0;
  int32_t lifetime_months = 0;
};
bool OwnerFactsFind(const uint8_t org[16], const uint8_t* owner, OwnerFacts* out) noexcept;
void OwnerFactsStore(const uint8_t org[16], const uint8_t* owner, const OwnerFacts& facts,
                     uint64_t generation) noexcept;

}  // namespace insight
