package qemu

import (
	"bytes"
	"os"
	"time"
)

func rdtsc() uint64

// HostTSCkHz measures the host's TSC rate, or returns 0 when the host's TSC
// does not tick at a constant rate. A guest's rdtsc reads the host's TSC
// under TCG, and unscaled under KVM, so this is the guest's rate too.
func HostTSCkHz() uint64 {
	cpuinfo, err := os.ReadFile("/proc/cpuinfo")
	if err != nil || !bytes.Contains(cpuinfo, []byte(" constant_tsc")) || !bytes.Contains(cpuinfo, []byte(" nonstop_tsc")) {
		return 0
	}
	start, ticks := time.Now(), rdtsc()
	time.Sleep(20 * time.Millisecond)
	ticks, elapsed := rdtsc()-ticks, time.Since(start)
	return ticks * uint64(time.Millisecond) / uint64(elapsed)
}
