// libFuzzer harness over the pure core on the path every request takes:
// verify's argument check (size bounds, then ParseKey, then DecideVerify), the
// key codec (ParseKey, MakeHint, Base62Decode, Base62EncodeFixed) and the log
// redaction (RedactKeys, MaskKeysInPlace), and a key's settings (the scope
// matcher, the CIDR and address parsers, the settings JSON parser). Built with ASan + UBSan by
// tests/fuzz/run.sh; every check below is an invariant, so a failure aborts
// and libFuzzer saves the input.
//
// A random input almost never carries a correct CRC, so each input is also
// tried with its last 6 characters replaced by the right checksum: that drives
// ParseKey's accepting path and gives a differential oracle (an independent
// shape check below must agree with ParseKey exactly).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "key_codec.hpp"
#include "key_settings.hpp"
#include "permissions.hpp"
#include "redact.hpp"
#include "verify_decision.hpp"

using namespace insight::core;

namespace {

#define FUZZ_CHECK(cond)                                                             \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      fprintf(stderr, "invariant failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                       \
    }                                                                                \
  } while (0)

bool B62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// The documented shape (docs/KEY_FORMAT.md), written independently of
// key_codec.cpp: prefix, 16 base62, '_', 49 base62 (secret + checksum).
bool ShapeOk(std::string_view s, size_t* prefix_len) {
  size_t p;
  if (s.size() == 8 + 66 && s.substr(0, 8) == "ik_user_") {
    p = 8;
  } else if (s.size() == 7 + 66 && s.substr(0, 7) == "ik_org_") {
    p = 7;
  } else {
    return false;
  }
  for (size_t i = p; i < s.size(); i++) {
    if (i == p + 16) {
      if (s[i] != '_') return false;
    } else if (!B62(s[i])) {
      return false;
    }
  }
  *prefix_len = p;
  return true;
}

// verify()'s decision for this text, as keys_verify.cpp takes it: the size
// check first (a 100 MB argument is never parsed), then the codec, then the
// facts of the row (drawn from the input bytes here).
void VerifyPath(std::string_view text, const uint8_t* data, size_t size) {
  bool sized = text.size() >= kMinKeyLen && text.size() <= kMaxKeyLen;
  ParsedKey parsed;
  bool ok = sized && ParseKey(text, &parsed);
  uint8_t b0 = size > 0 ? data[0] : 0, b1 = size > 1 ? data[1] : 0;
  KeyFacts facts;
  facts.kind = ok ? parsed.kind : KeyKind::User;
  facts.hash_matches = b0 & 1;
  facts.expired = b0 & 2;
  facts.org_exists = b0 & 4;
  facts.owner_exists = b0 & 8;
  facts.owner_platform_admin = b0 & 16;
  facts.owner_role = static_cast<Role>(b1 % 4);
  VerifyOutcome out =
      ok ? DecideVerify((b0 & 32) != 0, facts) : VerifyOutcome{VerifyCode::Malformed, {}};
  std::string_view name = VerifyCodeName(out.code);
  FUZZ_CHECK(!name.empty());
  if (out.code == VerifyCode::Valid) {
    FUZZ_CHECK(ok && facts.hash_matches && !facts.expired && facts.org_exists && !out.role.empty());
  } else {
    FUZZ_CHECK(out.role.empty());
  }
  if (!ok) FUZZ_CHECK(out.code == VerifyCode::Malformed);
}

void CodecChecks(std::string_view text) {
  ParsedKey parsed;
  size_t plen = 0;
  bool ok = ParseKey(text, &parsed);
  bool shape = ShapeOk(text, &plen);
  if (ok) {
    FUZZ_CHECK(shape);
    FUZZ_CHECK(parsed.lookup_id.data() == text.data() + plen && parsed.lookup_id.size() == 16);
    FUZZ_CHECK(parsed.kind == (plen == 8 ? KeyKind::User : KeyKind::Organization));
    uint64_t stored = 0;
    FUZZ_CHECK(Base62Decode(text.substr(text.size() - 6), &stored));
    FUZZ_CHECK(stored == Crc32(text.substr(0, text.size() - 6)));
    std::string hint = MakeHint(text);
    FUZZ_CHECK(hint == std::string(text.substr(0, plen + 4)) + "..." +
                           std::string(text.substr(text.size() - 4)));
    // The redacted form and the hint never carry the secret.
    std::string secret(text.substr(plen + 17, kSecretLen));
    FUZZ_CHECK(hint.find(secret.substr(0, 8)) == std::string::npos);
    std::string red = RedactKeys("x '" + std::string(text) + "' y");
    FUZZ_CHECK(red.find(secret.substr(0, 8)) == std::string::npos);
    FUZZ_CHECK(red.find("[REDACTED]") != std::string::npos);
  } else {
    FUZZ_CHECK(MakeHint(text) == "?");
  }
}

