package bpf

import (
	"errors"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"oreore/harness/asm"
)

// These run on the host kernel: socket filters need no VM and touch no
// interface.
func requireRoot(t *testing.T) {
	t.Helper()
	if unix.Geteuid() != 0 {
		t.Fatal("bpf() tests need root (CAP_BPF and CAP_SYS_ADMIN): run `make test` as root")
	}
}

func TestProgLoadTestRunAndInfo(t *testing.T) {
	requireRoot(t)
	fd, err := ProgLoad(ProgLoadAttr{
		Type:    unix.BPF_PROG_TYPE_SOCKET_FILTER,
		Insns:   asm.Instructions{asm.Mov.Imm(asm.R0, 7), asm.Return()},
		License: "GPL",
		Name:    "ret7",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()

	res, err := ProgTestRun(fd, TestRun{DataIn: make([]byte, 64), Repeat: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Retval != 7 {
		t.Errorf("retval = %d, want 7", res.Retval)
	}

	info, err := ProgGetInfo(fd)
	if err != nil {
		t.Fatal(err)
	}
	if info.Type != unix.BPF_PROG_TYPE_SOCKET_FILTER || info.Name != "ret7" || info.ID == 0 || !info.GPLCompatible {
		t.Errorf("info = %+v, want a GPL socket filter named ret7 with an id", info)
	}
}

func TestVerifierErrorCarriesLog(t *testing.T) {
	requireRoot(t)
	_, err := ProgLoad(ProgLoadAttr{
		Type:    unix.BPF_PROG_TYPE_SOCKET_FILTER,
		Insns:   asm.Instructions{asm.Return()},
		License: "GPL",
	})
	var verr *VerifierError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v, want a *VerifierError", err)
	}
	if !errors.Is(err, unix.EACCES) {
		t.Errorf("errno = %v, want EACCES", verr.Errno)
	}
	if !verr.Contains("R0 !read_ok") {
		t.Errorf("log does not say R0 !read_ok:\n%v", err)
	}
}

func TestErrorsNameCommandAndErrno(t *testing.T) {
	requireRoot(t)
	err := ProgDetach(ProgAttachAttr{Prog: -1, AttachType: 0xffff})
	if !errors.Is(err, unix.EINVAL) {
		t.Fatalf("err = %v, want EINVAL", err)
	}
	if got, want := err.Error(), "BPF_PROG_DETACH: EINVAL (invalid argument)"; got != want {
		t.Errorf("err = %q, want %q", got, want)
	}
}

func TestProgInfoLayoutIsTheKernels(t *testing.T) {
	// sizeof(struct bpf_prog_info) and offsetof(run_cnt), from gcc on 6.1's uapi header.
	if got := unsafe.Sizeof(progInfo{}); got != 232 {
		t.Errorf("progInfo is %d bytes, want 232", got)
	}
	if got := unsafe.Offsetof(progInfo{}.runCnt); got != 200 {
		t.Errorf("run_cnt at %d, want 200", got)
	}
}

func TestStatsCountRuns(t *testing.T) {
	requireRoot(t)
	stats, err := EnableStats()
	if err != nil {
		t.Fatal(err)
	}
	defer stats.Close()
	fd, err := ProgLoad(ProgLoadAttr{
		Type:    unix.BPF_PROG_TYPE_SOCKET_FILTER,
		Insns:   asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
		License: "GPL",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	if _, err := ProgTestRun(fd, TestRun{DataIn: make([]byte, 64), Repeat: 5}); err != nil {
		t.Fatal(err)
	}
	info, err := ProgGetInfo(fd)
	if err != nil {
		t.Fatal(err)
	}
	if info.RunCount != 5 {
		t.Errorf("run_cnt = %d after 5 runs", info.RunCount)
	}
	ids, err := ProgIDs()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, id := range ids {
		found = found || id == info.ID
	}
	if !found {
		t.Errorf("BPF_PROG_GET_NEXT_ID does not list id %d: %v", info.ID, ids)
	}
}
