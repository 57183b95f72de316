// revoke_key(): permanent, immediate, and indistinguishable from "not found"
// for a key the principal may not manage.
#include "../core/json_object.hpp"
#include "../core/redact.hpp"
#include "audit.hpp"
#include "key_management.hpp"
#include "keys.hpp"
#include "principal.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
}

namespace insight {

namespace {
Statement g_delete_key = {"DELETE FROM insight.api_keys WHERE id = $1", 1, {UUIDOID}, nullptr};

// Inside an Elevated scope, with the key row locked by this transaction:
// deletes it and audits key.revoked.
void DeleteLockedKeyAudited(const Actor& actor, const core::Uuid& key_id, const ManagedKeyRow& key,
                            std::string_view reason, const std::string* source) {
  Datum arg = UuidToDatum(key_id);
  Run(g_delete_key, &arg, nullptr, false);
  core::JsonObject detail;
  detail.Add("kind", core::KindName(key.kind)).Add("name", key.name).Add("reason", reason);
  if (source != nullptr) detail.Add("source", *source);
  WriteAudit(actor, "key.revoked", key.org, key.owner, key_id, detail.Str());
}

// A leaked-key report's source is the caller's free text: at most this much
// of it is read (never the whole of a huge value) and, once redacted, kept.
constexpr int32 kSourceReadBytes = 1024;
constexpr int kSourceKeepBytes = 200;

// Inside PgCall: the first len bytes of s, cut back to a character boundary.
int ClipChars(const char* s, int len, int limit) { return pg_mbcliplen(s, len, limit); }

// The source argument, bounded and with every key-looking token redacted (a
// scanner may paste the line it found the key in).
std::optional<std::string> SourceArgument(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(1)) return std::nullopt;
  Datum raw = PG_GETARG_DATUM(1);
  struct Bytes {
    const char* data;
    int len;
  };
  Bytes head = PgCall([raw]() {
    text* t = DatumGetTextPSlice(raw, 0, kSourceReadBytes);
    int len = VARSIZE_ANY_EXHDR(t);
    return Bytes{VARDATA_ANY(t), ClipChars(VARDATA_ANY(t), len, len)};
  });
  std::string redacted = core::RedactKeys(std::string_view(head.data, head.len));
  if (redacted.size() > static_cast<size_t>(kSourceKeepBytes)) {
    const char* p = redacted.data();
    int len = static_cast<int>(redacted.size());
    redacted.resize(PgCall([p, len]() { return ClipChars(p, len, kSourceKeepBytes); }));
  }
  return redacted;
}
}  // namespace

static Datum RevokeKey(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0)) throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "key_id must not be null");
  core::Uuid key_id = UuidFromDatum(PG_GETARG_DATUM(0));
  Actor actor = CurrentActor();
  ManagedKey key = LockManagedKey(key_id);

  Elevated e = Elevated::Begin();
  DeleteLockedKeyAudited(actor, key_id, key, "revoked", nullptr);
  e.End();
  PG_RETURN_VOID();
}

// report_leaked(): anyone, even nobody, who holds a key's full text may have
// it revoked (docs/SECURITY.md, "Leaked-key reports"). No permission check:
// holding the key is the proof. Bad input is false, never an error.
static Datum ReportLeaked(FunctionCallInfo fcinfo) {
  // A write, refused on a standby or in a read-only transaction before the
  // text is looked at, so that there it answers nothing about the key.
  PgCall([]() {
    PreventCommandIfReadOnly("report_leaked()");
    PreventCommandDuringRecovery("report_leaked()");
  });
  std::optional<std::string_view> text = KeyTextArgument(fcinfo);
  KeyRecord rec;
  if (!text || !FindKeyText(*text, &rec)) PG_RETURN_BOOL(false);
  std::optional<std::string> source = SourceArgument(fcinfo);
  Actor actor = CurrentActor();
  Elevated e = Elevated::Begin();
  // No right to decide on, but the same lock and re-check as revoke_key: the
  // key may have changed since the unlocked read.
  ManagedKeyRow key;
  bool revoked = FindManagedKey(rec.key_id, &key) && LockDecidedKey(rec.key_id, key);
  if (revoked) DeleteLockedKeyAudited(actor, rec.key_id, key, "leaked", source ? &*source : nullptr);
  e.End();
  PG_RETURN_BOOL(revoked);
}

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_revoke_key, insight::RevokeKey)
INSIGHT_SQL_FUNCTION(insight_report_leaked, insight::ReportLeaked)
