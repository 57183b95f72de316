// The cascade queue (docs/WORKER.md): events enqueued in the transaction of the
// identity change, applied in bounded batches by the background worker or by
// insight.apply_cascades(). One implementation serves both.
#pragma once

#include <optional>
#include <string>

#include "principal.hpp"  // first: it includes core/ headers, which come before postgres.h

#include "captured_error.hpp"

namespace insight {

struct CascadeEvent {
  int64 id = 0;
  std::string event;  // user_deleted, membership_removed, organization_deleted,
                      // role_changed, platform_admin_removed
  std::optional<core::Uuid> user;
  std::optional<core::Uuid> org;
  std::string old_role;
  std::string new_role;
  // Deletion events: the keys they delete are those whose generation is below
  // this (fixed at enqueue time); nullopt for events queued by version 1.1.
  std::optional<int64> generation_cutoff;
};

// All of these run inside an Elevated scope.

// Inserts an event (called by the identity trigger).
void EnqueueCascade(const Actor& actor, const CascadeEvent& event);

// Locks and returns the oldest due event (FOR UPDATE SKIP LOCKED), marking it
// running. nullopt when nothing is due.
std::optional<CascadeEvent> ClaimNextCascade();

enum class BatchOutcome { More, Done, Blocked };
// Wait: wait for keys another transaction has locked (apply_cascades()).
// Skip: skip them and answer Blocked when they were all that was left (the
// worker: it never waits on a row lock, so it is never part of a deadlock).
enum class LockWait { Wait, Skip };

// Applies at most batch_size key deletions of a claimed event and records the
// progress in the same transaction; Done when the event is finished (then
// recorded done and audited). Re-applying a done or partially applied event
// changes nothing more than what is still due: every step re-checks the
// identity tables.
// cursor: the drainer's position in the event between batches (start with
// nullopt; keep it while the same event continues; losing it only costs speed).
BatchOutcome ApplyCascadeBatch(const CascadeEvent& event, int batch_size,
                               const std::string& db_role, LockWait lock_wait,
                               std::optional<core::Uuid>* cursor);

// Records a failed attempt: back to pending with a backoff, or failed for good
// after max_attempts. Runs in a fresh transaction after the failed one.
void RecordCascadeFailure(int64 event_id, const std::string& error, int max_attempts);

// The one handling of an attempt at an event that raised, for the worker and
// apply_cascades() alike, once the attempt was rolled back: reports the error
// (a WARNING "<who>: cascade event N failed: ..." with its SQLSTATE, detail,
// hint and context) and answers whether the event failed. An interrupt (a
// cancel, a statement timeout, a shutdown) stopped the drainer, not the event:
// it is reported as such and never counted as an attempt. When this answers
// true the caller records the attempt with RecordCascadeFailure.
bool CascadeAttemptFailed(const char* who, int64 event_id, const CapturedError& error);

// Drains every due event in the current transaction, each event in a
// subtransaction: an event that fails is rolled back alone, recorded with
// RecordCascadeFailure (backoff, then failed) and the next one is applied.
// Returns how many finished. A cancel or a shutdown is not an event failure
// (CascadeAttemptFailed): it propagates, as does a failure to claim an event.
int64 ApplyAllCascades(int batch_size, const std::string& db_role);

// Milliseconds until the oldest pending or running event is due (0 when one
// is due now), or -1 when the queue holds none.
long NextCascadeDueMs();

// insight.cascade_batch_size, insight.cascade_naptime (seconds) and
// insight.cascade_max_attempts.
extern int g_cascade_batch_size;
extern int g_cascade_naptime_s;
extern int g_cascade_max_attempts;

}  // namespace insight
