//go:build guest

package families

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	. "oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/caps"
	"oreore/harness/guest"
	"oreore/harness/progtype"
)

// TestKfuncs runs the kfunc families once per described set: from each
// kfunc's flags, a program that uses it as the flags require (it loads and
// runs) and the programs that break the contract (the verifier refuses
// each, with its own message).
func TestKfuncs(t *testing.T) {
	series := runningSeries(t)
	for _, s := range progtype.AllKfuncSets {
		t.Run(s.Module, func(t *testing.T) {
			if !s.Available(series) {
				t.Skipf("%s's kfuncs are registered from a module on %v; this is %s", s.Module, s.Series, series)
			}
			k, err := progtype.RunningKfuncs(s, series)
			if err != nil {
				t.Fatal(err)
			}
			defer k.ModuleBTF.Close()
			if acq, ok := s.With(progtype.KFAcquire); ok {
				rel, ok := s.With(progtype.KFRelease)
				if !ok {
					t.Fatalf("%s acquires, and no kfunc of the set releases", acq.Name)
				}
				t.Run("acquire and release", func(t *testing.T) { acquireRelease(t, k, acq, rel) })
				t.Run("callers hold the module", func(t *testing.T) { callersHoldTheModule(t, k, acq, rel) })
			}
			if f, ok := s.With(progtype.KFSleepable); ok {
				t.Run("sleepable", func(t *testing.T) { sleepableKfunc(t, k, f) })
			}
			if f, ok := s.With(progtype.KFDestructive); ok {
				t.Run("destructive", func(t *testing.T) { destructiveKfunc(t, k, f) })
			}
			if f, ok := s.With(progtype.KFTrustedArgs); ok && s.Untrusted != nil {
				t.Run("trusted arguments", func(t *testing.T) { trustedArgs(t, k, f) })
			}
			t.Run("other program types", func(t *testing.T) { kfuncElsewhere(t, k) })
		})
	}
}

func runningSeries(t *testing.T) string {
	t.Helper()
	series, err := progtype.RunningSeries()
	if err != nil {
		t.Fatal(err)
	}
	return series
}

// call is a call of the set's kfunc name.
func (k kfuncs) call(name string) Instruction {
	ins, err := k.Call(name)
	if err != nil {
		k.t.Fatal(err)
	}
	return ins
}

type kfuncs struct {
	t *testing.T
	*progtype.KernelKfuncs
}

// syscallProg loads insns as a BPF_PROG_TYPE_SYSCALL program.
func syscallProg(t *testing.T, k *progtype.KernelKfuncs, insns Instructions) (bpf.FD, error) {
	fd, err := k.LoadSyscall(insns)
	if err == nil {
		t.Cleanup(func() { fd.Close() })
	}
	return fd, err
}

func wantRefused(t *testing.T, what string, err error, msg string) {
	t.Helper()
	var ve *bpf.VerifierError
	if !errors.As(err, &ve) || !ve.Contains(msg) {
		t.Errorf("%s: %v; want the verifier's %q", what, err, msg)
	}
}

