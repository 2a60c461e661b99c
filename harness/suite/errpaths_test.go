//go:build guest

package suite

import (
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"oreore/harness/bpf"
	"oreore/harness/oreore"
)

// The error paths that make vm-cover showed no test reaching: each test
// here fails on a kernel that drops the check it names.

// Each of the fields test_run has no use for is refused alone, a size
// without its buffer and a buffer without its size: the kernel's check is
// one condition per field, and a test that always sends both stops at the
// first.
func TestTestRunRefusesEachFieldAlone(t *testing.T) {
	prog := loadAdd42(t)
	ctx := binary.NativeEndian.AppendUint32(nil, 1)
	buf := make([]byte, 64)
	addr := func(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }
	valid := bpf.TestRunRaw{CtxSizeIn: 4, CtxIn: addr(ctx)}
	if got, err := bpf.ProgTestRunRaw(prog, valid); err != nil || got != 43 {
		t.Fatalf("the well-formed call: %d, %v; want 43", got, err)
	}
	for _, tt := range []struct {
		name string
		edit func(*bpf.TestRunRaw)
	}{
		{"data_size_in alone", func(a *bpf.TestRunRaw) { a.DataSizeIn = 64 }},
		{"data_in alone", func(a *bpf.TestRunRaw) { a.DataIn = addr(buf) }},
		{"data_size_out alone", func(a *bpf.TestRunRaw) { a.DataSizeOut = 64 }},
		{"data_out alone", func(a *bpf.TestRunRaw) { a.DataOut = addr(buf) }},
		{"ctx_size_out alone", func(a *bpf.TestRunRaw) { a.CtxSizeOut = 4 }},
		{"ctx_out alone", func(a *bpf.TestRunRaw) { a.CtxOut = addr(buf) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := valid
			tt.edit(&a)
			if got, err := bpf.ProgTestRunRaw(prog, a); !errors.Is(err, unix.EINVAL) {
				t.Errorf("retval %d, %v; want EINVAL", got, err)
			}
		})
	}
	runtime.KeepAlive(ctx)
	runtime.KeepAlive(buf)
}

// unreadable maps a page that faults on any access: an address to give
// the kernel where it must read or write.
func unreadable(t *testing.T) []byte {
	t.Helper()
	page, err := unix.Mmap(-1, 0, unix.Getpagesize(), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(page) })
	return page
}

// A ctx_in the kernel cannot read is EFAULT, not a run on whatever the
// kernel's copy held.
func TestTestRunCtxInFaults(t *testing.T) {
	prog := loadAdd42(t)
	page := unreadable(t)
	if res, err := bpf.ProgTestRun(prog, bpf.TestRun{CtxIn: page[:4]}); !errors.Is(err, unix.EFAULT) {
		t.Errorf("ctx_in on an unmapped page: retval %d, %v; want EFAULT", res.Retval, err)
	}
}

// query_flags has no meaning for a single slot (there is nothing to
// inherit, no BPF_F_QUERY_EFFECTIVE): it is refused, as target_fd is.
func TestQueryRefusesQueryFlags(t *testing.T) {
	_, err := bpf.ProgQueryWith(bpf.ProgQueryAttr{AttachType: uapi(t).AttachType, QueryFlags: unix.BPF_F_QUERY_EFFECTIVE})
	if !errors.Is(err, unix.EINVAL) {
		t.Errorf("query with BPF_F_QUERY_EFFECTIVE: %v, want EINVAL", err)
	}
}

// A query that cannot write its answer fails with EFAULT: into prog_ids,
// and into the attr itself (a read-only page: the kernel reads the attr,
// then cannot write attach_flags and prog_cnt back).
func TestQueryFaultsWhereItCannotWrite(t *testing.T) {
	requireEmptySlot(t)
	attach(t, load(t, "c31", constProg(31)))
	ids := unsafe.Slice((*uint32)(unsafe.Pointer(&unreadable(t)[0])), 1)
	if _, err := bpf.ProgQueryWith(bpf.ProgQueryAttr{AttachType: uapi(t).AttachType, ProgIDs: ids}); !errors.Is(err, unix.EFAULT) {
		t.Errorf("prog_ids on an unmapped page: %v, want EFAULT", err)
	}

	page, err := unix.Mmap(-1, 0, unix.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(page)
	// union bpf_attr's query: target_fd, attach_type, query_flags,
	// attach_flags, prog_ids (u64), prog_cnt; the rest zero.
	binary.NativeEndian.PutUint32(page[4:], uapi(t).AttachType)
	if err := unix.Mprotect(page, unix.PROT_READ); err != nil {
		t.Fatal(err)
	}
	const querySize = 64 // up to prog_cnt and past it, within what 6.1 and 6.12 read
	_, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_QUERY, uintptr(unsafe.Pointer(&page[0])), querySize)
	if errno != unix.EFAULT {
		t.Errorf("query whose attr is read-only: %v, want EFAULT", errno)
	}
}

// A link that cannot get a file descriptor is not created, and leaves
// nothing behind: the slot stays empty and the program's reference is
// dropped, so the program goes away with its last fd.
func TestLinkCreateWithoutDescriptorsLeaksNothing(t *testing.T) {
	requireEmptySlot(t)
	prog, err := oreore.Load("c32", constProg(32))
	if err != nil {
		t.Fatal(err)
	}
	id := progID(t, prog)

	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	// dup(2) returns the lowest free number: with the limit there, every
	// number below it is taken and the next descriptor cannot be had.
	next, err := unix.Dup(int(prog))
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(next)
	low := lim
	low.Cur = uint64(next)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	link, err := oreore.LinkCreate(prog)
	if rerr := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); rerr != nil {
		t.Fatalf("restoring RLIMIT_NOFILE: %v", rerr)
	}
	if err == nil {
		link.Close()
		t.Fatalf("BPF_LINK_CREATE with no descriptor left succeeded (fd %d)", link)
	}
	if !errors.Is(err, unix.EMFILE) {
		t.Errorf("BPF_LINK_CREATE with no descriptor left: %v, want EMFILE", err)
	}
	wantEmpty(t, "after the link that could not be created")
	prog.Close()
	waitGone(t, id, "after a failed link create and the program's close")
}
