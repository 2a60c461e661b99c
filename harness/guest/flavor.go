package guest

import (
	"os"
	"time"
)

// DebugFlavor reports whether the running kernel is the debug flavor's:
// it alone has kmemleak (kernel-patches/debug.config).
func DebugFlavor() bool {
	_, err := os.Stat("/sys/kernel/debug/kmemleak")
	return err == nil
}

// debugPatience is how much longer the debug flavor takes to do what the
// kernel does in its own time: KASAN, lockdep and kmemleak slow its RCU
// callbacks and releases several times over under TCG (the debug guest
// runs the same suites about 10x slower than the normal one).
const debugPatience = 5

// Patience scales a wait for the kernel's own work (an RCU grace period,
// a deferred release) to the running kernel's flavor.
func Patience(d time.Duration) time.Duration {
	if DebugFlavor() {
		return debugPatience * d
	}
	return d
}
