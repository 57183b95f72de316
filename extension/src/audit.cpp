#include "audit.hpp"

extern "C" {
#include "catalog/pg_type.h"
}

namespace insight {

namespace {
Statement g_insert_audit = {
    "INSERT INTO insight.audit_log (actor_kind, actor_user_id, actor_key_id, actor_db_role, "
    "action, org_id, user_id, key_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)",
    9,
    {TEXTOID, UUIDOID, UUIDOID, TEXTOID, TEXTOID, UUIDOID, UUIDOID, UUIDOID, TEXTOID},
    nullptr};

void SetUuid(Datum* values, char* nulls, int i, const std::optional<core::Uuid>& u) {
  if (u) {
    values[i] = UuidToDatum(*u);
  } else {
    nulls[i] = 'n';
  }
}
}  // namespace

void WriteAudit(const Actor& actor, const char* action, const std::optional<core::Uuid>& org,
                const std::optional<core::Uuid>& user, const std::optional<core::Uuid>& key,
                const std::string& detail_json) {
  Datum values[9];
  char nulls[10] = "         ";
  values[0] = TextToDatum(actor.kind);
  SetUuid(values, nulls, 1, actor.user);
  SetUuid(values, nulls, 2, actor.key);
  values[3] = TextToDatum(actor.db_role);
  values[4] = TextToDatum(action);
  SetUuid(values, nulls, 5, org);
  SetUuid(values, nulls, 6, user);
  SetUuid(values, nulls, 7, key);
  values[8] = TextToDatum(detail_json);
  Run(g_insert_audit, values, nulls, false);
}

}  // namespace insight
