//go:build vmselftest

package selftest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"oreore/vm/gdb"
	"oreore/vm/verdict"
)

// watched is one vmtest run seen from outside, with the console streamed
// (-v), so that the self-test times events itself rather than trusting the
// runner's own figures.
type watched struct {
	code   verdict.Code
	out    string // all vmtest printed
	report string // what it printed after QEMU's end
	// seen is when each watched text first appeared in vmtest's output,
	// and exit when vmtest exited, from its start.
	seen map[string]time.Duration
	exit time.Duration
}

func (tl tools) watch(t *testing.T, name string, tests []string, vmFlags, texts []string) watched {
	t.Helper()
	cpio := tl.initramfs(t, name, "guest-init", tests)
	args := append([]string{"-kernel", tl.kernel, "-initramfs", cpio, "-out", filepath.Join(tl.dir, name), "-v"}, vmFlags...)
	cmd := exec.Command(filepath.Join(tl.dir, "vmtest"), args...)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	res := watched{seen: map[string]time.Duration{}}
	var out strings.Builder
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		out.WriteString(line)
		for _, text := range texts {
			if _, ok := res.seen[text]; !ok && strings.Contains(line, text) {
				res.seen[text] = time.Since(start)
			}
		}
		if err == io.EOF {
			break
		}
	}
	err = cmd.Wait()
	res.exit = time.Since(start)
	res.out = out.String()
	if _, after, ok := strings.Cut(res.out, "vm: ran under"); ok {
		res.report = after
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		res.code = verdict.Passed
	case errors.As(err, &exitErr):
		res.code = verdict.Code(exitErr.ExitCode())
	default:
		t.Fatalf("vmtest: %v\n%s", err, res.out)
	}
	return res
}

