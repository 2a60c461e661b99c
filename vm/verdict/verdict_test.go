package verdict

import (
	"errors"
	"os"
	"strings"
	"testing"

	"oreore/harness/guest"
)

const bootOK = "[    0.512345] Run /init as init process\n"

func stream(t *testing.T, lines ...string) *guest.Stream {
	t.Helper()
	s, err := guest.Parse(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const (
	passA   = `{"Action":"pass","Package":"suite","Test":"TestA"}`
	passB1  = `{"Action":"pass","Package":"suite","Test":"TestB/one"}`
	passB   = `{"Action":"pass","Package":"suite","Test":"TestB"}`
	failC   = `{"Action":"fail","Package":"suite","Test":"TestC"}`
	skipD   = `{"Action":"skip","Package":"suite","Test":"TestD"}`
	done0   = `{"Guest":"done"}`
	done1   = `{"Guest":"done","Exit":1}`
	done2   = `{"Guest":"done","Exit":2}`
	initErr = `{"Guest":"error","Msg":"insmod /lib/modules/oreore.ko: exec format error"}`
)

func TestDecide(t *testing.T) {
	tests := []struct {
		name       string
		in         Input
		want       Code
		wantReason string
	}{
		{"all passed", Input{Console: bootOK, Results: stream(t, passA, passB1, passB, done0)}, Passed, ""},
		{"test failed", Input{Console: bootOK, Results: stream(t, passA, failC, done1)}, TestFailed, "suite.TestC"},
		{"suite exited 1 without a failing test", Input{Console: bootOK, Results: stream(t, passA, done1)}, TestFailed, "without a failing test"},
		{"no test ran", Input{Console: bootOK, Results: stream(t, done0)}, VMBroke, "no test ran"},
		{"init error", Input{Console: bootOK, Results: stream(t, initErr, done2)}, VMBroke, "insmod"},
		{"no done record", Input{Console: bootOK, Results: stream(t, passA)}, VMBroke, "without its done record"},
		{"never started", Input{Console: bootOK}, VMBroke, "never started"},
		{"qemu failed", Input{QEMUErr: errors.New("qemu-system-x86_64: could not load kernel")}, VMBroke, "could not load kernel"},
		{"garbage on the port", Input{Console: bootOK, Results: stream(t, passA, "hello", done0)}, VMBroke, "not a JSON record"},
		{"timeout", Input{Console: bootOK, TimedOut: true}, TimedOut, "timeout"},
		{"panic", Input{Console: bootOK + "[    1.000000] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000000\n"}, KernelSplat, "Attempted to kill init"},
		{"warning beats a failed test", Input{
			Console: bootOK + "[    2.000000] WARNING: CPU: 0 PID: 1 at kernel/bpf/oreore.c:42 bpf_oreore_run+0x1/0x2\n",
			Results: stream(t, failC, done1),
		}, KernelSplat, "WARNING: CPU: 0"},
		{"splat beats a timeout", Input{Console: "[    3.1] BUG: KASAN: use-after-free in bpf_prog_run\n", TimedOut: true}, KernelSplat, "KASAN"},
		{"lockdep", Input{Console: "[    4.1] WARNING: possible circular locking dependency detected\n", Results: stream(t, passA, done0)}, KernelSplat, "circular locking"},
		{"kmemleak", Input{Console: "unreferenced object 0xffff888003a1c000 (size 64):\n", Results: stream(t, passA, done0)}, KernelSplat, "unreferenced object"},
		{"fewer CPUs than asked", Input{Console: bootOK + "[    0.187092] smp: Brought up 1 node, 1 CPU\n", Results: stream(t, passA, done0), CPUs: 2},
			VMBroke, "brought up 1 CPU(s) of the 2"},
		{"an expected binary never ran", Input{Console: bootOK, Results: stream(t, passA, passB1, passB, done0), Expected: []string{"suite", "xdp"}},
			VMBroke, "produced no event"},
		{"every expected binary ran", Input{Console: bootOK, Results: stream(t, passA, passB1, passB, done0), Expected: []string{"suite"}}, Passed, ""},
		{"the CPUs asked", Input{Console: bootOK + "[    0.528000] smp: Brought up 1 node, 2 CPUs\n", Results: stream(t, passA, done0), CPUs: 2}, Passed, ""},
		{"an init message that mentions WARNING mid-line is not a splat", Input{
			Console: bootOK + "oreore-init: the word WARNING: here is not a report\n",
			Results: stream(t, passA, done0),
		}, Passed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Decide(tt.in)
			if v.Code != tt.want {
				t.Fatalf("code %d (%v), want %d (%v); reasons %q", v.Code, v.Code, tt.want, tt.want, v.Reasons)
			}
			if tt.wantReason != "" && !strings.Contains(strings.Join(v.Reasons, "\n"), tt.wantReason) {
				t.Errorf("reasons %q do not mention %q", v.Reasons, tt.wantReason)
			}
		})
	}
}

func TestCountLeafTests(t *testing.T) {
	tally := Count(stream(t, passA, passB1, passB, failC, skipD, done1).Events)
	if tally.Passed != 2 || len(tally.Failed) != 1 || tally.Skipped != 1 {
		t.Errorf("tally %+v, want 2 passed (TestA, TestB/one), 1 failed, 1 skipped", tally)
	}
	if got := tally.Line(); got != "2 passed, 1 failed, 1 skipped" {
		t.Errorf("closing line %q", got)
	}
}

func TestHungTaskIsAReport(t *testing.T) {
	console := bootOK + "[  245.871234] INFO: task suite.test:81 blocked for more than 30 seconds.\n" +
		"[  245.871301]       Not tainted 6.1.0 #1\n" +
		"[  245.871400] \"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.\n"
	v := Decide(Input{Console: console, TimedOut: true})
	if v.Code != KernelSplat || len(v.Splats) != 1 || v.Splats[0].Line != 1 {
		t.Fatalf("code %v, splats %+v; want the hung-task line as the one report", v.Code, v.Splats)
	}
}

// What the watchdog's SysRq dump prints, in the shape 6.1 prints it, with
// lines that would look like reports anywhere else.
const sysrqDump = `[   12.100000] oreore-init: watchdog: begin of the stack dump
[   12.100100] sysrq: Show Blocked State
[   12.100200] task:suite.test      state:D stack:0     pid:81    ppid:76     flags:0x00004000
[   12.100300] Call Trace:
[   12.100310]  <TASK>
[   12.100320]  __schedule+0x2f1/0x8a0
[   12.100330]  schedule+0x5d/0xe0
[   12.100340]  schedule_preempt_disabled+0x14/0x30
[   12.100350]  __mutex_lock.constprop.0+0x3a6/0x6e0
[   12.100360]  oreore_write+0x4f/0x120 [oreore]
[   12.100370]  </TASK>
[   12.100400] sysrq: Show backtrace of all active CPUs
[   12.100500] NMI backtrace for cpu 1
[   12.100600] CPU: 1 PID: 70 Comm: guest-init Not tainted 6.1.0 #1
[   12.100700] Call Trace:
[   12.100710]  <NMI>
[   12.100720]  dump_stack_lvl+0x34/0x48
[   12.100730]  </NMI>
[   12.100800] INFO: NMI handler (nmi_cpu_backtrace_handler) took too long to run: 3.1 msecs
[   12.100900] sysrq: Show State
[   12.101000] task:swapper/0       state:R  running task     stack:0     pid:0     ppid:0      flags:0x00004000
[   12.101100] Call Trace:
[   12.101110]  <TASK>
[   12.101120]  default_idle+0x9/0x10
[   12.101130]  </TASK>
[   12.101200] task:suite.test      state:S stack:0     pid:82    ppid:76     flags:0x00000000
[   12.101300] Call Trace:
[   12.101310]  <TASK>
[   12.101320]  __schedule+0x2f1/0x8a0
[   12.101330]  __x64_sys_pause+0x1b/0x30
[   12.101340]  </TASK>
[   12.101350] BUG: KASAN: stack-out-of-bounds in unwind_next_frame+0x10/0x20
[   12.101400] task:kworker/0:1     state:I stack:0     pid:12    ppid:2      flags:0x00004000
[   12.101500] Call Trace:
[   12.101510]  <TASK>
[   12.101520]  worker_thread+0xe4/0x3c0
[   12.101530]  </TASK>
[   12.101600] Showing all locks held in the system:
[   12.101700] 1 lock held by suite.test/81:
[   12.101800]  #0: ffffffff82a0c0e0 (oreore_lock){+.+.}-{3:3}, at: oreore_write+0x4f/0x120 [oreore]
[   12.102000] oreore-init: watchdog: end of the stack dump
`

func TestSysrqDumpIsNotAReport(t *testing.T) {
	if s := FindSplats(bootOK + sysrqDump); len(s) != 0 {
		t.Errorf("the watchdog's dump counted as kernel reports: %+v", s)
	}
	// A report after the dump counts, and a panic always does.
	after := bootOK + sysrqDump + "[   13.0] BUG: kernel NULL pointer dereference, address: 0000000000000008\n"
	if s := FindSplats(after); len(s) != 1 || !strings.Contains(s[0].Text, "NULL pointer") {
		t.Errorf("the report after the dump: %+v", s)
	}
	cut := bootOK + strings.Split(sysrqDump, "[   12.1013")[0] + "[   12.2] Kernel panic - not syncing: Fatal exception\n"
	if s := FindSplats(cut); len(s) != 1 || !strings.Contains(s[0].Text, "Kernel panic") {
		t.Errorf("a panic inside the dump: %+v", s)
	}
}

func TestFindDumpKeepsTheTestsTasks(t *testing.T) {
	d, ok := FindDump(bootOK+sysrqDump+"[   13.0] reboot: Restarting system\n", "suite.test")
	if !ok || !d.Ended || d.Line != 1 {
		t.Fatalf("dump %+v, found %v", d, ok)
	}
	got := strings.Join(d.Lines, "\n")
	for _, want := range []string{"sysrq: Show Blocked State", "oreore_write+0x4f", "NMI backtrace for cpu 1", "__x64_sys_pause", "1 lock held by suite.test/81", DumpEndLine} {
		if !strings.Contains(got, want) {
			t.Errorf("the dump lacks %q:\n%s", want, got)
		}
	}
	for _, notWant := range []string{"default_idle", "worker_thread", "Restarting"} {
		if strings.Contains(got, notWant) {
			t.Errorf("the dump shows %q, another task's or after the end:\n%s", notWant, got)
		}
	}
	if d.Omitted != 2 {
		t.Errorf("%d tasks left out, want 2 (swapper/0, kworker/0:1)", d.Omitted)
	}
	if _, ok := FindDump(bootOK, "suite.test"); ok {
		t.Error("a dump found where there is none")
	}
}

const DumpEndLine = "watchdog: end of the stack dump"

const (
	runB      = `{"Action":"run","Package":"suite","Test":"TestB"}`
	runB1     = `{"Action":"run","Package":"suite","Test":"TestB/one"}`
	runOther  = `{"Action":"run","Package":"bpf","Test":"TestLoad"}`
	watchdogB = `{"Guest":"watchdog","Msg":"suite.TestB/one has run for 5s (limit 5s, oreore.test_timeout)","Package":"suite","Test":"TestB/one"}`
)

func TestTheRunningTestIsNamed(t *testing.T) {
	oops := bootOK + "[    4.4] BUG: kernel NULL pointer dereference, address: 0000000000000008\n"
	v := Decide(Input{Console: oops, Results: stream(t, passA, runB, runB1, runOther)})
	if v.Code != KernelSplat || strings.Join(v.Running, " ") != "suite.TestB/one bpf.TestLoad" {
		t.Fatalf("code %v, running %q; want 3 with suite.TestB/one and bpf.TestLoad", v.Code, v.Running)
	}
	if !strings.Contains(strings.Join(v.Reasons, "\n"), "running when the kernel report appeared: suite.TestB/one, bpf.TestLoad") {
		t.Errorf("reasons %q", v.Reasons)
	}
	// What the port held at the report counts, not what came in the grace.
	v = Decide(Input{Console: oops, Results: stream(t, passA, runB, runB1, `{"Action":"pass","Package":"suite","Test":"TestB/one"}`),
		ResultsAtReport: stream(t, passA, runB, runB1)})
	if strings.Join(v.Running, " ") != "suite.TestB/one" {
		t.Errorf("running %q, want suite.TestB/one as at the report", v.Running)
	}
	v = Decide(Input{Console: oops, Results: stream(t, passA)})
	if len(v.Running) != 0 || !strings.Contains(strings.Join(v.Reasons, "\n"), "no test was running") {
		t.Errorf("running %q, reasons %q", v.Running, v.Reasons)
	}
}

func TestWatchdogIsATimeout(t *testing.T) {
	v := Decide(Input{Console: bootOK + sysrqDump, Results: stream(t, passA, runB, runB1, watchdogB, done2)})
	if v.Code != TimedOut || len(v.Watchdog) != 1 || v.Watchdog[0].Test != "TestB/one" {
		t.Fatalf("code %v, watchdog %+v, reasons %q", v.Code, v.Watchdog, v.Reasons)
	}
	if r := strings.Join(v.Reasons, "\n"); !strings.Contains(r, "watchdog: suite.TestB/one has run for 5s") || strings.Contains(r, "gave up") {
		t.Errorf("reasons %q", v.Reasons)
	}
	// Killed by the runner before its done record: still the watchdog's.
	if v := Decide(Input{Console: bootOK, Results: stream(t, runB, watchdogB)}); v.Code != TimedOut || len(v.Reasons) != 1 {
		t.Errorf("without a done record: code %v, reasons %q", v.Code, v.Reasons)
	}
	// A kernel report outranks it.
	hung := bootOK + "[  31.0] INFO: task suite.test:81 blocked for more than 30 seconds.\n" + sysrqDump
	if v := Decide(Input{Console: hung, Results: stream(t, runB, watchdogB, done2)}); v.Code != KernelSplat {
		t.Errorf("hung task and watchdog: code %v, want 3", v.Code)
	}
}

// testdata/sysrq-6.1.txt is the console of a 6.1 guest whose watchdog
// fired on sleepsuite.TestSleepsForever (vm/selftest), from the watchdog's
// line to the reboot.
func TestRealSysrqDump(t *testing.T) {
	b, err := os.ReadFile("testdata/sysrq-6.1.txt")
	if err != nil {
		t.Fatal(err)
	}
	console := string(b)
	if s := FindSplats(console); len(s) != 0 {
		t.Errorf("the watchdog's dump counted as kernel reports: %+v", s)
	}
	d, ok := FindDump(console, "sleepsuite.test")
	if !ok || !d.Ended {
		t.Fatalf("no whole dump found: %+v", d)
	}
	got := strings.Join(d.Lines, "\n")
	for _, want := range []string{"sysrq: Show Blocked State", "NMI backtrace for cpu 0", "task:sleepsuite.test state:S",
		"__x64_sys_nanosleep", "Showing busy workqueues"} {
		if !strings.Contains(got, want) {
			t.Errorf("the dump lacks %q:\n%s", want, got)
		}
	}
	for _, notWant := range []string{"Workqueue:  0x0 (events)", "Sched Debug Version", "runnable tasks", "task:kthreadd", "reboot:"} {
		if strings.Contains(got, notWant) {
			t.Errorf("the dump shows %q:\n%s", notWant, got)
		}
	}
	if len(d.Lines) > 100 || d.Omitted < 20 {
		t.Errorf("%d lines shown, %d tasks left out: want the test's few tasks of ~35", len(d.Lines), d.Omitted)
	}
}

// Known failures of the kernel's selftests are skips that say so; a
// sibling whose name extends another's ("T-x" next to "T") is no subtest.
func TestCountKnownFailuresPerPackage(t *testing.T) {
	ev := func(pkg, test, action, output string) guest.TestEvent {
		return guest.TestEvent{Package: pkg, Test: test, Action: action, Output: output}
	}
	events := []guest.TestEvent{
		ev("kselftest-kernel", "TestTestVerifier/p:_a", "pass", ""),
		ev("kselftest-kernel", "TestTestVerifier/p:_b", "output", "    known failure (fails on base too: needs CONFIG_KEYS)\n"),
		ev("kselftest-kernel", "TestTestVerifier/p:_b", "skip", ""),
		ev("kselftest-kernel", "TestTestVerifier/p:_c", "skip", ""),
		ev("kselftest-kernel", "TestTestVerifier", "pass", ""),
		ev("suite", "TestA", "pass", ""),
		ev("suite", "TestA-x", "fail", ""),
	}
	tally := Count(events)
	if tally.Passed != 2 || tally.Skipped != 2 || tally.Known != 1 || len(tally.Failed) != 1 {
		t.Errorf("tally %+v, want 2 passed, 2 skipped of which 1 known, 1 failed", tally)
	}
	want := []string{
		"kselftest-kernel: 1 passed, 0 failed, 2 skipped (1 of them known failures)",
		"suite: 1 passed, 1 failed",
	}
	if got := tally.PackageLines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("package lines %q, want %q", got, want)
	}
}
