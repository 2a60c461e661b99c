// Command fuzz runs the fuzz target harness/fuzz.FuzzSeries in the guest
// (`go test -fuzz`, one worker, guided by KCOV on the series' objects) for
// a while, through vmrun, and then:
//
//   - keeps the corpus: the host's corpus folder goes into the guest's
//     fuzz cache, and what the run added comes back into it;
//
//   - prints the executions per second and the series' lines the inputs
//     reached, per file, as make vm-cover does for the suites;
//
//   - on a kernel report (KASAN, Oops, WARN, lockdep, hang), takes the
//     input the fuzz worker sent last before it, checks that it crashes a
//     fresh guest too, drops each op that the crash does not need (one boot
//     per try), and writes what is left into the regression folder, where
//     harness/fuzz's TestRegressions runs it in every make vm-test.
//
//     fuzz -vmrun build/bin/vmrun -kernel BZIMAGE -initramfs CPIO -out DIR -src TREE [-duration 10m]
package main

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"oreore/harness/fuzz"
	"oreore/harness/guest"
	"oreore/harness/progtype"
	"oreore/vm/cover"
	"oreore/vm/kcov"
	"oreore/vm/qemu"
	"oreore/vm/verdict"
)

// In the guest: the fuzz test binary (the slot lane's), its cache, and
// where it writes the PCs it reached.
var (
	guestBinary = path.Join(guest.TestsDir, "slot", "fuzz.test")
)

const (
	guestCache    = "/fuzz/cache"
	guestOut      = "/fuzz/out"
	guestPCs      = guestOut + "/pcs"
	target        = "FuzzSeries"
	reproName     = "repro"
	guestReproDir = "/testdata/fuzz/" + target // the test binary runs in /
)

// workerDeadline is what Go's fuzz worker prints when one input has run
// for 10 s (internal/fuzz: RunFuzzWorker).
const workerDeadline = "panic: deadlocked!"

// panicParams end the guest at a kernel report, as an Oops does (vmrun
// boots with oops=panic and, with -panic-on-warn, panic_on_warn=1): the
// input the worker sent last is then the one that was running.
const panicParams = "kasan.fault=panic sysctl.kernel.hung_task_panic=1"

type config struct {
	vmrun, kernel, initramfs, kmod, appendArgs, accel, memory string
	out, corpus, src, base, vmlinux, regress                  string
	duration, minimize                                        time.Duration
	boots                                                     int
}

