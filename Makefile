# xsdm — secure device model for Xen HVM guests.
# Sources are found by directory, so adding a file needs no Makefile edit:
#   dm/*.c dm/*/*.c restrict/*.c rlimits/*.c  -> build/libxsdm.a  (dm/main.c -> build/xsdm)
#   toolstack/*.c                    -> build/libxsdmctl.a (toolstack/main.c -> build/xsdmctl)
#   tests/lib/*.c                    -> build/libtestutil.a
#   tests/unit/test_*.c              -> one check binary each, run by `make check`
#   tests/fuzz/fuzz_*.c              -> libFuzzer targets (`make fuzz`)

PREFIX   ?= /usr
DESTDIR  ?=
LIBEXEC  ?= $(PREFIX)/lib/xsdm
BUILD    ?= build
CC       ?= cc

PKGS      := libseccomp libcap-ng jansson nettle zlib xencontrol xendevicemodel xenforeignmemory xenevtchn xenstore xentoolcore xentoollog
TESTPKGS  := check
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# xsdmctl parses xl.cfg with Xen's own libxlutil (and libxenlight for disk specs).
CTL_LIBS   := $(shell pkg-config --libs xlutil xenlight 2>/dev/null)
TEST_CFLAGS := $(shell pkg-config --cflags $(TESTPKGS) 2>/dev/null)
TEST_LIBS   := $(shell pkg-config --libs $(TESTPKGS) 2>/dev/null)

HARDEN   := -fPIE -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fno-strict-aliasing
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
            -Wshadow -Wformat=2 -Wvla -I. -DXSDM_LIBEXEC='"$(LIBEXEC)"' $(HARDEN) $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS  += -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack $(EXTRA_LDFLAGS)

