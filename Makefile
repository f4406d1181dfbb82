# netshop build. `make` builds, `make run` starts a demo server, `make test` runs every test
# (normal build, then the address/undefined sanitizer build). SANITIZE=1 builds with ASan+UBSan
# into build-asan/. Dependencies come from Debian through scripts/deps.sh.

SANITIZE ?=
ifeq ($(SANITIZE),)
BUILD ?= build
else
BUILD ?= build-asan
endif

CC      ?= cc
PREFIX  ?= /usr/local
PYTHON  ?= /usr/bin/python3
DATA    ?= var/demo
PORT    ?= 5555

PKGS_SERVER := openssl libevent_openssl libevent_pthreads libevent sqlite3 libsodium
PKGS_CLIENT := openssl libedit
PKGS_TEST   := cmocka libcrypto

pkgcflags = $(shell pkg-config --cflags $(1))
pkglibs   = $(shell pkg-config --libs $(1))

CFLAGS  ?= -O2 -g
# Truncated diagnostics are acceptable; paths are built through paths_join, which checks.
CFLAGS  += -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wno-format-truncation -fno-strict-aliasing -pthread -Isrc
LDFLAGS += -pthread
ifneq ($(SANITIZE),)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

CORE_SRC   := $(wildcard src/core/*.c)
PROTO_SRC  := $(wildcard src/proto/*.c)
STORE_SRC  := $(wildcard src/store/*.c)
SERVER_SRC := $(wildcard src/server/*.c)
CLIENT_SRC := $(wildcard src/client/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
CORE_OBJ   := $(call obj,$(CORE_SRC))
PROTO_OBJ  := $(call obj,$(PROTO_SRC))
STORE_OBJ  := $(call obj,$(STORE_SRC))
SERVER_OBJ := $(call obj,$(SERVER_SRC))
CLIENT_OBJ := $(call obj,$(CLIENT_SRC))
UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

ALL_CFLAGS = $(CFLAGS) $(call pkgcflags,$(PKGS_SERVER) $(PKGS_CLIENT) $(PKGS_TEST))

.PHONY: all deps run test check test-build test-asan fuzz install clean
all: $(BUILD)/netshopd $(BUILD)/netshop $(BUILD)/netshop-bench $(BUILD)/udp-echo

deps:
	@scripts/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/netshopd: $(SERVER_OBJ) $(STORE_OBJ) $(PROTO_OBJ) $(CORE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkglibs,$(PKGS_SERVER))

$(BUILD)/netshop: $(CLIENT_OBJ) $(PROTO_OBJ) $(CORE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkglibs,$(PKGS_CLIENT))

# The load generator: src/bench over the pure protocol and core layers, OpenSSL directly.
$(BUILD)/netshop-bench: $(call obj,$(wildcard src/bench/*.c)) $(PROTO_OBJ) $(CORE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkglibs,openssl)

# bench/udp's bare recvmmsg/sendmmsg echo server: the UDP limit of the machine, for comparison.
$(BUILD)/udp-echo: $(call obj,bench/peers/udp_echo.c)
	$(CC) $(LDFLAGS) -o $@ $^

# One test binary per module: pure-module tests link the pure layers; store tests add the store.
$(BUILD)/tests/test_store_%: tests/unit/test_store_%.c $(STORE_OBJ) $(PROTO_OBJ) $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(call pkglibs,$(PKGS_TEST) $(PKGS_SERVER))

$(BUILD)/tests/test_session_map: tests/unit/test_session_map.c $(BUILD)/obj/src/server/session_map.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(call pkglibs,$(PKGS_TEST))

# The shared per-source tables (libsodium's SipHash keys them).
$(BUILD)/tests/test_peer_limit: tests/unit/test_peer_limit.c $(BUILD)/obj/src/server/peer_limit.o $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(call pkglibs,$(PKGS_TEST) libsodium)

$(BUILD)/tests/test_udp_rate: tests/unit/test_udp_rate.c $(BUILD)/obj/src/server/udp_rate.o $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(call pkglibs,$(PKGS_TEST) libsodium)

$(BUILD)/tests/test_order_ids: tests/unit/test_order_ids.c $(BUILD)/obj/src/server/order_ids.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(call pkglibs,$(PKGS_TEST) libsodium)

# The serving options: config.c over the pure core (ORDER_LINES_*).
$(BUILD)/tests/test_config: tests/unit/test_config.c $(BUILD)/obj/src/server/config.o $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(call pkglibs,$(PKGS_TEST))

# The client's output module (terminal-safe text, tables, the --json emitter) writes to a FILE
# only, so it is tested alone, over the pure core.
$(BUILD)/tests/test_output: tests/unit/test_output.c $(BUILD)/obj/src/client/output.o $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(call pkglibs,$(PKGS_TEST))

# The menu's wording of refusals: pure string functions.
$(BUILD)/tests/test_wording: tests/unit/test_wording.c $(BUILD)/obj/src/client/wording.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(call pkglibs,$(PKGS_TEST))

# The receipt view's folding of repeated purchases: pure, over core/money.
$(BUILD)/tests/test_receipt_merge: tests/unit/test_receipt_merge.c $(BUILD)/obj/src/client/receipt_merge.o $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(call pkglibs,$(PKGS_TEST))

$(BUILD)/tests/test_histogram: tests/unit/test_histogram.c $(BUILD)/obj/src/bench/histogram.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(call pkglibs,$(PKGS_TEST))

$(BUILD)/tests/test_%: tests/unit/test_%.c $(PROTO_OBJ) $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(call pkglibs,$(PKGS_TEST))

# The server's OpenSSL modules (certificates, TLS context) are tested against real OpenSSL.
$(BUILD)/tests/test_certs: tests/unit/test_certs.c $(BUILD)/obj/src/server/certs.o $(BUILD)/obj/src/server/tls.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(call pkglibs,$(PKGS_TEST) openssl)

# `make run`: install what is missing, build, make the demo data directory once (its CA key goes to
# $(DATA).ca/), serve. netshopd refuses to run as root unless told to: as root (a container, CI) make
# run tells it, and netshopd warns. A demo directory made before the CA key moved out gets it moved.
ROOT_ARGS = $(if $(filter 0,$(shell id -u)),--allow-root)
run:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory all
	@mkdir -p $(dir $(DATA))
	@if [ -f $(DATA)/ca.key ] && [ ! -e $(DATA).ca/ca.key ]; then mkdir -p -m 0700 $(DATA).ca && \
	    mv $(DATA)/ca.key $(DATA).ca/ && echo "make run: moved $(DATA)/ca.key to $(DATA).ca/"; fi
	@test -f $(DATA)/shop.db || $(BUILD)/netshopd init --data $(DATA) --demo --catalog data/catalog.csv $(ROOT_ARGS)
	exec $(BUILD)/netshopd --data $(DATA) --port $(PORT) $(ROOT_ARGS)

# `make test`: the whole suite on the normal build, then again under ASan/UBSan.
test check:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory test-build BUILD=build SANITIZE=
	@$(MAKE) --no-print-directory test-build BUILD=build-asan SANITIZE=1
	@$(PYTHON) tests/run.py --build build --build build-asan

test-asan:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory test-build BUILD=build-asan SANITIZE=1
	@$(PYTHON) tests/run.py --build build-asan

test-build: all $(UNIT_BIN)

# `make fuzz`: the SHOP/1 parser, then the UDP datagram codec/sealing/paging, under libFuzzer
# (clang), each for FUZZ_SECONDS, from their seed corpora.
FUZZ_SECONDS ?= 60
fuzz:
	@mkdir -p build/fuzz tmp/fuzz-corpus tmp/fuzz-corpus-udp_wire
	clang -g -O1 -std=c17 -D_GNU_SOURCE -Isrc -fsanitize=fuzzer,address,undefined \
	    tests/fuzz/fuzz_shop1.c src/proto/shop1.c $(CORE_SRC) -o build/fuzz/fuzz_shop1
	build/fuzz/fuzz_shop1 -max_total_time=$(FUZZ_SECONDS) -max_len=2100 tmp/fuzz-corpus tests/fuzz/corpus/shop1
	clang -g -O1 -std=c17 -D_GNU_SOURCE -Isrc $(call pkgcflags,libcrypto) -fsanitize=fuzzer,address,undefined \
	    tests/fuzz/fuzz_udp_wire.c src/proto/udp_wire.c src/proto/udp_seal.c -o build/fuzz/fuzz_udp_wire \
	    $(call pkglibs,libcrypto)
	build/fuzz/fuzz_udp_wire -max_total_time=$(FUZZ_SECONDS) -max_len=3000 tmp/fuzz-corpus-udp_wire \
	    tests/fuzz/corpus/udp_wire

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/netshop
	install -m 0755 $(BUILD)/netshopd $(BUILD)/netshop $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 data/catalog.csv $(DESTDIR)$(PREFIX)/share/netshop/

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
