// Command bench times the developer's loops on this machine and prints each one's figure and its breakdown,
// step by step (make bench). It asserts nothing: the figures are for vm/README.md and the notes.
//
//	bench -out build/bench -tree build/bench/tree -tree-build build/bench-build -- KVER=6.1
//
// Each loop is one make invocation, run with --trace so that the Makefile says which step runs when (vm/bench
// splits the run from those lines, kbuild's timeline and the guest's test events). The arguments after -- go to
// every invocation. The loops, in the order they run:
//
//	full      make vm-test FRESH=1: everything, the kernel's selftests included
//	fresh     make vm-test FRESH=1 KERNEL_TESTS=0: a boot and our suites, nothing rebuilt
//	boots     five boots that run no test: QEMU start to init's first line, the spread
//	nochange  make vm-test: the passing verdict stands
//	short     make vm-test SHORT=1 FRESH=1: the short loop
//	edit      kernel/bpf/oreore.c edited in a worktree (-tree, built in -tree-build) -> the SHORT verdict
//	edit-full the same edit -> the full verdict (FRESH=1, the kernel's selftests included)
//	module    a module of kmod/ edited (a copy: KMOD_SRC) -> the SHORT verdict, no kernel rebuilt: all of our
//	          short suites, then only the tests -module-tests names (the struct_ops and kfunc families)
//	micro     the in-guest benchmarks (a run through sysfs against one through test_run)
//	config    not by default (about 30 minutes here): the kernel built cold, without ccache, as configured and
//	          without each group of debugging options (configGroups): what each group costs a fresh machine
//
// The edit loops never touch the developer's tree: -tree is a worktree that benchtree keeps mirroring it, with
// build folders of its own; it is brought up to date (a cold kernel build the first time) before the edit.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"oreore/harness/progtype"
	"oreore/vm/bench"
)

type config struct {
	makeCmd   string
	out       string
	tree      string
	treeBuild string
	edit      string // the file the edit loops change, in the tree
	// The module loop: kmod/, the file of it to edit, and the -test.run of the tests that concern it.
	kmod, moduleEdit, moduleTests string
	vars                          []string
	// The config loop's kernel: its source tree, the flavor's .config, kbuild's goals and job count (0: one per CPU).
	src     string
	kconfig string
	kgoals  []string
	jobs    int
}

func main() {
	var c config
	flag.StringVar(&c.makeCmd, "make", "make", "the make command")
	flag.StringVar(&c.out, "out", "build/bench", "folder for each loop's log")
	flag.StringVar(&c.tree, "tree", "", "the worktree the edit loops change (kept by benchtree)")
	flag.StringVar(&c.treeBuild, "tree-build", "", "the worktree's build folder (BUILD=)")
	flag.StringVar(&c.edit, "edit", "kernel/bpf/oreore.c", "the file of the worktree that the edit loops change")
	flag.StringVar(&c.kmod, "kmod", "kmod", "the modules' sources, which the module loop copies")
	flag.StringVar(&c.moduleEdit, "module-edit", "", "the file of -kmod that the module loop changes (default: from the descriptors, moduleTarget)")
	flag.StringVar(&c.moduleTests, "module-tests", "", "-test.run of the tests that concern the edited module (default: from the descriptors)")
	flag.StringVar(&c.src, "src", "", "the kernel tree the config loop builds")
	flag.StringVar(&c.kconfig, "kconfig", "", "the flavor's .config, which the config loop starts from")
	kgoals := flag.String("kgoals", "bzImage modules", "kbuild's goals, as the Makefile's kernel target has them")
	flag.IntVar(&c.jobs, "jobs", 0, "kbuild's job count, as the Makefile's (0: one per CPU)")
	loops := flag.String("loops", "full,fresh,boots,nochange,short,edit,edit-full,module,micro", "the loops to run, in this order")
	flag.Parse()
	c.vars = flag.Args()
	if c.moduleEdit == "" {
		c.moduleEdit, c.moduleTests = moduleTarget(seriesOf(c.vars))
	}
	c.kgoals = strings.Fields(*kgoals)
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		fail(err)
	}
	for _, l := range strings.Split(*loops, ",") {
		var err error
		switch l {
		case "full":
			err = c.loop("f", "make vm-test FRESH=1, everything (our suites and the kernel's selftests)", true, "vm-test", "FRESH=1")
		case "fresh":
			err = c.loop("a'", "make vm-test FRESH=1 KERNEL_TESTS=0, nothing changed (boots, runs our suites)", true, "vm-test", "FRESH=1", "KERNEL_TESTS=0")
		case "boots":
			err = c.boots(5)
		case "nochange":
			err = c.loop("a", "make vm-test KERNEL_TESTS=0, nothing changed (the passing verdict stands)", true, "vm-test", "KERNEL_TESTS=0")
		case "short":
			err = c.loop("s", "make vm-test SHORT=1 FRESH=1, the short loop", true, "vm-test", "SHORT=1", "FRESH=1")
			if err == nil {
				err = c.loop("n", "make vm-test SHORT=1, nothing changed", true, "vm-test", "SHORT=1")
			}
		case "edit":
			err = c.editLoop("b", "edit "+c.edit+" -> make vm-test SHORT=1", "SHORT=1")
		case "edit-full":
			err = c.editLoop("b'", "edit "+c.edit+" -> make vm-test FRESH=1, everything", "FRESH=1")
		case "module":
			err = c.moduleLoop()
		case "micro":
			err = c.micro()
		case "config":
			err = c.configLoop("k")
		default:
			err = fmt.Errorf("-loops: no loop %q", l)
		}
		if err != nil {
			fail(err)
		}
	}
}

