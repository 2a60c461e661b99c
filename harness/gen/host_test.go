package gen_test

import (
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/gen"
	"oreore/harness/interp"
	"oreore/harness/netns"
)

// The host kernel has no oreore type, but a socket filter's context starts
// with the packet's length as a u32 (__sk_buff.len), which is all the
// programs read: loaded as socket filters, they meet a real verifier, and
// BPF_PROG_TEST_RUN with packets of chosen lengths runs them through the
// host's JIT (or interpreter) against the Go interpreter. This checks the
// generator before any VM boots; the guest's jitdiff tests check the
// kernel. It runs in a network namespace of its own.
func TestHostVerifierAcceptsAndAgrees(t *testing.T) {
	if unix.Geteuid() != 0 {
		t.Skip("loading programs needs root")
	}
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	const seeds = 2000
	lengths := []int{14, 15, 64, 255, 256, 1000, 1514, 3000}
	// t.Fatal may not be called in Do's goroutine: errors come back.
	err = ns.Do(func() error {
		probe, err := load(asm.Instructions{asm.LoadMem(asm.R0, asm.R1, 0, asm.Word), asm.Return()})
		if err != nil {
			return err
		}
		defer probe.Close()
		ctxOf := map[int]uint32{}
		for _, n := range lengths {
			if ctxOf[n], err = run(probe, n); err != nil { // the context the programs see
				return err
			}
		}
		for seed := range uint64(seeds) {
			p := gen.Program(seed)
			if err := agree(seed, p, lengths, ctxOf); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// agree loads p and runs it on packets of the given lengths.
func agree(seed uint64, p asm.Instructions, lengths []int, ctxOf map[int]uint32) error {
	fd, err := load(p)
	if err != nil {
		return fmt.Errorf("seed %d: %w\n%v", seed, err, p)
	}
	defer fd.Close()
	for _, n := range lengths {
		want, err := interp.Run(p, ctxOf[n], nil)
		if err != nil {
			return fmt.Errorf("seed %d: Go interpreter: %w", seed, err)
		}
		got, err := run(fd, n)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("seed %d, input %#x: host kernel %#x, Go interpreter %#x\n%v", seed, ctxOf[n], got, want, p)
		}
	}
	return nil
}

func load(p asm.Instructions) (bpf.FD, error) {
	return bpf.ProgLoad(bpf.ProgLoadAttr{Type: unix.BPF_PROG_TYPE_SOCKET_FILTER, Insns: p, License: "GPL"})
}

// run runs fd on a packet of n bytes.
func run(fd bpf.FD, n int) (uint32, error) {
	res, err := bpf.ProgTestRun(fd, bpf.TestRun{DataIn: make([]byte, n)})
	return res.Retval, err
}
