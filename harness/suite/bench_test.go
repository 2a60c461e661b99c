//go:build guest

package suite

import (
	"encoding/binary"
	"testing"

	"oreore/harness/bpf"
	"oreore/harness/oreore"
	"oreore/programs"
)

// The cost of one run through the attach point (a write and a read of
// /sys/oreore/bpf) against BPF_PROG_TEST_RUN: `make bench` runs these.
func BenchmarkSysfsRun(b *testing.B) {
	benchRuns(b, oreore.Run)
}

// The same through a Port: one pwrite and one pread per run.
func BenchmarkPortRun(b *testing.B) {
	port := openPort(b)
	benchRuns(b, port.Run)
}

// One writer per CPU, each on its own Port: the module runs the program
// outside its lock, so runs on different CPUs overlap. ns/op is wall time
// over all writers' runs; held against BenchmarkPortRun it is the scaling.
func BenchmarkPortRunParallel(b *testing.B) {
	attachAdd42(b)
	b.RunParallel(func(pb *testing.PB) {
		port, err := oreore.OpenPort()
		if err != nil {
			b.Error(err)
			return
		}
		defer port.Close()
		for i := uint32(0); pb.Next(); i++ {
			if _, err := port.Run(i); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// attachAdd42 attaches add-42 for the rest of the benchmark.
func attachAdd42(b *testing.B) {
	prog, err := oreore.Load("add42", programs.Add42())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { prog.Close() })
	if err := oreore.Attach(prog); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { oreore.Detach(prog) })
}

// benchRuns times run with add-42 attached.
func benchRuns(b *testing.B, run func(uint32) (uint32, error)) {
	attachAdd42(b)
	for i := 0; b.Loop(); i++ {
		if _, err := run(uint32(i)); err != nil {
			b.Fatal(err)
		}
	}
}

// The kernel times the runs itself; one syscall covers them all.
func BenchmarkTestRunRepeat(b *testing.B) {
	prog, err := oreore.Load("add42", programs.Add42())
	if err != nil {
		b.Fatal(err)
	}
	defer prog.Close()
	const repeat = 100000
	var total float64
	runs := 0
	for b.Loop() {
		res, err := bpf.ProgTestRun(prog, bpf.TestRun{CtxIn: binary.NativeEndian.AppendUint32(nil, 1), Repeat: repeat})
		if err != nil {
			b.Fatal(err)
		}
		total += float64(res.Duration.Nanoseconds())
		runs++
	}
	b.ReportMetric(total/float64(runs), "kernel-ns/run")
}
