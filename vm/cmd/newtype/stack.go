package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// stackSeries replays the scaffold's commits (base..head, cut against the
// base tag) onto the tree's HEAD, where the series in kernel-patches/vKVER
// is applied, in a sparse worktree of files, and exports the result to
// out: the new type's patches as they stack after the series.
//
// Where the series and the new type add to the same lines (an enum's end,
// a switch's cases, a list that names every type), git's three-way merge
// stops with a conflict; resolve settles each one the way a developer
// would, and anything it cannot settle is an error that names the file.
func stackSeries(r renamer, tree, head string, files []string, out string, start int) (int, error) {
	commits, err := git(tree, "rev-list", "--reverse", "base.."+head)
	if err != nil {
		return 0, err
	}
	_, wt, done, err := sparseWorktree(tree, "HEAD", files)
	if err != nil {
		return 0, err
	}
	defer done()
	series, err := git(wt, "rev-parse", "HEAD")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range strings.Fields(commits) {
		n++
		// diff3 style: each conflict shows the base's lines, which is what
		// resolve needs, and git does not trim the lines both sides share
		// off a conflict's ends (which splits a switch case from its break).
		if _, err := git(wt, "-c", "merge.conflictStyle=diff3", "cherry-pick", "--no-commit", c); err != nil {
			unmerged, uerr := git(wt, "diff", "--name-only", "--diff-filter=U")
			if uerr != nil || strings.TrimSpace(unmerged) == "" {
				return 0, err
			}
			for _, f := range strings.Fields(unmerged) {
				path := filepath.Join(wt, f)
				b, err := os.ReadFile(path)
				if err != nil {
					return 0, err
				}
				text, err := resolve(f, string(b), r)
				if err != nil {
					subject, _ := git(tree, "log", "-1", "--format=%s", c)
					return 0, fmt.Errorf("stacking %q on the series: %s: %w", strings.TrimSpace(subject), f, err)
				}
				if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
					return 0, err
				}
			}
		}
		// The renamed patch took oreore's explicit enum values.
		for _, f := range []string{"include/uapi/linux/bpf.h", "tools/include/uapi/linux/bpf.h"} {
			path := filepath.Join(wt, f)
			b, err := os.ReadFile(path)
			if err != nil {
				continue
			}
			if text := renumber(string(b), r); text != string(b) {
				if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
					return 0, err
				}
			}
		}
		if _, err := git(wt, "add", "-A"); err != nil {
			return 0, err
		}
		if _, err := git(wt, "commit", "-q", "--no-verify", "-C", c); err != nil {
			return 0, err
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return 0, err
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return 0, err
	}
	if _, err := git(wt, "format-patch", "-q", "--no-signature", "--start-number", strconv.Itoa(start),
		"-o", abs, strings.TrimSpace(series)+"..HEAD"); err != nil {
		return 0, err
	}
	return n, nil
}

// room says why the tree's HEAD has no room for another program type, or
// "": BPF tokens keep the commands, map, program and attach types they
// delegate in a u64 each (kernel/bpf/token.c's BUILD_BUG_ONs), so a 65th
// program or attach type does not build.
func room(tree string) (string, error) {
	uapi, err := git(tree, "show", "HEAD:include/uapi/linux/bpf.h")
	if err != nil {
		return "", err
	}
	token, _ := git(tree, "show", "HEAD:kernel/bpf/token.c") // none before 6.9
	for _, e := range []struct{ enum, max string }{
		{"bpf_prog_type", "__MAX_BPF_PROG_TYPE"}, {"bpf_attach_type", "__MAX_BPF_ATTACH_TYPE"},
	} {
		if !strings.Contains(token, "BUILD_BUG_ON("+e.max+" > 64)") {
			continue
		}
		n, err := enumerators(uapi, e.enum, e.max)
		if err != nil {
			return "", err
		}
		if n >= 64 {
			return fmt.Sprintf("enum %s has %d values with the series, so the new type's would be the 65th, and BPF tokens "+
				"keep them in a u64 (kernel/bpf/token.c: BUILD_BUG_ON(%s > 64)); widening that mask is a uapi change "+
				"(bpf_token_info)", e.enum, n, e.max), nil
		}
	}
	return "", nil
}

var enumerator = regexp.MustCompile(`^\s+[A-Z][A-Z0-9_]*\s*(=[^,]*)?,`)

// enumerators counts the values of enum name in a uapi header, up to max.
func enumerators(header, name, max string) (int, error) {
	i := strings.Index(header, "enum "+name+" {")
	if i < 0 {
		return 0, fmt.Errorf("the uapi header has no enum %s", name)
	}
	n := 0
	for _, l := range strings.Split(header[i:], "\n")[1:] {
		if strings.Contains(l, max) {
			return n, nil
		}
		if enumerator.MatchString(l) {
			n++
		}
	}
	return 0, fmt.Errorf("enum %s has no %s", name, max)
}

