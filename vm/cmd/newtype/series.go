package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// renamer turns oreore's names into the new type's: oreore, OREORE and
// Oreore, in code, text and file names.
type renamer struct {
	lower, upper, title string
	r                   *strings.Replacer
}

func newRenamer(name string) renamer {
	title := strings.ToUpper(name[:1]) + name[1:]
	return renamer{
		lower: name, upper: strings.ToUpper(name), title: title,
		r: strings.NewReplacer("oreore", name, "OREORE", strings.ToUpper(name), "Oreore", title),
	}
}

func (r renamer) text(s string) string { return r.r.Replace(s) }

// oreorePatches are the patches of dir that belong to oreore: those whose
// subject names it (each of oreore's does; the patches of types stacked
// after it do not).
func oreorePatches(dir string) ([]string, error) {
	all, _ := filepath.Glob(filepath.Join(dir, "[0-9][0-9][0-9][0-9]-*.patch"))
	sort.Strings(all)
	var out []string
	for _, p := range all {
		if strings.HasPrefix(filepath.Base(p), "0000-") {
			continue // the cover letter
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if m := subjectLine.FindSubmatch(b); m != nil && strings.Contains(strings.ToLower(string(m[1])), "oreore") {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no patch names oreore in its subject", dir)
	}
	return out, nil
}

var (
	subjectLine = regexp.MustCompile(`(?m)^Subject: (.*)$`)
	diffLine    = regexp.MustCompile(`(?m)^diff --git a/(\S+) b/\S+$`)
)

// touched lists the files that patches change, under oreore's names and
// the new type's: the sparse checkout's paths.
func touched(patches []string, r renamer) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, p := range patches {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		for _, m := range diffLine.FindAllSubmatch(b, -1) {
			for _, f := range []string{"/" + string(m[1]), "/" + r.text(string(m[1]))} {
				if !seen[f] {
					seen[f] = true
					out = append(out, f)
				}
			}
		}
	}
	return out, nil
}

// scaffoldSeries applies oreore's patches of dir, renamed, one by one in a
// worktree of tree's base tag (where they apply as oreore's did), realigns
// what the renaming moved, stacks the result after the series the tree
// holds and exports it to out, numbered from start. It returns the number
// of patches.
func scaffoldSeries(r renamer, dir, tree, out string, start int) (int, error) {
	patches, err := oreorePatches(dir)
	if err != nil {
		return 0, err
	}
	if _, err := git(tree, "rev-parse", "-q", "--verify", "base"); err != nil {
		return 0, fmt.Errorf("%s: no tree with a base tag (make kernel-src KVER=...): %w", tree, err)
	}
	files, err := touched(patches, r)
	if err != nil {
		return 0, err
	}
	work, wt, done, err := sparseWorktree(tree, "base", files)
	if err != nil {
		return 0, err
	}
	defer done()

	for _, p := range patches {
		raw, err := os.ReadFile(p)
		if err != nil {
			return 0, err
		}
		renamed := filepath.Join(work, r.text(filepath.Base(p)))
		if err := os.WriteFile(renamed, []byte(r.text(string(raw))), 0o644); err != nil {
			return 0, err
		}
		// Context lines that an earlier patch's realignment moved differ
		// in whitespace only.
		if _, err := git(wt, "am", "-q", "--ignore-whitespace", renamed); err != nil {
			git(wt, "am", "--abort")
			return 0, fmt.Errorf("%s does not apply: %w", filepath.Base(renamed), err)
		}
		changed, err := git(wt, "diff", "--name-only", "HEAD~1", "HEAD")
		if err != nil {
			return 0, err
		}
		fixed := false
		for _, f := range strings.Fields(changed) {
			path := filepath.Join(wt, f)
			b, err := os.ReadFile(path)
			if err != nil {
				continue // removed
			}
			text := string(b)
			switch {
			case strings.HasSuffix(f, ".rst"):
				text = retitle(text, r)
			case strings.HasSuffix(f, ".c") || strings.HasSuffix(f, ".h"):
				text = realign(text, r)
			}
			if text != string(b) {
				if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
					return 0, err
				}
				fixed = true
			}
		}
		if fixed {
			if _, err := git(wt, "add", "-A"); err != nil {
				return 0, err
			}
			if _, err := git(wt, "commit", "-q", "--amend", "--no-edit"); err != nil {
				return 0, err
			}
		}
	}
	// The tree holds the series (make kernel-src): the skeleton goes after
	// it, where make vm-test builds it.
	head, err := git(wt, "rev-parse", "HEAD")
	if err != nil {
		return 0, err
	}
	return stackSeries(r, tree, strings.TrimSpace(head), files, out, start)
}

