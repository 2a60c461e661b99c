package bpf

import (
	"errors"
	"runtime"
	"testing"
	"time"
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

// NoLog loads without a log buffer: the program loads, and a refused one
// comes back with the errno and no log.
func TestNoLogLoadsWithoutALog(t *testing.T) {
	// log_level 0: 6.1 refuses a level without a buffer (EINVAL); newer
	// kernels take it, so the attribute itself is checked.
	if attr := (&ProgLoadAttr{NoLog: true}).raw(nil, nil, nil); attr.logLevel != 0 || attr.logSize != 0 {
		t.Errorf("NoLog sends log_level %d, log_size %d; want 0, 0", attr.logLevel, attr.logSize)
	}
	requireRoot(t)
	fd, err := ProgLoad(ProgLoadAttr{
		Type:    unix.BPF_PROG_TYPE_SOCKET_FILTER,
		Insns:   asm.Instructions{asm.Mov.Imm(asm.R0, 7), asm.Return()},
		License: "GPL",
		NoLog:   true,
	})
	if err != nil {
		t.Fatal(err)
	}
	fd.Close()
	_, err = ProgLoad(ProgLoadAttr{
		Type:    unix.BPF_PROG_TYPE_SOCKET_FILTER,
		Insns:   asm.Instructions{asm.Return()},
		License: "GPL",
		NoLog:   true,
	})
	var verr *VerifierError
	if !errors.As(err, &verr) || !errors.Is(err, unix.EACCES) {
		t.Fatalf("err = %v, want a *VerifierError with EACCES", err)
	}
	if len(verr.Log) != 0 {
		t.Errorf("NoLog, yet the error carries a log: %q", verr.Log)
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

// Each load attribute reaches the kernel: a value the kernel refuses in
// that field, and only there, fails the load.
func TestProgLoadAttributesReachTheKernel(t *testing.T) {
	requireRoot(t)
	good := asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}
	var long asm.Instructions
	for range 32 {
		long = append(long, asm.Mov.Imm(asm.R0, 0))
	}
	long = append(long, asm.Return())
	tests := []struct {
		name  string
		attr  ProgLoadAttr
		errno unix.Errno // 0: loads
	}{
		{"BPF_F_TEST_RND_HI32 accepted", ProgLoadAttr{Flags: unix.BPF_F_TEST_RND_HI32}, 0},
		{"unknown prog_flags bit rejected", ProgLoadAttr{Flags: 1 << 31}, unix.EINVAL},
		// bpf_prog_dev_bound_init: only XDP and tc programs are dev-bound.
		{"prog_ifindex on a socket filter rejected", ProgLoadAttr{Ifindex: 1}, unix.EINVAL},
		// bpf_prog_load: an attach_prog_fd that is neither a program nor BTF.
		{"attach_prog_fd of a closed fd rejected", ProgLoadAttr{AttachFD: 9999}, unix.EINVAL},
		// bpf_check: a good program whose log does not fit the smallest
		// buffer 6.1 takes (128 bytes; less is EINVAL there).
		{"a log_size too small for the log is ENOSPC", ProgLoadAttr{LogSize: 128, Insns: long}, unix.ENOSPC},
		{"log_level 2 accepted", ProgLoadAttr{LogLevel: 2}, 0},
		{"unknown log_level bits rejected", ProgLoadAttr{LogLevel: 1 << 20}, unix.EINVAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.attr.Type, tt.attr.License = unix.BPF_PROG_TYPE_SOCKET_FILTER, "GPL"
			if tt.attr.Insns == nil {
				tt.attr.Insns = good
			}
			fd, err := ProgLoad(tt.attr)
			if err == nil {
				fd.Close()
			}
			switch {
			case tt.errno == 0 && err != nil:
				t.Errorf("got %v, want a load", err)
			case tt.errno != 0 && !errors.Is(err, tt.errno):
				t.Errorf("got %v, want %s", err, unix.ErrnoName(tt.errno))
			}
		})
	}
}

// test_run's flags, cpu and batch_size reach the kernel: a socket filter
// refuses each (bpf_prog_test_run_skb).
func TestTestRunAttributesReachTheKernel(t *testing.T) {
	requireRoot(t)
	fd, err := ProgLoad(ProgLoadAttr{Type: unix.BPF_PROG_TYPE_SOCKET_FILTER, Insns: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}, License: "GPL"})
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	for _, in := range []TestRun{{Flags: unix.BPF_F_TEST_RUN_ON_CPU}, {CPU: 1}, {BatchSize: 1}} {
		in.DataIn = make([]byte, 64)
		if _, err := ProgTestRun(fd, in); !errors.Is(err, unix.EINVAL) {
			t.Errorf("%+v: got %v, want EINVAL", in, err)
		}
	}
}

// Map create attributes reach the kernel (map_create's checks).
func TestMapCreateAttributesReachTheKernel(t *testing.T) {
	requireRoot(t)
	array := MapCreateAttr{Type: unix.BPF_MAP_TYPE_ARRAY, KeySize: 4, ValueSize: 4, MaxEntries: 1}
	tests := []struct {
		name  string
		edit  func(*MapCreateAttr)
		errno unix.Errno
	}{
		{"map_extra on an array rejected", func(a *MapCreateAttr) { a.Extra = 1 }, unix.EINVAL},
		{"numa_node past the last node rejected", func(a *MapCreateAttr) { a.Flags, a.NumaNode = unix.BPF_F_NUMA_NODE, 1<<20 }, unix.EINVAL},
		{"inner_map_fd of a closed fd on a map-in-map rejected", func(a *MapCreateAttr) {
			a.Type, a.InnerMapFD = unix.BPF_MAP_TYPE_ARRAY_OF_MAPS, 9999
		}, unix.EBADF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := array
			tt.edit(&a)
			fd, err := MapCreate(a)
			if err == nil {
				fd.Close()
			}
			if !errors.Is(err, tt.errno) {
				t.Errorf("got %v, want %s", err, unix.ErrnoName(tt.errno))
			}
		})
	}
}

// run_cnt grows by exactly repeat for each repeated test_run, though Go's
// preemption signal (SIGURG) reaches the thread all along, as the runtime
// may send it to a thread that has just entered the system call: a run
// it interrupted would stop with EINTR after some of its runs, and the
// retry would count those twice (1003 runs for repeat 1000, seen under
// KASAN).
func TestRepeatedRunsCountedOnce(t *testing.T) {
	requireRoot(t)
	fd, err := ProgLoad(ProgLoadAttr{
		Type:    unix.BPF_PROG_TYPE_SOCKET_FILTER,
		Insns:   asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
		License: "GPL",
		Name:    "ret0",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	stats, err := EnableStats()
	if err != nil {
		t.Fatal(err)
	}
	defer stats.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pid, tid := unix.Getpid(), unix.Gettid()
	stop, sent := make(chan struct{}), make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				sent <- n
				return
			default:
			}
			if unix.Tgkill(pid, tid, unix.SIGURG) == nil {
				n++
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	const repeat, runs = 200000, 20
	for i := 0; i < runs; i++ {
		before, err := ProgGetInfo(fd)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ProgTestRun(fd, TestRun{DataIn: make([]byte, 64), Repeat: repeat}); err != nil {
			t.Fatal(err)
		}
		after, err := ProgGetInfo(fd)
		if err != nil {
			t.Fatal(err)
		}
		if got := after.RunCount - before.RunCount; got != repeat {
			t.Errorf("test run %d: run_cnt grew by %d for repeat %d", i, got, repeat)
		}
	}
	close(stop)
	t.Logf("%d SIGURGs sent to the thread", <-sent)
}
