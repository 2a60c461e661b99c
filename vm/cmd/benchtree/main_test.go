package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// A developer's tree with an uncommitted edit: the worktree gets the edit
// too, a bench's own edit in the worktree never reaches the developer's
// tree, and the next mirror undoes the bench's edit and follows a new
// commit, while the developer's edit stays where it was.
func TestBenchEditsTheWorktreeNotTheTree(t *testing.T) {
	dir := t.TempDir()
	src, tree := filepath.Join(dir, "src"), filepath.Join(dir, "bench", "tree")
	run := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	file := filepath.Join("kernel", "bpf", "oreore.c")
	write := func(root, text string) {
		t.Helper()
		os.MkdirAll(filepath.Join(root, "kernel", "bpf"), 0o755)
		if err := os.WriteFile(filepath.Join(root, file), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	read := func(root string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	os.MkdirAll(src, 0o755)
	run(src, "init", "-q")
	write(src, "committed\n")
	run(src, "add", ".")
	run(src, "commit", "-q", "-m", "base")
	const edited = "committed\nthe developer's uncommitted edit\n"
	write(src, edited)

	if err := mirror(src, tree); err != nil {
		t.Fatal(err)
	}
	if got := read(tree); got != edited {
		t.Errorf("the worktree has %q, want the developer's edit %q", got, edited)
	}
	// What make bench does in the worktree.
	write(tree, edited+"/* bench edit */\n")
	if got := read(src); got != edited {
		t.Fatalf("the developer's file is %q after the bench's edit, want %q", got, edited)
	}

	// A new commit in the developer's tree, the edit still uncommitted.
	os.WriteFile(filepath.Join(src, "NEW"), []byte("new\n"), 0o644)
	run(src, "add", "NEW")
	run(src, "commit", "-q", "-m", "new")
	if err := mirror(src, tree); err != nil {
		t.Fatal(err)
	}
	if got := read(tree); got != edited {
		t.Errorf("after a second mirror the worktree has %q, want %q (the bench's edit undone)", got, edited)
	}
	if _, err := os.Stat(filepath.Join(tree, "NEW")); err != nil {
		t.Errorf("the worktree did not follow the new commit: %v", err)
	}
	if got := read(src); got != edited {
		t.Errorf("the developer's file is %q, want %q", got, edited)
	}
}
