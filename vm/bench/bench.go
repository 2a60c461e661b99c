// Package bench splits one run of a developer's loop (a make invocation) into its steps, from what the run
// printed and when: make's --trace lines say which of the Makefile's targets runs from when, progress's
// timeline of kbuild (vm/cmd/progress -times) splits the kernel's build into its phases, vmtest's lines say when
// QEMU started and when init printed first, and the guest's test events give each test binary's time.
package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Line is one line a run printed, with the seconds since the run started.
type Line struct {
	At   float64
	Text string
}

// Step is one part of a run and the wall-clock seconds it took; Parts, if any, split it further.
type Step struct {
	Name    string
	Seconds float64
	Parts   []Step
}

// traceTarget matches make --trace's line for a target of the top Makefile (kbuild's sub-makes name their
// Makefile by its path, so they do not match): "Makefile:282: update target 'kernel' due to: ...".
var traceTarget = regexp.MustCompile(`^Makefile:\d+: (?:update )?target '([^']+)' (?:due to|does not exist)`)

// stepOf names the step a target of the Makefile belongs to.
func stepOf(target string) string {
	switch {
	case strings.HasSuffix(target, "/.oreore-series"):
		return "kernel source"
	case strings.HasSuffix(target, "/.oreore-config-done"):
		return "kernel config"
	case strings.HasSuffix(target, "/types.mk"):
		return "make: types.mk"
	case strings.HasSuffix(target, ".bpf.o"):
		return "BPF programs (clang)"
	case strings.Contains(target, "/bin/"):
		return "our commands (go build)"
	case strings.Contains(target, "/guest") || target == "shell-bin":
		return "guest binaries (go build)"
	case target == "selftests" || target == "selftests-build":
		return "kernel selftests"
	case target == "vm-selftest":
		return "runner self-tests"
	case target == "kernel":
		return "kernel: key (git diff of the tree)"
	case target == "vm-test":
		return "vm-test: runner and verdict keys"
	}
	return target
}

// Steps splits a make --trace run into the Makefile's steps, in the order they first ran, each with the time
// from its target's trace line to the next's; the time before the first is make's own start (parsing the
// Makefile, its $(shell) keys). Steps of the same name add up. end is when the run ended.
func Steps(lines []Line, end float64) []Step {
	var steps []Step
	index := map[string]int{}
	name, from := "make: start (reading the Makefile, its stamps)", 0.0
	add := func(to float64) {
		i, ok := index[name]
		if !ok {
			i = len(steps)
			index[name] = i
			steps = append(steps, Step{Name: name})
		}
		steps[i].Seconds += to - from
	}
	for _, l := range lines {
		m := traceTarget.FindStringSubmatch(l.Text)
		var next string
		switch {
		case m != nil:
			next = stepOf(m[1])
		case strings.HasPrefix(l.Text, "kernel: building "):
			next = "kernel: kbuild"
		case strings.HasPrefix(l.Text, "kernel: built in ") || strings.HasPrefix(l.Text, "kernel: ") && strings.HasSuffix(l.Text, " is up to date"):
			next = "kernel: stamps"
		case strings.HasPrefix(l.Text, "vm: booting "):
			next = "QEMU and the guest"
		default:
			continue
		}
		if next == name {
			continue
		}
		add(l.At)
		name, from = next, l.At
	}
	add(end)
	return steps
}

