//go:build vmselftest

package selftest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"oreore/harness/progtype"
	"oreore/vm/gdb"
)

// gdb in batch mode attaches to the held guest and, for every described
// type (progtype.All, in the order gdbpoke runs them), breaks in the type's
// is_valid_access in the series (the verifier, at load; the name the
// scaffold gives it) and in its module's store (the write that runs the
// program), then reads the guest's log: each backtrace names its function
// at file:line in the patched tree or the module's folder, the module's
// symbols come from its .ko, and the guest then runs the command to its end.
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
	script := filepath.Join(dir, "break.gdb")
	if err := os.WriteFile(script, []byte(breakScript(progtype.All)), 0o644); err != nil {
		t.Fatal(err)
	}
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
	for _, typ := range progtype.All {
		series, module := section("series "+typ.Name), section("module "+typ.Name)
		for _, c := range []struct{ what, text, re string }{
			{"the series' function at file:line in the patched tree", series,
				`#0 +` + q(validAccess(typ)) + ` \(.*\) at ` + q(k.Source) + `/kernel/bpf/\w+\.c:\d+`},
			{"the verifier as its caller", series, `#1 .* in \w*(check|convert_ctx|verifier|mem_access)\w* `},
			{"the module's function at file:line in its folder", module, `#0 +bpf_store \(.*\) at ` + q(k.Modules+"/"+typ.Module) + `\.c:\d+`},
			{"the module's symbols from its .ko", module, `bpf_store( \+ \d+)? in section \.text of ` + q(k.Modules+"/"+typ.Module) + `\.ko`},
			{"the module's source", module, `\d+\s+static ssize_t bpf_store\(`},
		} {
			if !regexp.MustCompile(c.re).MatchString(c.text) {
				t.Errorf("%s: gdb's output lacks %s (%s):\n%s", typ.Name, c.what, c.re, out)
			}
		}
		if want := "gdbpoke: " + typ.Name + ": 1 -> 43"; !strings.Contains(string(out), want) {
			t.Errorf("the guest's command did not run %s's program (%q):\n%s", typ.Name, want, out)
		}
	}
	if re := `\] Linux version \d`; !regexp.MustCompile(re).MatchString(section("dmesg")) {
		t.Errorf("gdb's output lacks the guest's log (%s):\n%s", re, out)
	}
}

// validAccess is the type's is_valid_access in the series, as the scaffold
// (make new-type) names it.
func validAccess(typ *progtype.Type) string { return "bpf_" + typ.Name + "_is_valid_access" }

// breakScript is the gdb script, run in batch mode after the runner's own
// commands (vm/gdb): the guest is stopped at start_kernel and lx-symbols is
// armed for the modules. Per type, one break in the series' code and one in
// its module's, pending until the module's symbols are loaded (both modules
// have a bpf_store: the file names which).
func breakScript(types []*progtype.Type) string {
	var b strings.Builder
	for _, typ := range types {
		fmt.Fprintf(&b, "tbreak %s\ntbreak %s.c:bpf_store\n", validAccess(typ), typ.Module)
	}
	for _, typ := range types {
		fmt.Fprintf(&b, "continue\necho === series %s ===\\n\nbt 4\n", typ.Name)
		fmt.Fprintf(&b, "continue\necho === module %s ===\\n\nbt 4\ninfo symbol $pc\nlist %s.c:bpf_store\n", typ.Name, typ.Module)
	}
	b.WriteString("echo === dmesg ===\\n\nlx-dmesg\necho === end ===\\n\ndetach\n")
	return b.String()
}
