//go:build guest

package suite

import (
	"encoding/binary"
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"oreore/harness/bpf"
)

// BPF_PROG_TEST_RUN's contract for oreore programs: ctx_in is exactly one
// u32, and everything that has no meaning for the type is refused.
func TestTestRunArgumentsRejected(t *testing.T) {
	prog := loadAdd42(t)
	ctx := binary.NativeEndian.AppendUint32(nil, 1)
	buf := make([]byte, 64)
	tests := []struct {
		name string
		in   bpf.TestRun
	}{
		{"ctx_in of 8 bytes rejected", bpf.TestRun{CtxIn: make([]byte, 8)}},
		{"ctx_in of 5 bytes rejected", bpf.TestRun{CtxIn: make([]byte, 5)}},
		{"ctx_in of 2 bytes rejected", bpf.TestRun{CtxIn: make([]byte, 2)}},
		{"no ctx_in rejected", bpf.TestRun{}},
		{"data_in rejected", bpf.TestRun{CtxIn: ctx, DataIn: buf}},
		{"data_out rejected", bpf.TestRun{CtxIn: ctx, DataOut: buf}},
		{"ctx_out rejected", bpf.TestRun{CtxIn: ctx, CtxOut: buf}},
		{"flags rejected", bpf.TestRun{CtxIn: ctx, Flags: unix.BPF_F_TEST_RUN_ON_CPU}},
		{"cpu rejected", bpf.TestRun{CtxIn: ctx, CPU: 1}},
		{"batch_size rejected", bpf.TestRun{CtxIn: ctx, BatchSize: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := bpf.ProgTestRun(prog, tt.in)
			if !errors.Is(err, unix.EINVAL) {
				t.Errorf("got retval %d, %v; want EINVAL", res.Retval, err)
			}
		})
	}
}

// repeat is checked by its effect: with stats on, the kernel counts every
// run, and a repeated run counts repeat times.
func TestTestRunRepeatRunsTheProgramRepeatTimes(t *testing.T) {
	stats, err := bpf.EnableStats()
	if err != nil {
		t.Fatal(err)
	}
	defer stats.Close()
	prog := loadAdd42(t)
	before := runCount(t, prog)
	const repeat = 1000
	res, err := bpf.ProgTestRun(prog, bpf.TestRun{CtxIn: binary.NativeEndian.AppendUint32(nil, 1), Repeat: repeat})
	if err != nil {
		t.Fatal(err)
	}
	if res.Retval != 43 {
		t.Errorf("retval %d, want 43", res.Retval)
	}
	if got := runCount(t, prog) - before; got != repeat {
		t.Errorf("run_cnt grew by %d for repeat %d", got, repeat)
	}
	if res.Duration <= 0 {
		t.Errorf("duration %v, want the mean time of a run", res.Duration)
	}
	// repeat 0 means one run, as for every program type.
	before = runCount(t, prog)
	if _, err := bpf.ProgTestRun(prog, bpf.TestRun{CtxIn: binary.NativeEndian.AppendUint32(nil, 1)}); err != nil {
		t.Fatal(err)
	}
	if got := runCount(t, prog) - before; got != 1 {
		t.Errorf("run_cnt grew by %d for repeat 0, want 1", got)
	}
}

func runCount(t *testing.T, prog bpf.FD) uint64 {
	t.Helper()
	info, err := bpf.ProgGetInfo(prog)
	if err != nil {
		t.Fatal(err)
	}
	return info.RunCount
}
