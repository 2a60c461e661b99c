// Package crashsuite is an in-guest suite whose test crashes the kernel for
// real (SysRq c panics), for the runner's self-test.
package crashsuite

import (
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestCrashesTheKernel(t *testing.T) {
	// The test's start must reach the results port before the panic
	// reboots the guest: test2json, the init and a serial port lie between.
	time.Sleep(time.Second)
	// The panic happens on CPU 0: Debian 12's drgn (0.0.22) takes the
	// first CPU note of QEMU's dump for prog.crashed_thread(), whichever
	// CPU panicked, and the self-test reads the stack through it.
	runtime.LockOSThread()
	var cpu0 unix.CPUSet
	cpu0.Set(0)
	if err := unix.SchedSetaffinity(0, &cpu0); err != nil {
		t.Fatalf("pinning to CPU 0: %v", err)
	}
	os.WriteFile("/proc/sysrq-trigger", []byte("c"), 0)
	t.Error("the kernel did not crash")
}
