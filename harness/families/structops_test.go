//go:build guest

package families

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	. "oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/caps"
	"oreore/harness/guest"
	"oreore/harness/progtype"
)

// TestStructOps runs the struct_ops families once per described struct_ops
// type, on the series whose module can register it.
func TestStructOps(t *testing.T) {
	series := runningSeries(t)
	for _, o := range progtype.AllStructOps {
		t.Run(o.Name, func(t *testing.T) {
			if !o.Available(series) {
				// make vm-test says so too, and the module is not built.
				t.Skipf("a %s module cannot register struct_ops (register_bpf_struct_ops() is Linux 6.9's); %s is tested on %v", series, o.Name, o.Series)
			}
			k, err := progtype.RunningStructOps(o, series)
			if err != nil {
				t.Fatal(err)
			}
			defer k.ModuleBTF.Close()
			t.Run("btf", func(t *testing.T) { structOpsBTF(t, k) })
			t.Run("register through a map", func(t *testing.T) { registerThroughMap(t, k) })
			t.Run("register through a link", func(t *testing.T) { registerThroughLink(t, k) })
			if o.Single {
				t.Run("one instance", func(t *testing.T) { oneInstance(t, k) })
			}
			t.Run("required op missing", func(t *testing.T) { requiredOpMissing(t, k) })
			t.Run("sleepable programs", func(t *testing.T) { sleepablePrograms(t, k) })
			t.Run("op argument access", func(t *testing.T) { opArgumentAccess(t, k) })
			t.Run("capability matrix", func(t *testing.T) { structOpsCaps(t, k) })
			t.Run("runs race registration", func(t *testing.T) { runsRaceRegistration(t, k) })
			t.Run("module held while registered", func(t *testing.T) { moduleHeld(t, k) })
		})
	}
}

// The module's BTF has the struct with the described ops in order, each
// op's argument struct with the described fields, and the kernel's value
// type: vmlinux's common header, then the struct.
func structOpsBTF(t *testing.T, k *progtype.KernelStructOps) {
	value, err := k.Spec.Type(k.ValueID)
	if err != nil {
		t.Fatal(err)
	}
	if len(value.Members) != 2 || value.Members[0].Name != "common" {
		t.Fatalf("bpf_struct_ops_%s: members %+v, want common then data", k.Name, value.Members)
	}
	common, err := k.Spec.Type(value.Members[0].Type)
	if err != nil || common.Name != "bpf_struct_ops_common_value" {
		t.Errorf("bpf_struct_ops_%s.common is %+v (%v), want vmlinux's struct bpf_struct_ops_common_value", k.Name, common, err)
	}
	for _, op := range k.Ops {
		for _, f := range op.ArgFields {
			got, ok := k.ArgMembers[op.Name][f.Name]
			if !ok || got != [2]int{f.Off, f.Size} {
				t.Errorf("%s's argument %s.%s: BTF has offset and size %v (present: %v), the descriptor %d and %d", op.Name, op.Arg, f.Name, got, ok, f.Off, f.Size)
			}
		}
	}
	t.Logf("struct %s [%d], value type [%d] of %d bytes, data at %d, ops at %v", k.Name, k.StructID, k.ValueID, k.ValueSize, k.DataOff, k.OpOff)
}

// opProg loads a program for the named op; mod adjusts the attributes.
func opProg(t *testing.T, k *progtype.KernelStructOps, op string, insns Instructions, mod func(*bpf.ProgLoadAttr)) (bpf.FD, error) {
	t.Helper()
	fd, err := k.LoadOp(op, insns, mod)
	if err == nil {
		t.Cleanup(func() { fd.Close() })
	}
	return fd, err
}

// runProg is a program for the op the trigger runs: it returns the input
// field plus n and writes that to the output field, if the op has one.
func runProg(t *testing.T, k *progtype.KernelStructOps, n int32) bpf.FD {
	t.Helper()
	op, _, err := k.Op(k.Runs)
	if err != nil {
		t.Fatal(err)
	}
	insns := Instructions{LoadMem(R2, R1, 0, DWord)} // the argument: a pointer
	for _, f := range op.ArgFields {
		if f.Input {
			insns = append(insns, LoadMem(R0, R2, int16(f.Off), Word), Add.Imm32(R0, n))
		}
	}
	for _, f := range op.ArgFields {
		if f.Output && f.Write {
			insns = append(insns, StoreMem(R2, int16(f.Off), R0, Word))
		}
	}
	fd, err := opProg(t, k, k.Runs, append(insns, Return()), nil)
	if err != nil {
		t.Fatalf("loading %s: %v", k.Runs, err)
	}
	return fd
}

