// Redaction of key material in free text (extension/core/redact.hpp): what the
// emit_log_hook applies to every log field before it is written.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fake_random.hpp"
#include "key_codec.hpp"
#include "redact.hpp"

namespace insight::core {
namespace {

using insight_test::ResetFakeRandom;
using insight_test::SplitMixBytes;

std::string NewKey(KeyKind kind, uint64_t seed) {
  ResetFakeRandom(seed);
  return GenerateKey(kind, SplitMixBytes);
}

// The redacted form the header documents, built independently of the code.
std::string Expected(const std::string& key) {
  size_t plen = key.rfind("ik_org_", 0) == 0 ? 7 : 8;
  return key.substr(0, plen + 4) + "...[REDACTED]";
}

TEST(Redact, ValidUserKeyAlone) {
  std::string key = NewKey(KeyKind::User, 1);
  EXPECT_EQ(RedactKeys(key), Expected(key));
  EXPECT_EQ(CountKeyTokens(key), 1u);
  EXPECT_TRUE(MayContainKey(key));
}

TEST(Redact, ValidOrgKeyInsideAStatement) {
  std::string key = NewKey(KeyKind::Organization, 2);
  std::string stmt = "SELECT * FROM insight.authenticate('" + key + "');";
  EXPECT_EQ(RedactKeys(stmt), "SELECT * FROM insight.authenticate('" + Expected(key) + "');");
}

TEST(Redact, EveryDelimiterEndsTheToken) {
  std::string key = NewKey(KeyKind::User, 3);
  for (char d : std::string(" \t\n\r'\"`,;:()[]{}<>=|&!?*$\\")) {
    std::string text = key + d + "tail";
    EXPECT_EQ(RedactKeys(text), Expected(key) + d + "tail") << "delimiter " << int(d);
  }
}

TEST(Redact, SeveralKeysAndTextBetween) {
  std::string a = NewKey(KeyKind::User, 4), b = NewKey(KeyKind::Organization, 5);
  std::string text = "parameters: $1 = '" + a + "', $2 = '" + b + "'";
  EXPECT_EQ(RedactKeys(text), "parameters: $1 = '" + Expected(a) + "', $2 = '" + Expected(b) + "'");
  EXPECT_EQ(CountKeyTokens(text), 2u);
}

// A near miss is still a secret: wrong checksum, a typo, truncation, extra
// characters, a non-ASCII homoglyph — all hidden.
TEST(Redact, NearMissKeysAreRedactedToo) {
  std::string key = NewKey(KeyKind::User, 6);
  std::vector<std::string> near = {
      key.substr(0, key.size() - 1) + (key.back() == 'a' ? "b" : "a"),  // checksum off
      key.substr(0, 40),                                                // truncated
      key + "XYZ",                                                      // too long
      key.substr(0, 30) + "\xD0\xB0" + key.substr(31),                  // Cyrillic a
      key.substr(0, 30) + "-" + key.substr(31),                         // stray dash
      "IK_USER_" + key.substr(8),                                       // shouted prefix
  };
  for (const std::string& n : near) {
    std::string out = RedactKeys(n);
    EXPECT_EQ(out.find(key.substr(30, 20)), std::string::npos) << n;
    EXPECT_NE(out.find("[REDACTED]"), std::string::npos) << n;
  }
}

TEST(Redact, ProseAboutTheFormatIsLeftAlone) {
  for (std::string text :
       {std::string("keys start with ik_user_ or ik_org_."), std::string("ik_user_short"),
        std::string("ik_org_1234567"), std::string("no keys here"), std::string(""),
        std::string("ik_use"), std::string("i")}) {
    EXPECT_EQ(RedactKeys(text), text);
    EXPECT_FALSE(MayContainKey(text)) << text;
    EXPECT_EQ(CountKeyTokens(text), 0u);
  }
}

TEST(Redact, ShortestRedactedBodyIsEight) {
  EXPECT_EQ(RedactKeys("ik_user_1234567"), "ik_user_1234567");
  EXPECT_EQ(RedactKeys("ik_user_12345678"), "ik_user_1234...[REDACTED]");
}

TEST(Redact, LookupPrefixCopiesOnlyBase62) {
  EXPECT_EQ(RedactKeys("ik_org_ab.cdefghijk"), "ik_org_ab...[REDACTED]");
  EXPECT_EQ(RedactKeys("ik_org_-abcdefghijk"), "ik_org_...[REDACTED]");
}

TEST(Redact, PrefixInsideAWordStillCounts) {
  std::string key = NewKey(KeyKind::User, 7);
  EXPECT_EQ(RedactKeys("x" + key), "x" + Expected(key));
  EXPECT_EQ(RedactKeys("ik_ik_user_" + key.substr(8)), "ik_" + Expected(key));
}

TEST(Redact, Idempotent) {
  std::string a = NewKey(KeyKind::User, 8), b = NewKey(KeyKind::Organization, 9);
  std::string once = RedactKeys("k=" + a + " " + b + " " + a.substr(0, 30));
  EXPECT_EQ(RedactKeys(once), once);
  EXPECT_FALSE(MayContainKey(once));
}

TEST(Redact, MaskInPlaceKeepsLengthAndHidesBody) {
  std::string key = NewKey(KeyKind::Organization, 10);
  std::string text = "E'" + key + "' and " + key;
  std::string masked = text;
  EXPECT_EQ(MaskKeysInPlace(masked.data(), masked.size()), 2u);
  ASSERT_EQ(masked.size(), text.size());
  std::string stars(key.size() - 7, '*');
  EXPECT_EQ(masked, "E'ik_org_" + stars + "' and ik_org_" + stars);
  EXPECT_FALSE(MayContainKey(masked));
  EXPECT_EQ(MaskKeysInPlace(masked.data(), masked.size()), 0u);
}

TEST(Redact, EmbeddedNulIsADelimiter) {
  std::string key = NewKey(KeyKind::User, 11);
  std::string text = key.substr(0, 20) + std::string(1, '\0') + key.substr(20);
  std::string out = RedactKeys(text);
  EXPECT_EQ(out, key.substr(0, 12) + "...[REDACTED]" + std::string(1, '\0') + key.substr(20));
}

TEST(Redact, Sha256DigestsAreRedacted) {
  std::string hex = "48bd6c6da7682e6fd586d527842c94e13d0a1bdcd3d46df63335497e8ccb4dd8";
  EXPECT_EQ(RedactKeys("'\\x" + hex + "'::bytea"), "'\\x[REDACTED-SHA256]'::bytea");
  EXPECT_EQ(RedactKeys(hex), "[REDACTED-SHA256]");
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(toupper(c));
  EXPECT_EQ(RedactKeys("h=" + upper + "."), "h=[REDACTED-SHA256].");
  EXPECT_EQ(CountKeyTokens(hex + " " + hex), 2u);
  // Not 64 digits: an LSN, a uuid, a longer blob stay.
  for (std::string text : {hex.substr(1), hex + "0", std::string("0/16B3748"),
                           std::string("5c7b7a80-ebf5-463a-8152-dc539c79dca9")}) {
    EXPECT_EQ(RedactKeys(text), text);
    EXPECT_FALSE(MayContainKey(text));
  }
  std::string masked = "x" + hex + "y";
  EXPECT_EQ(MaskKeysInPlace(masked.data(), masked.size()), 1u);
  EXPECT_EQ(masked, "x" + std::string(64, '*') + "y");
}

TEST(Redact, DigestAndKeyTogether) {
  std::string key = NewKey(KeyKind::User, 12);
  std::string hex(64, 'a');
  EXPECT_EQ(RedactKeys(key + " " + hex), Expected(key) + " [REDACTED-SHA256]");
  EXPECT_EQ(RedactKeys("ik_user_" + hex), "ik_user_aaaa...[REDACTED]");
}

TEST(Redact, MaskKeepingHintKeepsLengthAndTheHint) {
  std::string key = NewKey(KeyKind::User, 13);
  std::string hex(64, 'b');
  std::string text = "SELECT insight.verify('" + key + "') /* " + hex + " */";
  std::string masked = text;
  EXPECT_EQ(MaskKeysKeepingHint(masked.data(), masked.size()), 2u);
  ASSERT_EQ(masked.size(), text.size());
  EXPECT_EQ(masked, "SELECT insight.verify('" + key.substr(0, 12) + std::string(key.size() - 12, '*') +
                        "') /* " + std::string(64, '*') + " */");
  EXPECT_FALSE(MayContainKey(masked));
  EXPECT_EQ(MaskKeysKeepingHint(masked.data(), masked.size()), 0u);
  std::string odd = "ik_org_-abcdefghijk";
  EXPECT_EQ(MaskKeysKeepingHint(odd.data(), odd.size()), 1u);
  EXPECT_EQ(odd, "ik_org_************");
}

// The byte list outDatum prints for a text datum holding s (4-byte header).
std::string DatumBytes(const std::string& s) {
  uint32_t header = static_cast<uint32_t>(s.size() + 4) << 2;
  std::string out = std::to_string(s.size() + 4) + " [ ";
  for (int i = 0; i < 4; i++) out += std::to_string(static_cast<int>(static_cast<signed char>((header >> (8 * i)) & 0xFF))) + " ";
  for (char c : s) out += std::to_string(static_cast<int>(static_cast<signed char>(c))) + " ";
  return out + "]";
}

// What pretty_format_node_dump does to a line longer than 78 columns: breaks
// it at column 78, wherever that falls, and indents the rest.
std::string PrettyWrap(const std::string& line, size_t indent) {
  std::string out;
  std::string rest = line;
  std::string current(indent, ' ');
  for (char c : rest) {
    if (current.size() == 78) {
      out += current + "\n";
      current = std::string(indent, ' ');
    }
    current.push_back(c);
  }
  return out + current;
}

TEST(Redact, DatumDumpHoldingAKeyIsMasked) {
  std::string key = NewKey(KeyKind::User, 14);
  std::string compact = "{CONST :consttype 25 :constlen -1 :constbyval false :constisnull false "
                        ":location 22 :constvalue " + DatumBytes(key) + "}";
  ASSERT_TRUE(HasDatumDump(compact));
  EXPECT_FALSE(MayContainKey(compact));  // the bytes alone do not look like a key
  std::string out = RedactDatumDumps(compact);
  std::string masked = key.substr(0, 12) + std::string(key.size() - 12, '*');
  EXPECT_EQ(out, "{CONST :consttype 25 :constlen -1 :constbyval false :constisnull false "
                 ":location 22 :constvalue " + DatumBytes(masked) + "}");
  EXPECT_EQ(RedactDatumDumps(out), out);

  // Pretty form: the ":constvalue" line indented by 9, broken inside numbers.
  std::string pretty = "      {CONST \n         :constlen -1 \n" +
                       PrettyWrap(":constvalue " + DatumBytes(key), 9) + "\n      }";
  ASSERT_NE(pretty.find("\n         "), std::string::npos);
  std::string pretty_out = RedactDatumDumps(pretty);
  EXPECT_EQ(pretty_out, "      {CONST \n         :constlen -1 \n         :constvalue " +
                            DatumBytes(masked) + "\n      }");

  // Compact form broken at blanks (format_node_dump).
  std::string broken = compact;
  for (size_t at = 70; at < broken.size(); at += 70) {
    size_t blank = broken.rfind(' ', at);
    broken[blank] = '\n';
  }
  std::string list = DatumBytes(masked);
  list = list.substr(list.find('['));
  EXPECT_NE(RedactDatumDumps(broken).find(list), std::string::npos);
  EXPECT_EQ(RedactDatumDumps(broken).find(key.substr(12, 20)), std::string::npos);
}

TEST(Redact, DatumDumpsWithoutKeysStay) {
  std::string text = ":constvalue 4 [ 42 0 0 0 0 0 0 0 ] :constvalue <> :constvalue 12 [ 48 0 0 0 104 101 108 108 111 33 33 33 ]";
  EXPECT_EQ(RedactDatumDumps(text), text);
  std::string masked = text;
  EXPECT_EQ(MaskDatumDumpsInPlace(masked.data(), masked.size()), 2u);
  EXPECT_EQ(masked, ":constvalue 4 [ ** * * * * * * * ] :constvalue <> "
                    ":constvalue 12 [ ** * * * *** *** *** *** *** ** ** ** ]");
  EXPECT_FALSE(HasDatumDump("constvalue 12 [ 1 ]"));
}

}  // namespace
}  // namespace insight::core
