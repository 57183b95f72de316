// revoke_key(): permanent, immediate, and indistinguishable from "not found"
// for a key the principal may not manage.
#include "../core/json_object.hpp"
#include "audit.hpp"
#include "principal.hpp"

extern "C" {
#include "catalog/pg_type.h"
}

namespace insight {

namespace {
Statement g_lock_key = {"SELECT kind, org_id, owner_id, name FROM insight.api_keys WHERE id = $1 FOR UPDATE",
                        1, {UUIDOID}, nullptr};
Statement g_delete_key = {"DELETE FROM insight.api_keys WHERE id = $1", 1, {UUIDOID}, nullptr};
}  // namespace

static Datum RevokeKey(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0)) throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "key_id must not be null");
  core::Uuid key_id = UuidFromDatum(PG_GETARG_DATUM(0));
  const core::PrincipalFacts facts = CurrentFacts();
  Actor actor = CurrentActor();

  Elevated e = Elevated::Begin();
  Datum arg = UuidToDatum(key_id);
  bool visible = false;
  core::KeyKind kind = core::KeyKind::User;
  core::Uuid org;
  std::optional<core::Uuid> owner;
  std::string name;
  if (Run(g_lock_key, &arg, nullptr, false) > 0) {
    kind = ColumnText(0, 1) == "organization" ? core::KeyKind::Organization : core::KeyKind::User;
    org = ColumnUuid(0, 2);
    owner = ColumnUuidOrNull(0, 3);
    name = ColumnText(0, 4);
    visible = core::MayViewKey(facts, kind, org, owner ? &*owner : nullptr);
  }
  if (!visible) throw SqlError(ERRCODE_NO_DATA_FOUND, "API key not found");
  Run(g_delete_key, &arg, nullptr, false);
  core::JsonObject detail;
  detail.Add("kind", core::KindName(kind)).Add("name", name).Add("reason", "revoked");
  WriteAudit(actor, "key.revoked", org, owner, key_id, detail.Str());
  e.End();
  PG_RETURN_VOID();
}

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_revoke_key, insight::RevokeKey)
