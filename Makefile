# storelink - see README.md.  `make`, `make test`, `make demo`, `make bench`.
#
# Variables a packager or integrator may set (all optional):
#   CC CFLAGS CPPFLAGS LDFLAGS PKG_CONFIG PREFIX DESTDIR CROSS_COMPILE SYSROOT
#   SANITIZE=1   build and test with AddressSanitizer + UBSan (build/asan)
#   TARGET=armhf|arm64  cross-build into build/<target> (toolchain/<target>.mk) against
#                the Debian sysroot build/sysroot-<target> made by cross/sysroot.sh;
#                `make cross-test TARGET=...` runs the tests under qemu-user
# The project's own flags live in SL_CFLAGS so a command-line CFLAGS= adds
# to them instead of erasing them.

TARGET ?= native
ifeq ($(wildcard toolchain/$(TARGET).mk),)
$(error TARGET=$(TARGET): no toolchain/$(TARGET).mk (use native, armhf or arm64))
endif
include toolchain/$(TARGET).mk
# A cross TARGET builds against its own Debian sysroot unless SYSROOT is given
# (an integrator's SDK: make CROSS_COMPILE=... SYSROOT=...).
ifneq ($(TARGET),native)
ifeq ($(origin SYSROOT),undefined)
SYSROOT = $(CURDIR)/build/sysroot-$(TARGET)
SYSROOT_OWN = yes
endif
endif
SYSROOT ?=

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

ifeq ($(TARGET),native)
BUILD_ROOT = build
else
BUILD_ROOT = build/$(TARGET)
endif
ifeq ($(SANITIZE),1)
BUILD ?= $(BUILD_ROOT)/asan
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD ?= $(BUILD_ROOT)
SAN_FLAGS =
endif

# With a sysroot: --sysroot for the compiler and the linker, and pkg-config reads
# the sysroot's .pc files only. GNU make 4.3 does not pass exported variables to
# $(shell ...), so the environment is put inline into PKG_CONFIG itself: every
# $(shell $(PKG_CONFIG) ...) below gets it. PKG_CONFIG_SYSROOT_DIR and
# PKG_CONFIG_LIBDIR from the environment or the command line take precedence.
ifneq ($(SYSROOT),)
SYSROOT_FLAGS = --sysroot=$(SYSROOT)
PC_TRIPLET = $(or $(TRIPLET),$(patsubst %-,%,$(notdir $(CROSS_COMPILE))))
PKG_CONFIG_SYSROOT_DIR ?= $(SYSROOT)
PKG_CONFIG_LIBDIR ?= $(if $(PC_TRIPLET),$(SYSROOT)/usr/lib/$(PC_TRIPLET)/pkgconfig:)$(SYSROOT)/usr/lib/pkgconfig:$(SYSROOT)/usr/share/pkgconfig
override PKG_CONFIG := PKG_CONFIG_SYSROOT_DIR='$(PKG_CONFIG_SYSROOT_DIR)' PKG_CONFIG_LIBDIR='$(PKG_CONFIG_LIBDIR)' $(PKG_CONFIG)
else
SYSROOT_FLAGS =
endif
# goals that compile or link (not only clean/deps)
SL_BUILD_GOALS := $(if $(MAKECMDGOALS),$(filter-out clean deps,$(MAKECMDGOALS)),all)
# cross/sysroot.sh makes the Debian sysroot before anything is compiled: make
# remakes this included file first, then starts over with the sysroot in place
ifeq ($(SYSROOT_OWN),yes)
ifneq ($(SL_BUILD_GOALS),)
include $(SYSROOT)/.sysroot.mk
endif
endif

PC_LIBS = lmdb libcbor jansson inih libzstd libmosquitto
PC_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PC_LIBS) 2>/dev/null)
PC_LDLIBS := $(shell $(PKG_CONFIG) --libs $(PC_LIBS) 2>/dev/null)
# against a sysroot, a missing .pc file stops the build here rather than at the link
ifneq ($(SYSROOT),)
ifneq ($(SL_BUILD_GOALS),)
ifneq ($(if $(filter yes,$(SYSROOT_OWN)),$(wildcard $(SYSROOT)/.sysroot.mk),$(SYSROOT)),)
ifeq ($(strip $(PC_LDLIBS)),)
$(error pkg-config found no $(PC_LIBS) under SYSROOT=$(SYSROOT): $(shell $(PKG_CONFIG) --print-errors --libs $(PC_LIBS) 2>&1 | head -n 1))
endif
endif
endif
endif
# Debian's mbedtls 2.28 ships no .pc file
MBED_LIBS = -lmbedtls -lmbedx509 -lmbedcrypto

