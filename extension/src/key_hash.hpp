// The one hash of key text, taken by generate (what is stored) and by verify
// (what is presented).
#pragma once

#include <cstdint>
#include <string_view>

namespace insight {

// SHA-256 of the whole key text, as pgcrypto's digest(key, 'sha256') computes it.
void HashKey(std::string_view key, uint8_t out[32]);

}  // namespace insight