func main() {
	var c config
	flag.StringVar(&c.vmrun, "vmrun", "build/bin/vmrun", "the vmrun command")
	flag.StringVar(&c.kernel, "kernel", "", "bzImage of a kernel with KCOV on the series' objects (FLAVOR=debug)")
	flag.StringVar(&c.initramfs, "initramfs", "", "the guest's initramfs (it holds /tests/slot/fuzz.test)")
	flag.StringVar(&c.kmod, "kmod", "", "the modules' build folder, passed to vmrun")
	flag.StringVar(&c.appendArgs, "append", "", "extra kernel parameters")
	flag.StringVar(&c.accel, "accel", qemu.DefaultAccel(), "auto, kvm or tcg, passed to vmrun (default from $"+qemu.AccelEnv+")")
	flag.StringVar(&c.memory, "m", "1536M", "guest memory")
	flag.StringVar(&c.out, "out", "build/fuzz", "the run's folder")
	flag.StringVar(&c.corpus, "corpus", "", "the corpus kept between runs (default OUT/corpus)")
	flag.StringVar(&c.src, "src", "", "the patched tree, for the series' lines")
	flag.StringVar(&c.base, "base", "base", "the tag the series applies on")
	flag.StringVar(&c.vmlinux, "vmlinux", "", "the kernel's vmlinux (default: beside arch/x86/boot/bzImage)")
	flag.StringVar(&c.regress, "regress", "harness/fuzz/testdata/fuzz/"+target, "where a crash's minimised input goes")
	flag.DurationVar(&c.duration, "duration", 10*time.Minute, "how long the fuzzer runs")
	flag.DurationVar(&c.minimize, "minimize-time", 60*time.Second, "how long Go's fuzzer may minimise each new input (-test.fuzzminimizetime)")
	flag.IntVar(&c.boots, "minimize-boots", 16, "at most this many boots to minimise a crashing input")
	flag.Parse()
	if c.kernel == "" || c.initramfs == "" || c.src == "" {
		fmt.Fprintln(os.Stderr, "usage: fuzz -kernel BZIMAGE -initramfs CPIO -src TREE [-out DIR] [-duration D] [-corpus DIR]")
		os.Exit(64)
	}
	if c.corpus == "" {
		c.corpus = filepath.Join(c.out, "corpus")
	}
	if c.vmlinux == "" {
		c.vmlinux = filepath.Join(filepath.Dir(c.kernel), "../../../vmlinux")
	}
	code, err := run(c, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fuzz:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func run(c config, w io.Writer) (int, error) {
	if err := os.MkdirAll(c.corpus, 0o755); err != nil {
		return 1, err
	}
	entries, err := os.ReadDir(c.corpus)
	if err != nil {
		return 1, err
	}
	var files []string
	for _, e := range entries {
		files = append(files, filepath.Join(c.corpus, e.Name())+":"+path.Join(guestCache, target, e.Name()))
	}
	fmt.Fprintf(w, "fuzz: %s for %v, from a corpus of %d inputs (%s)\n", target, c.duration, len(files), c.corpus)
	runDir := filepath.Join(c.out, "run")
	argv := []string{guestBinary, "-test.run=^$", "-test.fuzz=^" + target + "$", "-test.fuzztime=" + c.duration.String(),
		"-test.fuzzcachedir=" + guestCache, "-test.fuzzminimizetime=" + c.minimize.String(), "-test.parallel=1", "-fuzz.log=" + guest.ResultsPort, "-fuzz.pcs=" + guestPCs, "-fuzz.kcov", "-fuzz.stderr=/dev/console"}
	start := time.Now()
	status, err := vmrun(c, runDir, c.duration+10*time.Minute, true, files, []string{guestCache, guestOut, "/testdata"}, argv, w)
	if err != nil {
		return 1, err
	}
	fmt.Fprintf(w, "fuzz: the guest ran %v, exit status %d\n", time.Since(start).Round(time.Second), status)
	console, _ := os.ReadFile(filepath.Join(runDir, "console.log"))
	inputs, _ := countInputs(filepath.Join(runDir, "results.jsonl"))
	stats(string(console), inputs, w)
	if err := keepCorpus(c, runDir, len(entries), w); err != nil {
		return 1, err
	}
	covErr := coverage(c, runDir, w)
	splats := verdict.FindSplats(string(console))
	if covErr != nil && len(splats) == 0 {
		// Without its signal the run proved nothing: say so, whatever the
		// status, with what the guest's test said (no KCOV, say).
		for _, line := range goFailure(string(console)) {
			fmt.Fprintf(w, "fuzz: the guest said: %s\n", line)
		}
		return 1, fmt.Errorf("FAIL: %v", covErr)
	}
	if covErr != nil {
		fmt.Fprintf(w, "fuzz: no coverage figures: %v\n", covErr)
	}
	if len(splats) == 0 && status == 0 {
		fmt.Fprintln(w, "fuzz: PASS: no kernel report, no failing input")
		return 0, nil
	}
	if len(splats) == 0 {
		// The target failed in Go: an invariant, or a kernel report that
		// did not end the guest (lockdep's). The Go fuzzer has minimised
		// the input in the guest.
		if strings.Contains(string(console), fuzz.ErrKCOVFull.Error()) {
			// The harness's limit, not the kernel's bug: no regression input.
			return 1, fmt.Errorf("FAIL: %v", fuzz.ErrKCOVFull)
		}
		if strings.Contains(string(console), workerDeadline) {
			return 1, errors.New("FAIL: an input ran for more than 10 s, and Go's fuzz worker ended itself (\"deadlocked!\"): " +
				"a kernel hang, or an input the harness must keep shorter (harness/fuzz: MaxOps, MaxReloads); no regression input is written")
		}
		if seed := failedSeed(string(console)); seed != "" {
			// Go stops before fuzzing and writes no input: the seed is
			// already kept (harness/fuzz: Seeds; FuzzSeries runs it in
			// every make vm-test).
			return 1, fmt.Errorf("FAIL: the seed input %s failed before fuzzing began: %s; console in %s",
				seed, strings.Join(goFailure(string(console)), "; "), filepath.Join(runDir, "console.log"))
		}
		goFail, _ := filepath.Glob(filepath.Join(runDir, "collected", "testdata", "fuzz", target, "*"))
		for _, f := range goFail {
			b, err := os.ReadFile(f)
			if err != nil {
				return 1, err
			}
			dst := filepath.Join(c.regress, "go-failure-"+filepath.Base(f))
			if err := os.WriteFile(dst, b, 0o644); err != nil {
				return 1, err
			}
			if data, err := fuzz.UnmarshalCorpus(b); err == nil {
				fmt.Fprintf(w, "fuzz: FAIL: the target failed on (minimised by the Go fuzzer):\n%s", fuzz.Decode(data, progtype.All))
			}
			fmt.Fprintf(w, "fuzz: written to %s: TestRegressions runs it in every make vm-test (the failure's message is on the console above)\n", dst)
		}
		return 1, fmt.Errorf("the fuzz target exited with status %d and no kernel report; console in %s", status, filepath.Join(runDir, "console.log"))
	}
	fmt.Fprintf(w, "fuzz: FAIL: kernel report: %s\n", splats[0].Text)
	input, err := lastInput(filepath.Join(runDir, "results.jsonl"))
	if err != nil {
		return 1, err
	}
	return 1, reproduce(c, input, splats[0].Text, w)
}

// vmrun boots the guest on argv and returns the command's exit status.
func vmrun(c config, out string, timeout time.Duration, dump bool, files, collect, argv []string, w io.Writer) (int, error) {
	args := []string{"-kernel", c.kernel, "-initramfs", c.initramfs, "-out", out, "-accel", c.accel, "-m", c.memory,
		"-timeout", timeout.String(), "-append", c.appendArgs + " " + panicParams, "-panic-on-warn", "-dump=" + strconv.FormatBool(dump)}
	if c.kmod != "" {
		args = append(args, "-kmod", c.kmod)
	}
	for _, f := range files {
		args = append(args, "-file", f)
	}
	for _, d := range collect {
		args = append(args, "-collect", d)
	}
	cmd := exec.Command(c.vmrun, append(append(args, "--"), argv...)...)
	cmd.Stdout, cmd.Stderr = w, w
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	return 0, err
}

// progress is the Go fuzzer's line every 3 s.
var progress = regexp.MustCompile(`fuzz: elapsed: (\S+), execs: (\d+) \((\d+)/sec\), new interesting: (\d+) \(total: (\d+)\)`)

// countInputs counts the inputs the worker ran: it sends each one before
// running it, whether fuzzing or minimising.
func countInputs(results string) (int, error) {
	f, err := os.Open(results)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	stream, err := guest.Parse(f)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, g := range stream.Guest {
		if g.Guest == fuzz.InputRecord {
			n++
		}
	}
	return n, nil
}

// stats prints the run's executions per second: every input the worker
// ran, and the fuzzing executions Go's last progress line counts (which
// leave out the runs that minimise a new input).
func stats(console string, inputs int, w io.Writer) {
	var last []string
	for _, line := range strings.Split(console, "\n") {
		if m := progress.FindStringSubmatch(line); m != nil {
			last = m
		}
	}
	if last == nil {
		fmt.Fprintln(w, "fuzz: the fuzzer printed no progress line")
		return
	}
	elapsed, _ := time.ParseDuration(last[1])
	execs, _ := strconv.Atoi(last[2])
	rate := 0.0
	if elapsed > 0 {
		rate = float64(execs) / elapsed.Seconds()
	}
	fmt.Fprintf(w, "fuzz: %d inputs run in %v: %.1f per second (Go counts %d fuzzing executions, %.1f per second; the rest minimised new inputs); %s new interesting inputs, %s in the corpus\n",
		inputs, elapsed, float64(inputs)/max(elapsed.Seconds(), 1), execs, rate, last[4], last[5])
}

// keepCorpus copies the inputs the run added into the host's corpus.
func keepCorpus(c config, runDir string, before int, w io.Writer) error {
	got, _ := filepath.Glob(filepath.Join(runDir, "collected", strings.TrimPrefix(guestCache, "/"), target, "*"))
	added := 0
	for _, f := range got {
		dst := filepath.Join(c.corpus, filepath.Base(f))
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return err
		}
		added++
	}
	fmt.Fprintf(w, "fuzz: corpus %s: %d inputs, %d new\n", c.corpus, before+added, added)
	return nil
}

// reached is the distinct PCs a run's inputs reached: the guest's worker
// writes each PC once per process, and Go restarts workers, so the host
// counts.
type reached struct {
	kernel  []uint64
	modules map[string]int // distinct offsets per module
}

func (r reached) total() int {
	n := len(r.kernel)
	for _, m := range r.modules {
		n += m
	}
	return n
}

// readPCs reads the guest's PC file (harness/fuzz's PC.String per line).
func readPCs(raw string) (reached, error) {
	r := reached{modules: map[string]int{}}
	seen := map[fuzz.PC]bool{}
	for _, line := range strings.Fields(raw) {
		pc, err := fuzz.ParsePC(line)
		if err != nil {
			return r, err
		}
		if seen[pc] {
			continue
		}
		seen[pc] = true
		if pc.Module == "" {
			r.kernel = append(r.kernel, pc.Addr)
		} else {
			r.modules[pc.Module]++
		}
	}
	return r, nil
}

// coverage prints, per file of the series, the lines KCOV can report from
// and those the run's inputs reached. A run whose inputs reached no line
// of the series was not guided by it: that is an error, not a figure.
func coverage(c config, runDir string, w io.Writer) error {
	raw, err := os.ReadFile(filepath.Join(runDir, "collected", strings.TrimPrefix(guestPCs, "/")))
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("the guest sent no PCs (a guest that panics ends before it sends them)")
	}
	if err != nil {
		return err
	}
	r, err := readPCs(string(raw))
	if err != nil {
		return err
	}
	if r.total() == 0 {
		return errors.New("KCOV reported no PC for any input: the fuzzer had no kernel signal")
	}
	added, created, err := cover.SeriesLines(c.src, c.base)
	if err != nil {
		return err
	}
	var units []string
	for rel := range added {
		if strings.HasSuffix(rel, ".c") && !strings.HasPrefix(rel, "tools/") {
			units = append(units, rel)
		}
	}
	sort.Strings(units)
	img, err := kcov.Open(c.vmlinux, units)
	if err != nil {
		return err
	}
	files := img.Files(r.kernel)
	fmt.Fprintf(w, "fuzz: the series' lines the inputs reached (KCOV: a line counts when a basic block starting on it ran); %d distinct PCs in vmlinux\n", len(r.kernel))
	hit := 0
	for _, rel := range units {
		var f *cover.File
		for p, ff := range files {
			if p == rel || strings.HasSuffix(p, "/"+rel) {
				f = ff
			}
		}
		want := added[rel]
		if created[rel] {
			want = nil
		}
		if f == nil {
			fmt.Fprintf(w, "  %-32s not instrumented: add its object to the type's KernelObjects (COVER_OBJECTS)\n", rel)
			continue
		}
		s := cover.Summarize(rel, f, want)
		hit += s.LinesHit
		what := "all lines"
		if s.Part {
			what = fmt.Sprintf("%d lines added", len(want))
		}
		fmt.Fprintf(w, "  %-32s lines %4d/%-4d %5.1f%%   (%s)\n", rel, s.LinesHit, s.Lines, cover.Percent(s.LinesHit, s.Lines), what)
	}
	var mods []string
	for m := range r.modules {
		mods = append(mods, m)
	}
	sort.Strings(mods)
	for _, m := range mods {
		fmt.Fprintf(w, "  module %-25s %d distinct PCs (offsets in its .text: the same across reloads)\n", m, r.modules[m])
	}
	if hit == 0 {
		return fmt.Errorf("none of the %d PCs KCOV reported is on a line of the series' files (%s): the signal guided the fuzzer through other code; check KCOV_INSTRUMENT for COVER_OBJECTS and that %s is the guest's kernel",
			r.total(), strings.Join(units, ", "), c.vmlinux)
	}
	return nil
}

