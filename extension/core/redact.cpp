#include "redact.hpp"

#include <cstring>

#include "key_codec.hpp"

namespace insight::core {

namespace {

char Lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool IsDelimiter(unsigned char c) noexcept {
  // c == 0 is caught by the first test: strchr would match the terminator.
  if (c <= 0x20 || c == 0x7F) return true;
  return std::strchr("'\"`,;:()[]{}<>=|&!?*$\\", c) != nullptr;
}

// Length of the prefix (case-insensitive) at text[pos], or 0.
size_t PrefixAt(std::string_view text, size_t pos) noexcept {
  for (std::string_view prefix : {kUserPrefix, kOrgPrefix}) {
    if (text.size() - pos < prefix.size()) continue;
    bool match = true;
    for (size_t i = 0; i < prefix.size() && match; i++) match = Lower(text[pos + i]) == prefix[i];
    if (match) return prefix.size();
  }
  return 0;
}

bool IsHex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

struct Token {
  size_t start = 0;  // the prefix (a digest: its first digit)
  size_t body = 0;   // first body character (a digest: its first digit)
  size_t end = 0;    // one past the last body character
  bool digest = false;
};

// The next secret token at or after pos; false if none. One left-to-right
// pass: a key starts at an 'i'/'I', a digest is a maximal run of exactly
// kDigestHexLen hex digits; neither can hide inside the other's start, since
// 'i' is not a hex digit.
bool NextToken(std::string_view text, size_t pos, Token* tok) noexcept {
  while (pos < text.size()) {
    char c = text[pos];
    if (c == 'i' || c == 'I') {
      size_t plen = PrefixAt(text, pos);
      if (plen != 0) {
        size_t end = pos + plen;
        while (end < text.size() && !IsDelimiter(static_cast<unsigned char>(text[end]))) end++;
        if (end - (pos + plen) >= kMinRedactBody) {
          *tok = {pos, pos + plen, end, false};
          return true;
        }
      }
      // Too short to be a key; a prefix inside it (ik_user_ik_user_...) would
      // have made the body long enough, so moving on by one is safe.
      pos++;
      continue;
    }
    if (IsHex(c) && (pos == 0 || !IsHex(text[pos - 1]))) {
      size_t end = pos;
      while (end < text.size() && IsHex(text[end])) end++;
      if (end - pos == kDigestHexLen) {
        *tok = {pos, pos, end, true};
        return true;
      }
      pos = end;  // hex digits only: no 'i' skipped
      continue;
    }
    pos++;
  }
  return false;
}

}  // namespace

bool MayContainKey(std::string_view text) noexcept {
  Token tok;
  return NextToken(text, 0, &tok);
}

size_t CountKeyTokens(std::string_view text) noexcept {
  size_t n = 0;
  Token tok;
  for (size_t pos = 0; NextToken(text, pos, &tok); pos = tok.end) n++;
  return n;
}

std::string RedactKeys(std::string_view text) {
  std::string out;
  size_t pos = 0;
  Token tok;
  while (NextToken(text, pos, &tok)) {
    if (out.empty()) out.reserve(text.size());
    out.append(text, pos, tok.body - pos);  // up to and including the prefix
    if (tok.digest) {
      out.append(kRedactedDigest);
      pos = tok.end;
      continue;
    }
    for (size_t i = tok.body; i < tok.end && i < tok.body + 4 && IsBase62(text[i]); i++) {
      out.push_back(text[i]);
    }
    out.append(kRedactedSuffix);
    pos = tok.end;
  }
  if (pos == 0) return std::string(text);
  out.append(text, pos, std::string_view::npos);
  return out;
}

size_t MaskKeysInPlace(char* text, size_t len) noexcept {
  std::string_view view(text, len);
  size_t n = 0;
  Token tok;
  for (size_t pos = 0; NextToken(view, pos, &tok); pos = tok.end) {
    for (size_t i = tok.body; i < tok.end; i++) text[i] = '*';
    n++;
  }
  return n;
}

}  // namespace insight::core
