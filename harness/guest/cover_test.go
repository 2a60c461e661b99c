package guest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// Coverage files bigger than a record reach the host whole and byte for
// byte, an empty one too, with other records between the pieces; a path
// that would leave the counters folder is refused.
func TestCounterFilesJoinOnTheHost(t *testing.T) {
	big := make([]byte, 2*TraceChunk+123)
	for i := range big {
		big[i] = byte(i * 7)
	}
	var port strings.Builder
	write := func(v any) {
		line, _ := json.Marshal(v)
		port.Write(append(line, '\n'))
	}
	for _, g := range CounterPieces("/work/build/kernel-6.1-cover/kernel/bpf/oreore.gcda", big) {
		if len(g.Text) > TraceChunk {
			t.Errorf("a piece of %d bytes, more than %d", len(g.Text), TraceChunk)
		}
		write(g)
		write(TestEvent{Action: "output", Package: "suite", Output: "between\n"})
	}
	for _, g := range CounterPieces(GoCoverPrefix+"covmeta.1", nil) {
		write(g)
	}
	s, err := Parse(strings.NewReader(port.String()))
	if err != nil {
		t.Fatal(err)
	}
	files, err := s.CounterFiles()
	if err != nil {
		t.Fatal(err)
	}
	if got := files["/work/build/kernel-6.1-cover/kernel/bpf/oreore.gcda"]; !bytes.Equal(got, big) {
		t.Errorf("the .gcda file arrived as %d bytes, want the %d sent", len(got), len(big))
	}
	if got, ok := files[GoCoverPrefix+"covmeta.1"]; !ok || len(got) != 0 {
		t.Errorf("the empty file: %q, present %v", got, ok)
	}
	for _, bad := range []string{"/work/../etc/x.gcda", "/work/x.txt", "gocover/../../x"} {
		if _, err := CleanCounterPath(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
	if p, err := CleanCounterPath("/work/build/x.gcda"); err != nil || p != "work/build/x.gcda" {
		t.Errorf("a .gcda path: %q, %v", p, err)
	}
}