// seedFailure is what Go's fuzzer prints when an input of the seed corpus
// fails, before it fuzzes (internal/fuzz).
const seedFailure = "failure while testing seed corpus entry: "

// failedSeed names the seed input whose failure stopped the run, or "".
func failedSeed(console string) string {
	for _, line := range strings.Split(console, "\n") {
		if _, after, ok := strings.Cut(line, seedFailure); ok {
			return strings.TrimSpace(after)
		}
	}
	return ""
}

// goFailure is what a failed Go test printed: the lines after its
// "--- FAIL" that name a source line.
func goFailure(console string) []string {
	var out []string
	failing := false
	for _, line := range strings.Split(console, "\n") {
		switch {
		case strings.Contains(line, "--- FAIL"):
			failing = true
		case failing && regexp.MustCompile(`\.go:\d+: `).MatchString(line):
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

// lastInput is the input the fuzz worker sent last: the one running when
// the kernel died.
func lastInput(results string) ([]byte, error) {
	f, err := os.Open(results)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	stream, err := guest.Parse(f)
	if err != nil {
		return nil, err
	}
	var last *guest.Guest
	for i := range stream.Guest {
		if stream.Guest[i].Guest == fuzz.InputRecord {
			last = &stream.Guest[i]
		}
	}
	if last == nil {
		return nil, errors.New("the worker sent no input before the report: it is not the fuzzer's")
	}
	return base64.StdEncoding.DecodeString(last.Text)
}

// splatKey is a report's first line without its timestamp, addresses and
// offsets: what two boots of the same bug share.
func splatKey(s string) string {
	s = regexp.MustCompile(`^\[[^\]]*\]\s*`).ReplaceAllString(s, "")
	s = regexp.MustCompile(`\+0x[0-9a-f]+/0x[0-9a-f]+|0x[0-9a-f]+|ffff[0-9a-f]+`).ReplaceAllString(s, "")
	return strings.TrimSpace(s)
}

// reproduce checks that input brings the report back on a fresh guest,
// minimises it op by op, and writes it into the regression folder.
func reproduce(c config, input []byte, report string, w io.Writer) error {
	types := progtype.All
	p := fuzz.Decode(input, types)
	dir := filepath.Join(c.out, "crash")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	boots := 0
	crashes := func(ops []fuzz.Op) (bool, error) {
		boots++
		data := fuzz.Encode(types, ops...)
		file := filepath.Join(dir, reproName)
		if err := os.WriteFile(file, fuzz.MarshalCorpus(data), 0o644); err != nil {
			return false, err
		}
		out := filepath.Join(dir, fmt.Sprintf("boot-%d", boots))
		argv := []string{guestBinary, "-test.run=^" + target + "$/^" + reproName + "$", "-test.v"}
		if _, err := vmrun(c, out, 10*time.Minute, false, []string{file + ":" + path.Join(guestReproDir, reproName)}, nil, argv, io.Discard); err != nil {
			return false, err
		}
		console, _ := os.ReadFile(filepath.Join(out, "console.log"))
		for _, s := range verdict.FindSplats(string(console)) {
			if splatKey(s.Text) == splatKey(report) {
				return true, nil
			}
		}
		return false, nil
	}
	fmt.Fprintf(w, "fuzz: the input that was running:\n%s", p)
	ok, err := crashes(p.Ops)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("the input alone did not bring the report back on a fresh guest (%s): an earlier input may have set it up; the run's inputs are in %s",
			filepath.Join(dir, "boot-1"), filepath.Join(c.out, "run", "results.jsonl"))
	}
	fmt.Fprintf(w, "fuzz: it crashes a fresh guest too; minimising (at most %d boots)\n", c.boots)
	ops := p.Ops
	for i := len(ops) - 1; i >= 0 && boots < c.boots; i-- {
		try := append(append([]fuzz.Op(nil), ops[:i]...), ops[i+1:]...)
		if len(try) == 0 {
			continue
		}
		ok, err := crashes(try)
		if err != nil {
			return err
		}
		if ok {
			ops = try
			fmt.Fprintf(w, "fuzz: op %d is not needed (%d left)\n", i, len(ops))
		}
	}
	data := fuzz.Encode(types, ops...)
	name := slug(splatKey(report))
	dst := filepath.Join(c.regress, name)
	if err := os.MkdirAll(c.regress, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(dst, fuzz.MarshalCorpus(data), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "fuzz: minimised in %d boots to:\n%sfuzz: written to %s: TestRegressions/%s runs it in every make vm-test from now on (commit it with the fix)\n",
		boots, fuzz.Program{Types: types, Ops: ops}, dst, name)
	return errors.New("the kernel crashed: " + splatKey(report))
}

// slug makes a file name of a report's line.
func slug(s string) string {
	s = strings.ToLower(s)
	s = regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(s, "-")
	s = strings.Trim(s, "-")
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}
