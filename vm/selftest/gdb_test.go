//go:build vmselftest

package selftest

import (
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"oreore/vm/gdb"
)

// gdb in batch mode attaches to the held guest, breaks in the prog type's
// is_valid_access (the verifier, at load) and in the module's store (the
// write that runs the program), and reads the guest's log: each backtrace
// names its function at file:line in the patched tree or the module's
// folder, the module's symbols come from its .ko, and the guest then runs
// the command to its end.
func TestGDBBreaksInTheSeriesAndTheModule(t *testing.T) {
	vmrun, kernel, initramfs, _ := vmrunEnv(t)
	k, err := gdb.Find(kernel, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Check(); err != nil {
		t.Fatal(err)
	}
	if k.Source == "" || k.Modules == "" {
		t.Fatalf("the kernel's build folder has no source link or no module folder beside it: %+v", k)
	}
	dir := t.TempDir()
	goBuild(t, dir, "build", "-o", "gdbpoke", "./testdata/gdbpoke")
	script, _ := filepath.Abs("testdata/gdb/break.gdb")
	start := time.Now()
	out, err := exec.Command(vmrun, "-kernel", kernel, "-initramfs", initramfs, "-out", filepath.Join(dir, "out"), "-timeout", "5m",
		"-gdb-script", script, "--", filepath.Join(dir, "gdbpoke")).CombinedOutput()
	t.Logf("vmrun under gdb: %v", time.Since(start).Round(100*time.Millisecond))
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("vmrun: %v\n%s", err, out)
	}
	if err != nil {
		t.Errorf("vmrun exited %d, want 0: the guest did not run the command to its end after gdb detached\n%s", exitErr.ExitCode(), out)
	}
	section := func(name string) string {
		_, after, ok := strings.Cut(string(out), "=== "+name+" ===\n")
		if !ok {
			t.Fatalf("gdb never printed its %s section:\n%s", name, out)
		}
		body, _, _ := strings.Cut(after, "\n=== ")
		return body
	}
	q := regexp.QuoteMeta
	series, module, dmesg := section("series"), section("module"), section("dmesg")
	for _, c := range []struct{ what, text, re string }{
		{"the series' function at file:line in the patched tree", series,
			`#0 +bpf_oreore_is_valid_access \(.*\) at ` + q(k.Source) + `/kernel/bpf/oreore\.c:\d+`},
		{"the verifier as its caller", series, `#1 .* in \w*(check|convert_ctx|verifier|mem_access)\w* `},
		{"the module's function at file:line in its folder", module, `#0 +bpf_store \(.*\) at ` + q(k.Modules) + `/oreore\.c:\d+`},
		{"the module's symbols from its .ko", module, `bpf_store in section \.text of ` + q(k.Modules) + `/oreore\.ko`},
		{"the module's source", module, `\d+\s+static ssize_t bpf_store\(`},
		{"the guest's log", dmesg, `\] Linux version \d`},
	} {
		if !regexp.MustCompile(c.re).MatchString(c.text) {
			t.Errorf("gdb's output lacks %s (%s):\n%s", c.what, c.re, out)
		}
	}
	if !strings.Contains(string(out), "gdbpoke: 1 -> 43") {
		t.Errorf("the guest's command did not run the program:\n%s", out)
	}
}
