//go:build guest

package families

import (
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	. "oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/caps"
	"oreore/harness/progtype"
)

// capOp is one command of the matrix. setup runs as root before the
// command, run on the restricted thread, and cleanup as root after it,
// told whether the command went through; every op leaves the slot empty.
type capOp struct {
	setup   func(t *testing.T, f *capFixture)
	run     func(f *capFixture) error
	cleanup func(t *testing.T, f *capFixture, ok bool)
}

// capFixture holds what root prepared: programs that return 1 and 2,
// loaded with every capability, and the link a command made.
type capFixture struct {
	s           slot
	prog, other bpf.FD
	link        bpf.FD
}

func constProg(v int32) Instructions { return Instructions{Mov.Imm(R0, v), Return()} }

// wantRun checks what a run through the trigger gives: v (0: no program).
func (f *capFixture) wantRun(t *testing.T, when string, v uint32) {
	t.Helper()
	got, err := f.s.k.Trigger.Run(0)
	if err != nil || got != v {
		t.Errorf("%s: a run gives %d, %v; want %d", when, got, err, v)
	}
}

func capOps(k *progtype.Kernel) map[progtype.Command]capOp {
	return map[progtype.Command]capOp{
		progtype.CmdLoad: {run: func(f *capFixture) error {
			fd, err := bpf.ProgLoad(bpf.ProgLoadAttr{Type: k.Numbers.ProgType, Insns: constProg(1), License: "GPL",
				Name: "capload", ExpectedAttachType: k.Numbers.AttachType})
			if err == nil {
				fd.Close()
			}
			return err
		}},
		progtype.CmdAttach: {
			run: func(f *capFixture) error { return f.s.attach(f.prog) },
			cleanup: func(t *testing.T, f *capFixture, ok bool) {
				if ok {
					f.wantRun(t, "with the program the restricted thread attached", 1)
					is(t, "root's detach after the attach", f.s.detach(f.prog), 0)
				}
			},
		},
		progtype.CmdDetach: {
			setup: func(t *testing.T, f *capFixture) { is(t, "root's attach", f.s.attach(f.prog), 0) },
			run:   func(f *capFixture) error { return f.s.detach(f.prog) },
			cleanup: func(t *testing.T, f *capFixture, ok bool) {
				if !ok {
					f.wantRun(t, "after the refused detach", 1)
					is(t, "root's detach", f.s.detach(f.prog), 0)
				}
			},
		},
		progtype.CmdLinkCreate: {
			run: func(f *capFixture) error {
				var err error
				f.link, err = f.s.link(f.prog)
				return err
			},
			cleanup: func(t *testing.T, f *capFixture, ok bool) {
				if ok {
					f.wantRun(t, "with the link the restricted thread made", 1)
					f.link.Close()
				}
			},
		},
		progtype.CmdLinkUpdate: {
			setup: func(t *testing.T, f *capFixture) {
				var err error
				if f.link, err = f.s.link(f.prog); err != nil {
					t.Fatalf("root's link: %v", err)
				}
			},
			run: func(f *capFixture) error { return bpf.LinkUpdate(bpf.LinkUpdateAttr{Link: f.link, NewProg: f.other}) },
			cleanup: func(t *testing.T, f *capFixture, ok bool) {
				want := uint32(1)
				if ok {
					want = 2
				}
				f.wantRun(t, "after the update", want)
				f.link.Close()
			},
		},
		progtype.CmdLinkDetach: {
			setup: func(t *testing.T, f *capFixture) {
				var err error
				if f.link, err = f.s.link(f.prog); err != nil {
					t.Fatalf("root's link: %v", err)
				}
			},
			run: func(f *capFixture) error { return bpf.LinkDetach(f.link) },
			cleanup: func(t *testing.T, f *capFixture, ok bool) {
				if ok {
					f.s.runs("after the restricted thread's detach", -1)
				} else {
					f.wantRun(t, "after the refused detach", 1)
				}
				f.link.Close()
			},
		},
		progtype.CmdQuery: {run: func(f *capFixture) error {
			_, err := bpf.ProgQuery(0, k.Numbers.AttachType, 4)
			return err
		}},
		progtype.CmdTestRun: {run: func(f *capFixture) error {
			_, err := bpf.ProgTestRun(f.prog, bpf.TestRun{CtxIn: ctxBytes(k)})
			return err
		}},
	}
}

// The capability matrix: every command the type supports, run on a
// thread whose capabilities are exactly one of progtype.CapSets, against
// the descriptor's cells for the running series, each naming the kernel
// check that decides it. A series that checked the wrong capability flips
// at least one cell.
func capabilityMatrix(t *testing.T, k *progtype.Kernel) {
	matrix, ok := k.Caps[k.Series]
	if !ok {
		t.Fatalf("%s: no capability matrix for series %s", k.Name, k.Series)
	}
	sysctl, err := os.ReadFile("/proc/sys/kernel/unprivileged_bpf_disabled")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("series %s, kernel.unprivileged_bpf_disabled = %s", k.Series, strings.TrimSpace(string(sysctl)))
	f := &capFixture{s: slot{t, k}, prog: mustLoad(t, k, constProg(1)), other: mustLoad(t, k, constProg(2)), link: -1}
	ops := capOps(k)
	for _, cmd := range []progtype.Command{progtype.CmdLoad, progtype.CmdAttach, progtype.CmdDetach,
		progtype.CmdLinkCreate, progtype.CmdLinkUpdate, progtype.CmdLinkDetach, progtype.CmdQuery, progtype.CmdTestRun} {
		cells, ok := matrix[cmd]
		if !ok {
			if (cmd == progtype.CmdAttach || cmd == progtype.CmdDetach) && !k.Attach.ProgAttach {
				continue // a link-only point: "prog attach refused" in single slot
			}
			t.Fatalf("series %s: no row for %s", k.Series, cmd)
		}
		op := ops[cmd]
		for i, set := range progtype.CapSets {
			cell := cells[i]
			t.Run(string(cmd)+"/"+set.Name, func(t *testing.T) {
				f.s = slot{t, k}
				f.s.runs("before", -1)
				if op.setup != nil {
					op.setup(t, f)
				}
				err, setupErr := caps.OnThread(set.Caps, func() error { return op.run(f) })
				if setupErr != nil {
					t.Fatal(setupErr)
				}
				checkCell(t, cmd, set, cell, err)
				if op.cleanup != nil {
					op.cleanup(t, f, err == nil)
				}
				f.s.runs("after", -1)
			})
		}
	}
}

// checkCell compares what a command did with one capability set with the
// matrix's cell, which names the kernel's check.
func checkCell(t *testing.T, cmd progtype.Command, set progtype.CapSet, cell progtype.Cell, err error) {
	t.Helper()
	switch {
	case cell.Allowed && err != nil:
		t.Errorf("%s with %s: %v; want it allowed (%s)", cmd, set.Name, err, cell.Check)
	case !cell.Allowed && !errors.Is(err, unix.EPERM):
		t.Errorf("%s with %s: %v; want EPERM (%s)", cmd, set.Name, errOrOK(err), cell.Check)
	}
}

func errOrOK(err error) string {
	if err == nil {
		return "allowed"
	}
	return err.Error()
}