SL_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wformat=2 -Wno-format-nonliteral -Iinclude -Iplatform -Iagent $(PC_CFLAGS) $(SAN_FLAGS) \
            $(TARGET_CPPFLAGS) $(TARGET_CFLAGS) $(SYSROOT_FLAGS)
SL_LDFLAGS = $(SAN_FLAGS) $(TARGET_CFLAGS) $(SYSROOT_FLAGS)
LDLIBS_ALL = $(PC_LDLIBS) $(MBED_LIBS) -lm

LIB_SRCS = agent/errors.c agent/event.c agent/cborio.c agent/codec.c agent/hash.c \
           agent/journal.c agent/crypto.c agent/batch.c agent/ack.c agent/sync.c \
           agent/catmsg.c agent/catalog.c agent/timeparse.c agent/mdb.c agent/buf.c platform/posix_time.c \
           agent/statusmsg.c \
           platform/posix_file.c platform/posix_log.c platform/posix_random.c \
           platform/posix_event.c platform/posix_notify.c \
           platform/posix_net.c \
           platform/posix_sock.c
LIB_SRCS += platform/posix_proc.c
APP_SRCS = agent/json_event.c agent/config.c agent/cli_common.c agent/cli_record.c \
           agent/cli_journal.c agent/mqtt.c agent/daemon.c agent/cli_status.c agent/cli_catalog.c \
           agent/probe.c agent/cli_doctor.c \
           agent/cli_dlq.c agent/cli_trace.c \
           agent/control.c agent/metrics.c agent/cli_ctl.c
# the ingest socket (issue 6): server in the daemon, client in libstorelink
APP_SRCS += agent/ingest_sock.c
# the unix-socket server under the control and ingest sockets
APP_SRCS += agent/sockserv.c
LIB_SRCS += agent/client.c
# barcode-scanner drivers (drivers/) and their config and CLI (issue 6)
DRIVER_SRCS = drivers/framing.c drivers/barcode.c drivers/scanmode.c drivers/reader.c \
              drivers/scanner.c agent/config_scanners.c agent/cli_scan.c
DRIVER_SRCS += agent/daemon_scan.c
APP_SRCS += $(DRIVER_SRCS)
LIB_SRCS += platform/posix_input.c
SL_CFLAGS += -Idrivers
MAIN_SRCS = agent/main.c
# day close (issue 7): business days, Z-report records, reconciliation
LIB_SRCS += agent/bizday.c agent/dayclose.c platform/posix_tz.c
APP_SRCS += agent/day_json.c agent/cli_day.c
# storelink-hub, the central consumer (hub/): HUB_SRCS is its MQTT-free core,
# linked by the unit test too; HUB_RUN_SRCS the network side and main.
HUB_SRCS = hub/log.c hub/hub_config.c hub/store.c hub/ingest.c hub/export.c hub/catalog_pub.c \
           hub/fleet.c
HUB_RUN_SRCS = hub/mqtt.c hub/posix_sys.c hub/main.c
HUB_APP_SRCS = agent/json_event.c agent/cli_common.c
HUB_SRCS += hub/reconcile.c hub/report.c
HUB_APP_SRCS += agent/day_json.c
HUB_PC_LIBS = sqlite3 libmosquitto
HUB_PC_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(HUB_PC_LIBS) 2>/dev/null)
HUB_PC_LDLIBS := $(shell $(PKG_CONFIG) --libs $(HUB_PC_LIBS) 2>/dev/null)

LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
APP_OBJS = $(APP_SRCS:%.c=$(BUILD)/obj/%.o)
MAIN_OBJS = $(MAIN_SRCS:%.c=$(BUILD)/obj/%.o)
HUB_OBJS = $(HUB_SRCS:%.c=$(BUILD)/obj/%.o)
HUB_RUN_OBJS = $(HUB_RUN_SRCS:%.c=$(BUILD)/obj/%.o)
HUB_APP_OBJS = $(HUB_APP_SRCS:%.c=$(BUILD)/obj/%.o)

UNIT_TESTS = test_codec test_event test_journal test_api test_hub test_sync test_catalog test_prune test_notify \
             test_statusmsg test_fleet
