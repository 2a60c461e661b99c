// Package caps runs a function on a thread whose capabilities are exactly
// a given set. Linux checks capabilities per thread (capable() reads
// current's effective set), so a thread that dropped the others with
// capset(2) is the whole experiment for a capability matrix; the process
// stays root, and uid 0 without capabilities is no more privileged than
// nobody for these checks.
package caps

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Mask is the capability set as the kernel's 64-bit bitmap.
func Mask(caps []int) uint64 {
	var m uint64
	for _, c := range caps {
		m |= 1 << c
	}
	return m
}

// OnThread runs f on a new OS thread whose permitted, effective and
// inheritable sets are exactly caps, and returns f's error. setupErr is
// set, and f not run, when capset fails or the thread's CapEff (as
// /proc/thread-self/status shows it) is not exactly caps. The thread is
// never unlocked: it exits with the goroutine, so no other goroutine runs
// on it with the reduced set (and the Go runtime starts new threads from
// its template thread, not from a locked one). f must stay on its
// goroutine.
func OnThread(caps []int, f func() error) (err, setupErr error) {
	type result struct{ err, setupErr error }
	done := make(chan result)
	go func() {
		runtime.LockOSThread()
		mask := Mask(caps)
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3} // pid 0: this thread
		data := [2]unix.CapUserData{
			{Effective: uint32(mask), Permitted: uint32(mask)},
			{Effective: uint32(mask >> 32), Permitted: uint32(mask >> 32)},
		}
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			done <- result{setupErr: fmt.Errorf("capset: %w", err)}
			return
		}
		eff, err := threadCapEff()
		if err != nil {
			done <- result{setupErr: err}
			return
		}
		if eff != mask {
			done <- result{setupErr: fmt.Errorf("the thread runs with CapEff %016x, want %016x", eff, mask)}
			return
		}
		done <- result{err: f()}
	}()
	r := <-done
	return r.err, r.setupErr
}

func threadCapEff() (uint64, error) {
	status, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, errors.New("no CapEff line in /proc/thread-self/status")
}