// KF_ACQUIRE, KF_RET_NULL, KF_RELEASE, KF_TRUSTED_ARGS: a program that
// checks for NULL, hands the object to the set's trusted-argument kfunc and
// releases it loads, and runs (an object for a valid id, NULL for an
// invalid one); one that never releases, or releases without the NULL
// check, is refused.
func acquireRelease(t *testing.T, k *progtype.KernelKfuncs, acq, rel progtype.Kfunc) {
	kf := kfuncs{t, k}
	use := Instructions{}
	if set, ok := k.With(progtype.KFTrustedArgs); ok && set.Args == 2 {
		use = Instructions{Mov.Reg(R1, R6), Mov.Imm(R2, 77), kf.call(set.Name)}
	}
	prog := func(id uint32) Instructions {
		// return 1 when acquired (and released), 0 when NULL
		body := append(Instructions{Mov.Reg(R6, R0)}, use...)
		body = append(body, Mov.Reg(R1, R6), kf.call(rel.Name), Mov.Imm(R0, 1), Return())
		p := Instructions{Mov.Imm(R1, int32(id)), kf.call(acq.Name), JEq.Imm(R0, 0, int16(len(body)))}
		return append(append(p, body...), Mov.Imm(R0, 0), Return())
	}
	for _, tc := range []struct {
		id   uint32
		want uint32
	}{{k.ValidID, 1}, {k.InvalidID, 0}} {
		fd, err := syscallProg(t, k, prog(tc.id))
		if err != nil {
			t.Fatalf("acquire %d, check, use, release: %v", tc.id, err)
		}
		res, err := bpf.ProgTestRun(fd, bpf.TestRun{})
		if err != nil || res.Retval != tc.want {
			t.Errorf("acquire %d: the program returns %d, %v; want %d (1: an object, 0: NULL)", tc.id, res.Retval, err, tc.want)
		}
	}
	if k.StructOps != nil {
		acquireThroughTheTrigger(t, k, prog)
	}
	_, err := syscallProg(t, k, Instructions{Mov.Imm(R1, int32(k.ValidID)), kf.call(acq.Name), Mov.Imm(R0, 0), Return()})
	wantRefused(t, "acquired, never released", err, "Unreleased reference")
	_, err = syscallProg(t, k, Instructions{Mov.Imm(R1, int32(k.ValidID)), kf.call(acq.Name), Mov.Reg(R1, R0), kf.call(rel.Name),
		Mov.Imm(R0, 0), Return()})
	if acq.Flags&progtype.KFRetNull != 0 {
		wantRefused(t, "released without the NULL check", err, "Possibly NULL pointer passed to trusted") // arg0 up to 6.12, R1 on 7.3
	} else if err != nil {
		t.Errorf("released without a NULL check: %v; without KF_RET_NULL the result needs none", err)
	}
	// Released twice: the first release turns every copy of the pointer
	// into a scalar, which the second may not take.
	body := Instructions{Mov.Reg(R6, R0), Mov.Reg(R1, R6), kf.call(rel.Name), Mov.Reg(R1, R6), kf.call(rel.Name)}
	twice := append(Instructions{Mov.Imm(R1, int32(k.ValidID)), kf.call(acq.Name), JEq.Imm(R0, 0, int16(len(body)))}, body...)
	_, err = syscallProg(t, k, append(twice, Mov.Imm(R0, 0), Return()))
	// 7.3 says it of the release: "release kfunc ... expects referenced
	// PTR_TO_BTF_ID passed to R1".
	msg := "R1 type=scalar expected="
	if runningSeries(t) == "7.3" {
		msg = "expects referenced PTR_TO_BTF_ID passed to R1"
	}
	wantRefused(t, "released twice", err, msg)
}