// dumpTook is how long the runner said the vmcore took to write: the dump
// is the price of a post-mortem, not of the verdict.
func (w watched) dumpTook(t *testing.T) time.Duration {
	t.Helper()
	m := regexp.MustCompile(`written in ([0-9.]+s)\)`).FindStringSubmatch(w.report)
	if m == nil {
		t.Fatalf("the report does not say how long the dump took:\n%s", w.report)
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (w watched) since(t *testing.T, text string) time.Duration {
	t.Helper()
	at, ok := w.seen[text]
	if !ok {
		t.Fatalf("vmtest never printed %q:\n%s", text, w.out)
	}
	return w.exit - at
}

// A test prints an Oops and blocks on the lock the "dead" holder kept: the
// runner ends the run on the report, with the whole report, within 15 s,
// not at the guest-wide timeout.
func TestOopsEndsTheRunFast(t *testing.T) {
	tl := setup(t)
	const event = "BUG: kernel NULL pointer dereference"
	w := tl.watch(t, "oops", []string{"oopssuite.test"}, []string{"-timeout", "3m"}, []string{event})
	if w.code != verdict.KernelSplat {
		t.Fatalf("exit %d, want %d (kernel splat)\n%s", w.code, verdict.KernelSplat, w.out)
	}
	took := w.since(t, event)
	t.Logf("Oops to vmtest's exit: %v (boot and all: %v)", took.Round(10*time.Millisecond), w.exit.Round(10*time.Millisecond))
	if took > 15*time.Second {
		t.Errorf("the verdict came %v after the Oops, want within 15s", took)
	}
	// The second half came a second after the first: the runner waited.
	for _, want := range []string{"running when the kernel report appeared: oopssuite.TestOopsesHoldingALock",
		"---[ end trace 0000000000000000 ]---", "oreore_write+0x6b/0x120", "a kernel report on the console at"} {
		if !strings.Contains(w.report, want) {
			t.Errorf("the report does not say %q:\n%s", want, w.report)
		}
	}
}

// A test crashes the kernel for real (SysRq c): the guest reboots at once,
// and the report names the test.
func TestKernelCrashNamesTheTest(t *testing.T) {
	tl := setup(t)
	const event = "Kernel panic - not syncing"
	w := tl.watch(t, "crash", []string{"crashsuite.test"}, []string{"-timeout", "3m"}, []string{event})
	if w.code != verdict.KernelSplat {
		t.Fatalf("exit %d, want %d (kernel splat)\n%s", w.code, verdict.KernelSplat, w.out)
	}
	took := w.since(t, event) - w.dumpTook(t)
	t.Logf("panic to vmtest's exit, less the dump: %v (boot and all: %v)", took.Round(10*time.Millisecond), w.exit.Round(10*time.Millisecond))
	if took > 15*time.Second {
		t.Errorf("the verdict came %v after the panic (less the dump's time), want within 15s", took)
	}
	for _, want := range []string{"sysrq triggered crash", "running when the kernel report appeared: crashsuite.TestCrashesTheKernel"} {
		if !strings.Contains(w.report, want) {
			t.Errorf("the report does not say %q:\n%s", want, w.report)
		}
	}

	// The panic left the guest's memory, the report says how to open it,
	// and a debugger finds the panic's message and its stack in it.
	vmcore := filepath.Join(tl.dir, "crash", "vmcore")
	if !strings.Contains(w.report, "its memory is in "+vmcore) || !strings.Contains(w.report, "crash ") || !strings.Contains(w.report, "drgn -c "+vmcore) {
		t.Fatalf("the report does not name the vmcore and the commands that open it:\n%s", w.report)
	}
	k, err := gdb.Find(tl.kernel, "")
	if err != nil {
		t.Fatal(err)
	}
	if why := unreadableHere(t, w.report, filepath.Join(tl.dir, "crash", "console.log")); why != "" {
		t.Skip(why)
	}
	tool, log, stack := readVmcore(t, k.Vmlinux(), vmcore)
	if !strings.Contains(log, "Kernel panic - not syncing: sysrq triggered crash") {
		t.Errorf("%s did not find the panic's message in the dump's log:\n%s", tool, log)
	}
	// The panicking task's stack reaches the write that asked for the
	// crash. The frames above it depend on the config: 6.1's normal kernel
	// shows panic and __handle_sysrq (sysrq_handle_crash tail-calls panic),
	// the debug kernel (PREEMPT, lockdep, no frame pointers) shows
	// lock_release instead, so only the syscall's frame is required.
	for _, fn := range []string{"write_sysrq_trigger"} {
		if !regexp.MustCompile(`\b` + fn + `\b`).MatchString(stack) {
			t.Errorf("%s's backtrace from the dump lacks %s:\n%s", tool, fn, stack)
		}
	}
}

// PANIC_ON_WARN: a real WARN (a module that WARNs on load: no config of
// ours has LKDTM) panics the guest under -panic-on-warn, and the dump's log
// holds the WARN and the panic it caused.
func TestPanicOnWarnLeavesADump(t *testing.T) {
	tl := setup(t)
	// bzImage is KOUT/arch/x86/boot/bzImage; the module builds against KOUT.
	kout := filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(tl.kernel))))
	mod := filepath.Join(tl.dir, "warnmod")
	if err := os.CopyFS(mod, os.DirFS("testdata/warnmod")); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("make", "-s", "-C", kout, "M="+mod, "modules")
	// Not the variables of the make that runs this test (KVER=..., its
	// jobserver): kbuild gets only what it is given here.
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); name != "MAKEFLAGS" && name != "MFLAGS" && name != "MAKELEVEL" {
			build.Env = append(build.Env, kv)
		}
	}
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the WARN module against %s: %v\n%s", kout, err, out)
	}
	cpio := tl.initramfs(t, "warn", "guest-init", nil, "-module", filepath.Join(mod, "oreore_warn.ko"))
	out, err := exec.Command(filepath.Join(tl.dir, "vmtest"), "-kernel", tl.kernel, "-initramfs", cpio,
		"-out", filepath.Join(tl.dir, "warn"), "-timeout", "3m", "-panic-on-warn").CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || verdict.Code(exitErr.ExitCode()) != verdict.KernelSplat {
		t.Fatalf("vmtest: %v, want exit %d (kernel splat)\n%s", err, verdict.KernelSplat, out)
	}
	vmcore := filepath.Join(tl.dir, "warn", "vmcore")
	if !strings.Contains(string(out), "its memory is in "+vmcore) {
		t.Fatalf("the report names no vmcore: the WARN did not panic, or the panic left no dump:\n%s", out)
	}
	k, err := gdb.Find(tl.kernel, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "panic_on_warn set") {
		t.Errorf("the report does not show the WARN's panic:\n%s", out)
	}
	if why := unreadableHere(t, string(out), filepath.Join(tl.dir, "warn", "console.log")); why != "" {
		t.Skip(why)
	}
	tool, log, _ := readVmcore(t, k.Vmlinux(), vmcore)
	for _, want := range []string{"oreore selftest: a deliberate WARN", "panic_on_warn set"} {
		if !strings.Contains(log, want) {
			t.Errorf("%s did not find %q in the dump's log:\n%s", tool, want, log)
		}
	}
}

