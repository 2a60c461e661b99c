// Command cover prints the line and branch coverage of the series' code
// from the gcov counters of a vm-cover run: every line the series adds to
// the kernel (whole files it creates, its hunks in files it changes) and
// the module, then the lines that never ran and the branches never taken.
//
//	cover -counters build/vm-6.1-cover/counters -src build/src/linux-source-6.1 \
//	      -module build/kmod-6.1-cover=kmod [-lcov FILE] [-html DIR]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"oreore/vm/cover"
)

func main() {
	counters := flag.String("counters", "", "the .gcda files vmtest -cover wrote")
	src := flag.String("src", "", "the patched kernel tree (a git tree with a base tag)")
	base := flag.String("base", "base", "the tag the series applies on")
	module := flag.String("module", "", "BUILD=LABEL: the module's build folder and the name shown for it (kmod)")
	lcov := flag.String("lcov", "", "also write an lcov tracefile of the series' files here")
	html := flag.String("html", "", "also write genhtml's report of the -lcov file into this folder (needs Debian's lcov)")
	goGuest := flag.String("go-guest", "", "the Go coverage files the guest's test binaries wrote (-test.gocoverdir)")
	goHost := flag.String("go-host", "", "a text profile of the same packages from the host's tests, to merge with the guest's")
	flag.Parse()
	if *counters == "" || *src == "" || (*html != "" && *lcov == "") {
		fmt.Fprintln(os.Stderr, "usage: cover -counters DIR -src TREE [-base TAG] [-module BUILD=LABEL] [-lcov FILE [-html DIR]]")
		os.Exit(64)
	}
	if err := run(*counters, *src, *base, *module, *lcov, *html, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "cover:", err)
		os.Exit(1)
	}
	if *goGuest != "" {
		if err := goCoverage(*goGuest, *goHost, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "cover:", err)
			os.Exit(1)
		}
	}
}

// target is one source file to report, and the lines of it that count.
type target struct {
	label string
	file  *cover.File
	want  map[int]bool // nil: every line
}

func run(counters, src, base, module, lcovPath, htmlDir string, w io.Writer) error {
	files, err := cover.Read(counters)
	if err != nil {
		return err
	}
	added, created, err := cover.SeriesLines(src, base)
	if err != nil {
		return err
	}
	modDir, modLabel, _ := strings.Cut(module, "=")
	// gcov names the sources by absolute path.
	if src, err = filepath.Abs(src); err != nil {
		return err
	}
	if modDir != "" {
		if modDir, err = filepath.Abs(modDir); err != nil {
			return err
		}
	}

	var targets []target
	seen := map[string]bool{}
	for path, f := range files {
		switch rel, ok := under(path, src); {
		case ok && added[rel] != nil:
			t := target{label: rel, file: f, want: added[rel]}
			if created[rel] {
				t.want = nil
			}
			targets = append(targets, t)
			seen[rel] = true
		case modDir != "":
			if rel, ok := under(path, modDir); ok {
				targets = append(targets, target{label: filepath.Join(modLabel, rel), file: f})
			}
		}
	}
	sort.Slice(targets, func(i, j int) bool { return targets[i].label < targets[j].label })

	fmt.Fprintf(w, "cover: the series' lines in %s (since %s) and the module, as the suites ran them\n", src, base)
	var sums []cover.Summary
	for _, t := range targets {
		s := cover.Summarize(t.label, t.file, t.want)
		sums = append(sums, s)
		what := "all lines"
		if s.Part {
			what = fmt.Sprintf("%d lines added", len(t.want))
		}
		if s.Lines == 0 {
			fmt.Fprintf(w, "  %-32s no line that runs (%s: declarations)\n", s.Label, what)
			continue
		}
		fmt.Fprintf(w, "  %-32s lines %4d/%-4d %5.1f%%   branches %4d/%-4d %5.1f%%   (%s)\n", s.Label,
			s.LinesHit, s.Lines, cover.Percent(s.LinesHit, s.Lines),
			s.BranchesHit, s.Branches, cover.Percent(s.BranchesHit, s.Branches), what)
	}
	// A C file of the series that was not profiled has no figure at all:
	// say so rather than leave it out. tools/ is userspace (libbpf,
	// bpftool, selftests) and not in the kernel's gcov.
	var missing []string
	for rel := range added {
		if strings.HasSuffix(rel, ".c") && !strings.HasPrefix(rel, "tools/") && !seen[rel] {
			missing = append(missing, rel)
		}
	}
	sort.Strings(missing)
	for _, rel := range missing {
		fmt.Fprintf(w, "  %-32s not profiled: add its object to COVER_OBJECTS in the Makefile\n", rel)
	}
	for i, s := range sums {
		printLines(w, targets[i].file.Path, s)
	}
	if lcovPath != "" {
		if err := writeLcov(lcovPath, targets, sums); err != nil {
			return err
		}
		fmt.Fprintf(w, "cover: lcov tracefile %s\n", lcovPath)
	}
	if htmlDir != "" {
		if _, err := exec.LookPath("genhtml"); err != nil {
			fmt.Fprintln(w, "cover: no HTML report: genhtml is not installed (Debian's lcov; make deps installs it)")
			return nil
		}
		out, err := exec.Command("genhtml", "--quiet", "--branch-coverage", "-o", htmlDir, lcovPath).CombinedOutput()
		if err != nil {
			return fmt.Errorf("genhtml: %v\n%s", err, out)
		}
		fmt.Fprintf(w, "cover: HTML report %s\n", filepath.Join(htmlDir, "index.html"))
	}
	return nil
}

