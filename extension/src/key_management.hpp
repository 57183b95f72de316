// What generation, revocation, configuration, rotation and disabling share:
// the facts of the key decided on, one permission-then-lock path for "may
// manage this key" and one code path that creates a key.
#pragma once

#include <optional>
#include <string>

#include "principal.hpp"

namespace insight {

// Which key a management decision is about, and whose: what revocation,
// configuration, rotation, disabling and the purge of rotated keys read of it.
struct ManagedKeyRow {
  core::KeyKind kind = core::KeyKind::User;
  core::Uuid org;
  std::optional<core::Uuid> owner;
  std::string name;

  // The same key for a decision: kind, organization and owner (the name is
  // only recorded).
  bool SameOwnership(const ManagedKeyRow& other) const {
    return kind == other.kind && org == other.org && owner == other.owner;
  }
};

// The columns of insight.api_keys a ManagedKeyRow is read from, in the order
// ReadManagedKeyRow expects them.
#define INSIGHT_MANAGED_KEY_COLUMNS "kind, org_id, owner_id, name"

// Row `row` of the last SPI result, whose first columns are
// INSIGHT_MANAGED_KEY_COLUMNS.
ManagedKeyRow ReadManagedKeyRow(uint64 row);

// Inside an Elevated scope: the key's row as it is now, without a lock. False
// when there is none.
bool FindManagedKey(const core::Uuid& key_id, ManagedKeyRow* key);

// Inside an Elevated scope, once the decision about `decided` (a row read by
// FindManagedKey) was made: locks the key FOR UPDATE until the transaction
// ends. False when it is gone or is no longer the key decided on (it may have
// changed since the unlocked read).
bool LockDecidedKey(const core::Uuid& key_id, const ManagedKeyRow& decided);

// A key the acting principal may manage (may see it: the rights of
// revoke_key), locked FOR UPDATE until the transaction ends. name is as first
// read.
struct ManagedKey : ManagedKeyRow {
  core::Uuid id;
  core::PrincipalFacts facts;  // the principal's locked facts the decision was made from
};

// Call outside an Elevated scope. Permission is decided before any lock is
// taken on the key: a key the principal may not see raises the unknown-key
// error (P0002), read exactly like an unknown one (no wait on a concurrent
// holder, no 40001 that would show it exists).
ManagedKey LockManagedKey(const core::Uuid& key_id);

struct NewKeyRequest {
  core::KeyKind kind = core::KeyKind::User;
  core::Uuid org;
  std::string name;
  std::optional<TimestampTz> expires_at;
  bool audit_generated = true;  // record key.generated (rotation records key.rotated instead)
};
struct NewKey {
  core::Uuid key_id;
  std::string api_key;  // shown once: only returned to the caller
};

// Creates a key for the acting principal with every check generation makes
// (a user key for the acting person only; never for an API key principal).
// Call outside an Elevated scope.
NewKey CreateKey(const NewKeyRequest& request);

}  // namespace insight

namespace insight {

// The worker's task: deletes up to batch rotated keys whose grace has ended
// (rotated_to set, expires_at passed), each audited as revoked with reason
// "rotated". Inside an Elevated scope. Returns how many were deleted.
int64 PurgeRotatedKeys(int batch);

}  // namespace insight
