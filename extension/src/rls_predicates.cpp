// The predicates of the row-level security policies. They answer for the
// acting principal through the same decision functions as the SQL API, so a
// view can never show more than the functions would allow.
#include "principal.hpp"

namespace insight {

namespace {
std::optional<core::Uuid> UuidArg(FunctionCallInfo fcinfo, int argno) {
  if (PG_ARGISNULL(argno)) return std::nullopt;
  return UuidFromDatum(PG_GETARG_DATUM(argno));
}
const core::Uuid* Ptr(const std::optional<core::Uuid>& u) { return u ? &*u : nullptr; }
}  // namespace

static Datum MayViewKey(FunctionCallInfo fcinfo) {
  auto org = UuidArg(fcinfo, 1);
  auto owner = UuidArg(fcinfo, 2);
  if (PG_ARGISNULL(0) || !org) PG_RETURN_BOOL(false);
  // Called once per row: compare the kind in place, without a copy.
  text* kind_text = PgCall([fcinfo]() { return PG_GETARG_TEXT_PP(0); });
  std::string_view kind_name(VARDATA_ANY(kind_text), VARSIZE_ANY_EXHDR(kind_text));
  PG_RETURN_BOOL(core::MayViewKey(CurrentFacts(), core::KindFromName(kind_name), *org, Ptr(owner)));
}

static Datum MayViewOrganization(FunctionCallInfo fcinfo) {
  auto org = UuidArg(fcinfo, 0);
  PG_RETURN_BOOL(org && core::MayViewOrganization(CurrentFacts(), *org));
}

static Datum MayViewUser(FunctionCallInfo fcinfo) {
  auto user = UuidArg(fcinfo, 0);
  PG_RETURN_BOOL(user && core::MayViewUser(CurrentFacts(), *user));
}

// Used by the users policy: members are visible to whoever administers the org.
static Datum MayManageOrganization(FunctionCallInfo fcinfo) {
  auto org = UuidArg(fcinfo, 0);
  PG_RETURN_BOOL(org && core::MayViewMembers(CurrentFacts(), *org));
}

static Datum MayViewMembership(FunctionCallInfo fcinfo) {
  auto user = UuidArg(fcinfo, 0);
  auto org = UuidArg(fcinfo, 1);
  PG_RETURN_BOOL(user && org && core::MayViewMembership(CurrentFacts(), *user, *org));
}

static Datum MayViewAudit(FunctionCallInfo fcinfo) {
  auto org = UuidArg(fcinfo, 0);
  auto actor = UuidArg(fcinfo, 1);
  auto subject = UuidArg(fcinfo, 2);
  PG_RETURN_BOOL(core::MayViewAuditEvent(CurrentFacts(), Ptr(org), Ptr(actor), Ptr(subject)));
}

static Datum MayViewCascades(FunctionCallInfo) {
  PG_RETURN_BOOL(core::MayViewCascades(CurrentFacts()));
}

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_may_view_key, insight::MayViewKey)
INSIGHT_SQL_FUNCTION(insight_may_view_organization, insight::MayViewOrganization)
INSIGHT_SQL_FUNCTION(insight_may_view_user, insight::MayViewUser)
INSIGHT_SQL_FUNCTION(insight_may_manage_organization, insight::MayManageOrganization)
INSIGHT_SQL_FUNCTION(insight_may_view_membership, insight::MayViewMembership)
INSIGHT_SQL_FUNCTION(insight_may_view_audit, insight::MayViewAudit)
INSIGHT_SQL_FUNCTION(insight_may_view_cascades, insight::MayViewCascades)
