package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The scaffold of a throwaway type, in each series: it applies to the base
// tree with git am and every patch passes checkpatch --strict; in the
// newest series, the kernel's BPF objects that the series touches compile
// with the type built in (a full worktree and kbuild's prepare cost about
// three minutes a series here, and the older series' own build is
// checked by make series-build-check). Its descriptor and module are
// renamed from oreore's.
func TestScaffoldAppliesChecksAndBuilds(t *testing.T) {
	out := t.TempDir()
	c := config{name: "zzz", patches: "../../../kernel-patches", trees: "../../../build/src", out: out, repo: "../../.."}
	if err := c.run(); err != nil {
		t.Fatal(err)
	}
	// The struct_ops kind beside it: its module compiles in the newest
	// series' tree (a module registers struct_ops from 6.9 on).
	if err := c.structOps(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"kmod/zzz_ops.c", "harness/progtype/zzz_ops.go", "harness/zzzops/zzzops_test.go"} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil || strings.Contains(strings.ToLower(string(b)), "oreore") {
			t.Errorf("%s: %v, or it still names oreore", f, err)
		}
	}
	if desc, _ := os.ReadFile(filepath.Join(out, "harness/progtype/zzz_ops.go")); !strings.Contains(string(desc), `Module: "zzz_ops"`) ||
		!strings.Contains(string(desc), "AllStructOps = append(AllStructOps, &ZzzOps)") {
		t.Errorf("the struct_ops descriptor is not oreore_ops's renamed, registering itself:\n%s", desc)
	}
	desc, err := os.ReadFile(filepath.Join(out, "harness", "progtype", "zzz.go"))
	if err != nil || !strings.Contains(string(desc), `ProgTypeEnum:   "BPF_PROG_TYPE_ZZZ"`) || strings.Contains(string(desc), "oreore") {
		t.Errorf("the descriptor is not oreore's renamed (%v):\n%s", err, desc)
	}
	series, _ := filepath.Glob(filepath.Join(out, "kernel-patches", "new-types", "zzz", "v*"))
	if len(series) == 0 {
		t.Fatal("no series scaffolded")
	}
	sort.Slice(series, func(i, j int) bool { return kernelOrder(series[i]) < kernelOrder(series[j]) })
	for i, dir := range series {
		kver := strings.TrimPrefix(filepath.Base(dir), "v")
		build := i == len(series)-1
		t.Run(kver, func(t *testing.T) { checkSeries(t, kver, dir, filepath.Join(out, "kmod"), build) })
	}
}

// kernelOrder sorts "v6.1" before "v6.12".
func kernelOrder(dir string) int {
	var major, minor int
	fmt.Sscanf(strings.TrimPrefix(filepath.Base(dir), "v"), "%d.%d", &major, &minor)
	return major*1000 + minor
}

func checkSeries(t *testing.T, kver, dir, kmod string, build bool) {
	module, opsModule := filepath.Join(kmod, "zzz.c"), filepath.Join(kmod, "zzz_ops.c")
	tree, err := filepath.Abs(filepath.Join("../../../build/src", "linux-source-"+kver))
	if err != nil {
		t.Fatal(err)
	}
	patches, _ := filepath.Glob(filepath.Join(dir, "*.patch"))
	if len(patches) == 0 {
		t.Fatalf("%s: no patches", dir)
	}
	for _, p := range patches {
		if b, _ := os.ReadFile(p); strings.Contains(strings.ToLower(string(b)), "oreore") {
			t.Errorf("%s still names oreore", filepath.Base(p))
		}
	}

	// Without the build, a sparse worktree: the files the series touches
	// and what checkpatch reads.
	wt := filepath.Join(t.TempDir(), "tree")
	if build {
		run(t, tree, "git", "worktree", "add", "-q", "--detach", wt, "base")
	} else {
		run(t, tree, "git", "worktree", "add", "-q", "--no-checkout", "--detach", wt, "base")
		files, err := touched(patches, newRenamer("zzz"))
		if err != nil {
			t.Fatal(err)
		}
		// checkpatch looks for these to know it is at a tree's top.
		top := []string{"/scripts/", "/LICENSES/", "/COPYING", "/CREDITS", "/Kbuild", "/MAINTAINERS", "/Makefile", "/README",
			"/Documentation/Makefile", "/arch/Kconfig", "/include/Kbuild", "/drivers/Kconfig", "/fs/Kconfig", "/init/Kconfig",
			"/ipc/Makefile", "/kernel/Makefile", "/lib/Kconfig"}
		run(t, wt, "git", append(append([]string{"sparse-checkout", "set", "--no-cone"}, top...), files...)...)
		run(t, wt, "git", "checkout", "-q")
	}
	t.Cleanup(func() { exec.Command("git", "-C", tree, "worktree", "remove", "--force", wt).Run() })
	run(t, wt, "git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.org", "am", "-q"}, patches...)...)

	// checkpatch needs Debian's python3 with ply, first in PATH (as make checkpatch has it).
	env := append(os.Environ(), "PATH=/usr/bin:"+os.Getenv("PATH"))
	for _, p := range append(patches, module, opsModule) {
		args := []string{"--strict", "-q", p}
		if p == module || p == opsModule {
			args = []string{"--strict", "-q", "-f", p}
		}
		cmd := exec.Command(filepath.Join(wt, "scripts", "checkpatch.pl"), args...)
		cmd.Dir, cmd.Env = wt, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("checkpatch %s: %v\n%s", filepath.Base(p), err, out)
		}
	}

	if !build {
		return
	}
	// The config the harness builds with, and the new type.
	kout := filepath.Join(t.TempDir(), "out")
	kmake := []string{"-C", wt, "O=" + kout, "CC=ccache gcc", "HOSTCC=ccache gcc", "-s"}
	run(t, wt, "make", append(kmake, "tinyconfig")...)
	frag := filepath.Join(t.TempDir(), "zzz.config")
	if err := os.WriteFile(frag, []byte("CONFIG_BPF_ZZZ=y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	oreoreConfig, _ := filepath.Abs("../../../kernel-patches/oreore.config")
	run(t, wt, "scripts/kconfig/merge_config.sh", "-m", "-O", kout, filepath.Join(kout, ".config"), oreoreConfig, frag)
	run(t, wt, "make", append(kmake, "olddefconfig")...)
	if cfg, _ := os.ReadFile(filepath.Join(kout, ".config")); !strings.Contains(string(cfg), "\nCONFIG_BPF_ZZZ=y\n") {
		t.Fatal("olddefconfig dropped CONFIG_BPF_ZZZ")
	}
	objs := []string{"kernel/bpf/zzz.o", "kernel/bpf/syscall.o", "kernel/bpf/btf.o", "kernel/bpf/verifier.o", "net/bpf/test_run.o"}
	run(t, wt, "make", append(append(kmake, "-j"+strconv.Itoa(runtime.NumCPU())), objs...)...)
	// The struct_ops module, against the same prepared tree.
	mod := t.TempDir()
	src, err := os.ReadFile(opsModule)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(mod, "zzz_ops.c"), src, 0o644)
	os.WriteFile(filepath.Join(mod, "Kbuild"), []byte("obj-m := zzz_ops.o\n"), 0o644)
	run(t, wt, "make", append(kmake, "M="+mod, "zzz_ops.o")...)
}

func run(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
