package guest

import (
	"sort"
	"strings"
	"time"
)

// Running follows `go test -json` events and knows which tests are running
// and since when: the guest's watchdog times them, and the host names the
// test that was running when the kernel printed a report. The zero value
// is ready to use.
type Running struct {
	tests map[testKey]*runState
	// binaries holds each test binary that has started and not ended, with
	// the last time one of its tests started or ended.
	binaries map[string]time.Time
	seq      int
}

type testKey struct{ pkg, test string }

type runState struct {
	since  time.Time
	paused bool
	seq    int // run order, for a stable report
}

// RunningTest is a test that has started and not ended.
type RunningTest struct {
	Package, Test string
	// Since is when it last made progress: its start (run or cont), or its
	// last subtest's start or end.
	Since time.Time
}

// Name is PACKAGE.Test, or PACKAGE for a binary outside any test.
func (t RunningTest) Name() string {
	if t.Test == "" {
		return t.Package
	}
	return t.Package + "." + t.Test
}

// Started notes that a test binary started (its "start" event does too).
func (r *Running) Started(pkg string, now time.Time) {
	if r.binaries == nil {
		r.binaries = map[string]time.Time{}
	}
	r.binaries[pkg] = now
}

// Ended forgets a test binary and its tests: it has exited.
func (r *Running) Ended(pkg string) {
	delete(r.binaries, pkg)
	for k := range r.tests {
		if k.pkg == pkg {
			delete(r.tests, k)
		}
	}
}

// Event takes one event at time now.
func (r *Running) Event(ev TestEvent, now time.Time) {
	if r.tests == nil {
		r.tests = map[testKey]*runState{}
	}
	if ev.Test == "" {
		switch ev.Action {
		case "start":
			r.Started(ev.Package, now)
		case "pass", "fail", "skip":
			r.Ended(ev.Package)
		}
		return
	}
	k := testKey{ev.Package, ev.Test}
	switch ev.Action {
	case "run":
		if !strings.Contains(ev.Test, "/") {
			// Top-level tests and benchmarks run one at a time: a new one
			// means the last has ended or paused. A benchmark has no end
			// event of its own.
			for other, st := range r.tests {
				if other.pkg == ev.Package && !st.paused && !strings.Contains(other.test, "/") {
					r.drop(other)
				}
			}
		}
		r.seq++
		r.tests[k] = &runState{since: now, seq: r.seq}
		r.progress(k, now)
	case "cont":
		if st := r.tests[k]; st != nil {
			st.paused, st.since = false, now
		}
	case "pause":
		if st := r.tests[k]; st != nil {
			st.paused = true
		}
	case "pass", "fail", "skip", "bench":
		r.drop(k)
		r.progress(k, now)
	}
}

// drop forgets a test and its subtests.
func (r *Running) drop(k testKey) {
	for other := range r.tests {
		if other.pkg == k.pkg && (other.test == k.test || strings.HasPrefix(other.test, k.test+"/")) {
			delete(r.tests, other)
		}
	}
}

// progress notes that k started or ended: its parent and its binary moved.
func (r *Running) progress(k testKey, now time.Time) {
	if i := strings.LastIndexByte(k.test, '/'); i >= 0 {
		if st := r.tests[testKey{k.pkg, k.test[:i]}]; st != nil {
			st.since = now
		}
	}
	if _, ok := r.binaries[k.pkg]; ok {
		r.binaries[k.pkg] = now
	}
}

// Leaves returns the tests that are running themselves: started, not
// paused, and without a running subtest, in the order they started.
func (r *Running) Leaves() []RunningTest {
	var out []RunningTest
	var seqs []int
	for k, st := range r.tests {
		if st.paused || r.hasRunningChild(k) {
			continue
		}
		out = append(out, RunningTest{Package: k.pkg, Test: k.test, Since: st.since})
		seqs = append(seqs, st.seq)
	}
	sort.Sort(bySeq{out, seqs})
	return out
}

func (r *Running) hasRunningChild(k testKey) bool {
	for other, st := range r.tests {
		if other.pkg == k.pkg && !st.paused && strings.HasPrefix(other.test, k.test+"/") {
			return true
		}
	}
	return false
}

// Idle returns the binaries that run no test (before the first, between
// tests, after the last: TestMain, init, a paused parallel test that never
// continues), as RunningTests without a Test, by package.
func (r *Running) Idle() []RunningTest {
	busy := map[string]bool{}
	for k, st := range r.tests {
		if !st.paused {
			busy[k.pkg] = true
		}
	}
	var out []RunningTest
	for pkg, since := range r.binaries {
		if !busy[pkg] {
			out = append(out, RunningTest{Package: pkg, Since: since})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Package < out[j].Package })
	return out
}

type bySeq struct {
	t   []RunningTest
	seq []int
}

func (s bySeq) Len() int           { return len(s.t) }
func (s bySeq) Less(i, j int) bool { return s.seq[i] < s.seq[j] }
func (s bySeq) Swap(i, j int) {
	s.t[i], s.t[j] = s.t[j], s.t[i]
	s.seq[i], s.seq[j] = s.seq[j], s.seq[i]
}
