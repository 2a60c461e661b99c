//go:build guest

// Package slot runs the kernel's own tests that use the described types'
// attach points, and checks the tools built from the patched tree against
// them: test_progs' tests of each type (progtype's Selftests: oreore,
// kore), and bpftool. It runs in the slot lane.
package slot

import (
	"strings"
	"testing"

	"oreore/harness/kselftest"
	"oreore/harness/progtype"
)

// seriesSelftests are the test_progs tests the series add, one list for -t.
func seriesSelftests() string {
	var names []string
	for _, typ := range progtype.All {
		names = append(names, typ.Selftests...)
	}
	return strings.Join(names, ",")
}

func TestTestProgsSeries(t *testing.T) {
	bin := kselftest.Binary(t, "test_progs")
	out := kselftest.Run(t, bin, "-t", seriesSelftests())
	kselftest.Report(t, "test_progs", out, kselftest.ParseTestProgs(out), kselftest.KnownHere(t))
}
