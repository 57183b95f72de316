// Organization policies (docs/DESIGN.md, "Organization policies"):
// set_org_policy(), the expiry check every key creation makes, and the
// worker's two policy tasks (docs/WORKER.md).
#pragma once

#include <optional>

#include "spi_bridge.hpp"

namespace insight {

// insight.key_policy_interval: how often the worker applies revoke_unused_after
// and records key.expiring (seconds).
extern int g_key_policy_interval_s;

// Inside an Elevated scope, once the caller's right to create a key in org was
// decided: 22023 when the requested expiry (nullopt: none) breaks the
// organization's policy (require_expiry, max_key_lifetime). Every path that
// creates a key (generation, rotation) calls this one function. The policy
// row is locked FOR SHARE, so a concurrent set_org_policy waits for the key.
void CheckPolicyExpiry(const core::Uuid& org, std::optional<TimestampTz> requested);

// Inside an Elevated scope: deletes the policy of an organization being
// deleted (the identity trigger calls it in the deleting transaction).
void ForgetOrgPolicy(const core::Uuid& org);

// Worker tasks, each inside an Elevated scope in a transaction of its own; at
// most `batch` keys each; return how many keys they handled. Nothing happens
// before the catalog reached 1.2.
// Revokes (deletes, audited key.revoked with reason "unused") the keys of
// organizations with revoke_unused_after whose last use, or creation if never
// used, is older than that.
int64 RevokeUnusedKeys(int batch);
// Records key.expiring once per key, notify_before ahead of its effective
// expiry (the key's expiring_recorded column remembers it).
int64 RecordExpiringKeys(int batch);

}  // namespace insight