// KF_SLEEPABLE: a sleepable program may call it; a program of a
// struct_ops op that may not sleep is refused.
func sleepableKfunc(t *testing.T, k *progtype.KernelKfuncs, f progtype.Kfunc) {
	kf := kfuncs{t, k}
	insns := Instructions{Mov.Imm(R1, 1), kf.call(f.Name), Mov.Imm(R0, 0), Return()}
	if _, err := syscallProg(t, k, insns); err != nil {
		t.Errorf("a sleepable program calling %s: %v", f.Name, err)
	}
	if k.StructOps == nil {
		return
	}
	ops, err := progtype.RunningStructOps(k.StructOps, runningSeries(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ops.ModuleBTF.Close()
	for _, op := range ops.Ops {
		if op.Sleepable {
			continue
		}
		_, err := opProg(t, ops, op.Name, insns, func(a *bpf.ProgLoadAttr) { a.FDArray = k.FDArray() })
		wantRefused(t, op.Name+", which may not sleep, calling "+f.Name, err, "program must be sleepable to call sleepable kfunc "+f.Name)
	}
}

// KF_DESTRUCTIVE: loading a caller takes CAP_SYS_BOOT besides what the
// program type needs.
func destructiveKfunc(t *testing.T, k *progtype.KernelKfuncs, f progtype.Kfunc) {
	kf := kfuncs{t, k}
	insns := Instructions{kf.call(f.Name), Mov.Imm(R0, 0), Return()}
	for _, tc := range []struct {
		name string
		caps []int
		ok   bool
	}{
		{"CAP_BPF", []int{unix.CAP_BPF}, false},
		{"CAP_BPF+CAP_SYS_BOOT", []int{unix.CAP_BPF, unix.CAP_SYS_BOOT}, true},
	} {
		var fd bpf.FD
		err, setup := caps.OnThread(tc.caps, func() error {
			var err error
			fd, err = syscallProg(t, k, insns)
			return err
		})
		if setup != nil {
			t.Fatal(setup)
		}
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v; want it loaded", tc.name, err)
		case !tc.ok:
			if err == nil {
				fd.Close()
			}
			wantRefused(t, tc.name, err, "destructive kfunc calls require CAP_SYS_BOOT capability")
		}
	}
}

// A program type the set is not registered for may not call it.
func kfuncElsewhere(t *testing.T, k *progtype.KernelKfuncs) {
	kf := kfuncs{t, k}
	first := k.Kfuncs[0]
	for _, pt := range k.ProgTypes {
		if pt == unix.BPF_PROG_TYPE_SOCKET_FILTER {
			t.Fatalf("the set is registered for socket filters: pick another program type here")
		}
	}
	insns := Instructions{Mov.Imm(R1, int32(k.ValidID)), kf.call(first.Name), Mov.Imm(R0, 0), Return()}
	_, err := bpf.ProgLoad(bpf.ProgLoadAttr{Type: unix.BPF_PROG_TYPE_SOCKET_FILTER, Insns: insns, License: "GPL", Name: "kfunc",
		FDArray: k.FDArray()})
	wantRefused(t, "a socket filter calling "+first.Name, err, "calling kernel function "+first.Name+" is not allowed")
}

// KF_TRUSTED_ARGS: a pointer the verifier does not trust (one loaded from
// an op's argument) is refused where the kfunc wants a trusted one.
func trustedArgs(t *testing.T, k *progtype.KernelKfuncs, f progtype.Kfunc) {
	kf := kfuncs{t, k}
	ops, err := progtype.RunningStructOps(k.StructOps, runningSeries(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ops.ModuleBTF.Close()
	op, _, err := ops.Op(k.Untrusted.Op)
	if err != nil {
		t.Fatal(err)
	}
	off := -1
	for _, fld := range op.ArgFields {
		if fld.Name == k.Untrusted.Field {
			off = fld.Off
		}
	}
	if off < 0 {
		t.Fatalf("%s's argument has no field %s", op.Name, k.Untrusted.Field)
	}
	insns := Instructions{LoadMem(R2, R1, 0, DWord), LoadMem(R1, R2, int16(off), DWord), Mov.Imm(R2, 5), kf.call(f.Name),
		Mov.Imm(R0, 0), Return()}
	_, err = opProg(t, ops, op.Name, insns, func(a *bpf.ProgLoadAttr) { a.FDArray = k.FDArray() })
	wantRefused(t, f.Name+" given "+op.Arg+"."+k.Untrusted.Field, err, "R1 must be referenced or trusted")
}

// The same use in the op the struct_ops type's trigger runs, on the id the
// trigger is given (its input field): registered, the trigger returns 1 for
// a valid id and 0 for an invalid one.
func acquireThroughTheTrigger(t *testing.T, k *progtype.KernelKfuncs, prog func(id uint32) Instructions) {
	ops, err := progtype.RunningStructOps(k.StructOps, runningSeries(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ops.ModuleBTF.Close()
	op, _, err := ops.Op(ops.Runs)
	if err != nil {
		t.Fatal(err)
	}
	in := -1
	for _, f := range op.ArgFields {
		if f.Input {
			in = f.Off
		}
	}
	if in < 0 {
		t.Fatalf("%s's argument has no input field", op.Name)
	}
	// prog's first instruction sets the id: the input field instead.
	insns := append(Instructions{LoadMem(R2, R1, 0, DWord), LoadMem(R1, R2, int16(in), Word)}, prog(0)[1:]...)
	fd, err := opProg(t, ops, op.Name, insns, func(a *bpf.ProgLoadAttr) { a.FDArray = k.FDArray() })
	if err != nil {
		t.Fatalf("%s using the kfuncs: %v", op.Name, err)
	}
	m := opsMap(t, ops, 0)
	if err := bpf.MapUpdateElem(m, key0, ops.Value(map[string]bpf.FD{op.Name: fd}), 0); err != nil {
		t.Fatal(err)
	}
	defer bpf.MapDeleteElem(m, key0)
	for id, want := range map[uint32]uint32{k.ValidID: 1, k.InvalidID: 0} {
		if got, err := ops.Trigger.Run(id); err != nil || got != want {
			t.Errorf("the trigger on id %d: %d, %v; want %d (1: acquired and released, 0: NULL)", id, got, err, want)
		}
	}
}

// A loaded program that calls a module's kfuncs holds the module: rmmod is
// EAGAIN until the program is gone.
func callersHoldTheModule(t *testing.T, k *progtype.KernelKfuncs, acq, rel progtype.Kfunc) {
	kf := kfuncs{t, k}
	fd, err := k.LoadSyscall(Instructions{Mov.Imm(R1, int32(k.ValidID)), kf.call(acq.Name), JEq.Imm(R0, 0, 2),
		Mov.Reg(R1, R0), kf.call(rel.Name), Mov.Imm(R0, 0), Return()})
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	if err := unix.DeleteModule(k.Module, unix.O_NONBLOCK); !errors.Is(err, unix.EAGAIN) {
		if err == nil {
			guest.Insmod(k.Module)
		}
		t.Errorf("rmmod %s while a program that calls %s is loaded: %v, want EAGAIN", k.Module, acq.Name, err)
	}
}
