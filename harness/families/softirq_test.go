//go:build guest

package families

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/gen"
	"oreore/harness/interp"
	"oreore/harness/progtype"
)

// The type's run function may be called from softirq context, as its docs
// promise its callers. The module's softirq file runs the attached program
// from a tasklet: each generated program gives there what it gives from
// process context and in the Go interpreter; then a writer in each context
// runs it at once, with run statistics on, so that the debug flavor's
// lockdep and DEBUG_ATOMIC_SLEEP watch the run path (RCU, migrate_disable,
// the stats' u64_stats) entered from both.
func runsFromSoftirq(t *testing.T, k *progtype.Kernel, softirq progtype.Trigger) {
	in := inputField(t, k)
	reads := []gen.Read{{Off: int16(in.Off), Size: asm.Word}}
	jit, ok := interp.JITs[runtime.GOARCH]
	if !ok {
		t.Fatalf("interp.JITs has no model of %s's JIT", runtime.GOARCH)
	}
	stats, err := bpf.EnableStats()
	if err != nil {
		t.Fatal(err)
	}
	defer stats.Close()
	s := slot{t, k}
	programs, rounds := 5, 200
	if testing.Short() {
		programs, rounds = 2, 50
	}
	for seed := uint64(0x5f1); seed < 0x5f1+uint64(programs); seed++ {
		insns := gen.ProgramFor(seed, reads)
		prog := mustLoad(t, k, insns)
		link, err := s.link(prog)
		if err != nil {
			t.Fatal(err)
		}
		want := func(v uint32) (uint32, error) {
			ctx := make([]byte, k.Ctx.Size)
			binary.NativeEndian.PutUint32(ctx[in.Off:], v)
			return interp.RunCtxAs(jit, insns, ctx, nil)
		}
		for _, v := range gen.Inputs(seed, 4) {
			fromSoftirq, errS := softirq.Run(v)
			fromProcess, errP := k.Trigger.Run(v)
			model, errI := want(v)
			if errS != nil || errP != nil || errI != nil || fromSoftirq != model || fromProcess != model {
				t.Errorf("seed %#x, input %#x: from softirq %#x (%v), from process context %#x (%v), Go interpreter %#x (%v)\n%v",
					seed, v, fromSoftirq, errS, fromProcess, errP, model, errI, insns)
			}
		}
		// Both contexts at once. The last result is the module's, not the
		// writer's: a read may give the other writer's answer, so each must
		// be the program's answer to an input one of them wrote.
		answers := map[uint32]bool{}
		input := func(w, i int) uint32 { return uint32(seed)*31 + uint32(w*rounds+i) }
		for w := range 2 {
			for i := range rounds {
				model, err := want(input(w, i))
				if err != nil {
					t.Fatal(err)
				}
				answers[model] = true
			}
		}
		before, err := bpf.ProgGetInfo(prog)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for w, trigger := range []progtype.Trigger{softirq, k.Trigger} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range rounds {
					got, err := trigger.Run(input(w, i))
					if err == nil && !answers[got] {
						err = fmt.Errorf("input %#x gave %#x, which the program returns for no input written", input(w, i), got)
					}
					if err != nil {
						errs[w] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		for w, err := range errs {
			if err != nil {
				t.Errorf("seed %#x: the writer %s: %v", seed, []string{"in softirq", "in process context"}[w], err)
			}
		}
		after, err := bpf.ProgGetInfo(prog)
		if err != nil {
			t.Fatal(err)
		}
		if got := after.RunCount - before.RunCount; got != uint64(2*rounds) {
			t.Errorf("seed %#x: run_cnt grew by %d for %d runs from both contexts", seed, got, 2*rounds)
		}
		link.Close()
	}
	s.runs("after the last link closed", -1)
	if got, err := softirq.Run(1000); !errors.Is(err, unix.ENODEV) {
		t.Errorf("a softirq run with nothing attached: %d, %v; want ENODEV", got, err)
	}
}