// unreadableHere says why Debian 12's drgn and crash cannot read a dump
// that was written and named (checked before): a KASAN kernel's dump is
// kdump-zlib (qemu.AutoFormat), which they read only for 6.1. "" when they
// can.
func unreadableHere(t *testing.T, report, console string) string {
	t.Helper()
	if !strings.Contains(report, "(kdump-zlib,") {
		return ""
	}
	b, err := os.ReadFile(console)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Linux version (\d+\.\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s has no Linux version line", console)
	}
	if release := string(m[1]); release != "6.1" {
		return fmt.Sprintf("the vmcore of this KASAN kernel (Linux %s) is written and named, as kdump-zlib: an elf dump "+
			"would take minutes (QEMU walks the KASAN shadow), and Debian 12's drgn (0.0.22) and crash (8.0.2) "+
			"read a kdump-zlib dump of Linux 6.1 only", release)
	}
	return ""
}

// readVmcore has drgn, then crash, read the kernel's log and the panicking
// thread's stack out of a dump, and returns the first that could. drgn
// needs the dump's VMCOREINFO (the kernel writes it with CONFIG_PROC_KCORE
// or kexec); crash does without it.
func readVmcore(t *testing.T, vmlinux, vmcore string) (tool, log, stack string) {
	t.Helper()
	var failed []string
	if _, err := exec.LookPath("drgn"); err == nil {
		out, err := exec.Command("drgn", "-q", "-c", vmcore, "-s", vmlinux, "testdata/vmcore.py").CombinedOutput()
		if err == nil {
			log, stack, _ = strings.Cut(string(out), "=== stack ===")
			return "drgn", log, stack
		}
		failed = append(failed, fmt.Sprintf("drgn: %v\n%s", err, out))
	}
	if _, err := exec.LookPath("crash"); err == nil {
		// SLOB (6.1's tinyconfig) has no kmem_cache that crash knows.
		cmd := exec.Command("crash", "-s", "--no_kmem_cache", vmlinux, vmcore)
		cmd.Stdin = strings.NewReader("log | tail -n 150\necho === stack ===\nbt\nquit\n")
		out, err := cmd.CombinedOutput()
		if err == nil {
			log, stack, _ = strings.Cut(string(out), "=== stack ===")
			t.Logf("drgn could not read the dump; crash did:\n%s", strings.Join(failed, "\n"))
			return "crash", log, stack
		}
		failed = append(failed, fmt.Sprintf("crash: %v\n%s", err, out))
	}
	if failed == nil {
		t.Fatal("neither drgn nor crash is installed: run `make deps`")
	}
	t.Fatalf("no debugger read the dump:\n%s", strings.Join(failed, "\n"))
	return
}