// resolve settles every diff3-style conflict of file's text (ours: the
// series'; base; theirs: the new type's patch cut against base).
func resolve(file, text string, r renamer) (string, error) {
	lines := strings.SplitAfter(text, "\n")
	var out, ours, base, theirs []string
	state := 0 // 0 outside, 1 ours, 2 base, 3 theirs
	for _, l := range lines {
		switch {
		case state == 0 && strings.HasPrefix(l, "<<<<<<< "):
			state, ours, base, theirs = 1, nil, nil, nil
		case state == 1 && strings.HasPrefix(l, "||||||| "):
			state = 2
		case state == 1:
			ours = append(ours, l)
		case state == 2 && strings.HasPrefix(l, "======="):
			state = 3
		case state == 2:
			base = append(base, l)
		case state == 3 && strings.HasPrefix(l, ">>>>>>> "):
			got, err := resolveRegion(file, ours, base, theirs, r)
			if err != nil {
				return "", fmt.Errorf("%w; the conflict:\n<<<<<<< series\n%s||||||| base\n%s=======\n%s>>>>>>> %s",
					err, strings.Join(ours, ""), strings.Join(base, ""), strings.Join(theirs, ""), r.lower)
			}
			out = append(out, got...)
			state = 0
		case state == 3:
			theirs = append(theirs, l)
		default:
			out = append(out, l)
		}
	}
	if state != 0 {
		return "", fmt.Errorf("a conflict without its end")
	}
	return strings.Join(out, ""), nil
}

// resolveRegion merges one conflict. The new type's lines are oreore's,
// renamed: its "twin" is a line or text with the new name turned back into
// oreore's, which the series has.
func resolveRegion(file string, ours, base, theirs []string, r renamer) ([]string, error) {
	switch {
	case len(base) == 0 && filepath.Base(file) == "libbpf.map":
		// A version node is opened once: the new type's symbols join
		// the one the series opened.
		return interleave(ours, theirs, r)
	case len(base) == 0 && documented(ours, theirs, r):
		// The new type's copy of a comment the series wrote for every
		// type (bpf_misc.h's __ctx_u32): the series' stands.
		return ours, nil
	case len(base) == 0:
		// Blocks of the new type's own (an enum's value, a case and its
		// break, a function, a MAINTAINERS entry) go after the series':
		// an enum keeps the series' values.
		return append(append([]string{}, ours...), theirs...), nil
	}
	if merged, ok := chain(ours, base, theirs); ok {
		return merged, nil
	}
	return insertWithin(ours, base, theirs, r)
}

// documented reports whether theirs is a comment and nothing else, whose
// first line names no type and is one that ours has already: the series
// wrote it for every type.
func documented(ours, theirs []string, r renamer) bool {
	first := ""
	for _, l := range theirs {
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		if !strings.HasPrefix(t, "*") && !strings.HasPrefix(t, "/*") && !strings.HasPrefix(t, "//") {
			return false // code
		}
		if first == "" {
			first = l
		}
	}
	return first != "" && !r.names(first) && index(ours, first, 0) >= 0
}

// returnCall is a function's last statement, returning what a call returns.
var returnCall = regexp.MustCompile(`^(\s+)return (\w+\(.*\));\n$`)

// chain merges an init function that returned one call and that both sides
// turned into a chain of checked calls (ret = a(); if (ret < 0) return ret;
// return b();): the new type's call goes last, after the series' calls,
// checked as the chain's first call is.
func chain(ours, base, theirs []string) ([]string, bool) {
	if len(base) != 1 || len(ours) < 2 || len(theirs) < 2 || !returnCall.MatchString(base[0]) {
		return nil, false
	}
	p := 0
	for p < len(ours) && p < len(theirs) && ours[p] == theirs[p] {
		p++
	}
	last := returnCall.FindStringSubmatch(ours[len(ours)-1])
	if p == 0 || p != len(theirs)-1 || last == nil || !returnCall.MatchString(theirs[p]) {
		return nil, false
	}
	check := theirs[1:p] // what follows the chain's first call
	out := append([]string{}, ours[:len(ours)-1]...)
	out = append(out, last[1]+"ret = "+last[2]+";\n")
	out = append(out, check...)
	return append(out, theirs[p]), true
}

// interleave puts each of the new type's lines after its twin in the
// series' lines; a line that names no type is the series' already.
func interleave(ours, theirs []string, r renamer) ([]string, error) {
	twin := make([]string, len(theirs))
	for i, l := range theirs {
		twin[i] = r.back(l)
	}
	out := append([]string{}, ours...)
	at := 0
	for i, l := range theirs {
		j := index(out, twin[i], at)
		if j < 0 {
			return nil, fmt.Errorf("the series' lines have no %q", strings.TrimSpace(twin[i]))
		}
		at = j + 1
		if twin[i] == l {
			continue // shared: the series' line stands for both
		}
		out = append(out[:at], append([]string{l}, out[at:]...)...)
		at++
	}
	return out, nil
}

