//go:build vmselftest

// Package selftest boots guests that misbehave on purpose and checks that
// the runner's verdict names each failure with its own exit code. It needs
// a kernel: `make vm-test` runs it with OREORE_BZIMAGE set.
package selftest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"oreore/vm/verdict"
)

type tools struct {
	dir, kernel string
}

// built holds the tools once the first test has built them: the tests
// share them (and their folder, each boot in a folder of its own name).
var built struct {
	sync.Mutex
	tools *tools
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.tools != nil {
		os.RemoveAll(built.tools.dir)
	}
	os.Exit(code)
}

func setup(t *testing.T) tools {
	t.Helper()
	kernel := os.Getenv("OREORE_BZIMAGE")
	if kernel == "" {
		t.Fatal("OREORE_BZIMAGE is not set: run `make vm-test`, which builds the kernel first")
	}
	built.Lock()
	defer built.Unlock()
	if built.tools != nil {
		return *built.tools
	}
	dir, err := os.MkdirTemp("", "oreore-selftest-")
	if err != nil {
		t.Fatal(err)
	}
	goBuild(t, dir, "build", "-o", "vmtest", "oreore/vm/cmd/vmtest")
	goBuild(t, dir, "build", "-o", "mkinitramfs", "oreore/vm/cmd/mkinitramfs")
	goBuild(t, dir, "build", "-o", "guest-init", "oreore/harness/cmd/guest-init")
	goBuild(t, dir, "build", "-o", "test2json", "cmd/test2json")
	goBuild(t, dir, "build", "-o", "misbehave", "./testdata/misbehave")
	for _, suite := range []string{"failsuite", "oopssuite", "crashsuite", "sleepsuite", "tracefail", "noisy"} {
		goBuild(t, dir, "test", "-c", "-o", suite+".test", "./testdata/"+suite)
	}
	built.tools = &tools{dir: dir, kernel: kernel}
	return *built.tools
}

func goBuild(t *testing.T, dir string, args ...string) {
	t.Helper()
	for i, a := range args {
		if a == "-o" {
			args[i+1] = filepath.Join(dir, args[i+1])
		}
	}
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// initramfs builds the guest's archive with the given init and tests, and
// any further mkinitramfs arguments.
func (tl tools) initramfs(t *testing.T, name, init string, tests []string, extra ...string) string {
	t.Helper()
	cpio := filepath.Join(tl.dir, name+".cpio")
	args := append([]string{"-o", cpio, "-init", filepath.Join(tl.dir, init), "-test2json", filepath.Join(tl.dir, "test2json")}, extra...)
	for _, test := range tests {
		args = append(args, "-test", "only="+filepath.Join(tl.dir, test))
	}
	if out, err := exec.Command(filepath.Join(tl.dir, "mkinitramfs"), args...).CombinedOutput(); err != nil {
		t.Fatalf("mkinitramfs: %v\n%s", err, out)
	}
	return cpio
}

// boot builds an initramfs with the given init and tests, runs vmtest and
// returns its exit code and report.
func (tl tools) boot(t *testing.T, name, init string, tests []string, timeout time.Duration, initArgs ...string) (verdict.Code, string, time.Duration) {
	t.Helper()
	cpio := tl.initramfs(t, name, init, tests)
	vmArgs := append([]string{"-kernel", tl.kernel, "-initramfs", cpio, "-out", filepath.Join(tl.dir, name),
		"-timeout", timeout.String(), "--"}, initArgs...)
	start := time.Now()
	out, err := exec.Command(filepath.Join(tl.dir, "vmtest"), vmArgs...).CombinedOutput()
	elapsed := time.Since(start)
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return verdict.Passed, string(out), elapsed
	case errors.As(err, &exitErr):
		return verdict.Code(exitErr.ExitCode()), string(out), elapsed
	}
	t.Fatalf("vmtest: %v\n%s", err, out)
	return 0, "", 0
}

func TestRunnerVerdicts(t *testing.T) {
	tl := setup(t)
	tests := []struct {
		name     string
		init     string
		tests    []string
		initArgs []string
		want     verdict.Code
		report   string // the report must say this
	}{
		{"init exits: kernel panic", "misbehave", nil, []string{"exit"}, verdict.KernelSplat, "Kernel panic - not syncing"},
		{"WARNING in the kernel log", "misbehave", nil, []string{"kmsg-warning"}, verdict.KernelSplat, "WARNING: CPU: 0 PID: 1 at vm/selftest"},
		{"failing in-guest test", "guest-init", []string{"failsuite.test"}, nil, verdict.TestFailed, "failsuite.TestDeliberateFailure"},
		{"init ends the guest without a word", "misbehave", nil, []string{"reboot"}, verdict.VMBroke, "the guest ended without its done record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, report, _ := tl.boot(t, strings.ReplaceAll(tt.name, " ", "-"), tt.init, tt.tests, 2*time.Minute, tt.initArgs...)
			if code != tt.want {
				t.Fatalf("exit %d, want %d (%v)\n%s", code, tt.want, tt.want, report)
			}
			if !strings.Contains(report, tt.report) {
				t.Errorf("the report does not say %q:\n%s", tt.report, report)
			}
		})
	}
}

func TestHangingGuestTimesOutInTime(t *testing.T) {
	tl := setup(t)
	const timeout = 8 * time.Second
	code, report, elapsed := tl.boot(t, "hang", "misbehave", nil, timeout, "hang")
	if code != verdict.TimedOut {
		t.Fatalf("exit %d, want %d (timeout)\n%s", code, verdict.TimedOut, report)
	}
	// The runner itself adds little: QEMU is killed at the deadline.
	if elapsed > timeout+10*time.Second {
		t.Errorf("the verdict took %v for a %v timeout", elapsed, timeout)
	}
}