DM_SRCS   := $(filter-out dm/main.c,$(wildcard dm/*.c dm/*/*.c)) $(wildcard restrict/*.c) $(wildcard rlimits/*.c)
CTL_SRCS  := $(filter-out toolstack/main.c,$(wildcard toolstack/*.c))
TLIB_SRCS := $(wildcard tests/lib/*.c)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)

# Generated at build time: the SIGSYS reporter's names (scripts/gen-syscall-names.sh)
# and the seccomp programs libseccomp compiles from the allowlist (scripts/gen-seccomp-bpf.c).
GEN_SRCS  := $(BUILD)/gen/syscall-names.c $(BUILD)/gen/seccomp-bpf.c
GEN_OBJS  := $(GEN_SRCS:$(BUILD)/gen/%.c=$(BUILD)/obj/gen/%.o)
DM_OBJS   := $(DM_SRCS:%.c=$(BUILD)/obj/%.o) $(GEN_OBJS)
CTL_OBJS  := $(CTL_SRCS:%.c=$(BUILD)/obj/%.o)
TLIB_OBJS := $(TLIB_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: all binaries check unit deps asan fuzz fuzz-bins fuzz-run bench demo e2e install clean
# Every command of the README works on a fresh Debian 12 machine: each one
# first makes sure the packages are there (deps), then builds in a new make,
# because the pkg-config flags above are read when a make starts and would
# be empty in the make that installed the packages.
all: deps
	@$(MAKE) --no-print-directory binaries
binaries: $(BUILD)/xsdm $(BUILD)/xsdm-testhooks $(BUILD)/xsdmctl

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/gen/syscall-names.c: scripts/gen-syscall-names.sh
	@mkdir -p $(dir $@)
	sh scripts/gen-syscall-names.sh "$(CC)" $@
# The compiler of the policy is the table's own object and libseccomp, nothing
# else of the DM (libxsdm.a holds the program it is about to generate).
$(BUILD)/gen-seccomp-bpf: scripts/gen-seccomp-bpf.c $(BUILD)/obj/restrict/seccomp-policy.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/obj/restrict/seccomp-policy.o -lseccomp
$(BUILD)/gen/seccomp-bpf.c: $(BUILD)/gen-seccomp-bpf
	@mkdir -p $(dir $@)
	$(BUILD)/gen-seccomp-bpf $@
$(GEN_OBJS): $(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# The test-hooks build compiles every DM source again with XSDM_TEST_HOOKS, which
# adds test-only QMP commands (e.g. one that makes a forbidden syscall). Never installed.
$(BUILD)/hooks/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DXSDM_TEST_HOOKS -MMD -MP -c $< -o $@

# empty.o keeps an archive valid while its directory has no sources yet.
$(BUILD)/libxsdm.a: $(DM_OBJS) $(BUILD)/obj/empty.o
	rm -f $@ && ar rcs $@ $^
$(BUILD)/libxsdmctl.a: $(CTL_OBJS) $(BUILD)/obj/empty.o
	rm -f $@ && ar rcs $@ $^
$(BUILD)/libtestutil.a: $(TLIB_OBJS) $(BUILD)/obj/empty.o
	rm -f $@ && ar rcs $@ $^

# libxsdm.a is linked whole: restrict/no-nss.c holds the --wrap targets that
# only the libraries after it refer to, which an archive link would not pull.
WHOLE = -Wl,--whole-archive $(BUILD)/libxsdm.a -Wl,--no-whole-archive
# The DM is one static PIE (DM_LINK=static, the default): nothing to load at
# exec, only the code it uses mapped, and nothing but the binary to install
# in a dom0. The price: a glibc, libseccomp or jansson security update needs
# a rebuild, as for any static binary; user names come from /etc/passwd, not
# NSS (restrict/identity.c, restrict/no-nss.c). DM_LINK=dynamic links glibc dynamically and the
# other libraries statically (the ASan build must: ASan cannot be static).
# Every archive ships in the same Debian -dev packages.
DM_LINK   ?= static
DM_STATIC := -lseccomp -lcap-ng -ljansson -lnettle -lz -lxenctrl -lxendevicemodel -lxenforeignmemory \
             -lxenevtchn -lxenstore -lxentoolcore -lxentoollog -lxencall -lxengnttab
ifeq ($(DM_LINK),static)
DM_LDFLAGS := $(filter-out -pie,$(LDFLAGS)) -static-pie -Wl,--wrap=getpwuid,--wrap=initgroups
DM_LIBS    := -Wl,-O1 $(DM_STATIC) -pthread
else
DM_LDFLAGS := $(LDFLAGS)
DM_LIBS    := -Wl,-O1,--as-needed,--hash-style=gnu -Wl,-Bstatic $(DM_STATIC) -Wl,-Bdynamic -pthread
endif
$(BUILD)/xsdm: $(BUILD)/obj/dm/main.o $(BUILD)/libxsdm.a
	$(CC) $(DM_LDFLAGS) -o $@ $(BUILD)/obj/dm/main.o $(WHOLE) $(DM_LIBS)
$(BUILD)/xsdm-testhooks: $(BUILD)/hooks/dm/main.o $(DM_SRCS:%.c=$(BUILD)/hooks/%.o) $(GEN_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/xsdmctl: $(BUILD)/obj/toolstack/main.o $(BUILD)/libxsdmctl.a $(BUILD)/libxsdm.a
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/obj/toolstack/main.o $(BUILD)/libxsdmctl.a $(BUILD)/libxsdm.a $(CTL_LIBS) $(PKG_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libtestutil.a $(BUILD)/libxsdmctl.a $(BUILD)/libxsdm.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) -DBUILD_DIR='"$(abspath $(BUILD))"' -DSRC_DIR='"$(CURDIR)"' \
	  -MMD -MP $(LDFLAGS) -o $@ $< $(BUILD)/libtestutil.a $(BUILD)/libxsdmctl.a $(WHOLE) \
	  $(CTL_LIBS) $(PKG_LIBS) $(TEST_LIBS)

# `make demo`'s screenshot tool (scripts/demo-screen.c): a qtest driver, linked as the tests are.
$(BUILD)/demo-screen: scripts/demo-screen.c $(BUILD)/libtestutil.a $(BUILD)/libxsdmctl.a $(BUILD)/libxsdm.a
	$(CC) $(CFLAGS) $(TEST_CFLAGS) -DBUILD_DIR='"$(abspath $(BUILD))"' -DSRC_DIR='"$(CURDIR)"' \
	  $(LDFLAGS) -o $@ $< $(BUILD)/libtestutil.a $(BUILD)/libxsdmctl.a $(WHOLE) \
	  $(CTL_LIBS) $(PKG_LIBS) $(TEST_LIBS)

$(BUILD)/obj/empty.o:
	@mkdir -p $(dir $@)
	echo 'typedef int xsdm_empty_unit;' | $(CC) -x c -c - -o $@

# A dependency check that needs no compiler: every pkg-config module and
# tool must be present, else scripts/install-deps.sh installs what is missing
# (as root; otherwise it names the packages and fails).
deps:
	@pkg-config --exists $(PKGS) $(TESTPKGS) 2>/dev/null && command -v cc >/dev/null && \
	  command -v xorriso >/dev/null && command -v clang >/dev/null && \
	  command -v vncsnapshot >/dev/null && command -v gvnccapture >/dev/null || sh scripts/install-deps.sh

# The test binaries alone, without the dependency check (for quick rebuilds).
unit: binaries $(UNIT_BINS)

check: deps
	$(MAKE) unit
	sh scripts/run-tests.sh $(BUILD)

# ASan + UBSan run the same tests at a fraction of the speed: libcheck's per-test time limits
# (a guard against hangs, never a pass criterion) are doubled.
asan:
	CK_TIMEOUT_MULTIPLIER=2 $(MAKE) BUILD=build-asan DM_LINK=dynamic EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" HARDEN="-fPIE -fstack-protector-strong" check

FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -I. -DXSDM_FUZZ -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS)
$(BUILD)/fuzz/%: tests/fuzz/%.c $(DM_SRCS) $(GEN_SRCS) $(TLIB_SRCS) $(wildcard dm/*.h dm/*/*.h restrict/*.h rlimits/*.h tests/lib/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $< $(DM_SRCS) $(GEN_SRCS) $(TLIB_SRCS) $(PKG_LIBS)
fuzz: deps
	@$(MAKE) --no-print-directory fuzz-bins
fuzz-bins: $(FUZZ_BINS)
# Each target runs for FUZZ_SECONDS on its committed corpus; a crash fails the run.
FUZZ_SECONDS ?= 20
fuzz-run: fuzz
	sh scripts/fuzz-run.sh $(BUILD) $(FUZZ_SECONDS)

bench: all
	sh scripts/bench.sh $(BUILD)

demo: all
	@$(MAKE) --no-print-directory $(BUILD)/demo-screen
	sh scripts/demo.sh $(BUILD)

e2e: all
	bash scripts/xen-lab/e2e-boots.sh $(abspath $(BUILD))

install: all
	install -d $(DESTDIR)$(LIBEXEC) $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 $(BUILD)/xsdm $(DESTDIR)$(LIBEXEC)/xsdm
	if [ -f $(BUILD)/xsdmctl ]; then install -m 0755 $(BUILD)/xsdmctl $(DESTDIR)$(PREFIX)/sbin/xsdmctl; fi
	if [ -f docs/xsdm.1 ]; then install -m 0644 docs/xsdm.1 $(DESTDIR)$(PREFIX)/share/man/man1/; fi
	if [ -f docs/xsdmctl.8 ]; then install -m 0644 docs/xsdmctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/; fi

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) build-asan -name '*.d' 2>/dev/null)
