package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"oreore/harness/guest"
)

// watchdog times the running tests of every lane. When one has run longer
// than the limit it names the test on the results port, has the kernel dump
// blocked tasks, the CPUs' backtraces and every task's stack on the
// console, and ends the VM: a hung test becomes a verdict in seconds
// instead of the guest-wide timeout's minutes. Its methods do nothing on a
// nil watchdog.
type watchdog struct {
	limit time.Duration
	out   *port
	end   func(exit int)

	mu      sync.Mutex
	running guest.Running
	now     func() time.Time
}

func newWatchdog(limit time.Duration, out *port, end func(int)) *watchdog {
	return &watchdog{limit: limit, out: out, end: end, now: time.Now}
}

func (w *watchdog) started(pkg string) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.running.Started(pkg, w.now())
}

func (w *watchdog) ended(pkg string) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.running.Ended(pkg)
}

// lines takes whole lines of test2json output.
func (w *watchdog) lines(b []byte) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		var ev guest.TestEvent
		if json.Unmarshal([]byte(line), &ev) == nil {
			w.running.Event(ev, now)
		}
	}
}

// overdue returns the test (or the binary outside any test) that has gone
// longest without progress, if that is longer than the limit.
func (w *watchdog) overdue() (guest.RunningTest, time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	var worst guest.RunningTest
	var ran time.Duration
	for _, t := range append(w.running.Leaves(), w.running.Idle()...) {
		if d := now.Sub(t.Since); d > ran {
			worst, ran = t, d
		}
	}
	return worst, ran, ran > w.limit
}

func (w *watchdog) run() {
	tick := min(max(w.limit/10, 100*time.Millisecond), time.Second)
	for range time.Tick(tick) {
		if t, ran, ok := w.overdue(); ok {
			w.fire(t, ran)
			return
		}
	}
}

func (w *watchdog) fire(t guest.RunningTest, ran time.Duration) {
	what := t.Name()
	if t.Test == "" {
		what = "test binary " + t.Package + " (outside any test)"
	}
	msg := fmt.Sprintf("%s has run for %v (limit %v, %s)", what, ran.Round(100*time.Millisecond), w.limit, guest.TestTimeoutParam)
	logf("watchdog: %s: dumping blocked tasks and every task's stack", msg)
	w.out.emit(guest.Guest{Guest: guest.Watchdog, Msg: msg, Package: t.Package, Test: t.Test})
	dumpStacks()
	w.end(2)
}

// dumpStacks has the kernel print blocked tasks (SysRq w), every active
// CPU's backtrace (l) and every task's stack (t) on the console, between
// the markers that tell the host this dump is not a kernel report.
func dumpStacks() {
	// The dumps are KERN_INFO: show them even if the command line says quiet.
	os.WriteFile("/proc/sys/kernel/printk", []byte("7"), 0)
	kmsg(guest.DumpBegin)
	for _, key := range []byte("wlt") {
		if err := os.WriteFile("/proc/sysrq-trigger", []byte{key}, 0); err != nil {
			logf("watchdog: sysrq %c: %v", key, err)
		}
	}
	kmsg(guest.DumpEnd)
}

// kmsg puts a line in the kernel log, in order with the kernel's messages.
func kmsg(line string) {
	if err := os.WriteFile("/dev/kmsg", []byte(line+"\n"), 0); err != nil {
		logf("%s (/dev/kmsg: %v)", line, err)
	}
}
