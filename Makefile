# Ringmaster - build, test, demo, install.
#
#   make            build bin/ringmaster, bin/ringagent, bin/ringsh
#   make test       install missing dependencies, build, run every test
#                   (the real-node suite too when ../shared/cassandra-4.1 exists)
#   make test-real  only the real-node suite (tests/real/, real Cassandra 4.1)
#   make asan       the same tests under AddressSanitizer + UBSan
#   make demo       run the demo (S3 store, simulated cluster, orchestrator, agents)
#   make bench      run the benchmarks in tests/bench/
#   make install    PREFIX=/usr/local DESTDIR=
#   make deb        Debian packages ringmaster, ringagent, ringsh in build/deb/
#   make test-packages  build them, lintian, install them into fresh
#                   debootstrap chroots with apt, run install.sh and both
#                   Ansible roles there, each twice (slow: about 8 minutes
#                   under load with the debootstrap root cached; the first
#                   run adds about 10; tests/e2e/test_packages.py)
#
# Each program directory holds main.c (the entry point) and library modules;
# every other .c in orchestrator/ (and its folders by role), agent/, shell/
# and common/ is a module
# that unit tests can link.  New modules are picked up by wildcard.

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
PYTHON  ?= /usr/bin/python3

SAN     ?=
ifeq ($(SAN),1)
BUILD   ?= build/asan
BIN     ?= build/asan/bin
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT      = -O1
else
BUILD   ?= build/release
BIN     ?= bin
SANFLAGS =
OPT      = -O2
endif

WARN = -Wall -Wextra -Werror -pedantic -Wshadow -Wstrict-prototypes \
       -Wmissing-prototypes -Wold-style-definition -Wpointer-arith -Wvla \
       -Wformat=2 -Wcast-qual -Wwrite-strings -Wundef -Wmissing-declarations \
       -Wnested-externs -Wredundant-decls -Wimplicit-fallthrough
PKGS = libssh2 libmicrohttpd sqlite3 libcurl jansson libedit libcrypto expat
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS  ?= $(OPT) -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(SANFLAGS) $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
LDFLAGS ?=
# Each program links only the libraries it uses (the agent stays small).
ALL_LDFLAGS = -Wl,--as-needed $(LDFLAGS)
LIBS    = $(PKG_LIBS) -lpthread -lm

