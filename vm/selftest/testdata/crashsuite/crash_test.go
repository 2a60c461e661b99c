// Package crashsuite is an in-guest suite whose test crashes the kernel for
// real (SysRq c panics), for the runner's self-test.
package crashsuite

import (
	"os"
	"testing"
	"time"
)

func TestCrashesTheKernel(t *testing.T) {
	// The test's start must reach the results port before the panic
	// reboots the guest: test2json, the init and a serial port lie between.
	time.Sleep(time.Second)
	os.WriteFile("/proc/sysrq-trigger", []byte("c"), 0)
	t.Error("the kernel did not crash")
}
