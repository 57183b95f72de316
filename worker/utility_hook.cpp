// Utility statements that change where a cascade worker belongs: the
// workers' part of the utility hook (extension/src/process_hooks.cpp), called
// only when preloaded. Part of a PostgreSQL callback: only plain data lives in
// these frames, so an ereport from the standard path unwinds nothing of ours.
// First: extension/core headers must come before postgres.h.
#include "../extension/src/usage_stats.hpp"
#include "worker_registry.hpp"

#include "../extension/src/background.hpp"

extern "C" {
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/timestamp.h"
}

namespace insight::worker {

namespace {

// How long the launcher leaves a database alone after a statement that needs
// it without connections stopped its worker: PostgreSQL waits up to 5 s for
// other backends to leave; if the statement fails anyway the worker comes back
// after this.
constexpr int kDropHoldMs = 10000;

bool NamesInsightKeys(List* objects) {
  ListCell* lc;
  foreach (lc, objects) {
    Node* object = static_cast<Node*>(lfirst(lc));
    if (IsA(object, String) && strcmp(strVal(object), "insight_keys") == 0) return true;
  }
  return false;
}

bool MayDropDatabase(Oid db) {
#if PG_VERSION_NUM >= 160000
  return object_ownercheck(DatabaseRelationId, db, GetUserId());
#else
  return pg_database_ownercheck(db, GetUserId());
#endif
}

// A worker connected to the database would make DROP DATABASE (and RENAME,
// SET TABLESPACE, use as a TEMPLATE) fail with "being accessed by other
// users": hold the slot and ask the worker to leave first. Returns the
// database held, InvalidOid when none.
Oid StopWorkerFor(const char* dbname) {
  Registry* r = SharedRegistry();
  if (r == nullptr || dbname == nullptr) return InvalidOid;
  Oid db = get_database_oid(dbname, true);
  if (!OidIsValid(db) || !MayDropDatabase(db)) return InvalidOid;
  TimestampTz hold = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), kDropHoldMs);
  SpinLockAcquire(&r->mutex);
  bool has_handle = false;
  WorkerHandle handle{};
  DatabaseSlot* slot = FindOrAddSlot(r, db);
  if (slot != nullptr) {
    slot->hold_until = hold;
    has_handle = slot->has_handle;
    handle = slot->handle;
  }
  SpinLockRelease(&r->mutex);
  if (slot == nullptr) return InvalidOid;
  // Through the postmaster, never kill(pid): the pid may have been reused. A
  // worker the launcher registers after this sees the hold and is stopped by
  // the launcher itself (launcher.cpp, Reconcile).
  if (has_handle) TerminateWorker(handle);
  return db;
}

// The statement succeeded: the database may have its worker back at once.
void ReleaseHold(Oid db) {
  Registry* r = SharedRegistry();
  SpinLockAcquire(&r->mutex);
  if (DatabaseSlot* slot = FindSlot(r, db)) slot->hold_until = 0;
  SpinLockRelease(&r->mutex);
  WakeLauncher();
}

const char* TemplateOf(CreatedbStmt* stmt) {
  ListCell* lc;
  foreach (lc, stmt->options) {
    DefElem* option = lfirst_node(DefElem, lc);
    if (strcmp(option->defname, "template") == 0 && option->arg != nullptr)
      return defGetString(option);
  }
  return nullptr;
}

bool MovesTablespace(AlterDatabaseStmt* stmt) {
  ListCell* lc;
  foreach (lc, stmt->options) {
    if (strcmp(lfirst_node(DefElem, lc)->defname, "tablespace") == 0) return true;
  }
  return false;
}

}  // namespace

}  // namespace insight::worker

namespace insight {

WorkerUtilityEffects CascadeWorkersBeforeUtility(PlannedStmt* pstmt) {
  using namespace worker;
  Node* parsetree = pstmt->utilityStmt;
  WorkerUtilityEffects effects;
  if (IsA(parsetree, CreateExtensionStmt)) {
    if (strcmp(castNode(CreateExtensionStmt, parsetree)->extname, "insight_keys") == 0) {
      effects.at_commit = kRequestWorker;
    }
  } else if (IsA(parsetree, DropStmt)) {
    auto* drop = castNode(DropStmt, parsetree);
    if (drop->removeType == OBJECT_EXTENSION && NamesInsightKeys(drop->objects)) {
      // The worker sees the extension gone and exits; the uses recorded for
      // the dropped keys have nowhere to go.
      effects.at_commit = kWakeWorker | kForgetLastUsed;
    }
  } else if (IsA(parsetree, CreatedbStmt)) {
    effects.at_commit = kWakeLauncher;  // the new database may come with insight_keys from its template
    effects.held = StopWorkerFor(TemplateOf(castNode(CreatedbStmt, parsetree)));
  } else if (IsA(parsetree, DropdbStmt)) {
    // The hold is not released: the database is gone once this commits.
    (void)StopWorkerFor(castNode(DropdbStmt, parsetree)->dbname);
    effects.dropped = get_database_oid(castNode(DropdbStmt, parsetree)->dbname, true);
  } else if (IsA(parsetree, RenameStmt) &&
             castNode(RenameStmt, parsetree)->renameType == OBJECT_DATABASE) {
    effects.held = StopWorkerFor(castNode(RenameStmt, parsetree)->subname);
  } else if (IsA(parsetree, AlterDatabaseStmt) &&
             MovesTablespace(castNode(AlterDatabaseStmt, parsetree))) {
    effects.held = StopWorkerFor(castNode(AlterDatabaseStmt, parsetree)->dbname);
  }
  return effects;
}

void CascadeWorkersAfterUtility(const WorkerUtilityEffects& effects) {
  using namespace worker;
  // Reached only when the statement succeeded; the transaction may still abort,
  // and then nothing happens.
  if (effects.at_commit != 0) AtCommit(effects.at_commit);
  // After a failure (an ereport out of the standard path) the hold stays and
  // expires by itself.
  if (OidIsValid(effects.held)) ReleaseHold(effects.held);
  // DROP DATABASE runs outside a transaction block and cannot be undone now.
  if (OidIsValid(effects.dropped)) ForgetLastUsedOf(effects.dropped);
}

}  // namespace insight
