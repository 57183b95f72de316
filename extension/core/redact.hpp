// Finding and hiding API keys in free text (log lines, statements, details).
//
// What counts as key material — deliberately more than a valid key: a token
// that starts with a key prefix ("ik_user_" or "ik_org_", matched without
// regard to case) and continues with at least kMinRedactBody characters that
// are not delimiters. The checksum is NOT checked: a key with a typo, a
// truncated key, a key with a homoglyph or a stray character in it is still
// (most of) a secret, so it is hidden too. A token runs until a delimiter:
// ASCII whitespace or control characters and  ' " ` , ; : ( ) [ ] { } < > = |
// & ! ? * $ \  — so a key inside a quoted literal, a dollar-quoted body, a
// JSON string or an "a=b" pair ends where the literal ends. Bytes >= 0x80 are
// never delimiters: every server encoding is ASCII-safe (multibyte sequences
// use only bytes >= 0x80), so a token never ends inside a character.
//
// Redacted form: the prefix as written, up to the first 4 base62 characters of
// the lookup id (public, and what insight.keys.hint shows), then
// "...[REDACTED]". That form is itself not key material (at most 7 body
// characters), so redacting twice changes nothing.
//
// Digests: a run of exactly 64 hex digits (a SHA-256, as the stored
// secret_hash prints in hex, e.g. a bytea constant in an auto_explain VERBOSE
// plan of the extension's INSERT) is replaced by "[REDACTED-SHA256]". Longer or
// shorter hex runs are left alone.
//
// Not covered: a key re-encoded before it reaches the text (hex, base64,
// split across two literals), a digest printed as bytea in escape format
// (bytea_output = escape).
#pragma once
#include "cpp_only.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace insight::core {

// Body characters a token needs after its prefix to count as key material.
// Fewer than a lookup id: "ik_user_" alone, or followed by a short word, is
// prose about the format, not a key.
inline constexpr size_t kMinRedactBody = 8;
inline constexpr std::string_view kRedactedSuffix = "...[REDACTED]";
inline constexpr size_t kDigestHexLen = 64;
inline constexpr std::string_view kRedactedDigest = "[REDACTED-SHA256]";

// Allocation-free pre-check: false means RedactKeys(text) == text.
bool MayContainKey(std::string_view text) noexcept;

// text with every key-material token and digest replaced by its redacted form.
// May throw std::bad_alloc.
std::string RedactKeys(std::string_view text);

// The fallback when no memory can be had: overwrites the body of every
// key-material token, and every digest, with '*' in place (same length). Returns how many tokens
// were masked.
size_t MaskKeysInPlace(char* text, size_t len) noexcept;

// Number of key-material tokens and digests in text.
size_t CountKeyTokens(std::string_view text) noexcept;

// Same length, in place, for a buffer whose byte offsets must stay valid (a
// statement text whose parse tree records locations): the prefix and the
// first 4 base62 characters of the body stay (what RedactKeys keeps), the rest
// of the body becomes '*'; a digest becomes 64 '*'. The result holds no key
// material ('*' is a delimiter). Returns how many tokens were masked.
size_t MaskKeysKeepingHint(char* text, size_t len) noexcept;

// Node dumps (debug_print_parse, debug_print_rewritten, debug_print_plan)
// print a constant as its datum's bytes in decimal: ":constvalue 78 [ 56 1 0 0
// 105 107 ... ]" (signed chars, so bytes >= 0x80 print negative). The pretty
// form breaks lines at column 78, even inside a number, and indents the
// continuation by the indentation of the ":constvalue" line; the compact form
// breaks at a space. Both are decoded.
//
// True when text holds such a dump at all (a cheap pre-check).
bool HasDatumDump(std::string_view text) noexcept;

// text with the byte list of every dumped datum whose bytes hold key material
// (as MayContainKey sees it) rewritten, on one line, with those bytes masked
// as MaskKeysKeepingHint does. Other datums and all other text are unchanged.
// May throw std::bad_alloc.
std::string RedactDatumDumps(std::string_view text);

// The fallback when no memory can be had: every digit of every dumped datum's
// byte list becomes '*', in place. Returns how many lists were masked.
size_t MaskDatumDumpsInPlace(char* text, size_t len) noexcept;

}  // namespace insight::core
