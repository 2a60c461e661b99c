package fuzz

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// KCOVPath is the kernel's coverage device (CONFIG_KCOV, the debug flavor).
const KCOVPath = "/sys/kernel/debug/kcov"

// include/uapi/linux/kcov.h
const (
	kcovInitTrace = 0x80086301 // _IOR('c', 1, unsigned long)
	kcovEnable    = 0x6364     // _IO('c', 100)
	kcovDisable   = 0x6365     // _IO('c', 101)
	kcovTracePC   = 0
)

// kcovWords is the trace buffer's size in words: the first holds the
// count, the rest the PCs. The kernel stops recording when it is full and
// says nothing, so Stop refuses a full one: the edges past it would be
// missing from the signal. 2 MiB a thread; a run of the fuzzer's longest
// inputs on the series' objects stays far below.
const kcovWords = 1 << 18

// ErrKCOVFull is Stop's error when the trace filled the buffer.
var ErrKCOVFull = errors.New("KCOV's trace buffer is full: the kernel dropped PCs past it, and the signal would miss their edges; raise kcovWords (harness/fuzz/kcov.go)")

// KCOV is one thread's coverage: enabled on the thread that calls Start,
// until Stop.
type KCOV struct {
	f    *os.File
	area []uint64
}

// OpenKCOV opens and maps a trace buffer.
func OpenKCOV() (*KCOV, error) {
	f, err := os.OpenFile(KCOVPath, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.IoctlSetInt(int(f.Fd()), kcovInitTrace, kcovWords); err != nil {
		f.Close()
		return nil, fmt.Errorf("KCOV_INIT_TRACE: %w", err)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, kcovWords*8, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("kcov mmap: %w", err)
	}
	return &KCOV{f: f, area: unsafe.Slice((*uint64)(unsafe.Pointer(&mem[0])), kcovWords)}, nil
}

// Start resets the buffer and traces the calling thread, which must stay
// locked to its goroutine until Stop.
func (k *KCOV) Start() error {
	atomic.StoreUint64(&k.area[0], 0)
	if err := unix.IoctlSetInt(int(k.f.Fd()), kcovEnable, kcovTracePC); err != nil {
		return fmt.Errorf("KCOV_ENABLE: %w", err)
	}
	return nil
}

// Stop ends the trace and returns the PCs it recorded, in order (a copy).
func (k *KCOV) Stop() ([]uint64, error) {
	n := atomic.LoadUint64(&k.area[0])
	if err := unix.IoctlSetInt(int(k.f.Fd()), kcovDisable, 0); err != nil {
		return nil, fmt.Errorf("KCOV_DISABLE: %w", err)
	}
	return traced(k.area, n)
}

// traced is the PCs of a trace buffer whose first word said n.
func traced(area []uint64, n uint64) ([]uint64, error) {
	if n >= uint64(len(area)-1) {
		return nil, fmt.Errorf("%w (%d words)", ErrKCOVFull, len(area))
	}
	return append([]uint64(nil), area[1:1+n]...), nil
}