// KbuildPhases splits a kbuild run's timeline (progress -times: "12.345\t  LD      vmlinux.o" per line, and
// "END") into its phases: kbuild's walk and the compiles until vmlinux.o is linked, the vmlinux links
// (vmlinux.o, kallsyms, the final one), BTF (pahole, resolve_btfids), the bzImage, and what follows. Each line
// takes the time until the next one; the phases are serial after vmlinux.o, so the split is by wall time.
func KbuildPhases(r io.Reader) ([]Step, error) {
	order := []string{"walk and compile", "vmlinux links", "BTF", "bzImage", "modules, gdb scripts"}
	secs := map[string]float64{}
	phase, last := order[0], 0.0
	linked := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		at, text, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			continue
		}
		t, err := strconv.ParseFloat(at, 64)
		if err != nil {
			return nil, fmt.Errorf("kbuild timeline: %q: %v", sc.Text(), err)
		}
		secs[phase] += t - last
		last = t
		if text == "END" {
			break
		}
		fields := strings.Fields(text)
		if len(fields) < 2 {
			continue
		}
		tag, target := fields[0], fields[1]
		switch {
		case tag == "LD" && target == "vmlinux.o":
			linked = true
			phase = "vmlinux links"
		case !linked:
		case tag == "BTF" || tag == "BTFIDS" || strings.Contains(target, "vmlinux.btf"):
			phase = "BTF"
		case strings.HasPrefix(target, "arch/x86/boot/") || tag == "Kernel:":
			phase = "bzImage"
		case tag == "LD" || tag == "NM" || tag == "KSYMS" || tag == "SORTTAB" || tag == "MODPOST" ||
			strings.HasPrefix(target, ".tmp_vmlinux") || strings.HasPrefix(target, "modules.builtin"):
			if phase != "bzImage" {
				phase = "vmlinux links"
			} else {
				phase = "modules, gdb scripts"
			}
		case phase == "bzImage" && !strings.HasPrefix(target, "arch/x86/boot"):
			phase = "modules, gdb scripts"
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var steps []Step
	for _, name := range order {
		if s := secs[name]; s > 0.0005 {
			steps = append(steps, Step{Name: name, Seconds: s})
		}
	}
	return steps, nil
}

// Package is one test binary's run in the guest.
type Package struct {
	Name       string
	Start, End time.Time
}

// Packages reads test2json's events (vmtest's test-events.json) and returns each test binary's start and
// end, in the order they started.
func Packages(r io.Reader) ([]Package, error) {
	byName := map[string]*Package{}
	var order []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var e struct {
			Time    time.Time
			Action  string
			Package string
			Test    string
		}
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Test != "" || e.Package == "" {
			continue
		}
		p, ok := byName[e.Package]
		if !ok {
			p = &Package{Name: e.Package}
			byName[e.Package] = p
			order = append(order, e.Package)
		}
		switch e.Action {
		case "start":
			p.Start = e.Time
		case "pass", "fail", "skip":
			p.End = e.Time
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var out []Package
	for _, n := range order {
		if p := byName[n]; !p.Start.IsZero() && !p.End.IsZero() {
			out = append(out, *p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out, nil
}

// Guest splits vmtest's part of a run: QEMU's start to init's first line (firstInit, which vmtest reports), the
// test binaries from the first start to the last end (each binary's own time as a part), and the rest of
// the guest's wall time (init's setup, the lanes' gaps, the shutdown and the report).
func Guest(total, firstInit float64, pkgs []Package) []Step {
	steps := []Step{{Name: "QEMU start -> init's first line", Seconds: firstInit}}
	if len(pkgs) > 0 {
		first, last := pkgs[0].Start, pkgs[0].End
		var parts []Step
		for _, p := range pkgs {
			if p.End.After(last) {
				last = p.End
			}
			parts = append(parts, Step{Name: p.Name, Seconds: p.End.Sub(p.Start).Seconds()})
		}
		tests := last.Sub(first).Seconds()
		steps = append(steps, Step{Name: "test binaries (lanes)", Seconds: tests, Parts: parts})
		total -= tests
	}
	if rest := total - firstInit; rest > 0 {
		steps = append(steps, Step{Name: "init's setup, shutdown, report", Seconds: rest})
	}
	return steps
}

// Format writes steps as indented lines, "  name: 1.2 s"; a step whose parts have no parts of their own lists
// them on its line, "(a 1.0, b 0.2)", and one whose parts do have them gets a line per part, one level deeper.
func Format(w io.Writer, prefix string, steps []Step) {
	for _, s := range steps {
		fmt.Fprintf(w, "%s  %s: %.1f s", prefix, s.Name, s.Seconds)
		leaves := true
		for _, p := range s.Parts {
			leaves = leaves && len(p.Parts) == 0
		}
		if len(s.Parts) > 0 && leaves {
			var parts []string
			for _, p := range s.Parts {
				parts = append(parts, fmt.Sprintf("%s %.1f", p.Name, p.Seconds))
			}
			fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
		}
		fmt.Fprintln(w)
		if !leaves {
			Format(w, prefix+"  ", s.Parts)
		}
	}
}

// ReadKbuildPhases is KbuildPhases of the file at path.
func ReadKbuildPhases(path string) ([]Step, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return KbuildPhases(f)
}
