// Package cover turns the gcov counters a guest sent back (make vm-cover)
// into line and branch coverage of the series' own code: the lines the
// series adds to the kernel, and the module.
//
// The guest's counters (.gcda) sit under a folder at the paths the objects
// were built at; the notes (.gcno) that gcc wrote beside each object are
// still in the build folders. gcov reads the pair and prints JSON, which
// this package merges per source line.
package cover

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Line is one executable source line.
type Line struct {
	Number int
	Count  int64 // how many times it ran
	// Branches holds each branch's count: the times it was taken.
	Branches []int64
}

// File is what gcov knows of one source file, over every object that
// holds code of it (a header's inline functions are in several).
type File struct {
	Path  string // as gcc saw it: absolute for the kernel's O= build
	Lines map[int]*Line
}

// gcovJSON is gcov --json-format's output (gcc 9 and later).
type gcovJSON struct {
	Files []struct {
		File  string `json:"file"`
		Lines []struct {
			LineNumber int   `json:"line_number"`
			Count      int64 `json:"count"`
			Branches   []struct {
				Count int64 `json:"count"`
			} `json:"branches"`
		} `json:"lines"`
	} `json:"files"`
}

// Read runs gcov on every .gcda file under counters, each with the .gcno
// found at the path the guest gave it (the build folder), and merges the
// results by source file.
func Read(counters string) (map[string]*File, error) {
	// gcov runs in each file's folder: a relative path would not hold.
	counters, err := filepath.Abs(counters)
	if err != nil {
		return nil, err
	}
	files := map[string]*File{}
	n := 0
	err = filepath.WalkDir(counters, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".gcda") {
			return err
		}
		rel, _ := filepath.Rel(counters, path)
		notes := "/" + strings.TrimSuffix(filepath.ToSlash(rel), ".gcda") + ".gcno"
		// gcov wants the pair in one folder.
		b, err := os.ReadFile(notes)
		if err != nil {
			return fmt.Errorf("the notes of %s: %w (was the object rebuilt or removed since the run?)", rel, err)
		}
		if err := os.WriteFile(strings.TrimSuffix(path, ".gcda")+".gcno", b, 0o644); err != nil {
			return err
		}
		n++
		return runGcov(path, files)
	})
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("no .gcda file under %s", counters)
	}
	return files, nil
}

func runGcov(gcda string, files map[string]*File) error {
	cmd := exec.Command("gcov", "--json-format", "--stdout", "--branch-probabilities", "-o", filepath.Dir(gcda), filepath.Base(gcda))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// gcov writes nothing else into the folder it runs in with --stdout,
	// but be safe: run it in the counters' folder, not the caller's.
	cmd.Dir = filepath.Dir(gcda)
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("gcov %s: %v\n%s", gcda, err, stderr.String())
	}
	// A mismatch between the notes and the counters is a warning to gcov,
	// and wrong figures to us.
	if s := stderr.String(); strings.Contains(s, "stamp mismatch") || strings.Contains(s, "prefer '") {
		return fmt.Errorf("gcov %s: %s", gcda, strings.TrimSpace(s))
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 256<<20)
	for sc.Scan() {
		var doc gcovJSON
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			return fmt.Errorf("gcov %s: %w", gcda, err)
		}
		for _, f := range doc.Files {
			file := files[f.File]
			if file == nil {
				file = &File{Path: f.File, Lines: map[int]*Line{}}
				files[f.File] = file
			}
			for _, l := range f.Lines {
				line := file.Lines[l.LineNumber]
				if line == nil {
					line = &Line{Number: l.LineNumber}
					file.Lines[l.LineNumber] = line
				}
				line.Count += l.Count
				for i, b := range l.Branches {
					if i == len(line.Branches) {
						line.Branches = append(line.Branches, 0)
					}
					line.Branches[i] += b.Count
				}
			}
		}
	}
	return sc.Err()
}

// Summary is a file's coverage over the lines that are asked about.
type Summary struct {
	Label                  string // the path shown: kernel/bpf/oreore.c, kmod/oreore.c
	Lines, LinesHit        int
	Branches, BranchesHit  int
	Selected               []*Line // the lines counted, in order
	NotRun, BranchesMissed []*Line
	// Part is set when only some of the file's lines count (those the
	// series adds to a file it does not own).
	Part bool
}

// Summarize counts the executable lines among want (all of them when want
// is nil) and their branches.
func Summarize(label string, f *File, want map[int]bool) Summary {
	s := Summary{Label: label, Part: want != nil}
	var numbers []int
	for n := range f.Lines {
		if want == nil || want[n] {
			numbers = append(numbers, n)
		}
	}
	sort.Ints(numbers)
	for _, n := range numbers {
		l := f.Lines[n]
		s.Selected = append(s.Selected, l)
		s.Lines++
		if l.Count > 0 {
			s.LinesHit++
		} else {
			s.NotRun = append(s.NotRun, l)
		}
		missed := false
		for _, b := range l.Branches {
			s.Branches++
			if b > 0 {
				s.BranchesHit++
			} else {
				missed = true
			}
		}
		if missed && l.Count > 0 {
			s.BranchesMissed = append(s.BranchesMissed, l)
		}
	}
	return s
}

// Percent is part of whole in percent, 0 for an empty whole.
func Percent(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}

// AddedLines reads `git diff -U0` output and returns, per file of the new
// side, the numbers of the lines it adds.
func AddedLines(diff []byte) map[string]map[int]bool {
	out := map[string]map[int]bool{}
	var cur map[int]bool
	sc := bufio.NewScanner(bytes.NewReader(diff))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "+++ "):
			cur = nil
			if name, ok := strings.CutPrefix(line, "+++ b/"); ok {
				cur = map[int]bool{}
				out[name] = cur
			}
		case strings.HasPrefix(line, "@@ ") && cur != nil:
			// @@ -a,b +c,d @@: d lines from c (d omitted: 1).
			f := strings.Fields(line)
			if len(f) < 3 {
				continue
			}
			start, count, _ := strings.Cut(strings.TrimPrefix(f[2], "+"), ",")
			c, err := strconv.Atoi(start)
			if err != nil {
				continue
			}
			d := 1
			if count != "" {
				d, _ = strconv.Atoi(count)
			}
			for i := c; i < c+d; i++ {
				cur[i] = true
			}
		}
	}
	return out
}

// SeriesLines is AddedLines for the tree as built against its base tag:
// the series' commits and any edit not committed yet. New lists the files
// the series adds, whose every line is the series'.
func SeriesLines(tree, base string) (added map[string]map[int]bool, created map[string]bool, err error) {
	out, err := exec.Command("git", "-C", tree, "diff", "-U0", "--no-color", "--no-renames", base).Output()
	if err != nil {
		return nil, nil, fmt.Errorf("git diff %s in %s: %w", base, tree, err)
	}
	names, err := exec.Command("git", "-C", tree, "diff", "--name-only", "--no-renames", "--diff-filter=A", base).Output()
	if err != nil {
		return nil, nil, fmt.Errorf("git diff %s in %s: %w", base, tree, err)
	}
	created = map[string]bool{}
	for _, n := range strings.Fields(string(names)) {
		created[n] = true
	}
	return AddedLines(out), created, nil
}
