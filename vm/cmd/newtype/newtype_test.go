package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The scaffold of a throwaway type, in each series that has room for it:
// it applies with git am after the series (the tree's HEAD, as make
// kernel-src leaves it), continues its numbering, and every patch passes
// checkpatch --strict; in the newest such series, the kernel's BPF objects
// that the series touches compile with the type built in (a full worktree
// and kbuild's prepare cost about three minutes a series here). A series
// without room (7.3: a 65th attach type) gets no patches and no option.
// Its descriptor and module are renamed from oreore's.
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
	if err != nil || !strings.Contains(string(desc), `ProgTypeEnum:   "BPF_PROG_TYPE_ZZZ"`) || strings.Contains(string(desc), "oreore") ||
		!strings.Contains(string(desc), "Register(Zzz)") {
		t.Errorf("the descriptor is not oreore's renamed, adding itself to All (%v):\n%s", err, desc)
	}
	numbers, err := os.ReadFile(filepath.Join(out, "harness", "progtype", "numbers_gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	var series []string
	all, _ := filepath.Glob("../../../kernel-patches/v*")
	for _, dir := range all {
		kver := strings.TrimPrefix(filepath.Base(dir), "v")
		why, err := room(filepath.Join("../../../build/src", "linux-source-"+kver))
		if err != nil {
			t.Fatal(err)
		}
		got := filepath.Join(out, "kernel-patches", "v"+kver)
		frag, _ := os.ReadFile(filepath.Join(out, "kernel-patches", "oreore-"+kver+".config"))
		_, statErr := os.Stat(got)
		switch {
		case why != "" && (statErr == nil || len(frag) > 0):
			t.Errorf("%s has no room for another type (%s), yet has patches or an option for zzz", kver, why)
		case why == "" && !strings.Contains(string(frag), "\nCONFIG_BPF_ZZZ=y\n"):
			t.Errorf("%s: the series' fragment does not ask for CONFIG_BPF_ZZZ:\n%s", kver, frag)
		case why == "":
			series = append(series, got)
		}
		// numbers_gen.go: the series' numbers, and the new type's where
		// it is stacked, one past the series' last program type.
		block := string(numbers)
		if i := strings.Index(block, fmt.Sprintf("%q: {", kver)); i >= 0 {
			block, _, _ = strings.Cut(block[i:], "},")
		}
		last := 0
		for _, m := range regexp.MustCompile(`"BPF_PROG_TYPE_(\w+)":\s+(\d+)`).FindAllStringSubmatch(block, -1) {
			if m[1] != "ZZZ" && atoi(m[2]) > last {
				last = atoi(m[2])
			}
		}
		zzz := regexp.MustCompile(`"BPF_PROG_TYPE_ZZZ":\s+(\d+)`).FindStringSubmatch(block)
		switch {
		case last == 0:
			t.Errorf("numbers_gen.go has no program type of the series in %s:\n%s", kver, block)
		case why != "" && zzz != nil, why == "" && (zzz == nil || atoi(zzz[1]) != last+1):
			t.Errorf("numbers_gen.go's %s: zzz %v, the series' last program type %d (room: %q)", kver, zzz, last, why)
		case why == "":
			// The cover letter states them, as make test's
			// TestCoverLettersStateTheNumbers wants of a series.
			letter, _ := os.ReadFile(filepath.Join(got, "cover-letter.txt"))
			if want := "BPF_PROG_TYPE_ZZZ = " + zzz[1]; !strings.Contains(strings.Join(strings.Fields(string(letter)), " "), want) {
				t.Errorf("%s: the cover letter's paragraph does not say %q:\n%s", kver, want, letter)
			}
		}
	}
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
	own, err := seriesPatches(filepath.Join("../../../kernel-patches", "v"+kver), newRenamer("zzz"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%04d-", own+1); !strings.HasPrefix(filepath.Base(patches[0]), want) {
		t.Errorf("the first patch is %s: want the series' numbering continued (%s...)", filepath.Base(patches[0]), want)
	}
	// No patch brings oreore's name: its message names none, and its
	// changed lines name it as often as the lines they replace (context
	// and changed lines of a list are the series', which names oreore).
	for _, p := range patches {
		b, _ := os.ReadFile(p)
		message, diff, _ := strings.Cut(string(b), "\n---\n")
		if strings.Contains(strings.ToLower(message), "oreore") {
			t.Errorf("%s's message names oreore:\n%s", filepath.Base(p), message)
		}
		added, removed := 0, 0
		for _, l := range strings.Split(diff, "\n") {
			n := strings.Count(strings.ToLower(l), "oreore")
			switch {
			case strings.HasPrefix(l, "+++ "), strings.HasPrefix(l, "--- "):
			case strings.HasPrefix(l, "+"):
				added += n
			case strings.HasPrefix(l, "-"):
				removed += n
			}
		}
		if added != removed {
			t.Errorf("%s adds oreore %d times and removes it %d times", filepath.Base(p), added, removed)
		}
	}

	// Without the build, a sparse worktree: the files the series touches
	// and what checkpatch reads.
	wt := filepath.Join(t.TempDir(), "tree")
	if build {
		run(t, tree, "git", "worktree", "add", "-q", "--detach", wt, "HEAD")
	} else {
		run(t, tree, "git", "worktree", "add", "-q", "--no-checkout", "--detach", wt, "HEAD")
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
	if _, err := os.Stat(filepath.Join(wt, "kernel/bpf/token.c")); err == nil {
		objs = append(objs, "kernel/bpf/token.o") // its masks hold 64 types at most
	}
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

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
