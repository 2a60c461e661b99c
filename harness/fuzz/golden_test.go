//go:build !guest

package fuzz

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"testing"

	"oreore/harness/progtype"
)

var (
	update   = flag.Bool("update", false, "rewrite each kept input's testdata/regressions/NAME.decoded from what it decodes to now")
	wantFrom = flag.String("want-from", "", "write each kept input's testdata/regressions/NAME.want from the outcomes TestRegressions wrote to this go test -json file (a make vm-test's build/vm-KVER/test-events.json; a relative path is from harness/fuzz)")
)

// Each kept input decodes, over the types its NAME.decoded's first line
// names (those described when it was kept), to the calls in the rest of
// the file: what an input means depends on Decode's layout, and a change
// to it must be seen, not met later as a regression that no longer tests
// its bug. A type described since changes nothing.
func TestRegressionsDecode(t *testing.T) {
	rs := readRegressions(t)
	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range rs {
		names := r.types
		if *update && len(names) == 0 {
			// A new input: the types described now.
			for _, typ := range progtype.All {
				names = append(names, typ.Name)
			}
			r.types = names
		}
		p, err := r.decode(progtype.All)
		if err != nil {
			t.Error(err)
			continue
		}
		got := decodedText(names, p)
		switch {
		case *update:
			if err := os.WriteFile(decodedFile(r.name), []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s", decodedFile(r.name))
		case r.decoded == "":
			t.Errorf("%s: missing; it would hold:\n%s(go test ./harness/fuzz -run TestRegressionsDecode -update writes it)", decodedFile(r.name), got)
		case r.decoded != got:
			t.Errorf("%s: the input decodes to other calls now (- in the file, + now):\n%s"+
				"If the change is meant, the input may no longer reach the bug it was kept for: check it does, then rewrite the file with -update and its .want from a guest run (testdata/README.md).",
				decodedFile(r.name), lineDiff(r.decoded, got))
		}
	}
	checkNoStrays(t, rs)
}

// Each kept input has a NAME.want, one line per call of what it decodes to
// (the outcomes themselves need the kernel: TestRegressions). With
// -want-from it writes the files from a guest's run.
func TestRegressionsWant(t *testing.T) {
	rs := readRegressions(t)
	if *wantFrom != "" {
		writeWant(t, rs, *wantFrom)
		return
	}
	for _, r := range rs {
		if r.want == "" {
			t.Errorf("%s: missing; TestRegressions in the guest writes its lines to its output (testdata/README.md)", wantFile(r.name))
			continue
		}
		lines, err := parseWant(r.want)
		if err != nil {
			t.Errorf("%s: %v", wantFile(r.name), err)
			continue
		}
		p, err := r.decode(progtype.All)
		if err != nil {
			t.Error(err)
			continue
		}
		for _, bad := range checkWantCalls(p, lines) {
			t.Errorf("%s: %s", wantFile(r.name), bad)
		}
	}
}

// checkNoStrays fails on a file of goldenDir that belongs to no kept input.
func checkNoStrays(t *testing.T, rs []regression) {
	kept := map[string]bool{}
	for _, r := range rs {
		kept[decodedFile(r.name)] = true
		kept[wantFile(r.name)] = true
	}
	entries, err := regressions.ReadDir(goldenDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range entries {
		if f := path.Join(goldenDir, e.Name()); !kept[f] {
			t.Errorf("%s: no input %s/%s: remove it with its input", f, regressionDir, strings.TrimSuffix(strings.TrimSuffix(e.Name(), ".want"), ".decoded"))
		}
	}
}

// writeWant writes each input's NAME.want from the NAME.want| lines in a
// go test -json file, under the comment lines the file started with.
func writeWant(t *testing.T, rs []regression, events string) {
	f, err := os.Open(events)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	found, err := wantOutput(f, rs)
	if err != nil {
		t.Fatalf("%s: %v", events, err)
	}
	if err := os.MkdirAll(goldenDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		text, ok := found[r.name]
		if !ok {
			t.Errorf("%s: no %s lines: did TestRegressions run, and pass the run itself?", events, strings.TrimSpace(wantOutputPrefix(r.name)))
			continue
		}
		text = leadingComment(r.want) + text
		if err := os.WriteFile(wantFile(r.name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s:\n%s", wantFile(r.name), text)
	}
}

// leadingComment is the # lines a .want file starts with: why its outcomes
// are what they are, which a rewrite keeps.
func leadingComment(text string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(text, "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		b.WriteString(line)
	}
	return b.String()
}

// wantOutput collects, per input, the .want lines TestRegressions wrote to
// its output, from go test -json events.
func wantOutput(f fs.File, rs []regression) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev struct{ Action, Output string }
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("not go test -json events: %w", err)
		}
		if ev.Action != "output" {
			continue
		}
		line := strings.TrimLeft(ev.Output, " ")
		for _, r := range rs {
			if rest, ok := strings.CutPrefix(line, wantOutputPrefix(r.name)); ok {
				out[r.name] += rest
			}
		}
	}
	return out, sc.Err()
}

// lineDiff is the lines only a has (-) and only b has (+), in place, the
// rest as context: enough to read a golden's change.
func lineDiff(a, b string) string {
	x, y := strings.Split(strings.TrimSuffix(a, "\n"), "\n"), strings.Split(strings.TrimSuffix(b, "\n"), "\n")
	// lcs[i][j] is the longest common subsequence of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var d strings.Builder
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			fmt.Fprintf(&d, "  %s\n", x[i])
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			fmt.Fprintf(&d, "- %s\n", x[i])
			i++
		default:
			fmt.Fprintf(&d, "+ %s\n", y[j])
			j++
		}
	}
	return d.String()
}

