package fuzz

import (
	"bytes"
	"fmt"
	"strconv"

	"oreore/harness/progtype"
)

// InputRecord is the Guest value of the record the fuzz target sends before
// each input runs (-fuzz.log): Text is the input in base64, Msg the
// worker's pid.
const InputRecord = "fuzz-input"

// corpusHeader starts a file of the Go fuzzer's corpus (testing/fuzz).
const corpusHeader = "go test fuzz v1\n"

// MarshalCorpus writes data as a corpus file of a func(*testing.T, []byte)
// target, the format `go test -fuzz` reads from testdata/fuzz/NAME.
func MarshalCorpus(data []byte) []byte {
	return []byte(corpusHeader + "[]byte(" + strconv.Quote(string(data)) + ")\n")
}

// UnmarshalCorpus reads a corpus file that MarshalCorpus or the Go fuzzer
// wrote for a []byte target.
func UnmarshalCorpus(b []byte) ([]byte, error) {
	rest, ok := bytes.CutPrefix(b, []byte(corpusHeader))
	if !ok {
		return nil, fmt.Errorf("not a Go fuzz corpus file (no %q line)", corpusHeader[:len(corpusHeader)-1])
	}
	line := string(bytes.TrimSpace(rest))
	inner, ok := cutAround(line, "[]byte(", ")")
	if !ok {
		return nil, fmt.Errorf("want one []byte(...) value, got %q", line)
	}
	s, err := strconv.Unquote(inner)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", inner, err)
	}
	return []byte(s), nil
}

func cutAround(s, prefix, suffix string) (string, bool) {
	if len(s) < len(prefix)+len(suffix) || s[:len(prefix)] != prefix || s[len(s)-len(suffix):] != suffix {
		return "", false
	}
	return s[len(prefix) : len(s)-len(suffix)], true
}

// Seeds are inputs that already do what each type is for, so that the
// fuzzer starts from working calls: a link's life with runs, an attachment
// replaced, two threads racing updates against runs and against a detach,
// the context's edges, a module reload under a link, and a raw write to the
// trigger.
func Seeds(types []*progtype.Type) [][]byte {
	var out [][]byte
	for ti, t := range types {
		load := func(slot int, variant uint8, seed uint64) Op {
			return Op{Kind: OpLoad, Type: ti, Prog: slot, Choice: [4]uint8{variant}, N: seed}
		}
		run := func(thread int, in uint64) Op { return Op{Kind: OpTrigger, Thread: thread, Type: ti, N: in} }
		ctx := make([]byte, t.Ctx.Size)
		ctx[0] = 7
		testRun := Op{Kind: OpTestRun, Type: ti, Choice: [4]uint8{0, 1}, Bytes: ctx}
		if t.Attach.Link {
			out = append(out, Encode(types,
				load(0, 0, 1), Op{Kind: OpLinkCreate, Type: ti, N: 0x1122334455667788}, run(0, 5), testRun,
				Op{Kind: OpLinkInfo, Type: ti}, load(1, 1, 42), Op{Kind: OpLinkUpdate, Type: ti, Prog: 1},
				run(0, 6), Op{Kind: OpLinkDetach, Type: ti}, run(0, 7), Op{Kind: OpClose, Type: ti, Choice: [4]uint8{1}}))
			race := []Op{load(0, 1, 1), load(1, 1, 2), Op{Kind: OpLinkCreate, Type: ti}}
			for i := range 6 {
				race = append(race, Op{Kind: OpLinkUpdate, Type: ti, Prog: (i + 1) % 2}, run(1, uint64(i)))
			}
			race = append(race, Op{Kind: OpLinkDetach, Type: ti}, run(1, 9), Op{Kind: OpClose, Type: ti, Choice: [4]uint8{1}}, run(1, 10))
			out = append(out, Encode(types, race...))
			// A detach on thread 1 against updates of the same link on
			// thread 0: thread 1 loads first, as thread 0 does, so that
			// its detaches land among the updates.
			detach := []Op{load(0, 1, 1), load(1, 1, 2), Op{Kind: OpLinkCreate, Type: ti}}
			for i := range 6 {
				detach = append(detach, Op{Kind: OpLinkUpdate, Type: ti, Prog: (i + 1) % 2})
			}
			detach = append(detach, Op{Kind: OpLoad, Type: ti, Thread: 1, Prog: 2, Choice: [4]uint8{1}, N: 3},
				Op{Kind: OpLoad, Type: ti, Thread: 1, Prog: 3, Choice: [4]uint8{1}, N: 4})
			for range 4 {
				detach = append(detach, Op{Kind: OpLinkDetach, Type: ti, Thread: 1})
			}
			out = append(out, Encode(types, detach...))
			if t.Module != "" {
				out = append(out, Encode(types, load(0, 1, 3), Op{Kind: OpLinkCreate, Type: ti}, Op{Kind: OpModuleReload, Type: ti}, run(0, 1)))
			}
		}
		if t.Attach.ProgAttach {
			out = append(out, Encode(types, load(0, 1, 1), load(1, 1, 2),
				Op{Kind: OpAttach, Type: ti}, Op{Kind: OpQuery, Type: ti, Choice: [4]uint8{0, 1}}, run(0, 1),
				Op{Kind: OpAttach, Type: ti, Prog: 1, Prog2: 0, Choice: [4]uint8{0, 3}}, run(0, 2),
				Op{Kind: OpDetach, Type: ti, Prog: 1}, run(0, 3)))
		}
		var edges []Op
		for _, off := range []uint8{0, 4, 7, 8, uint8(8 + t.Ctx.Size - 1), uint8(8 + t.Ctx.Size)} {
			edges = append(edges, Op{Kind: OpLoad, Type: ti, Choice: [4]uint8{3, 0, 0, off}, N: 2}, testRun)
		}
		out = append(out, Encode(types, edges...))
		out = append(out, Encode(types, load(0, 5, 9), load(1, 2, 0), testRun, Op{Kind: OpTestRun, Type: ti, Prog: 1, Choice: [4]uint8{0, 2}, Bytes: ctx}))
		if _, ok := t.Trigger.(progtype.SysfsTrigger); ok {
			out = append(out, Encode(types, load(0, 1, 1), Op{Kind: OpLinkCreate, Type: ti}, Op{Kind: OpTriggerRaw, Type: ti, Bytes: []byte("+0x10\n")}))
		}
	}
	return out
}