// developerEnv is the environment of a developer's make: not a sub-make of make bench's (its flags, its jobserver).
func developerEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "MAKEFLAGS" && k != "MFLAGS" && k != "MAKELEVEL" && k != "MAKEOVERRIDES" {
			env = append(env, kv)
		}
	}
	return env
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// run is one make invocation under --trace: its lines with their times, its wall time and its exit status.
type run struct {
	lines   []bench.Line
	seconds float64
	code    int
}

func (c *config) make(log string, args ...string) (*run, error) {
	cmd := exec.Command(c.makeCmd, append(append([]string{"--trace"}, c.vars...), args...)...)
	cmd.Env = developerEnv()
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	f, err := os.Create(filepath.Join(c.out, log+".log"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := &run{}
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			at := time.Since(start).Seconds()
			r.lines = append(r.lines, bench.Line{At: at, Text: sc.Text()})
			fmt.Fprintf(f, "%8.3f %s\n", at, sc.Text())
		}
		io.Copy(io.Discard, pr)
	}()
	err = cmd.Run()
	r.seconds = time.Since(start).Seconds()
	pw.Close()
	wg.Wait()
	if err != nil {
		exit, ok := err.(*exec.ExitError)
		if !ok {
			return nil, err
		}
		r.code = exit.ExitCode()
	}
	return r, nil
}

var (
	buildingRE = regexp.MustCompile(`^kernel: building .* \(log: (.*)/build\.log\)`)
	guestRE    = regexp.MustCompile(`^vm: guest ran ([0-9.]+)s wall, init's first line after ([0-9.]+)s; console in (.*)/console\.log`)
	neverRE    = regexp.MustCompile(`^vm: guest ran ([0-9.]+)s wall, init never printed; console in `)
	passedRE   = regexp.MustCompile(`^(\d+) passed, (\d+) failed`)
)

// loop runs one loop and prints its figure and breakdown; must: a failing run stops make bench.
func (c *config) loop(label, what string, must bool, args ...string) error {
	r, err := c.make(strings.ReplaceAll(label, "'", "-prime"), args...)
	if err != nil {
		return err
	}
	c.report(label, what, r)
	if must && r.code != 0 {
		return fmt.Errorf("(%s) exited %d: see %s", label, r.code, filepath.Join(c.out, strings.ReplaceAll(label, "'", "-prime")+".log"))
	}
	return nil
}

func (c *config) report(label, what string, r *run) {
	prefix := "bench: (" + label + ")"
	counts, reused := "", false
	for _, l := range r.lines {
		if m := passedRE.FindStringSubmatch(l.Text); m != nil {
			counts = strings.TrimSpace(l.Text)
		}
	}
	reused = verdictReused(r.lines)
	// The reused verdict's counts are the earlier run's; a boot's are this run's.
	summary := ", booted: " + counts
	if reused {
		summary = ", no boot: the passing verdict stands (" + counts + ")"
	}
	fmt.Printf("%s %s: %.1f s%s\n", prefix, what, r.seconds, summary)
	steps := bench.Steps(r.lines, r.seconds)
	for i := range steps {
		switch steps[i].Name {
		case "kernel: kbuild":
			steps[i].Parts = c.kbuildParts(r)
		case "QEMU and the guest":
			steps[i].Parts = guestParts(r, steps[i].Seconds)
		}
	}
	bench.Format(os.Stdout, prefix, steps)
}

