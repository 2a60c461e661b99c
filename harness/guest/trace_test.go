package guest

import (
	"encoding/json"
	"strings"
	"testing"
)

// A trace bigger than a record reaches the host whole, through the pieces,
// with the other lane's records and events between them.
func TestTraceRecordsJoinOnTheHost(t *testing.T) {
	var b strings.Builder
	for i := 0; b.Len() < 2*TraceChunk+100; i++ {
		b.WriteString(" suite.test-85  [001] ..... 5.123456: bpf_oreore_run <-bpf_store [oreore] \"quoted\" \\ é\n")
	}
	long := b.String()
	pieces := TracePieces("suite", "TestA", long)
	if len(pieces) != 3 {
		t.Fatalf("%d pieces for %d bytes, want 3", len(pieces), len(long))
	}
	var port strings.Builder
	write := func(v any) {
		line, _ := json.Marshal(v)
		port.Write(append(line, '\n'))
	}
	write(TestEvent{Action: "fail", Package: "suite", Test: "TestA"})
	for i, p := range pieces {
		if len(p.Text) > TraceChunk {
			t.Errorf("piece %d holds %d bytes, more than %d", i, len(p.Text), TraceChunk)
		}
		write(p)
		write(TestEvent{Action: "output", Package: "bpf", Test: "TestB", Output: "between\n"})
	}
	for _, p := range TracePieces("bpf", "", "bpf_oreore_prog_attach <-__sys_bpf\n") {
		write(p)
	}
	write(Guest{Guest: "done", Exit: 1})

	s, err := Parse(strings.NewReader(port.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Garbage) > 0 {
		t.Fatalf("garbage on the port: %q", s.Garbage)
	}
	got := s.Traces()
	if len(got) != 2 || got[0].Name() != "bpf" || got[1].Name() != "suite.TestA" {
		t.Fatalf("traces %+v, want bpf (outside any test) and suite.TestA", got)
	}
	if got[1].Text != long {
		t.Errorf("suite.TestA's trace came back changed: %d bytes, want %d", len(got[1].Text), len(long))
	}
	if d, ok := s.Done(); !ok || d.Exit != 1 {
		t.Errorf("the done record is lost among the traces: %+v", d)
	}
}
