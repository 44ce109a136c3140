# storelink - see README.md.  `make`, `make test`, `make demo`, `make bench`.
#
# Variables a packager or integrator may set (all optional):
#   CC CFLAGS CPPFLAGS LDFLAGS PKG_CONFIG PREFIX DESTDIR CROSS_COMPILE
#   SANITIZE=1   build and test with AddressSanitizer + UBSan (build/asan)
# The project's own flags live in SL_CFLAGS so a command-line CFLAGS= adds
# to them instead of erasing them.

CROSS_COMPILE ?=
ifeq ($(origin CC),default)
CC = $(CROSS_COMPILE)gcc
endif
ifeq ($(origin AR),default)
AR = $(CROSS_COMPILE)ar
endif
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
DESTDIR ?=
CFLAGS ?= -O2 -g
SANITIZE ?=

ifeq ($(SANITIZE),1)
BUILD ?= build/asan
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD ?= build
SAN_FLAGS =
endif

PC_LIBS = lmdb libcbor jansson inih libzstd libmosquitto
PC_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PC_LIBS) 2>/dev/null)
PC_LDLIBS := $(shell $(PKG_CONFIG) --libs $(PC_LIBS) 2>/dev/null)
# Debian's mbedtls 2.28 ships no .pc file
MBED_LIBS = -lmbedtls -lmbedx509 -lmbedcrypto

SL_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wformat=2 -Wno-format-nonliteral -Iinclude -Iplatform -Iagent $(PC_CFLAGS) $(SAN_FLAGS)
SL_LDFLAGS = $(SAN_FLAGS)
LDLIBS_ALL = $(PC_LDLIBS) $(MBED_LIBS) -lm

LIB_SRCS = agent/errors.c agent/event.c agent/cborio.c agent/codec.c agent/hash.c \
           agent/journal.c agent/crypto.c agent/batch.c agent/ack.c agent/sync.c \
           agent/catmsg.c agent/catalog.c platform/posix_time.c \
           platform/posix_file.c platform/posix_log.c platform/posix_random.c \
           platform/posix_event.c
APP_SRCS = agent/json_event.c agent/config.c agent/cli_common.c agent/cli_record.c \
           agent/cli_journal.c agent/mqtt.c agent/daemon.c agent/cli_status.c agent/cli_catalog.c
MAIN_SRCS = agent/main.c
# storelink-hub, the central consumer (hub/): HUB_SRCS is its MQTT-free core,
# linked by the unit test too; HUB_RUN_SRCS the network side and main.
HUB_SRCS = hub/log.c hub/hub_config.c hub/store.c hub/ingest.c hub/export.c
HUB_RUN_SRCS = hub/mqtt.c hub/posix_sys.c hub/main.c
HUB_APP_SRCS = agent/json_event.c
HUB_PC_LIBS = sqlite3 libmosquitto
HUB_PC_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(HUB_PC_LIBS) 2>/dev/null)
HUB_PC_LDLIBS := $(shell $(PKG_CONFIG) --libs $(HUB_PC_LIBS) 2>/dev/null)

LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
APP_OBJS = $(APP_SRCS:%.c=$(BUILD)/obj/%.o)
MAIN_OBJS = $(MAIN_SRCS:%.c=$(BUILD)/obj/%.o)
HUB_OBJS = $(HUB_SRCS:%.c=$(BUILD)/obj/%.o)
HUB_RUN_OBJS = $(HUB_RUN_SRCS:%.c=$(BUILD)/obj/%.o)
HUB_APP_OBJS = $(HUB_APP_SRCS:%.c=$(BUILD)/obj/%.o)

UNIT_TESTS = test_codec test_event test_journal test_api test_hub test_sync test_catalog test_prune
UNIT_BINS = $(UNIT_TESTS:%=$(BUILD)/tests/%)
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

.PHONY: all clean install deps test demo bench check-clang
all: $(BUILD)/storelink $(BUILD)/libstorelink.a $(BUILD)/storelink-hub

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(SL_CFLAGS) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libstorelink.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/storelink: $(MAIN_OBJS) $(APP_OBJS) $(BUILD)/libstorelink.a
	$(CC) $(SL_LDFLAGS) $(LDFLAGS) -o $@ $(MAIN_OBJS) $(APP_OBJS) $(BUILD)/libstorelink.a $(LDLIBS_ALL)

$(BUILD)/obj/hub/%.o $(BUILD)/obj/tests/unit/test_hub.o: SL_CFLAGS += -Ihub $(HUB_PC_CFLAGS)

