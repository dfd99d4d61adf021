# vpcfwd build. `make` builds, `make test` installs what is missing, builds and runs
# every test, `make SANITIZE=1 test` runs them all under ASan+UBSan, `make bench`
# runs the benchmark harness. Sources are found by layout (see docs/layout in README.md),
# so a new module or test needs no edit here.

SHELL    := /bin/bash
# The project's version: the Debian package's (make deb), and what the programs may print.
VERSION  := 0.15.0
# make's built-in default is cc; the project builds with gcc unless CC is given.
ifeq ($(origin CC),default)
CC       := gcc
endif
SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD    ?= build-san
else
BUILD    ?= build
endif

# -I$(BUILD): sources include what the build generates (the XDP program's object) by its
# path in the tree, procs/forwarder/xdp_vxlan_obj.h.
CPPFLAGS += -I. -I$(BUILD) -D_GNU_SOURCE
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-missing-field-initializers -fno-strict-aliasing \
            -MMD -MP
# Bind now: with the default relro, the GOT is read-only once a process runs (Debian's
# hardening=+bindnow; lintian's hardening-no-bindnow). Costs the symbol lookups at start.
LDFLAGS  += -Wl,-z,relro,-z,now
LDLIBS   += -lconfig -luring -lck -ljansson -llmdb -lpthread -lm
LDLIBS   += -lssl -lcrypto -lsodium -lcurl
# AF_XDP (procs/forwarder/xsk.c): libxdp's XSK rings over libbpf's loader.
LDLIBS   += -lxdp -lbpf
# vpcfwd-exporter's HTTP (issue 15).
LDLIBS   += -lmicrohttpd
# systemd readiness (common/daemon.c: sd_notify READY=1 for Type=notify units).
LDLIBS   += -lsystemd

ifeq ($(SANITIZE),1)
# ASan brings its own allocator, so jemalloc stays out of sanitizer builds.
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=address,undefined
else
LDLIBS   += -ljemalloc
# Debian's hardening (lintian's hardening-no-fortify-functions): glibc's checked forms of
# memcpy, read, snprintf... where a size is known. ASan checks those itself, and better.
CPPFLAGS += -D_FORTIFY_SOURCE=2
endif

