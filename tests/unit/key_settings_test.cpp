// Key settings: scope matching, CIDR parsing and matching (IPv4, IPv6, mapped
// addresses, host bits), the settings parser's strictness, and what check()
// adds to verify's answer.
#include <gtest/gtest.h>

#include <string>

#include "key_settings.hpp"
#include "verify_decision.hpp"

namespace insight::core {
namespace {

TEST(ScopeMatches, ExactAndWildcard) {
  EXPECT_TRUE(ScopeMatches("logs:read", "logs:read"));
  EXPECT_FALSE(ScopeMatches("logs:read", "logs:write"));
  EXPECT_FALSE(ScopeMatches("logs:read", "logs:rea"));
  EXPECT_FALSE(ScopeMatches("logs:read", "logs:readx"));
  EXPECT_TRUE(ScopeMatches("logs:*", "logs:read"));
  EXPECT_TRUE(ScopeMatches("logs:*", "logs:"));
  EXPECT_FALSE(ScopeMatches("logs:*", "logs"));
  EXPECT_FALSE(ScopeMatches("logs:*", "logsx"));
  EXPECT_FALSE(ScopeMatches("logs:*", "logsx:read"));
  EXPECT_TRUE(ScopeMatches("logs*", "logsx"));
  EXPECT_TRUE(ScopeMatches("*", "anything:at:all"));
  EXPECT_TRUE(ScopeMatches("*", ""));
  EXPECT_FALSE(ScopeMatches("logs:read", ""));
  // '*' is a wildcard only at the end of the scope, never in the permission.
  EXPECT_FALSE(ScopeMatches("logs:read", "logs:*"));
  EXPECT_TRUE(ScopeMatches("logs:*", "logs:*"));
}

TEST(ScopeMatches, Validity) {
  EXPECT_TRUE(ValidScope("investigations:read"));
  EXPECT_TRUE(ValidScope("*"));
  EXPECT_TRUE(ValidScope("a/b-c_d.e:*"));
  EXPECT_FALSE(ValidScope(""));
  EXPECT_FALSE(ValidScope("a*b"));
  EXPECT_FALSE(ValidScope("**"));
  EXPECT_FALSE(ValidScope("logs read"));
  EXPECT_FALSE(ValidScope(std::string(65, 'a')));
  EXPECT_TRUE(ValidScope(std::string(64, 'a')));
}

Cidr MustCidr(const char* text) {
  Cidr c;
  EXPECT_TRUE(ParseCidr(text, &c)) << text;
  return c;
}

bool Contains(const char* cidr, const char* addr) {
  Cidr c = MustCidr(cidr);
  uint8_t family, bytes[16];
  EXPECT_TRUE(ParseAddress(addr, &family, bytes)) << addr;
  return CidrContains(c, family, bytes);
}

TEST(Cidr, ParseIpv4) {
  Cidr c;
  EXPECT_TRUE(ParseCidr("10.0.0.0/8", &c));
  EXPECT_EQ(c.family, 4);
  EXPECT_EQ(c.prefix, 8);
  EXPECT_TRUE(ParseCidr("0.0.0.0/0", &c));
  EXPECT_TRUE(ParseCidr("192.168.1.7", &c));
  EXPECT_EQ(c.prefix, 32);
  EXPECT_TRUE(ParseCidr("192.168.1.7/32", &c));
  EXPECT_FALSE(ParseCidr("10.0.0.1/8", &c));  // host bits set
  EXPECT_FALSE(ParseCidr("10.0.0.0/33", &c));
  EXPECT_FALSE(ParseCidr("10.0.0.0/", &c));
  EXPECT_FALSE(ParseCidr("10.0.0.0/08", &c));
  EXPECT_FALSE(ParseCidr("10.0.0/8", &c));
  EXPECT_FALSE(ParseCidr("10.0.0.0.0/8", &c));
  EXPECT_FALSE(ParseCidr("256.0.0.0/8", &c));
  EXPECT_FALSE(ParseCidr("010.0.0.0/8", &c));
  EXPECT_FALSE(ParseCidr("10.0.0.0/-1", &c));
  EXPECT_FALSE(ParseCidr("", &c));
  EXPECT_FALSE(ParseCidr(" 10.0.0.0/8", &c));
}

TEST(Cidr, ParseIpv6) {
  Cidr c;
  EXPECT_TRUE(ParseCidr("2001:db8::/32", &c));
  EXPECT_EQ(c.family, 6);
  EXPECT_EQ(c.prefix, 32);
  EXPECT_TRUE(ParseCidr("::/0", &c));
  EXPECT_TRUE(ParseCidr("::1", &c));
  EXPECT_EQ(c.prefix, 128);
  EXPECT_EQ(c.addr[15], 1);
  EXPECT_TRUE(ParseCidr("2001:db8:0:0:0:0:0:1/128", &c));
  EXPECT_TRUE(ParseCidr("::ffff:10.0.0.0/104", &c));
  EXPECT_EQ(c.addr[12], 10);
  EXPECT_TRUE(ParseCidr("fe80::/10", &c));
  EXPECT_FALSE(ParseCidr("fe80::1/10", &c));  // host bits set
  EXPECT_FALSE(ParseCidr("2001:db8::/129", &c));
  EXPECT_FALSE(ParseCidr("2001:db8:::/32", &c));
  EXPECT_FALSE(ParseCidr("2001::db8::1", &c));
  EXPECT_FALSE(ParseCidr("1:2:3:4:5:6:7:8:9", &c));
  EXPECT_FALSE(ParseCidr("1:2:3:4:5:6:7", &c));
  EXPECT_FALSE(ParseCidr("1:2:3:4:5:6:7:8::", &c));
  EXPECT_FALSE(ParseCidr("12345::/16", &c));
  EXPECT_FALSE(ParseCidr(":1::/16", &c));
  EXPECT_FALSE(ParseCidr("1::g/128", &c));
  EXPECT_FALSE(ParseCidr("1:/128", &c));
}

TEST(Cidr, MatchIpv4Edges) {
  EXPECT_TRUE(Contains("10.0.0.0/8", "10.0.0.0"));
  EXPECT_TRUE(Contains("10.0.0.0/8", "10.255.255.255"));
  EXPECT_FALSE(Contains("10.0.0.0/8", "11.0.0.0"));
  EXPECT_FALSE(Contains("10.0.0.0/8", "9.255.255.255"));
  EXPECT_TRUE(Contains("192.168.1.128/25", "192.168.1.128"));
  EXPECT_TRUE(Contains("192.168.1.128/25", "192.168.1.255"));
  EXPECT_FALSE(Contains("192.168.1.128/25", "192.168.1.127"));
  EXPECT_TRUE(Contains("0.0.0.0/0", "203.0.113.9"));
  EXPECT_TRUE(Contains("203.0.113.9/32", "203.0.113.9"));
  EXPECT_FALSE(Contains("203.0.113.9/32", "203.0.113.8"));
  // An IPv4 CIDR matches the IPv4-mapped form of its addresses, not other IPv6.
  EXPECT_TRUE(Contains("10.0.0.0/8", "::ffff:10.1.2.3"));
  EXPECT_FALSE(Contains("10.0.0.0/8", "::ffff:11.1.2.3"));
  EXPECT_FALSE(Contains("10.0.0.0/8", "::a01:203"));
  EXPECT_FALSE(Contains("0.0.0.0/0", "2001:db8::1"));
}

TEST(Cidr, MatchIpv6Edges) {
  EXPECT_TRUE(Contains("2001:db8::/32", "2001:db8::1"));
  EXPECT_TRUE(Contains("2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_FALSE(Contains("2001:db8::/32", "2001:db9::"));
  EXPECT_TRUE(Contains("fe80::/10", "febf::1"));
  EXPECT_FALSE(Contains("fe80::/10", "fec0::1"));
  EXPECT_TRUE(Contains("::/0", "::1"));
  EXPECT_FALSE(Contains("::/0", "10.0.0.1"));  // no family crossing for IPv6 CIDRs
  EXPECT_TRUE(Contains("::1/128", "::1"));
  EXPECT_FALSE(Contains("::1/128", "::2"));
}

KeySettings MustParse(const std::string& json) {
  KeySettings s;
  std::string window, error;
  EXPECT_TRUE(ParseKeySettings(json, false, &s, &window, &error)) << json << ": " << error;
  return s;
}

bool Refused(const std::string& json, bool allow_null = false) {
  KeySettings s;
  std::string window, error;
  bool ok = ParseKeySettings(json, allow_null, &s, &window, &error);
  EXPECT_TRUE(ok || !error.empty());
  return !ok;
}

TEST(KeySettings, ParsesEveryMember) {
  KeySettings s;
  std::string window, error;
  ASSERT_TRUE(ParseKeySettings(
      R"({"max_role": "read_only", "scopes": ["logs:*", "investigations:read"],
          "allowed_cidrs": ["10.0.0.0/8", "2001:db8::/32"],
          "rate_limit": {"limit": 100, "window": "1 minute"}})",
      false, &s, &window, &error))
      << error;
  EXPECT_TRUE(s.has_max_role);
  EXPECT_EQ(s.max_role, Role::ReadOnly);
  ASSERT_EQ(s.scope_count, 2);
  EXPECT_EQ(s.Scope(0), "logs:*");
  EXPECT_EQ(s.Scope(1), "investigations:read");
  EXPECT_EQ(s.cidr_count, 2);
  EXPECT_TRUE(s.has_rate_limit);
  EXPECT_EQ(s.rate_limit, 100);
  EXPECT_EQ(window, "1 minute");
}

TEST(KeySettings, EmptyMeansUnrestricted) {
  KeySettings s = MustParse("{}");
  EXPECT_TRUE(AnyScopeMatches(s, "whatever"));
  EXPECT_TRUE(AddressAllowed(s, false, 0, nullptr));
  EXPECT_FALSE(s.has_max_role);
  EXPECT_FALSE(s.has_rate_limit);
}

TEST(KeySettings, EmptyScopesAndCidrsAllowNothing) {
  KeySettings s = MustParse(R"({"scopes": [], "allowed_cidrs": []})");
  EXPECT_FALSE(AnyScopeMatches(s, "logs:read"));
  EXPECT_FALSE(AnyScopeMatches(s, ""));
  uint8_t family, addr[16];
  ASSERT_TRUE(ParseAddress("10.0.0.1", &family, addr));
  EXPECT_FALSE(AddressAllowed(s, true, family, addr));
}

TEST(KeySettings, MissingAddressFailsClosed) {
  KeySettings s = MustParse(R"({"allowed_cidrs": ["0.0.0.0/0", "::/0"]})");
  EXPECT_FALSE(AddressAllowed(s, false, 0, nullptr));
  uint8_t family, addr[16];
  ASSERT_TRUE(ParseAddress("2001:db8::5", &family, addr));
  EXPECT_TRUE(AddressAllowed(s, true, family, addr));
}

TEST(KeySettings, RefusesMalformed) {
  EXPECT_TRUE(Refused("[]"));
  EXPECT_TRUE(Refused("null"));
  EXPECT_TRUE(Refused("{"));
  EXPECT_TRUE(Refused(R"({"max_role": "owner"})"));
  EXPECT_TRUE(Refused(R"({"max_role": 1})"));
  EXPECT_TRUE(Refused(R"({"max_role": null})"));  // null only in a patch
  EXPECT_FALSE(Refused(R"({"max_role": null})", true));
  EXPECT_TRUE(Refused(R"({"colour": "red"})"));
  EXPECT_TRUE(Refused(R"({"colour": null})", true));
  EXPECT_TRUE(Refused(R"({"scopes": "logs:*"})"));
  EXPECT_TRUE(Refused(R"({"scopes": [1]})"));
  EXPECT_TRUE(Refused(R"({"scopes": ["a*b"]})"));
  EXPECT_TRUE(Refused(R"({"scopes": ["\u00e9"]})"));
  EXPECT_TRUE(Refused(R"({"allowed_cidrs": ["10.0.0.1/8"]})"));
  EXPECT_TRUE(Refused(R"({"allowed_cidrs": "10.0.0.0/8"})"));
  EXPECT_TRUE(Refused(R"({"rate_limit": {"limit": 0, "window": "1 minute"}})"));
  EXPECT_TRUE(Refused(R"({"rate_limit": {"limit": -1, "window": "1 minute"}})"));
  EXPECT_TRUE(Refused(R"({"rate_limit": {"limit": 1.5, "window": "1 minute"}})"));
  EXPECT_TRUE(Refused(R"({"rate_limit": {"limit": 2147483648, "window": "1 minute"}})"));
  EXPECT_TRUE(Refused(R"({"rate_limit": {"limit": "10", "window": "1 minute"}})"));
  EXPECT_TRUE(Refused(R"({"rate_limit": {"limit": 10}})"));
  EXPECT_TRUE(Refused(R"({"rate_limit": {"limit": 10, "window": "1 minute", "burst": 2}})"));
  EXPECT_TRUE(Refused(R"({"rate_limit": {"limit": 10, "window": 60}})"));
  EXPECT_FALSE(Refused(R"({"rate_limit": {"limit": 2147483647, "window": "1 s"}})"));
  std::string many = R"({"scopes": [)";
  for (int i = 0; i < 17; i++) many += std::string(i ? "," : "") + "\"s" + std::to_string(i) + "\"";
  EXPECT_TRUE(Refused(many + "]}"));
  std::string cidrs = R"({"allowed_cidrs": [)";
  for (int i = 0; i < 9; i++) cidrs += std::string(i ? "," : "") + "\"10.0.0." + std::to_string(i) + "\"";
  EXPECT_TRUE(Refused(cidrs + "]}"));
}

TEST(DecideCheck, OrderAfterVerify) {
  KeySettings s = MustParse(R"({"scopes": ["logs:*"], "allowed_cidrs": ["10.0.0.0/8"]})");
  VerifyOutcome valid{VerifyCode::Valid, "org_admin"};
  uint8_t family, inside[16], outside[16];
  ASSERT_TRUE(ParseAddress("10.1.1.1", &family, inside));
  ASSERT_TRUE(ParseAddress("11.1.1.1", &family, outside));
  CheckRequest r;
  // No address: FORBIDDEN, even with a permission that does not match.
  r.has_permission = true;
  r.permission = "billing:read";
  EXPECT_EQ(DecideCheck(valid, s, r).code, VerifyCode::Forbidden);
  r.has_address = true, r.family = family, r.addr = outside;
  EXPECT_EQ(DecideCheck(valid, s, r).code, VerifyCode::Forbidden);
  r.addr = inside;
  EXPECT_EQ(DecideCheck(valid, s, r).code, VerifyCode::InsufficientPermissions);
  r.permission = "logs:read";
  EXPECT_EQ(DecideCheck(valid, s, r).code, VerifyCode::Valid);
  EXPECT_EQ(DecideCheck(valid, s, r).role, "org_admin");
  r.has_permission = false;  // no permission asked: scopes do not apply
  EXPECT_EQ(DecideCheck(valid, s, r).code, VerifyCode::Valid);
  // An earlier failure stays.
  VerifyOutcome expired{VerifyCode::Expired, {}};
  EXPECT_EQ(DecideCheck(expired, s, r).code, VerifyCode::Expired);
  // Settings that did not parse fail closed.
  KeySettings broken;
  broken.invalid = true;
  EXPECT_EQ(DecideCheck(valid, broken, CheckRequest{}).code, VerifyCode::Forbidden);
  EXPECT_EQ(VerifyCodeName(VerifyCode::InsufficientPermissions), "INSUFFICIENT_PERMISSIONS");
  EXPECT_EQ(VerifyCodeName(VerifyCode::RateLimited), "RATE_LIMITED");
  EXPECT_EQ(VerifyCodeName(VerifyCode::Forbidden), "FORBIDDEN");
}

TEST(DecideVerify, MaxRoleCapsTheReportedRole) {
  KeyFacts f;
  f.kind = KeyKind::User;
  f.hash_matches = f.org_exists = f.owner_exists = true;
  f.owner_role = Role::OrgAdmin;
  f.has_max_role = true;
  f.max_role = Role::ReadOnly;
  EXPECT_EQ(DecideVerify(true, f).role, "read_only");
  f.owner_role = Role::ReadOnly;
  f.max_role = Role::OrgAdmin;  // a ceiling never raises
  EXPECT_EQ(DecideVerify(true, f).role, "read_only");
  f.owner_platform_admin = true;
  f.owner_role = Role::None;
  f.max_role = Role::OrgAdmin;  // platform_admin ranks above org_admin
  EXPECT_EQ(DecideVerify(true, f).role, "org_admin");
  f.has_max_role = false;
  EXPECT_EQ(DecideVerify(true, f).role, "platform_admin");
  KeyFacts o;
  o.kind = KeyKind::Organization;
  o.hash_matches = o.org_exists = true;
  o.has_max_role = true;
  o.max_role = Role::ReadWrite;
  EXPECT_EQ(DecideVerify(true, o).role, "read_write");
}

}  // namespace
}  // namespace insight::core