func TestLineDiff(t *testing.T) {
	got := lineDiff("a\nb\nc", "a\nB\nc\nd")
	want := "  a\n- b\n+ B\n  c\n+ d\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// The comparison a guest run makes, on outcomes written by hand: every
// mismatch is reported with its call's text, alternatives are accepted,
// and a file for another decoding is refused before any outcome is read.
func TestCheckWant(t *testing.T) {
	types := progtype.All
	p := Decode(Encode(types,
		Op{Kind: OpLoad, Type: 1, Choice: [4]uint8{1}, N: 7},
		Op{Kind: OpTestRun, Type: 1, Choice: [4]uint8{0, 1}},
		Op{Kind: OpLinkCreate, Type: 1, Thread: 1},
	), types)
	outs := []Outcome{{}, {Returns: true, Value: 7}, {Errno: 16}}
	want := wantText(p, outs)
	if bad := checkWant(p, outs, want); len(bad) > 0 {
		t.Fatalf("its own outcomes do not match its .want text:\n%s\n%s", want, strings.Join(bad, "\n"))
	}
	lines := strings.Split(want, "\n")

	changed := strings.Replace(want, "ok, returned 7", "ok, returned 8", 1)
	changed = strings.Replace(changed, "EBUSY", "ENOENT", 1)
	bad := checkWant(p, outs, changed)
	if len(bad) != 2 || !strings.Contains(bad[0], "test_run prog0 choices [0 1 0 0] ctx") ||
		!strings.Contains(bad[0], "got ok, returned 7, want ok, returned 8") || !strings.Contains(bad[1], "got EBUSY, want ENOENT") {
		t.Errorf("two changed outcomes:\n%s\nreported as:\n%s", changed, strings.Join(bad, "\n"))
	}

	alt := "# a race\n" + strings.Replace(want, "EBUSY", "ok | EBUSY", 1)
	if bad := checkWant(p, outs, alt); len(bad) > 0 {
		t.Errorf("alternatives refused:\n%s\n%s", alt, strings.Join(bad, "\n"))
	}

	// An outcome for one byte order holds there only.
	mine, other := onLittleEndian, onBigEndian
	if binary.NativeEndian.Uint16([]byte{0, 1}) == 1 {
		mine, other = other, mine
	}
	byOrder := strings.Replace(want, "ok, returned 7", "ok, returned 7"+mine+" | ok, returned 9"+other, 1)
	if bad := checkWant(p, outs, byOrder); len(bad) > 0 {
		t.Errorf("this machine's order refused:\n%s\n%s", byOrder, strings.Join(bad, "\n"))
	}
	for _, o := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		if v, ok := forThisOrder("ok, returned 7"+onBigEndian, o); v != "ok, returned 7" || ok != (o == binary.BigEndian) {
			t.Errorf("%v: a big-endian outcome is %q, holds %v", o, v, ok)
		}
	}

	for name, text := range map[string]string{
		"the other order's value": strings.Replace(want, "ok, returned 7", "ok, returned 7"+other+" | ok, returned 9"+mine, 1),
		"a call less":             strings.Join(lines[:2], "\n"),
		"a call more":             want + lines[0],
		"another type":            strings.Replace(want, "kore test_run", "oreore test_run", 1),
		"no separator":            strings.Replace(want, wantSep, " ", 1),
		"another order":           lines[1] + "\n" + lines[0] + "\n" + lines[2],
	} {
		if bad := checkWant(p, outs, text); len(bad) == 0 {
			t.Errorf("%s: accepted:\n%s", name, text)
		}
	}
}

