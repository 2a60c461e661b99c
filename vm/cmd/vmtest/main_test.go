package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"oreore/harness/guest"
	"oreore/vm/verdict"
)

func TestReportIsShownToItsEndWithTheTail(t *testing.T) {
	var console []string
	for i := 0; i < 100; i++ {
		console = append(console, "[ 1.0] line")
	}
	console[10] = "[ 4.4] BUG: kernel NULL pointer dereference, address: 0000000000000008"
	console[70] = "[ 4.6] ---[ end trace 0000000000000000 ]---"
	console[99] = "[ 9.0] the last line"
	var out strings.Builder
	printConsole(&out, strings.Join(console, "\n")+"\n", verdict.FindSplats(strings.Join(console, "\n")), "console.log", true)
	got := out.String()
	for _, want := range []string{"kernel report at console.log:11", "end trace", "last lines of console.log", "the last line"} {
		if !strings.Contains(got, want) {
			t.Errorf("the output lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n"); n != 1+63+1+29 {
		t.Errorf("%d lines printed, want the report (lines 9-71) and the tail (72-100), each with its heading, without repeats:\n%s", n, got)
	}
}

func TestIsWatchdog(t *testing.T) {
	for line, want := range map[string]bool{
		`{"Guest":"watchdog","Msg":"suite.TestA has run for 5s","Package":"suite","Test":"TestA"}`: true,
		`{"Guest":"done","Exit":2}`: false,
		`{"Action":"output","Package":"suite","Test":"TestA","Output":"watchdog\n"}`: false,
		`not json`: false,
	} {
		if isWatchdog(line) != want {
			t.Errorf("isWatchdog(%s) = %v", line, !want)
		}
	}
}

// Each failing test's trace lands in its own file, named under the test's
// failure once (a subtest's failure names its top-level test's trace), and
// a binary that failed outside any test gets its trace named too.
func TestTracesAreWrittenAndNamed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "trace")
	var port strings.Builder
	write := func(v any) {
		line, _ := json.Marshal(v)
		port.Write(append(line, '\n'))
	}
	events := []guest.TestEvent{
		{Action: "run", Package: "suite", Test: "TestB"},
		{Action: "output", Package: "suite", Test: "TestB/sub", Output: "broken\n"},
		{Action: "fail", Package: "suite", Test: "TestB/sub"},
		{Action: "fail", Package: "suite", Test: "TestB"},
		{Action: "fail", Package: "object"},
	}
	for _, ev := range events {
		write(ev)
	}
	for _, g := range guest.TracePieces("suite", "TestB", "bpf_oreore_run <-bpf_store [oreore]\n") {
		write(g)
	}
	for _, g := range guest.TracePieces("object", "", "bpf_oreore_prog_attach <-__sys_bpf\n") {
		write(g)
	}
	s, err := guest.Parse(strings.NewReader(port.String()))
	if err != nil {
		t.Fatal(err)
	}
	files, err := writeTraces(dir, s.Traces())
	if err != nil {
		t.Fatal(err)
	}
	suite := filepath.Join(dir, "suite.TestB.txt")
	if b, err := os.ReadFile(suite); err != nil || string(b) != "bpf_oreore_run <-bpf_store [oreore]\n" {
		t.Errorf("%s: %q, %v", suite, b, err)
	}
	var out strings.Builder
	printTests(&out, s.Events, files)
	got := out.String()
	if n := strings.Count(got, "trace of suite.TestB: "+suite+"\n"); n != 1 {
		t.Errorf("suite.TestB's trace is named %d times, want once:\n%s", n, got)
	}
	if want := "FAIL object outside any test: its trace: " + filepath.Join(dir, "object.txt"); !strings.Contains(got, want) {
		t.Errorf("the report lacks %q:\n%s", want, got)
	}
}
