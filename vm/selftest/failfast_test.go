//go:build vmselftest

package selftest

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	took := w.since(t, event)
	t.Logf("panic to vmtest's exit: %v (boot and all: %v)", took.Round(10*time.Millisecond), w.exit.Round(10*time.Millisecond))
	if took > 15*time.Second {
		t.Errorf("the verdict came %v after the panic, want within 15s", took)
	}
	for _, want := range []string{"sysrq triggered crash", "running when the kernel report appeared: crashsuite.TestCrashesTheKernel"} {
		if !strings.Contains(w.report, want) {
			t.Errorf("the report does not say %q:\n%s", want, w.report)
		}
	}
}

// A test that sleeps forever: the guest's watchdog names it after the
// limit, the kernel's dump shows where it sleeps, and the verdict is a
// timeout, not a kernel report.
func TestWatchdogNamesTheSleepingTest(t *testing.T) {
	tl := setup(t)
	const limit = 5 * time.Second
	const started, fired = "oreore-init: running sleepsuite", "oreore-init: watchdog:"
	w := tl.watch(t, "sleep", []string{"sleepsuite.test"}, []string{"-timeout", "3m", "-test-timeout", limit.String()},
		[]string{started, fired})
	if w.code != verdict.TimedOut {
		t.Fatalf("exit %d, want %d (timeout)\n%s", w.code, verdict.TimedOut, w.out)
	}
	total, afterDump := w.since(t, started), w.since(t, fired)
	t.Logf("suite start to vmtest's exit: %v for a %v limit; watchdog to exit: %v", total.Round(10*time.Millisecond), limit,
		afterDump.Round(10*time.Millisecond))
	if total > limit+10*time.Second {
		t.Errorf("the verdict came %v after the suite started, want within the %v limit and 10s", total, limit)
	}
	for _, want := range []string{"watchdog: sleepsuite.TestSleepsForever has run for", "task:sleepsuite.test", "nanosleep",
		"sysrq: Show Blocked State", "sysrq: Show State"} {
		if !strings.Contains(w.report, want) {
			t.Errorf("the report does not say %q:\n%s", want, w.report)
		}
	}
	if strings.Contains(w.report, "kernel report at") {
		t.Errorf("the stack dump was taken for a kernel report:\n%s", w.report)
	}
}