COMMON_SRC = $(wildcard common/*.c)
ORCH_SRC   = $(filter-out orchestrator/main.c,$(wildcard orchestrator/*.c orchestrator/*/*.c))
AGENT_SRC  = $(filter-out agent/main.c,$(wildcard agent/*.c))
SHELL_SRC  = $(filter-out shell/main.c,$(wildcard shell/*.c))
UNIT_SRC   = $(wildcard tests/unit/test_*.c)
BENCH_SRC  = $(wildcard tests/bench/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

LIBCOMMON = $(BUILD)/libcommon.a
LIBORCH   = $(BUILD)/liborchestrator.a
LIBAGENT  = $(BUILD)/libagent.a
LIBSHELL  = $(BUILD)/libshell.a
UNIT_BINS = $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
BENCH_BINS = $(patsubst tests/bench/%.c,$(BUILD)/tests/bench/%,$(BENCH_SRC))
PROGS     = $(BIN)/ringmaster $(BIN)/ringagent $(BIN)/ringsh

.SECONDARY:
.PHONY: all test test-real unit e2e asan demo bench install clean deps check-deps deb test-packages
all: $(PROGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# An empty archive is fine: 'ar' needs at least the symbol index.
define archive
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^
endef

$(LIBCOMMON): $(call obj,$(COMMON_SRC)) ; $(archive)
$(LIBORCH): $(call obj,$(ORCH_SRC)) ; $(archive)
$(LIBAGENT): $(call obj,$(AGENT_SRC)) ; $(archive)
$(LIBSHELL): $(call obj,$(SHELL_SRC)) ; $(archive)

$(BIN)/ringmaster: $(call obj,orchestrator/main.c) $(LIBORCH) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
$(BIN)/ringagent: $(call obj,agent/main.c) $(LIBAGENT) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
$(BIN)/ringsh: $(call obj,shell/main.c) $(LIBSHELL) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# Unit tests link every library so a test can reach any module.
$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(LIBORCH) $(LIBAGENT) $(LIBSHELL) $(LIBCOMMON)
	$(CC) $(SANFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
$(BUILD)/tests/bench/%: $(BUILD)/tests/bench/%.o $(LIBORCH) $(LIBAGENT) $(LIBSHELL) $(LIBCOMMON)
	$(CC) $(SANFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

deps:
	@scripts/deps.sh

check-deps:
	@scripts/deps.sh --check

# The test runner prints one closing line "total: N passed, N failed,
# N skipped" over unit, end-to-end and real-node tests.
test: deps
	@$(MAKE) --no-print-directory all units
	@BIN=$(abspath $(BIN)) UNIT_DIR=$(abspath $(BUILD)/tests/unit) PYTHON=$(PYTHON) tests/run $(TESTS)

# Real Cassandra nodes only; TESTS are pytest args for tests/real.
test-real: deps
	@$(MAKE) --no-print-directory all units
	@BIN=$(abspath $(BIN)) UNIT_DIR=$(abspath $(BUILD)/tests/unit) PYTHON=$(PYTHON) tests/run --real-only $(TESTS)

units: $(UNIT_BINS)

unit: deps
	@$(MAKE) --no-print-directory all units
	@BIN=$(abspath $(BIN)) UNIT_DIR=$(abspath $(BUILD)/tests/unit) PYTHON=$(PYTHON) tests/run --unit-only

asan: deps
	@$(MAKE) --no-print-directory SAN=1 all units
	@BIN=$(abspath build/asan/bin) UNIT_DIR=$(abspath build/asan/tests/unit) PYTHON=$(PYTHON) \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  tests/run $(TESTS)

demo: deps
	@$(MAKE) --no-print-directory all
	@BIN=$(abspath $(BIN)) PYTHON=$(PYTHON) scripts/demo

bench: deps
	@scripts/deps.sh --bench
	@$(MAKE) --no-print-directory all $(BENCH_BINS)
	@$(MAKE) --no-print-directory units
	@BIN=$(abspath $(BIN)) BENCH_DIR=$(abspath $(BUILD)/tests/bench) UNIT_DIR=$(abspath $(BUILD)/tests/unit) tests/bench/run $(BENCHES)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man8 \
	    $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 0755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 docs/man/ringmaster.8 docs/man/ringagent.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 docs/man/ringsh.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	sed 's|@PREFIX@|$(PREFIX)|g' packaging/ringmaster.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/ringmaster.service
	sed 's|@PREFIX@|$(PREFIX)|g' packaging/ringagent.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/ringagent.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/ringmaster.service $(DESTDIR)$(PREFIX)/lib/systemd/system/ringagent.service

# dpkg-buildpackage writes the .debs into the parent of the tree it builds,
# so it builds a copy under build/deb/ (without build products) and the
# packages land in build/deb/.
DEBDIR = build/deb
deb:
	@scripts/deps.sh --packages
	rm -rf $(DEBDIR)
	mkdir -p $(DEBDIR)/src
	tar -c --exclude=./build --exclude=./bin --exclude=./.git \
	    --exclude=node_modules --exclude=.pytest_cache --exclude=__pycache__ . | \
	    tar -x -C $(DEBDIR)/src
	cd $(DEBDIR)/src && dpkg-buildpackage -b -us -uc -j2 >../build.log 2>&1 || \
	    { tail -40 ../build.log; exit 1; }
	rm -rf $(DEBDIR)/src
	@ls $(DEBDIR)/*.deb

# Slow: see tests/e2e/test_packages.py.  Builds the packages first.
test-packages: deps deb
	@$(MAKE) --no-print-directory all
	@RM_DEB_DIR=$(abspath $(DEBDIR)) BIN=$(abspath $(BIN)) RM_REPO=$(abspath .) \
	  $(PYTHON) -m pytest -q -p no:cacheprovider tests/e2e/test_packages.py

clean:
	rm -rf build bin tests/s3/node_modules .pytest_cache

-include $(shell find build -name '*.d' 2>/dev/null)

# ---- fuzzing and ThreadSanitizer (docs/testing.md, "Fuzzing", "Threads") ----
#
#   make fuzz       build the libFuzzer targets tests/fuzz/fuzz_*.c with clang
#                   (ASan + UBSan) into build/fuzz/tests/fuzz/, then run each
#                   for FUZZ_TIME seconds (default 10) from its seed corpus and
#                   replay tests/fuzz/regress/; FUZZ_TARGETS=name... picks some
#   make tsan       the engine, queue, store and lifecycle unit tests and
#                   tests/tsan/test_*.c under ThreadSanitizer (build/tsan/),
#                   with tests/tsan/tsan.supp
#
# Both build the product's sources again in their own build directory with
# their own compiler flags (the recipes call make again with BUILD, CC and
# SANFLAGS set), so they never mix objects with build/release.
FUZZ_CC       ?= clang
FUZZ_TIME     ?= 10
FUZZ_SANFLAGS  = -fsanitize=fuzzer-no-link,address,undefined \
                 -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_SRC       = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS      = $(patsubst tests/fuzz/%.c,build/fuzz/tests/fuzz/%,$(FUZZ_SRC))
TSAN_TESTS    ?= test_task test_queue test_store test_lifecycle test_hb_threads
# tests/tsan/test_*.c are threaded tests built only here (none in tests/unit
# starts hb.c's threads), linked beside the unit tests they run with.
TSAN_ONLY      = $(patsubst tests/tsan/%.c,%,$(wildcard tests/tsan/test_*.c))
TSAN_BINS      = $(patsubst %,build/tsan/tests/unit/%,$(TSAN_TESTS))

.PHONY: fuzz fuzz-build tsan tsan-build
fuzz: fuzz-build
	@FUZZ_DIR=$(abspath build/fuzz/tests/fuzz) FUZZ_TIME=$(FUZZ_TIME) \
	  tests/fuzz/run $(FUZZ_TARGETS)

# clang -pedantic also warns of a file without a final newline, which gcc
# accepts: not worth failing the fuzz build over.
fuzz-build:
	@$(MAKE) --no-print-directory CC=$(FUZZ_CC) BUILD=build/fuzz \
	  CFLAGS="-O1 -g -Wno-newline-eof" SANFLAGS="$(FUZZ_SANFLAGS)" $(FUZZ_BINS)

# libFuzzer brings main(); the product's libraries hold none.
build/fuzz/tests/fuzz/%: build/fuzz/tests/fuzz/%.o build/fuzz/liborchestrator.a \
    build/fuzz/libagent.a build/fuzz/libcommon.a
	$(CC) $(SANFLAGS) -fsanitize=fuzzer $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(patsubst %,build/tsan/tests/unit/%,$(TSAN_ONLY)): build/tsan/tests/unit/%: \
    build/tsan/tests/tsan/%.o build/tsan/liborchestrator.a build/tsan/libagent.a \
    build/tsan/libshell.a build/tsan/libcommon.a
	$(CC) $(SANFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

tsan: tsan-build
	@UNIT_DIR=$(abspath build/tsan/tests/unit) tests/tsan/run $(TSAN_TESTS)

tsan-build:
	@$(MAKE) --no-print-directory BUILD=build/tsan OPT=-O1 \
	  SANFLAGS="-fsanitize=thread -fno-omit-frame-pointer" $(TSAN_BINS)

# make test runs the fuzz targets for FUZZ_TIME seconds each (tests/run).
test: fuzz-build
