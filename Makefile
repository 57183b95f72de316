# insight_keys — PGXS build of the extension, plus the project's commands:
#   make demo   install what is missing, build, install, start a throwaway
#               cluster with the worker preloaded and walk through the flows
#   make test   install what is missing, build, run every suite
#   make bench  the benchmarks (figures go to docs/PERFORMANCE.md)

# Flags and source lists: buildflags.mk, shared with CMakeLists.txt and the
# fuzz runner.
include $(dir $(lastword $(MAKEFILE_LIST)))buildflags.mk

MODULE_big = insight_keys
CORE_SRCS = $(wildcard $(INSIGHT_CORE_SOURCES))
EXT_SRCS  = $(wildcard $(INSIGHT_EXTENSION_SOURCES))
OBJS = $(CORE_SRCS:.cpp=.o) $(EXT_SRCS:.cpp=.o)

MODULEDIR = extension
DATA = extension/insight_keys.control $(wildcard extension/insight_keys--*.sql)

PG_CPPFLAGS = -I$(srcdir)/extension -I$(libpq_srcdir)
PG_CXXFLAGS = -std=c++$(INSIGHT_CXX_STANDARD) $(INSIGHT_WARNINGS) $(INSIGHT_PG_HEADER_FLAGS) \
              $(INSIGHT_DEBUG_FLAGS)
# -MMD -MP: each object records the headers it was built from (x.d beside
# x.o), so a changed struct in a header rebuilds every object that uses it
# instead of linking objects built against two layouts.
PG_CXXFLAGS += -MMD -MP
EXTRA_CLEAN = $(OBJS:.o=.d)
SHLIB_LINK = -lstdc++ -lcrypto
# libpq: a standby's usage sender reaches the primary with it
# (worker/standby_usage.cpp), as contrib/postgres_fdw links it.
SHLIB_LINK_INTERNAL = $(libpq)

# No LLVM bitcode: the JIT gains nothing from these functions, and it would
# need clang at build time.
override with_llvm = no

# ---- Tests, by PGXS convention (docs/TESTING.md lists every suite).
# "make installcheck" runs pg_regress, the isolation specs and the TAP tests
# against the installed extension and a running server that preloads it
# (shared_preload_libraries = 'insight_keys', with the settings of
# tests/regress/preload.conf). "make test" runs the same files in temporary
# instances of its own (tests/*/run.sh). Set before PGXS is included: it adds
# --dbname to REGRESS_OPTS and ISOLATION_OPTS when they are defined.
#
# pg_regress: sql/NAME.sql against expected/NAME.out, in the order of
# sql/schedule. The tests of sql/schedule_nopreload need a server without the
# library preloaded: only make test runs them.
REGRESS = $(shell sed -n 's/^test:[[:space:]]*//p' $(srcdir)/sql/schedule)
# --temp-config names the settings the tests need, as contrib's
# pg_stat_statements does; pg_regress applies it only to a temporary instance
# (tests/*/run.sh pass theirs), so installcheck's server must carry them.
REGRESS_OPTS = --temp-config=$(srcdir)/tests/regress/preload.conf
# Isolation: tests/isolation/specs/NAME.spec against
# tests/isolation/expected/NAME.out (PGXS's <inputdir>/specs and
# <inputdir>/expected).
ISOLATION = $(sort $(basename $(notdir $(wildcard $(srcdir)/tests/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=$(srcdir)/tests/isolation \
                 --temp-config=$(srcdir)/tests/isolation/isolation.conf \
                 --load-extension=pgcrypto --load-extension=insight_keys
# TAP: tests/tap/t/NNN_NAME.pl; each starts clusters of its own with the
# installed binaries (PROVE and PROVE_FLAGS are set after PGXS, whose
# Makefile.global assigns them).
TAP_TESTS = 1
PROVE_TESTS = tests/tap/t/*.pl

PG_CONFIG ?= $(shell test -x /usr/lib/postgresql/15/bin/pg_config && echo /usr/lib/postgresql/15/bin/pg_config || echo pg_config)
# PGXS only once PostgreSQL is there: deps, demo, test and bench install it
# first, so they must work (and print nothing alarming) on a machine without it.
PGXS := $(shell command -v $(PG_CONFIG) >/dev/null 2>&1 && $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
else
all install installcheck installdirs uninstall:
	@echo "insight_keys: $(PG_CONFIG) not found: install PostgreSQL 15's server development files" >&2
	@echo "  (make deps installs them from Debian's packages; make demo and make test do it for you)" >&2
	@exit 1
endif
# After PGXS, so that its "all" stays the default goal.
-include $(wildcard $(OBJS:.o=.d))
# installcheck's prove: tests/tap/prove.sh stages the files the tests read
# and runs prove as the PostgreSQL user when make runs as root (initdb
# refuses root), with the binaries of $(PG_CONFIG).
PROVE = PG_CONFIG='$(PG_CONFIG)' bash '$(srcdir)/tests/tap/prove.sh'
PROVE_FLAGS = -I tests/tap/lib --timer

.PHONY: deps demo demo-stop test bench fuzz unit format

deps:
	bash scripts/install-deps.sh

demo: deps
	bash scripts/demo.sh

demo-stop:
	bash scripts/demo.sh stop

test: deps
	bash scripts/test.sh

bench: deps
	bash bench/run.sh

fuzz: deps
	bash tests/fuzz/run.sh $${FUZZ_SECONDS:-600}

format:
	clang-format -i extension/core/*.[ch]pp extension/src/*.[ch]pp worker/*.[ch]pp tests/unit/*.cpp tests/integration/*.cpp

# The GoogleTest suites under ASan + UBSan (tests/unit/run.sh with
# INSIGHT_SANITIZE=1, plus a check that the binary carries the sanitizers).
.PHONY: test-sanitize
test-sanitize: deps
	bash tests/sanitize/run.sh