LIB_SRC  := $(wildcard common/*.c shm/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libvpcfwd.a

# procs/<p>/*.c -> bin/vpcfwd-<p>; tools/<t>.c and tools/<t>/*.c -> bin/<t>
PROCS    := $(notdir $(wildcard procs/*))
PROC_BIN := $(PROCS:%=$(BUILD)/bin/vpcfwd-%)
TOOL_SRC := $(wildcard tools/*.c)
TOOL_BIN := $(TOOL_SRC:tools/%.c=$(BUILD)/bin/%)
TOOL_DIRS := $(patsubst tools/%/,%,$(dir $(wildcard tools/*/*.c)))
TOOL_DIR_BIN := $(sort $(TOOL_DIRS:%=$(BUILD)/bin/%))
# Man pages: docs/man/NAME.SECTION (mdoc) are copied into $(BUILD)/man/, and vpcfwd.conf(5)
# is made there from etc/example.conf (tools/man/conf2mdoc), so it cannot say other than
# the example, which tests/config.sh checks against the processes. $(BUILD)/man/ holds
# every page: what the package installs.
MAN_SRC  := $(wildcard docs/man/*.[158])
MAN_OUT  := $(MAN_SRC:docs/man/%=$(BUILD)/man/%) $(BUILD)/man/vpcfwd.conf.5
UNIT_SRC := $(wildcard tests/unit/*_test.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# test helper programs (stress writers/readers): tests/stress/*.c
STRESS_SRC := $(wildcard tests/stress/*.c)
STRESS_BIN := $(STRESS_SRC:tests/stress/%.c=$(BUILD)/tests/%)
# bench/*.bpf.c are XDP programs of the benchmarks' own (clang -target bpf), not benchmarks.
BENCH_SRC  := $(filter-out %.bpf.c,$(wildcard bench/*.c))
BENCH_BIN  := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps test unit-test shell-test bench clean format fuzz demo demo-stop
.PHONY: wireshark-install deb
# Objects reached only through pattern rules are intermediate to make, which would delete
# them after each build and so rebuild everything the next time: keep them all.
.SECONDARY:
all: $(LIB) $(PROC_BIN) $(TOOL_BIN) $(TOOL_DIR_BIN) $(STRESS_BIN) $(MAN_OUT) \
     $(BUILD)/tests/e2e/xdp_pass.bpf.o

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# Every program's --version (common/version.c): the object is rebuilt when VERSION changes.
$(BUILD)/common/version.o: CPPFLAGS += -DVPCFWD_VERSION='"$(VERSION)"'
$(BUILD)/common/version.o: Makefile

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# Objects of a directory of sources (a process, a multi-file tool). *.bpf.c are XDP
# programs: built by clang for the kernel and embedded, never linked.
dir_objs = $(patsubst %.c,$(BUILD)/%.o,$(filter-out %.bpf.c,$(wildcard $(1)/*.c)))

# An XDP program: clang -target bpf (the shorter stem wins over the rule above). Its
# object is embedded as a C array, xxd -i, in the header of the same name + _obj.h, so
# nothing but the binary is needed at run time.
BPF_CFLAGS := -O2 -g -Wall -Werror -target bpf -I/usr/include/$(shell gcc -dumpmachine)
$(BUILD)/%.bpf.o: %.bpf.c
	@mkdir -p $(dir $@)
	clang $(BPF_CFLAGS) -I$(dir $<) -MMD -MP -c -o $@ $<
$(BUILD)/%_obj.h: $(BUILD)/%.bpf.o
	{ echo "/* generated from $< by the Makefile */"; \
	  echo "static const unsigned char $(notdir $*)_obj[] __attribute__((aligned(8))) = {"; \
	  xxd -i <$<; echo "};"; } >$@.tmp && mv $@.tmp $@
# The objects that include it (xsk.c, and the tests that include xsk.c).
XDP_VXLAN_OBJ_H := $(BUILD)/procs/forwarder/xdp_vxlan_obj.h
$(BUILD)/procs/forwarder/xsk.o $(BUILD)/tests/unit/xsk_test.o: $(XDP_VXLAN_OBJ_H)
$(BUILD)/tests/unit/forwarder_test.o: $(XDP_VXLAN_OBJ_H)

.SECONDEXPANSION:
$(BUILD)/bin/vpcfwd-%: $$(call dir_objs,procs/$$*) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A static pattern rule: tools may be named vpcfwd-* (vpcfwd-stat), and the implicit
# rule above would otherwise win (shorter stem) and link a tool without its object.
$(TOOL_BIN): $(BUILD)/bin/%: $(BUILD)/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(TOOL_DIR_BIN): $(BUILD)/bin/%: $$(call dir_objs,tools/$$*) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(filter-out $(BUILD)/man/vpcfwd.conf.5,$(MAN_OUT)): $(BUILD)/man/%: docs/man/%
	@mkdir -p $(dir $@)
	cp $< $@
$(BUILD)/man/vpcfwd.conf.5: tools/man/vpcfwd.conf.5.in etc/example.conf tools/man/conf2mdoc
	@mkdir -p $(dir $@)
	python3 tools/man/conf2mdoc tools/man/vpcfwd.conf.5.in etc/example.conf >$@.tmp
	mv $@.tmp $@

$(BUILD)/tests/%_test: $(BUILD)/tests/unit/%_test.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcriterion $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/stress/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# bench/gateway loads its ceiling, $(BUILD)/bench/xdp_relay.bpf.o (the XDP program rule
# above), from the build directory at run time.
$(BUILD)/bench/gateway: | $(BUILD)/bench/xdp_relay.bpf.o

# Packages the build and the tests need on Debian 12. Quick when all are there.
DEB_PKGS := build-essential pkg-config liburing-dev libck-dev libjemalloc-dev libconfig-dev \
            libcriterion-dev liblmdb-dev libjansson-dev iproute2 iputils-ping clang \
            libclang-rt-14-dev valgrind python3 libssl-dev libsodium-dev
# AF_XDP (issue 14): libxdp's XSK rings, libbpf's loader, xxd to embed the XDP program.
DEB_PKGS += libxdp-dev libbpf-dev xxd
DEB_PKGS += tshark gnuplot-nox
# etcd (issue 13): the server the tests start their own members of, etcdctl for the tests'
# checks, and libcurl for common/etcd.c. The OpenSSL flavour of libcurl's headers is the one
# that coexists with libssl-dev (the GnuTLS and NSS ones conflict with each other, not with it).
DEB_PKGS += etcd-server etcd-client libcurl4-openssl-dev
# Man pages (issue 15): tests/man.sh checks every page with mandoc -Tlint.
DEB_PKGS += mandoc
# The Debian package (issue 15, make deb): dpkg-shlibdeps for its Depends, lintian to
# check it (tests/deb.sh).
DEB_PKGS += dpkg-dev lintian
# vpcfwd-exporter (issue 15): libmicrohttpd for its HTTP, Prometheus (the server, with
# promtool) for tests/exporter.sh.
DEB_PKGS += libmicrohttpd-dev prometheus
# systemd units (issue 15, etc/systemd/): sd_notify for common/daemon.c, systemd-analyze
# for tests/systemd.sh (a minimal image may have neither), setpriv (util-linux) and capsh
# (libcap2-bin) for tests/e2e/systemd_caps.sh's capability sets.
DEB_PKGS += libsystemd-dev systemd util-linux libcap2-bin
deps:
	@missing=$$(for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		export DEBIAN_FRONTEND=noninteractive; \
		case " $$missing " in *" tshark "*) \
			echo "wireshark-common wireshark-common/install-setuid boolean false" | \
			    debconf-set-selections;; \
		esac; \
		apt-get install -y -q $$missing || { apt-get update -q && apt-get install -y -q $$missing; }; \
	fi

# Criterion passes a test whose child a sanitizer reported on at exit (a leak): the report
# in the output fails the run too.
unit-test: $(UNIT_BIN)
	@set -eo pipefail; for t in $(UNIT_BIN); do echo "== $$t"; \
	    $$t --jobs 2 2>&1 | tee $$t.out; \
	    if grep -q "^SUMMARY: [A-Za-z]*Sanitizer" $$t.out; then \
	        echo "$$t: a sanitizer reported (see $$t.out)"; exit 1; fi; done

# Every tests/*.sh and tests/e2e/*.sh but the libraries they source. The e2e suite runs
# twice, once for each forwarder.io of the underlay (E2E_IO, tests/e2e/common.bash).
SHELL_TESTS := $(filter-out tests/lib.sh,$(wildcard tests/*.sh))
E2E_TESTS := $(filter-out tests/e2e/topo.sh,$(wildcard tests/e2e/*.sh))
E2E_IOS ?= xdp socket
# Every test runs, a failed one too; the run fails at the end, naming them and repeating
# each one's FAIL lines and last lines (the end of a long log is what CI shows).
shell-test: all $(BUILD)/bench/scale $(BUILD)/bench/evict
	@failed=; out=$$(mktemp -d); trap 'rm -rf "$$out"' EXIT; n=10000; \
	run() { n=$$((n + 1)); env "$$@" >"$$out/$$n" 2>&1 & local pid=$$!; \
	    tail -s 0.1 -n +1 -f --pid=$$pid "$$out/$$n"; wait $$pid && rm -f "$$out/$$n"; }; \
	for t in $(SHELL_TESTS); do echo "== $$t"; \
	    run BUILD=$(BUILD) bash $$t || failed="$$failed $$t"; done; \
	for io in $(E2E_IOS); do for t in $(E2E_TESTS); do echo "== $$t (E2E_IO=$$io)"; \
	    run E2E_IO=$$io BUILD=$(BUILD) bash $$t || failed="$$failed $$t($$io)"; done; done; \
	if [ -n "$$failed" ]; then for f in "$$out"/*; do \
	    echo "-- a failed test's FAIL lines, then the end of its output:"; \
	    grep -m 3 "FAIL" "$$f"; tail -n 8 "$$f"; done; \
	    echo "shell tests failed:$$failed"; exit 1; fi

ifeq ($(SANITIZE),1)
# The processes too: tests/lib.sh fails a test whose processes' logs hold a report.
test: deps
	$(MAKE) SANITIZE=1 all
	$(MAKE) SANITIZE=1 unit-test
	$(MAKE) SANITIZE=1 shell-test
else
test: deps
	$(MAKE) all
	$(MAKE) unit-test
	$(MAKE) shell-test
endif

bench: deps
	$(MAKE) all $(BENCH_BIN)
	BUILD=$(BUILD) bench/run
	BUILD=$(BUILD) bash tests/table_stress.sh long

$(BENCH_BIN): $(LIB)
bench-bins: $(BENCH_BIN)

# A whole cluster in network namespaces, narrated, left running (tools/vpcfwd-demo, from
# etc/demo/); demo-stop removes it, whatever state a run left it in.
demo: deps
	$(MAKE) all
	BUILD=$(BUILD) tools/vpcfwd-demo start
demo-stop:
	BUILD=$(BUILD) tools/vpcfwd-demo stop

# The Wireshark dissector of sync, learn and the VXLAN learn bit (tools/wireshark/README.md):
# copied where Wireshark and tshark look for personal Lua plugins.
WIRESHARK_PLUGINS ?= $(HOME)/.local/lib/wireshark/plugins
wireshark-install:
	install -D -m 0644 tools/wireshark/vpcfwd.lua $(WIRESHARK_PLUGINS)/vpcfwd.lua

# The Debian package, vpcfwd_$(VERSION)_amd64.deb at the top (docs/packaging.md): staged
# and built by etc/debian/mkdeb from the binaries of the plain build, never the sanitized
# one (a package does not ship ASan), so SANITIZE=1 make deb packages build/. Not part of
# all; rebuilt only when a binary or a packaged file changed.
DEB      := vpcfwd_$(VERSION)_amd64.deb
DEB_BUILD := $(if $(filter 1,$(SANITIZE)),build,$(BUILD))
DEB_BINS  = $(PROC_BIN) $(TOOL_BIN) $(TOOL_DIR_BIN)
DEB_FILES := $(wildcard etc/debian/* etc/systemd/* etc/systemd/*/* docs/man/*.[158] \
             docs/*.md tools/vpcfwdctl/vpcfwdctl.bash etc/example.conf etc/demo/*.conf) \
             README.md Makefile tools/vpcfwd-supervise tools/vpcfwd-pki \
             tools/wireshark/vpcfwd.lua tools/wireshark/README.md
deb:
	$(MAKE) SANITIZE=0 BUILD=$(DEB_BUILD) $(DEB)
$(DEB): $(DEB_BINS) $(DEB_FILES) $(MAN_OUT)
	MAN_DIR=$(BUILD)/man etc/debian/mkdeb $(VERSION) $(BUILD)/deb $@ $(DEB_BINS)

# Fuzz targets: fuzz/<name>.c defines LLVMFuzzerTestOneInput; fuzz/corpus/<name>/ seeds it.
# `make fuzz` runs each for FUZZ_SECONDS (CI: a short budget).
FUZZ_SECONDS ?= 30
FUZZ_SRC := $(wildcard fuzz/*.c)
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=build-fuzz/%)
FUZZ_LIB_SRC := $(wildcard common/*.c shm/*.c)
# A target may include a process's sources (fuzz/api.c, fuzz/neigh_msg.c): what it
# includes is listed in build-fuzz/NAME.d, so a change there rebuilds it.
build-fuzz/%: fuzz/%.c $(FUZZ_LIB_SRC)
	@mkdir -p build-fuzz
	clang $(CPPFLAGS) -MM -MP -MT $@ -MF $@.d $<
	clang $(CPPFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -o $@ $< $(FUZZ_LIB_SRC) \
	    -lconfig -luring -lck -ljansson -llmdb -lssl -lcrypto -lsodium -lcurl -lsystemd -lpthread -lm
fuzz: deps $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$${f#build-fuzz/}; mkdir -p build-fuzz/corpus-$$n; \
		echo "== fuzz $$n ($(FUZZ_SECONDS) s)"; \
		if ! $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		    build-fuzz/corpus-$$n fuzz/corpus/$$n >build-fuzz/$$n.log 2>&1; then \
			tail -40 build-fuzz/$$n.log; exit 1; fi; \
		grep -E 'stat::number_of_executed_units|stat::new_units_added' build-fuzz/$$n.log; \
	done

clean:
	rm -rf build build-san build-fuzz vpcfwd_*.deb

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
-include $(wildcard build-fuzz/*.d)
