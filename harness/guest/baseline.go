package guest

import (
	"os"
	"strings"
)

// BaselineParam on the kernel command line marks a boot of the base kernel
// (Debian's tree with the same config and no series), which `make
// selftests-baseline` makes: the kernel's selftests run there without the
// known-failures list and log each failure for the host to collect.
const BaselineParam = "oreore.baseline"

// BaselinePrefix starts each line a baseline run logs for a failing test:
// "baseline: BINARY<TAB>TEST<TAB>FIRST LINE OF ITS LOG".
const BaselinePrefix = "baseline: "

// Baseline reports whether this boot is a baseline run.
func Baseline() bool {
	b, _ := os.ReadFile("/proc/cmdline")
	for _, f := range strings.Fields(string(b)) {
		if f == BaselineParam+"=1" {
			return true
		}
	}
	return false
}
