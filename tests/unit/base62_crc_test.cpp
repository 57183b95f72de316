// The building blocks of the key codec: base62 digits and CRC-32 (IEEE 802.3).
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>

#include "key_codec.hpp"

namespace insight::core {
namespace {

constexpr std::string_view kAlphabet =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

std::string Encode(uint64_t value, size_t width) {
  std::string out(width, '?');
  EXPECT_TRUE(Base62EncodeFixed(value, width, out.data())) << value << " in " << width;
  return out;
}

TEST(Crc32, KnownVectors) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);  // the standard check value
  EXPECT_EQ(Crc32(""), 0x00000000u);
  EXPECT_EQ(Crc32("a"), 0xE8B7BE43u);
  EXPECT_EQ(Crc32("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
  EXPECT_EQ(Crc32(std::string_view("\xFF", 1)), 0xFF000000u);
  EXPECT_EQ(Crc32(std::string_view("\0", 1)), 0xD202EF8Du);
}

TEST(Crc32, CoversEveryByteIncludingEmbeddedNul) {
  EXPECT_NE(Crc32(std::string_view("ab\0c", 4)), Crc32(std::string_view("ab", 2)));
  EXPECT_NE(Crc32("123456789"), Crc32("123456788"));
}

TEST(Base62, AlphabetIsExactlyDigitsUpperLower) {
  int count = 0;
  for (int c = 0; c < 256; c++) {
    bool expected = kAlphabet.find(static_cast<char>(c)) != std::string_view::npos;
    EXPECT_EQ(IsBase62(static_cast<char>(c)), expected) << c;
    count += IsBase62(static_cast<char>(c)) ? 1 : 0;
  }
  EXPECT_EQ(count, 62);
}

TEST(Base62, EncodeEdgeValues) {
  EXPECT_EQ(Encode(0, 6), "000000");
  EXPECT_EQ(Encode(0, 1), "0");
  EXPECT_EQ(Encode(61, 1), "z");
  EXPECT_EQ(Encode(62, 2), "10");
  EXPECT_EQ(Encode(3843, 2), "zz");  // 62^2 - 1
  EXPECT_EQ(Encode(UINT32_MAX, 6), "4gfFC3");
  EXPECT_EQ(Encode(56800235583ull, 6), "zzzzzz");  // 62^6 - 1
  EXPECT_EQ(Encode(UINT64_MAX, 11), "LygHa16AHYF");
  EXPECT_EQ(Encode(UINT64_MAX, 13), "00LygHa16AHYF");
  EXPECT_EQ(Encode(10, 1), "A");
  EXPECT_EQ(Encode(36, 1), "a");
}

TEST(Base62, EncodeFixedWidthOverflow) {
  char out[16];
  EXPECT_FALSE(Base62EncodeFixed(62, 1, out));
  EXPECT_FALSE(Base62EncodeFixed(3844, 2, out));            // 62^2
  EXPECT_FALSE(Base62EncodeFixed(56800235584ull, 6, out));  // 62^6
  EXPECT_FALSE(Base62EncodeFixed(UINT64_MAX, 10, out));     // needs 11 digits
  EXPECT_FALSE(Base62EncodeFixed(1, 0, out));
  EXPECT_TRUE(Base62EncodeFixed(0, 0, out));  // zero fits in no digits
}

TEST(Base62, EncodeWritesExactlyWidthCharacters) {
  char out[8] = {'#', '#', '#', '#', '#', '#', '#', '#'};
  ASSERT_TRUE(Base62EncodeFixed(61, 3, out + 2));
  EXPECT_EQ(std::string(out, 8), "##00z###");
}

TEST(Base62, DecodeEdgeValues) {
  uint64_t v = 12345;
  ASSERT_TRUE(Base62Decode("0", &v));
  EXPECT_EQ(v, 0u);
  ASSERT_TRUE(Base62Decode("z", &v));
  EXPECT_EQ(v, 61u);
  ASSERT_TRUE(Base62Decode("10", &v));
  EXPECT_EQ(v, 62u);
  ASSERT_TRUE(Base62Decode("4gfFC3", &v));
  EXPECT_EQ(v, UINT32_MAX);
  ASSERT_TRUE(Base62Decode("LygHa16AHYF", &v));
  EXPECT_EQ(v, UINT64_MAX);
  ASSERT_TRUE(Base62Decode("LygHa16AHYE", &v));
  EXPECT_EQ(v, UINT64_MAX - 1);
  // Leading zeros never overflow, however many.
  ASSERT_TRUE(Base62Decode(std::string(40, '0') + "LygHa16AHYF", &v));
  EXPECT_EQ(v, UINT64_MAX);
  // The empty digit string is the number zero.
  v = 7;
  ASSERT_TRUE(Base62Decode("", &v));
  EXPECT_EQ(v, 0u);
}

TEST(Base62, DecodeOverflow) {
  uint64_t v = 0;
  EXPECT_FALSE(Base62Decode("LygHa16AHYG", &v));  // UINT64_MAX + 1
  EXPECT_FALSE(Base62Decode("LygHa16AHZ0", &v));
  EXPECT_FALSE(Base62Decode("zzzzzzzzzzz", &v));   // 62^11 - 1
  EXPECT_FALSE(Base62Decode("100000000000", &v));  // 62^11
  EXPECT_FALSE(Base62Decode(std::string(100, 'z'), &v));
}

TEST(Base62, DecodeInvalidDigits) {
  uint64_t v = 0;
  for (std::string digits :
       {std::string("-1"), std::string("1-"), std::string("1_2"), std::string(" 1"),
        std::string("1 "), std::string("+1"), std::string("1\0", 2), std::string("\xC3\xA9"),
        std::string("1.5"), std::string("=")}) {
    EXPECT_FALSE(Base62Decode(digits, &v)) << digits;
  }
}

TEST(Base62, RoundTrip) {
  for (uint64_t value : std::initializer_list<uint64_t>{
           0ull, 1ull, 61ull, 62ull, 63ull, 3843ull, 3844ull, 0xFFFFFFFFull, 0x100000000ull,
           56800235583ull, 56800235584ull, UINT64_MAX - 1, UINT64_MAX}) {
    std::string digits = Encode(value, 11);
    uint64_t back = 0;
    ASSERT_TRUE(Base62Decode(digits, &back)) << digits;
    EXPECT_EQ(back, value) << digits;
  }
}

}  // namespace
}  // namespace insight::core