// Settings: the parsers never read out of bounds, accept only what their
// invariants allow, and the matchers agree with them.
void SettingsChecks(std::string_view text) {
  Cidr cidr;
  if (ParseCidr(text, &cidr)) {
    FUZZ_CHECK(cidr.family == 4 || cidr.family == 6);
    FUZZ_CHECK(cidr.prefix <= (cidr.family == 4 ? 32 : 128));
    // The network address lies inside its own CIDR.
    FUZZ_CHECK(CidrContains(cidr, cidr.family, cidr.addr));
  }
  uint8_t family = 0, addr[16];
  if (ParseAddress(text, &family, addr)) {
    FUZZ_CHECK(family == 4 || family == 6);
    Cidr host;
    FUZZ_CHECK(ParseCidr(text, &host) && host.prefix == (family == 4 ? 32 : 128));
    FUZZ_CHECK(CidrContains(host, family, addr));
  }
  // A scope matches itself; split the input into scope and permission at the
  // first NUL-free '|' to exercise every pair.
  FUZZ_CHECK(ScopeMatches(text, text));
  size_t bar = text.find('|');
  if (bar != std::string_view::npos) {
    std::string_view scope = text.substr(0, bar), permission = text.substr(bar + 1);
    bool match = ScopeMatches(scope, permission);
    if (scope.empty() || scope.back() != '*') FUZZ_CHECK(match == (scope == permission));
    if (match && !scope.empty() && scope.back() == '*') {
      FUZZ_CHECK(permission.substr(0, scope.size() - 1) == scope.substr(0, scope.size() - 1));
    }
  }
  for (bool allow_null : {false, true}) {
    KeySettings settings;
    std::string window, error;
    if (ParseKeySettings(text, allow_null, &settings, &window, &error)) {
      FUZZ_CHECK(settings.scope_count <= kMaxScopes && settings.cidr_count <= kMaxCidrs);
      for (size_t i = 0; i < settings.scope_count; i++) FUZZ_CHECK(ValidScope(settings.Scope(i)));
      FUZZ_CHECK(!settings.has_rate_limit || (settings.rate_limit >= 1 && !window.empty()));
    } else {
      FUZZ_CHECK(!error.empty());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  // 1. The input as it comes.
  CodecChecks(text);
  VerifyPath(text, data, size);
  SettingsChecks(text);

  // 2. The input with its checksum made right: ParseKey must accept exactly
  //    the documented shape.
  if (size >= kChecksumLen) {
    std::string fixed(text);
    char digits[kChecksumLen];
    FUZZ_CHECK(Base62EncodeFixed(Crc32(std::string_view(fixed).substr(0, size - kChecksumLen)),
                                 kChecksumLen, digits));
    memcpy(fixed.data() + size - kChecksumLen, digits, kChecksumLen);
    size_t plen;
    ParsedKey parsed;
    FUZZ_CHECK(ParseKey(fixed, &parsed) == ShapeOk(fixed, &plen));
    CodecChecks(fixed);
    VerifyPath(fixed, data, size);
  }

  // 3. Base62 round trip.
  uint64_t value = 0;
  if (Base62Decode(text, &value)) {
    char buf[11];
    FUZZ_CHECK(Base62EncodeFixed(value, sizeof buf, buf));
    uint64_t again = 0;
    FUZZ_CHECK(Base62Decode(std::string_view(buf, sizeof buf), &again) && again == value);
    for (char c : text) FUZZ_CHECK(B62(c));
  }

  // 4. Redaction: nothing key-shaped survives, redacting twice is a no-op,
  //    masking keeps the length.
  std::string red = RedactKeys(text);
  FUZZ_CHECK(CountKeyTokens(red) == 0 && !MayContainKey(red));
  FUZZ_CHECK(RedactKeys(red) == red);
  FUZZ_CHECK(MayContainKey(text) == (CountKeyTokens(text) > 0));
  FUZZ_CHECK(MayContainKey(text) || red == text);
  std::string masked(text);
  size_t n = MaskKeysInPlace(masked.data(), masked.size());
  FUZZ_CHECK(n == CountKeyTokens(text) && masked.size() == size && CountKeyTokens(masked) == 0);
  std::string hinted(text);
  n = MaskKeysKeepingHint(hinted.data(), hinted.size());
  FUZZ_CHECK(n == CountKeyTokens(text) && hinted.size() == size && CountKeyTokens(hinted) == 0);

  // 5. Node dumps: decoding never reads past the text, redacting a dump
  //    twice is a no-op, and the in-place fallback keeps the length.
  std::string dumps = "{CONST :constvalue " + std::string(text) + " }";
  std::string dumps_red = RedactDatumDumps(dumps);
  FUZZ_CHECK(RedactDatumDumps(dumps_red) == dumps_red);
  FUZZ_CHECK(HasDatumDump(dumps) && HasDatumDump(dumps_red));
  std::string dumps_masked = dumps;
  MaskDatumDumpsInPlace(dumps_masked.data(), dumps_masked.size());
  FUZZ_CHECK(dumps_masked.size() == dumps.size());
  return 0;
}