// insertWithin merges where the new type changed lines the series changed
// too (a list of attach types, a condition, a help text that names every
// type): each of the new type's insertions into the base's text goes right
// after its twin in the series' text. Of the ways to read the new lines as
// insertions, the first whose twins the series' text has in order wins.
func insertWithin(ours, base, theirs []string, r renamer) ([]string, error) {
	o := strings.Join(ours, "")
	var merged string
	found := false
	tried := 0
	insertions(strings.Join(base, ""), strings.Join(theirs, ""), func(ins []insertion) bool {
		tried++
		at := 0
		var done strings.Builder
		for _, in := range ins {
			twin := r.back(in.text)
			j := strings.Index(o[at:], twin)
			if j < 0 {
				return false
			}
			end := at + j + len(twin)
			done.WriteString(o[at:end])
			done.WriteString(in.text)
			at = end
		}
		done.WriteString(o[at:])
		merged, found = done.String(), true
		return true
	})
	switch {
	case found:
		return lines(merged), nil
	case tried == 0:
		return nil, fmt.Errorf("the new type's lines are not the base's with insertions")
	}
	return nil, fmt.Errorf("the series' lines have no twin (oreore's) of the new type's insertions")
}

type insertion struct {
	at   int // offset in the base text
	text string
}

// insertions reads t as b with text inserted, and calls found with each
// reading until it returns true: each base line is a run of the new lines
// with at most one insertion in it (a name added to a list, a condition
// continued on a new line), and new lines between them are insertions of
// whole lines. A deletion or a rewrite has no reading.
func insertions(b, t string, found func([]insertion) bool) {
	bl, tl := lines(b), lines(t)
	var align func(i, j, off int, acc []insertion) bool
	align = func(i, j, off int, acc []insertion) bool {
		if i == len(bl) {
			if j < len(tl) {
				acc = append(acc, insertion{at: off, text: strings.Join(tl[j:], "")})
			}
			return found(acc)
		}
		for k := j; k < len(tl); k++ {
			for e := len(tl); e > k; e-- {
				in, ok := single(bl[i], strings.Join(tl[k:e], ""))
				if !ok {
					continue
				}
				next := append([]insertion{}, acc...)
				if k > j {
					next = append(next, insertion{at: off, text: strings.Join(tl[j:k], "")})
				}
				if in.text != "" {
					in.at += off
					next = append(next, in)
				}
				if align(i+1, e, off+len(bl[i]), next) {
					return true
				}
			}
		}
		return false
	}
	align(0, 0, 0, nil)
}

// single gives t as b with one insertion, if it is one.
func single(b, t string) (insertion, bool) {
	if len(t) < len(b) {
		return insertion{}, false
	}
	p := 0
	for p < len(b) && b[p] == t[p] {
		p++
	}
	s := 0
	for s < len(b)-p && b[len(b)-1-s] == t[len(t)-1-s] {
		s++
	}
	if p+s != len(b) {
		return insertion{}, false
	}
	return insertion{at: p, text: t[p : len(t)-s]}, true
}

func lines(s string) []string {
	l := strings.SplitAfter(s, "\n")
	if len(l) > 0 && l[len(l)-1] == "" {
		l = l[:len(l)-1]
	}
	return l
}

// names reports whether l names the new type.
func (r renamer) names(l string) bool {
	return strings.Contains(l, r.lower) || strings.Contains(l, r.upper) || strings.Contains(l, r.title)
}

// back turns the new type's names into oreore's.
func (r renamer) back(s string) string {
	return strings.NewReplacer(r.lower, "oreore", r.upper, "OREORE", r.title, "Oreore").Replace(s)
}

func index(in []string, l string, from int) int {
	for i := from; i < len(in); i++ {
		if in[i] == l {
			return i
		}
	}
	return -1
}

// enumValue is an enumerator with an explicit value (bpf_link_type's).
var enumValue = regexp.MustCompile(`^(\s+)([A-Z][A-Z0-9_]*) = (\d+),$`)

// renumber gives the new type's enumerators with explicit values the value
// after the enumerator before them: the renamed patch has oreore's.
func renumber(text string, r renamer) string {
	lines := strings.Split(text, "\n")
	for i := 1; i < len(lines); i++ {
		m := enumValue.FindStringSubmatch(lines[i])
		if m == nil || !strings.Contains(m[2], r.upper) {
			continue
		}
		prev := enumValue.FindStringSubmatch(lines[i-1])
		if prev == nil {
			continue
		}
		v, _ := strconv.Atoi(prev[3])
		lines[i] = fmt.Sprintf("%s%s = %d,", m[1], m[2], v+1)
	}
	return strings.Join(lines, "\n")
}
