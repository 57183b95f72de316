# The compiler flags and source lists of insight_keys, in one place. Read by
# the Makefile (include), by CMakeLists.txt (file(STRINGS)) and by
# tests/fuzz/run.sh. Format, so that all three can read it: one variable per
# line, "NAME = value", no continuation lines, no make functions; source
# lists are shell globs relative to the top of the checkout.

# The language: C++17, for the extension, the unit and integration tests, the
# console and the fuzz harness alike.
INSIGHT_CXX_STANDARD = 17
# Warnings every C++ build enables (the extension's build and the unit runner
# fail on any warning).
INSIGHT_WARNINGS = -Wall -Wextra
# Added where PostgreSQL's server headers are included: they use `register`,
# unnamed parameters in callbacks and partly initialized structs.
INSIGHT_PG_HEADER_FLAGS = -Wno-register -Wno-unused-parameter -Wno-missing-field-initializers
# Profilers and sanitizers need frame pointers.
INSIGHT_DEBUG_FLAGS = -fno-omit-frame-pointer

# The pure core: never includes postgres.h, linked by the shared library, the
# unit tests and the fuzz harness.
INSIGHT_CORE_SOURCES = extension/core/*.cpp
# The extension and its background workers: one shared library.
INSIGHT_EXTENSION_SOURCES = extension/src/*.cpp worker/*.cpp
