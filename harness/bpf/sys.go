// Package bpf wraps the bpf(2) commands the harness uses, one function per
// command, on golang.org/x/sys/unix alone. The attr structs mirror the
// members of union bpf_attr in include/uapi/linux/bpf.h, each with every
// field of Linux 6.12's (6.1's are a prefix: fields it lacks must stay
// zero there), and the exported attrs expose them all, so that a test can
// send any value in any field.
package bpf

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// FD is a file descriptor of a BPF object; -1 is none.
type FD int

// Close releases the descriptor and sets fd to -1, so that a second Close
// returns EBADF instead of closing whatever file got the number since. A
// copy of fd still holds the old number: close through one variable only.
func (fd *FD) Close() error {
	if *fd < 0 {
		return &Error{Cmd: "close", Errno: unix.EBADF}
	}
	n := int(*fd)
	*fd = -1
	// Linux frees the number even when close fails (EINTR, EIO): retrying
	// could close another file.
	return unix.Close(n)
}

// pointer is an __aligned_u64 user pointer that keeps its target visible
// to the Go garbage collector while the attr struct is alive.
type pointer struct{ ptr unsafe.Pointer }

func ptrTo[T any](s []T) pointer {
	if len(s) == 0 {
		return pointer{}
	}
	return pointer{unsafe.Pointer(&s[0])}
}

// sys issues one bpf(2) command. The attr must be a pointer to a struct.
func sys[T any](cmd int, attr *T) (int, error) {
	r, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(unsafe.Pointer(attr)), unsafe.Sizeof(*attr))
	runtime.KeepAlive(attr)
	if errno != 0 {
		return int(r), errno
	}
	return int(r), nil
}

// sysFD issues a command that returns a new file descriptor.
func sysFD[T any](cmd int, name string, attr *T) (FD, error) {
	fd, err := sys(cmd, attr)
	if err != nil {
		return -1, wrap(name, err)
	}
	return FD(fd), nil
}

// Error names the command that failed and wraps the errno, so callers can
// test it with errors.Is(err, unix.ENOENT).
type Error struct {
	Cmd   string
	Errno unix.Errno
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (%s)", e.Cmd, unix.ErrnoName(e.Errno), e.Errno.Error())
}

func (e *Error) Unwrap() error { return e.Errno }

func wrap(cmd string, err error) error {
	if err == nil {
		return nil
	}
	if errno, ok := err.(unix.Errno); ok {
		return &Error{Cmd: cmd, Errno: errno}
	}
	return fmt.Errorf("%s: %w", cmd, err)
}
