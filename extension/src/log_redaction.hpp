// Keys never reach a log line or pg_stat_activity (docs/SECURITY.md,
// "Statement texts"): an emit_log_hook
// that redacts key material from every field of every log entry, and a
// post-parse-analysis hook that redacts the statement text the backend
// publishes in pg_stat_activity.
#pragma once

namespace insight {

// Defines insight.redact_logs and installs both hooks (chained); from _PG_init,
// before the "insight" GUC prefix is reserved.
void InitLogRedaction();

}  // namespace insight
