//go:build guest

// Package kernel runs the kernel's own BPF selftests that leave the oreore
// slot alone: all of test_verifier, and test_progs without the oreore
// test (which the slot lane runs). See package kselftest.
package kernel

import (
	"strings"
	"testing"

	"oreore/harness/kselftest"
)

func TestTestVerifier(t *testing.T) {
	bin := kselftest.Binary(t, "test_verifier")
	out := kselftest.Run(t, bin)
	// 6.12's test_verifier stops at once without the selftests' module,
	// which the harness does not build yet: said, not hidden.
	if strings.Contains(out, "Can't find bpf_testmod.ko") && len(kselftest.ParseTestVerifier(out)) == 0 {
		t.Skipf("test_verifier needs bpf_testmod.ko, which make selftests does not build yet:\n%s", out)
	}
	kselftest.Report(t, "test_verifier", out, kselftest.ParseTestVerifier(out), kselftest.KnownHere(t))
}

func TestTestProgs(t *testing.T) {
	bin := kselftest.Binary(t, "test_progs")
	out := kselftest.Run(t, bin, "-d", "oreore")
	kselftest.Report(t, "test_progs", out, kselftest.ParseTestProgs(out), kselftest.KnownHere(t))
}
