// generate_user_key() and generate_org_key(): the only place a plaintext key
// exists, in the row returned to the caller. Only its SHA-256 is stored.
#include "../core/json_object.hpp"
#include "arguments.hpp"
#include "audit.hpp"
#include "key_management.hpp"
#include "key_hash.hpp"
#include "keys.hpp"
#include "org_policy.hpp"
#include "principal.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "port.h"
#include "utils/builtins.h"
}

namespace insight {

namespace {


Statement g_lock_org = {"SELECT 1 FROM insight.organizations WHERE id = $1 FOR SHARE", 1,
                        {UUIDOID}, nullptr};
// Locks taken FOR SHARE so that a concurrent deletion, demotion or membership
// removal either waits for this key to commit (and its cascade then sees the
// key) or commits first (and this re-read sees the change).
Statement g_lock_user = {"SELECT is_platform_admin, email FROM insight.users WHERE id = $1 FOR SHARE",
                         1, {UUIDOID}, nullptr};
Statement g_lock_membership = {
    "SELECT role FROM insight.memberships WHERE user_id = $1 AND org_id = $2 FOR SHARE", 2,
    {UUIDOID, UUIDOID}, nullptr};
Statement g_insert_key = {
    "INSERT INTO insight.api_keys (lookup_id, kind, org_id, owner_id, created_by, "
    "created_by_label, name, hint, secret_hash, expires_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    10,
    {TEXTOID, TEXTOID, UUIDOID, UUIDOID, UUIDOID, TEXTOID, TEXTOID, TEXTOID, BYTEAOID,
     TIMESTAMPTZOID},
    nullptr};

bool StrongRandom(void* buf, size_t len) { return pg_strong_random(buf, len); }

[[noreturn]] void DenyGeneration(core::KeyKind kind) {
  throw SqlError(ERRCODE_INSUFFICIENT_PRIVILEGE,
                 kind == core::KeyKind::User
                     ? "permission denied to generate a user key in this organization"
                     : "permission denied to generate an organization key for this organization");
}

Datum HashDatum(const uint8_t hash[32]) {
  return PgCall([hash]() {
    bytea* b = static_cast<bytea*>(palloc(VARHDRSZ + 32));
    SET_VARSIZE(b, VARHDRSZ + 32);
    memcpy(VARDATA(b), hash, 32);
    return PointerGetDatum(b);
  });
}

}  // namespace

// Generation proper, shared by generate_*_key and rotate_key so that every
// rule about who may create which key applies to both.
NewKey CreateKey(const NewKeyRequest& request) {
  const core::KeyKind kind = request.kind;
  const core::Uuid& org = request.org;
  const std::string& name = request.name;
  bool has_expiry = request.expires_at.has_value();
  TimestampTz expires_at = has_expiry ? *request.expires_at : 0;

  core::PrincipalFacts facts = CurrentFacts();
  Actor actor = CurrentActor();
  // Keys never create keys; user keys are only ever for oneself.
  bool person = facts.kind == core::PrincipalKind::User;
  if (!person && !(kind == core::KeyKind::Organization && facts.kind == core::PrincipalKind::Operator)) {
    if (facts.kind == core::PrincipalKind::UserKey || facts.kind == core::PrincipalKind::OrgKey) {
      throw SqlError(ERRCODE_INSUFFICIENT_PRIVILEGE, "an API key cannot generate API keys");
    }
    DenyGeneration(kind);
  }

  Elevated e = Elevated::Begin();
  Datum org_arg = UuidToDatum(org);
  std::string creator_label = "operator";
  bool platform_wide = !person;  // the operator
  if (person) {
    Datum user_arg = UuidToDatum(facts.user);
    if (Run(g_lock_user, &user_arg, nullptr, false) == 0) DenyGeneration(kind);
    facts.platform_admin = ColumnBool(0, 1);
    creator_label = ColumnText(0, 2);
    platform_wide = facts.platform_admin;
    facts.memberships.clear();
    if (!platform_wide) {
      // Rights first, before the organization is looked up: without a
      // membership an existing foreign organization and an unknown one
      // answer alike, by the same reads. The locked membership also holds
      // the organization (its foreign key), so no lock on that row is needed.
      Datum args[2] = {user_arg, org_arg};
      if (Run(g_lock_membership, args, nullptr, false) == 0) DenyGeneration(kind);
      facts.memberships.push_back(
          {org, core::ParseRole(ColumnText(0, 1)).value_or(core::Role::None)});
    }
  }
  if (platform_wide && Run(g_lock_org, &org_arg, nullptr, false) == 0) {
    throw SqlError(ERRCODE_NO_DATA_FOUND, "organization not found");
  }
  bool allowed = kind == core::KeyKind::User ? core::MayGenerateUserKey(facts, org)
                                             : core::MayGenerateOrgKey(facts, org);
  if (!allowed) DenyGeneration(kind);
  // The organization's policy on expiry (docs/DESIGN.md, "Organization policies").
  CheckPolicyExpiry(org, has_expiry ? std::optional<TimestampTz>(expires_at) : std::nullopt);

  std::string key = core::GenerateKey(kind, StrongRandom);
  core::ParsedKey parsed;
  core::ParseKey(key, &parsed);
  uint8_t hash[32];
  HashKey(key, hash);

  Datum values[10];
  char nulls[11] = "          ";
  values[0] = TextToDatum(std::string(parsed.lookup_id));
  values[1] = TextToDatum(std::string(core::KindName(kind)));
  values[2] = org_arg;
  if (kind == core::KeyKind::User) {
    values[3] = UuidToDatum(facts.user);
  } else {
    nulls[3] = 'n';
  }
  if (person) {
    values[4] = UuidToDatum(facts.user);
  } else {
    nulls[4] = 'n';
  }
  values[5] = TextToDatum(creator_label);
  values[6] = TextToDatum(name);
  values[7] = TextToDatum(core::MakeHint(key));
  values[8] = HashDatum(hash);
  if (has_expiry) {
    values[9] = TimestampTzGetDatum(expires_at);
  } else {
    nulls[9] = 'n';
  }
  Run(g_insert_key, values, nulls, false);
  core::Uuid key_id = ColumnUuid(0, 1);

  if (request.audit_generated) {
    core::JsonObject detail;
    detail.Add("kind", core::KindName(kind)).Add("name", name);
    WriteAudit(actor, "key.generated", org,
               kind == core::KeyKind::User ? std::optional<core::Uuid>(facts.user) : std::nullopt,
               key_id, detail.Str());
  }
  e.End();
  return NewKey{key_id, std::move(key)};
}

namespace {

Datum GenerateKey(FunctionCallInfo fcinfo, core::KeyKind kind) {
  if (PG_ARGISNULL(0)) throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "org_id must not be null");
  NewKeyRequest request;
  request.kind = kind;
  request.org = UuidFromDatum(PG_GETARG_DATUM(0));
  request.name = RequiredText(fcinfo, 1, "name", kMaxTextLen);
  if (PG_NARGS() > 2 && !PG_ARGISNULL(2)) request.expires_at = PG_GETARG_TIMESTAMPTZ(2);
  NewKey created = CreateKey(request);

  Datum out[2] = {UuidToDatum(created.key_id), TextToDatum(created.api_key)};
  bool out_nulls[2] = {false, false};
  return ReturnComposite(fcinfo, out, out_nulls);
}

}  // namespace

static Datum GenerateUserKey(FunctionCallInfo fcinfo) {
  return GenerateKey(fcinfo, core::KeyKind::User);
}
static Datum GenerateOrgKey(FunctionCallInfo fcinfo) {
  return GenerateKey(fcinfo, core::KeyKind::Organization);
}

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_generate_user_key, insight::GenerateUserKey)
INSIGHT_SQL_FUNCTION(insight_generate_org_key, insight::GenerateOrgKey)
