// Package verdict turns what a boot left behind (the console, the results
// port, whether QEMU timed out or failed) into one verdict whose exit code
// says what kind of failure it was.
package verdict

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"oreore/harness/guest"
)

// Code is the runner's exit status.
type Code int

const (
	Passed      Code = 0 // every test passed
	TestFailed  Code = 1 // the guest ran the suites and a test failed
	VMBroke     Code = 2 // QEMU or the guest's init failed, or no test ran
	KernelSplat Code = 3 // panic, Oops, BUG, WARNING, KASAN or the like on the console
	TimedOut    Code = 4 // the guest did not finish in time
)

func (c Code) String() string {
	switch c {
	case Passed:
		return "PASS"
	case TestFailed:
		return "FAIL: test failed"
	case VMBroke:
		return "FAIL: VM or harness broke"
	case KernelSplat:
		return "FAIL: kernel splat"
	case TimedOut:
		return "FAIL: timeout"
	}
	return fmt.Sprintf("code %d", int(c))
}

// Input is everything the verdict is made from.
type Input struct {
	Console  string
	Results  *guest.Stream
	TimedOut bool
	QEMUErr  error
	// ResultsAtReport is what the results port held when the runner saw
	// the first kernel report, if it watched: it names the tests that were
	// running then, not those that started in the grace before QEMU's end.
	ResultsAtReport *guest.Stream
	// CPUs is how many CPUs QEMU was asked for (0: not checked). A guest
	// that brings up fewer runs the concurrency tests on one CPU.
	CPUs int
	// Expected names the test binaries (go test's package names) the
	// initramfs holds: one that produced no event never ran, which a
	// count of passed tests cannot show.
	Expected []string
}

// Verdict is the judgement with its evidence.
type Verdict struct {
	Code    Code
	Reasons []string
	// Splats are the console lines (index, text) that start a kernel report.
	Splats []Splat
	Tests  Tally
	// Running names the tests that were running when the first kernel
	// report appeared (PACKAGE.Test), if there was one.
	Running []string
	// Watchdog holds the guest's watchdog records: tests that ran too long.
	Watchdog []guest.Guest
}

// Splat is a console line that starts a kernel report.
type Splat struct {
	Line int
	Text string
}

// timestamp is printk's time and caller id in front of a console line.
const timestamp = `^(?:\[\s*\d+\.\d+\]\s*)?(?:\[\s*[TC]\d+\]\s*)?`

// splatStart matches the first line of the reports a kernel developer must
// not miss, after the printk timestamp. The hung-task detector's line is
// "INFO: task NAME:PID blocked for more than N seconds."
var splatStart = regexp.MustCompile(timestamp + `(` +
	`Kernel panic - not syncing|` +
	`BUG: |kernel BUG at |` +
	`WARNING: |` +
	`Oops: |general protection fault|` +
	`UBSAN: |` +
	`unreferenced object |` +
	`INFO: task .* blocked for more than|` +
	`rcu: INFO: |INFO: rcu_|` +
	`watchdog: BUG: |(?:NMI )?watchdog: Watchdog detected hard LOCKUP)`)

var panicLine = regexp.MustCompile(timestamp + `Kernel panic - not syncing`)

// Scanner finds the lines that start kernel reports, one console line at
// a time: the runner stops the guest at the first, the verdict counts them
// all. The zero value is ready to use.
type Scanner struct {
	inDump bool
}

// Report reports whether line starts a kernel report. Between the
// watchdog's markers (guest.DumpBegin, guest.DumpEnd) is the stack dump the
// init asked SysRq for: what looks like a report there is not counted,
// except a panic.
func (s *Scanner) Report(line string) bool {
	line = strings.TrimRight(line, "\r")
	switch {
	case strings.Contains(line, guest.DumpBegin):
		s.inDump = true
	case strings.Contains(line, guest.DumpEnd):
		s.inDump = false
	case s.inDump:
		return panicLine.MatchString(line)
	}
	return splatStart.MatchString(line)
}

