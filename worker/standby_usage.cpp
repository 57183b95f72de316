// Key use seen on a hot standby reaches last_used_at on the primary
// (docs/SCALING.md, "Key use on replicas"). verify records uses in shared
// memory on every node, but nothing can be written on a standby: there a
// "usage sender" (backend_type `insight_keys usage sender`) sends the recorded
// uses, every insight.last_used_flush_interval, to the primary over libpq
// (insight.primary_conninfo, or the standby's own primary_conninfo when that
// is empty), one connection per database, calling
// insight._record_remote_use(), which merges them into the primary's shared
// table; the primary's cascade worker then writes them like its own.
//
// The sender starts once the standby is consistent and leaves for good
// (exit 0: the postmaster does not restart it) when it finds no recovery in
// progress: at once on a primary, and after a promotion, where the new
// primary's worker flushes whatever is left in shared memory. Uses that could
// not be delivered stay recorded and go with the next round.
//
// Plain C style in the sender, as in the launcher: no C++ object lives in
// these frames, so an ereport simply ends the process and the postmaster
// starts it again after bgw_restart_time.
// usage_stats.hpp first: it includes core/ headers, which must come before postgres.h.
#include "../extension/src/usage_stats.hpp"

#include "../extension/src/background.hpp"
#include "../extension/src/pg_guard.hpp"
#include "worker_registry.hpp"

#include <cstdlib>

extern "C" {
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

PGDLLEXPORT void insight_usage_sender_main(Datum main_arg);
}

namespace insight {

char* g_primary_conninfo = nullptr;  // insight.primary_conninfo

namespace {

// Uses sent per round at most; the rest go with the next round.
constexpr int kMaxPerRound = 50000;

int CompareByDatabase(const void* a, const void* b) {
  Oid x = static_cast<const RecordedUse*>(a)->database;
  Oid y = static_cast<const RecordedUse*>(b)->database;
  return x < y ? -1 : (x > y ? 1 : 0);
}

// The name of database `db` (shared catalog pg_database), palloc'd in the
// caller's context; nullptr when it is gone.
char* DatabaseName(Oid db) {
  MemoryContext caller = CurrentMemoryContext;
  char* name = nullptr;
  StartTransactionCommand();
  (void)GetTransactionSnapshot();
  Relation rel = table_open(DatabaseRelationId, AccessShareLock);
  TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
  HeapTuple tup;
  while ((tup = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
    auto* form = reinterpret_cast<Form_pg_database>(GETSTRUCT(tup));
    if (form->oid == db) {
      name = MemoryContextStrdup(caller, NameStr(form->datname));
      break;
    }
  }
  table_endscan(scan);
  table_close(rel, AccessShareLock);
  CommitTransactionCommand();
  MemoryContextSwitchTo(caller);
  return name;
}

// Sends uses[0..count) (all of database `db`) to the primary; true when the
// primary took them.
bool SendToPrimary(const char* conninfo, const char* dbname, const RecordedUse* uses, int count,
                   bool* warned) {
  StringInfoData ids, ats;
  initStringInfo(&ids);
  initStringInfo(&ats);
  appendStringInfoChar(&ids, '{');
  appendStringInfoChar(&ats, '{');
  for (int i = 0; i < count; i++) {
    if (i > 0) {
      appendStringInfoChar(&ids, ',');
      appendStringInfoChar(&ats, ',');
    }
    appendStringInfoString(&ids,
                           DatumGetCString(DirectFunctionCall1(
                               uuid_out, UUIDPGetDatum(const_cast<pg_uuid_t*>(&uses[i].key_id)))));
    appendStringInfo(&ats, "\"%s\"", timestamptz_to_str(uses[i].at));
  }
  appendStringInfoChar(&ids, '}');
  appendStringInfoChar(&ats, '}');

  // The conninfo is expanded first; the keywords after it override its dbname.
  const char* keys[] = {"dbname", "dbname", "application_name", "connect_timeout", nullptr};
  const char* values[] = {conninfo, dbname, "insight_keys usage sender", "10", nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 1);
  bool sent = false;
  if (PQstatus(conn) != CONNECTION_OK) {
    if (!*warned)
      ereport(LOG, (errmsg("insight_keys usage sender: could not connect to the primary: %s",
                           PQerrorMessage(conn)),
                    errhint("Key uses stay recorded here and are sent once it answers.")));
    *warned = true;
  } else {
    const char* params[] = {ids.data, ats.data};
    PGresult* res = PQexecParams(
        conn,
        "SELECT insight._record_remote_use($1::pg_catalog.uuid[], $2::pg_catalog.timestamptz[])", 2,
        nullptr, params, nullptr, nullptr, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
      sent = true;
      *warned = false;
    } else {
      if (!*warned)
        ereport(LOG,
                (errmsg("insight_keys usage sender: the primary refused the key uses of database "
                        "\"%s\": %s",
                        dbname, PQresultErrorMessage(res)),
                 errhint("The connection's role needs membership in insight_usage_reporter "
                         "(docs/SCALING.md).")));
      *warned = true;
    }
    PQclear(res);
  }
  PQfinish(conn);
  pfree(ids.data);
  pfree(ats.data);
  return sent;
}

void SendRound(bool* warned) {
  const char* conninfo = g_primary_conninfo != nullptr && g_primary_conninfo[0] != '\0'
                             ? g_primary_conninfo
                             : PrimaryConnInfo;
  if (conninfo == nullptr || conninfo[0] == '\0') return;
  int count = 0;
  RecordedUse* uses = CopyRecordedUses(kMaxPerRound, &count);
  if (count == 0) return;
  qsort(uses, count, sizeof(RecordedUse), CompareByDatabase);
  for (int start = 0; start < count;) {
    int end = start;
    while (end < count && uses[end].database == uses[start].database) end++;
    char* dbname = DatabaseName(uses[start].database);
    // A dropped database's uses are of no use to anyone.
    if (dbname == nullptr || SendToPrimary(conninfo, dbname, uses + start, end - start, warned))
      ForgetRecordedUses(uses + start, end - start);
    start = end;
  }
}

// On the primary: merge the uses a standby sent. A use later than now (a
// standby clock ahead of this one) counts as now.
Datum RecordRemoteUse(FunctionCallInfo fcinfo) {
  return PgCall([fcinfo]() -> Datum {
    ArrayType* ids = PG_GETARG_ARRAYTYPE_P(0);
    ArrayType* ats = PG_GETARG_ARRAYTYPE_P(1);
    Datum *id_values, *at_values;
    bool *id_nulls, *at_nulls;
    int n_ids, n_ats;
    deconstruct_array(ids, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR, &id_values, &id_nulls, &n_ids);
    deconstruct_array(ats, TIMESTAMPTZOID, sizeof(TimestampTz), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
                      &at_values, &at_nulls, &n_ats);
    if (n_ids != n_ats)
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("key_ids and used_at must have the same length")));
    TimestampTz now = GetCurrentTimestamp();
    int64 recorded = 0;
    for (int i = 0; i < n_ids; i++) {
      if (id_nulls[i] || at_nulls[i]) continue;
      core::Uuid key;
      memcpy(key.bytes.data(), DatumGetUUIDP(id_values[i])->data, UUID_LEN);
      TimestampTz at = Min(DatumGetTimestampTz(at_values[i]), now);
      RecordLastUsed(key, at);
      recorded++;
    }
    return Int64GetDatum(recorded);
  });
}

}  // namespace

