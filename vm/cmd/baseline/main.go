// Command baseline writes the known-failures list of a series and flavor
// (harness/kselftest/known/SERIES-FLAVOR.txt) from a run of the kernel's
// selftests on the base kernel: Debian's tree with the same config and no
// series, booted by `make selftests-baseline` with oreore.baseline=1. A
// test on the list fails on base too, so its failure with the series is not
// a regression. Reasons already on the list are kept: they may have been
// written by hand.
//
//	baseline -events build/vm-6.1-base/test-events.json -list harness/kselftest/known/6.1-normal.txt -series 6.1 -flavor normal
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"oreore/harness/guest"
	"oreore/harness/kselftest"
	"oreore/harness/progtype"
)

// binaries are those the kernel lane runs; a baseline without one of them
// would list none of its failures.
var binaries = []string{"test_verifier", "test_progs"}

// ownTests are the series' own tests: they fail on base by design (no such
// program type) and must pass with the series, so they are never listed.
// Tests named with -own are too: libbpf_str checks libbpf's names against
// the kernel's enums, which the base kernel lacks the series' values of.
var ownTests = func() *regexp.Regexp {
	var names []string
	for _, t := range progtype.All {
		names = append(names, regexp.QuoteMeta(t.Name))
	}
	return regexp.MustCompile(`(?i)` + strings.Join(names, "|"))
}()

// isOwn reports whether test (or the test it is a subtest of) is the
// series' own.
func isOwn(test string, own map[string]bool) bool {
	top, _, _ := strings.Cut(test, "/")
	return ownTests.MatchString(test) || own[top]
}

func main() {
	events := flag.String("events", "", "test-events.json of the baseline run")
	list := flag.String("list", "", "the known-failures list to write")
	series := flag.String("series", "", "kernel series, e.g. 6.1")
	flavor := flag.String("flavor", "normal", "normal or debug")
	arch := flag.String("arch", "x86_64", "the guest's machine: x86_64, arm64 or s390x")
	ownList := flag.String("own", "", "space-separated tests that are the series' own besides those named oreore (never listed)")
	flag.Parse()
	if *events == "" || *list == "" || *series == "" {
		fmt.Fprintln(os.Stderr, "usage: baseline -events FILE -list FILE -series SERIES [-flavor FLAVOR] [-arch MACHINE] [-own 'TEST ...']")
		os.Exit(64)
	}
	if err := run(*events, *list, *series, *flavor, *arch, strings.Fields(*ownList), time.Now(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}

func run(eventsPath, listPath, series, flavor, arch string, ownList []string, now time.Time, w io.Writer) error {
	f, err := os.Open(eventsPath)
	if err != nil {
		return err
	}
	defer f.Close()
	base, err := collect(f)
	if err != nil {
		return fmt.Errorf("%s: %w", eventsPath, err)
	}
	old := kselftest.Known{}
	if b, err := os.ReadFile(listPath); err == nil {
		if old, err = kselftest.ParseKnown(string(b)); err != nil {
			return fmt.Errorf("%s: %w", listPath, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	own := map[string]bool{}
	for _, t := range ownList {
		own[t] = true
	}
	next, report := merge(old, base, own, now)
	machine := ""
	if arch != "x86_64" {
		machine = ", " + arch
	}
	header := []string{
		fmt.Sprintf("The kernel's BPF selftests that fail on Linux %s (%s flavor%s) with oreore's config and without the", series,
			flavor, machine),
		fmt.Sprintf("series: written by make selftests-baseline (vm/cmd/baseline) from a run on the base kernel, %s.", now.Format("2006-01-02")),
		"BINARY<TAB>TEST<TAB>REASON; harness/kselftest reads it. A failure that is not here fails vm-test. Reasons",
		"can be edited by hand: the next baseline keeps them for the tests that still fail on base.",
	}
	if err := os.WriteFile(listPath, []byte(next.Format(header)), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "baseline: %s\n%s", listPath, report)
	return nil
}

// collect reads the failures a baseline run logged. It insists that the
// run was one (the guest said so) and that each binary reported a summary:
// a run where test_verifier never started would otherwise give an empty list.
func collect(r io.Reader) (kselftest.Known, error) {
	k := kselftest.Known{}
	var baseline bool
	summaries := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct{ Action, Package, Output string }
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Action != "output" || ev.Package != "kselftest-kernel" {
			continue
		}
		out := strings.TrimRight(ev.Output, "\n")
		if strings.Contains(out, "baseline run ("+guest.BaselineParam+"=1)") {
			baseline = true
		}
		for _, bin := range binaries {
			if strings.Contains(out, ": "+bin+": ") && strings.Contains(out, " passed, ") {
				summaries[bin] = true
			}
			// kselftest.Run's line for a binary a signal ended: its counts
			// cover only what ran before (the OOM killer, on 7.3's debug base).
			if strings.Contains(out, ": "+bin+" ") && strings.Contains(out, " was killed by ") {
				return nil, fmt.Errorf("%s was killed part way on the base kernel: its failures are not all known (see the run's report: %s)", bin, strings.TrimSpace(out))
			}
		}
		_, entry, ok := strings.Cut(out, guest.BaselinePrefix)
		if !ok {
			continue
		}
		f := strings.SplitN(entry, "\t", 3)
		if len(f) != 3 {
			return nil, fmt.Errorf("malformed baseline line %q", out)
		}
		if k[f[0]] == nil {
			k[f[0]] = map[string]string{}
		}
		k[f[0]][f[1]] = strings.TrimSpace(f[2])
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !baseline {
		return nil, fmt.Errorf("not a baseline run: kselftest-kernel never said it ran without a list (was the guest booted with %s=1?)", guest.BaselineParam)
	}
	for _, bin := range binaries {
		if !summaries[bin] {
			return nil, fmt.Errorf("%s reported no summary: it did not run to the end on the base kernel (see the run's report)", bin)
		}
	}
	return k, nil
}

// merge makes the new list: every failure on base but the series' own
// tests, with the old reason where there was one.
func merge(old, base kselftest.Known, ownSet map[string]bool, now time.Time) (kselftest.Known, string) {
	next := kselftest.Known{}
	var added, kept, own, dropped []string
	for bin, tests := range base {
		for test, why := range tests {
			if isOwn(test, ownSet) {
				own = append(own, bin+": "+test)
				continue
			}
			reason := old.Reason(bin, test)
			if reason != "" {
				kept = append(kept, bin+": "+test)
			} else {
				reason = fmt.Sprintf("fails on the base kernel too (make selftests-baseline, %s)", now.Format("2006-01-02"))
				if why != "" {
					reason += ": " + why
				}
				added = append(added, bin+": "+test)
			}
			if next[bin] == nil {
				next[bin] = map[string]string{}
			}
			next[bin][test] = reason
		}
	}
	for bin, tests := range old {
		for test := range tests {
			if next.Reason(bin, test) == "" {
				dropped = append(dropped, bin+": "+test)
			}
		}
	}
	var b strings.Builder
	section := func(title string, names []string) {
		sort.Strings(names)
		fmt.Fprintf(&b, "  %d %s\n", len(names), title)
		for _, n := range names {
			fmt.Fprintf(&b, "    %s\n", n)
		}
	}
	section("listed before and still failing on base (reasons kept)", kept)
	section("new: failing on base", added)
	section("dropped: listed before, not failing on base", dropped)
	section("the series' own tests failing on base (never listed)", own)
	return next, b.String()
}