// nopProg is a program for a void op.
func nopProg(t *testing.T, k *progtype.KernelStructOps, op string) bpf.FD {
	t.Helper()
	fd, err := opProg(t, k, op, Instructions{Mov.Imm(R0, 0), Return()}, nil)
	if err != nil {
		t.Fatalf("loading %s: %v", op, err)
	}
	return fd
}

// opsMap creates a struct_ops map of the type (flags: BPF_F_LINK or 0).
func opsMap(t *testing.T, k *progtype.KernelStructOps, flags uint32) bpf.FD {
	t.Helper()
	m, err := k.NewMap(flags)
	if err != nil {
		t.Fatalf("struct_ops map of %s: %v", k.Name, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

var key0 = []byte{0, 0, 0, 0}

// runs checks what the trigger gives: in+n, or ENODEV (n < 0) when no
// instance is registered.
func opsRuns(t *testing.T, k *progtype.KernelStructOps, what string, n int32) {
	t.Helper()
	const in = 1000
	got, err := k.Trigger.Run(in)
	switch {
	case n < 0 && !errors.Is(err, unix.ENODEV):
		t.Errorf("%s: a run gives %d, %v; want ENODEV (nothing registered)", what, got, err)
	case n >= 0 && (err != nil || got != uint32(in+n)):
		t.Errorf("%s: a run gives %d, %v; want %d", what, got, err, in+n)
	}
}

// A map without BPF_F_LINK registers at its update and unregisters at its
// delete; what the trigger runs is what was registered, and nothing after.
func registerThroughMap(t *testing.T, k *progtype.KernelStructOps) {
	opsRuns(t, k, "before any registration", -1)
	m := opsMap(t, k, 0)
	if err := bpf.MapUpdateElem(m, key0, k.Value(map[string]bpf.FD{k.Runs: runProg(t, k, 7)}), 0); err != nil {
		t.Fatalf("registering through the map: %v", err)
	}
	opsRuns(t, k, "registered", 7)
	if err := bpf.MapDeleteElem(m, key0); err != nil {
		t.Fatalf("unregistering: %v", err)
	}
	opsRuns(t, k, "after the delete", -1)
}

// A map with BPF_F_LINK registers only when a link is made of it; the link
// swaps maps (BPF_F_REPLACE with the wrong old map is EPERM), detaches, and
// unregisters when closed.
func registerThroughLink(t *testing.T, k *progtype.KernelStructOps) {
	first, second := opsMap(t, k, unix.BPF_F_LINK), opsMap(t, k, unix.BPF_F_LINK)
	for m, n := range map[bpf.FD]int32{first: 1, second: 2} {
		if err := bpf.MapUpdateElem(m, key0, k.Value(map[string]bpf.FD{k.Runs: runProg(t, k, n)}), 0); err != nil {
			t.Fatalf("filling a BPF_F_LINK map: %v", err)
		}
	}
	opsRuns(t, k, "a BPF_F_LINK map filled, no link", -1)
	link, err := bpf.LinkCreate(bpf.LinkCreateAttr{Prog: first, AttachType: unix.BPF_STRUCT_OPS})
	if err != nil {
		t.Fatalf("link create: %v", err)
	}
	defer link.Close()
	opsRuns(t, k, "linked", 1)
	if err := bpf.LinkUpdate(bpf.LinkUpdateAttr{Link: link, NewProg: second, OldProg: second, Flags: unix.BPF_F_REPLACE}); !errors.Is(err, unix.EPERM) {
		t.Errorf("update with BPF_F_REPLACE and the wrong old map: %v, want EPERM", err)
	}
	opsRuns(t, k, "after the refused update", 1)
	if err := bpf.LinkUpdate(bpf.LinkUpdateAttr{Link: link, NewProg: second}); err != nil {
		t.Fatalf("update: %v", err)
	}
	opsRuns(t, k, "updated", 2)
	if err := bpf.LinkUpdate(bpf.LinkUpdateAttr{Link: link, NewProg: first, OldProg: second, Flags: unix.BPF_F_REPLACE}); err != nil {
		t.Fatalf("update with BPF_F_REPLACE and the right old map: %v", err)
	}
	opsRuns(t, k, "replaced", 1)
	if err := bpf.LinkDetach(link); err != nil {
		t.Fatalf("detach: %v", err)
	}
	opsRuns(t, k, "detached", -1)
	if err := bpf.LinkUpdate(bpf.LinkUpdateAttr{Link: link, NewProg: second}); !errors.Is(err, unix.ENOLINK) {
		t.Errorf("update of a detached link: %v, want ENOLINK", err)
	}
	// A map without BPF_F_LINK cannot be linked, and a linked one is not
	// registered by its update alone (above): the two ways stay apart.
	plain := opsMap(t, k, 0)
	if err := bpf.MapUpdateElem(plain, key0, k.Value(map[string]bpf.FD{k.Runs: runProg(t, k, 3)}), 0); err != nil {
		t.Fatal(err)
	}
	defer bpf.MapDeleteElem(plain, key0)
	if l, err := bpf.LinkCreate(bpf.LinkCreateAttr{Prog: plain, AttachType: unix.BPF_STRUCT_OPS}); !errors.Is(err, unix.EINVAL) {
		l.Close()
		t.Errorf("link create of a map without BPF_F_LINK: %v, want EINVAL", err)
	}
}

// One instance at a time: a second registration is refused (the module's
// reg), and takes once the first is gone.
func oneInstance(t *testing.T, k *progtype.KernelStructOps) {
	a, b := opsMap(t, k, 0), opsMap(t, k, 0)
	if err := bpf.MapUpdateElem(a, key0, k.Value(map[string]bpf.FD{k.Runs: runProg(t, k, 1)}), 0); err != nil {
		t.Fatal(err)
	}
	if err := bpf.MapUpdateElem(b, key0, k.Value(map[string]bpf.FD{k.Runs: runProg(t, k, 2)}), 0); !errors.Is(err, unix.EEXIST) {
		t.Errorf("a second instance: %v, want EEXIST", err)
		bpf.MapDeleteElem(b, key0)
	}
	opsRuns(t, k, "after the refused second", 1)
	linked := opsMap(t, k, unix.BPF_F_LINK)
	if err := bpf.MapUpdateElem(linked, key0, k.Value(map[string]bpf.FD{k.Runs: runProg(t, k, 3)}), 0); err != nil {
		t.Fatal(err)
	}
	if l, err := bpf.LinkCreate(bpf.LinkCreateAttr{Prog: linked, AttachType: unix.BPF_STRUCT_OPS}); !errors.Is(err, unix.EEXIST) {
		l.Close()
		t.Errorf("a second instance through a link: %v, want EEXIST", err)
	}
	if err := bpf.MapDeleteElem(a, key0); err != nil {
		t.Fatal(err)
	}
	// A refused update leaves the map unused: a fresh map takes the slot.
	registerRuns(t, k, "once the first is gone", 4)
}

// registerRuns registers, through a map, an instance whose run adds n, checks
// that the trigger runs it, and unregisters it.
func registerRuns(t *testing.T, k *progtype.KernelStructOps, what string, n int32) {
	t.Helper()
	m := opsMap(t, k, 0)
	if err := bpf.MapUpdateElem(m, key0, k.Value(map[string]bpf.FD{k.Runs: runProg(t, k, n)}), 0); err != nil {
		t.Fatalf("%s: registering: %v", what, err)
	}
	opsRuns(t, k, what, n)
	if err := bpf.MapDeleteElem(m, key0); err != nil {
		t.Errorf("%s: unregistering: %v", what, err)
	}
}

// An instance without a program for a required op is refused by the
// module's validate, and nothing is registered.
func requiredOpMissing(t *testing.T, k *progtype.KernelStructOps) {
	progs := map[string]bpf.FD{}
	for _, op := range k.Ops {
		if !op.Required && !op.Returns {
			progs[op.Name] = nopProg(t, k, op.Name)
		}
	}
	m := opsMap(t, k, 0)
	err := bpf.MapUpdateElem(m, key0, k.Value(progs), 0)
	if err == nil {
		bpf.MapDeleteElem(m, key0)
	}
	if k.Refused.Errno == 0 || !errors.Is(err, k.Refused.Errno) {
		t.Errorf("%s: %v, want %s", k.Refused.What, err, unix.ErrnoName(k.Refused.Errno))
	}
	opsRuns(t, k, "after the refusal", -1)
}

// A sleepable program may implement only the ops the descriptor says: the
// module's check_member refuses the others at load, with the verifier's
// line naming the member.
func sleepablePrograms(t *testing.T, k *progtype.KernelStructOps) {
	sleepable := func(a *bpf.ProgLoadAttr) { a.Flags |= unix.BPF_F_SLEEPABLE }
	for _, op := range k.Ops {
		_, err := opProg(t, k, op.Name, Instructions{Mov.Imm(R0, 0), Return()}, sleepable)
		switch {
		case op.Sleepable && err != nil:
			t.Errorf("%s: a sleepable program refused: %v", op.Name, err)
		case !op.Sleepable && err == nil:
			t.Errorf("%s: a sleepable program loaded; the op may not sleep", op.Name)
		case !op.Sleepable:
			var ve *bpf.VerifierError
			want := "attach to unsupported member " + op.Name + " of struct " + k.Name
			if !errors.As(err, &ve) || !ve.Contains(want) {
				t.Errorf("%s: %v; want the verifier's %q", op.Name, err, want)
			}
		}
	}
}

// Each field of an op's argument: a read loads, a write loads only where
// the descriptor allows one, and a read past the struct is refused with
// the verifier's line.
func opArgumentAccess(t *testing.T, k *progtype.KernelStructOps) {
	for _, op := range k.Ops {
		if op.Arg == "" {
			continue
		}
		end := 0
		for _, f := range op.ArgFields {
			end = max(end, f.Off+f.Size)
			size := Word
			if f.Size == 8 {
				size = DWord // a pointer is read whole, or not at all
			}
			read := Instructions{LoadMem(R2, R1, 0, DWord), LoadMem(R3, R2, int16(f.Off), size), Mov.Imm(R0, 0), Return()}
			if _, err := opProg(t, k, op.Name, read, nil); (err == nil) != f.Read {
				t.Errorf("%s: read of %s: %v, want allowed %v", op.Name, f.Name, err, f.Read)
			}
			write := Instructions{LoadMem(R2, R1, 0, DWord), Mov.Imm(R3, 5), StoreMem(R2, int16(f.Off), R3, size), Mov.Imm(R0, 0), Return()}
			_, err := opProg(t, k, op.Name, write, nil)
			if (err == nil) != f.Write {
				t.Errorf("%s: write of %s: %v, want allowed %v", op.Name, f.Name, err, f.Write)
			}
			if !f.Write && !errors.Is(err, unix.EACCES) {
				t.Errorf("%s: write of %s: %v, want EACCES", op.Name, f.Name, err)
			}
		}
		past := Instructions{LoadMem(R2, R1, 0, DWord), LoadMem(R0, R2, int16(end), Word), Return()}
		_, err := opProg(t, k, op.Name, past, nil)
		var ve *bpf.VerifierError
		if want := "access beyond struct " + op.Arg; !errors.As(err, &ve) || !ve.Contains(want) {
			t.Errorf("%s: read at %d, past the argument: %v; want the verifier's %q", op.Name, end, err, want)
		}
	}
}

// A registered instance holds the module: rmmod is refused while a map
// registers one, and works once the map is gone; the reloaded module
// registers again. (The map is freed from a workqueue after its last fd
// closes, so the module is released a moment later.)
func moduleHeld(t *testing.T, k *progtype.KernelStructOps) {
	m := opsMap(t, k, 0)
	if err := bpf.MapUpdateElem(m, key0, k.Value(map[string]bpf.FD{k.Runs: runProg(t, k, 5)}), 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.DeleteModule(k.Module, unix.O_NONBLOCK); !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("rmmod %s while an instance is registered: %v, want EAGAIN (in use)", k.Module, err)
	}
	opsRuns(t, k, "after the refused rmmod", 5)
	if err := bpf.MapDeleteElem(m, key0); err != nil {
		t.Fatal(err)
	}
	m.Close()
	// Every program of the families' earlier subtests was closed with them.
	if err := guest.RmmodWhenFree(k.Module, guest.ModuleFreeWait); err != nil {
		t.Fatalf("once nothing is registered: %v; struct_ops maps still alive: %s", err, liveStructOpsMaps())
	}
	if err := guest.Insmod(k.Module); err != nil {
		t.Fatal(err)
	}
	reloaded, err := progtype.RunningStructOps(k.StructOps, k.Series)
	if err != nil {
		t.Fatal(err)
	}
	defer reloaded.ModuleBTF.Close()
	registerRuns(t, reloaded, "the reloaded module", 6)
}

// liveStructOpsMaps names the struct_ops maps the kernel has not yet freed,
// to tell a slow free from a reference the harness leaked.
func liveStructOpsMaps() string {
	ids, err := bpf.MapIDs()
	if err != nil {
		return err.Error()
	}
	var live []string
	for _, id := range ids {
		m, err := bpf.MapGetFDByID(id)
		if err != nil {
			continue // freed since the walk
		}
		info, err := bpf.MapGetInfo(m)
		m.Close()
		if err == nil && info.Type == unix.BPF_MAP_TYPE_STRUCT_OPS {
			live = append(live, fmt.Sprintf("id %d %q", id, info.Name))
		}
	}
	if len(live) == 0 {
		return "none"
	}
	return strings.Join(live, ", ")
}

// Each command a struct_ops type's user makes, on a thread with exactly
// each capability set: allowed or EPERM as the descriptor's cell says,
// which names the kernel's check. An allowed registration runs.
func structOpsCaps(t *testing.T, k *progtype.KernelStructOps) {
	matrix, ok := k.Caps[k.Series]
	if !ok {
		t.Fatalf("%s: no capability matrix for series %s", k.Name, k.Series)
	}
	op, _, err := k.Op(k.Runs)
	if err != nil {
		t.Fatal(err)
	}
	insns := Instructions{Mov.Imm(R0, 0), Return()}
	if op.Returns {
		insns = Instructions{Mov.Imm(R0, 9), Return()}
	}
	for _, cmd := range []progtype.Command{progtype.CmdLoad, progtype.CmdMapCreate, progtype.CmdMapUpdate, progtype.CmdLinkCreate} {
		cells, ok := matrix[cmd]
		if !ok || len(cells) != len(progtype.CapSets) {
			t.Fatalf("series %s: no full row for %s", k.Series, cmd)
		}
		for i, set := range progtype.CapSets {
			cell := cells[i]
			t.Run(string(cmd)+"/"+set.Name, func(t *testing.T) {
				opsRuns(t, k, "before", -1)
				var do func() error
				var after func(ok bool)
				switch cmd {
				case progtype.CmdLoad:
					do = func() error {
						fd, err := k.LoadOp(k.Runs, insns, nil)
						if err == nil {
							fd.Close()
						}
						return err
					}
				case progtype.CmdMapCreate:
					do = func() error {
						m, err := k.NewMap(0)
						if err == nil {
							m.Close()
						}
						return err
					}
				case progtype.CmdMapUpdate:
					m := opsMap(t, k, 0)
					value := k.Value(map[string]bpf.FD{k.Runs: runProg(t, k, 3)})
					do = func() error { return bpf.MapUpdateElem(m, key0, value, 0) }
					after = func(ok bool) {
						if ok {
							opsRuns(t, k, "registered by "+set.Name, 3)
							bpf.MapDeleteElem(m, key0)
						}
					}
				case progtype.CmdLinkCreate:
					m := opsMap(t, k, unix.BPF_F_LINK)
					if err := bpf.MapUpdateElem(m, key0, k.Value(map[string]bpf.FD{k.Runs: runProg(t, k, 4)}), 0); err != nil {
						t.Fatal(err)
					}
					var link bpf.FD = -1
					do = func() error {
						var err error
						link, err = bpf.LinkCreate(bpf.LinkCreateAttr{Prog: m, AttachType: unix.BPF_STRUCT_OPS})
						return err
					}
					after = func(ok bool) {
						if ok {
							opsRuns(t, k, "linked by "+set.Name, 4)
							link.Close()
						}
					}
				}
				err, setupErr := caps.OnThread(set.Caps, do)
				if setupErr != nil {
					t.Fatal(setupErr)
				}
				checkCell(t, cmd, set, cell, err)
				if after != nil {
					after(err == nil)
				}
				opsRuns(t, k, "after", -1)
			})
		}
	}
}

// Writers run the trigger while the main goroutine creates, updates,
// detaches and closes links, and a third tries to remove the module: every
// run gives one of the registered programs' answers or ENODEV, never
// another error, and every rmmod is EAGAIN (the maps and programs hold the
// module, registered or not). The debug flavor (KASAN, lockdep, PROVE_RCU)
// is where a missed grace period or a bad lock order in the module's
// reg/unreg/update, or in its unload against them, shows.
func runsRaceRegistration(t *testing.T, k *progtype.KernelStructOps) {
	const in = 1000
	a, b := opsMap(t, k, unix.BPF_F_LINK), opsMap(t, k, unix.BPF_F_LINK)
	for m, n := range map[bpf.FD]int32{a: 1, b: 2} {
		if err := bpf.MapUpdateElem(m, key0, k.Value(map[string]bpf.FD{k.Runs: runProg(t, k, n)}), 0); err != nil {
			t.Fatal(err)
		}
	}
	cycles := 200
	if testing.Short() {
		cycles = 20
	}
	stop := make(chan struct{})
	// The registrations are short: the main goroutine waits (a little) for
	// each program to be run before it moves on, so that runs meet every
	// step of the cycle.
	var seen [3]atomic.Int64
	waitRun := func(n int) {
		before := seen[n].Load()
		for deadline := time.Now().Add(50 * time.Millisecond); seen[n].Load() == before && time.Now().Before(deadline); {
			runtime.Gosched()
		}
	}
	type tally struct {
		answers map[uint32]int
		nodev   int
		err     error
	}
	results := make(chan tally, 2)
	for w := 0; w < 2; w++ {
		go func() {
			r := tally{answers: map[uint32]int{}}
			for {
				select {
				case <-stop:
					results <- r
					return
				default:
				}
				got, err := k.Trigger.Run(in)
				switch {
				case errors.Is(err, unix.ENODEV):
					r.nodev++
				case err != nil:
					r.err = err
				case got != in+1 && got != in+2:
					r.err = fmt.Errorf("a run gave %d, which no registered program returns", got)
				default:
					r.answers[got]++
					seen[got-in].Add(1)
				}
			}
		}()
	}
	type rmmods struct {
		tries int
		err   error
	}
	unloads := make(chan rmmods, 1)
	go func() {
		var r rmmods
		for {
			select {
			case <-stop:
				unloads <- r
				return
			default:
			}
			r.tries++
			if err := unix.DeleteModule(k.Module, unix.O_NONBLOCK); !errors.Is(err, unix.EAGAIN) {
				r.err = fmt.Errorf("rmmod %s during the race: %v, want EAGAIN (held by the race's maps and programs)", k.Module, err)
				unloads <- r
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	for i := 0; i < cycles; i++ {
		link, err := bpf.LinkCreate(bpf.LinkCreateAttr{Prog: a, AttachType: unix.BPF_STRUCT_OPS})
		if err != nil {
			t.Errorf("cycle %d: link create: %v", i, err)
			break
		}
		waitRun(1)
		if err := bpf.LinkUpdate(bpf.LinkUpdateAttr{Link: link, NewProg: b}); err != nil {
			t.Errorf("cycle %d: update: %v", i, err)
		}
		waitRun(2)
		if i%2 == 1 {
			if err := bpf.LinkDetach(link); err != nil {
				t.Errorf("cycle %d: detach: %v", i, err)
			}
		}
		link.Close()
	}
	close(stop)
	total := tally{answers: map[uint32]int{}}
	for w := 0; w < 2; w++ {
		r := <-results
		if r.err != nil {
			t.Errorf("a writer: %v", r.err)
		}
		total.nodev += r.nodev
		for a, n := range r.answers {
			total.answers[a] += n
		}
	}
	u := <-unloads
	if u.err != nil {
		t.Error(u.err)
	}
	t.Logf("%d cycles: answers %v, ENODEV %d, rmmod refused %d times", cycles, total.answers, total.nodev, u.tries)
	if total.answers[in+1] == 0 || total.answers[in+2] == 0 {
		t.Errorf("the writers never met one of the programs (answers %v): the race was not run", total.answers)
	}
	opsRuns(t, k, "after the race", -1)
}
