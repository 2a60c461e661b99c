package guest

import "time"

// TestTimeoutParam is the kernel parameter that sets the per-test watchdog,
// in seconds (0 turns it off): oreore.test_timeout=300. The kernel ignores
// dotted parameters it does not know, so only the init reads it.
const TestTimeoutParam = "oreore.test_timeout"

// DefaultTestTimeout is the watchdog's limit when the command line gives
// none: well above the slowest test (the stress test, ~230 s under KASAN
// and TCG).
const DefaultTestTimeout = 5 * time.Minute

// The init writes these lines to /dev/kmsg around the SysRq dump it makes
// when the watchdog fires, so that they sit in the kernel log in order with
// the dump. The host does not count what lies between them as a kernel
// report: it is the dump the runner asked for.
const (
	DumpBegin = "oreore-init: watchdog: begin of the stack dump"
	DumpEnd   = "oreore-init: watchdog: end of the stack dump"
)

// Comm is the kernel's name for the tasks of a test binary (task:NAME in a
// SysRq dump): the binary's file name, PKG.test, cut to 15 bytes.
func Comm(pkg string) string {
	c := pkg + ".test"
	if len(c) > 15 {
		c = c[:15]
	}
	return c
}
