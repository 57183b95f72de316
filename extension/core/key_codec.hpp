// The API key format (docs/KEY_FORMAT.md):
//
//   ik_user_<lookup:16>_<secret:43><checksum:6>     user key
//   ik_org_<lookup:16>_<secret:43><checksum:6>      organization key
//
// lookup and secret are base62 ([0-9A-Za-z]) drawn uniformly from a CSPRNG;
// 43 base62 characters carry 256 bits. checksum is the CRC-32 (IEEE) of every
// character before it, written as 6 fixed-width base62 digits, so a typo or
// garbage is rejected without touching a table.
#pragma once
#include "cpp_only.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace insight::core {

enum class KeyKind : uint8_t { User, Organization };

inline constexpr std::string_view kUserPrefix = "ik_user_";
inline constexpr std::string_view kOrgPrefix = "ik_org_";
inline constexpr size_t kLookupLen = 16;
inline constexpr size_t kSecretLen = 43;
inline constexpr size_t kChecksumLen = 6;
// Everything after the prefix: lookup, '_', secret, checksum.
inline constexpr size_t kBodyLen = kLookupLen + 1 + kSecretLen + kChecksumLen;
inline constexpr size_t kUserKeyLen = kUserPrefix.size() + kBodyLen;
inline constexpr size_t kOrgKeyLen = kOrgPrefix.size() + kBodyLen;
inline constexpr size_t kMinKeyLen = kOrgKeyLen;
inline constexpr size_t kMaxKeyLen = kUserKeyLen;

// Fills buf with len cryptographically strong random bytes; false on failure.
using RandomFill = bool (*)(void* buf, size_t len);

struct ParsedKey {
  KeyKind kind = KeyKind::User;
  std::string_view lookup_id;  // a view into the parsed text
};

// Pure, allocation-free and total: any input gives true or false, never throws.
bool ParseKey(std::string_view text, ParsedKey* out) noexcept;

// A new key of the given kind. Throws std::runtime_error if random fails.
std::string GenerateKey(KeyKind kind, RandomFill random);

// What the views show: the prefix, the first 4 lookup characters and the last
// 4 characters (checksum digits). Not enough to use or guess the key.
std::string MakeHint(std::string_view key);

std::string_view KindName(KeyKind kind) noexcept;  // "user" / "organization"
// The inverse, for api_keys.kind (whose CHECK allows only those two names):
// "organization" is Organization, anything else User.
KeyKind KindFromName(std::string_view name) noexcept;
std::string_view PrefixOf(KeyKind kind) noexcept;

// Building blocks, exposed for the unit tests.
uint32_t Crc32(std::string_view data) noexcept;
bool IsBase62(char c) noexcept;
// value written as exactly `width` base62 digits, most significant first;
// false if it does not fit.
bool Base62EncodeFixed(uint64_t value, size_t width, char* out) noexcept;
// false on a non-base62 digit or overflow of 64 bits.
bool Base62Decode(std::string_view digits, uint64_t* value) noexcept;
// n characters drawn uniformly from the base62 alphabet (rejection sampling).
std::string RandomBase62(size_t n, RandomFill random);

}  // namespace insight::core