UNIT_TESTS += test_dlq
UNIT_TESTS += test_scanner
UNIT_TESTS += test_bizday
UNIT_TESTS += test_control
UNIT_TESTS += test_epoch
UNIT_TESTS += test_ingest
UNIT_TESTS += test_sockserv
UNIT_BINS = $(UNIT_TESTS:%=$(BUILD)/tests/%)
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

# the shared library's names (ABI version SO_VERSION, soname by SO_MAJOR: bump
# it when a function's signature or a struct of include/storelink.h changes
# incompatibly), defined before any rule names them
SO_MAJOR = 1
SO_VERSION = $(SO_MAJOR).0.0
SO_NAME = libstorelink.so.$(SO_MAJOR)
SO_FILE = libstorelink.so.$(SO_VERSION)
SO_MAP = packaging/libstorelink.map
SO_FILES = $(BUILD)/$(SO_FILE) $(BUILD)/$(SO_NAME) $(BUILD)/libstorelink.so
# a sanitizer build leaves the runtime's symbols to the program (clang links
# no runtime into a shared library)
SO_DEFS = $(if $(SAN_FLAGS),,-Wl,-z,defs)
LIB_PIC_OBJS = $(LIB_SRCS:%.c=$(BUILD)/pic/%.o)
SL_VERSION := $(shell sed -n 's/^\#define SL_VERSION "\(.*\)"/\1/p' include/storelink.h)
# where `make install` puts the libraries and the header (the .pc file says so)
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
LIBDIR_PC = $(patsubst $(PREFIX)/%,$${exec_prefix}/%,$(LIBDIR))
INCLUDEDIR_PC = $(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))
# for static linking only: include/storelink.h includes none of their headers,
# so a program using the shared library needs none of their .pc files
PC_LIBS_PRIVATE = -llmdb -lcbor -ljansson -linih -lzstd -lmosquitto $(MBED_LIBS) -lm

.PHONY: all clean install deps test demo bench check-clang stress soak
ifeq ($(TARGET),native)
all: $(BUILD)/storelink $(BUILD)/libstorelink.a $(BUILD)/storelink-hub
all: $(SO_FILES) $(BUILD)/storelink.pc
else
# a device build: the agent, the libraries and the tests (the hub runs centrally)
all: $(BUILD)/storelink $(BUILD)/libstorelink.a $(SO_FILES) tests-bin
endif

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

$(BUILD)/obj/tests/unit/test_fleet.o: SL_CFLAGS += -Ihub $(HUB_PC_CFLAGS)
$(BUILD)/tests/test_fleet: $(BUILD)/obj/tests/unit/test_fleet.o $(HUB_OBJS) $(HUB_APP_OBJS) \
                           $(BUILD)/libstorelink.a
	@mkdir -p $(dir $@)
	$(CC) $(SL_LDFLAGS) $(LDFLAGS) -o $@ $< $(HUB_OBJS) $(HUB_APP_OBJS) $(BUILD)/libstorelink.a \
	    $(CMOCKA_LIBS) $(HUB_PC_LDLIBS) $(LDLIBS_ALL)

