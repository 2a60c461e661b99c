# oreore: kernel-patches/ -> kernel -> kmod/ -> vm/ (initramfs + QEMU) -> harness/ in the guest -> verdict.
#
#   make deps      install the Debian packages (root)
#   make test      host-side tests
#   make vm-test   build what changed, boot the patched kernel, run the suites, print the verdict
#
# Everything is built under $(BUILD); the kernel is compiled with ccache, whose cache is outside the clone.

KVER    ?= 6.1
# Every kernel series that kernel-patches/ holds (v6.1, v6.12, v7.3): make deps installs or fetches each one's source.
ALL_KVERS := $(patsubst kernel-patches/v%,%,$(wildcard kernel-patches/v*))
# normal, or debug: KASAN, lockdep, PROVE_RCU, DEBUG_ATOMIC_SLEEP, DEBUG_PREEMPT and kmemleak (own build folder);
# cover: gcov of the series' objects and the module (make vm-cover, own build folder); fuzz: debug without
# DEBUG_KOBJECT_RELEASE, for make fuzz (own build folder)
FLAVOR  ?= normal
BUILD   ?= build
# The flavors whose kernel has debug's checks.
DEBUGGING := $(filter debug fuzz,$(FLAVOR))
TIMEOUT ?= $(if $(DEBUGGING),30m,15m)
# Guest memory: KASAN's shadow, its quarantine and kmemleak's records leave 1G too little for test_verifier (OOM),
# and so does 7.3's test_verifier beside the slot lane (the OOM killer took both at 25 s); both together (7.3's
# debug flavor) leave 1536M too little (the OOM killer took test_verifier at 192 s).
MEMORY  ?= $(if $(and $(DEBUGGING),$(filter 7.3,$(KVER))),2G,$(if $(DEBUGGING)$(filter 7.3,$(KVER)),1536M,1G))
# auto: the faster of KVM and TCG on this host, measured once per host boot, QEMU and kernel (vm/qemu/accel.go) and
# kept in $(BUILD)/accel; kvm or tcg: that one. Exported, so that every boot honours it: the runner's self-tests too.
ACCEL   ?= auto
export OREORE_ACCEL = $(ACCEL)
# Arguments for the in-guest test binaries, e.g. TESTARGS=-test.run=Attach
TESTARGS ?=
# SHORT=1: the loop. Our suites only (KERNEL_TESTS=0 unless given), run with -test.short: the stress tests, the
# module reload cycles and the generated programs scaled down tenfold.
SHORT ?=
GUEST_TESTARGS = $(if $(SHORT),-test.short) $(TESTARGS)
# Recipes pass them as "$$GUEST_TESTARGS", so that a regexp such as -test.run='A|B' reaches the guest whole
# instead of being read by the shell; set -f keeps a * in it from matching files.
export GUEST_TESTARGS
# FRESH=1: boot and test even when nothing changed since a passing run (whose verdict vm-test otherwise reuses)
FRESH ?=
# GDB=1 (vm-test, vm-run, vm-shell): the guest waits for gdb, started on this terminal with the lx- commands and the
# module's symbols (vm-shell prints the gdb line for another terminal). GDB_SCRIPT=file: gdb in batch mode with it.
# PANIC_ON_WARN=1: a WARN panics the guest's kernel, and leaves a vmcore as a panic does.
GDB ?=
GDB_SCRIPT ?=
PANIC_ON_WARN ?=
# ARCH: the machine the guest is (vm/qemu's machines): x86_64, or arm64 (QEMU's virt, GICv3) and s390x
# (s390-ccw-virtio, big-endian), cross-built with Debian's cross compilers (make deps ARCH=... installs them) and run
# under TCG with -cpu max. Build folders get the architecture's name (kernel-6.12-arm64).
ARCH ?= x86_64
# TRACE=1 (vm-test): the guest traces the series' and the module's functions; each failing test's trace goes to
# build/vm-<ver>/trace/PACKAGE.Test.txt.
TRACE ?=

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.SUFFIXES:

TOP      := $(CURDIR)
export OREORE_ACCEL_CACHE = $(TOP)/$(BUILD)/accel
# Debian 12's own kernels come as installed packages; newer ones (BACKPORT_KVERS) are fetched by make deps from
# $(BACKPORTS_SUITE) into $(BUILD)/debs with an apt state of their own (vm/cmd/backports): the host's apt sources
# stay as they are.
BACKPORT_KVERS := 7.3
BACKPORTS_SUITE := trixie-backports
TARBALL  := $(if $(filter $(BACKPORT_KVERS),$(KVER)),$(TOP)/$(BUILD)/debs/linux-source-$(KVER)/usr/src,/usr/src)/linux-source-$(KVER).tar.xz
# KERNEL_SRC=/path/to/tree builds a developer's own git tree (with a `base` tag) instead of the extracted one.
KERNEL_SRC ?=
PATCHED_SRC := $(TOP)/$(BUILD)/src/linux-source-$(KVER)
# BASE=1: the base tree (Debian's source at the `base` tag, no series) in a git worktree of the extracted tree, built
# with the same config: make selftests-baseline runs the kernel's selftests there for the known-failures lists.
BASE ?=
BASE_SRC := $(TOP)/$(BUILD)/src/base-linux-source-$(KVER)
SRC      := $(if $(KERNEL_SRC),$(abspath $(KERNEL_SRC)),$(if $(BASE),$(BASE_SRC),$(PATCHED_SRC)))
# Per machine (ARCH): kbuild's ARCH, the cross compiler's prefix, the boot image, Go's GOARCH, clang's BPF target
# (the machine's byte order), QEMU, and the Debian packages that bring the last two: KARCH_<m>, CROSS_<m>,
# KIMAGE_<m>, GOARCH_<m>, BPF_TARGET_<m>, QEMU_<m>, ARCH_PACKAGES_<m>, written by vm/cmd/machines from vm/qemu's
# Machines, where the runner finds the same machines.
MACHINES_INPUTS := $(wildcard vm/qemu/machine.go vm/cmd/machines/main.go)
# `make` alone is `make all` (vm-test): the generated makefiles' rules come first in this file.
.DEFAULT_GOAL := all
$(BUILD)/machines.mk: $(MACHINES_INPUTS)
	@mkdir -p $(@D) && go run ./vm/cmd/machines > $@.tmp && mv $@.tmp $@
