# trustnet - GNU make build.
#
#   make          build build/trustnet (installs missing Debian packages first)
#   make check    build normally and with ASan+UBSan, run every test in both
#   make run      demo: enterprise CA, certificates, and a check against them
#   make deps     install missing Debian packages (as root)
#   make fuzz     (later issues) run every fuzz target for a bounded time

CC      ?= cc
PKGS    := libssl libcrypto
WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-unused-parameter
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -Isrc $(WARN) -g \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lssl -lcrypto)
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

DEB_PKGS := gcc make pkg-config libssl-dev openssl libcmocka-dev python3 ca-certificates

.PHONY: all deps build check run clean asan
all: deps build

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

$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/libtrustnet.a
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
