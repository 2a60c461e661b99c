//go:build guest

package suite

import (
	"math/rand/v2"
	"testing"

	"oreore/harness/bpf"
	"oreore/harness/interp"
	"oreore/harness/oreore"
	"oreore/programs"
)

const behaviourInputs = 1000

// inputs are the edges and then seeded random values, the same every run.
func inputs() []uint32 {
	in := []uint32{0, 1, 2, 3, 42, 255, 256, 1000, 1001, 0x7fffffff, 0x80000000, 0xffffffd6, 0xfffffffe, 0xffffffff}
	rng := rand.New(rand.NewPCG(0x0e0e, 0x4242))
	for len(in) < behaviourInputs {
		in = append(in, rng.Uint32())
	}
	return in
}

// Each program gives the same answer for every input through the attach
// point (/sys/oreore/bpf), through BPF_PROG_TEST_RUN and through the Go
// reference interpreter. Both kernel paths run the JITed program (the
// JIT is on by default), so they check how each passes the context, and
// the Go interpreter checks the JIT; harness/jitdiff, in the lane that runs
// alone, loads the same programs with the JIT off for the kernel's own
// interpreter.
func TestBehaviourThreeWays(t *testing.T) {
	m, model := lookupMap(t)
	defer m.Close()
	maps := map[int]*interp.ArrayMap{int(m): model}
	for _, p := range programs.Behaviour {
		t.Run(p.Name, func(t *testing.T) {
			requireEmptySlot(t)
			insns := p.Build(int(m))
			prog := load(t, "behaviour", insns)
			attach(t, prog)
			port := openPort(t)
			bad := 0
			for _, in := range inputs() {
				viaSysfs, errSysfs := port.Run(in)
				viaTestRun, errTestRun := oreore.TestRun(prog, in)
				viaInterp, errInterp := interp.Run(insns, in, maps)
				if errSysfs != nil || errTestRun != nil || errInterp != nil {
					t.Fatalf("input %#x: sysfs %v, test_run %v, interpreter %v", in, errSysfs, errTestRun, errInterp)
				}
				if viaSysfs != viaTestRun || viaSysfs != viaInterp {
					t.Errorf("%s, input %#x: sysfs %#x, BPF_PROG_TEST_RUN %#x, interpreter %#x", p.Name, in, viaSysfs, viaTestRun, viaInterp)
					if bad++; bad == 5 {
						t.Fatalf("more disagreements left out; program:\n%v", insns)
					}
				}
			}
		})
	}
}

// lookupMap creates the array map that programs.MapLookup reads, and the
// interpreter's model of it.
func lookupMap(t *testing.T) (bpf.FD, *interp.ArrayMap) {
	t.Helper()
	m, model, err := programs.LookupMap()
	if err != nil {
		t.Fatal(err)
	}
	return m, model
}
