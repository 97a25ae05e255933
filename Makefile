# trustnet - GNU make build.
#
#   make          build build/trustnet (installs missing Debian packages first)
#   make check    build normally and with ASan+UBSan, run every test in both
#   make run      demo network: CA, certificates, topology, users, and the
#                 front end on 127.0.0.1:5061 in the foreground
#   make deps     install missing Debian packages (as root)
#   make fuzz     run every fuzz target for FUZZ_SECONDS (default 60)

CC      ?= cc
PKGS    := libssl libcrypto yaml-0.1 sqlite3
WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-unused-parameter
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread -Isrc $(WARN) -g \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# Evaluated when make starts: targets that first install packages (all,
# check, run) build through a sub-make, which sees the installed ones.
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lssl -lcrypto -lyaml -lsqlite3) \
           -lresolv
OPT     ?= -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong
SAN     := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=undefined

BUILD   ?= build
CFLAGS_EXTRA ?= $(OPT)
CFLAGS  := $(BASE_CFLAGS) $(CFLAGS_EXTRA)
LDFLAGS_EXTRA ?=

LIB_SRC  := $(shell find src -name '*.c' ! -path 'src/cli/main.c' | sort)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ := $(BUILD)/obj/src/cli/main.o
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/%)

# Build and unit tests, then the real peers the integration tests drive.
DEB_PKGS := gcc make pkg-config libssl-dev openssl libcmocka-dev python3 ca-certificates \
            libyaml-dev libsqlite3-dev \
            sip-tester socat sipsak baresip linphone-cli iproute2 kamailio kamailio-tls-modules \
            postfix swaks libnet-ssleay-perl python3-aiosmtpd testssl.sh

.PHONY: all deps build check run clean asan
all: deps
	@$(MAKE) --no-print-directory build

build: $(BUILD)/trustnet $(UNIT_BIN) $(TOOL_BIN)

deps:
	@./scripts/install-deps.sh $(DEB_PKGS)

# V=1 shows full compiler command lines.
Q := $(if $(V),,@)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libtrustnet.a: $(LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/trustnet: $(MAIN_OBJ) $(BUILD)/libtrustnet.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS_EXTRA) -o $@ $^ $(LDLIBS)

# The headers in tests/unit/ are shared test code (fixtures.h and others).
$(BUILD)/tests/test_%: tests/unit/test_%.c $(wildcard tests/unit/*.h) $(BUILD)/libtrustnet.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS_EXTRA) -o $@ $< $(BUILD)/libtrustnet.a $(LDLIBS) -lcmocka

$(BUILD)/tests/%: tests/tools/%.c $(BUILD)/libtrustnet.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TOOL    $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS_EXTRA) -o $@ $< $(BUILD)/libtrustnet.a $(LDLIBS)

asan: deps
	@$(MAKE) --no-print-directory build BUILD=build/asan CFLAGS_EXTRA="$(SAN)" LDFLAGS_EXTRA="-fsanitize=address,undefined"

check: deps
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory asan
	@./tests/run.sh build build/asan

run: all
	@./scripts/demo.sh

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)

# ---- fuzzing: make fuzz ---------------------------------------------------
# Builds every fuzz/fuzz_*.c with clang and libFuzzer (plus ASan and UBSan)
# against the library, then runs each for FUZZ_SECONDS on its seed corpus
# fuzz/corpus/<area>/ (fuzz_sip_parse -> sip) and its dictionary
# fuzz/<target>.dict if present.  New corpus entries go to build/fuzz/, so
# the seeds in git stay small; crashes are written to build/fuzz/artifacts/
# and fail the run.
FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 60
FUZZ_DEB_PKGS := clang libclang-rt-14-dev libfuzzer-14-dev
FUZZ_BUILD    := build/fuzz
FUZZ_FLAGS    := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
                 -fno-sanitize-recover=undefined
# The gcc builds enforce -Werror; clang warns about other things (such as
# va_list format wrappers), which must not stop a fuzz run of the library.
FUZZ_LIB_FLAGS := -Wno-error
FUZZ_SRC      := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BIN      := $(FUZZ_SRC:fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_LIB_OBJ  := $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)

.PHONY: fuzz fuzz-build fuzz-deps
fuzz-deps:
	@./scripts/install-deps.sh $(FUZZ_DEB_PKGS)

fuzz-build: fuzz-deps
	@$(MAKE) --no-print-directory $(FUZZ_BIN)

fuzz: fuzz-build
	@mkdir -p $(FUZZ_BUILD)/artifacts
	@set -e; for t in $(FUZZ_BIN); do \
	    name=$${t##*/}; area=$${name#fuzz_}; area=$${area%%_*}; \
	    work=$(FUZZ_BUILD)/corpus/$$name; mkdir -p $$work; \
	    dict=""; [ -f fuzz/$$name.dict ] && dict="-dict=fuzz/$$name.dict"; \
	    echo "  FUZZ    $$name for $(FUZZ_SECONDS)s (seeds fuzz/corpus/$$area)"; \
	    $$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$name- $$dict \
	        $$work fuzz/corpus/$$area 2>$(FUZZ_BUILD)/$$name.log || \
	        { tail -60 $(FUZZ_BUILD)/$$name.log; exit 1; }; \
	    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ *DONE)' \
	        $(FUZZ_BUILD)/$$name.log | sed 's/^/    /'; \
	done

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(BASE_CFLAGS) $(FUZZ_FLAGS) $(FUZZ_LIB_FLAGS) \
	    -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/libtrustnet.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_BUILD)/libtrustnet.a
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(BASE_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< \
	    $(FUZZ_BUILD)/libtrustnet.a $(LDLIBS)

# ---- benchmarks: make bench (by hand, never part of make check) ----------
# bench/sipload, the SIP-over-TLS load generator that bench/sip.sh drives;
# bench/smtpload and bench/smtpsink, the SMTP load and sink of bench/smtp.sh.
# Each links bench/benchlib.c, what the three share.
.PHONY: bench
bench: $(BUILD)/bench/sipload $(BUILD)/bench/smtpload $(BUILD)/bench/smtpsink

BENCH_LIBS = $(shell pkg-config --libs libssl libcrypto 2>/dev/null || echo -lssl -lcrypto)

$(BUILD)/bench/benchlib.o: bench/benchlib.c bench/benchlib.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BASE_CFLAGS) $(OPT) -c -o $@ $<

$(BUILD)/bench/%: bench/%.c bench/benchlib.h $(BUILD)/bench/benchlib.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BASE_CFLAGS) $(OPT) -o $@ $< $(BUILD)/bench/benchlib.o $(BENCH_LIBS)