void worker::RegisterUsageSender() {
  BackgroundWorker bgw;
  memset(&bgw, 0, sizeof bgw);
  bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  bgw.bgw_start_time = BgWorkerStart_ConsistentState;
  bgw.bgw_restart_time = 5;
  snprintf(bgw.bgw_library_name, BGW_MAXLEN, "insight_keys");
  snprintf(bgw.bgw_function_name, BGW_MAXLEN, "insight_usage_sender_main");
  snprintf(bgw.bgw_name, BGW_MAXLEN, "insight_keys usage sender");
  snprintf(bgw.bgw_type, BGW_MAXLEN, "insight_keys usage sender");
  RegisterBackgroundWorker(&bgw);
}

}  // namespace insight

extern "C" void insight_usage_sender_main(Datum) {
  using namespace insight;
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  // Not a standby (a primary, or promoted before this started): nothing to do.
  if (!RecoveryInProgress()) proc_exit(0);
  BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);  // shared catalogs only

  MemoryContext round_context =
      AllocSetContextCreate(TopMemoryContext, "insight_keys usage sender", ALLOCSET_DEFAULT_SIZES);
  bool warned = false;
  for (;;) {
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                    static_cast<long>(g_last_used_flush_interval_s) * 1000L, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
    }
    // Promoted: this node's own cascade worker flushes what is left.
    if (!RecoveryInProgress()) proc_exit(0);
    MemoryContextReset(round_context);
    MemoryContextSwitchTo(round_context);
    pgstat_report_activity(STATE_RUNNING, "sending key uses to the primary");
    SendRound(&warned);
    MemoryContextSwitchTo(TopMemoryContext);
    pgstat_report_activity(STATE_IDLE, nullptr);
  }
}

INSIGHT_SQL_FUNCTION(insight_record_remote_use, insight::RecordRemoteUse)
