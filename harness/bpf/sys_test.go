package bpf

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// A second Close must not close the file that got the number in between:
// Linux hands out the lowest free number, so the next open reuses it.
func TestCloseTwiceLeavesAReusedNumberAlone(t *testing.T) {
	n, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	fd := FD(n)
	if err := fd.Close(); err != nil {
		t.Fatal(err)
	}
	if fd != -1 {
		t.Errorf("after Close the FD is %d, want -1", fd)
	}
	other, err := unix.Open("/dev/zero", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(other)
	if other != n {
		t.Logf("the number was not reused (%d, then %d): the check below still holds", n, other)
	}
	if err := fd.Close(); !errors.Is(err, unix.EBADF) {
		t.Errorf("second Close: %v, want EBADF", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(other, &st); err != nil {
		t.Fatalf("the file opened after the first Close: %v (the second Close closed it)", err)
	}
	buf := make([]byte, 4)
	if k, err := unix.Read(other, buf); err != nil || k != 4 {
		t.Errorf("reading /dev/zero through the reused number: %d, %v", k, err)
	}
}

// Deferred Close sees the FD as it is when the function returns.
func TestDeferredCloseAfterCloseIsHarmless(t *testing.T) {
	var other int
	func() {
		n, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		fd := FD(n)
		defer fd.Close()
		fd.Close()
		if other, err = unix.Open("/dev/zero", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
			t.Fatal(err)
		}
	}()
	defer unix.Close(other)
	var st unix.Stat_t
	if err := unix.Fstat(other, &st); err != nil {
		t.Fatalf("the deferred Close closed the file opened after the explicit Close: %v", err)
	}
}
