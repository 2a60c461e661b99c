package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"oreore/harness/guest"
)

// A failing top-level test sends the buffer's text to the port, after the
// failure's own event; a failing subtest, a passing test and another
// binary's failure outside any test do not send it twice.
func TestFailingTestSendsItsTrace(t *testing.T) {
	dir := t.TempDir()
	const buffer = "# tracer: function\n suite.test-85 [001] ..... 5.1: bpf_oreore_run <-bpf_store [oreore]\n"
	os.WriteFile(filepath.Join(dir, "trace"), []byte(buffer), 0o644)
	os.WriteFile(filepath.Join(dir, "trace_marker"), nil, 0o644)
	f, err := os.Create(filepath.Join(dir, "port"))
	if err != nil {
		t.Fatal(err)
	}
	tr := &laneTrace{dir: dir, out: &port{f: f}}
	w := &lineWriter{p: tr.out, tr: tr}
	w.Write([]byte(`{"Action":"run","Package":"suite","Test":"TestA"}` + "\n" +
		`{"Action":"pass","Package":"suite","Test":"TestA"}` + "\n" +
		`{"Action":"run","Package":"suite","Test":"TestB"}` + "\n" +
		`{"Action":"fail","Package":"suite","Test":"TestB/sub"}` + "\n" +
		`{"Action":"fail","Package":"suite","Test":"TestB"}` + "\n"))
	tr.pkg = "suite"
	tr.ended(true)
	f.Close()

	r, _ := os.Open(filepath.Join(dir, "port"))
	s, err := guest.Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	traces := s.Traces()
	if len(traces) != 1 || traces[0].Name() != "suite.TestB" || traces[0].Text != buffer {
		t.Fatalf("traces %+v, want suite.TestB's alone, with the buffer", traces)
	}
	if n := len(s.Events); n != 5 || s.Events[4].Action != "fail" {
		t.Errorf("the events did not all reach the port before the trace: %+v", s.Events)
	}
	// The marks are written one at a time into a plain file here: the
	// last one stays.
	if m, _ := os.ReadFile(filepath.Join(dir, "trace_marker")); string(m) != "oreore-init: end suite" {
		t.Errorf("the last mark is %q, want the binary's end", m)
	}
}

func TestTailKeepsTheEndFromALineStart(t *testing.T) {
	text := strings.Repeat("0123456789\n", 100)
	got := tail(text, 35)
	if want := "oreore-init: 97 earlier lines left out\n" + strings.Repeat("0123456789\n", 3); got != want {
		t.Errorf("tail = %q, want %q", got, want)
	}
	if got := tail("short\n", 35); got != "short\n" {
		t.Errorf("a short text is cut: %q", got)
	}
}