// verdictReused: vm-test said the passing verdict stands. Under --trace make also prints the recipe that says it
// (a tab, then `echo "vm-test: ...`), in every run: only a line that starts with the words counts.
func verdictReused(lines []bench.Line) bool {
	for _, l := range lines {
		if strings.HasPrefix(l.Text, "vm-test: ") && strings.Contains(l.Text, "its verdict stands") {
			return true
		}
	}
	return false
}

func (c *config) kbuildParts(r *run) []bench.Step {
	for _, l := range r.lines {
		if m := buildingRE.FindStringSubmatch(l.Text); m != nil {
			steps, err := bench.ReadKbuildPhases(filepath.Join(m[1], "build.times"))
			if err != nil {
				return []bench.Step{{Name: "no kbuild timeline: " + err.Error()}}
			}
			return steps
		}
	}
	return nil
}

func guestParts(r *run, total float64) []bench.Step {
	for _, l := range r.lines {
		m := guestRE.FindStringSubmatch(l.Text)
		if m == nil {
			continue
		}
		first, _ := strconv.ParseFloat(m[2], 64)
		var pkgs []bench.Package
		if f, err := os.Open(filepath.Join(m[3], "test-events.json")); err == nil {
			pkgs, _ = bench.Packages(f)
			f.Close()
		}
		return bench.Guest(total, first, pkgs)
	}
	return nil
}

// boots times QEMU's start to init's first line over n boots that run no test (vmtest's figure).
func (c *config) boots(n int) error {
	var firsts []float64
	for i := 0; i < n; i++ {
		r, err := c.make("boot", "vm-test", "FRESH=1", "SHORT=1", "TESTARGS=-test.run=^$$")
		if err != nil {
			return err
		}
		first, err := firstInit(r.lines)
		if err != nil {
			return fmt.Errorf("(c) boot %d of %d: %v (see %s)", i+1, n, err, filepath.Join(c.out, "boot.log"))
		}
		firsts = append(firsts, first)
	}
	sort.Float64s(firsts)
	fmt.Printf("bench: (c) QEMU start -> init's first line over %d boots: median %.2f s, min %.2f s, max %.2f s\n",
		n, firsts[n/2], firsts[0], firsts[n-1])
	return nil
}

// firstInit is the time to init's first line that vmtest reported. A boot whose init never printed has no
// such time: it is an error, not a fast boot.
func firstInit(lines []bench.Line) (float64, error) {
	for _, l := range lines {
		if m := guestRE.FindStringSubmatch(l.Text); m != nil {
			return strconv.ParseFloat(m[2], 64)
		}
		if neverRE.MatchString(l.Text) {
			return 0, fmt.Errorf("the guest's init never printed: %s", l.Text)
		}
	}
	return 0, fmt.Errorf("vmtest reported no guest run")
}

// editLoop edits c.edit in the worktree (after bringing the worktree's build up to date) and times the loop
// to a verdict with args; the edit is undone afterwards.
func (c *config) editLoop(label, what string, args ...string) error {
	if c.tree == "" || c.treeBuild == "" {
		return fmt.Errorf("(%s) needs -tree and -tree-build", label)
	}
	tree := []string{"KERNEL_SRC=" + c.tree, "BUILD=" + c.treeBuild}
	fmt.Printf("bench: (%s) bringing the worktree's build up to date (%s; a cold kernel build the first time)\n", label, c.treeBuild)
	warm, err := c.make("edit-warm", append(append([]string{"vm-test"}, tree...), args...)...)
	if err != nil {
		return err
	}
	if warm.code != 0 {
		return fmt.Errorf("(%s) the worktree's build before the edit exited %d: see %s", label, warm.code, filepath.Join(c.out, "edit-warm.log"))
	}
	file := filepath.Join(c.tree, c.edit)
	orig, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, append(append([]byte{}, orig...), "/* bench edit */\n"...), 0o644); err != nil {
		return err
	}
	defer os.WriteFile(file, orig, 0o644)
	return c.loop(label, what, true, append(append([]string{"vm-test"}, tree...), args...)...)
}

// seriesOf is the KVER among make's arguments (the Makefile's default, 6.1, when none is).
func seriesOf(vars []string) string {
	for _, v := range vars {
		if s, ok := strings.CutPrefix(v, "KVER="); ok {
			return s
		}
	}
	return "6.1"
}

