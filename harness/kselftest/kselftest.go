// Package kselftest reads the results of the kernel's own BPF selftests
// (test_verifier and test_progs, built from the patched tree by `make
// selftests`) and holds the failures that are known on the unpatched base
// kernel, the way BPF CI keeps its DENYLIST: a failure is a regression only
// if the same test passes on base.
//
// The guest-side tests in ./guest run the binaries and turn every kernel
// test into a Go subtest, so that their results reach the results port, the
// JUnit report and the verdict like the harness's own tests.
package kselftest

import (
	"bufio"
	"fmt"
	"regexp"
	"strings"
)

// Status is a kernel test's outcome.
type Status string

const (
	Pass Status = "OK"
	Fail Status = "FAIL"
	Skip Status = "SKIP"
)

// Result is one kernel test: its name as the binary prints it, its outcome
// and what the binary printed about it (the log of a failure, the reason of
// a skip).
type Result struct {
	Name   string
	Status Status
	Log    string
}

// test_verifier prints "#898/p oreore: read the u32 context 2 cases OK", a
// FAIL line followed by its log, or "SKIP (reason)". The number shifts when
// tests are added, so the name keeps only the mode and the description.
var verifierLine = regexp.MustCompile(`^#(\d+)/([pu]) (.*?) ?(?:\d+ cases )?(OK|FAIL|SKIP)\b(.*)$`)

// ParseTestVerifier reads test_verifier's output. Names are "p: DESC" (as
// root) or "u: DESC" (unprivileged).
func ParseTestVerifier(out string) []Result {
	var results []Result
	var last *Result
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := verifierLine.FindStringSubmatch(line); m != nil {
			results = append(results, Result{Name: m[2] + ": " + m[3], Status: Status(m[4]), Log: strings.TrimSpace(m[5])})
			last = &results[len(results)-1]
			continue
		}
		if strings.HasPrefix(line, "Summary:") {
			last = nil
			continue
		}
		// A failure's log follows its line.
		if last != nil && last.Status == Fail {
			last.Log += "\n" + line
		}
	}
	for i := range results {
		results[i].Log = strings.TrimSpace(results[i].Log)
	}
	return results
}

// test_progs prints "#2/4     oreore/prog_attach:OK" for a subtest and
// "#2       oreore:OK" for a test, each after the log of a failure.
var progsLine = regexp.MustCompile(`^#(\d+)(?:/(\d+))?\s+(\S.*):(OK|FAIL|SKIP)\s*$`)

// ParseTestProgs reads test_progs' output (without -v). A test's log is
// what it printed after the previous result line. The failures that
// test_progs prints again after "All error logs:" are not read twice.
func ParseTestProgs(out string) []Result {
	var results []Result
	var log []string
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "All error logs:") {
			break
		}
		m := progsLine.FindStringSubmatch(line)
		if m == nil {
			log = append(log, line)
			continue
		}
		r := Result{Name: m[3], Status: Status(m[4])}
		if r.Status != Pass {
			r.Log = strings.TrimSpace(strings.Join(log, "\n"))
		}
		results = append(results, r)
		log = nil
	}
	return results
}

// Known is the list of one series and flavor: binary → test name → reason.
type Known map[string]map[string]string

// ParseKnown reads a list: one test per line, "BINARY<TAB>TEST<TAB>REASON",
// with # comments and blank lines. The reason is required: an entry nobody
// can explain is a bug report waiting to be written.
func ParseKnown(text string) (Known, error) {
	k := Known{}
	for i, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 || f[0] == "" || f[1] == "" || strings.TrimSpace(f[2]) == "" {
			return nil, fmt.Errorf("line %d: want BINARY<TAB>TEST<TAB>REASON, got %q", i+1, line)
		}
		if f[0] != "test_verifier" && f[0] != "test_progs" {
			return nil, fmt.Errorf("line %d: unknown binary %q", i+1, f[0])
		}
		if k[f[0]] == nil {
			k[f[0]] = map[string]string{}
		}
		if _, dup := k[f[0]][f[1]]; dup {
			return nil, fmt.Errorf("line %d: %s %q is listed twice", i+1, f[0], f[1])
		}
		k[f[0]][f[1]] = f[2]
	}
	return k, nil
}

// Reason says why a test of binary is known to fail on base, or "".
func (k Known) Reason(binary, test string) string { return k[binary][test] }
