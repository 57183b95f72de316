// Included first by every pure-C++ core header: the core must build and link
// without a PostgreSQL server (GoogleTest links it alone), so it must never
// see postgres.h, whose macros and longjmp-based errors do not mix with C++.
#pragma once

#ifdef PG_VERSION_NUM
static_assert(false, "extension/core must not include postgres.h");
#endif
