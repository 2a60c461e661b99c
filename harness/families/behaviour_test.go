//go:build guest

package families

import (
	"encoding/binary"
	"runtime"
	"testing"

	"oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/gen"
	"oreore/harness/interp"
	"oreore/harness/progtype"
)

// Generated programs that read the input field give the same result
// three ways: attached and run by the type's trigger, through test_run,
// and in the Go interpreter. (jitdiff compares the kernel's interpreter
// and JIT on every readable field; this compares the attach point's run
// with test_run's, which only an input field can: the kernel fills the
// others differently at each.)
func behaviourThreeWays(t *testing.T, k *progtype.Kernel) {
	in := inputField(t, k)
	reads := []gen.Read{{Off: int16(in.Off), Size: asm.Word}}
	programs := 20
	if testing.Short() {
		programs = 5
	}
	jit, ok := interp.JITs[runtime.GOARCH]
	if !ok {
		t.Fatalf("interp.JITs has no model of %s's JIT", runtime.GOARCH)
	}
	s := slot{t, k}
	for seed := uint64(0xb3); seed < 0xb3+uint64(programs); seed++ {
		insns := gen.ProgramFor(seed, reads)
		prog := mustLoad(t, k, insns)
		link, err := s.link(prog)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range gen.Inputs(seed, 4) {
			ctx := make([]byte, k.Ctx.Size)
			binary.NativeEndian.PutUint32(ctx[in.Off:], v)
			viaTrigger, errT := k.Trigger.Run(v)
			res, errR := bpf.ProgTestRun(prog, bpf.TestRun{CtxIn: ctx})
			// Both kernel paths run the JIT: the Go interpreter computes
			// what the runtime leaves to the JIT as this machine's does.
			viaInterp, errI := interp.RunCtxAs(jit, insns, ctx, nil)
			if errT != nil || errR != nil || errI != nil || viaTrigger != res.Retval || res.Retval != viaInterp {
				t.Errorf("seed %#x, input %#x: trigger %#x (%v), test_run %#x (%v), Go interpreter as %s's JIT %#x (%v)\n%v",
					seed, v, viaTrigger, errT, res.Retval, errR, runtime.GOARCH, viaInterp, errI, insns)
			}
		}
		link.Close()
	}
	s.runs("after the last link closed", -1)
}
