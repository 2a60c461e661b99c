package progtype

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// numbers_gen.go is what the series say: a patch that moves an enumerator
// without `go generate ./harness/progtype` fails here.
func TestNumbersGenIsCurrent(t *testing.T) {
	series, err := SeriesEnumerators("../../kernel-patches", KnownEnumerator)
	if err != nil {
		t.Fatal(err)
	}
	want, err := GenerateNumbers(series)
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

// Every described type has its three numbers in every series that carries
// it, oreore and kore are in every series, a type is in one at least, and
// no two types share a number.
func TestEveryTypeHasItsNumbersInEverySeries(t *testing.T) {
	for _, typ := range All {
		var in []string
		for _, s := range Series() {
			if typ.InSeries(s) {
				in = append(in, s)
			}
		}
		switch {
		case len(in) == 0:
			t.Errorf("%s: no series carries it (numbers_gen.go: run go generate ./harness/progtype)", typ.Name)
		case (typ == Oreore || typ == Kore) && len(in) != len(Series()):
			t.Errorf("%s is in series %v only, not in every one of %v", typ.Name, in, Series())
		}
	}
	for _, s := range Series() {
		seen := map[string]string{}
		for _, typ := range All {
			if !typ.InSeries(s) {
				continue
			}
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
	commands := []Command{CmdLoad, CmdAttach, CmdDetach, CmdLinkCreate, CmdLinkUpdate, CmdLinkDetach, CmdQuery, CmdTestRun}
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

// A series that adds its enumerator above a released one moves that one: the
// parser refuses it from the hunk's context line.
func TestSeriesThatMovesAReleasedEnumeratorIsRefused(t *testing.T) {
	patch := filepath.Join(t.TempDir(), "0001.patch")
	hunk := `--- a/include/uapi/linux/bpf.h
+++ b/include/uapi/linux/bpf.h
@@ -1,3 +1,4 @@
 	BPF_PROG_TYPE_SYSCALL, /* a program that can execute syscalls */
+	BPF_PROG_TYPE_OREORE,
 	BPF_PROG_TYPE_NETFILTER,
 };
`
	if err := os.WriteFile(patch, []byte(hunk), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := EnumeratorsAdded([]string{patch}, KnownEnumerator)
	if err == nil || !strings.Contains(err.Error(), "BPF_PROG_TYPE_NETFILTER the value 33; released kernels give it 32") {
		t.Errorf("a series that moves BPF_PROG_TYPE_NETFILTER: %v", err)
	}
	appended := strings.Replace(hunk, "+\tBPF_PROG_TYPE_OREORE,\n \tBPF_PROG_TYPE_NETFILTER,\n", " \tBPF_PROG_TYPE_NETFILTER,\n+\tBPF_PROG_TYPE_OREORE,\n", 1)
	os.WriteFile(patch, []byte(appended), 0o644)
	if got, err := EnumeratorsAdded([]string{patch}, KnownEnumerator); err != nil || got["BPF_PROG_TYPE_OREORE"] != 33 {
		t.Errorf("appended after NETFILTER: %v, %v; want BPF_PROG_TYPE_OREORE 33", got, err)
	}
}

// A later patch's hunk may show only the series' own enumerators as its
// context (a third type after oreore and kore): their values come from the
// earlier patches.
func TestEnumeratorsAfterTheSeriesOwn(t *testing.T) {
	dir := t.TempDir()
	first := `+++ b/include/uapi/linux/bpf.h
@@ -1,2 +1,4 @@
 	BPF_PROG_TYPE_NETFILTER,
+	BPF_PROG_TYPE_OREORE,
+	BPF_PROG_TYPE_KORE,
 };
`
	second := `+++ b/include/uapi/linux/bpf.h
@@ -1,3 +1,4 @@
 	BPF_PROG_TYPE_OREORE,
 	BPF_PROG_TYPE_KORE,
+	BPF_PROG_TYPE_FOO,
 };
`
	var patches []string
	for i, text := range []string{first, second} {
		p := filepath.Join(dir, fmt.Sprintf("%04d.patch", i+1))
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		patches = append(patches, p)
	}
	got, err := EnumeratorsAdded(patches, KnownEnumerator)
	if err != nil || got["BPF_PROG_TYPE_KORE"] != 34 || got["BPF_PROG_TYPE_FOO"] != 35 {
		t.Errorf("%v, %v; want BPF_PROG_TYPE_KORE 34 and BPF_PROG_TYPE_FOO 35", got, err)
	}
}

// Every series, applied, keeps every enumerator of its base tree's header at
// its value there, and every released value this package holds agrees with
// each base tree: the numbers are checked against what is released, not
// only against a kernel built from the same patches.
func TestReleasedAgreesWithTheBaseTrees(t *testing.T) {
	src := os.Getenv("OREORE_KERNEL_SRC")
	if src == "" {
		t.Fatal("OREORE_KERNEL_SRC is not set: run `make test`, which extracts every series' tree first")
	}
	for _, s := range Series() {
		tree := filepath.Join(filepath.Dir(src), "linux-source-"+s)
		header := func(rev string) map[string]uint32 {
			out, err := exec.Command("git", "-C", tree, "show", rev+":include/uapi/linux/bpf.h").Output()
			if err != nil {
				t.Fatalf("series %s: git show %s:include/uapi/linux/bpf.h in %s: %v (make kernel-src KVER=%s makes the tree)", s, rev, tree, err, s)
			}
			enums, err := HeaderEnumerators(out)
			if err != nil {
				t.Fatalf("series %s, %s: %v", s, rev, err)
			}
			return enums
		}
		base, patched := header("base"), header("HEAD")
		agreed := 0
		for name, v := range base {
			if pv, ok := patched[name]; !ok || pv != v {
				t.Errorf("series %s moves the released %s: %d in the base tree, %d (present: %v) with the series", s, name, v, pv, ok)
			}
			if rv, ok := Released[name]; ok {
				if rv != v {
					t.Errorf("released.go gives %s %d; the %s base tree %d", name, rv, s, v)
				}
				agreed++
			}
		}
		for name, v := range seriesNumbers[s] {
			if patched[name] != v {
				t.Errorf("series %s: numbers_gen.go gives %s %d, the patched header %d", s, name, v, patched[name])
			}
		}
		if agreed < 80 {
			t.Errorf("series %s: only %d released enumerators compared with the base tree", s, agreed)
		}
		t.Logf("series %s: %d enumerators of the base tree keep their values; %d agree with released.go", s, len(base), agreed)
	}
}

// The cover letter of each series states every value the series gives its
// enumerators ("BPF_KORE_ATTACH = 45"), and names each released enumerator
// of the same enum that has that value in a later kernel: a reviewer sees
// the ABI the series takes, and which tools would misname it.
func TestCoverLettersStateTheNumbers(t *testing.T) {
	for _, s := range Series() {
		letter, err := os.ReadFile(filepath.Join("..", "..", "kernel-patches", "v"+s, "cover-letter.txt"))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(strings.Fields(string(letter)), " ")
		for name, v := range seriesNumbers[s] {
			if want := fmt.Sprintf("%s = %d", name, v); !strings.Contains(text, want) {
				t.Errorf("series %s: the cover letter does not say %q", s, want)
			}
			for rname, rv := range Released {
				if rv == v && EnumOf(rname) == EnumOf(name) && !strings.Contains(text, rname) {
					t.Errorf("series %s: %s = %d is the released %s's value, which the cover letter does not name", s, name, v, rname)
				}
			}
		}
	}
}
