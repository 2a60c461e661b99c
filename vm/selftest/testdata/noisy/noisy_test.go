// Package noisy is an in-guest suite that runs the module's file over and
// over in the other lane while tracefail's test runs, for the runner's
// trace self-test: none of its calls may show in that test's trace.
package noisy

import (
	"os"
	"testing"
	"time"
)

func TestWritesTheSlotMeanwhile(t *testing.T) {
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		os.WriteFile("/sys/oreore/bpf", []byte("2"), 0)
		time.Sleep(10 * time.Millisecond)
	}
}