$(BUILD)/storelink-hub: $(HUB_RUN_OBJS) $(HUB_OBJS) $(HUB_APP_OBJS) $(BUILD)/libstorelink.a
	$(CC) $(SL_LDFLAGS) $(LDFLAGS) -o $@ $(HUB_RUN_OBJS) $(HUB_OBJS) $(HUB_APP_OBJS) \
	    $(BUILD)/libstorelink.a $(HUB_PC_LDLIBS) $(LDLIBS_ALL)

# unit tests link the real modules; test_api uses only include/storelink.h
$(BUILD)/tests/test_api: $(BUILD)/obj/tests/unit/test_api.o $(BUILD)/libstorelink.a
	@mkdir -p $(dir $@)
	$(CC) $(SL_LDFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libstorelink.a $(CMOCKA_LIBS) $(LDLIBS_ALL)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(APP_OBJS) $(BUILD)/libstorelink.a
	@mkdir -p $(dir $@)
	$(CC) $(SL_LDFLAGS) $(LDFLAGS) -o $@ $< $(APP_OBJS) $(BUILD)/libstorelink.a $(CMOCKA_LIBS) $(LDLIBS_ALL)

$(BUILD)/tests/test_hub: $(BUILD)/obj/tests/unit/test_hub.o $(HUB_OBJS) $(HUB_APP_OBJS) \
                         $(BUILD)/libstorelink.a
	@mkdir -p $(dir $@)
	$(CC) $(SL_LDFLAGS) $(LDFLAGS) -o $@ $< $(HUB_OBJS) $(HUB_APP_OBJS) $(BUILD)/libstorelink.a \
	    $(CMOCKA_LIBS) $(HUB_PC_LDLIBS) $(LDLIBS_ALL)

$(BUILD)/tests/writer: $(BUILD)/obj/tests/unit/writer.o $(BUILD)/libstorelink.a
	@mkdir -p $(dir $@)
	$(CC) $(SL_LDFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libstorelink.a $(LDLIBS_ALL)

$(BUILD)/tests/catalog_feed: $(BUILD)/obj/tests/unit/catalog_feed.o $(BUILD)/libstorelink.a
	@mkdir -p $(dir $@)
	$(CC) $(SL_LDFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libstorelink.a $(LDLIBS_ALL)

$(BUILD)/bench/bench_journal: $(BUILD)/obj/bench/bench_journal.o $(BUILD)/libstorelink.a
	@mkdir -p $(dir $@)
	$(CC) $(SL_LDFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libstorelink.a $(LDLIBS_ALL)

$(BUILD)/bench/bench_codec: $(BUILD)/obj/bench/bench_codec.o $(BUILD)/libstorelink.a
	@mkdir -p $(dir $@)
	$(CC) $(SL_LDFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libstorelink.a $(LDLIBS_ALL)

# Dependencies are installed once per machine (stamped).
build/.deps-stamp: toolchain/deps.sh
	./toolchain/deps.sh build test
	@mkdir -p build && touch $@

deps: build/.deps-stamp

test: build/.deps-stamp
	$(MAKE) all tests-bin
	BUILD=$(BUILD) SANITIZE=$(SANITIZE) ./tests/run.sh

tests-bin: $(UNIT_BINS) $(BUILD)/tests/writer $(BUILD)/tests/catalog_feed

demo: build/.deps-stamp
	$(MAKE) all
	./tests/demo.sh

bench: build/.deps-stamp
	./toolchain/deps.sh bench
	$(MAKE) all $(BUILD)/bench/bench_journal $(BUILD)/bench/bench_codec
	BUILD=$(BUILD) ./bench/run.sh

check-clang:
	$(MAKE) CC=clang BUILD=build/clang all tests-bin

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib \
	           $(DESTDIR)/etc/storelink
	install -m 0755 $(BUILD)/storelink $(DESTDIR)$(PREFIX)/bin/storelink
	install -m 0755 $(BUILD)/storelink-hub $(DESTDIR)$(PREFIX)/bin/storelink-hub
	install -m 0644 include/storelink.h $(DESTDIR)$(PREFIX)/include/storelink.h
	install -m 0644 $(BUILD)/libstorelink.a $(DESTDIR)$(PREFIX)/lib/libstorelink.a
	install -m 0644 docs/storelink.conf.sample $(DESTDIR)/etc/storelink/storelink.conf.sample

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