// FindSplats returns the console lines that start kernel reports.
func FindSplats(console string) []Splat {
	var out []Splat
	var sc Scanner
	for i, line := range strings.Split(console, "\n") {
		if sc.Report(line) {
			out = append(out, Splat{Line: i, Text: strings.TrimRight(line, "\r")})
		}
	}
	return out
}

// Running names the tests that the events leave running (PACKAGE.Test),
// leaves only, in the order they started.
func Running(events []guest.TestEvent) []string {
	var r guest.Running
	for _, ev := range events {
		r.Event(ev, ev.Time)
	}
	var out []string
	for _, t := range r.Leaves() {
		out = append(out, t.Name())
	}
	return out
}

// Decide judges a run. The most severe finding sets the code: a splat,
// then a timeout, then a broken VM or harness, then a failed test.
func Decide(in Input) Verdict {
	v := Verdict{Splats: FindSplats(in.Console)}
	if in.Results != nil {
		v.Tests = Count(in.Results.Events)
	}
	set := func(c Code, reason string) {
		v.Reasons = append(v.Reasons, reason)
		if v.Code == Passed || severity(c) > severity(v.Code) {
			v.Code = c
		}
	}
	for _, s := range v.Splats {
		set(KernelSplat, "console: "+strings.TrimSpace(s.Text))
	}
	if at := in.ResultsAtReport; len(v.Splats) > 0 && (at != nil || in.Results != nil) {
		if at == nil {
			at = in.Results
		}
		v.Running = Running(at.Events)
		if len(v.Running) > 0 {
			v.Reasons = append(v.Reasons, "running when the kernel report appeared: "+strings.Join(v.Running, ", "))
		} else {
			v.Reasons = append(v.Reasons, "no test was running when the kernel report appeared")
		}
	}
	if in.Results != nil {
		for _, g := range in.Results.Guest {
			if g.Guest == guest.Watchdog {
				v.Watchdog = append(v.Watchdog, g)
				set(TimedOut, "watchdog: "+g.Msg)
			}
		}
	}
	if in.TimedOut {
		set(TimedOut, "the guest did not finish before the timeout")
	}
	if in.QEMUErr != nil {
		set(VMBroke, in.QEMUErr.Error())
	}
	if got, ok := CPUsBroughtUp(in.Console); in.CPUs > 0 && ok && got != in.CPUs {
		set(VMBroke, fmt.Sprintf("the guest brought up %d CPU(s) of the %d QEMU was given (console: smp: Brought up)", got, in.CPUs))
	}
	if in.Results == nil {
		if !in.TimedOut && len(v.Splats) == 0 {
			set(VMBroke, "no results port output: the guest's init never started")
		}
		return v
	}
	for _, g := range in.Results.Guest {
		if g.Guest == "error" {
			set(VMBroke, "guest init: "+g.Msg)
		}
	}
	for _, line := range in.Results.Garbage {
		set(VMBroke, fmt.Sprintf("results port: not a JSON record: %.200q", line))
	}
	ran := map[string]bool{}
	for _, e := range in.Results.Events {
		ran[e.Package] = true
	}
	var never []string
	for _, pkg := range in.Expected {
		if !ran[pkg] {
			never = append(never, pkg)
		}
	}
	done, ok := in.Results.Done()
	// A run cut short (a kernel report, a timeout, the watchdog) leaves
	// later binaries unstarted: that is its own finding, not this one.
	if len(never) > 0 && ok && len(v.Watchdog) == 0 && !in.TimedOut && len(v.Splats) == 0 {
		set(VMBroke, fmt.Sprintf("test binaries that produced no event (never started, or died before their first): %s", strings.Join(never, ", ")))
	}
	switch {
	case !ok && !in.TimedOut && len(v.Splats) == 0 && len(v.Watchdog) == 0:
		set(VMBroke, "the guest ended without its done record")
	case !ok:
	case done.Exit == 2:
		if len(v.Reasons) == 0 {
			set(VMBroke, "guest init gave up (exit 2)")
		}
	case len(v.Tests.Failed) > 0:
		set(TestFailed, fmt.Sprintf("%d test(s) failed: %s", len(v.Tests.Failed), strings.Join(v.Tests.Failed, ", ")))
	case done.Exit != 0:
		set(TestFailed, "a test binary failed without a failing test (build, panic or TestMain): see the output above")
	case v.Tests.Passed == 0:
		set(VMBroke, "no test ran")
	}
	return v
}

