// The settings of one key (docs/SECURITY.md, "Narrower keys"): a role ceiling,
// scopes, an address allowlist and a rate limit, parsed once from the stored
// JSON into a fixed-size form that the verify cache can hold by value and
// every request can check without a catalog call. Pure, so every edge is
// unit-tested and fuzzed without a server.
#pragma once
#include "cpp_only.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "permissions.hpp"

namespace insight::core {

// Bounds that keep a cache entry small; configure_key refuses more.
constexpr size_t kMaxScopes = 16;
constexpr size_t kMaxScopeLen = 64;
constexpr size_t kScopeBytes = 256;  // all scopes of a key together
constexpr size_t kMaxCidrs = 8;

struct Cidr {
  uint8_t family = 0;  // 4 or 6
  uint8_t prefix = 0;  // bits
  uint8_t addr[16] = {};
};

// "a.b.c.d/n" or an IPv6 address with "/n"; a bare address is /32 or /128.
// Strict: a host bit set beyond the prefix ("10.0.0.1/8") is refused, because
// the writer then meant something the network part does not say.
bool ParseCidr(std::string_view text, Cidr* out) noexcept;
// A plain IPv4 or IPv6 address (no prefix). family is 4 or 6; addr gets 4 or 16 bytes.
bool ParseAddress(std::string_view text, uint8_t* family, uint8_t addr[16]) noexcept;
// Whether the address is inside the CIDR. An IPv4-mapped IPv6 address
// (::ffff:a.b.c.d) is compared as the IPv4 address it carries.
bool CidrContains(const Cidr& cidr, uint8_t family, const uint8_t* addr) noexcept;

// One scope entry against a requested permission: equal, or the entry ends in
// '*' and the permission starts with what precedes it ("logs:*" matches
// "logs:read" and "logs:", not "logs" or "logsx").
bool ScopeMatches(std::string_view scope, std::string_view permission) noexcept;
// Scope text: 1..kMaxScopeLen bytes of [A-Za-z0-9_.:/-], optionally ending in
// one '*' (also '*' alone).
bool ValidScope(std::string_view scope) noexcept;

struct KeySettings {
  bool invalid = false;  // the stored JSON did not parse: the key fails closed
  bool has_max_role = false;
  Role max_role = Role::OrgAdmin;
  bool has_scopes = false;  // no member: every permission
  uint8_t scope_count = 0;
  uint16_t scope_end[kMaxScopes] = {};  // scope i is [end[i-1], end[i]) of scope_bytes
  char scope_bytes[kScopeBytes] = {};
  bool has_cidrs = false;
  uint8_t cidr_count = 0;
  Cidr cidrs[kMaxCidrs];
  bool has_rate_limit = false;
  int64_t rate_limit = 0;
  int64_t rate_window_us = 0;  // filled by the caller from the window text

  std::string_view Scope(size_t i) const noexcept {
    size_t begin = i == 0 ? 0 : scope_end[i - 1];
    return std::string_view(scope_bytes + begin, scope_end[i] - begin);
  }
};

// No scopes member: true; otherwise whether any entry matches.
bool AnyScopeMatches(const KeySettings& s, std::string_view permission) noexcept;
// No allowed_cidrs member: true; otherwise whether the address is inside one
// (an absent address is inside none).
bool AddressAllowed(const KeySettings& s, bool has_address, uint8_t family,
                    const uint8_t* addr) noexcept;

// Parses settings JSON (an object; what jsonb prints). With allow_null, a
// member may be null (a configure_key patch: null clears it). The rate limit's
// window is returned as text in *window (empty when absent) for the caller to
// read as an interval. On failure returns false with a message for the client.
bool ParseKeySettings(std::string_view json, bool allow_null, KeySettings* out,
                      std::string* window, std::string* error);

}  // namespace insight::core
