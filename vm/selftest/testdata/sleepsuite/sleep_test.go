// Package sleepsuite is an in-guest suite whose test sleeps forever, for the
// runner's self-test of the per-test watchdog. It sleeps in nanosleep(2),
// so that the kernel's stack of the task names it.
package sleepsuite

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestPasses(t *testing.T) {}

func TestSleepsForever(t *testing.T) {
	for {
		unix.Nanosleep(&unix.Timespec{Sec: 3600}, nil)
	}
}
