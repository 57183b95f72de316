#include "cascades.hpp"

#include "../core/json_object.hpp"
#include "audit.hpp"
#include "background.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/lsyscache.h"
#include "utils/resowner.h"
}

namespace insight {

int g_cascade_batch_size = 5000;
int g_cascade_naptime_s = 10;
int g_cascade_max_attempts = 5;

namespace {

// A deletion event fixes its victims when it is enqueued: the keys inserted
// before this point (generation below the cut-off). The row locks
// generate_*() takes make every key of the removed membership (or user, or
// organization) either committed before this statement's row change or
// refused, and a re-added membership, and any key generated under it, draw
// their numbers after this one (docs/SECURITY.md, "Membership removal").
Statement g_enqueue = {
    "INSERT INTO insight.cascade_queue (event, user_id, org_id, old_role, new_role, "
    "actor_kind, actor_user_id, actor_key_id, actor_db_role, generation_cutoff) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
    "  CASE WHEN $1 IN ('user_deleted', 'membership_removed', 'organization_deleted') "
    "  THEN nextval('insight.generation_seq') END)",
    9,
    {TEXTOID, UUIDOID, UUIDOID, TEXTOID, TEXTOID, TEXTOID, UUIDOID, UUIDOID, TEXTOID},
    nullptr};
// The same for a catalog still at 1.1 (library updated, ALTER EXTENSION
// UPDATE not yet run): no cut-off column.
Statement g_enqueue_11 = {
    "INSERT INTO insight.cascade_queue (event, user_id, org_id, old_role, new_role, "
    "actor_kind, actor_user_id, actor_key_id, actor_db_role) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    9,
    {TEXTOID, UUIDOID, UUIDOID, TEXTOID, TEXTOID, TEXTOID, UUIDOID, UUIDOID, TEXTOID},
    nullptr};

// A membership removed because its user or organization was deleted needs no
// event of its own: the deletion's event covers it.
Statement g_membership_parents_exist = {
    "SELECT EXISTS (SELECT 1 FROM insight.users WHERE id = $1) "
    "AND EXISTS (SELECT 1 FROM insight.organizations WHERE id = $2)",
    2,
    {UUIDOID, UUIDOID},
    nullptr};

#define CLAIM(cutoff)                                                                  \
  "UPDATE insight.cascade_queue q SET state = 'running', "                             \
  "started_at = COALESCE(q.started_at, clock_timestamp()), "                           \
  "attempts = q.attempts + CASE WHEN q.state = 'pending' THEN 1 ELSE 0 END "           \
  "WHERE q.id = (SELECT id FROM insight.cascade_queue "                                \
  "  WHERE state IN ('pending', 'running') AND next_attempt_at <= clock_timestamp() "  \
  "  ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) "                                     \
  "RETURNING q.id, q.event, q.user_id, q.org_id, q.old_role, q.new_role, " cutoff
Statement g_claim = {CLAIM("q.generation_cutoff"), 0, {}, nullptr};
Statement g_claim_11 = {CLAIM("NULL::bigint"), 0, {}, nullptr};

// Deletes one batch of keys and audits each, in key-id order so that two
// drainers working on overlapping keys lock them in the same order. The
// worker's variant skips keys another transaction holds (it never waits on a
// row lock, so it can never be part of a deadlock); apply_cascades() waits.
//
// $7 is a cursor: the highest key id this drainer deleted so far in the event.
// Starting the index range after it keeps each batch from walking the index
// entries of the keys earlier batches deleted (quadratic in the batch count
// otherwise). Keys it skipped below the cursor are found by the final check
// (REMAINING, without cursor), which then restarts from the bottom.
// Returns one row: keys deleted (and audited), the highest id deleted.
#define DELETE_BATCH(victims, lock)                                                        \
  "WITH victims AS (SELECT k.id FROM insight.api_keys k WHERE " victims                    \
  " AND k.id > $7 ORDER BY k.id LIMIT $3 FOR UPDATE OF k" lock                             \
  "), "                                                                                    \
  "gone AS (DELETE FROM insight.api_keys k USING victims v WHERE k.id = v.id "             \
  "  RETURNING k.id, k.kind, k.org_id, k.owner_id, k.name), "                              \
  "audited AS (INSERT INTO insight.audit_log (actor_kind, actor_db_role, action, org_id, " \
  "user_id, key_id, detail) "                                                              \
  "  SELECT 'cascade', $4, 'key.deleted', g.org_id, g.owner_id, g.id, "                    \
  "    jsonb_build_object('kind', g.kind, 'name', g.name, 'reason', $5::text, 'event', "   \
  "$6::bigint) "                                                                           \
  "  FROM gone g RETURNING 1) "                                                            \
  "SELECT (SELECT count(*) FROM audited), (SELECT g.id FROM gone g ORDER BY g.id DESC LIMIT 1)"

// $8 is the event's cut-off: it deletes exactly the keys inserted before it
// was enqueued, whatever the identity tables say by now (a member removed and
// re-added keeps only the keys generated after the re-adding). An event
// queued by version 1.1 has none ($8 NULL); it falls back to the identity
// tables: no such user, no such organization, or no membership at least as
// old as the key (rows from before 1.2 all have generation 0).
#define USER_VICTIMS                                                               \
  "k.owner_id = $1 AND k.kind = 'user' AND (k.generation < $8 OR $8 IS NULL AND " \
  "NOT EXISTS (SELECT 1 FROM insight.users u WHERE u.id = $1))"
#define MEMBERSHIP_VICTIMS                                                                \
  "k.owner_id = $1 AND k.org_id = $2 AND k.kind = 'user' AND (k.generation < $8 OR " \
  "$8 IS NULL AND NOT EXISTS (SELECT 1 FROM insight.memberships m "                  \
  "  WHERE m.user_id = $1 AND m.org_id = $2 AND m.generation <= k.generation))"
#define ORG_VICTIMS                                                   \
  "k.org_id = $2 AND (k.generation < $8 OR $8 IS NULL AND NOT EXISTS " \
  "(SELECT 1 FROM insight.organizations o WHERE o.id = $2))"

// What version 1.1 ran, for a catalog not yet updated (no generations).
#define USER_VICTIMS_11                  \
  "k.owner_id = $1 AND k.kind = 'user' " \
  "AND NOT EXISTS (SELECT 1 FROM insight.users u WHERE u.id = $1)"
#define MEMBERSHIP_VICTIMS_11                              \
  "k.owner_id = $1 AND k.org_id = $2 AND k.kind = 'user' " \
  "AND NOT EXISTS (SELECT 1 FROM insight.memberships m "   \
  "  WHERE m.user_id = $1 AND m.org_id = $2)"
#define ORG_VICTIMS_11 \
  "k.org_id = $2 "     \
  "AND NOT EXISTS (SELECT 1 FROM insight.organizations o WHERE o.id = $2)"

#define DELETE_ARGS \
  8, {UUIDOID, UUIDOID, INT4OID, TEXTOID, TEXTOID, INT8OID, UUIDOID, INT8OID}, nullptr

#define REMAINING(victims) "SELECT EXISTS (SELECT 1 FROM insight.api_keys k WHERE " victims ")"

struct Deletion {
  Statement wait;       // apply_cascades(): waits for keys another transaction holds
  Statement skip;       // the worker: skips them
  // After a short batch: is any victim left (held or changed by someone else)?
  Statement remaining;
};
// The remaining check takes the same arguments; it uses $1, $2 and $8.
#define DELETION(victims)                                                           \
  Deletion{{DELETE_BATCH(victims, ""), DELETE_ARGS},                                \
           {DELETE_BATCH(victims, " SKIP LOCKED"), DELETE_ARGS},                    \
           {REMAINING(victims), DELETE_ARGS}}
Deletion g_user_keys = DELETION(USER_VICTIMS);
Deletion g_membership_keys = DELETION(MEMBERSHIP_VICTIMS);
Deletion g_org_keys = DELETION(ORG_VICTIMS);
Deletion g_user_keys_11 = DELETION(USER_VICTIMS_11);
Deletion g_membership_keys_11 = DELETION(MEMBERSHIP_VICTIMS_11);
Deletion g_org_keys_11 = DELETION(ORG_VICTIMS_11);

// Organization keys whose creating user no longer administers their org:
// listed in the audit (one row per organization) so a platform admin finds them.
#define ORPHANED_ORG_KEYS(scope)                                                                \
  "INSERT INTO insight.audit_log (actor_kind, actor_db_role, action, org_id, user_id, detail) " \
  "SELECT 'cascade', $3, 'cascade.org_keys_orphaned', k.org_id, $1, "                           \
  "  jsonb_build_object('event', $4::bigint, 'reason', $5::text, 'keys', "                      \
  "    jsonb_agg(jsonb_build_object('key_id', k.id, 'name', k.name) ORDER BY k.created_at, "    \
  "k.id)) "                                                                                     \
  "FROM insight.api_keys k WHERE k.kind = 'organization' AND k.created_by = $1 AND " scope      \
  " AND NOT EXISTS (SELECT 1 FROM insight.users u WHERE u.id = $1 AND u.is_platform_admin) "    \
  " AND NOT EXISTS (SELECT 1 FROM insight.memberships m WHERE m.user_id = $1 "                  \
  "   AND m.org_id = k.org_id AND m.role = 'org_admin') "                                       \
  "GROUP BY k.org_id"

Statement g_orphaned_in_org = {
    ORPHANED_ORG_KEYS("k.org_id = $2"), 5, {UUIDOID, UUIDOID, TEXTOID, INT8OID, TEXTOID}, nullptr};
Statement g_orphaned_anywhere = {
    ORPHANED_ORG_KEYS("true"), 5, {UUIDOID, UUIDOID, TEXTOID, INT8OID, TEXTOID}, nullptr};

// Organization keys outlive their creator; the listing shows the creator deleted.
Statement g_mark_creator_deleted = {
    "UPDATE insight.api_keys SET creator_deleted = true WHERE created_by = $1 "
    "AND kind = 'organization' AND NOT creator_deleted "
    "AND NOT EXISTS (SELECT 1 FROM insight.users u WHERE u.id = $1)",
    1,
    {UUIDOID},
    nullptr};

Statement g_progress = {
    "UPDATE insight.cascade_queue SET keys_done = keys_done + $2, last_error = NULL WHERE id = $1",
    2,
    {INT8OID, INT8OID},
    nullptr};
Statement g_done = {
    "UPDATE insight.cascade_queue SET state = 'done', keys_done = keys_done + $2, "
    "last_error = NULL, finished_at = clock_timestamp() WHERE id = $1 RETURNING keys_done",
    2,
    {INT8OID, INT8OID},
    nullptr};
// The failed transaction also rolled back the claim, so an attempt that began
// from 'pending' is counted here; one that resumed a 'running' event (batches
// already committed) was counted when it first began.
#define FAILED_ATTEMPTS "(attempts + CASE WHEN state = 'pending' THEN 1 ELSE 0 END)"
Statement g_failure = {
    "UPDATE insight.cascade_queue SET last_error = $2, attempts = " FAILED_ATTEMPTS
    ", "
    "state = CASE WHEN " FAILED_ATTEMPTS
    " >= $3 THEN 'failed' ELSE 'pending' END, "
    "finished_at = CASE WHEN " FAILED_ATTEMPTS
    " >= $3 THEN clock_timestamp() END, "
    "next_attempt_at = clock_timestamp() + make_interval(secs => least(300, 2 ^ " FAILED_ATTEMPTS
    ")) "
    "WHERE id = $1 AND state IN ('pending', 'running')",  // never reopen a finished event
    3,
    {INT8OID, TEXTOID, INT4OID},
    nullptr};

// An event whose remaining keys another transaction holds steps aside for a
// moment, so the events behind it go on meanwhile.
Statement g_defer = {
    "UPDATE insight.cascade_queue SET next_attempt_at = clock_timestamp() + interval '250 ms' "
    "WHERE id = $1",
    1,
    {INT8OID},
    nullptr};

Statement g_next_due = {
    "SELECT greatest(0, ceil(extract(epoch FROM min(next_attempt_at) - clock_timestamp()) * "
    "1000))::bigint "
    "FROM insight.cascade_queue WHERE state IN ('pending', 'running')",
    0,
    {},
    nullptr};

Datum OptionalUuid(const std::optional<core::Uuid>& u, char* null_flag) {
  if (!u) {
    *null_flag = 'n';
    return Datum(0);
  }
  return UuidToDatum(*u);
}

// nullptr for an event that deletes no keys.
Deletion* DeletionFor(const std::string& event, bool generations) {
  if (event == "user_deleted") return generations ? &g_user_keys : &g_user_keys_11;
  if (event == "membership_removed") return generations ? &g_membership_keys : &g_membership_keys_11;
  if (event == "organization_deleted") return generations ? &g_org_keys : &g_org_keys_11;
  return nullptr;
}

// Whether the catalog has the key generations of version 1.2 (see the 1.1--1.2
// script): the library may be newer than the installed extension until
// ALTER EXTENSION UPDATE runs, and identity changes and cascades must keep
// working meanwhile, as 1.1 did them. Two syscache probes; not a hot path.
bool CatalogHasGenerations() {
  return PgCall([]() {
    Oid nsp = get_namespace_oid("insight", true);
    Oid queue = OidIsValid(nsp) ? get_relname_relid("cascade_queue", nsp) : InvalidOid;
    return OidIsValid(queue) && get_attnum(queue, "generation_cutoff") != InvalidAttrNumber;
  });
}

}  // namespace

void EnqueueCascade(const Actor& actor, const CascadeEvent& event) {
  char parent_nulls[3] = "  ";
  if (event.event == "membership_removed") {
    Datum args[2] = {OptionalUuid(event.user, &parent_nulls[0]),
                     OptionalUuid(event.org, &parent_nulls[1])};
    Run(g_membership_parents_exist, args, parent_nulls, false);
    if (!ColumnBool(0, 1)) return;
  }
  Datum values[9];
  char nulls[10] = "         ";
  values[0] = TextToDatum(event.event);
  values[1] = OptionalUuid(event.user, &nulls[1]);
  values[2] = OptionalUuid(event.org, &nulls[2]);
  values[3] = TextToDatum(event.old_role);
  if (event.old_role.empty()) nulls[3] = 'n';
  values[4] = TextToDatum(event.new_role);
  if (event.new_role.empty()) nulls[4] = 'n';
  values[5] = TextToDatum(actor.kind);
  values[6] = OptionalUuid(actor.user, &nulls[6]);
  values[7] = OptionalUuid(actor.key, &nulls[7]);
  values[8] = TextToDatum(actor.db_role);
  Run(CatalogHasGenerations() ? g_enqueue : g_enqueue_11, values, nulls, false);
  // The worker of this database is woken once this transaction commits.
  WakeCascadeWorkerAtCommit();
}

std::optional<CascadeEvent> ClaimNextCascade() {
  if (Run(CatalogHasGenerations() ? g_claim : g_claim_11, nullptr, nullptr, false) == 0)
    return std::nullopt;
  CascadeEvent ev;
  ev.id = ColumnInt64(0, 1);
  ev.event = ColumnText(0, 2);
  ev.user = ColumnUuidOrNull(0, 3);
  ev.org = ColumnUuidOrNull(0, 4);
  ev.old_role = ColumnText(0, 5);
  ev.new_role = ColumnText(0, 6);
  if (!ColumnIsNull(0, 7)) ev.generation_cutoff = ColumnInt64(0, 7);
  return ev;
}

BatchOutcome ApplyCascadeBatch(const CascadeEvent& ev, int batch_size, const std::string& db_role,
                               LockWait lock_wait, std::optional<core::Uuid>* cursor) {
  char nulls[9] = "        ";
  Datum user = OptionalUuid(ev.user, &nulls[0]);
  Datum org = OptionalUuid(ev.org, &nulls[1]);
  Datum cutoff = Int64GetDatum(ev.generation_cutoff.value_or(0));
  if (!ev.generation_cutoff) nulls[7] = 'n';
  Datum event_id = Int64GetDatum(ev.id);
  Datum role = TextToDatum(db_role);
  Datum reason = TextToDatum(ev.event);

  uint64 deleted = 0;
  bool finished = true;
  bool blocked = false;
  if (Deletion* deletion = DeletionFor(ev.event, CatalogHasGenerations())) {
    Datum args[8] = {user,
                     org,
                     Int32GetDatum(batch_size),
                     role,
                     reason,
                     event_id,
                     UuidToDatum(cursor->value_or(core::Uuid{})),  // nil uuid: from the bottom
                     cutoff};
    bool skip = lock_wait == LockWait::Skip;
    Run(skip ? deletion->skip : deletion->wait, args, nulls, false);
    deleted = static_cast<uint64>(ColumnInt64(0, 1));
    if (!ColumnIsNull(0, 2)) *cursor = ColumnUuid(0, 2);
    finished = deleted < static_cast<uint64>(batch_size);
    if (finished) {
      // A short batch is not proof of the end: rows locked by another
      // transaction (skipped, or dropped by the row locking after LIMIT when
      // it deleted or updated them meanwhile) may still be due. Not read-only:
      // the check must see this transaction's own deletions.
      Run(deletion->remaining, args, nulls, false);
      if (ColumnBool(0, 1)) {
        finished = false;
        blocked = skip;
        cursor->reset();
      }
    }
    if (finished && ev.event == "user_deleted" && ev.user)
      Run(g_mark_creator_deleted, &user, nulls, false);
  } else if (ev.event == "role_changed" || ev.event == "platform_admin_removed") {
    Datum args[5] = {user, org, role, event_id, reason};
    char orphan_nulls[6] = "     ";
    orphan_nulls[0] = nulls[0];
    orphan_nulls[1] = nulls[1];
    if (ev.user) Run(ev.org ? g_orphaned_in_org : g_orphaned_anywhere, args, orphan_nulls, false);
  } else {
    throw SqlError(ERRCODE_DATA_EXCEPTION, "unknown cascade event \"" + ev.event + "\"");
  }

  Datum progress[2] = {event_id, Int64GetDatum(static_cast<int64>(deleted))};
  if (!finished) {
    Run(g_progress, progress, nullptr, false);
    if (!blocked) return BatchOutcome::More;
    Run(g_defer, &event_id, nullptr, false);
    return BatchOutcome::Blocked;
  }
  Run(g_done, progress, nullptr, false);
  int64 total = ColumnInt64(0, 1);
  Actor actor;
  actor.kind = "cascade";
  actor.db_role = db_role;
  core::JsonObject detail;
  detail.AddNumber("event", ev.id).Add("cascade", ev.event).AddNumber("keys_deleted", total);
  if (!ev.old_role.empty()) detail.Add("old_role", ev.old_role);
  if (!ev.new_role.empty()) detail.Add("new_role", ev.new_role);
  WriteAudit(actor, "cascade.applied", ev.org, ev.user, std::nullopt, detail.Str());
  return BatchOutcome::Done;
}

void RecordCascadeFailure(int64 event_id, const std::string& error, int max_attempts) {
  Datum args[3] = {Int64GetDatum(event_id), TextToDatum(error.substr(0, 1000)),
                   Int32GetDatum(max_attempts)};
  Run(g_failure, args, nullptr, false);
}

namespace {

// A subtransaction around one event, as PL/pgSQL's exception blocks do it:
// the memory context and resource owner of the caller are restored after it.
struct SubXact {
  MemoryContext context;
  ResourceOwner owner;
};

SubXact BeginSubXact() {
  return PgCall([]() {
    SubXact sx{CurrentMemoryContext, CurrentResourceOwner};
    BeginInternalSubTransaction(nullptr);
    MemoryContextSwitchTo(sx.context);
    return sx;
  });
}

void EndSubXact(const SubXact& sx, bool commit) {
  PgCall([&sx, commit]() {
    if (commit) {
      ReleaseCurrentSubTransaction();
    } else {
      RollbackAndReleaseCurrentSubTransaction();
    }
    MemoryContextSwitchTo(sx.context);
    CurrentResourceOwner = sx.owner;
  });
}

}  // namespace

bool CascadeAttemptFailed(const char* who, int64 event_id, const CapturedError& error) {
  std::string what = std::string(who) + ": cascade event " + std::to_string(event_id);
  if (error.Interrupted()) {
    ReportCapturedError(what + " interrupted, not counted as an attempt", error);
    return false;
  }
  ReportCapturedError(what + " failed", error);
  return true;
}

int64 ApplyAllCascades(int batch_size, const std::string& db_role) {
  int64 finished = 0;
  for (;;) {
    int64 claimed = 0;
    bool drained = false;
    std::exception_ptr raised;
    SubXact sx = BeginSubXact();
    try {
      std::optional<CascadeEvent> ev = ClaimNextCascade();
      if (!ev) {
        drained = true;
      } else {
        claimed = ev->id;
        std::optional<core::Uuid> cursor;
        while (ApplyCascadeBatch(*ev, batch_size, db_role, LockWait::Wait, &cursor) !=
               BatchOutcome::Done) {
          PgCall([]() { CHECK_FOR_INTERRUPTS(); });
        }
      }
    } catch (...) {
      raised = std::current_exception();
    }
    if (raised) {
      CapturedError error = CaptureError(raised);  // before the rollback frees the error
      EndSubXact(sx, false);
      // Nothing claimed: there is no event to charge it to. The caller sees it.
      if (claimed == 0) std::rethrow_exception(raised);
      if (!CascadeAttemptFailed("insight_keys", claimed, error)) std::rethrow_exception(raised);
      RecordCascadeFailure(claimed, error.message, g_cascade_max_attempts);
      continue;
    }
    EndSubXact(sx, true);
    if (drained) break;
    finished++;
  }
  return finished;
}

long NextCascadeDueMs() {
  if (Run(g_next_due, nullptr, nullptr, true) == 0 || ColumnIsNull(0, 1)) return -1;
  return static_cast<long>(ColumnInt64(0, 1));
}

static Datum ApplyCascades(FunctionCallInfo) {
  if (!core::MayViewCascades(CurrentFacts())) {
    throw SqlError(ERRCODE_INSUFFICIENT_PRIVILEGE, "permission denied to apply cascades",
                   "Only the operator or a platform administrator may do this.");
  }
  Actor actor = CurrentActor();
  Elevated e = Elevated::Begin();
  int64 n = ApplyAllCascades(g_cascade_batch_size, actor.db_role);
  e.End();
  PG_RETURN_INT64(n);
}

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_apply_cascades, insight::ApplyCascades)
