//go:build guest

// Package slot runs the kernel's own tests that use the oreore slot, and
// checks the tools built from the patched tree against it: test_progs'
// oreore test, and bpftool. It runs in the slot lane.
package slot

import (
	"testing"

	"oreore/harness/kselftest"
)

func TestTestProgsOreore(t *testing.T) {
	bin := kselftest.Binary(t, "test_progs")
	out := kselftest.Run(t, bin, "-t", "oreore")
	kselftest.Report(t, "test_progs", out, kselftest.ParseTestProgs(out), kselftest.KnownHere(t))
}
