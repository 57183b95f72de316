#include "audit.hpp"

#include "../core/json_object.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "utils/builtins.h"
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

namespace {
// The channel every audit event is announced on (docs/SECURITY.md,
// "Notifications"). Any role may LISTEN, so the payload names only the audit
// row and its action: a listener reads the rest through insight.audit, which
// shows it only its own scope.
constexpr const char* kChannel = "insight_keys";

struct AuditRow {
  int64 id;
  text* action;  // palloc'd copy, in the trigger's memory context
};

// An AFTER INSERT row trigger on insight.audit_log rather than a call in
// WriteAudit: some audit rows are inserted by set-based SQL (a cascade's batch
// delete audits each key in the same statement), and every one of them must
// be announced. NOTIFY is transactional: queued now, sent at commit, dropped
// when the transaction or the subtransaction that inserted the row aborts.
Datum AnnounceAudit(FunctionCallInfo fcinfo) {
  if (!CALLED_AS_TRIGGER(fcinfo)) {
    throw SqlError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                   "insight._audit_announce() must be called as a trigger");
  }
  auto* td = reinterpret_cast<TriggerData*>(fcinfo->context);
  if (!TRIGGER_FIRED_BY_INSERT(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event)) {
    throw SqlError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                   "insight._audit_announce() must fire for each inserted row");
  }
  AuditRow row = PgCall([td]() {
    TupleDesc desc = RelationGetDescr(td->tg_relation);
    int id_att = SPI_fnumber(desc, "id");
    int action_att = SPI_fnumber(desc, "action");
    if (id_att <= 0 || action_att <= 0) elog(ERROR, "insight_keys: audit_log lacks id or action");
    bool id_null, action_null;
    Datum id = heap_getattr(td->tg_trigtuple, id_att, desc, &id_null);
    Datum action = heap_getattr(td->tg_trigtuple, action_att, desc, &action_null);
    if (id_null || action_null) elog(ERROR, "insight_keys: audit row without id or action");
    return AuditRow{DatumGetInt64(id), DatumGetTextPCopy(action)};
  });
  // Laid out as jsonb prints it, {"id": 42, "action": "key.revoked"}, so a
  // listener comparing text sees what payload::jsonb::text gives.
  std::string body = "{\"id\": " + std::to_string(row.id) + ", \"action\": ";
  core::AppendJsonString(&body,
                         std::string_view(VARDATA_ANY(row.action), VARSIZE_ANY_EXHDR(row.action)));
  body += "}";
  const char* p = body.c_str();
  PgCall([p]() { Async_Notify(kChannel, p); });
  return PointerGetDatum(td->tg_trigtuple);
}
}  // namespace

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_audit_announce, insight::AnnounceAudit)
