//go:build guest

// Package kernel runs the kernel's own BPF selftests that leave the
// described types' attach points alone: all of test_verifier, and
// test_progs without the types' own tests (which the slot lane runs). See
// package kselftest.
package kernel

import (
	"strings"
	"testing"

	"oreore/harness/guest"
	"oreore/harness/kselftest"
	"oreore/harness/progtype"
)

// SkipMarker starts the line each skipped series test logs on the base
// kernel; make selftests-baseline prints those lines.
const SkipMarker = "series test skipped on base: "

func TestTestVerifier(t *testing.T) {
	bin := kselftest.Binary(t, "test_verifier")
	// 6.12's test_verifier loads bpf_testmod.ko (make selftests builds it
	// into /selftests) and stops at once without it: Report then fails.
	out := kselftest.Run(t, bin)
	kselftest.Report(t, "test_verifier", out, kselftest.ParseTestVerifier(out), kselftest.KnownHere(t))
}

func TestTestProgs(t *testing.T) {
	bin := kselftest.Binary(t, "test_progs")
	// The series' own tests run in the slot lane (kselftest/slot), where
	// nothing else uses the types' attach points.
	var own []string
	for _, typ := range progtype.All {
		own = append(own, typ.Selftests...)
	}
	out := kselftest.Run(t, bin, "-d", strings.Join(own, ","))
	kselftest.Report(t, "test_progs", out, kselftest.ParseTestProgs(out), kselftest.KnownHere(t))
}

// On the base kernel (make selftests-baseline) the types' own test_progs
// tests must skip, each with its reason, not fail: BPF CI and vmtest.sh run
// them with their own configs, on kernels that may lack the types. On the
// series' kernel they run in the slot lane (kselftest/slot), where the
// types' attach points are free, so this test has nothing to add there.
func TestSeriesTestsSkipWithoutTheTypes(t *testing.T) {
	if !guest.Baseline() {
		t.Skip("the series' kernel has the types: kselftest/slot's TestTestProgsSeries runs these tests")
	}
	bin := kselftest.Binary(t, "test_progs")
	var own []string
	for _, typ := range progtype.All {
		own = append(own, typ.Selftests...)
	}
	// -v: test_progs shows a passing or skipped test's output (its
	// reason) only when verbose.
	out := kselftest.Run(t, bin, "-v", "-t", strings.Join(own, ","))
	seen := map[string]bool{}
	for _, r := range kselftest.ParseTestProgs(out) {
		top, _, _ := strings.Cut(r.Name, "/")
		seen[top] = true
		if r.Status != kselftest.Skip {
			t.Errorf("%s: %s on a kernel without the types; want SKIP\n%s", r.Name, r.Status, r.Log)
			continue
		}
		// A subtest skips with its test; the test itself says why.
		if !strings.Contains(r.Name, "/") && !strings.Contains(r.Log, ":SKIP:") {
			t.Errorf("%s skips without saying why (no \"NAME:SKIP:reason\" line):\n%s", r.Name, r.Log)
		}
		t.Logf("%s%s: %s", SkipMarker, r.Name, strings.ReplaceAll(r.Log, "\n", " | "))
	}
	for _, o := range own {
		if !seen[o] {
			t.Errorf("test_progs -t %s printed no result for %s:\n%s", strings.Join(own, ","), o, out)
		}
	}
}
