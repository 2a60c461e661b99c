package fuzz

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"oreore/harness/progtype"
)

// An input written with Encode decodes to the same ops.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	types := progtype.All
	for i, seed := range Seeds(types) {
		p := Decode(seed, types)
		if len(p.Ops) == 0 {
			t.Fatalf("seed %d decodes to no ops", i)
		}
		again := Encode(types, p.Ops...)
		if !bytes.Equal(again, seed) {
			t.Errorf("seed %d: encode(decode(x)) != x:\n%x\n%x\n%s", i, seed, again, p)
		}
		if q := Decode(again, types); !reflect.DeepEqual(p, q) {
			t.Errorf("seed %d: decode(encode(ops)) differs:\n%s\n%s", i, p, q)
		}
	}
}

// Any bytes are a program of at most MaxOps ops over the given types.
func FuzzDecode(f *testing.F) {
	for _, s := range Seeds(progtype.All) {
		f.Add(s)
	}
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		p := Decode(data, progtype.All)
		if len(p.Ops) > MaxOps {
			t.Fatalf("%d ops", len(p.Ops))
		}
		for _, op := range p.Ops {
			if op.Kind >= numKinds || op.Type >= len(progtype.All) || op.Thread > 1 ||
				op.Prog >= Slots || op.Prog2 >= Slots || op.Link >= Slots {
				t.Fatalf("op out of range: %+v", op)
			}
		}
		_ = p.String()
	})
}

// Every described type gets seeds, and each kind of call is in some seed:
// the fuzzer starts from every part of the surface.
func TestSeedsCoverEveryTypeAndKind(t *testing.T) {
	types := progtype.All
	kinds := map[Kind]bool{}
	perType := map[int]int{}
	threads := map[int]bool{}
	for _, s := range Seeds(types) {
		for _, op := range Decode(s, types).Ops {
			kinds[op.Kind] = true
			perType[op.Type]++
			threads[op.Thread] = true
		}
	}
	for ti, typ := range types {
		if perType[ti] == 0 {
			t.Errorf("no seed calls %s", typ.Name)
		}
	}
	for k := Kind(0); k < numKinds; k++ {
		if !kinds[k] {
			t.Errorf("no seed has a %s op", k)
		}
	}
	if !threads[1] {
		t.Error("no seed runs ops on a second thread")
	}
}

func TestCorpusFileRoundTrip(t *testing.T) {
	for _, data := range [][]byte{nil, {0}, []byte("a\"b\\\n\xff")} {
		got, err := UnmarshalCorpus(MarshalCorpus(data))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%q: got %q, %v", data, got, err)
		}
	}
	// As the Go fuzzer writes a failing input.
	got, err := UnmarshalCorpus([]byte("go test fuzz v1\n[]byte(\"xyz\\x00\")\n"))
	if err != nil || string(got) != "xyz\x00" {
		t.Errorf("go's own file: %q, %v", got, err)
	}
	for _, bad := range []string{"", "go test fuzz v1\nint(3)\n", "[]byte(\"x\")\n"} {
		if _, err := UnmarshalCorpus([]byte(bad)); err == nil {
			t.Errorf("%q: read without an error", bad)
		}
	}
}

// The report of an input names its ops.
func TestProgramString(t *testing.T) {
	s := Decode(Seeds(progtype.All)[0], progtype.All).String()
	for _, want := range []string{"oreore load prog0", "link_create", "trigger input 5"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q is not in\n%s", want, s)
		}
	}
}

// The reports that do not end the guest are told from ordinary lines.
func TestReportStart(t *testing.T) {
	for line, want := range map[string]bool{
		"WARNING: possible circular locking dependency detected":               true,
		"BUG: KASAN: slab-out-of-bounds in bpf_prog_test_run_kore+0x283/0x615": true,
		"INFO: task fuzz.test:123 blocked for more than 30 seconds.":           true,
		"oreore: loading out-of-tree module taints kernel.":                    false,
		"Illegal XDP return value 199386659 on prog s186_xdp":                  false,
	} {
		if got := reportStart.MatchString(line); got != want {
			t.Errorf("%q: %v, want %v", line, got, want)
		}
	}
}

// An input reloads a module once at most: Go's fuzz worker gives up on an
// input after 10 s, and a reload on the debug flavor takes seconds.
func TestDecodeKeepsOneReload(t *testing.T) {
	r := Op{Kind: OpModuleReload}
	p := Decode(Encode(progtype.All, r, Op{Kind: OpTrigger, N: 1}, r, r), progtype.All)
	var kinds []string
	for _, op := range p.Ops {
		kinds = append(kinds, op.Kind.String())
	}
	if got := strings.Join(kinds, " "); got != "module_reload trigger" {
		t.Errorf("decoded to %s, want module_reload trigger", got)
	}
}
