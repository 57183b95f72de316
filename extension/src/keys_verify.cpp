// verify() and authenticate(): the read-only path every request takes.
#include <openssl/crypto.h>

#include "keys.hpp"
#include "principal.hpp"

extern "C" {
#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "funcapi.h"
#include "utils/builtins.h"
}

namespace insight {

namespace {

constexpr const char* kKeyColumns =
    "SELECT k.id, k.kind, k.org_id, k.owner_id, k.expires_at, k.secret_hash, "
    "o.id IS NOT NULL, u.id IS NOT NULL, COALESCE(u.is_platform_admin, false), m.role "
    "FROM insight.api_keys k "
    "LEFT JOIN insight.organizations o ON o.id = k.org_id "
    "LEFT JOIN insight.users u ON u.id = k.owner_id "
    "LEFT JOIN insight.memberships m ON m.user_id = k.owner_id AND m.org_id = k.org_id ";

Statement g_by_lookup = {nullptr, 1, {TEXTOID}, nullptr};
Statement g_by_id = {nullptr, 1, {UUIDOID}, nullptr};

// Reads row 0 of the last result into record; compares the stored hash with
// `hash` (nullptr: the caller already proved the secret).
void ReadKeyRow(KeyRecord* rec, const uint8_t* hash) {
  bool isnull;
  rec->key_id = ColumnUuid(0, 1);
  rec->kind = ColumnText(0, 2) == "organization" ? core::KeyKind::Organization : core::KeyKind::User;
  rec->org = ColumnUuid(0, 3);
  rec->owner = ColumnUuidOrNull(0, 4);
  Datum expires = ColumnDatum(0, 5, &isnull);
  rec->expires_at = isnull ? std::nullopt : std::optional<TimestampTz>(DatumGetTimestampTz(expires));

  core::KeyFacts& f = rec->facts;
  f.kind = rec->kind;
  if (hash == nullptr) {
    f.hash_matches = true;
  } else {
    Datum stored = ColumnDatum(0, 6, &isnull);
    bytea* b = isnull ? nullptr : DatumGetByteaPP(stored);
    f.hash_matches = b != nullptr && VARSIZE_ANY_EXHDR(b) == 32 &&
                     CRYPTO_memcmp(VARDATA_ANY(b), hash, 32) == 0;
  }
  f.expired = rec->expires_at.has_value() && *rec->expires_at <= GetCurrentTimestamp();
  f.org_exists = ColumnBool(0, 7);
  f.owner_exists = ColumnBool(0, 8);
  f.owner_platform_admin = ColumnBool(0, 9);
  f.owner_role = ColumnIsNull(0, 10) ? core::Role::None
                                     : core::ParseRole(ColumnText(0, 10)).value_or(core::Role::None);
}

void PrepareStatements() {
  static std::string by_lookup = std::string(kKeyColumns) + "WHERE k.lookup_id = $1";
  static std::string by_id = std::string(kKeyColumns) + "WHERE k.id = $1";
  g_by_lookup.sql = by_lookup.c_str();
  g_by_id.sql = by_id.c_str();
}

Datum BuildVerifyRow(FunctionCallInfo fcinfo, const core::VerifyOutcome& out,
                     const KeyRecord& rec) {
  Datum values[8];
  bool nulls[8] = {false, false, true, true, true, true, true, true};
  values[0] = BoolGetDatum(out.code == core::VerifyCode::Valid);
  values[1] = TextToDatum(std::string(core::VerifyCodeName(out.code)));
  bool describe = out.code == core::VerifyCode::Valid || out.code == core::VerifyCode::Expired ||
                  out.code == core::VerifyCode::OwnerInactive;
  if (describe) {
    values[2] = UuidToDatum(rec.key_id), nulls[2] = false;
    values[3] = TextToDatum(std::string(core::KindName(rec.kind))), nulls[3] = false;
    values[4] = UuidToDatum(rec.org), nulls[4] = false;
    if (rec.owner) values[5] = UuidToDatum(*rec.owner), nulls[5] = false;
    if (!out.role.empty()) values[6] = TextToDatum(std::string(out.role)), nulls[6] = false;
    if (rec.expires_at) values[7] = TimestampTzGetDatum(*rec.expires_at), nulls[7] = false;
  }
  return PgCall([&]() {
    TupleDesc desc;
    if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) {
      elog(ERROR, "verify must return a composite type");
    }
    desc = BlessTupleDesc(desc);
    return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
  });
}

// The argument as key text, or nullopt when it cannot be a key. The size is
// read from the (possibly toasted) header first, so a 100 MB argument is
// rejected without being detoasted.
std::optional<std::string_view> KeyArgument(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0)) return std::nullopt;
  Datum raw = PG_GETARG_DATUM(0);
  Size size = toast_raw_datum_size(raw) - VARHDRSZ;
  if (size < core::kMinKeyLen || size > core::kMaxKeyLen) return std::nullopt;
  text* t = PgCall([raw]() { return DatumGetTextPP(raw); });
  return std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

