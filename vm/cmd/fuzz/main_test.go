package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
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

// The host counts distinct PCs: a restarted worker writes its PCs again.
func TestReadPCsCountsDistinctOnes(t *testing.T) {
	r, err := readPCs("0xffffffff81000010\noreore+0x40\n0xffffffff81000010\noreore+0x40\noreore+0x48\nkore+0x8\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.kernel) != 1 || r.modules["oreore"] != 2 || r.modules["kore"] != 1 || r.total() != 4 {
		t.Errorf("got %d vmlinux PCs, modules %v; want 1, oreore 2, kore 1", len(r.kernel), r.modules)
	}
	if _, err := readPCs("0xffffffff81000010\nnot-a-pc\n"); err == nil {
		t.Error("a line that is no PC was taken")
	}
}

// A run is a failure when KCOV reported nothing, or nothing on the
// series' lines: the fuzzer was not guided by the series. The series is a
// git tree whose one commit adds target.c; the "kernel" is vm/kcov's test
// program, built from it with trace-pc, whose run prints the PCs.
func TestCoverageFailsWithoutASeriesPC(t *testing.T) {
	src := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", src, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	git("commit", "-q", "--allow-empty", "-m", "base")
	git("tag", "base")
	target, _ := os.ReadFile("../../kcov/testdata/target.c")
	os.WriteFile(filepath.Join(src, "target.c"), target, 0o644)
	git("add", "target.c")
	git("commit", "-q", "-m", "series")
	bin := filepath.Join(t.TempDir(), "vmlinux")
	obj := bin + ".o"
	for _, args := range [][]string{
		{"-c", "-g", "-O0", "-fsanitize-coverage=trace-pc", "-o", obj, filepath.Join(src, "target.c")},
		{"-g", "-O0", "-no-pie", "-o", bin, "../../kcov/testdata/main.c", obj},
	} {
		if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
			t.Fatalf("gcc %v: %v\n%s", args, err, out)
		}
	}
	pcs, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	c := config{src: src, base: "base", vmlinux: bin}
	run := t.TempDir()
	file := filepath.Join(run, "collected", strings.TrimPrefix(guestPCs, "/"))
	os.MkdirAll(filepath.Dir(file), 0o755)
	var out strings.Builder
	for _, tc := range []struct{ pcs, err string }{
		{string(pcs), ""},
		{"", "no PC for any input"},
		{"0x401000\noreore+0x40\n", "none of the 2 PCs"},
	} {
		os.WriteFile(file, []byte(tc.pcs), 0o644)
		err := coverage(c, run, &out)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("PCs %q: %v, want %q", tc.pcs, err, tc.err)
		}
	}
	if !strings.Contains(out.String(), "target.c") || !strings.Contains(out.String(), "module oreore") {
		t.Errorf("the figures name no file or module:\n%s", out.String())
	}
}

func TestGoFailureFindsTheTestsMessage(t *testing.T) {
	console := "[ 1.0] boot\n--- FAIL: FuzzSeries (0.01s)\n    fuzz_test.go:51: no KCOV (/sys/kernel/debug/kcov): fuzzing would be blind\nFAIL\n"
	if got := goFailure(console); len(got) != 1 || !strings.HasPrefix(got[0], "fuzz_test.go:51: no KCOV") {
		t.Errorf("got %q", got)
	}
}

func TestFailedSeedIsNamed(t *testing.T) {
	console := "oreore-init: loaded /lib/modules/oreore.ko\nfailure while testing seed corpus entry: FuzzSeries/seed#2\n--- FAIL: FuzzSeries (6.74s)\n"
	if got := failedSeed(console); got != "FuzzSeries/seed#2" {
		t.Errorf("got %q", got)
	}
	if got := failedSeed("--- FAIL: FuzzSeries (0.01s)\n"); got != "" {
		t.Errorf("a failure while fuzzing named the seed %q", got)
	}
}
