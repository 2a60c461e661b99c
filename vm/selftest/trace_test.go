//go:build vmselftest

package selftest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"oreore/vm/gdb"
	"oreore/vm/verdict"
)

// With -trace, a failing test's trace is kept in the trace folder, named
// under its failure, and holds the module's write handler and the series'
// function it calls; the other lane, running the same functions at the
// same time, stays out of it.
func TestFailingTestKeepsItsTrace(t *testing.T) {
	tl := setup(t)
	k, err := gdb.Find(tl.kernel, "")
	if err != nil {
		t.Fatal(err)
	}
	cpio := filepath.Join(tl.dir, "trace.cpio")
	out := filepath.Join(tl.dir, "trace")
	mk := exec.Command(filepath.Join(tl.dir, "mkinitramfs"), "-o", cpio, "-init", filepath.Join(tl.dir, "guest-init"),
		"-test2json", filepath.Join(tl.dir, "test2json"), "-module", filepath.Join(k.Modules, "oreore.ko"),
		"-test", "slot="+filepath.Join(tl.dir, "tracefail.test"), "-test", "other="+filepath.Join(tl.dir, "noisy.test"))
	if b, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("mkinitramfs: %v\n%s", err, b)
	}
	b, err := exec.Command(filepath.Join(tl.dir, "vmtest"), "-kernel", tl.kernel, "-initramfs", cpio, "-out", out,
		"-timeout", "3m", "-trace").CombinedOutput()
	report := string(b)
	if code := exitCode(t, err); code != verdict.TestFailed {
		t.Fatalf("exit %d, want %d (a test failed)\n%s", code, verdict.TestFailed, report)
	}
	file := filepath.Join(out, "trace", "tracefail.TestWritesTheSlotAndFails.txt")
	if want := "trace of tracefail.TestWritesTheSlotAndFails: " + file; !strings.Contains(report, want) {
		t.Errorf("the report does not say %q:\n%s", want, report)
	}
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the failing test's trace: %v\n%s", err, report)
	}
	t.Logf("%s:\n%s", file, text)
	for _, fn := range []string{"bpf_store", "bpf_oreore_run", "oreore-init: fail tracefail.TestWritesTheSlotAndFails"} {
		if !strings.Contains(string(text), fn) {
			t.Errorf("the trace lacks %s:\n%s", fn, text)
		}
	}
	if strings.Contains(string(text), "noisy") {
		t.Errorf("the other lane's calls are in the trace:\n%s", text)
	}
	if traces, _ := filepath.Glob(filepath.Join(out, "trace", "*")); len(traces) != 1 {
		t.Errorf("trace files %q, want the failing test's alone", traces)
	}
}

// exitCode is vmtest's exit status as a verdict.
func exitCode(t *testing.T, err error) verdict.Code {
	t.Helper()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return verdict.Passed
	case errors.As(err, &exitErr):
		return verdict.Code(exitErr.ExitCode())
	}
	t.Fatalf("vmtest: %v", err)
	return 0
}
