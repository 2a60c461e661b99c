//go:build guest

// Package kernel runs the kernel's own BPF selftests that leave the
// described types' attach points alone: all of test_verifier, and
// test_progs without the types' own tests (which the slot lane runs). See
// package kselftest.
package kernel

import (
	"strings"
	"testing"

	"oreore/harness/kselftest"
	"oreore/harness/progtype"
)

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
