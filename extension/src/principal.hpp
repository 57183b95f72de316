// The acting principal (docs/DESIGN.md "The principal"). It lives only in this backend's memory and
// only the extension's own functions set it, after their checks: nothing a
// client can SET, write or call changes it.
#pragma once

#include "../core/key_settings.hpp"
#include "../core/permissions.hpp"
#include "spi_bridge.hpp"

extern "C" {
#include "access/xact.h"
#include "executor/execdesc.h"
#include "nodes/plannodes.h"
}

namespace insight {

enum class PrincipalSource : uint8_t { None, ApiKey, ActAs, DbRole, Operator };
enum class PrincipalScope : uint8_t { Transaction, Session };

// Facts about whoever acts now, loaded once per statement (and whenever the
// principal changes). The reference stays valid until the next call.
const core::PrincipalFacts& CurrentFacts();
// The key principal's settings, loaded with CurrentFacts() (empty for any
// other principal). The reference stays valid until the next call.
const core::KeySettings& CurrentKeySettings();
// CurrentFacts() and, from the same validation, the key settings: one check
// of the cache instead of two (a row policy asks per row).
const core::PrincipalFacts& CurrentFacts(const core::KeySettings** settings);

// Who is recorded as the actor of changes: captured before the extension
// elevates, so triggers fired by its own statements see the real actor.
struct Actor {
  const char* kind = "nobody";  // operator, user, user_key, org_key, cascade, nobody
  std::optional<core::Uuid> user;
  std::optional<core::Uuid> key;
  std::string db_role;
};
Actor CurrentActor();
void PushActor(const Actor& actor);  // until PopActor, or until (sub)transaction abort
void PopActor();
const Actor* ActorOverride();

void SetKeyPrincipal(const core::Uuid& key_id, PrincipalScope scope);

// The facts a management function decides from (see docs/SECURITY.md,
// "Management decisions"): CurrentFacts() re-read from the latest committed
// rows with a fresh snapshot, each row locked until the transaction ends, so
// that the decision cannot go stale before the change it allows is made: the
// acting person's users row (the db_role mapping, the platform-admin flag)
// and, with org, its membership there (FOR SHARE); a key principal's key row
// (FOR KEY SHARE) and, for a user key, its owner's rows in the key's
// organization. Under REPEATABLE READ a row changed since the transaction's
// snapshot raises 40001 (fails closed). Anything no longer true answers
// PrincipalKind::Nobody. Call outside an Elevated scope (it runs its own).
core::PrincipalFacts LockedFactsForDecision(const core::Uuid* org);
// Raises 42501 inside a security-restricted operation or a SECURITY DEFINER
// function (any local user id change): authenticate() and act_as() check it
// before doing anything else. A principal acts only for the current and
// session user that set it (docs/SECURITY.md, "Binding of the principal").
void RequireMaySetPrincipal();

// The optional scope argument argno of authenticate()/act_as():
// 'transaction' (also when absent) or 'session'; 22023 otherwise.
PrincipalScope ScopeArgument(FunctionCallInfo fcinfo, int argno);

// The principal's part of the transaction callbacks (process_hooks.cpp): a
// transaction-scoped principal ends with its transaction, one set in a
// transaction or subtransaction that rolled back never existed.
void PrincipalAtXactEvent(XactEvent event) noexcept;
void PrincipalAtSubXactEvent(SubXactEvent event, SubTransactionId subid) noexcept;

// Its part of the utility hook: statements that reset a session for its next
// user (DISCARD ALL, what pgbouncer's server_reset_query runs; RESET ALL;
// SET/RESET SESSION AUTHORIZATION) forget the principal once they succeeded.
bool PrincipalResetBy(const PlannedStmt* pstmt) noexcept;
void ForgetPrincipal() noexcept;

// insight.parallel_principal (app_policies.cpp): the leader's principal as
// copied to parallel workers; only the extension sets it.
extern char* g_parallel_principal;

// Its part of the ExecutorStart hook: before a plan that may use parallel
// workers starts, writes the facts the leader acts with into
// insight.parallel_principal, which PostgreSQL copies to every worker.
// Raises as ereport does (a PostgreSQL hook: call it from a plain C frame).
void ShipPrincipalForParallelPlan(QueryDesc* query, int eflags);

}  // namespace insight
