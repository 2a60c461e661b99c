package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"oreore/harness/fuzz"
	"oreore/harness/guest"
)

// Two boots of the same bug print the same report but for the timestamp,
// the addresses and the offsets.
func TestSplatKeyIgnoresWhatDiffersBetweenBoots(t *testing.T) {
	a := "[   12.345678] BUG: KASAN: slab-out-of-bounds in bpf_prog_test_run_kore+0x1a2/0x3c0"
	b := "[  101.000001] BUG: KASAN: slab-out-of-bounds in bpf_prog_test_run_kore+0x1b0/0x3c0"
	if splatKey(a) != splatKey(b) {
		t.Errorf("%q != %q", splatKey(a), splatKey(b))
	}
	if c := "[ 1.0] BUG: KASAN: use-after-free in bpf_kore_run+0x10/0x80"; splatKey(a) == splatKey(c) {
		t.Errorf("%q and %q have the same key", a, c)
	}
	if got := slug(splatKey(a)); got != "bug-kasan-slab-out-of-bounds-in-bpf-prog-test-run-kore" {
		t.Errorf("slug %q", got)
	}
}

// The rate comes from the Go fuzzer's last progress line, whose elapsed
// time is a Go duration (1m0s once past a minute).
func TestStatsReadsTheLastProgressLine(t *testing.T) {
	console := strings.Join([]string{
		"fuzz: elapsed: 3s, execs: 17 (6/sec), new interesting: 0 (total: 13)",
		"[  5.0] some kernel line",
		"fuzz: elapsed: 1m0s, execs: 2400 (0/sec), new interesting: 4 (total: 17)",
	}, "\n")
	var b strings.Builder
	stats(console, 6000, &b)
	if want := "6000 inputs run in 1m0s: 100.0 per second (Go counts 2400 fuzzing executions, 40.0 per second; the rest minimised new inputs); 4 new interesting inputs, 17 in the corpus"; !strings.Contains(b.String(), want) {
		t.Errorf("got %q, want %q in it", b.String(), want)
	}
}

// The input blamed for a crash is the last one the worker sent.
func TestLastInputIsTheLastRecord(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for _, in := range []string{"first", "second"} {
		b, _ := json.Marshal(guest.Guest{Guest: fuzz.InputRecord, Msg: "42", Text: base64.StdEncoding.EncodeToString([]byte(in))})
		lines = append(lines, string(b))
	}
	lines = append(lines, `{"Guest":"step","Msg":"x"}`)
	p := filepath.Join(dir, "results.jsonl")
	os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	got, err := lastInput(p)
	if err != nil || string(got) != "second" {
		t.Errorf("got %q, %v; want second", got, err)
	}
	os.WriteFile(p, []byte(`{"Guest":"step","Msg":"x"}`+"\n"), 0o644)
	if _, err := lastInput(p); err == nil {
		t.Error("no input record, yet an input")
	}
}
