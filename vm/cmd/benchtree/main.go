// Command benchtree keeps a git worktree of a kernel tree that mirrors it
// (its HEAD and its uncommitted edits to tracked files), for make bench,
// which edits a file to time the rebuild: the edit goes into the worktree,
// never into the developer's tree.
//
//	benchtree -src build/src/linux-source-6.1 -tree build/bench/tree
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

func main() {
	src := flag.String("src", "", "the developer's kernel tree (a git tree)")
	tree := flag.String("tree", "", "the worktree to create or bring up to date")
	flag.Parse()
	if *src == "" || *tree == "" {
		fmt.Fprintln(os.Stderr, "usage: benchtree -src TREE -tree WORKTREE")
		os.Exit(64)
	}
	if err := mirror(*src, *tree); err != nil {
		fmt.Fprintln(os.Stderr, "benchtree:", err)
		os.Exit(1)
	}
}

// mirror makes tree a worktree of src at src's HEAD with src's uncommitted
// changes to tracked files applied, and nothing else: an earlier bench's
// edit is undone. src is only read.
func mirror(src, tree string) error {
	head, err := git(src, nil, "rev-parse", "HEAD")
	if err != nil {
		return err
	}
	head = strings.TrimSpace(head)
	if _, err := os.Stat(tree); os.IsNotExist(err) {
		if _, err := git(src, nil, "worktree", "prune"); err != nil {
			return err
		}
		if _, err := git(src, nil, "worktree", "add", "-q", "--detach", tree, head); err != nil {
			return err
		}
	}
	// --force drops whatever the last bench left in the worktree.
	if _, err := git(tree, nil, "checkout", "-q", "--force", "--detach", head); err != nil {
		return err
	}
	if _, err := git(tree, nil, "clean", "-q", "-fd"); err != nil {
		return err
	}
	diff, err := git(src, nil, "diff", "--binary", "HEAD")
	if err != nil {
		return err
	}
	if diff != "" {
		if _, err := git(tree, []byte(diff), "apply", "--whitespace=nowarn"); err != nil {
			return fmt.Errorf("the tree's uncommitted changes do not apply in the worktree: %w", err)
		}
	}
	return nil
}

// git runs a git command in dir, with stdin when given, and returns its
// output; a failure carries git's message.
func git(dir string, stdin []byte, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s in %s: %v: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
