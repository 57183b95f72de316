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
  std::optional<TimestampTz> expires_at;
  core::KeyFacts facts;
  core::KeySettings settings;  // api_keys.settings, parsed once per cache miss
};

// Verifies key text. Never raises for any input: bad text is MALFORMED before
// any table is touched. record is filled when a row was found.
core::VerifyOutcome VerifyKeyText(std::string_view key, KeyRecord* record);

// Re-checks a key already authenticated in this session (by id, no secret):
// revoked, expired or orphaned keys stop acting at once.
core::VerifyOutcome VerifyKeyId(const core::Uuid& key_id, KeyRecord* record);

// Settings (insight.verify_cache_size, insight.last_used_*), the relcache
// callback and, when preloading, the shared memory for usage tracking. Called
// from _PG_init before the insight.* prefix is reserved.
void InitVerify(bool preloading);

// SHA-256 of the whole key text, as pgcrypto's digest(key, 'sha256') computes it.
void HashKey(std::string_view key, uint8_t out[32]);

}  // namespace insight
