package cover

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A program built with gcov runs once; its counters, moved under a
// counters folder at their build path as vmtest -cover writes them, give
// the lines and branches that ran, and those that did not.
func TestReadMergesWhatRan(t *testing.T) {
	dir := t.TempDir()
	obj := filepath.Join(dir, "obj")
	if err := os.Mkdir(obj, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "t.c")
	code := "int main(int argc, char **argv)\n" + // 1
		"{\n" + // 2
		"\tif (argc > 5)\n" + // 3: one branch taken, one not
		"\t\treturn 2;\n" + // 4: never runs
		"\treturn 0;\n" + // 5
		"}\n"
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"gcc", "-fprofile-arcs", "-ftest-coverage", "-c", src, "-o", filepath.Join(obj, "t.o")},
		{"gcc", "-fprofile-arcs", filepath.Join(obj, "t.o"), "-o", filepath.Join(dir, "t")},
		{filepath.Join(dir, "t")},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	counters := filepath.Join(dir, "counters")
	moved := filepath.Join(counters, obj, "t.gcda")
	if err := os.MkdirAll(filepath.Dir(moved), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(obj, "t.gcda"), moved); err != nil {
		t.Fatal(err)
	}

	files, err := Read(counters)
	if err != nil {
		t.Fatal(err)
	}
	f := files[src]
	if f == nil {
		t.Fatalf("no coverage of %s in %v", src, files)
	}
	s := Summarize("t.c", f, nil)
	if s.Lines != 4 || s.LinesHit != 3 {
		t.Errorf("lines %d/%d, want 3/4 (lines 1, 3, 4, 5; 4 never runs)", s.LinesHit, s.Lines)
	}
	if len(s.NotRun) != 1 || s.NotRun[0].Number != 4 {
		t.Errorf("never ran %v, want line 4", s.NotRun)
	}
	if s.Branches != 2 || s.BranchesHit != 1 || len(s.BranchesMissed) != 1 || s.BranchesMissed[0].Number != 3 {
		t.Errorf("branches %d/%d missed on %v, want 1/2 missed on line 3", s.BranchesHit, s.Branches, s.BranchesMissed)
	}
	// A relative counters folder reads the same (gcov runs elsewhere).
	t.Chdir(dir)
	rel, err := Read("counters")
	if err != nil {
		t.Fatalf("a relative counters folder: %v", err)
	}
	if r := rel[src]; r == nil || Summarize("t.c", r, nil).LinesHit != 3 {
		t.Errorf("a relative counters folder read differently: %v", rel)
	}
	// Only the lines asked about count.
	if p := Summarize("t.c", f, map[int]bool{4: true, 5: true}); p.Lines != 2 || p.LinesHit != 1 || !p.Part {
		t.Errorf("lines 4-5: %d/%d, want 1/2", p.LinesHit, p.Lines)
	}
}

// Counters whose notes are gone (the object rebuilt or removed) are an
// error that names the file, not an empty report.
func TestReadWantsTheNotes(t *testing.T) {
	counters := t.TempDir()
	p := filepath.Join(counters, "nonexistent-build", "x.gcda")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte("gcda"), 0o644)
	if _, err := Read(counters); err == nil {
		t.Fatal("counters without notes were read")
	}
	if _, err := Read(t.TempDir()); err == nil {
		t.Fatal("an empty counters folder was read")
	}
}

func TestAddedLines(t *testing.T) {
	diff := `diff --git a/kernel/bpf/syscall.c b/kernel/bpf/syscall.c
--- a/kernel/bpf/syscall.c
+++ b/kernel/bpf/syscall.c
@@ -10,0 +11,3 @@ static int x;
+a
+b
+c
@@ -40 +43 @@ int y;
-old
+new
@@ -50,2 +53,0 @@ int z;
-gone
-gone
diff --git a/kernel/bpf/oreore.c b/kernel/bpf/oreore.c
new file mode 100644
--- /dev/null
+++ b/kernel/bpf/oreore.c
@@ -0,0 +1,2 @@
+x
+y
diff --git a/kernel/bpf/old.c b/kernel/bpf/old.c
deleted file mode 100644
--- a/kernel/bpf/old.c
+++ /dev/null
@@ -1 +0,0 @@
-x
`
	got := AddedLines([]byte(diff))
	want := map[string][]int{"kernel/bpf/syscall.c": {11, 12, 13, 43}, "kernel/bpf/oreore.c": {1, 2}}
	if len(got) != len(want) {
		t.Errorf("files %v, want %v", got, want)
	}
	for file, lines := range want {
		if len(got[file]) != len(lines) {
			t.Errorf("%s: %v, want %v", file, got[file], lines)
		}
		for _, n := range lines {
			if !got[file][n] {
				t.Errorf("%s: line %d not added: %v", file, n, got[file])
			}
		}
	}
}

// Two profiles of the same package merge block by block: a block counts as
// run when either ran it.
func TestGoProfilesMerge(t *testing.T) {
	guest, err := ReadProfile(strings.NewReader("mode: set\n" +
		"oreore/harness/bpf/fd.go:10.2,12.3 2 1\n" +
		"oreore/harness/bpf/fd.go:14.2,15.3 3 0\n" +
		"oreore/harness/xdp/xdp.go:1.1,2.2 5 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	host, err := ReadProfile(strings.NewReader("mode: set\n" +
		"oreore/harness/bpf/fd.go:10.2,12.3 2 0\n" +
		"oreore/harness/bpf/fd.go:14.2,15.3 3 0\n" +
		"oreore/harness/xdp/xdp.go:1.1,2.2 5 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		p    *Profile
		want map[string][2]int
	}{
		"guest": {guest, map[string][2]int{"oreore/harness/bpf": {5, 2}, "oreore/harness/xdp": {5, 0}}},
		"both":  {Merge(guest, host), map[string][2]int{"oreore/harness/bpf": {5, 2}, "oreore/harness/xdp": {5, 5}}},
	} {
		got := c.p.Packages()
		for pkg, want := range c.want {
			if got[pkg] != want {
				t.Errorf("%s: %s = %v, want %v (statements, ran)", name, pkg, got[pkg], want)
			}
		}
	}
	if _, err := ReadProfile(strings.NewReader("oreore/x.go:1.1,2.2 1 1\n")); err == nil {
		t.Error("a profile without a mode line was read")
	}
}
