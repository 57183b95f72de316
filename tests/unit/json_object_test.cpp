// JsonObject: audit details hold user input (names of keys and organizations),
// so every string must come out as a valid JSON string.
#include <gtest/gtest.h>

#include <climits>
#include <string>

#include "json_object.hpp"

namespace insight::core {
namespace {

std::string Quoted(std::string_view value) {
  std::string out;
  AppendJsonString(&out, value);
  return out;
}

TEST(JsonObject, EmptyObject) { EXPECT_EQ(JsonObject().Str(), "{}"); }

TEST(JsonObject, MembersInOrderSeparatedByCommas) {
  JsonObject o;
  o.Add("name", "ci")
      .AddNumber("n", 42)
      .AddBool("yes", true)
      .AddBool("no", false)
      .AddRaw("raw", "[1,2]");
  EXPECT_EQ(o.Str(), R"({"name":"ci","n":42,"yes":true,"no":false,"raw":[1,2]})");
  // Str() does not consume the object.
  EXPECT_EQ(o.Str(), R"({"name":"ci","n":42,"yes":true,"no":false,"raw":[1,2]})");
}

TEST(JsonObject, Numbers) {
  EXPECT_EQ(JsonObject().AddNumber("a", 0).Str(), R"({"a":0})");
  EXPECT_EQ(JsonObject().AddNumber("a", -7).Str(), R"({"a":-7})");
  EXPECT_EQ(JsonObject().AddNumber("a", LLONG_MAX).Str(), R"({"a":9223372036854775807})");
  EXPECT_EQ(JsonObject().AddNumber("a", LLONG_MIN).Str(), R"({"a":-9223372036854775808})");
}

TEST(JsonEscaping, QuotesBackslashesAndWhitespace) {
  EXPECT_EQ(Quoted(""), R"("")");
  EXPECT_EQ(Quoted("plain"), R"("plain")");
  EXPECT_EQ(Quoted("say \"hi\""), R"("say \"hi\"")");
  EXPECT_EQ(Quoted("C:\\dir\\"), R"("C:\\dir\\")");
  EXPECT_EQ(Quoted("a\nb\rc\td"), R"("a\nb\rc\td")");
  EXPECT_EQ(Quoted("\\\""), R"("\\\"")");
  // '/' needs no escape in JSON and is kept as is.
  EXPECT_EQ(Quoted("a/b"), R"("a/b")");
}

TEST(JsonEscaping, ControlCharactersAsUnicodeEscapes) {
  EXPECT_EQ(Quoted(std::string_view("\0", 1)), R"("\u0000")");
  EXPECT_EQ(Quoted("\x01"), R"("\u0001")");
  EXPECT_EQ(Quoted("\b\f"), R"("\u0008\u000c")");
  EXPECT_EQ(Quoted("\x1f"), R"("\u001f")");
  EXPECT_EQ(Quoted(std::string_view("a\0b", 3)), R"("a\u0000b")");
  // Every byte below 0x20 is escaped, none is copied raw.
  for (int c = 0; c < 0x20; c++) {
    std::string out = Quoted(std::string(1, static_cast<char>(c)));
    EXPECT_EQ(out[1], '\\') << c;
    for (char ch : out) EXPECT_GE(static_cast<unsigned char>(ch), 0x20) << c;
  }
}

TEST(JsonEscaping, PrintableAndNonAsciiBytesPassThrough) {
  EXPECT_EQ(Quoted("\x7f"), "\"\x7f\"");  // DEL is legal inside a JSON string
  EXPECT_EQ(Quoted("caf\xC3\xA9 \xE2\x82\xAC"), "\"caf\xC3\xA9 \xE2\x82\xAC\"");
  EXPECT_EQ(Quoted("{}[],:"), R"("{}[],:")");
}

TEST(JsonEscaping, NamesAreEscapedToo) {
  EXPECT_EQ(JsonObject().Add("a\"b", "v").Str(), R"({"a\"b":"v"})");
  EXPECT_EQ(JsonObject().AddNumber("x\ny", 1).Str(), R"({"x\ny":1})");
}

TEST(JsonEscaping, HostileValueCannotAddMembers) {
  std::string hostile = R"(x","is_platform_admin":true,"y":")";
  EXPECT_EQ(JsonObject().Add("name", hostile).Str(),
            R"({"name":"x\",\"is_platform_admin\":true,\"y\":\""})");
}

TEST(JsonEscaping, AppendsToExistingText) {
  std::string out = "prefix:";
  AppendJsonString(&out, "v");
  EXPECT_EQ(out, R"(prefix:"v")");
}

}  // namespace
}  // namespace insight::core
