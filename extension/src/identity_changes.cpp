// The trigger on organizations, users and memberships: every identity change,
// through the extension's functions or a DBA's direct DML, is audited and
// enqueues its cascade in the same transaction.
#include "../core/json_object.hpp"
#include "audit.hpp"
#include "cascades.hpp"
#include "org_policy.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "tcop/pquery.h"
#include "utils/acl.h"
#include "utils/rel.h"
}

namespace insight {

namespace {

struct RowReader {
  HeapTuple tuple;
  TupleDesc desc;

  Datum Get(const char* column, bool* isnull) const {
    int attno = SPI_fnumber(desc, column);
    if (attno <= 0) throw SqlError(ERRCODE_INTERNAL_ERROR, "identity trigger on an unexpected table");
    return heap_getattr(tuple, attno, desc, isnull);
  }
  std::optional<core::Uuid> GetUuid(const char* column) const {
    bool isnull;
    Datum d = Get(column, &isnull);
    return isnull ? std::nullopt : std::optional<core::Uuid>(UuidFromDatum(d));
  }
  std::string GetText(const char* column) const {
    bool isnull;
    Datum d = Get(column, &isnull);
    return isnull ? std::string() : TextFromDatum(d);
  }
  bool GetBool(const char* column) const {
    bool isnull;
    Datum d = Get(column, &isnull);
    return !isnull && DatumGetBool(d);
  }
};

enum class Op { Insert, Update, Delete };

struct Change {
  const char* action = nullptr;  // audit action; nullptr: nothing worth recording
  std::optional<core::Uuid> org;
  std::optional<core::Uuid> user;
  core::JsonObject detail;
  std::optional<CascadeEvent> cascade;
};

void DescribeOrganization(Op op, const RowReader& row, Change* c) {
  c->org = row.GetUuid("id");
  c->detail.Add("name", row.GetText("name"));
  if (op == Op::Insert) {
    c->action = "organization.created";
  } else if (op == Op::Delete) {
    c->action = "organization.deleted";
    c->cascade = CascadeEvent{0, "organization_deleted", std::nullopt, c->org, {}, {}};
  } else {
    c->action = "organization.updated";
  }
}

void DescribeUser(Op op, const RowReader& row, const RowReader* old_row, Change* c) {
  c->user = row.GetUuid("id");
  c->detail.Add("email", row.GetText("email"));
  if (op == Op::Insert) {
    c->action = "user.created";
    c->detail.AddBool("platform_admin", row.GetBool("is_platform_admin"));
  } else if (op == Op::Delete) {
    c->action = "user.deleted";
    c->cascade = CascadeEvent{0, "user_deleted", c->user, std::nullopt, {}, {}};
  } else {
    bool was_admin = old_row->GetBool("is_platform_admin");
    bool is_admin = row.GetBool("is_platform_admin");
    c->action = "user.updated";
    if (was_admin != is_admin) {
      c->action = is_admin ? "user.platform_admin_granted" : "user.platform_admin_revoked";
      if (!is_admin) c->cascade = CascadeEvent{0, "platform_admin_removed", c->user, std::nullopt, {}, {}};
    }
  }
}

void DescribeMembership(Op op, const RowReader& row, const RowReader* old_row, Change* c) {
  c->user = row.GetUuid("user_id");
  c->org = row.GetUuid("org_id");
  std::string role = row.GetText("role");
  c->detail.Add("role", role);
  if (op == Op::Insert) {
    c->action = "membership.added";
  } else if (op == Op::Delete) {
    c->action = "membership.removed";
    c->cascade = CascadeEvent{0, "membership_removed", c->user, c->org, role, {}};
  } else {
    std::string old_role = old_row->GetText("role");
    if (old_role == role) return;
    c->action = "membership.role_changed";
    c->detail.Add("old_role", old_role);
    c->cascade = CascadeEvent{0, "role_changed", c->user, c->org, old_role, role};
  }
}

// Whether this row is one a restore loads: pg_restore (and psql's \copy of a
// dump) inserts each identity table's rows with a top-level
// COPY <that table> FROM, which only a role that bypasses row-level security
// can run on these tables (they force it, and COPY FROM refuses forced RLS).
// Everything else is audited, whatever the outer statement is: the
// extension's functions and any DML called inside COPY (query) TO, inside a
// COPY FROM's WHERE clause, or into another table than the COPY's own.
// Inside PgCall.
bool IsRestoredRow(const TriggerData* trig) {
  if (!TRIGGER_FIRED_BY_INSERT(trig->tg_event)) return false;
  Portal portal = ActivePortal;
  if (portal == nullptr || portal->commandTag != CMDTAG_COPY || list_length(portal->stmts) != 1)
    return false;
  auto* stmt = static_cast<Node*>(linitial(portal->stmts));
  if (!IsA(stmt, PlannedStmt)) return false;
  Node* utility = reinterpret_cast<PlannedStmt*>(stmt)->utilityStmt;
  if (utility == nullptr || !IsA(utility, CopyStmt)) return false;
  auto* copy = reinterpret_cast<CopyStmt*>(utility);
  if (!copy->is_from || copy->relation == nullptr || copy->whereClause != nullptr) return false;
  if (RangeVarGetRelid(copy->relation, NoLock, true) != RelationGetRelid(trig->tg_relation))
    return false;
  return has_bypassrls_privilege(GetUserId());
}

}  // namespace

static Datum OnIdentityChange(FunctionCallInfo fcinfo) {
  if (!CALLED_AS_TRIGGER(fcinfo)) {
    throw SqlError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED, "must be called as a trigger");
  }
  auto* trig = reinterpret_cast<TriggerData*>(fcinfo->context);
  if (!TRIGGER_FIRED_FOR_ROW(trig->tg_event) || !TRIGGER_FIRED_AFTER(trig->tg_event)) {
    throw SqlError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED, "must be an AFTER ... FOR EACH ROW trigger");
  }
  // A restored row's audit history and cascade events are restored from
  // their own tables, so recording them again would duplicate them.
  if (PgCall([trig]() { return IsRestoredRow(trig); })) return PointerGetDatum(nullptr);
  Op op = TRIGGER_FIRED_BY_INSERT(trig->tg_event)   ? Op::Insert
          : TRIGGER_FIRED_BY_DELETE(trig->tg_event) ? Op::Delete
                                                    : Op::Update;
  TupleDesc desc = RelationGetDescr(trig->tg_relation);
  RowReader row{op == Op::Update ? trig->tg_newtuple : trig->tg_trigtuple, desc};
  RowReader old_row{trig->tg_trigtuple, desc};
  std::string table = RelationGetRelationName(trig->tg_relation);

  Change change;
  if (table == "organizations") {
    DescribeOrganization(op, row, &change);
  } else if (table == "users") {
    DescribeUser(op, row, &old_row, &change);
  } else if (table == "memberships") {
    DescribeMembership(op, row, &old_row, &change);
  } else {
    throw SqlError(ERRCODE_INTERNAL_ERROR, "identity trigger on an unexpected table");
  }
  if (change.action == nullptr) return PointerGetDatum(nullptr);

  Actor actor = CurrentActor();
  Elevated e = Elevated::Begin();
  WriteAudit(actor, change.action, change.org, change.user, std::nullopt, change.detail.Str());
  if (change.cascade) EnqueueCascade(actor, *change.cascade);
  // An organization's policy goes with it (no foreign key: docs/DESIGN.md).
  if (change.cascade && change.cascade->event == "organization_deleted" && change.cascade->org) {
    ForgetOrgPolicy(*change.cascade->org);
  }
  e.End();
  return PointerGetDatum(nullptr);
}

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_on_identity_change, insight::OnIdentityChange)