include $(BUILD)/machines.mk
# make reads machines.mk once it has written it: only then can ARCH be checked.
$(if $(MACHINES),$(if $(filter $(ARCH),$(MACHINES)),,$(error ARCH=$(ARCH): not a machine vm/qemu knows ($(MACHINES)))))
# FOREIGN is the architecture when it is not x86_64's: cross-built, its own build folders.
FOREIGN := $(filter-out x86_64,$(ARCH))
# The emulator: the host's, or for a machine whose QEMU in the host's suite is wrong (vm/qemu's QEMUBackport), a
# newer one that make deps fetched from the suite's backports into build/debs, run from there, not installed.
QEMU_BIN  := $(if $(QEMU_BACKPORT_$(ARCH)),$(TOP)/$(BUILD)/debs/$(QEMU_BACKPORT_$(ARCH))/usr/bin/$(QEMU_$(ARCH)),$(QEMU_$(ARCH)))
QEMU_FLAG := $(if $(QEMU_BACKPORT_$(ARCH)),-qemu $(QEMU_BIN))
CROSS   := $(CROSS_$(ARCH))
# A developer tree (KERNEL_SRC) gets build folders of its own: one kbuild output folder serves one source tree.
flavored = $(KVER)$(if $(filter debug cover fuzz,$(FLAVOR)),-$(FLAVOR))$(if $(KERNEL_SRC),-own)$(1)$(if $(FOREIGN),-$(ARCH))
FLAVORED := $(call flavored,$(if $(BASE),-base))
# The base kernel's (BASE=1) folders' name, which make selftests-baseline uses without BASE=1.
BASE_FLAVORED := $(call flavored,-base)
KOUT     := $(TOP)/$(BUILD)/kernel-$(FLAVORED)
KMOD_OUT := $(TOP)/$(BUILD)/kmod-$(FLAVORED)
# The cover flavor's test binaries are built with Go coverage: a folder of their own.
GUEST    := $(TOP)/$(BUILD)/guest$(if $(filter cover,$(FLAVOR)),-cover)$(if $(FOREIGN),-$(ARCH))
VMOUT    := $(TOP)/$(BUILD)/vm-$(FLAVORED)
BIN      := $(TOP)/$(BUILD)/bin
PATCH_DIR ?= kernel-patches/v$(KVER)
# The cover letter is written by `make patches` and is not applied.
COVER    := 0000-cover-letter.patch
COVER_TEXT := kernel-patches/v$(KVER)/cover-letter.txt
PATCHES  := $(sort $(filter-out %/$(COVER),$(wildcard $(PATCH_DIR)/*.patch)))
# A series may add a fragment of its own (kernel-patches/oreore-KVER.config), merged after the common one.
FRAGMENTS := kernel-patches/oreore.config $(wildcard kernel-patches/arch-$(ARCH).config) $(wildcard kernel-patches/oreore-$(KVER).config) \
	$(if $(DEBUGGING),kernel-patches/debug.config) $(if $(filter cover fuzz,$(FLAVOR)),kernel-patches/$(FLAVOR).config)
# What the build knows about program types (TYPES, TYPE_MODULES, COVER_OBJECTS, SERIES_SELFTESTS) comes from their
# descriptors in harness/progtype, written out by vm/cmd/types. COVER_OBJECTS are the objects the cover flavor
# profiles, by file name as kbuild's GCOV_PROFILE_<name>.o takes them: each type's own files and the shared
# syscall.o and test_run.o, where vm-cover counts only the series' lines (the module's object shares the type's
# file name). Given on kbuild's command line, so the series needs no Makefile change.
# types.list holds the descriptors' file names, rewritten only when one is added or removed: a removed descriptor
# (a scaffold thrown away) must rewrite types.mk too, though no remaining file is newer.
TYPES_INPUTS := $(wildcard harness/progtype/*.go vm/cmd/types/*.go)
$(shell mkdir -p $(BUILD) && s="$(TYPES_INPUTS)" && { [ "$$s" = "$$(cat $(BUILD)/types.list 2>/dev/null)" ] || echo "$$s" > $(BUILD)/types.list; })
$(BUILD)/types.mk: $(TYPES_INPUTS) $(BUILD)/types.list
	@mkdir -p $(@D) && go run ./vm/cmd/types > $@.tmp && mv $@.tmp $@
include $(BUILD)/types.mk
# The cover flavor profiles COVER_OBJECTS with gcov (vm-cover); the debug flavor instruments them for KCOV, whose
# per-thread coverage guides make fuzz.
PROFILE_VARS := $(if $(filter cover,$(FLAVOR)),$(foreach o,$(COVER_OBJECTS),GCOV_PROFILE_$(o)=y)) \
	$(if $(DEBUGGING),$(foreach o,$(COVER_OBJECTS),KCOV_INSTRUMENT_$(o)=y))
BZIMAGE  := $(KOUT)/arch/$(KARCH_$(ARCH))/boot/$(KIMAGE_$(ARCH))
# One trigger module per described type that the series carries (TYPE_MODULES_<KVER>, from types.mk: make new-type
# stacks a type only where there is room), and the modules that register the described struct_ops types where the
# series can (OPS_MODULES_<KVER>: a module registers struct_ops from Linux 6.9 on), all built from kmod/ in one
# kbuild run: kmod/Kbuild takes the list from here.
MODULES  := $(TYPE_MODULES_$(KVER)) $(OPS_MODULES_$(KVER))
KOS      := $(foreach m,$(MODULES),$(KMOD_OUT)/$(m).ko)
INITRAMFS := $(GUEST)/initramfs-$(FLAVORED).cpio
# The debug guest scans for leaks at the end; the init fails the run if it cannot.
GUEST_APPEND := $(if $(DEBUGGING),oreore.kmemleak=1)

# Fixed build identity, so that a rebuild of the same tree compiles the same bytes and hits ccache.
# ccache's depend mode: kbuild asks gcc for the dependency list (-MMD), so ccache hashes the headers it names
# instead of running the preprocessor first. A cold 6.1 kernel/+mm/ (-j2, every object a miss) took 238.9 s in
# ccache's default mode, 207.0 s in depend mode and 185.5 s without ccache; hits still hit.
export CCACHE_DEPEND := 1
# kbuild's job count: one per CPU (-j3 on 2 cores was slower than -j2: vm/README.md, "A fresh machine").
KJOBS := $(shell nproc)
# scripts_gdb: vmlinux-gdb.py and the lx- commands for `make vm-gdb`.
KGOALS := $(KIMAGE_$(ARCH)) modules modules_prepare scripts_gdb
# kbuild's architecture and compiler: the host's, or a cross compiler (CROSS_COMPILE also names binutils).
KCROSS := $(if $(FOREIGN),ARCH=$(KARCH_$(ARCH)) CROSS_COMPILE=$(CROSS))
KMAKE := $(MAKE) -C $(SRC) O=$(KOUT) $(KCROSS) CC="ccache $(CROSS)gcc" HOSTCC="ccache gcc" \
	KBUILD_BUILD_TIMESTAMP=2026-01-01 KBUILD_BUILD_USER=oreore KBUILD_BUILD_HOST=oreore KBUILD_BUILD_VERSION=1 $(PROFILE_VARS)

GO       := go
# Guest binaries are built without the symbol table and DWARF (-s -w): a third smaller, and the kernel unpacks
# the initramfs at ~35 MB/s under TCG. Panics and t.Errorf still name file:line (the pclntab stays).
GO_GUEST := CGO_ENABLED=0 $(if $(FOREIGN),GOARCH=$(GOARCH_$(ARCH))) $(GO)
GUEST_LDFLAGS := -ldflags=-s\ -w
# The packages whose Go coverage vm-cover reports, in the guest's test binaries and the host's tests.
GO_COVERPKG := oreore/harness/...
GUEST_TEST := $(GO_GUEST) test -c $(GUEST_LDFLAGS) $(if $(filter cover,$(FLAVOR)),-cover -coverpkg=$(GO_COVERPKG))
GIT_ID   := -c user.name="oreore maintainers" -c user.email=oreore@example.org

APT_PACKAGES := $(addprefix linux-source-,$(filter-out $(BACKPORT_KVERS),$(ALL_KVERS))) build-essential bc bison flex libelf-dev libssl-dev dwarves \
	ccache cpio xz-utils lz4 rsync git tmux qemu-system-x86 clang llvm clang-19 llvm-19 libbpf-dev python3-ply python3-git \
	python3-sphinx python3-sphinx-rtd-theme gdb crash python3-drgn lcov

.PHONY: help
help:
	@echo "oreore: kernel-patches/ -> kernel -> kmod/ -> vm/ (initramfs + QEMU) -> harness/ in the guest -> verdict"
	@echo
	@echo "Targets:"
	@echo "  deps                install the Debian packages and Go modules (root)"
	@echo "                      ARCH=arm64|s390x: also the cross compiler and QEMU; the machine's libraries into build/"
	@echo "  vm-test             build what changed, boot the patched kernel, run the suites, print the verdict"
	@echo "  test                host-side tests: encoder, loader, XDP in namespaces, runner, checkpatch, patch export"
	@echo "  vm-run CMD='...'    one command in the guest (FILES='host[:guest] ...' copies files in)"
	@echo "  vm-shell            u-root's shell in the guest, on this terminal"
	@echo "  vm-gdb              the suites under gdb on this terminal (GDB=1 does it for vm-test, vm-run, vm-shell)"
	@echo "  vm-selftest         the runner's self-tests (misbehaving guests), always"
	@echo "  vm-test-all         vm-test on the normal and the debug kernel"
	@echo "  vm-cover            gcov: line and branch coverage of the series' lines and the module (own kernel build)"
	@echo "  fuzz                the types' calls fuzzed in the guest for DURATION (10m), KCOV-guided, on the debug kernel"
	@echo "  kernel              the patched kernel (skips kbuild when nothing changed)"
	@echo "  kernel-src          Debian's source as a git tree, the series applied"
	@echo "  patches             the tree's commits since base back into kernel-patches/vKVER, with the cover letter"
	@echo "  checkpatch          checkpatch --strict on every patch and on each type's kmod/NAME.c"
	@echo "  docs                the patched tree's Documentation/bpf (htmldocs); warnings in the series' files fail"
	@echo "  series-build-check  build every prefix of the series (slow)"
	@echo "  new-type NAME=foo   scaffold a program type from oreore's: series, descriptor, module (harness/README.md);"
	@echo "                      KIND=struct_ops: a module's struct_ops type and kfuncs from oreore_ops's"
	@echo "  selftests           the kernel's test_progs (SELFTESTS), test_verifier and bpftool, static"
	@echo "  selftests-baseline  run them on the base kernel (no series): rewrites harness/kselftest/known/KVER-FLAVOR.txt"
	@echo "  programs            compile programs/c with clang -target bpf"
	@echo "  bench               each loop's time and its breakdown, step by step (LOOPS=; asserts nothing)"
	@echo "  clean               remove build/"
	@echo
	@echo "Variables:"
	@echo "  KVER=$(KVER)            kernel series: $(ALL_KVERS)"
	@echo "  ARCH=$(ARCH)        the guest's machine: x86_64, arm64 or s390x (cross-built, under TCG)"
	@echo "  FLAVOR=$(FLAVOR)        normal, debug (KASAN, lockdep, PROVE_RCU, kmemleak), cover (gcov; make vm-cover) or fuzz (make fuzz's)"
	@echo "  FRESH=1             boot even when a passing verdict could be reused"
	@echo "  TIMEOUT=$(TIMEOUT)          the guest's time limit"
	@echo "  TEST_TIMEOUT=...    one test's time limit (4m, 10m for debug): the guest dumps its stacks, code 4"
	@echo "  ACCEL=$(ACCEL)          kvm, tcg or auto (the faster here, measured once: vm/qemu/accel.go)"
	@echo "  MEMORY=...          guest memory (1G, 1536M for debug)"
	@echo "  TESTARGS=...        arguments for the in-guest test binaries, e.g. -test.run=Attach"
	@echo "  SHORT=1             the loop: the types' tests only, stress tests and generated programs scaled down (-test.short)"
	@echo "  KERNEL_SRC=PATH     build your own kernel tree (a git tree with a base tag)"
	@echo "  SELFTESTS='...'     the prog_tests that test_progs is built from ($(SELFTESTS))"
	@echo "  BASE=1              kernel, kernel-src: the base tree (no series), in a worktree and build folder of its own"
	@echo "  TRACE=1             trace the series' and the module's functions; a failing test's trace: build/vm-KVER/trace/"
	@echo "  GDB=1, GDB_SCRIPT=F vm-test, vm-run, vm-shell under gdb (make vm-gdb); PANIC_ON_WARN=1: a WARN panics (vmcore)"
	@echo "  KERNEL_TESTS=0      vm-test without the kernel's own selftests: only our suites (the fast loop)"

.PHONY: qemu-check fuzz fuzz-run vm-cover cover-run docs selftests selftests-build selftests-baseline vm-gdb vm-run vm-shell shell-bin vm-selftest all deps kernel-src kernel kmod programs initramfs vm-test vm-test-all test checkpatch series-build-check new-type patches patches-roundtrip bench clean
all: vm-test

deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(APT_PACKAGES) $(ARCH_PACKAGES_$(ARCH))
	@command -v $(GO) >/dev/null || { echo "deps: Go is not installed (Debian's golang is too old: install Go >= 1.26 from go.dev)"; exit 1; }
	$(GO) mod download
	$(GO) run ./vm/cmd/backports -suite $(BACKPORTS_SUITE) -state $(BUILD)/apt -into $(BUILD)/debs \
		$(addprefix linux-source-,$(filter $(BACKPORT_KVERS),$(ALL_KVERS)))
	$(if $(FOREIGN),$(GO) run ./vm/cmd/backports -suite $(HOST_SUITE) -arch $(ARCH) -state $(BUILD)/apt-$(ARCH) \
		-sysroot $(SYSROOT) $(SYSROOT_PACKAGES))
	$(if $(QEMU_BACKPORT_$(ARCH)),$(GO) run ./vm/cmd/backports -suite $(HOST_SUITE)-backports -state $(BUILD)/apt-backports \
		-into $(BUILD)/debs $(QEMU_BACKPORT_$(ARCH)))

# `make -n` runs each recipe line that names $(MAKE) (so that the sub-make can print its commands), all of the line:
# the lines that build and then write a key saying the build is current (kernel, kmod, selftests) start with
# NOT_DRY, which ends them at once under -n. (A `make -n selftests-baseline` once wrote 7.3's selftests key over a
# stale build, whose bpftool then crashed in the guest.)
DRY_RUN := $(findstring n,$(firstword -$(MAKEFLAGS)))
NOT_DRY := $(if $(DRY_RUN),exit 0;)

# --- kernel source: Debian's tarball as a git tree, the series applied with git am ---------------------------
# The stamp records which series is applied; a changed series is re-applied from the base tag, which would lose
# uncommitted edits in the tree, so those stop the build instead.
SRC_STAMP := $(SRC)/.oreore-series
SERIES_ID := $(shell cat $(PATCHES) 2>/dev/null | sha256sum | cut -c1-16)

kernel-src: $(SRC_STAMP)
ifneq ($(BASE),)
# The base tree is checked out once from the extracted tree's `base` tag; it never changes.
$(SRC_STAMP):
	@$(MAKE) -s kernel-src BASE=
	@test -d $(SRC) || { echo "kernel-src: checking out the base tree (no series) in $(SRC)"; \
		git -C $(PATCHED_SRC) worktree add -q --detach $(SRC) base; }
	@touch $@
else ifneq ($(KERNEL_SRC),)
# A developer's tree is used as it is: no extraction, no series applied.
$(SRC_STAMP):
	@git -C $(SRC) rev-parse -q --verify base >/dev/null || { echo "KERNEL_SRC=$(SRC): not a git tree with a base tag"; exit 1; }
	@touch $@
else
# A series whose id differs from the stamp's (a patch deleted or renamed leaves the others' mtimes alone) re-applies.
$(SRC_STAMP): $(PATCHES) $(if $(filter-out $(SERIES_ID),$(shell cat $(SRC_STAMP) 2>/dev/null)),FORCE)
	@test -n "$(PATCHES)" || { echo "kernel-src: $(PATCH_DIR) holds no patches (series: $(ALL_KVERS))"; exit 1; }
	@test -f $(TARBALL) || { echo "kernel-src: $(TARBALL) is missing: run 'make deps'"; exit 1; }
	@if [ ! -d $(SRC)/.git ]; then \
		echo "kernel-src: extracting $(TARBALL)"; \
		rm -rf $(SRC) && mkdir -p $(dir $(SRC)) && tar -C $(dir $(SRC)) -xf $(TARBALL); \
		sed -i -e '\|^/\*$$|d' -e '\|^!/debian/$$|d' $(SRC)/.gitignore; \
		git -C $(SRC) init -q -b oreore; \
		git -C $(SRC) config gc.auto 0; \
		git -C $(SRC) add -A; \
		git -C $(SRC) $(GIT_ID) commit -q -m "Debian linux-source-$(KVER) $$(make -s -C $(SRC) kernelversion)"; \
		git -C $(SRC) tag base; \
	fi
	@if [ -n "$$(git -C $(SRC) status --porcelain --untracked-files=no)" ]; then \
		echo "kernel-src: $(SRC) has uncommitted changes; commit or drop them before the series is re-applied"; exit 1; fi
	@# A tree that already holds the series' result is left alone: rewriting its files would rebuild half the kernel.
	@want=$$(cd $(SRC) && export GIT_INDEX_FILE=$$(mktemp -u); git read-tree base && \
		git apply --cached $(abspath $(PATCHES)) && git write-tree; rm -f $$GIT_INDEX_FILE); \
	if [ "$$want" = "$$(git -C $(SRC) rev-parse 'HEAD^{tree}')" ]; then \
		echo "kernel-src: $(SRC) already holds kernel-patches/v$(KVER)"; \
	else \
		echo "kernel-src: applying kernel-patches/v$(KVER) ($(words $(PATCHES)) patches) on the base tag"; \
		git -C $(SRC) checkout -q -B oreore base; \
		git -C $(SRC) $(GIT_ID) am -q --committer-date-is-author-date $(abspath $(PATCHES)); \
	fi
	echo $(SERIES_ID) > $@
endif

# Writes the tree's commits since `base` back as the series: edit the tree, commit, `make vm-test`, `make patches`.
# The cover letter's subject and text come from $(COVER_TEXT) (first line: subject; the rest: body).
# Not on $(SRC_STAMP): a tree with commits beyond the exported series would be re-applied from the series, and the
# commits to export lost. The stamp is written afterwards: the tree holds the series it exported.
patches:
	@test -e $(SRC)/.git || { echo "patches: no tree at $(SRC): run make kernel-src KVER=$(KVER) first"; exit 1; }
	@if [ -n "$$(git -C $(SRC) status --porcelain --untracked-files=no)" ]; then \
		echo "patches: $(SRC) has uncommitted changes: commit them first"; exit 1; fi
	@test -f $(COVER_TEXT) || { echo "patches: $(COVER_TEXT) is missing: it holds the cover letter's subject and text"; exit 1; }
	@mkdir -p $(PATCH_DIR)
	rm -f $(PATCH_DIR)/*.patch
	@# The cover letter takes its author and date from the last patch, so that an unchanged series exports the same bytes.
	GIT_COMMITTER_DATE="$$(git -C $(SRC) log -1 --format=%aD)" git -C $(SRC) $(GIT_ID) format-patch -q --no-signature --cover-letter \
		-o $(abspath $(PATCH_DIR)) base..HEAD
	@sed -i -e "s|\*\*\* SUBJECT HERE \*\*\*|$$(head -n 1 $(COVER_TEXT))|" \
		-e '/\*\*\* BLURB HERE \*\*\*/{r /dev/stdin' -e 'd}' $(PATCH_DIR)/$(COVER) < <(tail -n +3 $(COVER_TEXT))
	@! grep -q '\*\*\* .* HERE \*\*\*' $(PATCH_DIR)/$(COVER) || { echo "patches: the cover letter still has a placeholder"; exit 1; }
	@cat $$(ls $(PATCH_DIR)/*.patch | grep -v /$(COVER)) | sha256sum | cut -c1-16 > $(SRC_STAMP)
	@echo "patches: $$(ls $(PATCH_DIR)/*.patch | grep -vc /$(COVER)) patches and $(COVER) in $(PATCH_DIR)"

# The edit -> export -> rebuild round trip, on a worktree of the tree: an edit committed there must appear in the
# exported series, and the series applied on base must give the edited tree exactly.
ROUNDTRIP := $(TOP)/$(BUILD)/roundtrip
patches-roundtrip: $(SRC_STAMP)
	@rm -rf $(ROUNDTRIP); git -C $(SRC) worktree prune
	@git -C $(SRC) worktree add -q --detach $(ROUNDTRIP)/tree HEAD
	@echo "/* patches-roundtrip $$$$ */" >> $(ROUNDTRIP)/tree/kernel/bpf/oreore.c
	@git -C $(ROUNDTRIP)/tree $(GIT_ID) commit -q -am "bpf: patches-roundtrip edit"
	@$(MAKE) -s patches KERNEL_SRC=$(ROUNDTRIP)/tree PATCH_DIR=$(ROUNDTRIP)/series
	@grep -q "^+/\* patches-roundtrip" $(ROUNDTRIP)/series/*.patch || { echo "patches-roundtrip: the edit is not in the series"; exit 1; }
	@grep '^Subject: \[PATCH 0*/[0-9]*\] ' $(ROUNDTRIP)/series/$(COVER) | grep -qF "] $$(head -n 1 $(COVER_TEXT))" || { echo "patches-roundtrip: the cover letter does not carry $(COVER_TEXT)'s subject"; exit 1; }
	@want=$$(git -C $(ROUNDTRIP)/tree rev-parse 'HEAD^{tree}'); \
	got=$$(cd $(SRC) && export GIT_INDEX_FILE=$$(mktemp -u); git read-tree base && \
		git apply --cached $$(ls $(ROUNDTRIP)/series/*.patch | grep -v /$(COVER)) && git write-tree; rm -f $$GIT_INDEX_FILE); \
	[ "$$got" = "$$want" ] || { echo "patches-roundtrip: the series rebuilds tree $$got, the edited tree is $$want"; exit 1; }
	@git -C $(SRC) worktree remove --force $(ROUNDTRIP)/tree; rm -rf $(ROUNDTRIP)
	@echo "patches-roundtrip: an edit survives export and rebuilds the same tree"

# --- kernel: tinyconfig + the fragment; make runs only when the tree or config changed ------------------------
# The target is a stamp written last: .config is rewritten in three steps, and a run interrupted between them
# (Ctrl-C) left a .config newer than its inputs that the next run took for a finished one (tinyconfig's, with
# modules off).
KCONFIG_DONE := $(KOUT)/.oreore-config-done
$(KCONFIG_DONE): $(FRAGMENTS) $(SRC_STAMP) | $(BIN)/kconfigcheck
	mkdir -p $(KOUT)
	@rm -f $@
	@# A new config rebuilds only what its changes touch: the last build's count says nothing of the next.
	@rm -f $(KOUT)/.oreore-units
	$(KMAKE) -s tinyconfig >/dev/null
	cd $(SRC) && scripts/kconfig/merge_config.sh -m -O $(KOUT) $(KOUT)/.config $(addprefix $(TOP)/,$(FRAGMENTS)) >/dev/null
	$(KMAKE) -s olddefconfig
	@# olddefconfig drops options whose dependencies are missing, and keeps selected ones, silently: say so.
	@# The base tree lacks the series' own options (TYPE_CONFIGS).
	@$(BIN)/kconfigcheck -config $(KOUT)/.config $(if $(BASE),-skip $(subst $(space),$(comma),$(TYPE_CONFIGS))) $(FRAGMENTS)
	@touch $@

# The key covers what the kernel is built from; an unchanged key skips kbuild's ~10 s no-op walk.
# The lines kbuild prints for a cold build of each series ("  CC  init/main.o"): progress's estimate until a build
# in $(KOUT) has recorded its own count (6.12 and 6.1-debug measured from cold builds, 6.1 derived).
KUNITS_6.1  := 1650
KUNITS_6.12 := 1775
KUNITS_7.3  := 1520
# quiet=quiet_: kbuild prints its "  CC file.o" lines, which progress counts, even under `make -s` (which would
# make kbuild silent: the baseline and bench call it so).
# The key is removed before kbuild runs: a build that fails or is interrupted has changed the build folder (its
# auto.conf, its objects), and the last good key must not vouch for it.
kernel_key = $$( { echo $(KGOALS) $(PROFILE_VARS); git -C $(SRC) rev-parse HEAD; git -C $(SRC) diff HEAD; \
	(cd $(SRC) && git ls-files -z --others --exclude-standard | xargs -0 -r sha256sum); cat $(KOUT)/.config; } | sha256sum)
# The key is written only if no file of the tree was written while kbuild ran: a rebase in the tree during a build
# put other contents under some objects and then the same contents back (6.1's vmlinux then held five `struct path`
# in its BTF, and two test_verifier cases failed), and a key written over them would have vouched for it for ever.
kernel: $(KCONFIG_DONE) $(BIN)/progress
	@$(NOT_DRY) key=$(kernel_key); \
	if [ -f $(BZIMAGE) ] && [ "$$key" = "$$(cat $(KOUT)/.oreore-key 2>/dev/null)" ]; then \
		echo "kernel: $(BZIMAGE) is up to date"; exit 0; fi; \
	echo "kernel: building $(BZIMAGE) (log: $(KOUT)/build.log)"; \
	rm -f $(KOUT)/.oreore-key; touch $(KOUT)/.oreore-build-start; \
	start=$$(date +%s); \
	if ! $(KMAKE) quiet=quiet_ -j$(KJOBS) $(KGOALS) 2>&1 | $(BIN)/progress -label kernel -log $(KOUT)/build.log -times $(KOUT)/build.times \
			-estimate $(KOUT)/.oreore-units -default-estimate $(or $(KUNITS_$(KVER)),0); then \
		grep -E 'error|Error' $(KOUT)/build.log | head -20; tail -30 $(KOUT)/build.log; \
		echo "kernel: build failed (full log: $(KOUT)/build.log)"; exit 1; fi; \
	$(BIN)/progress -record $(KOUT)/.oreore-units -log $(KOUT)/build.log; \
	touched=$$(find $(SRC)/ -path '*/.git' -prune -o -type f -newer $(KOUT)/.oreore-build-start -print -quit); \
	if [ -z "$$touched" ]; then echo "$$key" > $(KOUT)/.oreore-key; \
	else echo "kernel: $(SRC) was written while kbuild ran ($$touched): this build is not kept as current (the next make builds again)"; fi; \
	echo "kernel: built in $$(( $$(date +%s) - start )) s"

# --- module: built out of tree in a copy, so that kmod/ stays clean -------------------------------------------
# An out-of-tree build does not relink the .ko when vmlinux changes, but the .ko's BTF is split BTF on top of
# vmlinux's: a stale one makes insmod fail with EINVAL. So the key covers vmlinux's BTF (which pahole -j does not
# write twice the same: a rebuilt vmlinux relinks the modules), its exported symbols and config, and the sources;
# an unchanged key skips kbuild's walk (1.4 s), a changed one relinks.
# KMOD_SRC: the modules' sources (make bench's module loop edits a copy, never kmod/ itself).
KMOD_SRC ?= kmod
# (objcopy cannot write a section to a pipe: the dump goes through a file.)
kmod_key = $$( btf=$$(mktemp) && $(CROSS)objcopy --dump-section .BTF=$$btf $(KOUT)/vmlinux /dev/null && \
	{ cat $(KMOD_SRC)/* $$btf $(KOUT)/Module.symvers $(KOUT)/.config; echo $(PROFILE_VARS) $(MODULES); } | sha256sum; \
	rm -f $$btf)
kmod: kernel
	@$(NOT_DRY) key=$(kmod_key); \
	if ls $(KOS) >/dev/null 2>&1 && [ "$$key" = "$$(cat $(KMOD_OUT)/.oreore-key 2>/dev/null)" ]; then exit 0; fi; \
	rm -f $(KMOD_OUT)/.oreore-key $(KOS); mkdir -p $(KMOD_OUT); \
	echo "kmod: building $(MODULES) in $(KMOD_OUT)"; \
	rsync -a --checksum $(KMOD_SRC)/ $(KMOD_OUT)/ && \
	$(MAKE) -s -C $(KOUT) M=$(KMOD_OUT) $(KCROSS) CC="ccache $(CROSS)gcc" $(PROFILE_VARS) OREORE_MODULES="$(MODULES)" modules && \
	echo "$$key" > $(KMOD_OUT)/.oreore-key

# --- C programs: clang -target bpf, no libbpf at run time (its headers at build time) ---------------------------
# s390x is big-endian: its programs are built for bpfeb, in a folder of their own.
PROGRAMS_OUT := $(TOP)/$(BUILD)/programs$(if $(BPF_TARGET_$(ARCH)),-$(BPF_TARGET_$(ARCH)))
# Recursive (=), so that gcc is asked when a program is compiled: `make deps vm-test` installs gcc first.
BPF_CFLAGS    = -O2 -g -Wall -target $(or $(BPF_TARGET_$(ARCH)),bpf) -I/usr/include/$(shell gcc -dumpmachine)
PROGRAM_OBJS := $(patsubst programs/c/%.bpf.c,$(PROGRAMS_OUT)/%.bpf.o,$(wildcard programs/c/*.bpf.c)) \
	$(PROGRAMS_OUT)/xdp_map_drop_legacy.bpf.o $(PROGRAMS_OUT)/xdp_ipv6_drop_core_wrong.bpf.o

programs: $(PROGRAM_OBJS)
$(PROGRAMS_OUT)/%.bpf.o: programs/c/%.bpf.c
	@mkdir -p $(@D)
	clang $(BPF_CFLAGS) -c $< -o $@
$(PROGRAMS_OUT)/xdp_map_drop_legacy.bpf.o: programs/c/xdp_map_drop.bpf.c
	@mkdir -p $(@D)
	clang $(BPF_CFLAGS) -DLEGACY_MAPS -c $< -o $@
$(PROGRAMS_OUT)/xdp_ipv6_drop_core_wrong.bpf.o: programs/c/xdp_ipv6_drop_core.bpf.c
	@mkdir -p $(@D)
	clang $(BPF_CFLAGS) -DWRONG_LAYOUT -c $< -o $@

# --- guest binaries and the initramfs -------------------------------------------------------------------------
# The Go binaries (our commands, the guest's) are rebuilt when a file they may be built from is newer, as make
# decides for any file, without running go: GO_INPUTS is every file under harness/, vm/ and programs/ (embedded
# testdata included) and go.mod, go.sum. GO_STAMP holds the toolchain and the list of those files, and is rewritten
# only when one of them changes: a new Go, or a deleted or added file, rebuilds them too.
GO_INPUTS := go.mod go.sum $(shell find harness vm programs -type f -not -name '*.o' | LC_ALL=C sort)
GO_STAMP  := $(BUILD)/go.stamp
$(shell mkdir -p $(BUILD) && s="$$($(GO) env GOVERSION GOFLAGS; echo $(GO_INPUTS))" && \
	{ [ "$$s" = "$$(cat $(GO_STAMP) 2>/dev/null)" ] || echo "$$s" > $(GO_STAMP); })
$(BIN)/%: $(GO_INPUTS) $(GO_STAMP)
	@mkdir -p $(BIN)
	$(GO) build -o $@ ./vm/cmd/$*

# The guest runs two lanes of test binaries at once, one per CPU. The slot lane holds the suites that use a type's
# single attach slot or load and unload the modules, one after another: the families (every described type), each
# type's own tests (TYPE_TESTS, from the descriptors) and the fuzzer's regressions. The other lane holds the
# harness's own packages, which test its BPF library, ELF loader and XDP against the kernel.
# The kernel's own selftests (make selftests) run in both lanes: test_progs' tests of the types in the slot lane, the
# rest (test_verifier, test_progs' other tests) in the other. KERNEL_TESTS=0 leaves them out: the loop on our suites.
# SHORT=1 leaves the harness's own packages out too (they run on the host in make test, and in the full vm-test):
# under TCG the guest is CPU-bound, and the types' tests finish sooner alone.
# The alone lane runs after both have ended, by itself: its tests flip what is global (net.core.bpf_jit_enable).
KERNEL_TESTS ?= $(if $(SHORT),0,1)
KSELFTESTS := $(filter 1,$(KERNEL_TESTS))
SLOT_LANE  := families $(TYPE_TESTS) fuzz $(if $(KSELFTESTS),kselftest-slot)
OTHER_LANE := $(if $(SHORT),,bpf object xdp netns) $(if $(KSELFTESTS),kselftest-kernel)
ALONE_LANE := jitdiff
# The guest's test binaries, one per package (GUEST_PKG_<name>), built with the guest tag like every guest binary.
# The types' own (TYPE_TESTS) come with their packages from types.mk.
GUEST_PKG_families         := ./harness/families
GUEST_PKG_bpf              := ./harness/bpf
GUEST_PKG_object           := ./harness/object
GUEST_PKG_xdp              := ./harness/xdp
GUEST_PKG_netns            := ./harness/netns
GUEST_PKG_jitdiff          := ./harness/jitdiff
GUEST_PKG_kselftest-slot   := ./harness/kselftest/slot
GUEST_PKG_kselftest-kernel := ./harness/kselftest/kernel
$(GUEST)/%.test: $(GO_INPUTS) $(GO_STAMP)
	@mkdir -p $(@D)
	$(GUEST_TEST) -tags guest -o $@ $(GUEST_PKG_$*)
# Built for `go test -fuzz` (the Go fuzzer's instrumentation), which make fuzz runs; make vm-test runs its seeds and
# regressions once.
$(GUEST)/fuzz.test: $(GO_INPUTS) $(GO_STAMP)
	@mkdir -p $(@D)
	$(GO_GUEST) test -c $(GUEST_LDFLAGS) -fuzz='^FuzzSeries$$' -tags guest -o $@ ./harness/fuzz
$(GUEST)/guest-init $(GUEST)/oreore: $(GUEST)/%: $(GO_INPUTS) $(GO_STAMP)
	@mkdir -p $(@D)
	$(GO_GUEST) build $(GUEST_LDFLAGS) -o $@ ./harness/cmd/$*
$(GUEST)/test2json: $(GO_STAMP)
	@mkdir -p $(@D)
	$(GO_GUEST) build $(GUEST_LDFLAGS) -o $@ cmd/test2json

LANE_TESTS := $(foreach t,$(SLOT_LANE) $(OTHER_LANE) $(ALONE_LANE),$(GUEST)/$(t).test)
GUEST_BINS := $(GUEST)/guest-init $(GUEST)/test2json $(GUEST)/oreore $(LANE_TESTS)
MKINITRAMFS_ARGS = -init $(GUEST)/guest-init -test2json $(GUEST)/test2json \
	$(addprefix -module ,$(KOS)) -command $(GUEST)/oreore \
	$(foreach t,$(SLOT_LANE),-test slot=$(GUEST)/$(t).test) $(foreach t,$(OTHER_LANE),-test other=$(GUEST)/$(t).test) \
	$(foreach t,$(ALONE_LANE),-test alone=$(GUEST)/$(t).test) \
	$(addprefix -program ,$(PROGRAM_OBJS)) $(if $(KSELFTESTS),$(addprefix -selftest ,$(SELFTESTS_BIN) $(SELFTESTS_TESTMOD)))
INITRAMFS_FILES = $(GUEST_BINS) $(KOS) $(PROGRAM_OBJS) $(if $(KSELFTESTS),$(SELFTESTS_BIN) $(SELFTESTS_TESTMOD))
# The archive is rewritten when its arguments or one of its files changed (name, size, mtime): its bytes are
# reproducible, so this only spares the second it takes to write.
initramfs: kmod programs $(GUEST_BINS) $(BIN)/mkinitramfs $(if $(KSELFTESTS),selftests)
	@key=$$( { echo "$(MKINITRAMFS_ARGS)"; stat -c '%n %s %.9Y' $(INITRAMFS_FILES) $(BIN)/mkinitramfs; } | sha256sum); \
	if [ -f $(INITRAMFS) ] && [ "$$key" = "$$(cat $(INITRAMFS).key 2>/dev/null)" ]; then exit 0; fi; \
	rm -f $(INITRAMFS).key; \
	echo "$(BIN)/mkinitramfs -o $(INITRAMFS) $(MKINITRAMFS_ARGS)"; \
	$(BIN)/mkinitramfs -o $(INITRAMFS) $(MKINITRAMFS_ARGS) && echo "$$key" > $(INITRAMFS).key

# --- the main job ---------------------------------------------------------------------------------------------
# The runner's self-tests come first (misbehaving guests must get their verdict codes, or no verdict can be
# trusted); then the suites, whose verdict is the last thing printed.
# The runner's self-tests check the runner (verdict codes, vmrun, the shell), not the kernel change: vm-test runs
# them again only when the runner's sources or the flavor's kernel config changed since they last passed, and says
# so when it skips them. `make vm-selftest` always runs them; a fresh clone (CI) always does.
# The runner's sources are the folders of the packages its commands and self-tests are built from (go list, 0.1 s),
# the self-tests' own folder with its testdata, go.mod and go.sum: an edit elsewhere (the suites, make bench's
# command) does not re-run them.
RUNNER_PKGS := ./vm/cmd/vmtest ./vm/cmd/vmrun ./harness/cmd/guest-init ./vm/selftest/... \
	$(patsubst %/,./%,$(sort $(dir $(wildcard vm/selftest/testdata/*/*.go))))
# If go list fails, the whole of vm/ and harness/ stands for them (a self-test re-run, never a skipped one).
runner_src = $$( { $(GO) list -deps -test -tags vmselftest -f '{{if not .Standard}}{{.Dir}}{{end}}' $(RUNNER_PKGS) \
	|| printf "%s\n" $(TOP)/vm $(TOP)/harness; } | sed -n 's|^$(TOP)/||p' | sort -u ) vm/selftest go.mod go.sum
SELFTEST_STAMP := $(VMOUT)/selftest.pass
runner_key = $$( src="$(runner_src)"; { git ls-files -s $$src; git diff HEAD -- $$src; \
	git ls-files -z --others --exclude-standard $$src | xargs -0 -r cat; cat $(KOUT)/.config; } | sha256sum | cut -c1-16)

vm-selftest: initramfs shell-bin $(BIN)/vmrun
	@mkdir -p $(VMOUT); rm -f $(SELFTEST_STAMP)
	OREORE_BZIMAGE=$(BZIMAGE) OREORE_INITRAMFS=$(INITRAMFS) OREORE_SHELL_BIN=$(SHELL_BIN) OREORE_VMRUN=$(BIN)/vmrun \
		$(GO) test -count=1 -tags vmselftest ./vm/selftest/
	@echo $(runner_key) > $(SELFTEST_STAMP)

# A passing verdict stands while nothing it was reached from changed, as `go test` reuses a package's passing
# result: the kernel, the initramfs (module, harness, programs; its archive is reproducible), the runner, QEMU and
# the arguments. vm-test says so when it reuses one; FRESH=1 boots regardless. A failure is never reused.
# The runner on this flavor's kernel and initramfs; each use adds -out and the guest's arguments.
# The per-test watchdog: a test running longer has the guest dump its stacks (SysRq) and end the run (code 4).
# 4m: 7.3's test_verifier is one test of 80 s on an idle two-core machine, and took over 2m beside a kernel build.
TEST_TIMEOUT ?= $(if $(DEBUGGING),10m,4m)
# The debugging flags of vmtest and vmrun: the module's folder (lx-symbols, the vmcore's commands), gdb, panic_on_warn.
DEBUG_FLAGS = -kmod $(KMOD_OUT) $(if $(GDB),-gdb) $(if $(GDB_SCRIPT),-gdb-script $(abspath $(GDB_SCRIPT))) \
	$(if $(PANIC_ON_WARN),-panic-on-warn)
# The runner knows which test binaries the initramfs holds: one that never started fails the run (code 2).
comma := ,
space := $(subst ,, )
EXPECTED = $(subst $(space),$(comma),$(strip $(SLOT_LANE) $(OTHER_LANE) $(ALONE_LANE)))
VMTEST = $(BIN)/vmtest -arch $(ARCH) $(QEMU_FLAG) -kernel $(BZIMAGE) -initramfs $(INITRAMFS) -timeout $(TIMEOUT) -test-timeout $(TEST_TIMEOUT) -m $(MEMORY) -accel $(ACCEL) $(DEBUG_FLAGS) $(if $(TRACE),-trace) \
	-expect $(EXPECTED)
VERDICT_KEY := $(VMOUT)/verdict.key
verdict_key = $$( { sha256sum $(BZIMAGE) $(INITRAMFS) $(BIN)/vmtest | cut -c1-64; $(QEMU_BIN) --version; \
	echo "$(TIMEOUT) $(TEST_TIMEOUT) $(MEMORY) $(ACCEL) $(GUEST_APPEND) $(GUEST_TESTARGS) $(PANIC_ON_WARN) $(TRACE)"; } | sha256sum | cut -c1-16)

# The backported emulator (QEMU_BIN) is said missing before anything is built, not by QEMU's "no such file" at the end.
qemu-check:
	@$(if $(QEMU_BACKPORT_$(ARCH)),test -x $(QEMU_BIN) || { echo "ARCH=$(ARCH) runs QEMU from $(QEMU_BIN)$(comma) which is not \
		there: make deps ARCH=$(ARCH) fetches it (the host's computes wrong: QEMUBackport in vm/qemu/machine.go)"; exit 1; })

# The kernels the runner's self-tests pass on, and why not on the others (say it on every run).
RUNNER_KVERS := 6.1 6.12
RUNNER_NOT_7.3 := on 7.3, TRACE=1 with both lanes traced Oopses in the guest (RIP 0xcc0 from the module's bpf_store) \
	and gdb's breakpoints in the module never resolve: TRACE and GDB are for 6.1 and 6.12 until then
vm-test: qemu-check initramfs shell-bin $(BIN)/vmtest $(BIN)/vmrun
	@$(if $(OPS_ABSENT_$(KVER)),echo "vm-test: no struct_ops lane for $(OPS_ABSENT_$(KVER)) on $(KVER): a module can register struct_ops from Linux 6.9 on (register_bpf_struct_ops())")
	@$(if $(TYPE_ABSENT_$(KVER)),echo "vm-test: series $(KVER) does not carry $(TYPE_ABSENT_$(KVER)): make new-type found no room for it there")
	@$(if $(FOREIGN),echo "vm-test: ARCH=$(ARCH): the runner's self-tests run on x86_64 (make vm-selftest)"; exit 0;) \
	$(if $(filter $(KVER),$(RUNNER_KVERS)),,echo "vm-test: the runner's self-tests are not run on $(KVER) ($(RUNNER_NOT_$(KVER))); make vm-selftest KVER=$(KVER) runs them"; exit 0;) \
	if [ "$(runner_key)" = "$$(cat $(SELFTEST_STAMP) 2>/dev/null)" ]; then \
		echo "vm-test: runner self-tests not re-run: they passed at $$(date -r $(SELFTEST_STAMP) '+%F %T') and the runner's sources and kernel config are unchanged (make vm-selftest runs them)"; \
	else $(MAKE) -s vm-selftest; fi
	@key=$(verdict_key); \
	if [ -z "$(FRESH)$(GDB)$(GDB_SCRIPT)" ] && [ "$$key" = "$$(cat $(VERDICT_KEY) 2>/dev/null)" ]; then \
		echo "vm-test: kernel, initramfs, runner and QEMU are those of the run that passed at $$(date -r $(VERDICT_KEY) '+%F %T'): its verdict stands (FRESH=1 boots again; its report: $(VMOUT)/report.txt)"; \
		tail -n 2 $(VMOUT)/report.txt; exit 0; fi; \
	rm -f $(VERDICT_KEY); mkdir -p $(VMOUT); \
	echo "$(VMTEST) -out $(VMOUT) -append \"$(GUEST_APPEND)\" -- $$GUEST_TESTARGS"; \
	set -f; rc=0; $(VMTEST) -out $(VMOUT) -append "$(GUEST_APPEND)" -- $$GUEST_TESTARGS | tee $(VMOUT)/report.txt || rc=$$?; \
	[ $$rc -ne 0 ] || echo $$key > $(VERDICT_KEY); exit $$rc

# --- the kernel's own BPF tools and tests, built from the patched tree, static for the guest ----------------------
# All of test_progs is 500 (6.1) to 800 (6.12) BPF objects, minutes of clang on two cores: it is built from the
# tests that SELFTESTS names (prog_tests/NAME.c), in a copy of the tree made of symlinks whose prog_tests/ and
# progs/ hold only those tests and the BPF programs their skeletons include. The tree's own Makefile does the rest.
# test_progs' extra files (bpf_testmod.ko, urandom_read, ...) and the fixed lists of light and linked skeletons are
# left out: the tests that need them are not in SELFTESTS.
# feature-llvm=0: 6.12 would link the JIT disassembler with the host's LLVM 14, whose libz3 has no static library.
# 6.12's verifier suite (test_progs -t verifier, where test_verifier's cases moved) is not in the default: with our
# config 284 of its ~1400 cases fail (program types not built in; test_loader does not skip them as test_verifier
# does), and without a run on the base kernel those cannot be told from regressions. SELFTESTS='... verifier' runs it.
# The series' own tests (SERIES_SELFTESTS_<KVER>, from types.mk): each type's that the series carries, and libbpf_str
# (libbpf's names against the kernel's enums). They fail or skip on the base kernel by design and are never put on a
# known-failures list.
SELFTESTS   ?= $(SERIES_SELFTESTS_$(KVER))
BPF_CLANG   := clang-19
SELFTESTS_OUT  := $(TOP)/$(BUILD)/selftests-$(FLAVORED)
SELFTESTS_TREE := $(SELFTESTS_OUT)/tree
SELFTESTS_BPF  := tools/testing/selftests/bpf
# Stripped copies go into the guest.
SELFTESTS_BIN  := $(addprefix $(SELFTESTS_OUT)/guest/,test_progs test_verifier bpftool)
# test_progs (and from 6.12 test_verifier) loads the selftests' module, bpf_testmod.ko, from its working directory:
# the series' tests run their programs through its triggers. It is built against the kernel it is loaded into, in
# bpf_testmod/ (7.3: test_kmods/, whose Makefile builds the other test modules too unless told MODULES). Lazy: the
# tree may not be extracted when make starts.
SELFTESTS_TESTMOD := $(SELFTESTS_OUT)/guest/bpf_testmod.ko
TESTMOD_DIR = $(if $(wildcard $(SRC)/$(SELFTESTS_BPF)/test_kmods),test_kmods,bpf_testmod)
# Building bpf_testmod.ko alone in folder $(1) against build folder $(2) of source tree $(3): test_kmods/ takes the
# build folder as O= (KDIR the source tree), bpf_testmod/ as KDIR.
testmod_make = $(MAKE) -C $(1) $(KCROSS) CC="ccache $(CROSS)gcc" MODULES=bpf_testmod.ko \
	$(if $(filter test_kmods,$(TESTMOD_DIR)),KDIR=$(3) O=$(2),KDIR=$(2))
# Static linking without touching libbpf's shared library: lib.mk's USERCFLAGS/USERLDFLAGS reach the tests' own
# compiles and links only (test_progs and test_verifier link with CFLAGS, not always with LDFLAGS).
SELFTESTS_STATIC := USERCFLAGS=-static USERLDFLAGS=-static
SELFTESTS_MAKE = $(MAKE) -C $(SELFTESTS_TREE)/$(SELFTESTS_BPF) OUTPUT=$(SELFTESTS_OUT) VMLINUX_BTF=$(KOUT)/vmlinux \
	CLANG=$(BPF_CLANG) LLC=llc-19 LLVM_STRIP=llvm-strip-19 TRUNNER_EXTRA_FILES= LSKELS= LSKELS_SIGNED= LSKELS_EXTRA= LINKED_SKELS= LIBARENA_SKEL= LIBARENA_ASAN_SKEL= feature-llvm=0 \
	$(SELFTESTS_STATIC) $(SELFTESTS_CROSS) $(if $(XENDIAN),BPFTOOL=$(XENDIAN_BPFTOOL))
BPFTOOL_MAKE = $(MAKE) -C $(SELFTESTS_TREE)/tools/bpf/bpftool OUTPUT=$(SELFTESTS_OUT)/bpftool-static/ EXTRA_LDFLAGS=-static \
	$(if $(FOREIGN),$(SELFTESTS_CROSS) CLANG=$(BPF_CLANG) LLVM_STRIP=llvm-strip-19 feature-llvm=0 \
		VMLINUX_BTF=$(if $(filter bpfeb,$(BPF_TARGET_$(ARCH))),,$(KOUT)/vmlinux))

# On ARCH=arm64 and s390x the selftests are cross-built as BPF CI builds s390x's: kbuild's ARCH and CROSS_COMPILE,
# and a CC that carries the sysroot where make deps put the target's libelf, zlib and libzstd (CC, not USERCFLAGS:
# libbpf's own sub-make sees only CC). The Debian architecture is the machine's name. SKIP_CRYPTO: 7.3's signed
# loaders want the target's libcrypto, which the sysroot leaves out.
HOST_SUITE := $(shell . /etc/os-release 2>/dev/null && echo $$VERSION_CODENAME)
SYSROOT := $(TOP)/$(BUILD)/sysroot-$(ARCH)
SYSROOT_PACKAGES := libelf-dev libelf1 zlib1g-dev zlib1g libzstd-dev libzstd1
TRIPLE := $(patsubst %-,%,$(CROSS))
SELFTESTS_CROSS := $(if $(FOREIGN),ARCH=$(KARCH_$(ARCH)) CROSS_COMPILE=$(CROSS) HOSTCC=gcc SKIP_CRYPTO=1 \
	CC="$(CROSS)gcc -isystem $(SYSROOT)/usr/include -L$(SYSROOT)/usr/lib/$(TRIPLE) -Wl$(comma)-rpath-link$(comma)$(SYSROOT)/lib/$(TRIPLE)")
# 6.1's and 6.12's libbpf open only BPF objects of the host's byte order (bpf_object__check_endianness()); 7.3's
# opens and links either. A big-endian machine's skeletons on those series are made by 7.3's bootstrap bpftool.
SAME_ENDIAN_LIBBPF := 6.1 6.12
# A tree to build tree $(1)'s tools in, at $(2): tools/ is a copy made of symlinks (the tools' build writes and
# deletes files there, never in the tree), every other top-level entry a link.
tools_tree = rm -rf $(2) && mkdir -p $(2) && for e in $(1)/*; do [ "$${e\#\#*/}" = tools ] || ln -s $$e $(2)/; done && \
	cp -as $(1)/tools $(2)/tools
XENDIAN := $(and $(filter bpfeb,$(BPF_TARGET_$(ARCH))),$(filter $(KVER),$(SAME_ENDIAN_LIBBPF)))
XENDIAN_BPFTOOL := $(TOP)/$(BUILD)/bpftool-7.3/bootstrap/bpftool
$(XENDIAN_BPFTOOL):
	@$(MAKE) -s kernel-src KVER=7.3 ARCH=x86_64 FLAVOR=normal BASE= KERNEL_SRC=
	@echo "selftests: building 7.3's bpftool for the host: $(KVER)'s cannot link big-endian BPF objects"
	@$(call tools_tree,$(TOP)/$(BUILD)/src/linux-source-7.3,$(@D)/../tree)
	$(MAKE) -s -C $(@D)/../tree/tools/bpf/bpftool OUTPUT=$(abspath $(@D)/..)/ feature-llvm=0 bootstrap \
		> $(@D)/../build.log 2>&1 || { tail -20 $(@D)/../build.log; exit 1; }

# The key covers what the tools are built from: the tree's tools/ and the test list. A kernel edit elsewhere keeps
# them (their BPF programs are CO-RE, and test_verifier carries its own instructions).
selftests_key = $$( { git -C $(SRC) rev-parse HEAD; git -C $(SRC) diff HEAD -- tools; \
	(cd $(SRC) && git ls-files -z --others --exclude-standard tools | xargs -0 -r sha256sum); echo "$(SELFTESTS) $(BPF_CLANG) $(notdir $(SELFTESTS_TESTMOD))"; } | sha256sum)
selftests: kernel $(if $(XENDIAN),$(XENDIAN_BPFTOOL))
	@$(if $(FOREIGN),test -f $(SYSROOT)/usr/lib/$(TRIPLE)/libelf.a || \
		{ echo "selftests: no $(ARCH) sysroot in $(SYSROOT): run make deps ARCH=$(ARCH)"; exit 1; })
	@$(NOT_DRY) if [ -f $(SELFTESTS_OUT)/guest/test_verifier ] && [ "$(selftests_key)" = "$$(cat $(SELFTESTS_OUT)/.oreore-key 2>/dev/null)" ]; then \
		echo "selftests: $(SELFTESTS_OUT) is up to date"; exit 0; fi; \
	$(MAKE) -s selftests-build && rm -f $(SELFTESTS_TESTMOD) && echo "$(selftests_key)" > $(SELFTESTS_OUT)/.oreore-key
	@# bpf_testmod.ko's BTF is split BTF on top of vmlinux's, as for our module: a newer vmlinux rebuilds it, and so
	@# does a new tools/ (its source is there).
	@$(NOT_DRY) if [ -n "$(SELFTESTS_TESTMOD)" ] && { [ ! -f $(SELFTESTS_TESTMOD) ] || [ $(KOUT)/vmlinux -nt $(SELFTESTS_TESTMOD) ]; }; then \
		echo "selftests: building bpf_testmod.ko against $(KOUT)"; \
		rm -f $(SELFTESTS_TREE)/$(SELFTESTS_BPF)/$(TESTMOD_DIR)/bpf_testmod.ko; \
		$(call testmod_make,$(SELFTESTS_TREE)/$(SELFTESTS_BPF)/$(TESTMOD_DIR),$(KOUT),$(SRC)) -s >> $(SELFTESTS_OUT)/build.log 2>&1 \
			|| { tail -20 $(SELFTESTS_OUT)/build.log; exit 1; }; \
		cp $(SELFTESTS_TREE)/$(SELFTESTS_BPF)/$(TESTMOD_DIR)/bpf_testmod.ko $(SELFTESTS_TESTMOD); fi

# OUTPUT/bpftool is the selftests' own symlink to a bpftool of their build (on x86_64 the host's bootstrap one, which
# generates the skeletons): the static bpftool replaces the link, not the file it points to.
selftests-build: $(BIN)/progress
	@$(call tools_tree,$(SRC),$(SELFTESTS_TREE))
	@cd $(SELFTESTS_TREE)/$(SELFTESTS_BPF) && \
	keep=" $(addsuffix .c,$(SELFTESTS)) $$(sed -n -E 's/^#include "([a-z0-9_]+)\.(l|sub)?skel\.h".*/\1.c/p' $(addprefix prog_tests/,$(addsuffix .c,$(SELFTESTS))) | tr '\n' ' ')"; \
	for f in prog_tests/*.c progs/*.c; do case "$$keep" in *" $${f#*/} "*) ;; *) rm $$f;; esac; done; \
	echo "selftests: test_progs from $(words $(SELFTESTS)) tests ($(SELFTESTS)) and $$(ls progs/*.c | wc -l) BPF programs"
	@echo "selftests: building test_progs, test_verifier and bpftool from $(SRC) (log: $(SELFTESTS_OUT)/build.log)"
	@$(NOT_DRY) start=$$(date +%s); \
	if ! { $(SELFTESTS_MAKE) -j$$(nproc) test_progs test_verifier && mkdir -p $(SELFTESTS_OUT)/bpftool-static && \
		$(BPFTOOL_MAKE) -j$$(nproc); } 2>&1 | $(BIN)/progress -label selftests -log $(SELFTESTS_OUT)/build.log \
			-estimate $(SELFTESTS_OUT)/.oreore-units; then \
		grep -E 'error|Error' $(SELFTESTS_OUT)/build.log | head -20; \
		echo "selftests: build failed (full log: $(SELFTESTS_OUT)/build.log)"; exit 1; fi; \
	$(BIN)/progress -record $(SELFTESTS_OUT)/.oreore-units -log $(SELFTESTS_OUT)/build.log; \
	cp --remove-destination $(SELFTESTS_OUT)/bpftool-static/bpftool $(SELFTESTS_OUT)/bpftool; \
	mkdir -p $(SELFTESTS_OUT)/guest; \
	for b in $(notdir $(SELFTESTS_BIN)); do $(CROSS)strip -o $(SELFTESTS_OUT)/guest/$$b $(SELFTESTS_OUT)/$$b; \
		if readelf -l $(SELFTESTS_OUT)/$$b | grep -q INTERP; then \
			echo "selftests: $$b is linked dynamically: the guest has no libc"; exit 1; fi; done; \
	echo "selftests: built in $$(( $$(date +%s) - start )) s"

# --- known failures: the same selftests on the base kernel ------------------------------------------------------
# A failure of the kernel's selftests is a regression only if the test passes on the base kernel with the same
# config. This boots the base tree's kernel (BASE=1) with the selftests built from the patched tree and the kernel
# lane's tests (no module, none of our suites), and vm/cmd/baseline writes the tests that fail there into
# harness/kselftest/known/KVER-FLAVOR.txt (the series' own tests are never listed). Review the diff, then commit it.
BASE_INITRAMFS := $(GUEST)/initramfs-$(BASE_FLAVORED).cpio
BASE_VMOUT := $(TOP)/$(BUILD)/vm-$(BASE_FLAVORED)
BASE_KOUT := $(TOP)/$(BUILD)/kernel-$(BASE_FLAVORED)
# x86_64's lists have no machine in their name; arm64's and s390x's do (measured on their own base kernels).
KNOWN_LIST := harness/kselftest/known/$(KVER)-$(FLAVOR)$(if $(FOREIGN),-$(ARCH)).txt
selftests-baseline: qemu-check selftests $(BIN)/mkinitramfs $(BIN)/vmtest $(BIN)/baseline
	$(MAKE) -s kernel BASE=1
	@mkdir -p $(GUEST)
	$(GO_GUEST) build $(GUEST_LDFLAGS) -o $(GUEST)/guest-init ./harness/cmd/guest-init
	$(GO_GUEST) build $(GUEST_LDFLAGS) -o $(GUEST)/test2json cmd/test2json
	$(GUEST_TEST) -tags guest -o $(GUEST)/kselftest-kernel.test ./harness/kselftest/kernel
	@# bpf_testmod.ko's BTF is split BTF on top of its kernel's: the base kernel gets one built against it.
	$(if $(SELFTESTS_TESTMOD),rm -rf $(BASE_VMOUT)/bpf_testmod && \
		mkdir -p $(BASE_VMOUT)/bpf_testmod && cp -L $(SRC)/$(SELFTESTS_BPF)/$(TESTMOD_DIR)/Makefile $(SRC)/$(SELFTESTS_BPF)/$(TESTMOD_DIR)/*.[ch] $(BASE_VMOUT)/bpf_testmod/ && \
		$(call testmod_make,$(BASE_VMOUT)/bpf_testmod,$(BASE_KOUT),$(BASE_SRC)) -s)
	$(BIN)/mkinitramfs -o $(BASE_INITRAMFS) -init $(GUEST)/guest-init -test2json $(GUEST)/test2json \
		-test other=$(GUEST)/kselftest-kernel.test $(addprefix -selftest ,$(SELFTESTS_BIN)) \
		$(if $(SELFTESTS_TESTMOD),-selftest $(BASE_VMOUT)/bpf_testmod/bpf_testmod.ko)
	@mkdir -p $(BASE_VMOUT)
	@# Failing tests are what this run measures (code 1); a broken VM, a kernel report or a timeout is not a baseline.
	rc=0; $(BIN)/vmtest -arch $(ARCH) $(QEMU_FLAG) -kernel $(BASE_KOUT)/arch/$(KARCH_$(ARCH))/boot/$(KIMAGE_$(ARCH)) -initramfs $(BASE_INITRAMFS) \
		-timeout $(TIMEOUT) -test-timeout $(TEST_TIMEOUT) -m $(MEMORY) -accel $(ACCEL) -out $(BASE_VMOUT) \
		-append "oreore.baseline=1 $(GUEST_APPEND)" > $(BASE_VMOUT)/report.txt || rc=$$?; \
	tail -n 12 $(BASE_VMOUT)/report.txt; \
	[ $$rc -le 1 ] || { echo "selftests-baseline: the base kernel's run ended with code $$rc (report: $(BASE_VMOUT)/report.txt)"; exit 1; }
	@# The series' own tests on base: each must skip with its reason (kselftest/kernel's TestSeriesTestsSkipWithoutTheTypes).
	@grep -o 'series test skipped on base: [^"]*' $(BASE_VMOUT)/test-events.json | sed 's/\\n$$//' || \
		{ echo "selftests-baseline: no series test reported a skip (report: $(BASE_VMOUT)/report.txt)"; exit 1; }
	$(BIN)/baseline -events $(BASE_VMOUT)/test-events.json -list $(KNOWN_LIST) -series $(KVER) -flavor $(FLAVOR) -arch $(ARCH) \
		-own "$(SERIES_SELFTESTS)"
	@git --no-pager diff --stat -- $(KNOWN_LIST)

# --- the guest for a developer: one command, or a shell, instead of the suites ---------------------------------
# make vm-run CMD='oreore prog list' [FILES='host[:guest] ...']: exits with the command's status (125: no status).
RUN_OUT := $(TOP)/$(BUILD)/run-$(FLAVORED)
vm-run: qemu-check initramfs $(BIN)/vmrun
	@test -n "$(CMD)" || { echo "vm-run: say what to run, e.g. make vm-run CMD='oreore prog list'"; exit 64; }
	$(BIN)/vmrun -arch $(ARCH) $(QEMU_FLAG) -kernel $(BZIMAGE) -initramfs $(INITRAMFS) -out $(RUN_OUT) -accel $(ACCEL) $(DEBUG_FLAGS) \
		-append "$(GUEST_APPEND)" $(addprefix -file ,$(FILES)) -- $(CMD)

# u-root's shell and a few of its core commands, only in vm-shell's guest (they would slow every vm-test boot).
SHELL_BIN  := $(GUEST)/shell-bin
SHELL_CMDS := gosh ls cat dmesg ps grep
shell-bin: $(addprefix $(SHELL_BIN)/,$(SHELL_CMDS))
$(SHELL_BIN)/%: go.mod go.sum $(GO_STAMP)
	@mkdir -p $(@D)
	$(GO_GUEST) build -tags goshliner $(GUEST_LDFLAGS) -o $@ github.com/u-root/u-root/cmds/core/$*

# An interactive shell in the guest, on this terminal; `exit` ends the guest and QEMU.
vm-shell: qemu-check initramfs shell-bin $(BIN)/vmrun
	$(BIN)/vmrun -arch $(ARCH) $(QEMU_FLAG) -kernel $(BZIMAGE) -initramfs $(INITRAMFS) -out $(RUN_OUT) -accel $(ACCEL) $(DEBUG_FLAGS) \
		-append "$(GUEST_APPEND)" -bin $(SHELL_BIN) -shell

# The suites under gdb, on this terminal: the guest waits at start_kernel with the lx- commands and the module's
# symbols loaded (`break bpf_store`, `continue`); the console goes to $(VMOUT)-gdb/console.log.
vm-gdb: qemu-check initramfs $(BIN)/vmtest
	$(VMTEST) -out $(VMOUT)-gdb -append "$(GUEST_APPEND)" -gdb -- $$GUEST_TESTARGS

# Both flavors, as CI runs them.
vm-test-all:
	$(MAKE) vm-test FLAVOR=normal
	$(MAKE) vm-test FLAVOR=debug

# --- fuzzing: harness/fuzz's FuzzSeries under `go test -fuzz` in the guest, on the fuzz flavor's kernel: debug's
# (KASAN, lockdep, and KCOV on COVER_OBJECTS, whose coverage is the fuzzer's signal) without DEBUG_KOBJECT_RELEASE,
# whose delayed release made each module reload's rmmod take 3-8 s (kernel-patches/fuzz.config). vm/cmd/fuzz keeps the corpus in FUZZ_OUT/corpus, prints
# executions per second and the series' lines reached, and turns a kernel report into a minimised regression input
# in harness/fuzz/testdata. kmemleak is off: its periodic scan cut the executions tenfold under TCG.
DURATION ?= 10m
# How long Go's fuzzer may minimise each new input. Its default, 60s, left 37% of a 10-minute run's inputs to
# fuzzing and kept 19 new ones; with 5s a 5-minute run kept 53 (vm/README.md: Fuzzing the types' calls).
MINIMIZE ?= 5s
FUZZ_OUT := $(TOP)/$(BUILD)/fuzz-$(KVER)
fuzz:
	$(MAKE) fuzz-run FLAVOR=fuzz KERNEL_TESTS=0
fuzz-run: initramfs $(BIN)/vmrun $(BIN)/fuzz
	$(BIN)/fuzz -vmrun $(BIN)/vmrun -kernel $(BZIMAGE) -initramfs $(INITRAMFS) -kmod $(KMOD_OUT) -accel $(ACCEL) \
		-m $(MEMORY) -append "kmemleak=off" -out $(FUZZ_OUT) -src $(SRC) -duration $(DURATION) -minimize-time $(MINIMIZE)

# --- coverage of the series' code: gcov in the kernel, for the objects in COVER_OBJECTS ----------------------------
# The cover flavor's kernel and module (own build folders) run the suites; the guest sends the counters at the end
# and cover prints per-file line and branch figures of the series' lines and the module, then every line that
# never ran. Our suites only, unless KERNEL_TESTS=1 is given: the series' code is what they are there to reach.
vm-cover:
	$(MAKE) cover-run FLAVOR=cover KERNEL_TESTS=$(if $(filter command line,$(origin KERNEL_TESTS)),$(KERNEL_TESTS),0)

COUNTERS := $(VMOUT)/counters
cover-run: initramfs $(BIN)/vmtest $(BIN)/cover
	@mkdir -p $(VMOUT)
	set -f; rc=0; $(VMTEST) -out $(VMOUT) -append "$(GUEST_APPEND)" -cover $(COUNTERS) -- $$GUEST_TESTARGS > $(VMOUT)/report.txt || rc=$$?; \
	tail -n 4 $(VMOUT)/report.txt; \
	echo "vm-cover: the host's tests of the harness, with Go coverage ($(VMOUT)/host.cover)"; \
	$(HOST_TEST_ENV) $(GO) test -count=1 -coverpkg=$(GO_COVERPKG) -coverprofile=$(VMOUT)/host.cover ./harness/... > $(VMOUT)/host-tests.txt || \
		{ tail -20 $(VMOUT)/host-tests.txt; echo "vm-cover: the host's tests failed"; exit 1; }; \
	$(BIN)/cover -counters $(COUNTERS) -src $(SRC) -module $(KMOD_OUT)=kmod -lcov $(VMOUT)/lcov.info -html $(VMOUT)/html \
		-go-guest $(COUNTERS)/gocover -go-host $(VMOUT)/host.cover; \
	[ $$rc -eq 0 ] || echo "vm-cover: the suites did not pass (exit $$rc; report: $(VMOUT)/report.txt): the figures are of a failing run"; \
	exit $$rc

# --- figures: the loops, each with its breakdown step by step, printed, never asserted (vm/cmd/bench) ----------
# The edit loops change kernel/bpf/oreore.c in a worktree that mirrors the kernel tree (its HEAD and uncommitted
# edits: vm/cmd/benchtree), built in folders of its own under $(BENCH_BUILD): the developer's tree and build
# folders are never touched. LOOPS picks some of them (vm/cmd/bench says which there are); LOOPS=config, not in the
# default set, builds the kernel cold without each group of debugging options (about 30 minutes here).
BENCH := $(TOP)/$(BUILD)/bench
BENCH_TREE := $(BENCH)/tree
BENCH_BUILD := $(BUILD)/bench-build
LOOPS ?= full,fresh,boots,nochange,short,edit,edit-full,module,micro
bench: $(BIN)/bench $(BIN)/benchtree
	@$(BIN)/benchtree -src $(SRC) -tree $(BENCH_TREE)
	@$(BIN)/bench -make "$(MAKE)" -out $(BENCH) -tree $(BENCH_TREE) -tree-build $(BENCH_BUILD) -loops $(LOOPS) \
		-src $(SRC) -kconfig $(KOUT)/.config -kgoals "$(KGOALS)" -jobs $(KJOBS) \
		-kmod kmod -- \
		KVER=$(KVER) FLAVOR=$(FLAVOR) ACCEL=$(ACCEL)

# --- host-side tests ------------------------------------------------------------------------------------------
# The host's tests find the patched tree and the compiled C programs here (make test, vm-cover).
HOST_TEST_ENV = OREORE_KERNEL_SRC=$(SRC) OREORE_PROGRAMS=$(PROGRAMS_OUT)
test: $(SRC_STAMP) programs
	$(GO) vet ./...
	$(GO) vet -tags guest ./harness/...
	$(GO) vet -tags vmselftest ./vm/selftest/
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	@# The scaffold's test (vm/cmd/newtype) applies and builds in every series' tree.
	@for v in $(ALL_KVERS); do $(MAKE) -s kernel-src KVER=$$v || exit 1; done
	$(HOST_TEST_ENV) $(GO) test -count=1 ./...
	@for v in $(ALL_KVERS); do $(MAKE) -s checkpatch docs patches-roundtrip KVER=$$v || exit 1; done

# Each patch must build on its own: every prefix of the series is built in a worktree, in one build folder
# (so each step is incremental), with the normal flavor's config. Slow: a kernel build per patch.
SERIES_CHECK := $(TOP)/$(BUILD)/series-check
# make new-type NAME=foo: a new program type scaffolded from oreore's (harness/README.md: "Adding your own program type").
# KIND=struct_ops: a module's struct_ops type and kfunc set scaffolded from oreore_ops's (module, descriptor, tests).
KIND ?= program
new-type:
	@test -n "$(NAME)" || { echo "new-type: say which, e.g. make new-type NAME=foo [KIND=struct_ops]"; exit 64; }
	@$(if $(filter program,$(KIND)),for v in $(ALL_KVERS); do $(MAKE) -s kernel-src KVER=$$v || exit 1; done)
	$(GO) run ./vm/cmd/newtype -kind $(KIND) -name $(NAME)

series-build-check: $(KCONFIG_DONE)
	@rm -rf $(SERIES_CHECK)/src; git -C $(SRC) worktree prune
	git -C $(SRC) worktree add -q --detach $(SERIES_CHECK)/src base
	@mkdir -p $(SERIES_CHECK)/out
	@set -e; for c in $$(git -C $(SRC) rev-list --reverse base..HEAD); do \
		git -C $(SERIES_CHECK)/src checkout -q $$c; \
		cp $(KOUT)/.config $(SERIES_CHECK)/out/.config; \
		echo "series-build-check: $$(git -C $(SRC) log -1 --format=%s $$c)"; t0=$$(date +%s); \
		$(MAKE) -s -C $(SERIES_CHECK)/src O=$(SERIES_CHECK)/out CC="ccache gcc" olddefconfig >/dev/null; \
		$(MAKE) -C $(SERIES_CHECK)/src O=$(SERIES_CHECK)/out CC="ccache gcc" KBUILD_BUILD_TIMESTAMP=2026-01-01 \
			KBUILD_BUILD_USER=oreore KBUILD_BUILD_HOST=oreore -j$$(nproc) bzImage > $(SERIES_CHECK)/build.log 2>&1 \
			|| { tail -30 $(SERIES_CHECK)/build.log; echo "series-build-check: this patch does not build"; exit 1; }; \
		grep -E 'warning:' $(SERIES_CHECK)/build.log || true; \
		warned=$$(grep -E 'warning:' $(SERIES_CHECK)/build.log | grep -F "$$(git -C $(SRC) diff --name-only base $$c)" || true); \
		if [ -n "$$warned" ]; then echo "series-build-check: this patch builds with warnings in files the series touches"; exit 1; fi; \
		echo "series-build-check: built in $$(( $$(date +%s) - t0 )) s"; \
	done
	git -C $(SRC) worktree remove --force $(SERIES_CHECK)/src
	@echo "series-build-check: every prefix of kernel-patches/v$(KVER) builds"

# The BPF documentation of the patched tree, with Debian's Sphinx: a warning in a file that the series touches
# fails (the base tree has warnings of its own, which are left alone).
DOCS_OUT := $(TOP)/$(BUILD)/docs-$(KVER)
docs: $(SRC_STAMP)
	@mkdir -p $(DOCS_OUT)
	@PATH=/usr/bin:$$PATH $(MAKE) -s -C $(SRC) O=$(DOCS_OUT) SPHINXDIRS=bpf htmldocs > $(DOCS_OUT)/build.log 2>&1 || \
		{ tail -20 $(DOCS_OUT)/build.log; echo "docs: htmldocs failed (log: $(DOCS_OUT)/build.log)"; exit 1; }
	@touched=$$(git -C $(SRC) diff --name-only base HEAD -- Documentation); \
	warned=$$(for f in $$touched; do grep -F "$$f" $(DOCS_OUT)/build.log || true; done); \
	if [ -n "$$warned" ]; then echo "$$warned"; echo "docs: the series' documentation has warnings"; exit 1; fi; \
	echo "docs: $$(echo $$touched | wc -w) files of the series build without warnings: $(DOCS_OUT)/Documentation/output/bpf/index.html"

# Every patch, and every module of every series, must be clean for checkpatch --strict. spdxcheck wants Debian's python3.
ALL_MODULES := $(TYPE_MODULES) $(sort $(foreach v,$(ALL_KVERS),$(OPS_MODULES_$(v))))
checkpatch: $(SRC_STAMP)
	@cd $(SRC) && for p in $(abspath $(PATCHES)); do \
		PATH=/usr/bin:$$PATH scripts/checkpatch.pl --strict -q $$p || exit 1; \
	done
	@cd $(SRC) && for m in $(ALL_MODULES); do PATH=/usr/bin:$$PATH scripts/checkpatch.pl --strict -q -f $(TOP)/kmod/$$m.c || exit 1; done
	@echo "checkpatch: $(words $(PATCHES)) patches of $(PATCH_DIR) and kmod/{$(subst $(space),$(comma),$(ALL_MODULES))}.c are clean on $(KVER)"

clean:
	rm -rf $(BUILD)

FORCE:
