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
// Permission is decided before any lock is taken on the key: a key the caller
// may not see is read exactly like an unknown one (one plain lookup, no lock,
// so no wait on a concurrent holder and no 40001 that would show it exists).
Statement g_find_key = {"SELECT kind, org_id, owner_id, name FROM insight.api_keys WHERE id = $1",
                        1, {UUIDOID}, nullptr};
Statement g_lock_key = {"SELECT kind, org_id, owner_id FROM insight.api_keys WHERE id = $1 FOR UPDATE",
                        1, {UUIDOID}, nullptr};
Statement g_delete_key = {"DELETE FROM insight.api_keys WHERE id = $1", 1, {UUIDOID}, nullptr};

struct KeyFacts {
  core::KeyKind kind = core::KeyKind::User;
  core::Uuid org;
  std::optional<core::Uuid> owner;
};

KeyFacts ReadKeyFacts() {
  KeyFacts k;
  k.kind = core::KindFromName(ColumnText(0, 1));
  k.org = ColumnUuid(0, 2);
  k.owner = ColumnUuidOrNull(0, 3);
  return k;
}
// Inside an Elevated scope, with the key row locked by this transaction:
// deletes it and audits key.revoked.
void DeleteLockedKeyAudited(const Actor& actor, const core::Uuid& key_id, const KeyFacts& key,
                            const std::string& name, std::string_view reason,
                            const std::string* source) {
  Datum arg = UuidToDatum(key_id);
  Run(g_delete_key, &arg, nullptr, false);
  core::JsonObject detail;
  detail.Add("kind", core::KindName(key.kind)).Add("name", name).Add("reason", reason);
  if (source != nullptr) detail.Add("source", *source);
  WriteAudit(actor, "key.revoked", key.org, key.owner, key_id, detail.Str());
}

// Inside an Elevated scope, once the caller's right to revoke was decided
// (a leaked-key report needs none): locks the key, checks it is still the one
// decided on (it may have changed since the unlocked read), deletes it and
// audits key.revoked. False when it is gone or changed.
bool DeleteKeyAudited(const Actor& actor, const core::Uuid& key_id, const KeyFacts& key,
                      const std::string& name, std::string_view reason, const std::string* source) {
  Datum arg = UuidToDatum(key_id);
  if (Run(g_lock_key, &arg, nullptr, false) == 0) return false;
  KeyFacts locked = ReadKeyFacts();
  if (!(locked.kind == key.kind && locked.org == key.org && locked.owner == key.owner)) return false;
  DeleteLockedKeyAudited(actor, key_id, key, name, reason, source);
  return true;
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

ManagedKey LockManagedKey(const core::Uuid& key_id) {
  Elevated e = Elevated::Begin();
  Datum arg = UuidToDatum(key_id);
  bool found = Run(g_find_key, &arg, nullptr, false) > 0;
  KeyFacts key;
  std::string name;
  if (found) {
    key = ReadKeyFacts();
    name = ColumnText(0, 4);
  }
  e.End();
  // The acting principal's latest committed rights, locked, in the key's
  // organization (for an unknown key, in none: the same reads either way).
  // Outside the Elevated scope: the principal is the caller, not the owner.
  core::Uuid no_org;
  const core::PrincipalFacts facts = LockedFactsForDecision(found ? &key.org : &no_org);
  e = Elevated::Begin();
  arg = UuidToDatum(key_id);  // the first one was allocated in the scope just ended
  bool visible = found && core::MayViewKey(facts, key.kind, key.org, key.owner ? &*key.owner : nullptr);
  if (!visible) throw SqlError(ERRCODE_NO_DATA_FOUND, "API key not found");
  // Now the lock; the key may have changed since the unlocked read.
  if (Run(g_lock_key, &arg, nullptr, false) == 0) throw SqlError(ERRCODE_NO_DATA_FOUND, "API key not found");
  KeyFacts locked = ReadKeyFacts();
  if (!(locked.kind == key.kind && locked.org == key.org && locked.owner == key.owner)) {
    throw SqlError(ERRCODE_NO_DATA_FOUND, "API key not found");
  }
  e.End();
  ManagedKey m;
  m.id = key_id;
  m.kind = key.kind;
  m.org = key.org;
  m.owner = key.owner;
  m.name = name;
  m.facts = facts;
  return m;
}

static Datum RevokeKey(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0)) throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "key_id must not be null");
  core::Uuid key_id = UuidFromDatum(PG_GETARG_DATUM(0));
  Actor actor = CurrentActor();
  ManagedKey key = LockManagedKey(key_id);

  Elevated e = Elevated::Begin();
  DeleteLockedKeyAudited(actor, key_id, KeyFacts{key.kind, key.org, key.owner}, key.name, "revoked",
                         nullptr);
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
  Datum arg = UuidToDatum(rec.key_id);
  bool revoked = false;
  if (Run(g_find_key, &arg, nullptr, false) > 0) {
    KeyFacts key = ReadKeyFacts();
    std::string name = ColumnText(0, 4);
    revoked = DeleteKeyAudited(actor, rec.key_id, key, name, "leaked", source ? &*source : nullptr);
  }
  e.End();
  PG_RETURN_BOOL(revoked);
}

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_revoke_key, insight::RevokeKey)
INSIGHT_SQL_FUNCTION(insight_report_leaked, insight::ReportLeaked)