// The lines TestRegressions writes come back out of go test -json events
// as the file's text.
func TestWantOutput(t *testing.T) {
	rs := []regression{{name: "bug-x"}, {name: "bug-xy"}}
	events := strings.Join([]string{
		`{"Action":"run","Test":"TestRegressions/bug-x"}`,
		`{"Action":"output","Test":"TestRegressions/bug-x","Output":"    bug-x.want|  0: thread 0 kore load => ok\n"}`,
		`{"Action":"output","Test":"TestRegressions/bug-x","Output":"    bug-x.want|  1: thread 0 kore test_run => EINVAL\n"}`,
		`{"Action":"output","Test":"TestRegressions/bug-xy","Output":"    bug-xy.want|  0: thread 0 oreore trigger => ok, returned 3\n"}`,
		`{"Action":"output","Test":"TestRegressions/bug-x","Output":"--- PASS: TestRegressions/bug-x (0.02s)\n"}`,
	}, "\n")
	f, err := os.CreateTemp(t.TempDir(), "events")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(events)
	f.Seek(0, 0)
	got, err := wantOutput(f, rs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"bug-x":  " 0: thread 0 kore load => ok\n 1: thread 0 kore test_run => EINVAL\n",
		"bug-xy": " 0: thread 0 oreore trigger => ok, returned 3\n",
	}
	for name, text := range want {
		if got[name] != text {
			t.Errorf("%s: %q, want %q", name, got[name], text)
		}
	}
}

// A type described after an input was kept (make new-type appends one to
// progtype.All) leaves its calls as they were: it decodes over the types
// its file names, and only the indexes move.
func TestRegressionsIgnoreTypesAddedLater(t *testing.T) {
	later := *progtype.All[0]
	later.Name = "later"
	more := append(append([]*progtype.Type{}, progtype.All...), &later)
	var names []string
	for _, typ := range progtype.All {
		names = append(names, typ.Name)
	}
	// A load whose type byte, 5, picks another type once there is one more.
	synthetic := regression{name: "synthetic", data: []byte{byte(OpLoad), 5}, types: names}
	if Decode(synthetic.data, more).String() == Decode(synthetic.data, progtype.All).String() {
		t.Fatal("the synthetic input decodes alike over both lists: it tests nothing")
	}
	for _, r := range append(readRegressions(t), synthetic) {
		before, err := r.decode(progtype.All)
		if err != nil {
			t.Fatal(err)
		}
		after, err := r.decode(more)
		if err != nil {
			t.Fatal(err)
		}
		if before.String() != after.String() {
			t.Errorf("%s decodes to other calls once a type is added:\n%s", r.name, lineDiff(before.String(), after.String()))
		}
	}
}
