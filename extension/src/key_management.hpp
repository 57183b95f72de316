// What generation, revocation, rotation and disabling share: one permission
// decision for "may manage this key" and one code path that creates a key.
#pragma once

#include <optional>
#include <string>

#include "principal.hpp"

namespace insight {

// A key the acting principal may manage (the rights of revoke_key), locked
// FOR UPDATE until the transaction ends.
struct ManagedKey {
  core::Uuid id;
  core::KeyKind kind = core::KeyKind::User;
  core::Uuid org;
  std::optional<core::Uuid> owner;
  std::string name;
  core::PrincipalFacts facts;  // the principal's locked facts the decision was made from
};

// Call outside an Elevated scope. A key the principal may not see raises the
// unknown-key error (P0002), read exactly like an unknown one.
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
