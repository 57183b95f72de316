// DecideVerify: the answer of insight.verify() from the facts read about one
// key, for every code and the precedence between them.
#include <gtest/gtest.h>

#include "verify_decision.hpp"

namespace insight::core {
namespace {

KeyFacts ValidUserKey(Role role) {
  KeyFacts f;
  f.kind = KeyKind::User;
  f.hash_matches = true;
  f.org_exists = true;
  f.owner_exists = true;
  f.owner_role = role;
  return f;
}

KeyFacts ValidOrgKey() {
  KeyFacts f;
  f.kind = KeyKind::Organization;
  f.hash_matches = true;
  f.org_exists = true;
  return f;
}

void ExpectOutcome(const VerifyOutcome& out, VerifyCode code, std::string_view role) {
  EXPECT_EQ(VerifyCodeName(out.code), VerifyCodeName(code));
  EXPECT_EQ(out.role, role);
}

TEST(VerifyCodeName, EveryCode) {
  EXPECT_EQ(VerifyCodeName(VerifyCode::Valid), "VALID");
  EXPECT_EQ(VerifyCodeName(VerifyCode::Malformed), "MALFORMED");
  EXPECT_EQ(VerifyCodeName(VerifyCode::NotFound), "NOT_FOUND");
  EXPECT_EQ(VerifyCodeName(VerifyCode::Expired), "EXPIRED");
  EXPECT_EQ(VerifyCodeName(VerifyCode::OwnerInactive), "OWNER_INACTIVE");
  EXPECT_EQ(VerifyCodeName(VerifyCode::Disabled), "DISABLED");
}

TEST(DecideVerify, ValidUserKeyReportsTheOwnersCurrentRole) {
  ExpectOutcome(DecideVerify(true, ValidUserKey(Role::OrgAdmin)), VerifyCode::Valid, "org_admin");
  ExpectOutcome(DecideVerify(true, ValidUserKey(Role::ReadWrite)), VerifyCode::Valid, "read_write");
  ExpectOutcome(DecideVerify(true, ValidUserKey(Role::ReadOnly)), VerifyCode::Valid, "read_only");
}

TEST(DecideVerify, PlatformAdminOwnerReportsPlatformAdmin) {
  KeyFacts f = ValidUserKey(Role::None);  // not a member of the key's organization
  f.owner_platform_admin = true;
  ExpectOutcome(DecideVerify(true, f), VerifyCode::Valid, "platform_admin");
  f.owner_role = Role::ReadOnly;
  ExpectOutcome(DecideVerify(true, f), VerifyCode::Valid, "platform_admin");
}

TEST(DecideVerify, ValidOrgKeyIsOrgAdmin) {
  ExpectOutcome(DecideVerify(true, ValidOrgKey()), VerifyCode::Valid, "org_admin");
  // An organization key has no owner: the owner fields are irrelevant.
  KeyFacts f = ValidOrgKey();
  f.owner_exists = false;
  f.owner_role = Role::None;
  ExpectOutcome(DecideVerify(true, f), VerifyCode::Valid, "org_admin");
}

TEST(DecideVerify, NotFound) {
  ExpectOutcome(DecideVerify(false, KeyFacts{}), VerifyCode::NotFound, "");
  // Whatever facts came along, a missing row is NOT_FOUND.
  ExpectOutcome(DecideVerify(false, ValidUserKey(Role::OrgAdmin)), VerifyCode::NotFound, "");
  ExpectOutcome(DecideVerify(false, ValidOrgKey()), VerifyCode::NotFound, "");
}

TEST(DecideVerify, WrongSecretIsIndistinguishableFromUnknownKey) {
  for (KeyFacts f : {ValidUserKey(Role::OrgAdmin), ValidOrgKey()}) {
    f.hash_matches = false;
    ExpectOutcome(DecideVerify(true, f), VerifyCode::NotFound, "");
    // Not even expiry or a deleted owner leaks through a wrong secret.
    f.expired = true;
    ExpectOutcome(DecideVerify(true, f), VerifyCode::NotFound, "");
    f.org_exists = false;
    f.owner_exists = false;
    ExpectOutcome(DecideVerify(true, f), VerifyCode::NotFound, "");
  }
}

TEST(DecideVerify, Expired) {
  KeyFacts user = ValidUserKey(Role::ReadWrite);
  user.expired = true;
  ExpectOutcome(DecideVerify(true, user), VerifyCode::Expired, "");
  KeyFacts org = ValidOrgKey();
  org.expired = true;
  ExpectOutcome(DecideVerify(true, org), VerifyCode::Expired, "");
  // Expiry is reported before the owner's state.
  user.owner_exists = false;
  user.org_exists = false;
  ExpectOutcome(DecideVerify(true, user), VerifyCode::Expired, "");
}

TEST(DecideVerify, Disabled) {
  for (KeyFacts f : {ValidUserKey(Role::ReadWrite), ValidOrgKey()}) {
    f.disabled = true;
    ExpectOutcome(DecideVerify(true, f), VerifyCode::Disabled, "");
    // After NOT_FOUND: a wrong secret or a missing row never tells it is disabled.
    ExpectOutcome(DecideVerify(false, f), VerifyCode::NotFound, "");
    KeyFacts wrong = f;
    wrong.hash_matches = false;
    ExpectOutcome(DecideVerify(true, wrong), VerifyCode::NotFound, "");
    // Before EXPIRED and before the owner's state.
    f.expired = true;
    ExpectOutcome(DecideVerify(true, f), VerifyCode::Disabled, "");
    f.org_exists = false;
    f.owner_exists = false;
    f.owner_role = Role::None;
    ExpectOutcome(DecideVerify(true, f), VerifyCode::Disabled, "");
  }
  // Enabled again: the key answers as before.
  KeyFacts enabled = ValidUserKey(Role::ReadOnly);
  enabled.disabled = false;
  ExpectOutcome(DecideVerify(true, enabled), VerifyCode::Valid, "read_only");
}

TEST(DecideVerify, OwnerInactive) {
  KeyFacts deleted_owner = ValidUserKey(Role::ReadWrite);
  deleted_owner.owner_exists = false;
  ExpectOutcome(DecideVerify(true, deleted_owner), VerifyCode::OwnerInactive, "");

  KeyFacts deleted_admin_owner = ValidUserKey(Role::None);
  deleted_admin_owner.owner_exists = false;
  deleted_admin_owner.owner_platform_admin = true;
  ExpectOutcome(DecideVerify(true, deleted_admin_owner), VerifyCode::OwnerInactive, "");

  KeyFacts no_longer_member = ValidUserKey(Role::None);
  ExpectOutcome(DecideVerify(true, no_longer_member), VerifyCode::OwnerInactive, "");

  KeyFacts deleted_org = ValidUserKey(Role::OrgAdmin);
  deleted_org.org_exists = false;
  ExpectOutcome(DecideVerify(true, deleted_org), VerifyCode::OwnerInactive, "");

  KeyFacts deleted_org_admin_owner = ValidUserKey(Role::None);
  deleted_org_admin_owner.owner_platform_admin = true;
  deleted_org_admin_owner.org_exists = false;
  ExpectOutcome(DecideVerify(true, deleted_org_admin_owner), VerifyCode::OwnerInactive, "");

  KeyFacts org_key_of_deleted_org = ValidOrgKey();
  org_key_of_deleted_org.org_exists = false;
  ExpectOutcome(DecideVerify(true, org_key_of_deleted_org), VerifyCode::OwnerInactive, "");
}

}  // namespace
}  // namespace insight::core
