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
)

// The capability matrix: each bpf() command the oreore type supports, run
// on a thread whose capabilities are exactly one of these sets. Linux
// checks capabilities per thread (capable() reads current's effective
// set), so a thread that dropped the others with capset(2) is the whole
// experiment; the process stays root, and uid 0 without capabilities is
// no more privileged than nobody for these checks.
var capSets = []struct {
	name string
	caps []int
}{
	{"none", nil},
	{"CAP_BPF", []int{unix.CAP_BPF}},
	{"CAP_BPF+CAP_NET_ADMIN", []int{unix.CAP_BPF, unix.CAP_NET_ADMIN}},
	{"CAP_BPF+CAP_PERFMON", []int{unix.CAP_BPF, unix.CAP_PERFMON}},
	{"CAP_SYS_ADMIN", []int{unix.CAP_SYS_ADMIN}},
}

// capCell is what one command does with one set: allowed, or EPERM, and
// the kernel check that decides it, quoted from the series' tree
// (kernel/bpf/syscall.c and the series' kernel/bpf/oreore.c).
type capCell struct {
	allowed bool
	check   string
}

func allowed(check string) capCell { return capCell{true, check} }
func eperm(check string) capCell   { return capCell{false, check} }

// capMatrix is, per series and command, one cell per set in capSets order:
// none, CAP_BPF, CAP_BPF+CAP_NET_ADMIN, CAP_BPF+CAP_PERFMON, CAP_SYS_ADMIN.
// bpf_capable() is CAP_BPF or CAP_SYS_ADMIN (include/linux/capability.h);
// 6.12's bpf_token_capable(NULL, cap) is capable(cap) or, for any cap but
// CAP_SYS_ADMIN itself, capable(CAP_SYS_ADMIN) (kernel/bpf/token.c), and
// bpf_net_capable() is CAP_NET_ADMIN or CAP_SYS_ADMIN (include/linux/bpf.h).
var capMatrix = map[string]map[string][5]capCell{
	"6.1": {
		"load": {
			// __sys_bpf refuses BPF_PROG_LOAD without bpf_capable() when
			// kernel.unprivileged_bpf_disabled is set; when it is 0,
			// bpf_prog_load's type check does (TestCapUnprivilegedBPFDisabled).
			eperm("__sys_bpf: !bpf_capable() && sysctl_unprivileged_bpf_disabled, else bpf_prog_load: type != SOCKET_FILTER/CGROUP_SKB && !bpf_capable()"),
			allowed("bpf_prog_load: bpf_capable() (CAP_BPF); is_net_admin_prog_type() and is_perfmon_prog_type() leave OREORE out"),
			allowed("bpf_prog_load: bpf_capable() (CAP_BPF)"),
			allowed("bpf_prog_load: bpf_capable() (CAP_BPF)"),
			allowed("bpf_prog_load: bpf_capable() (CAP_SYS_ADMIN stands for CAP_BPF)"),
		},
		"attach": {
			eperm("bpf_oreore_prog_attach: !capable(CAP_NET_ADMIN) (bpf_prog_attach checks none)"),
			eperm("bpf_oreore_prog_attach: !capable(CAP_NET_ADMIN)"),
			allowed("bpf_oreore_prog_attach: capable(CAP_NET_ADMIN), the check the core's query makes"),
			eperm("bpf_oreore_prog_attach: !capable(CAP_NET_ADMIN)"),
			eperm("bpf_oreore_prog_attach: !capable(CAP_NET_ADMIN); 6.1 has no bpf_net_capable(), CAP_SYS_ADMIN does not stand for it"),
		},
		"detach": {
			eperm("bpf_oreore_prog_detach: !capable(CAP_NET_ADMIN) (bpf_prog_detach checks none)"),
			eperm("bpf_oreore_prog_detach: !capable(CAP_NET_ADMIN)"),
			allowed("bpf_oreore_prog_detach: capable(CAP_NET_ADMIN), the check the core's query makes"),
			eperm("bpf_oreore_prog_detach: !capable(CAP_NET_ADMIN)"),
			eperm("bpf_oreore_prog_detach: !capable(CAP_NET_ADMIN); 6.1 has no bpf_net_capable(), CAP_SYS_ADMIN does not stand for it"),
		},
		"link create": {
			eperm("bpf_oreore_link_create: !capable(CAP_NET_ADMIN) (link_create checks none)"),
			eperm("bpf_oreore_link_create: !capable(CAP_NET_ADMIN)"),
			allowed("bpf_oreore_link_create: capable(CAP_NET_ADMIN), the check the core's query makes"),
			eperm("bpf_oreore_link_create: !capable(CAP_NET_ADMIN)"),
			eperm("bpf_oreore_link_create: !capable(CAP_NET_ADMIN); 6.1 has no bpf_net_capable(), CAP_SYS_ADMIN does not stand for it"),
		},
		// The link's fd is the permission: link_update and
		// bpf_oreore_link_update_prog check no capability, as for every
		// link type, so whoever holds the link (and a program fd) may
		// swap its program.
		"link update": {
			allowed("link_update, bpf_oreore_link_update_prog: no capability check"),
			allowed("link_update: no capability check"),
			allowed("link_update: no capability check"),
			allowed("link_update: no capability check"),
			allowed("link_update: no capability check"),
		},
		"query": {
			eperm("bpf_prog_query: !capable(CAP_NET_ADMIN)"),
			eperm("bpf_prog_query: !capable(CAP_NET_ADMIN)"),
			allowed("bpf_prog_query: capable(CAP_NET_ADMIN)"),
			eperm("bpf_prog_query: !capable(CAP_NET_ADMIN)"),
			eperm("bpf_prog_query: !capable(CAP_NET_ADMIN); 6.1 has no bpf_net_capable(), CAP_SYS_ADMIN does not stand for it"),
		},
		// The program's fd is the permission: bpf_prog_test_run and
		// bpf_prog_test_run_oreore check no capability.
		"test_run": {
			allowed("bpf_prog_test_run, bpf_prog_test_run_oreore: no capability check"),
			allowed("bpf_prog_test_run: no capability check"),
			allowed("bpf_prog_test_run: no capability check"),
			allowed("bpf_prog_test_run: no capability check"),
			allowed("bpf_prog_test_run: no capability check"),
		},
	},
	"6.12": {
		"load": {
			// The sysctl check moved from __sys_bpf into bpf_prog_load.
			eperm("bpf_prog_load: sysctl_unprivileged_bpf_disabled && !bpf_cap, else type != SOCKET_FILTER/CGROUP_SKB && !bpf_cap (bpf_token_capable(token, CAP_BPF))"),
			allowed("bpf_prog_load: bpf_token_capable(CAP_BPF); is_net_admin_prog_type() and is_perfmon_prog_type() leave OREORE out"),
			allowed("bpf_prog_load: bpf_token_capable(CAP_BPF)"),
			allowed("bpf_prog_load: bpf_token_capable(CAP_BPF)"),
			allowed("bpf_prog_load: bpf_token_capable(CAP_BPF) (CAP_SYS_ADMIN stands for CAP_BPF in bpf_ns_capable)"),
		},
		"attach": {
			eperm("bpf_oreore_prog_attach: !bpf_net_capable() (bpf_prog_attach checks none)"),
			eperm("bpf_oreore_prog_attach: !bpf_net_capable()"),
			allowed("bpf_oreore_prog_attach: bpf_net_capable() (CAP_NET_ADMIN), the check the core's query makes"),
			eperm("bpf_oreore_prog_attach: !bpf_net_capable()"),
			allowed("bpf_oreore_prog_attach: bpf_net_capable() (CAP_SYS_ADMIN stands for CAP_NET_ADMIN since 6.6)"),
		},
		"detach": {
			eperm("bpf_oreore_prog_detach: !bpf_net_capable() (bpf_prog_detach checks none)"),
			eperm("bpf_oreore_prog_detach: !bpf_net_capable()"),
			allowed("bpf_oreore_prog_detach: bpf_net_capable() (CAP_NET_ADMIN), the check the core's query makes"),
			eperm("bpf_oreore_prog_detach: !bpf_net_capable()"),
			allowed("bpf_oreore_prog_detach: bpf_net_capable() (CAP_SYS_ADMIN stands for CAP_NET_ADMIN since 6.6)"),
		},
		"link create": {
			eperm("bpf_oreore_link_create: !bpf_net_capable() (link_create checks none)"),
			eperm("bpf_oreore_link_create: !bpf_net_capable()"),
			allowed("bpf_oreore_link_create: bpf_net_capable() (CAP_NET_ADMIN), the check the core's query makes"),
			eperm("bpf_oreore_link_create: !bpf_net_capable()"),
			allowed("bpf_oreore_link_create: bpf_net_capable() (CAP_SYS_ADMIN stands for CAP_NET_ADMIN since 6.6)"),
		},
		"link update": {
			allowed("link_update, bpf_oreore_link_update_prog: no capability check"),
			allowed("link_update: no capability check"),
			allowed("link_update: no capability check"),
			allowed("link_update: no capability check"),
			allowed("link_update: no capability check"),
		},
		"query": {
			eperm("bpf_prog_query: !bpf_net_capable()"),
			eperm("bpf_prog_query: !bpf_net_capable()"),
			allowed("bpf_prog_query: bpf_net_capable() (CAP_NET_ADMIN)"),
			eperm("bpf_prog_query: !bpf_net_capable()"),
			allowed("bpf_prog_query: bpf_net_capable() (CAP_SYS_ADMIN stands for CAP_NET_ADMIN since 6.6)"),
		},
		"test_run": {
			allowed("bpf_prog_test_run, bpf_prog_test_run_oreore: no capability check"),
			allowed("bpf_prog_test_run: no capability check"),
			allowed("bpf_prog_test_run: no capability check"),
			allowed("bpf_prog_test_run: no capability check"),
			allowed("bpf_prog_test_run: no capability check"),
		},
	},
}

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
	matrix, ok := capMatrix[series]
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
		cells, ok := matrix[op.name]
		if !ok {
			t.Fatalf("series %s: no row for %s", series, op.name)
		}
		for i, set := range capSets {
			cell := cells[i]
			t.Run(op.name+"/"+set.name, func(t *testing.T) {
				requireEmptySlot(t)
				if op.setup != nil {
					op.setup(t, f)
				}
				err := onThreadWithCaps(t, set.caps, func() error { return op.run(f) })
				switch {
				case cell.allowed && err != nil:
					t.Errorf("%s with %s: %v; want it allowed (%s)", op.name, set.name, err, cell.check)
				case !cell.allowed && !errors.Is(err, unix.EPERM):
					t.Errorf("%s with %s: %v; want EPERM (%s)", op.name, set.name, errOrOK(err), cell.check)
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
