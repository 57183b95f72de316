// The key format of docs/KEY_FORMAT.md: generation, parsing, the checksum's
// power to reject typos, and the hint shown in the views.
#include <gtest/gtest.h>

#include <array>
#include <initializer_list>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "fake_random.hpp"
#include "key_codec.hpp"

namespace insight::core {
namespace {

using insight_test::AlwaysFails;
using insight_test::g_fake_random;
using insight_test::ResetFakeRandom;
using insight_test::SequentialBytes;
using insight_test::SplitMixBytes;

constexpr std::string_view kAlphabet =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// The checksum digits, computed here from the documented definition (CRC-32 of
// everything before them, as 6 fixed-width base62 digits).
std::string ChecksumOf(std::string_view covered) {
  char digits[kChecksumLen];
  EXPECT_TRUE(Base62EncodeFixed(Crc32(covered), kChecksumLen, digits));
  return std::string(digits, kChecksumLen);
}

// A key assembled by hand from its documented parts, with a correct checksum.
std::string AssembleKey(std::string_view prefix, std::string_view lookup, char separator,
                        std::string_view secret) {
  std::string key(prefix);
  key += lookup;
  key += separator;
  key += secret;
  key += ChecksumOf(key);
  return key;
}

std::string GenerateWithSeed(KeyKind kind, uint64_t seed) {
  ResetFakeRandom(seed);
  return GenerateKey(kind, SplitMixBytes);
}

// A handful of keys of both kinds from different seeds.
std::vector<std::string> SampleKeys() {
  std::vector<std::string> keys;
  for (uint64_t seed : {1ull, 2ull, 0xDEADBEEFull}) {
    keys.push_back(GenerateWithSeed(KeyKind::User, seed));
    keys.push_back(GenerateWithSeed(KeyKind::Organization, seed));
  }
  return keys;
}

TEST(KeyFormat, DocumentedLengths) {
  EXPECT_EQ(kUserPrefix, "ik_user_");
  EXPECT_EQ(kOrgPrefix, "ik_org_");
  EXPECT_EQ(kBodyLen, 66u);
  EXPECT_EQ(kUserKeyLen, 74u);
  EXPECT_EQ(kOrgKeyLen, 73u);
  EXPECT_EQ(kMinKeyLen, 73u);
  EXPECT_EQ(kMaxKeyLen, 74u);
  // 43 base62 digits carry at least 256 bits: 62^43 > 2^256 (log2(62) * 43 = 256.03).
  EXPECT_GE(kSecretLen, 43u);
  // The hint shows the last 4 characters: they must all be checksum digits.
  EXPECT_GE(kChecksumLen, 4u);
}

TEST(KeyFormat, KindNamesAndPrefixes) {
  EXPECT_EQ(KindName(KeyKind::User), "user");
  EXPECT_EQ(KindName(KeyKind::Organization), "organization");
  EXPECT_EQ(PrefixOf(KeyKind::User), "ik_user_");
  EXPECT_EQ(PrefixOf(KeyKind::Organization), "ik_org_");
}

TEST(KeyFormat, KindFromNameInvertsKindName) {
  EXPECT_EQ(KindFromName(KindName(KeyKind::User)), KeyKind::User);
  EXPECT_EQ(KindFromName(KindName(KeyKind::Organization)), KeyKind::Organization);
  EXPECT_EQ(KindFromName("organization"), KeyKind::Organization);
  EXPECT_EQ(KindFromName("user"), KeyKind::User);
  // Only the exact name is the organization kind.
  EXPECT_EQ(KindFromName("Organization"), KeyKind::User);
  EXPECT_EQ(KindFromName("organizations"), KeyKind::User);
}

TEST(KeyCodec, RoundTripUserKey) {
  ResetFakeRandom(0);
  std::string key = GenerateKey(KeyKind::User, SequentialBytes);
  ASSERT_EQ(key.size(), kUserKeyLen);
  EXPECT_EQ(key.substr(0, 8), "ik_user_");
  // Bytes 0..15 are all below the rejection bound, so they map to digits 0..15.
  EXPECT_EQ(key.substr(8, 16), "0123456789ABCDEF");
  EXPECT_EQ(key[24], '_');
  for (size_t i = 25; i < key.size(); i++) EXPECT_TRUE(IsBase62(key[i])) << "position " << i;
  EXPECT_EQ(key.substr(key.size() - 6), ChecksumOf(key.substr(0, key.size() - 6)));

  ParsedKey parsed;
  parsed.kind = KeyKind::Organization;  // must be overwritten
  ASSERT_TRUE(ParseKey(key, &parsed));
  EXPECT_EQ(parsed.kind, KeyKind::User);
  EXPECT_EQ(parsed.lookup_id, "0123456789ABCDEF");
  // lookup_id is a view into the parsed text, not a copy.
  EXPECT_EQ(parsed.lookup_id.data(), key.data() + 8);
}

TEST(KeyCodec, RoundTripOrgKey) {
  ResetFakeRandom(10);
  std::string key = GenerateKey(KeyKind::Organization, SequentialBytes);
  ASSERT_EQ(key.size(), kOrgKeyLen);
  EXPECT_EQ(key.substr(0, 7), "ik_org_");
  EXPECT_EQ(key.substr(7, 16), "ABCDEFGHIJKLMNOP");
  EXPECT_EQ(key[23], '_');
  EXPECT_EQ(key.substr(key.size() - 6), ChecksumOf(key.substr(0, key.size() - 6)));

  ParsedKey parsed;
  ASSERT_TRUE(ParseKey(key, &parsed));
  EXPECT_EQ(parsed.kind, KeyKind::Organization);
  EXPECT_EQ(parsed.lookup_id, "ABCDEFGHIJKLMNOP");
}

TEST(KeyCodec, GenerationIsAFunctionOfTheRandomBytes) {
  EXPECT_EQ(GenerateWithSeed(KeyKind::User, 7), GenerateWithSeed(KeyKind::User, 7));
  EXPECT_NE(GenerateWithSeed(KeyKind::User, 7), GenerateWithSeed(KeyKind::User, 8));
  // Same bytes, other kind: same lookup and secret, other prefix and checksum.
  std::string user = GenerateWithSeed(KeyKind::User, 7);
  std::string org = GenerateWithSeed(KeyKind::Organization, 7);
  EXPECT_EQ(user.substr(8, 60), org.substr(7, 60));
  EXPECT_NE(user.substr(user.size() - 6), org.substr(org.size() - 6));
}

TEST(KeyCodec, RoundTripManySeeds) {
  for (uint64_t seed = 0; seed < 200; seed++) {
    for (KeyKind kind : {KeyKind::User, KeyKind::Organization}) {
      std::string key = GenerateWithSeed(kind, seed);
      ParsedKey parsed;
      ASSERT_TRUE(ParseKey(key, &parsed)) << key;
      EXPECT_EQ(parsed.kind, kind);
      EXPECT_EQ(parsed.lookup_id, std::string_view(key).substr(PrefixOf(kind).size(), kLookupLen));
    }
  }
}

TEST(KeyCodec, AcceptsAHandAssembledKey) {
  std::string key = AssembleKey("ik_user_", std::string(16, 'A'), '_', std::string(43, 'z'));
  ParsedKey parsed;
  ASSERT_TRUE(ParseKey(key, &parsed));
  EXPECT_EQ(parsed.kind, KeyKind::User);
  EXPECT_EQ(parsed.lookup_id, "AAAAAAAAAAAAAAAA");

  std::string org = AssembleKey("ik_org_", "0000000000000000", '_', std::string(43, '0'));
  ASSERT_TRUE(ParseKey(org, &parsed));
  EXPECT_EQ(parsed.kind, KeyKind::Organization);
  EXPECT_EQ(parsed.lookup_id, "0000000000000000");
}

// A correct checksum does not make a badly formed key acceptable.
TEST(KeyCodec, RejectsStructuralErrorsEvenWithAValidChecksum) {
  const std::string lookup(16, 'a');
  const std::string secret(43, 'b');
  std::vector<std::string> bad = {
      AssembleKey("ik_user_", lookup, '-', secret),                      // separator
      AssembleKey("ik_user_", lookup, 'a', secret),                      // separator is base62
      AssembleKey("ik_user_", "aaaaaaa-aaaaaaaa", '_', secret),          // lookup not base62
      AssembleKey("ik_user_", lookup, '_', std::string(42, 'b') + "_"),  // secret not base62
      AssembleKey("ik_user_", lookup, '_', std::string(42, 'b') + "+"),
      AssembleKey("ik_user_", lookup, '_', std::string(42, 'b') + "\xC3"),
      AssembleKey("IK_USER_", lookup, '_', secret),  // prefix is case-sensitive
      AssembleKey("ik_usr__", lookup, '_', secret),
      AssembleKey("ik_orga_", lookup, '_', secret),                      // org prefix, user length
      AssembleKey("ik_org_", lookup, '_', secret + "b"),                 // org prefix, user length
      AssembleKey("ik_user", lookup, '_', secret + "b"),                 // user prefix without '_'
      AssembleKey("ik_user_", lookup + "a", '_', std::string(42, 'b')),  // fields shifted
  };
  for (const std::string& key : bad) {
    ParsedKey parsed;
    EXPECT_FALSE(ParseKey(key, &parsed)) << key;
  }
}

TEST(KeyCodec, RejectsAChecksumThatOnlyDecodesAboveThirtyTwoBits) {
  std::string key = GenerateWithSeed(KeyKind::User, 3);
  // The largest 6-digit checksum field decodes to 62^6 - 1 > UINT32_MAX.
  key.replace(key.size() - 6, 6, "zzzzzz");
  ParsedKey parsed;
  EXPECT_FALSE(ParseKey(key, &parsed));
}

// The checksum's purpose: every typo of one character is caught before any
// table is read. Every position x every other printable ASCII character, plus
// a few bytes outside ASCII and NUL.
TEST(KeyCodec, RejectsEverySingleCharacterChange) {
  std::vector<char> replacements;
  for (int c = 0x20; c <= 0x7E; c++) replacements.push_back(static_cast<char>(c));
  for (int c : {0x00, 0x09, 0x0A, 0x80, 0xA0, 0xC3, 0xE2, 0xFF}) {
    replacements.push_back(static_cast<char>(c));
  }
  size_t checked = 0;
  for (const std::string& key : SampleKeys()) {
    ParsedKey parsed;
    ASSERT_TRUE(ParseKey(key, &parsed));
    for (size_t pos = 0; pos < key.size(); pos++) {
      for (char c : replacements) {
        if (c == key[pos]) continue;
        std::string typo = key;
        typo[pos] = c;
        EXPECT_FALSE(ParseKey(typo, &parsed))
            << "accepted " << key << " with position " << pos << " changed to byte "
            << static_cast<int>(static_cast<unsigned char>(c));
        checked++;
      }
    }
  }
  // 3 user keys (74 chars) and 3 org keys (73 chars), 103 candidates each,
  // less the one equal to the original character (always among them: keys are ASCII).
  EXPECT_EQ(checked, 3u * 74 * 102 + 3u * 73 * 102);
}

TEST(KeyCodec, RejectsSwapsOfAdjacentCharacters) {
  for (const std::string& key : SampleKeys()) {
    for (size_t pos = 0; pos + 1 < key.size(); pos++) {
      if (key[pos] == key[pos + 1]) continue;
      std::string swapped = key;
      std::swap(swapped[pos], swapped[pos + 1]);
      ParsedKey parsed;
      EXPECT_FALSE(ParseKey(swapped, &parsed)) << "swap at " << pos << " of " << key;
    }
  }
}

TEST(KeyCodec, RejectsTruncationsAndExtensions) {
  for (const std::string& key : SampleKeys()) {
    ParsedKey parsed;
    for (size_t len = 0; len < key.size(); len++) {
      EXPECT_FALSE(ParseKey(std::string_view(key).substr(0, len), &parsed)) << len;
      EXPECT_FALSE(ParseKey(std::string_view(key).substr(key.size() - len), &parsed)) << len;
    }
    for (std::string extra :
         std::initializer_list<std::string>{"0", "a", "_", " ", "\n", std::string(1, '\0'), "=="}) {
      EXPECT_FALSE(ParseKey(key + extra, &parsed)) << "suffix of " << extra.size();
      EXPECT_FALSE(ParseKey(extra + key, &parsed)) << "prefix of " << extra.size();
    }
    // One character inserted anywhere, one removed anywhere.
    for (size_t pos = 0; pos <= key.size(); pos++) {
      std::string longer = key;
      longer.insert(pos, 1, key[pos == key.size() ? pos - 1 : pos]);
      EXPECT_FALSE(ParseKey(longer, &parsed)) << "insert at " << pos;
    }
    for (size_t pos = 0; pos < key.size(); pos++) {
      std::string shorter = key;
      shorter.erase(pos, 1);
      EXPECT_FALSE(ParseKey(shorter, &parsed)) << "erase at " << pos;
    }
  }
}

TEST(KeyCodec, RejectsTheOtherKindsPrefixOnTheSameBody) {
  std::string user = GenerateWithSeed(KeyKind::User, 11);
  std::string org = GenerateWithSeed(KeyKind::Organization, 11);
  ParsedKey parsed;
  EXPECT_FALSE(ParseKey("ik_org_" + user.substr(8), &parsed));
  EXPECT_FALSE(ParseKey("ik_user_" + org.substr(7), &parsed));
}

TEST(KeyCodec, RejectsGarbage) {
  ParsedKey parsed;
  for (std::string text :
       {std::string(), std::string("ik_user_"), std::string("ik_org_"), std::string(74, 'a'),
        std::string(73, '\0'), std::string(74, '\xFF'),
        std::string("ik_user_") + std::string(66, '_'),
        std::string("ik_org_") + std::string(66, '0'), std::string(100000, 'x')}) {
    EXPECT_FALSE(ParseKey(text, &parsed)) << text.size();
  }
}

TEST(RandomBase62, UsesEveryDigitEquallyAndRejectsBytesAboveTheBound) {
  // 4 full cycles of the byte values 0..255: the 248 bytes below the bound
  // 4 * 62 map to each digit exactly 4 times per cycle; 248..255 must be dropped
  // (accepting them would give digits 0..7 extra weight).
  ResetFakeRandom(0);
  std::string digits = RandomBase62(4 * 248, SequentialBytes);
  ASSERT_EQ(digits.size(), 4u * 248);
  std::map<char, int> counts;
  for (char c : digits) counts[c]++;
  ASSERT_EQ(counts.size(), 62u);
  for (char c : kAlphabet) EXPECT_EQ(counts[c], 16) << c;
  // The first cycle in order: byte b gives digit b mod 62.
  for (size_t i = 0; i < 248; i++) EXPECT_EQ(digits[i], kAlphabet[i % 62]) << i;
}

TEST(RandomBase62, SkipsRejectedBytesAcrossCalls) {
  // Start at byte 240: 240..247 are kept, 248..255 dropped, then 0.. again.
  ResetFakeRandom(240);
  std::string digits = RandomBase62(12, SequentialBytes);
  std::string expected;
  for (int b : {240, 241, 242, 243, 244, 245, 246, 247, 0, 1, 2, 3}) expected += kAlphabet[b % 62];
  EXPECT_EQ(digits, expected);
}

TEST(RandomBase62, LengthsAndAlphabet) {
  ResetFakeRandom(5);
  EXPECT_EQ(RandomBase62(0, SplitMixBytes), "");
  for (size_t n : {1u, 43u, 64u, 65u, 1000u}) {
    std::string s = RandomBase62(n, SplitMixBytes);
    ASSERT_EQ(s.size(), n);
    for (char c : s) EXPECT_NE(kAlphabet.find(c), std::string_view::npos) << c;
  }
}

TEST(RandomBase62, FailureOfTheRandomSourceThrows) {
  ResetFakeRandom(0);
  EXPECT_THROW(RandomBase62(16, AlwaysFails), std::runtime_error);
  EXPECT_EQ(g_fake_random.calls, 1);
  // Failing after some bytes were already drawn still throws, not a short result.
  ResetFakeRandom(0, /*fail_from_call=*/1);
  EXPECT_THROW(RandomBase62(200, SequentialBytes), std::runtime_error);
}

TEST(GenerateKey, FailureOfTheRandomSourceThrows) {
  ResetFakeRandom(0);
  EXPECT_THROW(GenerateKey(KeyKind::User, AlwaysFails), std::runtime_error);
  EXPECT_THROW(GenerateKey(KeyKind::Organization, AlwaysFails), std::runtime_error);
  // The lookup id was drawn, the secret fails: no key comes back.
  ResetFakeRandom(0, /*fail_from_call=*/1);
  EXPECT_THROW(GenerateKey(KeyKind::User, SequentialBytes), std::runtime_error);
}

TEST(MakeHint, ShowsPrefixFirstFourOfLookupAndLastFour) {
  ResetFakeRandom(0);
  std::string user = GenerateKey(KeyKind::User, SequentialBytes);
  EXPECT_EQ(MakeHint(user), "ik_user_0123..." + user.substr(user.size() - 4));
  ResetFakeRandom(10);
  std::string org = GenerateKey(KeyKind::Organization, SequentialBytes);
  EXPECT_EQ(MakeHint(org), "ik_org_ABCD..." + org.substr(org.size() - 4));
}

TEST(MakeHint, RevealsNoSecretCharacter) {
  for (uint64_t seed = 0; seed < 50; seed++) {
    for (KeyKind kind : {KeyKind::User, KeyKind::Organization}) {
      std::string key = GenerateWithSeed(kind, seed);
      std::string hint = MakeHint(key);
      const size_t prefix = PrefixOf(kind).size();
      ASSERT_EQ(hint.size(), prefix + 4 + 3 + 4) << hint;
      EXPECT_EQ(hint.substr(0, prefix), PrefixOf(kind));
      // The shown lookup characters are exactly its first four.
      EXPECT_EQ(hint.substr(prefix, 4), key.substr(prefix, 4));
      EXPECT_EQ(hint.substr(prefix + 4, 3), "...");
      // The last four shown are the last four of the key, which lie entirely
      // inside the checksum, after the last secret character.
      const size_t secret_end = prefix + kLookupLen + 1 + kSecretLen;
      EXPECT_GE(key.size() - 4, secret_end);
      EXPECT_EQ(hint.substr(hint.size() - 4), key.substr(key.size() - 4));
      // The hint's text (minus the prefix) holds 8 key characters, none of the secret.
      std::string shown = hint.substr(prefix, 4) + hint.substr(hint.size() - 4);
      EXPECT_EQ(shown, key.substr(prefix, 4) + key.substr(secret_end + 2, 4));
      // A hint is not a key.
      ParsedKey parsed;
      EXPECT_FALSE(ParseKey(hint, &parsed));
    }
  }
}

TEST(MakeHint, InvalidKeyGivesAPlaceholder) {
  EXPECT_EQ(MakeHint(""), "?");
  EXPECT_EQ(MakeHint("ik_user_not_a_key"), "?");
  std::string key = GenerateWithSeed(KeyKind::User, 1);
  key.back() = key.back() == 'a' ? 'b' : 'a';
  EXPECT_EQ(MakeHint(key), "?");
}

}  // namespace
}  // namespace insight::core