$(BUILD)/tests/writer: $(BUILD)/obj/tests/unit/writer.o $(BUILD)/libstorelink.a
	@mkdir -p $(dir $@)
	$(CC) $(SL_LDFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libstorelink.a $(LDLIBS_ALL)

# pseudo-terminal and pipe feeder for tests/cli/84-scanner.t (no libraries)
$(BUILD)/tests/scanfeed: $(BUILD)/obj/tests/unit/scanfeed.o
	@mkdir -p $(dir $@)
	$(CC) $(SL_LDFLAGS) $(LDFLAGS) -o $@ $<

$(BUILD)/tests/catalog_feed: $(BUILD)/obj/tests/unit/catalog_feed.o $(BUILD)/libstorelink.a
	@mkdir -p $(dir $@)
	$(CC) $(SL_LDFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libstorelink.a $(LDLIBS_ALL)

# the shared library: the same sources built as position-independent code in
# their own tree (build/pic), linked with packaging/libstorelink.map so that it
# exports the functions of include/storelink.h and nothing else, all in version
# node STORELINK_1 (tests/cli/81-abi.t); -z defs: every symbol it needs comes
# from the libraries it names.  The real file libstorelink.so.$(SO_VERSION) with
# the usual links libstorelink.so.$(SO_MAJOR) (the soname, what programs load)
# and libstorelink.so (what -lstorelink finds).
$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(SL_CFLAGS) $(CPPFLAGS) $(CFLAGS) -fPIC -MMD -MP -c $< -o $@
$(BUILD)/$(SO_FILE): $(LIB_PIC_OBJS) $(SO_MAP)
	$(CC) $(SL_LDFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(SO_NAME) -Wl,--version-script=$(SO_MAP) \
	    $(SO_DEFS) -o $@ $(LIB_PIC_OBJS) $(LDLIBS_ALL)
$(BUILD)/$(SO_NAME): $(BUILD)/$(SO_FILE)
	ln -sf $(SO_FILE) $@
$(BUILD)/libstorelink.so: $(BUILD)/$(SO_NAME)
	ln -sf $(SO_NAME) $@
# the pkg-config file: $(call sl_pc,PREFIX,LIBDIR,INCLUDEDIR) with packaging/storelink.pc.in
# on stdin; `make install` writes its own (PREFIX and LIBDIR are the install's)
sl_pc = sed -e 's|@PREFIX@|$(1)|' -e 's|@LIBDIR@|$(2)|' -e 's|@INCLUDEDIR@|$(3)|' \
            -e 's|@VERSION@|$(SL_VERSION)|' -e 's|@LIBS_PRIVATE@|$(PC_LIBS_PRIVATE)|'
$(BUILD)/storelink.pc: packaging/storelink.pc.in Makefile
	$(call sl_pc,$(PREFIX),$(LIBDIR_PC),$(INCLUDEDIR_PC)) < $< > $@
-include $(LIB_PIC_OBJS:.o=.d)

# ingest-socket test client and the POS example, linked against the shared library
$(BUILD)/tests/ingest_client: $(BUILD)/obj/tests/unit/ingest_client.o $(SO_FILES)
	@mkdir -p $(dir $@)
	$(CC) $(SL_LDFLAGS) $(LDFLAGS) -o $@ $< -L$(BUILD) -lstorelink -Wl,-rpath,'$$ORIGIN/..'
$(BUILD)/examples/pos_minimal: docs/examples/pos_minimal.c include/storelink.h $(SO_FILES)
	@mkdir -p $(dir $@)
	$(CC) $(SL_LDFLAGS) $(LDFLAGS) $(CFLAGS) -std=c11 -Wall -Wextra -Werror -Iinclude -o $@ $< \
	    -L$(BUILD) -lstorelink -Wl,-rpath,'$$ORIGIN/..'

$(BUILD)/bench/bench_journal: $(BUILD)/obj/bench/bench_journal.o $(BUILD)/libstorelink.a
	@mkdir -p $(dir $@)
	$(CC) $(SL_LDFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libstorelink.a $(LDLIBS_ALL)

$(BUILD)/bench/bench_codec: $(BUILD)/obj/bench/bench_codec.o $(BUILD)/libstorelink.a
	@mkdir -p $(dir $@)
	$(CC) $(SL_LDFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libstorelink.a $(LDLIBS_ALL)

# the reliability suite's tools (tests/reliability/): the LD_PRELOAD shims are
# built without the sanitizers (a preloaded library cannot come before
# their runtime)
REL_BINS = $(BUILD)/rel/iolog.so $(BUILD)/rel/unsafe.so $(BUILD)/rel/plwork $(BUILD)/rel/plcheck \
           $(BUILD)/rel/faultproxy
# 65-panic.t: the meta-page write failure shim and a client of the ingest socket
REL_BINS += $(BUILD)/rel/metafail.so $(BUILD)/tests/ingest_client

$(BUILD)/rel/%.so: tests/reliability/%.c tests/reliability/iolog.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -Werror -O2 -fPIC -shared $(PC_CFLAGS) $(CFLAGS) -o $@ $< -ldl -lpthread

$(BUILD)/rel/%: $(BUILD)/obj/tests/reliability/%.o $(BUILD)/libstorelink.a
	@mkdir -p $(dir $@)
	$(CC) $(SL_LDFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libstorelink.a $(LDLIBS_ALL)

$(BUILD)/obj/tests/reliability/%.o: SL_CFLAGS += -Itests/reliability

# Dependencies are installed once per machine (stamped).
build/.deps-stamp: toolchain/deps.sh
	./toolchain/deps.sh build test
	@mkdir -p build && touch $@

deps: build/.deps-stamp

test: build/.deps-stamp
	$(MAKE) all tests-bin
	BUILD=$(BUILD) SANITIZE=$(SANITIZE) ./tests/run.sh

tests-bin: $(UNIT_BINS) $(BUILD)/tests/writer $(BUILD)/tests/catalog_feed
tests-bin: $(BUILD)/tests/scanfeed
tests-bin: $(BUILD)/tests/ingest_client $(BUILD)/examples/pos_minimal

# make stress: the reliability suite with the issue's iteration counts
# (STRESS_SCALE=ci for the short run in .ci/run), printed as a table
STRESS_SCALE ?= full
stress: build/.deps-stamp
	./toolchain/deps.sh stress
	$(MAKE) all $(REL_BINS)
	BUILD=$(BUILD) STRESS_SCALE=$(STRESS_SCALE) ./tests/reliability/run.sh

# make soak SOAK_MIN=N: N minutes of recording with broker restarts and link
# faults, RSS and descriptors over time (not in CI)
SOAK_MIN ?= 10
soak: build/.deps-stamp
	$(MAKE) all $(REL_BINS)
	BUILD=$(BUILD) SOAK_MIN=$(SOAK_MIN) ./tests/reliability/soak.sh

demo: build/.deps-stamp
	$(MAKE) all $(BUILD)/examples/pos_minimal
	./tests/demo.sh

bench: build/.deps-stamp
	./toolchain/deps.sh bench
	$(MAKE) all $(BUILD)/bench/bench_journal $(BUILD)/bench/bench_codec $(BUILD)/tests/ingest_client \
	    $(BUILD)/bench/slowsync.so
	BUILD=$(BUILD) ./bench/run.sh

$(BUILD)/bench/slowsync.so: bench/slowsync.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -Werror -O2 -fPIC -shared $(CFLAGS) -o $@ $< -ldl

check-clang:
	$(MAKE) CC=clang BUILD=build/clang all tests-bin

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) \
	           $(DESTDIR)/etc/storelink
	install -m 0755 $(BUILD)/storelink $(DESTDIR)$(PREFIX)/bin/storelink
	install -m 0755 $(BUILD)/storelink-hub $(DESTDIR)$(PREFIX)/bin/storelink-hub
	install -m 0644 include/storelink.h $(DESTDIR)$(INCLUDEDIR)/storelink.h
	install -m 0644 $(BUILD)/libstorelink.a $(DESTDIR)$(LIBDIR)/libstorelink.a
	install -m 0644 $(BUILD)/$(SO_FILE) $(DESTDIR)$(LIBDIR)/$(SO_FILE)
	ln -sf $(SO_FILE) $(DESTDIR)$(LIBDIR)/$(SO_NAME)
	ln -sf $(SO_NAME) $(DESTDIR)$(LIBDIR)/libstorelink.so
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig
	$(call sl_pc,$(PREFIX),$(LIBDIR_PC),$(INCLUDEDIR_PC)) < packaging/storelink.pc.in \
	    > $(DESTDIR)$(LIBDIR)/pkgconfig/storelink.pc
	chmod 0644 $(DESTDIR)$(LIBDIR)/pkgconfig/storelink.pc
	install -m 0644 docs/storelink.conf.sample $(DESTDIR)/etc/storelink/storelink.conf.sample

clean:
	rm -rf build

# --- cross-building (README, "Cross-building") ---------------------------------
# make TARGET=armhf|arm64            the agent, the library and the tests in build/<target>
# make sysroot TARGET=...            only the Debian sysroot build/sysroot-<target>
# make cross-test TARGET=...         unit + CLI tests of the cross-built binaries under
#                                    qemu-user, the sync test against the native hub
.PHONY: sysroot cross-test
build/.deps-cross-stamp: toolchain/deps.sh
	./toolchain/deps.sh build test cross
	@mkdir -p build && touch $@

ifneq ($(TARGET),native)
deps: build/.deps-cross-stamp
# these run the binaries on the host
test demo bench check-clang: native-only
.PHONY: native-only
native-only:
	@echo "make $(MAKECMDGOALS): not for TARGET=$(TARGET); use make cross-test TARGET=$(TARGET)" >&2; exit 2
# a changed toolchain definition rebuilds the target's objects
$(LIB_OBJS) $(APP_OBJS) $(MAIN_OBJS) $(HUB_OBJS) $(HUB_RUN_OBJS) $(HUB_APP_OBJS) \
$(UNIT_TESTS:%=$(BUILD)/obj/tests/unit/%.o) $(BUILD)/obj/tests/unit/writer.o \
$(BUILD)/obj/tests/unit/catalog_feed.o: toolchain/$(TARGET).mk
$(BUILD)/obj/tests/unit/scanfeed.o: toolchain/$(TARGET).mk
endif

ifeq ($(SYSROOT_OWN),yes)
$(SYSROOT)/.sysroot.mk: cross/sysroot.sh
	./cross/sysroot.sh $(TARGET)
endif

sysroot:
	@test "$(SYSROOT_OWN)" = yes || { echo "make sysroot: needs TARGET=armhf or TARGET=arm64" \
	    "(a SYSROOT= of your own is used as it is)" >&2; exit 2; }
	./cross/sysroot.sh $(TARGET)

cross-test: build/.deps-cross-stamp
	@test "$(TARGET)" != native || { echo "make cross-test: needs TARGET=armhf or TARGET=arm64" >&2; exit 2; }
	$(MAKE) all
	$(MAKE) TARGET=native SYSROOT= CROSS_COMPILE= BUILD=build build/storelink-hub
	BUILD=$(BUILD) SL_TARGET=$(TARGET) SL_SYSROOT=$(SYSROOT) \
	    SL_RUN="$(CURDIR)/cross/qemu-run.sh $(TARGET)" SL_HUB_BIN=$(CURDIR)/build/storelink-hub \
	    ./tests/run.sh

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# --- fuzzing (tests/fuzz/run.sh) ------------------------------------------------
# make fuzz [FUZZ_SECONDS=N] [FUZZ_TARGETS="codec ack"]
#     builds the libFuzzer targets with clang (ASan + UBSan) into build/fuzz,
#     runs every input in tests/fuzz/regress/<target>/ once, then fuzzes each
#     target for N seconds from a scratch copy of tests/fuzz/corpus/<target>/;
#     fails if any target crashes (the input and log land in build/fuzz/fuzz/crashes/)
# make fuzz-ci      the same with FUZZ_SECONDS=10 (.ci/run)
# make fuzz-seeds   regenerates tests/fuzz/corpus/ from the product's encoders
.PHONY: fuzz fuzz-ci fuzz-bin fuzz-seeds
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= json_event codec ack catmsg catreq batch batch_body config catcsv
# decoders merged since: scanner drivers, status message, control socket, hub topics
FUZZ_TARGETS += barcode framing statusmsg control scanners topic
# the ingest and control sockets through real sockets, the client library's replies
FUZZ_TARGETS += ingest reply ctlsock ctlreply
FUZZ_SAN = -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
           -fno-omit-frame-pointer
FUZZ_BUILD = build/fuzz

build/.deps-fuzz-stamp: toolchain/deps.sh
	./toolchain/deps.sh build fuzz
	@mkdir -p build && touch $@

fuzz: build/.deps-fuzz-stamp
	$(MAKE) CC=clang BUILD=$(FUZZ_BUILD) SAN_FLAGS='$(FUZZ_SAN)' CFLAGS='-O1 -g' \
	    FUZZ_TARGETS='$(FUZZ_TARGETS)' fuzz-bin
	BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) ./tests/fuzz/run.sh $(FUZZ_TARGETS)

fuzz-ci:
	$(MAKE) fuzz FUZZ_SECONDS=10

fuzz-seeds: build/.deps-fuzz-stamp
	$(MAKE) CC=clang BUILD=$(FUZZ_BUILD) SAN_FLAGS='$(FUZZ_SAN)' CFLAGS='-O1 -g' \
	    $(FUZZ_BUILD)/fuzz/mkseeds
	BUILD=$(FUZZ_BUILD) ./tests/fuzz/mkseeds.sh

fuzz-bin: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)

ifneq ($(TARGET),native)
# libFuzzer runs the targets on the host
fuzz fuzz-ci fuzz-seeds: native-only
endif

# the config, catcsv and catreq targets call the hub's code too
$(BUILD)/obj/tests/fuzz/%.o: SL_CFLAGS += -Ihub $(HUB_PC_CFLAGS) -D_GNU_SOURCE

$(BUILD)/fuzz/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(APP_OBJS) $(HUB_OBJS) $(BUILD)/libstorelink.a
	@mkdir -p $(dir $@)
	$(CC) $(SL_LDFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< $(APP_OBJS) $(HUB_OBJS) \
	    $(BUILD)/libstorelink.a $(HUB_PC_LDLIBS) $(LDLIBS_ALL)

$(BUILD)/fuzz/mkseeds: $(BUILD)/obj/tests/fuzz/mkseeds.o $(APP_OBJS) $(BUILD)/libstorelink.a
	@mkdir -p $(dir $@)
	$(CC) $(SL_LDFLAGS) $(LDFLAGS) -o $@ $< $(APP_OBJS) $(BUILD)/libstorelink.a $(LDLIBS_ALL)

# --- Debian package and footprint (README, "Package and service") --------------
# make deb [TARGET=armhf|arm64]   $(BUILD)/storelink_<version>_<arch>.deb: the stripped
#                                 agent, /etc/storelink/storelink.conf (a conffile), the
#                                 systemd unit, the sysusers.d file and the docs; and for
#                                 POS programs libstorelink.so.1 (+ the .so link), the
#                                 header and storelink.pc in /usr/lib/<multiarch>
# make size                       stripped size and needed libraries, per SIZE_TARGETS
# Depends comes from the binary's NEEDED entries (packaging/depends.sh with
# packaging/shlibs.map), so it is right for cross targets too.
.PHONY: deb size size-one
STRIP ?= $(CROSS_COMPILE)strip
READELF ?= readelf
DEB_ARCH ?= $(if $(filter native,$(TARGET)),$(shell dpkg --print-architecture 2>/dev/null),$(TARGET))
DEB_ROOT = $(BUILD)/deb/root
# Debian's library directory for DEB_ARCH (arm-linux-gnueabihf for armhf)
DEB_MULTIARCH ?= $(or $(TRIPLET),$(shell dpkg-architecture -a$(DEB_ARCH) -qDEB_HOST_MULTIARCH 2>/dev/null),\
                      $(shell $(CC) -print-multiarch 2>/dev/null))
DEB_LIBDIR = usr/lib/$(DEB_MULTIARCH)
DEB_FILE = $(BUILD)/storelink_$(SL_VERSION)_$(DEB_ARCH).deb
DEB_DOCS = README.md docs/ARCHITECTURE.md docs/BROKER.md docs/CLI.md docs/PROTOCOL.md \
           docs/storelink.conf.sample

deb: $(DEB_FILE)

$(DEB_FILE): $(BUILD)/storelink $(BUILD)/$(SO_FILE) include/storelink.h $(wildcard packaging/*) Makefile \
             $(DEB_DOCS)
	@test -n "$(DEB_ARCH)" || { echo "make deb: no Debian architecture (set DEB_ARCH=)" >&2; exit 2; }
	@test -n "$(DEB_MULTIARCH)" || { echo "make deb: no multiarch directory (set DEB_MULTIARCH=)" >&2; exit 2; }
	rm -rf $(BUILD)/deb
	install -d -m 0755 $(DEB_ROOT)/DEBIAN $(DEB_ROOT)/usr/bin $(DEB_ROOT)/etc/storelink \
	    $(DEB_ROOT)/lib/systemd/system $(DEB_ROOT)/usr/lib/sysusers.d \
	    $(DEB_ROOT)/usr/share/doc/storelink/examples \
	    $(DEB_ROOT)/$(DEB_LIBDIR)/pkgconfig $(DEB_ROOT)/usr/include
	$(STRIP) --strip-unneeded -R .comment -o $(DEB_ROOT)/usr/bin/storelink $(BUILD)/storelink
	chmod 0755 $(DEB_ROOT)/usr/bin/storelink
	install -m 0644 docs/storelink.conf.sample $(DEB_ROOT)/etc/storelink/storelink.conf
	install -m 0644 packaging/storelink.service $(DEB_ROOT)/lib/systemd/system/storelink.service
	install -m 0644 packaging/storelink.sysusers $(DEB_ROOT)/usr/lib/sysusers.d/storelink.conf
	install -m 0644 $(DEB_DOCS) $(DEB_ROOT)/usr/share/doc/storelink/
	install -m 0644 packaging/scanners.conf $(DEB_ROOT)/usr/share/doc/storelink/examples/
	install -m 0644 packaging/conffiles $(DEB_ROOT)/DEBIAN/conffiles
	install -m 0755 packaging/postinst packaging/prerm packaging/postrm $(DEB_ROOT)/DEBIAN/
	$(STRIP) --strip-unneeded -R .comment -o $(DEB_ROOT)/$(DEB_LIBDIR)/$(SO_FILE) $(BUILD)/$(SO_FILE)
	chmod 0644 $(DEB_ROOT)/$(DEB_LIBDIR)/$(SO_FILE)
	ln -s $(SO_FILE) $(DEB_ROOT)/$(DEB_LIBDIR)/$(SO_NAME)
	ln -s $(SO_NAME) $(DEB_ROOT)/$(DEB_LIBDIR)/libstorelink.so
	install -m 0644 include/storelink.h $(DEB_ROOT)/usr/include/storelink.h
	$(call sl_pc,/usr,$${exec_prefix}/lib/$(DEB_MULTIARCH),$${prefix}/include) < packaging/storelink.pc.in \
	    > $(DEB_ROOT)/$(DEB_LIBDIR)/pkgconfig/storelink.pc
	chmod 0644 $(DEB_ROOT)/$(DEB_LIBDIR)/pkgconfig/storelink.pc
# a program built against libstorelink.so.1 gets "Depends: storelink (>= version)"
# from dpkg-shlibdeps (shlibs; symbols: every STORELINK_1 symbol since this
# version); ldconfig runs through the trigger
	printf 'libstorelink %s storelink (>= %s)\n' $(SO_MAJOR) $(SL_VERSION) > $(DEB_ROOT)/DEBIAN/shlibs
	printf '%s storelink #MINVER#\n* Build-Depends-Package: storelink\n (symver)STORELINK_1 %s\n' \
	    $(SO_NAME) $(SL_VERSION) \
	    > $(DEB_ROOT)/DEBIAN/symbols
	install -m 0644 packaging/triggers $(DEB_ROOT)/DEBIAN/triggers
	chmod 0644 $(DEB_ROOT)/DEBIAN/shlibs $(DEB_ROOT)/DEBIAN/symbols
	deps=$$(READELF=$(READELF) packaging/depends.sh $(BUILD)/storelink $(BUILD)/$(SO_FILE)) && \
	size=$$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1) && \
	sed -e "s/@VERSION@/$(SL_VERSION)/" -e "s/@ARCH@/$(DEB_ARCH)/" -e "s/@SIZE@/$$size/" \
	    -e "s/@DEPENDS@/$$deps/" packaging/control.in > $(DEB_ROOT)/DEBIAN/control
	find $(DEB_ROOT) -type d -exec chmod 0755 {} +
# md5sums, for dpkg --verify: every file but the conffiles (dpkg keeps their sums itself)
	cd $(DEB_ROOT) && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | \
	    xargs -0 md5sum | awk 'NR == FNR { c[substr($$0, 2)]; next } !(substr($$0, 35) in c)' \
	    $(CURDIR)/packaging/conffiles - > DEBIAN/md5sums && chmod 0644 DEBIAN/md5sums
	dpkg-deb --build --root-owner-group $(DEB_ROOT) $@

SIZE_TARGETS ?= native armhf arm64
size:
	@for t in $(SIZE_TARGETS); do $(MAKE) -s --no-print-directory TARGET=$$t size-one || exit 1; done

# one target: the stripped agent and what it loads (sizes from the sysroot)
size-one: $(BUILD)/storelink
	@$(STRIP) --strip-all -o $(BUILD)/storelink.stripped $(BUILD)/storelink
	@b=$$(wc -c < $(BUILD)/storelink.stripped); k=$$(( (b + 1023) / 1024 )); \
	 goal=""; if [ "$(TARGET)" = armhf ]; then \
	     if [ $$k -le 256 ]; then goal=" (goal <= 256 KiB: met)"; \
	     else goal=" (goal <= 256 KiB: over by $$((k - 256)) KiB)"; fi; fi; \
	 printf '%s: storelink %d bytes stripped, %d KiB%s\n' "$(TARGET)" $$b $$k "$$goal"; \
	 total=0; \
	 for so in $$(LC_ALL=C $(READELF) -d $(BUILD)/storelink | sed -n 's/.*(NEEDED).*\[\(.*\)\]$$/\1/p'); do \
	     f=$$($(CC) $(SYSROOT_FLAGS) -print-file-name=$$so); \
	     if [ -e "$$f" ]; then s=$$(stat -L -c %s "$$f"); total=$$((total + s)); \
	          printf '  needs %-20s %5d KiB\n' $$so $$(( (s + 1023) / 1024 )); \
	     else printf '  needs %-20s     ? (not found)\n' $$so; fi; \
	 done; \
	 printf '  shared libraries total     %5d KiB\n' $$(( (total + 1023) / 1024 ))
