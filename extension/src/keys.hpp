// Key lookups shared by verify(), authenticate() and the principal.
#pragma once

#include <optional>
#include <string_view>

#include "../core/verify_decision.hpp"
#include "key_hash.hpp"
#include "spi_bridge.hpp"

namespace insight {

// Everything verify, authenticate, the session key principal and check know
// about one key: the api_keys row and its owner's state, read in one snapshot
// (key_lookup.cpp) and kept as is in the verify cache. facts.hash_matches and
// facts.expired are per call; the rest is as read.
struct KeyRecord {
  core::Uuid key_id;
  char lookup_id[core::kLookupLen] = {};
  uint8_t secret_hash[32] = {};  // stored SHA-256; all zero (matches nothing) if malformed
  core::Uuid org;
  std::optional<core::Uuid> owner;
  TimestampTz created_at = 0;
  int64_t generation = 0;  // when the row was inserted, in insight.generation_seq's order
  std::optional<TimestampTz> stored_expires_at;  // the row's own expires_at
  std::optional<TimestampTz> expires_at;         // the effective expiry (docs/DESIGN.md)
  core::KeyFacts facts;                          // facts.kind is the key's kind
  core::KeySettings settings;                    // api_keys.settings, parsed once per read

  core::KeyKind kind() const { return facts.kind; }
};

// Verifies key text. Never raises for any input: bad text is MALFORMED before
// any table is touched. record is filled when a row was found.
// *now, when given, receives the time the answer was decided at (unchanged
// for a MALFORMED answer), so a later step of the same request reads the
// clock once.
core::VerifyOutcome VerifyKeyText(std::string_view key, KeyRecord* record,
                                  TimestampTz* now = nullptr);

// Re-checks a key already authenticated in this session (by id, no secret):
// revoked, expired or orphaned keys stop acting at once.
core::VerifyOutcome VerifyKeyId(const core::Uuid& key_id, KeyRecord* record);

// Per backend, from _PG_init: the verify cache's memory and the relcache
// callback that clears it (the settings are in settings.cpp, the shared
// memory for usage tracking is requested by _PG_init).
void InitVerify();

// The key text of argument 0, or nullopt when it cannot be a key (NULL, or a
// size no key has, read from the header without detoasting).
std::optional<std::string_view> KeyTextArgument(FunctionCallInfo fcinfo);

// Whether the text is a key that exists, whatever its state (expired, owner
// gone, ...): the format, the lookup id and the hash (compared in constant
// time) must match. Fills record when true. Never raises for bad text.
bool FindKeyText(std::string_view key, KeyRecord* record);

}  // namespace insight
