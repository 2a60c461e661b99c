package kselftest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"oreore/harness/guest"
	"oreore/harness/oreore"
)

// Binary is the path of one of the kernel's test binaries in the guest.
func Binary(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(guest.SelftestsDir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is not in the initramfs (make selftests builds it; vm-test puts it in): %v", p, err)
	}
	return p
}

// Run runs a kernel test binary and returns its output. A non-zero exit is
// not an error here: the binaries exit 1 when a test fails, and the
// results say which. Death by a signal is: the results are cut short.
func Run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = t.TempDir()
	// The binaries load their modules (6.12's test_verifier: bpf_testmod.ko)
	// from the working directory.
	mods, _ := filepath.Glob(filepath.Join(guest.SelftestsDir, "*.ko"))
	for _, m := range mods {
		if err := os.Symlink(m, filepath.Join(cmd.Dir, filepath.Base(m))); err != nil {
			t.Fatal(err)
		}
	}
	if len(mods) > 0 {
		// Each binary unloads and loads bpf_testmod when it starts, and
		// unloads it when it ends: test_progs in the slot lane pulled it
		// from under test_verifier in the other ("failed to find BTF for
		// kernel function", 6.12, a test that passes alone). The lanes
		// take turns with the module.
		unlock := lockModules(t)
		defer unlock()
	}
	// Apart: stdout to a pipe is block-buffered in the binaries and stderr
	// is not, so libbpf's warnings landed in the middle of test_verifier's
	// "#947/p NAME" lines, and the baseline missed a failing test whose
	// name was cut in two. The results are on stdout, in order.
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	start := time.Now()
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("%s: %v", bin, err)
	}
	t.Logf("%s %s: %v, exit %d", filepath.Base(bin), strings.Join(args, " "), time.Since(start).Round(time.Millisecond), cmd.ProcessState.ExitCode())
	if stderr.Len() > 0 {
		t.Logf("%s wrote %d lines to stderr; the last of them:\n%s", filepath.Base(bin),
			strings.Count(stderr.String(), "\n"), tail(stderr.String(), 10))
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		t.Errorf("%s %s was killed by %v; its output ends:\n%s\nand its stderr:\n%s", filepath.Base(bin), strings.Join(args, " "),
			ws.Signal(), tail(out.String(), 40), tail(stderr.String(), 20))
	}
	return out.String()
}

// modulesLock names the abstract UNIX socket that the guest's test
// binaries using the selftests' modules bind, one at a time. The kernel
// has no flock (tinyconfig leaves FILE_LOCKING out), and a socket is
// released when its process dies, so a crashed binary leaves no lock.
const modulesLock = "@oreore-selftest-modules"

// lockModules waits for the selftests' modules to be free and takes them.
func lockModules(t *testing.T) (unlock func()) {
	t.Helper()
	start := time.Now()
	for {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatalf("socket: %v", err)
		}
		err = unix.Bind(fd, &unix.SockaddrUnix{Name: modulesLock})
		if err == nil {
			if waited := time.Since(start); waited > 100*time.Millisecond {
				t.Logf("waited %v for the other lane to be done with the selftests' modules", waited.Round(time.Millisecond))
			}
			return func() { unix.Close(fd) }
		}
		unix.Close(fd)
		if !errors.Is(err, unix.EADDRINUSE) {
			t.Fatalf("bind %s: %v", modulesLock, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// Report turns results into subtests: a pass passes, a skip skips with its
// reason, and a failure fails with its log, unless the list knows it fails
// on base too: then it skips and says why. A listed test that passes is
// logged as stale, and Report returns the stale names.
func Report(t *testing.T, binary, out string, results []Result, known Known) (stale []string) {
	t.Helper()
	if len(results) == 0 {
		t.Fatalf("%s reported no test; its output ends:\n%s", binary, tail(out, 40))
	}
	counts := map[string]int{}
	for _, r := range results {
		reason := known.Reason(binary, r.Name)
		switch {
		case r.Status == Fail && reason != "":
			counts["known"]++
		case r.Status == Pass && reason != "":
			counts["stale"]++
			stale = append(stale, r.Name)
		default:
			counts[string(r.Status)]++
		}
		t.Run(r.Name, func(t *testing.T) {
			switch {
			case r.Status == Fail && reason != "":
				t.Skipf("known failure (fails on base too: %s)\n%s", reason, r.Log)
			case r.Status == Fail:
				t.Errorf("%s: %s failed:\n%s", binary, r.Name, r.Log)
			case r.Status == Skip:
				t.Skip(r.Log)
			case reason != "":
				t.Logf("passes, but the known-failures list still has it (%s): the list is stale", reason)
			}
		})
	}
	if guest.Baseline() {
		for _, r := range results {
			if r.Status == Fail {
				why, _, _ := strings.Cut(strings.TrimSpace(r.Log), "\n")
				t.Logf("%s%s\t%s\t%s", guest.BaselinePrefix, binary, r.Name, strings.ReplaceAll(why, "\t", " "))
			}
		}
	}
	t.Logf("%s: %d passed, %d failed, %d skipped, %d known failures, %d stale list entries",
		binary, counts["OK"]+counts["stale"], counts["FAIL"], counts["SKIP"], counts["known"], counts["stale"])
	return stale
}

// KnownHere is the list for the running kernel: its series from the kernel
// release, its flavor from kmemleak, which only the debug flavor has, and the
// machine the guest is. A
// baseline run (the base kernel, guest.BaselineParam) measures the list, so
// none applies there.
func KnownHere(t *testing.T) Known {
	t.Helper()
	if guest.Baseline() {
		t.Logf("baseline run (%s=1): no known-failures list applies; every failure is logged for make selftests-baseline", guest.BaselineParam)
		return Known{}
	}
	u, err := oreore.Kernel()
	if err != nil {
		t.Fatal(err)
	}
	flavor := "normal"
	if guest.DebugFlavor() {
		flavor = "debug"
	}
	k, err := KnownFor(u.Series, flavor, Machine())
	if err != nil {
		t.Fatal(err)
	}
	return k
}
