package gdb

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A build laid out as the Makefile lays it out: build/kernel-6.1 (O=, with
// its source link), build/kmod-6.1 beside it.
func fakeBuild(t *testing.T) (bzImage, src, kmod string) {
	t.Helper()
	top := t.TempDir()
	src = filepath.Join(top, "src", "linux-source-6.1")
	kout := filepath.Join(top, "kernel-6.1")
	kmod = filepath.Join(top, "kmod-6.1")
	for _, d := range []string{src, filepath.Join(kout, "arch/x86/boot"), kmod} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(kout, "vmlinux"), filepath.Join(kout, "arch/x86/boot/bzImage"), filepath.Join(kmod, "oreore.ko")} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(src, filepath.Join(kout, "source")); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(kout, "arch/x86/boot/bzImage"), src, kmod
}

func TestFindFollowsTheMakefilesLayout(t *testing.T) {
	bz, src, kmod := fakeBuild(t)
	k, err := Find(bz, "")
	if err != nil {
		t.Fatal(err)
	}
	if k.Build != filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(bz)))) || k.Source != src || k.Modules != kmod {
		t.Errorf("found %+v; want the build folder, %s and %s", k, src, kmod)
	}
	if k, _ := Find(bz, "/elsewhere/not-there"); k.Modules != "" {
		t.Errorf("a module folder that does not exist was kept: %q", k.Modules)
	}
	if _, err := Find(filepath.Join(t.TempDir(), "arch/x86/boot/bzImage"), ""); err == nil {
		t.Error("a bzImage without vmlinux beside it was accepted")
	}
}

// The order matters: the scripts are auto-loaded with vmlinux (after the
// safe path), the target is attached before breaking, and lx-symbols reads
// the module list only once the kernel runs with its page tables.
func TestCommandsLoadEverythingBeforeTheGuestRuns(t *testing.T) {
	bz, src, kmod := fakeBuild(t)
	k, err := Find(bz, "")
	if err != nil {
		t.Fatal(err)
	}
	cmds := k.Commands(41234)
	at := func(prefix string) int {
		t.Helper()
		i := slices.IndexFunc(cmds, func(c string) bool { return strings.HasPrefix(c, prefix) })
		if i < 0 {
			t.Fatalf("no %q in %q", prefix, cmds)
		}
		return i
	}
	safe, file, target, brk, cont, syms := at("add-auto-load-safe-path "+k.Build), at("file "+k.Vmlinux()),
		at("target remote 127.0.0.1:41234"), at("thbreak start_kernel"), at("continue"), at("lx-symbols "+kmod)
	if !(safe < file && file < target && target < brk && brk < cont && cont < syms) {
		t.Errorf("commands out of order: %q", cmds)
	}
	at("directory " + src)
	at("set breakpoint pending on")

	batch := strings.Join(k.Args(41234, "t.gdb"), " ")
	if !strings.HasPrefix(batch, "-batch -nx -q ") || !strings.HasSuffix(batch, " -x t.gdb") {
		t.Errorf("batch arguments: %s", batch)
	}
	if interactive := k.Args(41234, ""); slices.Contains(interactive, "-batch") {
		t.Errorf("interactive arguments in batch mode: %q", interactive)
	}
}

func TestCommandLineQuotesForTheShell(t *testing.T) {
	got := CommandLine([]string{"-q", "-ex", "target remote 127.0.0.1:1", "-ex", "echo it's"})
	want := `gdb -q -ex 'target remote 127.0.0.1:1' -ex 'echo it'\''s'`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestFreePortIsFree(t *testing.T) {
	p, err := FreePort()
	if err != nil || p <= 0 || p > 65535 {
		t.Fatalf("port %d, %v", p, err)
	}
}