// sparseWorktree checks rev of tree out in a temporary folder's "tree",
// sparse: only files (a full worktree of 70,000 files takes a minute).
// done removes both.
func sparseWorktree(tree, rev string, files []string) (work, wt string, done func(), err error) {
	work, err = os.MkdirTemp("", "newtype-")
	if err != nil {
		return "", "", nil, err
	}
	wt = filepath.Join(work, "tree")
	done = func() {
		git(tree, "worktree", "remove", "--force", wt)
		os.RemoveAll(work)
	}
	if _, err := git(tree, "worktree", "add", "-q", "--no-checkout", "--detach", wt, rev); err != nil {
		os.RemoveAll(work)
		return "", "", nil, err
	}
	for _, args := range [][]string{append([]string{"sparse-checkout", "set", "--no-cone"}, files...), {"checkout", "-q"}} {
		if _, err := git(wt, args...); err != nil {
			done()
			return "", "", nil, err
		}
	}
	return work, wt, done, nil
}

func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=oreore maintainers", "-c", "user.email=oreore@example.org"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// realign re-indents the continuation lines of the statements that name
// the new type, so that they line up with the open parenthesis again after
// the renaming moved it (checkpatch --strict's "Alignment should match
// open parenthesis"). Other lines are left as they are.
func realign(text string, r renamer) string {
	lines := strings.Split(text, "\n")
	var open []int // columns of the unclosed parentheses
	for i, line := range lines {
		if len(open) > 0 && strings.TrimSpace(line) != "" {
			lines[i] = indentTo(strings.TrimLeft(line, " \t"), open[len(open)-1]+1)
			line = lines[i]
		} else if !strings.Contains(line, r.lower) && !strings.Contains(line, r.upper) && !strings.Contains(line, r.title) {
			continue
		}
		open = parens(line, open)
	}
	return strings.Join(lines, "\n")
}

// parens updates the stack of open parentheses' columns with line's,
// skipping string and character literals and comments.
func parens(line string, open []int) []int {
	col := 0
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
				col++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '/' && i+1 < len(line) && (line[i+1] == '/' || line[i+1] == '*'):
			return open
		case c == '(':
			open = append(open, col)
		case c == ')' && len(open) > 0:
			open = open[:len(open)-1]
		}
		if c == '\t' {
			col = (col/8 + 1) * 8
		} else {
			col++
		}
	}
	return open
}

func indentTo(s string, col int) string {
	return strings.Repeat("\t", col/8) + strings.Repeat(" ", col%8) + s
}

// retitle makes reStructuredText title adornments as long as their titles
// again after the renaming changed the titles' length.
func retitle(text string, r renamer) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if !adornment(l) {
			continue
		}
		var title string
		switch {
		case i > 0 && strings.TrimSpace(lines[i-1]) != "" && !adornment(lines[i-1]):
			title = lines[i-1] // underline
		case i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" && !adornment(lines[i+1]):
			title = lines[i+1] // overline
		default:
			continue
		}
		// Longer than its title is fine (bpftool's man pages have it);
		// the renaming leaves the type's own titles shorter.
		if len(title) > 0 && (len(l) < len(title) || len(l) > len(title) && r.names(title)) {
			lines[i] = strings.Repeat(l[:1], len(title))
		}
	}
	return strings.Join(lines, "\n")
}

// adornment reports whether l is a title's over- or underline: one of
// reStructuredText's adornment characters, repeated.
func adornment(l string) bool {
	if len(l) < 2 || !strings.ContainsRune("=-~^\"'*+#", rune(l[0])) {
		return false
	}
	return strings.Count(l, l[:1]) == len(l)
}
