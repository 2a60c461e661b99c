package progtype

import (
	"bytes"
	"fmt"
	"os"
	"testing"
)

// numbers_gen.go is what the series say: a patch that moves an enumerator
// without `go generate ./harness/progtype` fails here.
func TestNumbersGenIsCurrent(t *testing.T) {
	want, err := GenerateNumbers("../../kernel-patches", KnownEnumerator)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("numbers_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("numbers_gen.go is stale: run go generate ./harness/progtype\nwant:\n%s", want)
	}
}

// Every described type has its three numbers in every series, and no two
// types share one.
func TestEveryTypeHasItsNumbersInEverySeries(t *testing.T) {
	for _, s := range Series() {
		seen := map[string]string{}
		for _, typ := range All {
			n, err := typ.Numbers(s)
			if err != nil {
				t.Errorf("%s: %v", typ.Name, err)
				continue
			}
			for kind, v := range map[string]uint32{"prog": n.ProgType, "attach": n.AttachType, "link": n.LinkType} {
				key := fmt.Sprintf("%s %d", kind, v)
				if other, dup := seen[key]; dup {
					t.Errorf("series %s: %s and %s share %s type %d", s, typ.Name, other, kind, v)
				}
				seen[key] = typ.Name
			}
		}
	}
}

func TestForRelease(t *testing.T) {
	for release, want := range map[string]string{"6.1.192": "6.1", "6.12.117": "6.12", "6.1": "6.1", "6.12.0-oreore": "6.12"} {
		if got, err := ForRelease(release); err != nil || got != want {
			t.Errorf("ForRelease(%q) = %q, %v; want %q", release, got, err, want)
		}
	}
	for _, release := range []string{"6.18.44", "6.10.1", "5.15.0"} {
		if got, err := ForRelease(release); err == nil {
			t.Errorf("ForRelease(%q) = %q, want an error", release, got)
		}
	}
}

// The verdicts the context-access family expects come from the fields'
// rules; these are the ones a kernel developer would write by hand.
func TestAccessFromFieldRules(t *testing.T) {
	c := Context{Size: 16, Fields: []Field{
		{Name: "in", Off: 0, Size: 4, Read: true, Input: true},
		{Name: "cpu", Off: 4, Size: 4, Read: true},
		{Name: "cookie", Off: 8, Size: 8, Read: true, Narrow: true},
	}}
	tests := []struct {
		off, size int
		write     bool
		want      bool
	}{
		{0, 4, false, true},
		{0, 2, false, false}, // in is not narrow
		{0, 4, true, false},  // read-only
		{4, 4, false, true},
		{2, 4, false, false}, // straddles in and cpu
		{8, 8, false, true},
		{8, 4, false, true}, // narrow
		{12, 4, false, true},
		{10, 2, false, true},
		{9, 2, false, false}, // misaligned
		{16, 4, false, false},
		{-4, 4, false, false},
	}
	for _, tt := range tests {
		if _, got := c.Access(tt.off, tt.size, tt.write); got != tt.want {
			t.Errorf("Access(off %d, size %d, write %v) = %v, want %v", tt.off, tt.size, tt.write, got, tt.want)
		}
	}
}

// Every capability matrix has a cell per set for every command it names,
// and names every command the matrix runs.
func TestCapMatricesAreComplete(t *testing.T) {
	commands := []Command{CmdLoad, CmdAttach, CmdDetach, CmdLinkCreate, CmdLinkUpdate, CmdQuery, CmdTestRun}
	for _, typ := range All {
		for _, s := range Series() {
			m, ok := typ.Caps[s]
			if !ok {
				t.Errorf("%s: no capability matrix for series %s", typ.Name, s)
				continue
			}
			for _, c := range commands {
				if (c == CmdAttach || c == CmdDetach) && !typ.Attach.ProgAttach {
					if _, ok := m[c]; ok {
						t.Errorf("%s, series %s: %q has cells, but the type has no BPF_PROG_ATTACH", typ.Name, s, c)
					}
					continue
				}
				if len(m[c]) != len(CapSets) {
					t.Errorf("%s, series %s: %q has %d cells for %d sets", typ.Name, s, c, len(m[c]), len(CapSets))
				}
			}
		}
	}
}