// moduleTarget picks what the module loop edits on a series: the first described struct_ops type's module where
// the series can register it, and a -test.run of its families and its own tests (named Test<Name>..., such as
// TestOreoreOpsFiles); else the first program type's trigger module, and all of the short suites.
func moduleTarget(series string) (file, tests string) {
	for _, o := range progtype.AllStructOps {
		if o.Available(series) {
			camel := ""
			for _, w := range strings.Split(o.Name, "_") {
				if w != "" {
					camel += strings.ToUpper(w[:1]) + w[1:]
				}
			}
			return o.Module + ".c", fmt.Sprintf("TestStructOps/%s|TestKfuncs/%s|Test%s", o.Name, o.Module, camel)
		}
	}
	return progtype.All[0].Module + ".c", ""
}

// moduleLoop edits a module in a copy of kmod/ (the Makefile's KMOD_SRC) and times the loop to the SHORT verdict:
// the module is rebuilt and the initramfs rewritten, no kernel. A MODULE_INFO line with the time makes the .ko
// differ (a comment would not: the build is reproducible, and vm-test would reuse the passing verdict).
func (c *config) moduleLoop() error {
	copyDir := filepath.Join(c.out, "kmod-src")
	os.RemoveAll(copyDir)
	if out, err := exec.Command("cp", "-a", c.kmod, copyDir).CombinedOutput(); err != nil {
		return fmt.Errorf("(m) copying %s: %v: %s", c.kmod, err, out)
	}
	src := "KMOD_SRC=" + copyDir
	fmt.Printf("bench: (m) bringing the build up to date with the copy of %s\n", c.kmod)
	warm, err := c.make("module-warm", "vm-test", "SHORT=1", src)
	if err != nil {
		return err
	}
	if warm.code != 0 {
		return fmt.Errorf("(m) the build before the edit exited %d: see %s", warm.code, filepath.Join(c.out, "module-warm.log"))
	}
	file := filepath.Join(copyDir, c.moduleEdit)
	edit := func() error {
		f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = fmt.Fprintf(f, "MODULE_INFO(bench_edit, \"%d\");\n", time.Now().UnixNano())
		return err
	}
	if err := edit(); err != nil {
		return err
	}
	if err := c.loop("m", "edit "+c.moduleEdit+" -> make vm-test SHORT=1, no kernel rebuilt", true, "vm-test", "SHORT=1", src); err != nil {
		return err
	}
	if c.moduleTests == "" {
		return nil
	}
	if err := edit(); err != nil {
		return err
	}
	return c.loop("m'", "edit "+c.moduleEdit+" -> make vm-test SHORT=1, only "+c.moduleTests, true, "vm-test", "SHORT=1", src,
		"TESTARGS=-test.run="+c.moduleTests)
}

// micro runs the in-guest benchmarks (no test) and prints their lines, and how a run through sysfs compares
// with one through BPF_PROG_TEST_RUN.
func (c *config) micro() error {
	r, err := c.make("micro", "vm-test", "FRESH=1", "KERNEL_TESTS=0", "TESTARGS=-test.run=^$$ -test.bench=. -test.benchtime=3s")
	if err != nil {
		return err
	}
	var dir string
	for _, l := range r.lines {
		if m := guestRE.FindStringSubmatch(l.Text); m != nil {
			dir = m[3]
		}
	}
	if dir == "" {
		return fmt.Errorf("(d) the guest did not run: see %s", filepath.Join(c.out, "micro.log"))
	}
	b, err := os.ReadFile(filepath.Join(dir, "results.jsonl"))
	if err != nil {
		return err
	}
	perOp := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, "ns/op") {
			continue
		}
		text := line
		if i := strings.Index(line, `"Output":"`); i >= 0 {
			text = line[i+len(`"Output":"`):]
		}
		text = strings.NewReplacer(`\t`, " ", `\n`, "", `"}`, "").Replace(text)
		fields := strings.Fields(text)
		fmt.Printf("bench: (d) %s\n", strings.Join(fields, " "))
		for i := 1; i < len(fields); i++ {
			if fields[i] == "ns/op" || fields[i] == "kernel-ns/run" {
				v, _ := strconv.ParseFloat(fields[i-1], 64)
				perOp[strings.SplitN(fields[0], "-", 2)[0]+" "+fields[i]] = v
			}
		}
	}
	s, p, t := perOp["BenchmarkSysfsRun ns/op"], perOp["BenchmarkPortRun ns/op"], perOp["BenchmarkTestRunRepeat kernel-ns/run"]
	if s > 0 && p > 0 && t > 0 {
		fmt.Printf("bench: (d) a run through sysfs costs %.0fx a run in BPF_PROG_TEST_RUN (%.0fx on an open Port)\n", s/t, p/t)
	} else {
		fmt.Printf("bench: (d) no figures: see %s\n", filepath.Join(c.out, "micro.log"))
	}
	return nil
}
