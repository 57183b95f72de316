// configure_key(): a key's settings (docs/SECURITY.md, "Narrower keys").
// Merged into what is stored; a member set to null is removed. The patch and
// the result are validated exactly as a cache miss parses them, so nothing is
// stored that verify could not read. Rights: those of revoke_key on the key,
// for a person or the operator; never a key (a leaked key must not be able to
// lift its own limits).
#include "../core/json_object.hpp"
#include "audit.hpp"
#include "key_lookup.hpp"
#include "key_management.hpp"
#include "principal.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
}

namespace insight {

namespace {

// Read once LockManagedKey holds the row FOR UPDATE, so from its latest
// committed settings.
Statement g_merge = {
    "SELECT (SELECT coalesce(pg_catalog.jsonb_object_agg(e.key, e.value), '{}'::jsonb) "
    "   FROM pg_catalog.jsonb_each(k.settings OPERATOR(pg_catalog.||) $2) e "
    "  WHERE pg_catalog.jsonb_typeof(e.value) OPERATOR(pg_catalog.<>) 'null')::text "
    "FROM insight.api_keys k WHERE id = $1",
    2, {UUIDOID, JSONBOID}, nullptr};
Statement g_store = {"UPDATE insight.api_keys SET settings = $2::jsonb WHERE id = $1", 2,
                     {UUIDOID, TEXTOID}, nullptr};

// Validates settings text; allow_null for a patch. Raises 22023.
void Validate(const std::string& json, bool allow_null) {
  core::KeySettings parsed;
  std::string window, error;
  if (!core::ParseKeySettings(json, allow_null, &parsed, &window, &error)) {
    throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, error);
  }
  if (parsed.has_rate_limit && !IntervalMicroseconds(window)) {
    throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE,
                   "rate_limit.window must be an interval of at least 1 second, in days, hours, "
                   "minutes or seconds");
  }
}

}  // namespace

static Datum ConfigureKey(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0)) throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "key_id must not be null");
  if (PG_ARGISNULL(1)) throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "settings must not be null");
  core::Uuid key_id = UuidFromDatum(PG_GETARG_DATUM(0));
  const core::PrincipalFacts& who = CurrentFacts();
  if (who.kind == core::PrincipalKind::UserKey || who.kind == core::PrincipalKind::OrgKey) {
    throw SqlError(ERRCODE_INSUFFICIENT_PRIVILEGE, "an API key cannot configure API keys",
                   "Call insight.configure_key() as a person or as the operator.");
  }
  Datum patch_datum = PgCall([fcinfo]() { return PointerGetDatum(PG_GETARG_JSONB_P(1)); });
  std::string patch = PgCall([patch_datum]() {
    Jsonb* jb = DatumGetJsonbP(patch_datum);
    return JsonbToCString(nullptr, &jb->root, VARSIZE(jb));
  });
  Validate(patch, true);
  Actor actor = CurrentActor();

  // Permission first, lock afterwards, as in revoke_key.
  ManagedKey key = LockManagedKey(key_id);

  Elevated e = Elevated::Begin();
  Datum args[2] = {UuidToDatum(key_id), patch_datum};
  if (Run(g_merge, args, nullptr, false) == 0) {
    throw SqlError(ERRCODE_NO_DATA_FOUND, "API key not found");
  }
  std::string merged = ColumnText(0, 1);
  // What is stored may have been written some other way: the result must
  // itself be settings verify can read, or nothing changes.
  Validate(merged, false);
  Datum store[2] = {UuidToDatum(key_id), TextToDatum(merged)};
  Run(g_store, store, nullptr, false);
  core::JsonObject detail;
  detail.Add("kind", core::KindName(key.kind)).Add("name", key.name).AddRaw("settings", merged);
  WriteAudit(actor, "key.configured", key.org, key.owner, key_id, detail.Str());
  e.End();
  return PgCall([&merged]() {
    return DirectFunctionCall1(jsonb_in, CStringGetDatum(merged.c_str()));
  });
}

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_configure_key, insight::ConfigureKey)
