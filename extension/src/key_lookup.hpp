// Reading a key and its owner's state by direct index scans: no SPI, no plan,
// no user switch, no row-level security (the extension's own code reads its
// own tables), no lock beyond AccessShareLock, no write. Works on a hot
// standby and in a READ ONLY transaction.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "keys.hpp"

namespace insight {

// Registers the relcache callback that forgets the relation OIDs (when one of
// the tables verify reads changes shape or is dropped) and clears the verify
// cache (when key data changed). Called once per backend from _PG_init.
void InitKeyLookup();

// Reads the key with this lookup id, or with this id, into record; false when
// there is no such row. Each reads in a fresh snapshot taken after the caller
// accepted invalidation messages, so a change committed before the call is
// always seen. facts.hash_matches and facts.expired are left to the caller.
// cacheable is false when the read had to use the statement's snapshot (the
// leader of a parallel query). The relations stay locked (AccessShareLock)
// until the transaction ends, like those of any query.
// With `presented` (the SHA-256 of the presented key), a row whose stored hash
// differs is reported as not found and nothing more is read or cached about
// it, so a wrong secret costs and shows the same as an unknown lookup id.
bool LookupKeyByLookupId(std::string_view lookup_id, KeyRecord* record, bool* cacheable,
                         const uint8_t* presented = nullptr);
bool LookupKeyById(const core::Uuid& key_id, KeyRecord* record, bool* cacheable);

// The relations whose relcache invalidations are the verify cache's signals:
// broad, "key data changed" (insight.cache_inval_keys, InvalidOid before the
// catalog reaches 1.3), and narrow, "these keys changed"
// (insight.cache_inval_key_rows, InvalidOid before 1.4); and where api_keys
// keeps the lookup id.
struct InvalidationTargets {
  Oid broad = InvalidOid;
  Oid narrow = InvalidOid;
  AttrNumber lookup_column = InvalidAttrNumber;
};
InvalidationTargets KeyInvalidationTargets();

// A rate-limit window as PostgreSQL reads the interval text, in microseconds;
// nullopt when it is not an interval, uses months or years, or is under 1 s.
std::optional<int64_t> IntervalMicroseconds(const std::string& text);

// Processes pending invalidation messages (cheap when there are none).
void AcceptInvalidations();

}  // namespace insight