core::VerifyOutcome VerifyArgument(FunctionCallInfo fcinfo, KeyRecord* rec) {
  std::optional<std::string_view> key = KeyArgument(fcinfo);
  if (!key) return {core::VerifyCode::Malformed, {}};
  return VerifyKeyText(*key, rec);
}

}  // namespace

void HashKey(std::string_view key, uint8_t out[32]) {
  PgCall([key, out]() {
    pg_cryptohash_ctx* ctx = pg_cryptohash_create(PG_SHA256);
    if (ctx == nullptr || pg_cryptohash_init(ctx) < 0 ||
        pg_cryptohash_update(ctx, reinterpret_cast<const uint8*>(key.data()), key.size()) < 0 ||
        pg_cryptohash_final(ctx, out, 32) < 0) {
      elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
    }
    pg_cryptohash_free(ctx);
  });
}

core::VerifyOutcome VerifyKeyText(std::string_view key, KeyRecord* rec) {
  core::ParsedKey parsed;
  if (!core::ParseKey(key, &parsed)) return {core::VerifyCode::Malformed, {}};
  uint8_t hash[32];
  HashKey(key, hash);
  PrepareStatements();
  Datum lookup = TextToDatum(std::string(parsed.lookup_id));
  Elevated e = Elevated::Begin();
  bool found = Run(g_by_lookup, &lookup, nullptr, true, 1) > 0;
  if (found) ReadKeyRow(rec, hash);
  e.End();
  // The kind is part of the key text; a row of the other kind is not this key.
  if (found && rec->kind != parsed.kind) found = false;
  return core::DecideVerify(found, rec->facts);
}

core::VerifyOutcome VerifyKeyId(const core::Uuid& key_id, KeyRecord* rec) {
  PrepareStatements();
  Datum id = UuidToDatum(key_id);
  Elevated e = Elevated::Begin();
  bool found = Run(g_by_id, &id, nullptr, true, 1) > 0;
  if (found) ReadKeyRow(rec, nullptr);
  e.End();
  return core::DecideVerify(found, rec->facts);
}

static Datum Verify(FunctionCallInfo fcinfo) {
  KeyRecord rec;
  core::VerifyOutcome out = VerifyArgument(fcinfo, &rec);
  return BuildVerifyRow(fcinfo, out, rec);
}

static Datum Authenticate(FunctionCallInfo fcinfo) {
  PrincipalScope scope = PrincipalScope::Transaction;
  if (PG_NARGS() > 1) {
    std::string s = PG_ARGISNULL(1) ? std::string() : TextFromDatum(PG_GETARG_DATUM(1));
    if (s == "session") {
      scope = PrincipalScope::Session;
    } else if (s != "transaction") {
      throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "scope must be 'transaction' or 'session'");
    }
  }
  KeyRecord rec;
  core::VerifyOutcome out = VerifyArgument(fcinfo, &rec);
  if (out.code != core::VerifyCode::Valid) {
    // Never echo the key: the code is all the caller learns.
    throw SqlError(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
                   "API key authentication failed: " + std::string(core::VerifyCodeName(out.code)));
  }
  SetKeyPrincipal(rec.key_id, scope);
  return BuildVerifyRow(fcinfo, out, rec);
}

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_verify, insight::Verify)
INSIGHT_SQL_FUNCTION(insight_authenticate, insight::Authenticate)
