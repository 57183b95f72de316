// Identity administration (see identity.cpp).
#pragma once

namespace insight {

// insight.identity_lock_timeout; called from _PG_init before the prefix is
// reserved.
void InitIdentitySettings();

}  // namespace insight
