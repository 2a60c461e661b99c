package kcov

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A program built as the kernel's instrumented objects are (trace-pc),
// whose trace function prints what KCOV would record: its sites are the
// target's basic blocks, and the lines covered are those that ran.
func TestSitesAndCoveredLines(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Fatal("gcc is needed (make deps installs it)")
	}
	dir := t.TempDir()
	obj, bin := filepath.Join(dir, "target.o"), filepath.Join(dir, "target")
	for _, args := range [][]string{
		{"-c", "-g", "-O0", "-fsanitize-coverage=trace-pc", "-o", obj, "testdata/target.c"},
		{"-g", "-O0", "-no-pie", "-o", bin, "testdata/main.c", obj},
	} {
		if out, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
			t.Fatalf("gcc %v: %v\n%s", args, err, out)
		}
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	var pcs []uint64
	for _, f := range strings.Fields(string(out)) {
		pc, err := strconv.ParseUint(strings.TrimPrefix(f, "0x"), 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		pcs = append(pcs, pc)
	}
	img, err := Open(bin, []string{"testdata/target.c"})
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Sites) < 3 {
		t.Fatalf("%d sites in target.c; want one per basic block (at least 3)", len(img.Sites))
	}
	files := img.Files(pcs)
	if len(files) != 1 {
		t.Fatalf("files %v; want target.c only (main.c is not instrumented)", files)
	}
	for _, f := range files {
		if !strings.HasSuffix(f.Path, "target.c") {
			t.Fatalf("file %s", f.Path)
		}
		for n, want := range map[int]bool{5: true, 7: false} {
			l := f.Lines[n]
			if l == nil {
				t.Errorf("line %d is not an executable line; lines: %v", n, keys(f.Lines))
				continue
			}
			if got := l.Count > 0; got != want {
				t.Errorf("line %d covered %v, want %v", n, got, want)
			}
		}
	}
}

func keys[V any](m map[int]V) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	return out
}
