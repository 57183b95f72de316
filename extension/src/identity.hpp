// Identity administration (see identity.cpp).
#pragma once

namespace insight {

// insight.identity_lock_timeout, in milliseconds.
extern int g_identity_lock_timeout_ms;

}  // namespace insight
