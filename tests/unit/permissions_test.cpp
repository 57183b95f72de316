// The permission matrix (README "Roles and permissions"; and the identity/visibility rules,
// §6-§8 that build on it) as a table: every principal kind and role, every
// action, every target inside and outside the principal's organization. Each
// cell is its own test case, named <principal>_<action>.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "permissions.hpp"

namespace insight::core {
namespace {

Uuid MakeUuid(uint8_t tag) {
  Uuid u;
  u.bytes[0] = 0x10;
  u.bytes[15] = tag;
  return u;
}

// The world every cell is evaluated in: the principal's home organization O,
// another organization P, the person S behind the principal (if any) and
// another person T.
const Uuid kOrgO = MakeUuid(1);
const Uuid kOrgP = MakeUuid(2);
const Uuid kSelf = MakeUuid(3);
const Uuid kOther = MakeUuid(4);

// ---- the actions (columns)

enum Column {
  kGenOrgKeyO,
  kGenOrgKeyP,
  kGenUserKeyO,  // always for oneself: there is no way to ask for another owner
  kGenUserKeyP,
  kKeyOwnUserO,  // view = revoke (the matrix rows "view keys" and "revoke keys")
  kKeyOtherUserO,
  kKeyOrgO,
  kKeyOwnUserP,
  kKeyOtherUserP,
  kKeyOrgP,
  kAdministerIdentities,  // create/delete organization, create/delete user, set_platform_admin
  kMembershipsO,          // set_membership / remove_membership (people only)
  kMembershipsP,
  kViewCascades,
  kViewOrgO,
  kViewOrgP,
  kViewMembersO,  // the user rows of O's members
  kViewMembersP,
  kViewMembershipSelfO,
  kViewMembershipOtherO,
  kViewMembershipSelfP,
  kViewMembershipOtherP,
  kViewUserSelf,
  kViewUserOther,
  kAuditInOByOther,       // org O, actor T, subject T
  kAuditInOBySelf,        // org O, actor S, subject T
  kAuditInPAboutSelf,     // org P, actor T, subject S
  kAuditNoOrgAboutSelf,   // no org, actor T, subject S
  kAuditNoOrgAboutOther,  // no org, actor T, subject T
  kColumnCount
};

const char* const kColumnNames[kColumnCount] = {
    "GenerateOrgKeyInO",
    "GenerateOrgKeyInP",
    "GenerateUserKeyInO",
    "GenerateUserKeyInP",
    "ManageOwnUserKeyInO",
    "ManageOthersUserKeyInO",
    "ManageOrgKeyOfO",
    "ManageOwnUserKeyInP",
    "ManageOthersUserKeyInP",
    "ManageOrgKeyOfP",
    "AdministerIdentities",
    "ManageMembershipsOfO",
    "ManageMembershipsOfP",
    "ViewCascades",
    "ViewOrgO",
    "ViewOrgP",
    "ViewMembersOfO",
    "ViewMembersOfP",
    "ViewOwnMembershipInO",
    "ViewOthersMembershipInO",
    "ViewOwnMembershipInP",
    "ViewOthersMembershipInP",
    "ViewSelf",
    "ViewOtherUser",
    "AuditInOByOther",
    "AuditInOBySelf",
    "AuditInPAboutSelf",
    "AuditNoOrgAboutSelf",
    "AuditNoOrgAboutOther",
};

bool Decide(const PrincipalFacts& p, Column c) {
  switch (c) {
    case kGenOrgKeyO:
      return MayGenerateOrgKey(p, kOrgO);
    case kGenOrgKeyP:
      return MayGenerateOrgKey(p, kOrgP);
    case kGenUserKeyO:
      return MayGenerateUserKey(p, kOrgO);
    case kGenUserKeyP:
      return MayGenerateUserKey(p, kOrgP);
    case kKeyOwnUserO:
      return MayViewKey(p, KeyKind::User, kOrgO, &kSelf);
    case kKeyOtherUserO:
      return MayViewKey(p, KeyKind::User, kOrgO, &kOther);
    case kKeyOrgO:
      return MayViewKey(p, KeyKind::Organization, kOrgO, nullptr);
    case kKeyOwnUserP:
      return MayViewKey(p, KeyKind::User, kOrgP, &kSelf);
    case kKeyOtherUserP:
      return MayViewKey(p, KeyKind::User, kOrgP, &kOther);
    case kKeyOrgP:
      return MayViewKey(p, KeyKind::Organization, kOrgP, nullptr);
    case kAdministerIdentities:
      return MayAdministerIdentities(p);
    case kMembershipsO:
      return MayManageMemberships(p, kOrgO);
    case kMembershipsP:
      return MayManageMemberships(p, kOrgP);
    case kViewCascades:
      return MayViewCascades(p);
    case kViewOrgO:
      return MayViewOrganization(p, kOrgO);
    case kViewOrgP:
      return MayViewOrganization(p, kOrgP);
    case kViewMembersO:
      return MayViewMembers(p, kOrgO);
    case kViewMembersP:
      return MayViewMembers(p, kOrgP);
    case kViewMembershipSelfO:
      return MayViewMembership(p, kSelf, kOrgO);
    case kViewMembershipOtherO:
      return MayViewMembership(p, kOther, kOrgO);
    case kViewMembershipSelfP:
      return MayViewMembership(p, kSelf, kOrgP);
    case kViewMembershipOtherP:
      return MayViewMembership(p, kOther, kOrgP);
    case kViewUserSelf:
      return MayViewUser(p, kSelf);
    case kViewUserOther:
      return MayViewUser(p, kOther);
    case kAuditInOByOther:
      return MayViewAuditEvent(p, &kOrgO, &kOther, &kOther);
    case kAuditInOBySelf:
      return MayViewAuditEvent(p, &kOrgO, &kSelf, &kOther);
    case kAuditInPAboutSelf:
      return MayViewAuditEvent(p, &kOrgP, &kOther, &kSelf);
    case kAuditNoOrgAboutSelf:
      return MayViewAuditEvent(p, nullptr, &kOther, &kSelf);
    case kAuditNoOrgAboutOther:
      return MayViewAuditEvent(p, nullptr, &kOther, &kOther);
    case kColumnCount:
      break;
  }
  ADD_FAILURE() << "unknown column " << c;
  return false;
}

// ---- the principals (rows)

PrincipalFacts Person(PrincipalKind kind, bool platform_admin, std::vector<Membership> roles,
                      Uuid key_org = Uuid{}) {
  PrincipalFacts p;
  p.kind = kind;
  p.user = kSelf;
  p.org = key_org;
  p.platform_admin = platform_admin;
  p.memberships = std::move(roles);
  return p;
}

PrincipalFacts Nobody() { return PrincipalFacts{}; }
PrincipalFacts OperatorPrincipal() {
  PrincipalFacts p;
  p.kind = PrincipalKind::Operator;
  return p;
}
PrincipalFacts OrgKey(const Uuid& org) {
  PrincipalFacts p;
  p.kind = PrincipalKind::OrgKey;
  p.org = org;
  return p;
}

struct Row {
  const char* name;
  PrincipalFacts facts;
  // One letter per column, Y or N; spaces and '|' only group columns for the reader.
  const char* expected;
};

// The expected letter of each cell, column groups as in enum Column:
//   generate:  org key in O, in P; user key in O, in P
//   keys O:    own user key, another's user key, org key      (view = revoke)
//   keys P:    the same in P
//   admin:     identities; memberships of O, of P; cascades
//   orgs:      view O, view P; members of O, members of P
//   member-    own in O, another's in O, own in P, another's in P
//     ships:
//   users:     self, another
//   audit:     in O by T; in O by S; in P about S; no org about S; no org about T
// clang-format off
const std::vector<Row>& Matrix() {
  static const std::vector<Row> rows = {
      //                                                          gen     keys O  keys P  admin    orgs    memb.   users audit
      // Nobody sees nothing and may do nothing.
      {"Nobody", Nobody(),                                       "NN NN | NNN | NNN | N NN N | NN NN | NNNN | NN | NNNNN"},
      // The operator is the platform itself: everything but owning user keys.
      {"Operator", OperatorPrincipal(),                          "YY NN | YYY | YYY | Y YY Y | YY YY | YYYY | YY | YYYYY"},
      // Platform admin: any org, user keys for self in any org, every key.
      {"PlatformAdmin", Person(PrincipalKind::User, true, {}),   "YY YY | YYY | YYY | Y YY Y | YY YY | YYYY | YY | YYYYY"},
      {"PlatformAdminAlsoReadOnlyInO",
       Person(PrincipalKind::User, true, {{kOrgO, Role::ReadOnly}}),
                                                                 "YY YY | YYY | YYY | Y YY Y | YY YY | YYYY | YY | YYYYY"},
      // Org admin of O: org keys of O, user keys for self in O, all keys of O.
      // Own user keys stay visible to their owner anywhere (e.g. after the
      // membership went, until the cascade deletes them).
      {"OrgAdminOfO",
       Person(PrincipalKind::User, false, {{kOrgO, Role::OrgAdmin}}),
                                                                 "YN YN | YYY | YNN | N YN N | YN YN | YYYN | YN | YYYYN"},
      {"OrgAdminOfOReadOnlyInP",
       Person(PrincipalKind::User, false, {{kOrgO, Role::OrgAdmin}, {kOrgP, Role::ReadOnly}}),
                                                                 "YN YY | YYY | YNN | N YN N | YY YN | YYYN | YN | YYYYN"},
      // Users: user keys for self in O, own user keys only.
      {"ReadWriteInO",
       Person(PrincipalKind::User, false, {{kOrgO, Role::ReadWrite}}),
                                                                 "NN YN | YNN | YNN | N NN N | YN NN | YNYN | YN | NYYYN"},
      {"ReadOnlyInO",
       Person(PrincipalKind::User, false, {{kOrgO, Role::ReadOnly}}),
                                                                 "NN YN | YNN | YNN | N NN N | YN NN | YNYN | YN | NYYYN"},
      {"MemberOfNothing", Person(PrincipalKind::User, false, {}),
                                                                 "NN NN | YNN | YNN | N NN N | NN NN | YNYN | YN | NYYYN"},
      // User keys: never generate, never manage memberships (a leaked key must
      // not mint an admin whose keys outlive its revocation); the owner's
      // current role, in the key's org only.
      {"UserKeyOfOOwnerOrgAdmin",
       Person(PrincipalKind::UserKey, false, {{kOrgO, Role::OrgAdmin}}, kOrgO),
                                                                 "NN NN | YYY | NNN | N NN N | YN YN | YYNN | YN | YYNNN"},
      {"UserKeyOfOOwnerOrgAdminOfOAndP",
       Person(PrincipalKind::UserKey, false, {{kOrgO, Role::OrgAdmin}, {kOrgP, Role::OrgAdmin}}, kOrgO),
                                                                 "NN NN | YYY | NNN | N NN N | YN YN | YYNN | YN | YYNNN"},
      {"UserKeyOfOOwnerReadWrite",
       Person(PrincipalKind::UserKey, false, {{kOrgO, Role::ReadWrite}}, kOrgO),
                                                                 "NN NN | YNN | NNN | N NN N | YN NN | YNNN | YN | NYNNN"},
      {"UserKeyOfOOwnerReadOnly",
       Person(PrincipalKind::UserKey, false, {{kOrgO, Role::ReadOnly}}, kOrgO),
                                                                 "NN NN | YNN | NNN | N NN N | YN NN | YNNN | YN | NYNNN"},
      // A platform admin's user key is org_admin of the key's org, not platform-wide.
      {"UserKeyOfOOwnerPlatformAdmin",
       Person(PrincipalKind::UserKey, true, {}, kOrgO),         "NN NN | YYY | NNN | N NN N | YN YN | YYNN | YN | YYNNN"},
      // Organization key: org_admin rights in its org and nowhere else; no person.
      {"OrgKeyOfO", OrgKey(kOrgO),                               "NN NN | YYY | NNN | N NN N | YN YN | YYNN | NN | YYNNN"},
  };
  return rows;
}
// clang-format on

std::string Letters(const char* expected) {
  std::string out;
  for (const char* c = expected; *c; c++) {
    if (*c == 'Y' || *c == 'N') out.push_back(*c);
  }
  return out;
}

TEST(PermissionMatrix, TableIsComplete) {
  std::set<PrincipalKind> kinds;
  std::set<std::string> names;
  for (const Row& row : Matrix()) {
    const std::string letters = Letters(row.expected);
    EXPECT_EQ(letters.size(), static_cast<size_t>(kColumnCount)) << row.name;
    EXPECT_EQ(letters.size() + std::count(row.expected, row.expected + strlen(row.expected), ' ') +
                  std::count(row.expected, row.expected + strlen(row.expected), '|'),
              strlen(row.expected))
        << row.name << ": only Y, N, spaces and | allowed";
    kinds.insert(row.facts.kind);
    EXPECT_TRUE(names.insert(row.name).second) << "duplicate row " << row.name;
  }
  EXPECT_EQ(kinds.size(), 5u) << "every PrincipalKind has a row";
  for (int c = 0; c < kColumnCount; c++) EXPECT_NE(kColumnNames[c], nullptr) << "column " << c;
}

struct Cell {
  size_t row;
  Column column;
};

// How gtest shows a cell (instead of its bytes) in listings and failures.
void PrintTo(const Cell& cell, std::ostream* os) {
  *os << Matrix()[cell.row].name << "/" << kColumnNames[cell.column];
}

class PermissionCell : public ::testing::TestWithParam<Cell> {};

TEST_P(PermissionCell, Decides) {
  const Row& row = Matrix()[GetParam().row];
  const std::string letters = Letters(row.expected);
  ASSERT_EQ(letters.size(), static_cast<size_t>(kColumnCount));
  const bool expected = letters[GetParam().column] == 'Y';
  EXPECT_EQ(Decide(row.facts, GetParam().column), expected)
      << row.name << " / " << kColumnNames[GetParam().column];
}

std::vector<Cell> AllCells() {
  std::vector<Cell> cells;
  for (size_t r = 0; r < Matrix().size(); r++) {
    for (int c = 0; c < kColumnCount; c++) cells.push_back({r, static_cast<Column>(c)});
  }
  return cells;
}

INSTANTIATE_TEST_SUITE_P(Matrix, PermissionCell, ::testing::ValuesIn(AllCells()),
                         [](const ::testing::TestParamInfo<Cell>& info) {
                           return std::string(Matrix()[info.param.row].name) + "_" +
                                  kColumnNames[info.param.column];
                         });

// ---- the helpers behind the matrix

TEST(Roles, ParseAndName) {
  EXPECT_EQ(ParseRole("org_admin"), Role::OrgAdmin);
  EXPECT_EQ(ParseRole("read_write"), Role::ReadWrite);
  EXPECT_EQ(ParseRole("read_only"), Role::ReadOnly);
  for (std::string_view bad : {"", "ORG_ADMIN", "org_admin ", "platform_admin", "none", "admin"}) {
    EXPECT_EQ(ParseRole(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(RoleName(Role::OrgAdmin), "org_admin");
  EXPECT_EQ(RoleName(Role::ReadWrite), "read_write");
  EXPECT_EQ(RoleName(Role::ReadOnly), "read_only");
  EXPECT_EQ(RoleName(Role::None), "");
}

TEST(Roles, ReportedRole) {
  EXPECT_EQ(ReportedRole(true, Role::None), "platform_admin");
  EXPECT_EQ(ReportedRole(true, Role::ReadOnly), "platform_admin");
  EXPECT_EQ(ReportedRole(false, Role::OrgAdmin), "org_admin");
  EXPECT_EQ(ReportedRole(false, Role::ReadWrite), "read_write");
  EXPECT_EQ(ReportedRole(false, Role::ReadOnly), "read_only");
  EXPECT_EQ(ReportedRole(false, Role::None), "");
}

TEST(Roles, EffectiveRole) {
  auto role_in = [](const PrincipalFacts& p) {
    return std::make_pair(EffectiveRole(p, kOrgO), EffectiveRole(p, kOrgP));
  };
  using R = std::pair<Role, Role>;
  EXPECT_EQ(role_in(Nobody()), R(Role::None, Role::None));
  EXPECT_EQ(role_in(OperatorPrincipal()), R(Role::None, Role::None));
  EXPECT_EQ(role_in(Person(PrincipalKind::User, true, {})), R(Role::OrgAdmin, Role::OrgAdmin));
  EXPECT_EQ(role_in(Person(PrincipalKind::User, false, {{kOrgO, Role::ReadWrite}})),
            R(Role::ReadWrite, Role::None));
  EXPECT_EQ(role_in(Person(PrincipalKind::User, false,
                           {{kOrgO, Role::ReadOnly}, {kOrgP, Role::OrgAdmin}})),
            R(Role::ReadOnly, Role::OrgAdmin));
  EXPECT_EQ(role_in(Person(PrincipalKind::UserKey, false,
                           {{kOrgO, Role::ReadOnly}, {kOrgP, Role::OrgAdmin}}, kOrgO)),
            R(Role::ReadOnly, Role::None));
  EXPECT_EQ(role_in(Person(PrincipalKind::UserKey, true, {}, kOrgO)),
            R(Role::OrgAdmin, Role::None));
  EXPECT_EQ(role_in(OrgKey(kOrgO)), R(Role::OrgAdmin, Role::None));
  EXPECT_EQ(role_in(OrgKey(kOrgP)), R(Role::None, Role::OrgAdmin));
}

TEST(Roles, IsPlatformWide) {
  EXPECT_FALSE(IsPlatformWide(Nobody()));
  EXPECT_TRUE(IsPlatformWide(OperatorPrincipal()));
  EXPECT_TRUE(IsPlatformWide(Person(PrincipalKind::User, true, {})));
  EXPECT_FALSE(IsPlatformWide(Person(PrincipalKind::User, false, {{kOrgO, Role::OrgAdmin}})));
  EXPECT_FALSE(IsPlatformWide(Person(PrincipalKind::UserKey, true, {}, kOrgO)));
  EXPECT_FALSE(IsPlatformWide(OrgKey(kOrgO)));
}

// An org key's creator who loses org_admin no longer sees or manages
// it, at once; the permission follows the current facts, not history.
TEST(PermissionMatrix, DemotionTakesEffectWithTheFacts) {
  PrincipalFacts p = Person(PrincipalKind::User, false, {{kOrgO, Role::OrgAdmin}});
  EXPECT_TRUE(MayViewKey(p, KeyKind::Organization, kOrgO, nullptr));
  EXPECT_TRUE(MayGenerateOrgKey(p, kOrgO));
  p.memberships[0].role = Role::ReadWrite;
  EXPECT_FALSE(MayViewKey(p, KeyKind::Organization, kOrgO, nullptr));
  EXPECT_FALSE(MayGenerateOrgKey(p, kOrgO));

  PrincipalFacts admin = Person(PrincipalKind::User, true, {});
  EXPECT_TRUE(MayViewKey(admin, KeyKind::Organization, kOrgP, nullptr));
  admin.platform_admin = false;
  EXPECT_FALSE(MayViewKey(admin, KeyKind::Organization, kOrgP, nullptr));
  EXPECT_FALSE(MayAdministerIdentities(admin));
}

// A user key row is only ever "own" by its owner id, never by a nil owner.
TEST(PermissionMatrix, UserKeyWithoutOwnerIsNobodysOwn) {
  PrincipalFacts p = Person(PrincipalKind::User, false, {{kOrgO, Role::ReadWrite}});
  EXPECT_FALSE(MayViewKey(p, KeyKind::User, kOrgO, nullptr));
  Uuid nil;
  EXPECT_FALSE(MayViewKey(p, KeyKind::User, kOrgO, &nil));
  // An organization key is never "own", even if an owner id were passed.
  EXPECT_FALSE(MayViewKey(p, KeyKind::Organization, kOrgO, &kSelf));
}

// max_role: the ceiling is the lower of two roles, and every decision about a
// key principal follows the capped role (an org key capped at read_only can
// view its organization but not view or revoke its keys).
TEST(Roles, LowerRoleOrdering) {
  const Role order[] = {Role::None, Role::ReadOnly, Role::ReadWrite, Role::OrgAdmin};
  for (int i = 0; i < 4; i++) {
    for (int j = 0; j < 4; j++) {
      EXPECT_EQ(LowerRole(order[i], order[j]), order[std::min(i, j)]) << i << "," << j;
    }
  }
}

TEST(Roles, CappedKeyRole) {
  EXPECT_EQ(CappedKeyRole(KeyKind::Organization, false, Role::None, false, Role::OrgAdmin), "org_admin");
  EXPECT_EQ(CappedKeyRole(KeyKind::Organization, false, Role::None, true, Role::ReadOnly), "read_only");
  EXPECT_EQ(CappedKeyRole(KeyKind::User, false, Role::ReadWrite, true, Role::OrgAdmin), "read_write");
  EXPECT_EQ(CappedKeyRole(KeyKind::User, false, Role::OrgAdmin, true, Role::ReadWrite), "read_write");
  EXPECT_EQ(CappedKeyRole(KeyKind::User, true, Role::None, false, Role::OrgAdmin), "platform_admin");
  EXPECT_EQ(CappedKeyRole(KeyKind::User, true, Role::None, true, Role::OrgAdmin), "org_admin");
  EXPECT_EQ(CappedKeyRole(KeyKind::User, true, Role::ReadOnly, true, Role::ReadWrite), "read_write");
}

TEST(PermissionMatrix, KeyCeilingAppliesEverywhere) {
  PrincipalFacts org_key = OrgKey(kOrgO);
  org_key.key_capped = true;
  org_key.key_ceiling = Role::ReadOnly;
  EXPECT_EQ(EffectiveRole(org_key, kOrgO), Role::ReadOnly);
  EXPECT_EQ(EffectiveRole(org_key, kOrgP), Role::None);
  EXPECT_TRUE(MayViewOrganization(org_key, kOrgO));
  EXPECT_FALSE(MayViewKey(org_key, KeyKind::Organization, kOrgO, nullptr));
  EXPECT_FALSE(MayViewKey(org_key, KeyKind::User, kOrgO, &kOther));
  EXPECT_FALSE(MayViewMembers(org_key, kOrgO));
  EXPECT_FALSE(MayViewAuditEvent(org_key, &kOrgO, nullptr, nullptr));
  org_key.key_ceiling = Role::OrgAdmin;
  EXPECT_TRUE(MayViewKey(org_key, KeyKind::Organization, kOrgO, nullptr));

  PrincipalFacts admin_key = Person(PrincipalKind::UserKey, false, {{kOrgO, Role::OrgAdmin}}, kOrgO);
  admin_key.key_capped = true;
  admin_key.key_ceiling = Role::ReadWrite;
  EXPECT_EQ(EffectiveRole(admin_key, kOrgO), Role::ReadWrite);
  EXPECT_FALSE(MayViewKey(admin_key, KeyKind::Organization, kOrgO, nullptr));
  EXPECT_TRUE(MayViewKey(admin_key, KeyKind::User, kOrgO, &kSelf));  // its owner's own keys
  PrincipalFacts platform_key = Person(PrincipalKind::UserKey, true, {}, kOrgO);
  platform_key.key_capped = true;
  platform_key.key_ceiling = Role::ReadOnly;
  EXPECT_EQ(EffectiveRole(platform_key, kOrgO), Role::ReadOnly);
  // A person's own rights are never capped by a key's settings.
  PrincipalFacts person = Person(PrincipalKind::User, false, {{kOrgO, Role::OrgAdmin}});
  person.key_ceiling = Role::ReadOnly;
  EXPECT_EQ(EffectiveRole(person, kOrgO), Role::OrgAdmin);
}

TEST(PermissionMatrix, ActsInOrg) {
  EXPECT_FALSE(ActsInOrg(Nobody(), kOrgO));
  EXPECT_TRUE(ActsInOrg(OperatorPrincipal(), kOrgO));
  EXPECT_TRUE(ActsInOrg(Person(PrincipalKind::User, true, {}), kOrgP));
  EXPECT_TRUE(ActsInOrg(Person(PrincipalKind::User, false, {{kOrgO, Role::ReadOnly}}), kOrgO));
  EXPECT_FALSE(ActsInOrg(Person(PrincipalKind::User, false, {{kOrgO, Role::ReadOnly}}), kOrgP));
  EXPECT_TRUE(ActsInOrg(OrgKey(kOrgO), kOrgO));
  EXPECT_FALSE(ActsInOrg(OrgKey(kOrgO), kOrgP));
  EXPECT_TRUE(ActsInOrg(Person(PrincipalKind::UserKey, false, {{kOrgO, Role::ReadOnly}}, kOrgO), kOrgO));
  EXPECT_FALSE(ActsInOrg(Person(PrincipalKind::UserKey, true, {}, kOrgO), kOrgP));
}

}  // namespace
}  // namespace insight::core
