// Package tracefail is an in-guest suite whose test runs the module's file
// and fails, for the runner's trace self-test: its trace must hold the
// module's write handler and the series' bpf_oreore_run.
package tracefail

import (
	"errors"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestWritesTheSlotAndFails(t *testing.T) {
	// The other lane's noisy suite is writing by now.
	time.Sleep(time.Second)
	// Nothing is attached: the module's bpf_store calls bpf_oreore_run,
	// which says ENODEV.
	err := os.WriteFile("/sys/oreore/bpf", []byte("1"), 0)
	if !errors.Is(err, syscall.ENODEV) {
		t.Errorf("write with nothing attached: %v, want ENODEV", err)
	}
	t.Error("this test fails on purpose")
}
