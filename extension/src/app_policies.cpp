// The principal in the application's own row-level security policies:
// insight.has_scope, acts_in_org, current_org_id, current_user_id (README,
// "Row-level security on your own tables"). Each answers from the facts
// CurrentFacts() loaded once for the statement, so on the common path a call
// is a comparison in memory: no SPI, no catalog access.
#include "principal.hpp"

#include <cstdio>
#include <string>

extern "C" {
#include "access/parallel.h"
#include "access/xact.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
}

namespace insight {

// A parallel worker has no principal of its own: the principal lives in the
// leader's memory. So the leader, when it starts a plan that may use workers,
// writes the facts it acts with (for the role running the query) into a
// setting that PostgreSQL copies to every worker it starts, and a worker
// answers from that copy. Only the extension sets it (superuser-only, not in
// SHOW for others); a worker that finds none, or one written for another
// role, answers as for nobody: never more than the leader's principal
// (docs/SECURITY.md, "Policies on your own tables").
char* g_parallel_principal = nullptr;

namespace {

bool g_shipping = false;

void AppendUuid(std::string* out, const core::Uuid& u) {
  char hex[33];
  for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", u.bytes[i]);
  out->append(hex, 32);
}

bool ReadUuid(const char** p, core::Uuid* out) {
  for (int i = 0; i < 16; i++) {
    unsigned v;
    if (sscanf(*p + 2 * i, "%2x", &v) != 1) return false;
    out->bytes[i] = static_cast<uint8_t>(v);
  }
  *p += 32;
  return true;
}

// "<role oid> <kind> <user> <org> <admin> <capped> <ceiling> <invalid> <has_scopes>
//  <n> <org>:<role>... <n> <scope>..." (scopes contain no spaces).
std::string Serialize(Oid role, const core::PrincipalFacts& f, const core::KeySettings& s) {
  std::string out = std::to_string(role) + " " + std::to_string(static_cast<int>(f.kind)) + " ";
  AppendUuid(&out, f.user);
  out += " ";
  AppendUuid(&out, f.org);
  out += " " + std::to_string(f.platform_admin) + " " + std::to_string(f.key_capped) + " " +
         std::to_string(static_cast<int>(f.key_ceiling)) + " " + std::to_string(s.invalid) + " " +
         std::to_string(s.has_scopes) + " " + std::to_string(f.memberships.size());
  for (const core::Membership& m : f.memberships) {
    out += " ";
    AppendUuid(&out, m.org);
    out += ":" + std::to_string(static_cast<int>(m.role));
  }
  out += " " + std::to_string(static_cast<int>(s.scope_count));
  for (size_t i = 0; i < s.scope_count; i++) out += " " + std::string(s.Scope(i));
  return out;
}

bool Deserialize(const std::string& text, core::PrincipalFacts* f, core::KeySettings* s) {
  const char* p = text.c_str();
  unsigned role, kind, admin, capped, ceiling, invalid, has_scopes;
  int n = 0;
  if (sscanf(p, "%u %u %n", &role, &kind, &n) != 2 || role != GetUserId() || kind > 4) return false;
  p += n;
  f->kind = static_cast<core::PrincipalKind>(kind);
  if (!ReadUuid(&p, &f->user) || *p++ != ' ' || !ReadUuid(&p, &f->org)) return false;
  size_t count;
  if (sscanf(p, " %u %u %u %u %u %zu%n", &admin, &capped, &ceiling, &invalid, &has_scopes, &count,
             &n) != 6 ||
      ceiling > 3) {
    return false;
  }
  p += n;
  f->platform_admin = admin != 0;
  f->key_capped = capped != 0;
  f->key_ceiling = static_cast<core::Role>(ceiling);
  s->invalid = invalid != 0;
  s->has_scopes = has_scopes != 0;
  for (size_t i = 0; i < count; i++) {
    core::Membership m;
    unsigned r;
    if (*p++ != ' ' || !ReadUuid(&p, &m.org) || sscanf(p, ":%u%n", &r, &n) != 1 || r > 3) {
      return false;
    }
    p += n;
    m.role = static_cast<core::Role>(r);
    f->memberships.push_back(m);
  }
  if (sscanf(p, " %zu%n", &count, &n) != 1 || count > core::kMaxScopes) return false;
  p += n;
  size_t used = 0;
  for (size_t i = 0; i < count; i++) {
    if (*p++ != ' ') return false;
    const char* end = strchr(p, ' ');
    size_t len = end ? static_cast<size_t>(end - p) : strlen(p);
    if (!core::ValidScope(std::string_view(p, len)) || used + len > core::kScopeBytes) return false;
    memcpy(s->scope_bytes + used, p, len);
    used += len;
    s->scope_end[s->scope_count++] = static_cast<uint16_t>(used);
    p += len;
  }
  return *p == '\0';
}

struct WorkerFacts {
  std::string text;
  bool ok = false;
  core::PrincipalFacts facts;
  core::KeySettings settings;
};

const WorkerFacts& FactsInWorker() {
  static WorkerFacts cached;
  const char* now = g_parallel_principal != nullptr ? g_parallel_principal : "";
  if (cached.text != now || !cached.ok) {
    cached.text = now;
    cached.facts = core::PrincipalFacts{};
    cached.settings = core::KeySettings{};
    cached.ok = Deserialize(cached.text, &cached.facts, &cached.settings);
    if (!cached.ok) {
      cached.facts = core::PrincipalFacts{};
      cached.settings = core::KeySettings{};
    }
  }
  return cached;
}

const core::PrincipalFacts& FactsHere() {
  if (IsParallelWorker()) return FactsInWorker().facts;
  return CurrentFacts();
}

// The facts and the key settings they were loaded with, validated once.
const core::PrincipalFacts& FactsHere(const core::KeySettings** settings) {
  if (IsParallelWorker()) {
    const WorkerFacts& w = FactsInWorker();
    *settings = &w.settings;
    return w.facts;
  }
  return CurrentFacts(settings);
}

void ShipPrincipal() {
  Oid ext = PgCall([]() { return get_extension_oid("insight_keys", true); });
  std::string value;
  if (OidIsValid(ext)) value = Serialize(GetUserId(), CurrentFacts(), CurrentKeySettings());
  const char* current = g_parallel_principal != nullptr ? g_parallel_principal : "";
  if (value == current) return;
  PgCall([&value]() {
    SetConfigOption("insight.parallel_principal", value.c_str(), PGC_SUSET, PGC_S_SESSION);
  });
}

}  // namespace

// Part of a PostgreSQL hook: only plain data in this frame.
void ShipPrincipalForParallelPlan(QueryDesc* query, int eflags) {
  if (query->plannedstmt->parallelModeNeeded && !IsInParallelMode() && !IsParallelWorker() &&
      (eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0 && !g_shipping && IsTransactionState()) {
    g_shipping = true;
    PG_TRY();
    {
      InvokeGuarded([]() -> Datum {
        ShipPrincipal();
        return Datum(0);
      });
    }
    PG_FINALLY();
    { g_shipping = false; }
    PG_END_TRY();
  }
}

static Datum HasScope(FunctionCallInfo fcinfo) {
  const core::KeySettings* settings = nullptr;
  const core::PrincipalFacts& f = FactsHere(&settings);
  switch (f.kind) {
    case core::PrincipalKind::Operator:
    case core::PrincipalKind::User:
      PG_RETURN_BOOL(true);
    case core::PrincipalKind::UserKey:
    case core::PrincipalKind::OrgKey: {
      // A row policy calls this once per row, almost always with a constant:
      // only a compressed or out-of-line value needs detoasting (as
      // pg_detoast_datum_packed decides), which may raise.
      auto* v = reinterpret_cast<varlena*>(DatumGetPointer(PG_GETARG_DATUM(0)));
      if (VARATT_IS_COMPRESSED(v) || VARATT_IS_EXTERNAL(v))
        v = PgCall([fcinfo]() { return PG_GETARG_TEXT_PP(0); });
      std::string_view permission(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
      PG_RETURN_BOOL(core::AnyScopeMatches(*settings, permission));
    }
    case core::PrincipalKind::Nobody:
      break;
  }
  PG_RETURN_BOOL(false);
}

static Datum ActsInOrg(FunctionCallInfo fcinfo) {
  core::Uuid org = UuidFromDatum(PG_GETARG_DATUM(0));
  PG_RETURN_BOOL(core::ActsInOrg(FactsHere(), org));
}

static Datum CurrentOrgId(FunctionCallInfo fcinfo) {
  const core::PrincipalFacts& f = FactsHere();
  if (f.kind != core::PrincipalKind::UserKey && f.kind != core::PrincipalKind::OrgKey) {
    PG_RETURN_NULL();
  }
  return UuidToDatum(f.org);
}

static Datum CurrentUserId(FunctionCallInfo fcinfo) {
  const core::PrincipalFacts& f = FactsHere();
  if (f.kind != core::PrincipalKind::User && f.kind != core::PrincipalKind::UserKey) {
    PG_RETURN_NULL();
  }
  return UuidToDatum(f.user);
}

}  // namespace insight

INSIGHT_SQL_FUNCTION(insight_has_scope, insight::HasScope)
INSIGHT_SQL_FUNCTION(insight_acts_in_org, insight::ActsInOrg)
INSIGHT_SQL_FUNCTION(insight_current_org_id, insight::CurrentOrgId)
INSIGHT_SQL_FUNCTION(insight_current_user_id, insight::CurrentUserId)