// goCoverage prints the harness's Go coverage as the guest ran it, as the
// host's tests did, and both merged.
func goCoverage(guestDir, hostFile string, w io.Writer) error {
	guest, err := cover.GuestProfile(guestDir)
	if err != nil {
		return err
	}
	var host *cover.Profile
	if hostFile != "" {
		f, err := os.Open(hostFile)
		if err != nil {
			return err
		}
		defer f.Close()
		if host, err = cover.ReadProfile(f); err != nil {
			return fmt.Errorf("%s: %w", hostFile, err)
		}
	}
	fmt.Fprintln(w, "cover: Go statements of the harness that ran in the guest's suites, in the host's tests, and in either")
	cover.GoTable(w, guest, host)
	return nil
}

// under returns path relative to dir when it lies inside it.
func under(path, dir string) (string, bool) {
	rel, err := filepath.Rel(dir, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return rel, true
}

// printLines lists a file's lines that never ran and those that ran with
// a branch never taken, with their source text.
func printLines(w io.Writer, path string, s cover.Summary) {
	if len(s.NotRun) == 0 && len(s.BranchesMissed) == 0 {
		return
	}
	text, _ := os.ReadFile(path)
	lines := strings.Split(string(text), "\n")
	source := func(n int) string {
		if n-1 < len(lines) {
			return strings.TrimSpace(lines[n-1])
		}
		return "?"
	}
	if len(s.NotRun) > 0 {
		fmt.Fprintf(w, "never ran, %s:\n", s.Label)
		for _, l := range s.NotRun {
			fmt.Fprintf(w, "  %5d  %s\n", l.Number, source(l.Number))
		}
	}
	if len(s.BranchesMissed) > 0 {
		fmt.Fprintf(w, "branches never taken, %s:\n", s.Label)
		for _, l := range s.BranchesMissed {
			taken := 0
			for _, b := range l.Branches {
				if b > 0 {
					taken++
				}
			}
			fmt.Fprintf(w, "  %5d  %d of %d taken  %s\n", l.Number, taken, len(l.Branches), source(l.Number))
		}
	}
}

// writeLcov writes the lines each summary counted as an lcov tracefile
// (geninfo's format), for genhtml.
func writeLcov(path string, targets []target, sums []cover.Summary) error {
	var b strings.Builder
	b.WriteString("TN:oreore\n")
	for i, s := range sums {
		fmt.Fprintf(&b, "SF:%s\n", targets[i].file.Path)
		for _, l := range s.Selected {
			for j, c := range l.Branches {
				taken := "-" // the line never ran: its branches were not reached
				if l.Count > 0 {
					taken = fmt.Sprint(c)
				}
				fmt.Fprintf(&b, "BRDA:%d,0,%d,%s\n", l.Number, j, taken)
			}
		}
		for _, l := range s.Selected {
			fmt.Fprintf(&b, "DA:%d,%d\n", l.Number, l.Count)
		}
		fmt.Fprintf(&b, "LF:%d\nLH:%d\nBRF:%d\nBRH:%d\nend_of_record\n", s.Lines, s.LinesHit, s.Branches, s.BranchesHit)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
