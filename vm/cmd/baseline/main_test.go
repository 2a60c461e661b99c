package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"oreore/harness/kselftest"
)

// events is a baseline run's test-events.json holding these output lines
// of kselftest-kernel.
func events(t *testing.T, lines ...string) string {
	t.Helper()
	var b strings.Builder
	for _, l := range lines {
		j, err := json.Marshal(map[string]string{"Action": "output", "Package": "kselftest-kernel", "Test": "TestTestVerifier", "Output": l + "\n"})
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(j, '\n'))
	}
	p := filepath.Join(t.TempDir(), "test-events.json")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	said      = "    run.go:132: baseline run (oreore.baseline=1): no known-failures list applies"
	verifier  = "    kernel_test.go:24: test_verifier: 1244 passed, 2 failed, 761 skipped, 0 known failures, 0 stale list entries"
	progs     = "    kernel_test.go:30: test_progs: 1 passed, 0 failed, 0 skipped, 0 known failures, 0 stale list entries"
	keyFails  = "    kernel_test.go:24: baseline: test_verifier\t#123/p reference tracking: acquire/release user key reference\tFAIL to load prog 'Invalid argument'"
	oreoreRun = "    kernel_test.go:24: baseline: test_verifier\t#1600/p oreore: return the context\tFailed to load prog 'Invalid argument'"
	// libbpf_str fails on base for want of the series' enum values.
	strFails = "    kernel_test.go:30: baseline: test_progs\tlibbpf_str/bpf_prog_type_str\ttest_libbpf_bpf_prog_type_str:FAIL"
)

func TestBaselineWritesTheFailuresOnBase(t *testing.T) {
	list := filepath.Join(t.TempDir(), "6.1-normal.txt")
	old := "test_verifier\t#123/p reference tracking: acquire/release user key reference\tneeds CONFIG_KEYS\n" +
		"test_verifier\t#9/p passes on base now\tonce failed\n"
	if err := os.WriteFile(list, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	ev := events(t, said, keyFails, oreoreRun, strFails, verifier, progs)
	if err := run(ev, list, "6.1", "normal", "x86_64", []string{"libbpf_str"}, time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), &out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(list)
	if err != nil {
		t.Fatal(err)
	}
	k, err := kselftest.ParseKnown(string(b))
	if err != nil {
		t.Fatalf("the written list does not parse: %v\n%s", err, b)
	}
	if got := k.Reason("test_verifier", "#123/p reference tracking: acquire/release user key reference"); got != "needs CONFIG_KEYS" {
		t.Errorf("a hand-written reason was not kept: %q", got)
	}
	if got := k.Reason("test_verifier", "#9/p passes on base now"); got != "" {
		t.Errorf("an entry that no longer fails on base was kept: %q", got)
	}
	if got := k.Reason("test_verifier", "#1600/p oreore: return the context"); got != "" {
		t.Errorf("the series' own test was listed as failing on base: %q", got)
	}
	if got := k.Reason("test_progs", "libbpf_str/bpf_prog_type_str"); got != "" {
		t.Errorf("a subtest of a test named with -own was listed: %q", got)
	}
	for _, want := range []string{"1 listed before and still failing", "1 dropped", "#9/p passes on base now", "2 the series' own tests"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestBaselineNewEntryHasTheFirstLogLine(t *testing.T) {
	list := filepath.Join(t.TempDir(), "6.12-normal.txt")
	ev := events(t, said, keyFails, verifier, progs)
	if err := run(ev, list, "6.12", "normal", "arm64", nil, time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(list)
	k, err := kselftest.ParseKnown(string(b))
	if err != nil {
		t.Fatal(err)
	}
	want := "fails on the base kernel too (make selftests-baseline, 2026-11-27): FAIL to load prog 'Invalid argument'"
	if got := k.Reason("test_verifier", "#123/p reference tracking: acquire/release user key reference"); got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
	if !strings.HasPrefix(string(b), "# The kernel's BPF selftests that fail on Linux 6.12 (normal flavor, arm64)") {
		t.Errorf("header:\n%s", b)
	}
}

func TestBaselineRefusesRunsThatMeasureNothing(t *testing.T) {
	for name, lines := range map[string][]string{
		"not booted as a baseline":  {keyFails, verifier, progs},
		"test_verifier never ended": {said, keyFails, progs},
		"test_progs never ended":    {said, verifier},
		// 7.3's debug base run: the OOM killer took test_verifier part way,
		// and Report still printed the counts of what had run.
		"test_verifier was killed": {said, "    kernel_test.go:26: test_verifier  was killed by killed; its output ends:", verifier, progs},
	} {
		t.Run(name, func(t *testing.T) {
			list := filepath.Join(t.TempDir(), "l.txt")
			if err := run(events(t, lines...), list, "6.1", "normal", "x86_64", nil, time.Now(), &strings.Builder{}); err == nil {
				t.Fatal("no error")
			}
			if _, err := os.Stat(list); err == nil {
				t.Error("the list was written anyway")
			}
		})
	}
}
