//go:build guest

package suite

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"oreore/harness/bpf"
	"oreore/harness/oreore"
	"oreore/harness/progtype"
)

// The capability matrix: each bpf() command the oreore type supports, run
// on a thread whose capabilities are exactly one of these sets. Linux
// checks capabilities per thread (capable() reads current's effective
// set), so a thread that dropped the others with capset(2) is the whole
// experiment; the process stays root, and uid 0 without capabilities is
// no more privileged than nobody for these checks.
// The sets (progtype.CapSets) and, per series, the cells (the type's
// descriptor: progtype.Oreore.Caps) are data; this file runs them.

// capMask is the capability set as the kernel's 64-bit bitmap.
func capMask(caps []int) uint64 {
	var m uint64
	for _, c := range caps {
		m |= 1 << c
	}
	return m
}

// onThreadWithCaps runs f on a new OS thread whose permitted, effective
// and inheritable sets are exactly caps, and returns f's error. It fails
// the test if the thread's CapEff, as /proc/thread-self/status shows it,
// is not exactly caps. The thread is never unlocked: it exits with the
// goroutine, so no other goroutine runs on it with the reduced set (and
// the Go runtime starts new threads from its template thread, not from a
// locked one). f must stay on its goroutine.
func onThreadWithCaps(t *testing.T, caps []int, f func() error) error {
	t.Helper()
	type result struct {
		capEff   uint64
		setupErr error
		err      error
	}
	done := make(chan result)
	go func() {
		runtime.LockOSThread()
		mask := capMask(caps)
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
		done <- result{capEff: eff, err: f()}
	}()
	r := <-done
	if r.setupErr != nil {
		t.Fatal(r.setupErr)
	}
	if want := capMask(caps); r.capEff != want {
		t.Fatalf("the thread ran with CapEff %016x, want %016x", r.capEff, want)
	}
	return r.err
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

// capOp is one command of the matrix. setup runs as root before the
// command, run on the restricted thread, and cleanup as root after it,
// told whether the command went through; every op leaves the slot empty.
type capOp struct {
	name    string
	setup   func(t *testing.T, f *capFixture)
	run     func(f *capFixture) error
	cleanup func(t *testing.T, f *capFixture, ok bool)
}

// capFixture holds what root prepared: programs loaded with every
// capability, and the link or fd a command made.
type capFixture struct {
	prog, other bpf.FD
	link        bpf.FD
}

var capOps = []capOp{
	{
		name: "load",
		run: func(f *capFixture) error {
			fd, err := oreore.Load("capload", constProg(1))
			if err == nil {
				fd.Close()
			}
			return err
		},
	},
	{
		name: "attach",
		run:  func(f *capFixture) error { return oreore.Attach(f.prog) },
		cleanup: func(t *testing.T, f *capFixture, ok bool) {
			if ok {
				if err := oreore.Detach(f.prog); err != nil {
					t.Fatalf("root's detach after the attach: %v", err)
				}
			}
		},
	},
	{
		name: "detach",
		setup: func(t *testing.T, f *capFixture) {
			if err := oreore.Attach(f.prog); err != nil {
				t.Fatalf("root's attach: %v", err)
			}
		},
		run: func(f *capFixture) error { return oreore.Detach(f.prog) },
		cleanup: func(t *testing.T, f *capFixture, ok bool) {
			if ok {
				return
			}
			if got, err := oreore.Run(0); err != nil || got != 1 {
				t.Errorf("after the refused detach: run gave %d, %v; want the program still attached (1)", got, err)
			}
			if err := oreore.Detach(f.prog); err != nil {
				t.Fatalf("root's detach: %v", err)
			}
		},
	},
	{
		name: "link create",
		run: func(f *capFixture) error {
			var err error
			f.link, err = oreore.LinkCreate(f.prog)
			return err
		},
		cleanup: func(t *testing.T, f *capFixture, ok bool) {
			if ok {
				wantRun(t, "with the link the restricted thread made", 1)
				f.link.Close()
			}
		},
	},
	{
		name: "link update",
		setup: func(t *testing.T, f *capFixture) {
			var err error
			if f.link, err = oreore.LinkCreate(f.prog); err != nil {
				t.Fatalf("root's link: %v", err)
			}
		},
		run: func(f *capFixture) error {
			return bpf.LinkUpdate(bpf.LinkUpdateAttr{Link: f.link, NewProg: f.other})
		},
		cleanup: func(t *testing.T, f *capFixture, ok bool) {
			want := uint32(1)
			if ok {
				want = 2
			}
			wantRun(t, "after the update", want)
			f.link.Close()
		},
	},
	{
		name: "query",
		run: func(f *capFixture) error {
			_, err := oreore.Attached()
			return err
		},
	},
	{
		name: "test_run",
		run: func(f *capFixture) error {
			got, err := oreore.TestRun(f.prog, 0)
			if err == nil && got != 1 {
				return fmt.Errorf("test_run gave %d, want 1", got)
			}
			return err
		},
	},
}

// Every command with every set: what each series requires, cell by cell.
// A series that checked the wrong capability (CAP_SYS_ADMIN where the
// query's check is meant, or bpf_capable() for the global attach point)
// flips at least one cell.
func TestCapabilityMatrix(t *testing.T) {
	requireEmptySlot(t)
	series := uapi(t).Series
	matrix, ok := progtype.Oreore.Caps[series]
	if !ok {
		t.Fatalf("no capability matrix for series %s", series)
	}
	sysctl, err := os.ReadFile("/proc/sys/kernel/unprivileged_bpf_disabled")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("series %s, kernel.unprivileged_bpf_disabled = %s", series, strings.TrimSpace(string(sysctl)))
	f := &capFixture{prog: load(t, "capprog", constProg(1)), other: load(t, "capother", constProg(2)), link: -1}
	for _, op := range capOps {
		cells, ok := matrix[progtype.Command(op.name)]
		if !ok {
			t.Fatalf("series %s: no row for %s", series, op.name)
		}
		if len(cells) != len(progtype.CapSets) {
			t.Fatalf("series %s: %s has %d cells for %d capability sets", series, op.name, len(cells), len(progtype.CapSets))
		}
		for i, set := range progtype.CapSets {
			cell := cells[i]
			t.Run(op.name+"/"+set.Name, func(t *testing.T) {
				requireEmptySlot(t)
				if op.setup != nil {
					op.setup(t, f)
				}
				err := onThreadWithCaps(t, set.Caps, func() error { return op.run(f) })
				switch {
				case cell.Allowed && err != nil:
					t.Errorf("%s with %s: %v; want it allowed (%s)", op.name, set.Name, err, cell.Check)
				case !cell.Allowed && !errors.Is(err, unix.EPERM):
					t.Errorf("%s with %s: %v; want EPERM (%s)", op.name, set.Name, errOrOK(err), cell.Check)
				}
				if op.cleanup != nil {
					op.cleanup(t, f, err == nil)
				}
				requireEmptySlot(t)
			})
		}
	}
}

func errOrOK(err error) string {
	if err == nil {
		return "allowed"
	}
	return err.Error()
}

// kernel.unprivileged_bpf_disabled decides a load without CAP_BPF only
// for the types an unprivileged user may load at all: with it 0, a socket
// filter loads and an oreore program is still refused by bpf_prog_load's
// type check; with it 2, the sysctl refuses both (6.1 in __sys_bpf, 6.12
// in bpf_prog_load). The sysctl is restored; 1 cannot be undone, so a
// kernel that has 1 runs the 2 half as it is and skips the 0 half.
func TestCapUnprivilegedBPFDisabled(t *testing.T) {
	const path = "/proc/sys/kernel/unprivileged_bpf_disabled"
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if strings.TrimSpace(string(orig)) == "1" {
			return
		}
		if err := os.WriteFile(path, orig, 0); err != nil {
			t.Errorf("restoring %s to %s: %v", path, strings.TrimSpace(string(orig)), err)
		}
	})
	loadSock := func() error {
		fd, err := bpf.ProgLoad(bpf.ProgLoadAttr{Type: unix.BPF_PROG_TYPE_SOCKET_FILTER, Insns: constProg(0), License: "GPL"})
		if err == nil {
			fd.Close()
		}
		return err
	}
	loadOreore := func() error {
		fd, err := oreore.Load("capsysctl", constProg(1))
		if err == nil {
			fd.Close()
		}
		return err
	}
	for _, tt := range []struct {
		value      string
		sockFilter bool // a socket filter loads without capabilities
	}{
		{"2", false},
		{"0", true},
	} {
		t.Run("unprivileged_bpf_disabled="+tt.value, func(t *testing.T) {
			switch locked := strings.TrimSpace(string(orig)) == "1"; {
			case locked && tt.value == "0":
				t.Skip("the sysctl is 1, which the kernel never lets go back to 0")
			case locked:
				// 1 refuses what 2 refuses; it only cannot be changed.
			default:
				if err := os.WriteFile(path, []byte(tt.value), 0); err != nil {
					t.Fatal(err)
				}
			}
			if err := onThreadWithCaps(t, nil, loadSock); tt.sockFilter && err != nil {
				t.Errorf("socket filter without capabilities: %v, want it loaded", err)
			} else if !tt.sockFilter && !errors.Is(err, unix.EPERM) {
				t.Errorf("socket filter without capabilities: %v, want EPERM from the sysctl", errOrOK(err))
			}
			if err := onThreadWithCaps(t, nil, loadOreore); !errors.Is(err, unix.EPERM) {
				t.Errorf("oreore program without capabilities: %v, want EPERM", errOrOK(err))
			}
			if err := onThreadWithCaps(t, []int{unix.CAP_BPF}, loadOreore); err != nil {
				t.Errorf("oreore program with CAP_BPF: %v, want it loaded", err)
			}
		})
	}
}
