package guest

import (
	"reflect"
	"testing"
	"time"
)

func names(ts []RunningTest) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name())
	}
	return out
}

func TestRunningFollowsTheEvents(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var r Running
	step := 0
	feed := func(action, pkg, test string) time.Time {
		step++
		now := t0.Add(time.Duration(step) * time.Second)
		r.Event(TestEvent{Action: action, Package: pkg, Test: test}, now)
		return now
	}
	feed("start", "suite", "")
	feed("run", "suite", "TestA")
	feed("pass", "suite", "TestA")
	if got := names(r.Idle()); !reflect.DeepEqual(got, []string{"suite"}) {
		t.Errorf("between tests the binary is idle: %q", got)
	}
	feed("run", "suite", "TestB")
	sub := feed("run", "suite", "TestB/one")
	feed("start", "bpf", "")
	feed("run", "bpf", "TestP")
	feed("pause", "bpf", "TestP")
	feed("run", "bpf", "BenchmarkX") // no end event of its own
	feed("run", "bpf", "BenchmarkY")
	if got := names(r.Leaves()); !reflect.DeepEqual(got, []string{"suite.TestB/one", "bpf.BenchmarkY"}) {
		t.Errorf("leaves %q, want the subtest (not its parent), the last benchmark, no paused test", got)
	}
	if l := r.Leaves(); l[0].Since != sub {
		t.Errorf("the subtest runs since %v, want %v", l[0].Since, sub)
	}
	end := feed("pass", "suite", "TestB/one")
	if l := r.Leaves(); l[0].Name() != "suite.TestB" || l[0].Since != end {
		t.Errorf("after its subtest the parent runs again, since the subtest's end: %+v", l)
	}
	feed("fail", "bpf", "") // the binary ended
	feed("pass", "suite", "TestB")
	if got := names(r.Leaves()); got != nil {
		t.Errorf("nothing runs, yet %q", got)
	}
	if got := names(r.Idle()); !reflect.DeepEqual(got, []string{"suite"}) {
		t.Errorf("idle %q, want suite only (bpf ended)", got)
	}
	r.Ended("suite")
	if got := r.Idle(); got != nil {
		t.Errorf("idle after the end: %q", names(got))
	}
}

func TestComm(t *testing.T) {
	for pkg, want := range map[string]string{"suite": "suite.test", "oreorecmd": "oreorecmd.test", "sleepsuite": "sleepsuite.test", "averylongpackagename": "averylongpackag"} {
		if got := Comm(pkg); got != want {
			t.Errorf("Comm(%q) = %q, want %q", pkg, got, want)
		}
	}
}

func TestResultsPortFromTheCommandLine(t *testing.T) {
	for cmdline, want := range map[string]string{
		"console=ttyS0 panic=-1 rdinit=/init\n":                            ResultsPort,
		"console=ttyAMA0 oreore.results=/dev/hvc0 oreore.kmemleak=1\n":     "/dev/hvc0",
		"console=ttyAMA0 -- -test.run=X oreore.results=/dev/somethingelse": ResultsPort,
	} {
		if got := ResultsPortFrom(cmdline); got != want {
			t.Errorf("%q: %s, want %s", cmdline, got, want)
		}
	}
}
