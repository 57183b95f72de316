// The principal in the application's own row-level security policies:
// insight.has_scope, acts_in_org, current_org_id, current_user_id (README,
// "Row-level security on your own tables"). Each answers from the facts
// CurrentFacts() loaded once for the statement, so on the common path a call
// is a comparison in memory: no SPI, no catalog access.
#include "principal.hpp"

extern "C" {
#include "access/parallel.h"
#include "utils/builtins.h"
}

namespace insight {

namespace {

// A parallel worker has no principal of its own (the principal lives in the
// leader's memory only), and loading one there could find a different one
// (the db_role mapping of the worker's role). So a worker answers as for
// nobody: it never grants more than the leader's principal has
// (docs/SECURITY.md, "Policies on your own tables").
const core::PrincipalFacts& FactsHere() {
  static const core::PrincipalFacts nobody;
  if (IsParallelWorker()) return nobody;
  return CurrentFacts();
}

}  // namespace

static Datum HasScope(FunctionCallInfo fcinfo) {
  const core::PrincipalFacts& f = FactsHere();
  switch (f.kind) {
    case core::PrincipalKind::Operator:
    case core::PrincipalKind::User:
      PG_RETURN_BOOL(true);
    case core::PrincipalKind::UserKey:
    case core::PrincipalKind::OrgKey: {
      text* t = PgCall([fcinfo]() { return PG_GETARG_TEXT_PP(0); });
      std::string_view permission(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
      PG_RETURN_BOOL(core::AnyScopeMatches(CurrentKeySettings(), permission));
    }
    case core::PrincipalKind::Nobody:
      break;
  }
  PG_RETURN_BOOL(false);
}

static Datum ActsInOrg(FunctionCallInfo fcinfo) {
  core::Uuid org = UuidFromDatum(PG_GETARG_DATUM(0));
  PG_RETURN_BOOL(core::ActsInOrg(FactsHere(), org));
}

static Datum CurrentOrgId(FunctionCallInfo fcinfo) {
  const core::PrincipalFacts& f = FactsHere();
  if (f.kind != core::PrincipalKind::UserKey && f.kind != core::PrincipalKind::OrgKey) {
    PG_RETURN_NULL();
  }
  return UuidToDatum(f.org);
}

static Datum CurrentUserId(FunctionCallInfo fcinfo) {
  const core::PrincipalFacts& f = FactsHere();
  if (f.kind != core::PrincipalKind::User && f.kind != core::PrincipalKind::UserKey) {
    PG_RETURN_NULL();
  }
  return UuidToDatum(f.user);
}

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_has_scope, insight::HasScope)
INSIGHT_SQL_FUNCTION(insight_acts_in_org, insight::ActsInOrg)
INSIGHT_SQL_FUNCTION(insight_current_org_id, insight::CurrentOrgId)
INSIGHT_SQL_FUNCTION(insight_current_user_id, insight::CurrentUserId)
