// Key lookups shared by verify(), authenticate() and the principal.
#pragma once

#include <optional>
#include <string_view>

#include "../core/verify_decision.hpp"
#include "spi_bridge.hpp"

namespace insight {

struct KeyRecord {
  core::Uuid key_id;
  core::KeyKind kind = core::KeyKind::User;
  core::Uuid org;
  std::optional<core::Uuid> owner;
  std::optional<TimestampTz> expires_at;  // the effective expiry (docs/DESIGN.md)
  core::KeyFacts facts;
  std::optional<TimestampTz> stored_expires_at;  // the row's own expires_at
  core::KeySettings settings;  // api_keys.settings, parsed once per cache miss
};

// Verifies key text. Never raises for any input: bad text is MALFORMED before
// any table is touched. record is filled when a row was found.
core::VerifyOutcome VerifyKeyText(std::string_view key, KeyRecord* record);

// Re-checks a key already authenticated in this session (by id, no secret):
// revoked, expired or orphaned keys stop acting at once.
core::VerifyOutcome VerifyKeyId(const core::Uuid& key_id, KeyRecord* record);

// Per backend, from _PG_init: the verify cache's memory and the relcache
// callback that clears it (the settings are in settings.cpp, the shared
// memory for usage tracking is requested by _PG_init).
void InitVerify();

// SHA-256 of the whole key text, as pgcrypto's digest(key, 'sha256') computes it.
void HashKey(std::string_view key, uint8_t out[32]);

// The key text of argument 0, or nullopt when it cannot be a key (NULL, or a
// size no key has, read from the header without detoasting).
std::optional<std::string_view> KeyTextArgument(FunctionCallInfo fcinfo);

// Whether the text is a key that exists, whatever its state (expired, owner
// gone, ...): the format, the lookup id and the hash (compared in constant
// time) must match. Fills record when true. Never raises for bad text.
bool FindKeyText(std::string_view key, KeyRecord* record);

}  // namespace insight
