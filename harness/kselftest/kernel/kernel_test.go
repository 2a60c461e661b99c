//go:build guest

// Package kernel runs the kernel's own BPF selftests that leave the oreore
// slot alone: all of test_verifier, and test_progs without the oreore
// test (which the slot lane runs). See package kselftest.
package kernel

import (
	"testing"

	"oreore/harness/kselftest"
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
	out := kselftest.Run(t, bin, "-d", "oreore")
	kselftest.Report(t, "test_progs", out, kselftest.ParseTestProgs(out), kselftest.KnownHere(t))
}
