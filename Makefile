# ztwatch -- build, test and benchmark.
#
#   make            ./ztwatch, optimised
#   make test       sanitised build (-Werror, ASan, UBSan) and every test
#   make bench      benchmarks, printed beside their references
#   make clean
#
# Dependencies come from Debian packages (scripts/setup-deps.sh installs them).

PKGS      := libnats jansson libjwt sqlite3 libcrypto ncursesw libcurl
PKG_CFLAGS := $(shell pkg-config --cflags jansson libcrypto sqlite3 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs jansson libcrypto sqlite3 2>/dev/null)
NATS_LIBS  := $(shell pkg-config --libs libnats 2>/dev/null || echo -lnats)
CURSES_CFLAGS := $(shell pkg-config --cflags ncursesw 2>/dev/null)
CURSES_LIBS   := $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw)
JWT_LIBS   := $(shell pkg-config --libs libjwt 2>/dev/null)
CURL_LIBS  := $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)

CC       ?= cc
WARN     := -Wall -Wextra -Wformat=2 -Wshadow -Wmissing-prototypes \
            -Wstrict-prototypes -Wwrite-strings -Wvla -Wno-unused-parameter
CSTD     := -std=c11 -D_GNU_SOURCE
INCS     := -I. -Iauth -Istore -Iingest -Itui -Ifetch

REL_CFLAGS  := $(CSTD) -O2 -g $(WARN) $(INCS) $(PKG_CFLAGS)
TEST_CFLAGS := $(CSTD) -O1 -g -Werror $(WARN) $(INCS) $(PKG_CFLAGS) \
               -fsanitize=address,undefined -fno-sanitize-recover=undefined \
               -fno-omit-frame-pointer
TEST_LDFLAGS := -fsanitize=address,undefined

AUTH_SRCS := $(sort $(wildcard auth/*.c))
STORE_SRCS := $(sort $(wildcard store/*.c))
CLI_SRCS  := $(sort $(wildcard cli/*.c))
INGEST_SRCS := $(sort $(wildcard ingest/*.c))
FETCH_SRCS := $(sort $(wildcard fetch/*.c))
# tui/screen*.c call curses; the rest of tui/ are plain models, unit-tested.
TUI_SRCS  := $(sort $(wildcard tui/*.c))
TUI_MODEL_SRCS := $(filter-out tui/screen%,$(TUI_SRCS))
SRCS      := $(AUTH_SRCS) $(STORE_SRCS) $(INGEST_SRCS) $(FETCH_SRCS) $(TUI_SRCS) $(CLI_SRCS)
LIBS      := $(PKG_LIBS) $(NATS_LIBS) $(CURSES_LIBS) $(CURL_LIBS) -lpthread -lm

REL_OBJS  := $(SRCS:%.c=build/rel/%.o)
TEST_OBJS := $(SRCS:%.c=build/test/%.o)
TEST_AUTH_OBJS := $(AUTH_SRCS:%.c=build/test/%.o)
REL_AUTH_OBJS  := $(AUTH_SRCS:%.c=build/rel/%.o)

UNIT_SRCS := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/test/unit/%)

.PHONY: all test unit shell bench clean deps tools

all: ztwatch

deps:
	./scripts/setup-deps.sh

ztwatch: $(REL_OBJS)
	$(CC) -o $@ $(REL_OBJS) $(LIBS)

build/rel/%.o: %.c $(wildcard auth/*.h store/*.h ingest/*.h fetch/*.h tui/*.h cli/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -c -o $@ $<

build/test/%.o: %.c $(wildcard auth/*.h store/*.h ingest/*.h fetch/*.h tui/*.h cli/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -c -o $@ $<

build/test/ztwatch: $(TEST_OBJS)
	$(CC) $(TEST_LDFLAGS) -o $@ $(TEST_OBJS) $(LIBS)

# Test tools: minting with libjwt (HS/RS/ES) and auth_sign (PS/EdDSA).
build/test/ztmint: build/test/tests/tools/ztmint.o $(TEST_AUTH_OBJS)
	$(CC) $(TEST_LDFLAGS) -o $@ $^ $(JWT_LIBS) $(LIBS)

build/rel/ztmint: build/rel/tests/tools/ztmint.o $(REL_AUTH_OBJS)
	$(CC) -o $@ $^ $(JWT_LIBS) $(LIBS)

TEST_STORE_OBJS := $(STORE_SRCS:%.c=build/test/%.o)
TEST_TUI_MODEL_OBJS := $(TUI_MODEL_SRCS:%.c=build/test/%.o)
UNIT_OBJS := $(TEST_AUTH_OBJS) $(TEST_STORE_OBJS) $(TEST_TUI_MODEL_OBJS)

build/test/unit/%: tests/unit/%.c tests/unit/unit.h tests/unit/unit-tmp.h $(UNIT_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(TEST_LDFLAGS) -o $@ $< $(UNIT_OBJS) $(JWT_LIBS) $(LIBS)

# The ingest test signs in to a real nats-server, so it links ingest/ too.
TEST_INGEST_OBJS := $(INGEST_SRCS:%.c=build/test/%.o)

build/test/unit/test-ingest: tests/unit/test-ingest.c tests/unit/unit.h tests/unit/unit-tmp.h \
    $(UNIT_OBJS) $(TEST_INGEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(TEST_LDFLAGS) -o $@ $< $(UNIT_OBJS) $(TEST_INGEST_OBJS) $(LIBS)

REL_STORE_OBJS := $(STORE_SRCS:%.c=build/rel/%.o)

build/rel/bench-store: build/rel/bench/bench-store.o $(REL_AUTH_OBJS) $(REL_STORE_OBJS)
	$(CC) -o $@ $^ $(LIBS)

# RSA-PSS verify timed as openssl speed times RSA (which has no PSS test),
# and RSA verify done ztwatch's way (auth-rsa.c).
build/rel/bench-pkey: build/rel/bench/bench-pkey.o $(REL_AUTH_OBJS)
	$(CC) -o $@ $^ $(LIBS)

# A plain nats.c publisher (tests, benchmarks): not ztwatch's own publishing.
build/test/ztpub: build/test/tests/tools/ztpub.o $(TEST_AUTH_OBJS)
	$(CC) $(TEST_LDFLAGS) -o $@ $^ $(LIBS)

build/rel/ztpub: build/rel/tests/tools/ztpub.o $(REL_AUTH_OBJS)
	$(CC) -o $@ $^ $(LIBS)

tools: build/test/ztmint build/test/ztpub

test: build/test/ztwatch build/test/ztmint build/test/ztpub $(UNIT_BINS)
	ZTWATCH=$(CURDIR)/build/test/ztwatch ZTMINT=$(CURDIR)/build/test/ztmint \
	    ZTPUB=$(CURDIR)/build/test/ztpub TESTS="$(TESTS)" \
	    ./tests/run-tests.sh $(UNIT_BINS)

bench: ztwatch build/rel/ztmint build/rel/ztpub build/rel/bench-store build/rel/bench-pkey
	ZTWATCH=$(CURDIR)/ztwatch ZTMINT=$(CURDIR)/build/rel/ztmint ZTPUB=$(CURDIR)/build/rel/ztpub \
	    BENCH_STORE=$(CURDIR)/build/rel/bench-store BENCH_PKEY=$(CURDIR)/build/rel/bench-pkey \
	    python3 bench/bench.py

clean:
	rm -rf build ztwatch
