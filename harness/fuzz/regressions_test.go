package fuzz

import (
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"testing"

	"oreore/harness/progtype"
)

// Regressions are inputs the fuzzer once crashed the kernel with, in the
// Go fuzzer's corpus format: each is a test of its own (TestRegressions)
// and a seed of FuzzSeries. Beside each, in goldenDir, NAME.decoded is the
// calls it decodes to (checked on the host: TestRegressionsDecode) and
// NAME.want what each call returns (checked in the guest).
//
//go:embed testdata
var regressions embed.FS

const (
	regressionDir = "testdata/fuzz/FuzzSeries"
	// goldenDir is not regressionDir: the Go fuzzer reads every file
	// there as an input, and fails on any other.
	goldenDir = "testdata/regressions"
)

type regression struct {
	name string
	data []byte
	// decoded and want are NAME.decoded's and NAME.want's text, "" when
	// the file is missing; decoded without its first line, types, which
	// names the types the input decodes over, in order.
	decoded, want string
	types         []string
}

// typesLine opens NAME.decoded: the types an input was kept with. A type
// described later (make new-type) changes no kept input's calls.
const typesLine = "types:"

// decode decodes r over the types it was kept with, found by name in
// types, and gives each call the index of its type in types.
func (r regression) decode(types []*progtype.Type) (Program, error) {
	var over []*progtype.Type
	at := map[string]int{}
	for i, t := range types {
		at[t.Name] = i
	}
	for _, n := range r.types {
		i, ok := at[n]
		if !ok {
			return Program{}, fmt.Errorf("%s: kept with type %s, which is not described here", decodedFile(r.name), n)
		}
		over = append(over, types[i])
	}
	if len(over) == 0 {
		return Program{}, fmt.Errorf("%s: no %q first line naming the types the input decodes over", decodedFile(r.name), typesLine)
	}
	p := Decode(r.data, over)
	for i := range p.Ops {
		p.Ops[i].Type = at[over[p.Ops[i].Type].Name]
	}
	p.Types = types
	return p, nil
}

// decodedText is NAME.decoded's text for p, decoded over names.
func decodedText(names []string, p Program) string {
	return typesLine + " " + strings.Join(names, " ") + "\n" + p.String()
}

func decodedFile(name string) string { return path.Join(goldenDir, name+".decoded") }
func wantFile(name string) string    { return path.Join(goldenDir, name+".want") }

