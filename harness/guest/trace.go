package guest

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// TraceParam on the kernel command line (oreore.trace=1) has the init trace
// the series' and the module's functions while the tests run, and send the
// trace of each failing test to the host as Trace records. The kernel
// ignores dotted parameters it does not know, so only the init reads it.
const TraceParam = "oreore.trace"

// Trace is the Guest value of a record that carries a piece of a failing
// test's trace in Text; Package and Test name the test (Test is empty when
// the binary failed outside any test). A trace comes in pieces, in order,
// so that no line of the port grows large.
const Trace = "trace"

// TraceChunk is the most text one Trace record carries.
const TraceChunk = 16 << 10

// TracePieces cuts a trace into the records that carry it.
func TracePieces(pkg, test, text string) []Guest {
	return pieces(Guest{Guest: Trace, Package: pkg, Test: test}, text)
}

// pieces cuts text into records like head, TraceChunk bytes at most in
// each, so that no line of the port grows large.
func pieces(head Guest, text string) []Guest {
	var out []Guest
	for len(text) > 0 {
		n := min(len(text), TraceChunk)
		// JSON would spoil a character cut in two.
		for n < len(text) && n > 0 && !utf8.RuneStart(text[n]) {
			n--
		}
		g := head
		g.Text = text[:n]
		out = append(out, g)
		text = text[n:]
	}
	return out
}

// FailedTrace is the trace the guest kept of one failing test.
type FailedTrace struct {
	Package, Test string
	Text          string
}

// Name is PACKAGE.Test, or PACKAGE for a binary that failed outside any
// test.
func (t FailedTrace) Name() string {
	return RunningTest{Package: t.Package, Test: t.Test}.Name()
}

// Traces joins the Trace records' pieces, one trace per test, by name.
func (s *Stream) Traces() []FailedTrace {
	byName := map[string]*FailedTrace{}
	texts := map[string]*strings.Builder{}
	for _, g := range s.Guest {
		if g.Guest != Trace {
			continue
		}
		t := FailedTrace{Package: g.Package, Test: g.Test}
		if byName[t.Name()] == nil {
			byName[t.Name()] = &t
			texts[t.Name()] = &strings.Builder{}
		}
		texts[t.Name()].WriteString(g.Text)
	}
	var out []FailedTrace
	for name, t := range byName {
		t.Text = texts[name].String()
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}