var broughtUp = regexp.MustCompile(`smp: Brought up \d+ nodes?, (\d+) CPUs?`)

// CPUsBroughtUp reads how many CPUs the kernel started from its boot log.
func CPUsBroughtUp(console string) (int, bool) {
	m := broughtUp.FindStringSubmatch(console)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

func severity(c Code) int {
	return map[Code]int{Passed: 0, TestFailed: 1, VMBroke: 2, TimedOut: 3, KernelSplat: 4}[c]
}

// Tally counts leaf tests: a test with subtests is counted by its subtests.
type Tally struct {
	Passed, Skipped int
	// Known counts the skips that are known failures of the kernel's own
	// selftests (harness/kselftest): they fail on the base kernel too.
	Known  int
	Failed []string // package.Test of each failed leaf test
	// Packages holds the same counts for each test binary.
	Packages map[string]*Tally
}

// knownFailure is what harness/kselftest says when it skips a failure that
// the known-failures list explains.
const knownFailure = "known failure (fails on base too"

// Count tallies the final action of every leaf test.
func Count(events []guest.TestEvent) Tally {
	final := map[string]string{}
	known := map[string]bool{}
	for _, ev := range events {
		if ev.Test == "" {
			continue
		}
		switch ev.Action {
		case "pass", "fail", "skip":
			final[ev.Package+"\x00"+ev.Test] = ev.Action
		case "output":
			if strings.Contains(ev.Output, knownFailure) {
				known[ev.Package+"\x00"+ev.Test] = true
			}
		}
	}
	t := Tally{Packages: map[string]*Tally{}}
	pkgTally := func(pkg string) *Tally {
		if t.Packages[pkg] == nil {
			t.Packages[pkg] = &Tally{}
		}
		return t.Packages[pkg]
	}
	keys := make([]string, 0, len(final))
	for k := range final {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// A test with subtests is a parent of some other key.
	parents := map[string]bool{}
	for _, k := range keys {
		for i := strings.LastIndexByte(k, '/'); i > 0; i = strings.LastIndexByte(k[:i], '/') {
			parents[k[:i]] = true
		}
	}
	for _, k := range keys {
		if parents[k] {
			continue
		}
		pkg, test, _ := strings.Cut(k, "\x00")
		p := pkgTally(pkg)
		switch final[k] {
		case "pass":
			t.Passed++
			p.Passed++
		case "skip":
			t.Skipped++
			p.Skipped++
			if known[k] {
				t.Known++
				p.Known++
			}
		case "fail":
			t.Failed = append(t.Failed, pkg+"."+test)
			p.Failed = append(p.Failed, pkg+"."+test)
		}
	}
	return t
}

// Line is the closing line: "N passed, N failed" and ", N skipped" if any.
func (t Tally) Line() string {
	s := fmt.Sprintf("%d passed, %d failed", t.Passed, len(t.Failed))
	if t.Skipped > 0 {
		s += fmt.Sprintf(", %d skipped", t.Skipped)
	}
	if t.Known > 0 {
		s += fmt.Sprintf(" (%d of them known failures)", t.Known)
	}
	return s
}

// PackageLines is Line for each test binary, in name order.
func (t Tally) PackageLines() []string {
	names := make([]string, 0, len(t.Packages))
	for n := range t.Packages {
		names = append(names, n)
	}
	sort.Strings(names)
	lines := make([]string, len(names))
	for i, n := range names {
		lines[i] = n + ": " + t.Packages[n].Line()
	}
	return lines
}
