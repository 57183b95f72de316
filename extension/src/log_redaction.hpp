// Keys never reach a log line (SPEC §5, docs/SECURITY.md): an emit_log_hook
// that redacts key material from every field of every log entry.
#pragma once

namespace insight {

// Defines insight.redact_logs and installs the hook (chained); from _PG_init,
// before the "insight" GUC prefix is reserved.
void InitLogRedaction();

}  // namespace insight
