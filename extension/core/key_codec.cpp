#include "key_codec.hpp"

#include <array>
#include <stdexcept>

namespace insight::core {

namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

// Digit value of every byte, -1 for non-digits: one load per character on
// the verify path (ParseKey runs on every call, before any table access).
constexpr std::array<int8_t, 256> MakeDigitTable() {
  std::array<int8_t, 256> table{};
  for (int i = 0; i < 256; i++) table[i] = -1;
  for (int i = 0; i < 62; i++) table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return table;
}
constexpr std::array<int8_t, 256> kDigitTable = MakeDigitTable();

inline int Base62Value(char c) noexcept { return kDigitTable[static_cast<unsigned char>(c)]; }

bool AllBase62(std::string_view s) noexcept {
  for (char c : s) {
    if (Base62Value(c) < 0) return false;
  }
  return true;
}

std::string ChecksumDigits(std::string_view covered) {
  char digits[kChecksumLen];
  Base62EncodeFixed(Crc32(covered), kChecksumLen, digits);  // 62^6 > 2^32: always fits
  return std::string(digits, kChecksumLen);
}

}  // namespace

uint32_t Crc32(std::string_view data) noexcept {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char ch : data) crc = kCrcTable[(crc ^ ch) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

bool IsBase62(char c) noexcept { return Base62Value(c) >= 0; }

bool Base62EncodeFixed(uint64_t value, size_t width, char* out) noexcept {
  for (size_t i = width; i > 0; i--) {
    out[i - 1] = kAlphabet[value % 62];
    value /= 62;
  }
  return value == 0;
}

bool Base62Decode(std::string_view digits, uint64_t* value) noexcept {
  uint64_t v = 0;
  for (char c : digits) {
    int d = Base62Value(c);
    if (d < 0) return false;
    if (v > (UINT64_MAX - static_cast<uint64_t>(d)) / 62) return false;
    v = v * 62 + static_cast<uint64_t>(d);
  }
  *value = v;
  return true;
}

std::string RandomBase62(size_t n, RandomFill random) {
  std::string out;
  out.reserve(n);
  unsigned char buf[64];
  while (out.size() < n) {
    if (!random(buf, sizeof buf)) throw std::runtime_error("could not generate random bytes");
    for (unsigned char b : buf) {
      // 248 = 4 * 62: accepting only bytes below it keeps every digit equally likely.
      if (b < 248 && out.size() < n) out.push_back(kAlphabet[b % 62]);
    }
  }
  return out;
}

std::string_view KindName(KeyKind kind) noexcept {
  return kind == KeyKind::User ? "user" : "organization";
}

KeyKind KindFromName(std::string_view name) noexcept {
  return name == "organization" ? KeyKind::Organization : KeyKind::User;
}

std::string_view PrefixOf(KeyKind kind) noexcept {
  return kind == KeyKind::User ? kUserPrefix : kOrgPrefix;
}

std::string GenerateKey(KeyKind kind, RandomFill random) {
  std::string key(PrefixOf(kind));
  key += RandomBase62(kLookupLen, random);
  key += '_';
  key += RandomBase62(kSecretLen, random);
  key += ChecksumDigits(key);
  return key;
}

bool ParseKey(std::string_view text, ParsedKey* out) noexcept {
  KeyKind kind;
  if (text.size() == kUserKeyLen && text.substr(0, kUserPrefix.size()) == kUserPrefix) {
    kind = KeyKind::User;
  } else if (text.size() == kOrgKeyLen && text.substr(0, kOrgPrefix.size()) == kOrgPrefix) {
    kind = KeyKind::Organization;
  } else {
    return false;
  }
  std::string_view body = text.substr(PrefixOf(kind).size());
  std::string_view lookup = body.substr(0, kLookupLen);
  if (body[kLookupLen] != '_') return false;
  std::string_view rest = body.substr(kLookupLen + 1);  // secret + checksum
  if (!AllBase62(lookup) || !AllBase62(rest)) return false;

  uint64_t stored = 0;
  if (!Base62Decode(rest.substr(kSecretLen), &stored)) return false;
  if (stored != Crc32(text.substr(0, text.size() - kChecksumLen))) return false;

  out->kind = kind;
  out->lookup_id = lookup;
  return true;
}

std::string MakeHint(std::string_view key) {
  ParsedKey parsed;
  if (!ParseKey(key, &parsed)) return "?";
  std::string hint(PrefixOf(parsed.kind));
  hint += parsed.lookup_id.substr(0, 4);
  hint += "...";
  hint += key.substr(key.size() - 4);
  return hint;
}

}  // namespace insight::core
