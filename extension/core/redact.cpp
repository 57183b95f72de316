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

size_t MaskKeysKeepingHint(char* text, size_t len) noexcept {
  std::string_view view(text, len);
  size_t n = 0;
  Token tok;
  for (size_t pos = 0; NextToken(view, pos, &tok); pos = tok.end) {
    size_t keep = tok.body;
    if (!tok.digest) {
      while (keep < tok.end && keep < tok.body + 4 && IsBase62(text[keep])) keep++;
    }
    for (size_t i = keep; i < tok.end; i++) text[i] = '*';
    n++;
  }
  return n;
}

namespace {

constexpr std::string_view kConstValue = ":constvalue";

// Where one dumped datum's byte list lies in the text.
struct DatumDump {
  size_t list_start = 0;  // the '['
  size_t list_end = 0;    // one past the ']'
};

// Reads a node dump as the single line nodeToString wrote. A line break the
// formatter inserted is either skipped with the continuation's indentation
// (pretty form, indent > 0: it may split a number) or read as the space it
// replaced (compact form, indent == 0).
class DumpReader {
 public:
  DumpReader(std::string_view text, size_t pos, size_t indent) noexcept
      : text_(text), pos_(pos), indent_(indent) {}

  // The next logical character, or '\0' at the end of the text.
  char Peek() noexcept {
    Settle();
    if (pos_ >= text_.size()) return '\0';
    return text_[pos_] == '\n' ? ' ' : text_[pos_];
  }
  void Next() noexcept {
    Settle();
    if (pos_ < text_.size()) pos_++;
  }
  // Where the next logical character is (after any break before it).
  size_t Position() noexcept {
    Settle();
    return pos_;
  }
  // One past the last character read (no break after it consumed).
  size_t End() const noexcept { return pos_; }

 private:
  void Settle() noexcept {
    if (indent_ == 0) return;
    while (pos_ < text_.size() && text_[pos_] == '\n') {
      pos_++;
      for (size_t i = 0; i < indent_ && pos_ < text_.size() && text_[pos_] == ' '; i++) pos_++;
    }
  }

  std::string_view text_;
  size_t pos_;
  size_t indent_;
};

bool IsDigit(char c) noexcept { return c >= '0' && c <= '9'; }

// Parses the datum dumped after the ":constvalue" at text[at]: "N [ b b ... ]".
// Appends its bytes to *bytes (when bytes != nullptr). False for "<>" (a null
// constant) or anything not of that form.
bool ParseDatumDump(std::string_view text, size_t at, DatumDump* dump, std::string* bytes) {
  size_t line_start = text.rfind('\n', at);
  line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
  size_t indent = 0;
  while (line_start + indent < at && text[line_start + indent] == ' ') indent++;
  if (line_start + indent != at) indent = 0;  // not at the start of its line: compact form
  DumpReader in(text, at + kConstValue.size(), indent);
  auto skip_spaces = [&in]() {
    while (in.Peek() == ' ') in.Next();
  };
  skip_spaces();
  if (!IsDigit(in.Peek())) return false;  // "<>" (a null constant), or not a dump
  while (IsDigit(in.Peek())) in.Next();
  skip_spaces();
  if (in.Peek() != '[') return false;
  dump->list_start = in.Position();
  in.Next();
  for (;;) {
    skip_spaces();
    if (in.Peek() == ']') {
      in.Next();
      dump->list_end = in.End();
      return true;
    }
    bool negative = in.Peek() == '-';
    if (negative) in.Next();
    if (!IsDigit(in.Peek())) return false;
    int value = 0;
    while (IsDigit(in.Peek())) {
      value = value * 10 + (in.Peek() - '0');
      if (value > 255) return false;
      in.Next();
    }
    if (negative && value > 128) return false;
    if (bytes != nullptr) bytes->push_back(static_cast<char>(negative ? -value : value));
  }
}

}  // namespace

bool HasDatumDump(std::string_view text) noexcept {
  return text.find(kConstValue) != std::string_view::npos;
}

std::string RedactDatumDumps(std::string_view text) {
  std::string out;
  size_t copied = 0;  // text before this offset is in out
  std::string bytes;
  size_t at = text.find(kConstValue);
  while (at != std::string_view::npos) {
    DatumDump dump;
    bytes.clear();
    size_t next = at + kConstValue.size();
    if (ParseDatumDump(text, at, &dump, &bytes) && MayContainKey(bytes)) {
      MaskKeysKeepingHint(bytes.data(), bytes.size());
      if (out.empty()) out.reserve(text.size());
      out.append(text, copied, dump.list_start - copied);
      out.append("[ ");
      for (char b : bytes) {
        out.append(std::to_string(static_cast<int>(static_cast<signed char>(b))));
        out.push_back(' ');
      }
      out.push_back(']');
      copied = dump.list_end;
      next = dump.list_end;
    }
    at = text.find(kConstValue, next);
  }
  if (copied == 0) return std::string(text);
  out.append(text, copied, std::string_view::npos);
  return out;
}

size_t MaskDatumDumpsInPlace(char* text, size_t len) noexcept {
  std::string_view view(text, len);
  size_t n = 0;
  for (size_t at = view.find(kConstValue); at != std::string_view::npos;
       at = view.find(kConstValue, at + kConstValue.size())) {
    DatumDump dump;
    // Without a byte buffer the parse allocates nothing, so cannot throw.
    if (!ParseDatumDump(view, at, &dump, nullptr)) continue;
    for (size_t i = dump.list_start; i < dump.list_end; i++) {
      if (IsDigit(text[i])) text[i] = '*';
    }
    n++;
  }
  return n;
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