func readRegressions(tb testing.TB) []regression {
	tb.Helper()
	entries, err := regressions.ReadDir(regressionDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		tb.Fatal(err)
	}
	var out []regression
	for _, e := range entries {
		b, err := regressions.ReadFile(path.Join(regressionDir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		data, err := UnmarshalCorpus(b)
		if err != nil {
			tb.Fatalf("%s: %v", e.Name(), err)
		}
		r := regression{name: e.Name(), data: data}
		if b, err := regressions.ReadFile(decodedFile(r.name)); err == nil {
			r.decoded = string(b)
			if first, _, _ := strings.Cut(r.decoded, "\n"); strings.HasPrefix(first, typesLine) {
				r.types = strings.Fields(strings.TrimPrefix(first, typesLine))
			}
		}
		if b, err := regressions.ReadFile(wantFile(r.name)); err == nil {
			r.want = string(b)
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// A .want file has a line per call, in the program's order: the call's
// head (index, thread, type, kind, as NAME.decoded starts its line), " => ",
// and its outcome as Outcome.String writes it ("ok", "ok, returned 7",
// "EINVAL"). A call whose outcome depends on how the input's two threads
// interleave lists each one it may have: "ok | ENOENT". Blank lines and
// lines starting with # are comments.
const (
	wantSep = " => "
	altSep  = " | "
)

// wantText is a .want file's text for the outcomes of p's calls.
func wantText(p Program, outs []Outcome) string {
	var b strings.Builder
	for i, o := range outs {
		fmt.Fprintf(&b, "%s%s%s\n", p.head(i), wantSep, o)
	}
	return b.String()
}

// wantLine is one call's line of a .want file.
type wantLine struct {
	n    int // the file's line number
	head string
	alts []string
}

func parseWant(text string) ([]wantLine, error) {
	var out []wantLine
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		head, outcome, ok := strings.Cut(line, wantSep)
		if !ok {
			return nil, fmt.Errorf("line %d: %q: want HEAD%sOUTCOME", n+1, line, wantSep)
		}
		out = append(out, wantLine{n + 1, strings.TrimSpace(head), strings.Split(outcome, altSep)})
	}
	return out, nil
}

// checkWantCalls checks that a .want file's lines are p's calls, one for
// one: a file written for another decoding of the input would compare
// outcomes of other calls.
func checkWantCalls(p Program, lines []wantLine) []string {
	var bad []string
	for i, l := range lines {
		if i >= len(p.Ops) {
			bad = append(bad, fmt.Sprintf("line %d: %q: the input has %d calls", l.n, l.head, len(p.Ops)))
			continue
		}
		if got := strings.TrimSpace(p.head(i)); got != l.head {
			bad = append(bad, fmt.Sprintf("line %d is for %q, but call %d is %q: the input decodes to other calls than when the file was written (progtype.All's order, or Decode's layout, changed?)", l.n, l.head, i, got))
		}
	}
	if len(lines) < len(p.Ops) {
		bad = append(bad, fmt.Sprintf("%d calls listed, the input has %d: no outcome for %s", len(lines), len(p.Ops), p.call(len(lines))))
	}
	return bad
}

// An alternative that ends in one of these holds on machines of that byte
// order only: a program that reads its context, or the stack, a byte at a
// time returns another value on the other order (s390x's).
const (
	onLittleEndian = " on little-endian"
	onBigEndian    = " on big-endian"
)

// forThisOrder is alt without its order, and whether it holds on a
// machine of order.
func forThisOrder(alt string, order binary.ByteOrder) (string, bool) {
	alt = strings.TrimSpace(alt)
	little := order.Uint16([]byte{1, 0}) == 1
	if v, ok := strings.CutSuffix(alt, onLittleEndian); ok {
		return v, little
	}
	if v, ok := strings.CutSuffix(alt, onBigEndian); ok {
		return v, !little
	}
	return alt, true
}

// checkWant compares the outcomes of p's calls with a .want file's text,
// and returns every mismatch, each naming its call.
func checkWant(p Program, outs []Outcome, want string) []string {
	lines, err := parseWant(want)
	if err != nil {
		return []string{err.Error()}
	}
	if bad := checkWantCalls(p, lines); len(bad) > 0 {
		return bad
	}
	var bad []string
	for i, o := range outs {
		got := o.String()
		found := false
		for _, alt := range lines[i].alts {
			if alt, ok := forThisOrder(alt, binary.NativeEndian); ok {
				found = found || alt == got
			}
		}
		if !found {
			bad = append(bad, fmt.Sprintf("%s: got %s, want %s", strings.TrimSpace(p.call(i)), got, strings.Join(lines[i].alts, altSep)))
		}
	}
	return bad
}

// wantOutputPrefix starts each line TestRegressions writes of a .want
// file's text to its output, NAME.want| LINE, where TestRegressionsWant
// -want-from finds it in the guest's test events.
func wantOutputPrefix(name string) string { return name + ".want| " }

// An outcome's text is what .want files hold: a change to Outcome.String
// is a change to every file.
func TestOutcomeString(t *testing.T) {
	for _, tt := range []struct {
		o    Outcome
		want string
	}{
		{Outcome{}, "ok"},
		{Outcome{Returns: true, Value: 7}, "ok, returned 7"},
		{Outcome{Returns: true, Value: 7, CPU: true}, "ok, returned a value of the CPU's"},
		{Outcome{Errno: 22}, "EINVAL"},
		{Outcome{Errno: 22, Returns: true, Value: 7}, "EINVAL"},
		{Outcome{Errno: 1 << 16}, "error without errno"},
	} {
		if got := tt.o.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.o, got, tt.want)
		}
	}
}
