// Command vmtest boots the kernel with the initramfs, waits for the guest's
// suites, prints a report and exits with the verdict's code:
//
//	0 passed, 1 a test failed, 2 the VM or harness broke,
//	3 a kernel splat (panic, Oops, BUG, WARNING, KASAN...), 4 timeout.
//
// It does not wait for a guest that is known to have failed: on the first
// kernel report the guest has until its console is quiet (at most -grace)
// to finish printing, then QEMU is stopped; a test that runs longer than
// -test-timeout has the guest dump its stacks and end (verdict 4).
//
// When the kernel panics (an Oops too: the guest boots with oops=panic) the
// guest's memory is written to vmcore in the -dump-dir folder, kept for a
// failing run, and the report says how to open it with crash and drgn.
// The kernel dumps its trace buffer on an Oops (ftrace_dump_on_oops); with
// -trace the guest traces the series' and the module's functions while the
// tests run, and the trace of each failing test is kept in the trace folder
// of -out and named under the test's failure.
// -gdb holds the guest for gdb, started on this terminal with the kernel's
// lx- commands and the module's symbols; -gdb-script runs gdb in batch mode.
//
// Arguments after "--" go to every test binary in the guest.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"oreore/harness/guest"
	"oreore/vm/gdb"
	"oreore/vm/qemu"
	"oreore/vm/report"
	"oreore/vm/verdict"
)

func main() {
	cfg := qemu.Config{}
	flag.StringVar(&cfg.Kernel, "kernel", "", "bzImage to boot")
	flag.StringVar(&cfg.Initramfs, "initramfs", "", "initramfs built by mkinitramfs")
	arch := flag.String("arch", "", "the machine the guest boots as: x86_64, arm64 or s390x (default: the host's)")
	qemuBin := flag.String("qemu", "", "the emulator to run instead of the machine's (make passes the one make deps fetched where the host's is wrong)")
	flag.StringVar(&cfg.OutDir, "out", "build/vm", "folder for console.log, results.jsonl, test-events.json and junit.xml")
	flag.StringVar(&cfg.Memory, "m", "1G", "guest memory")
	flag.IntVar(&cfg.CPUs, "smp", 2, "guest CPUs")
	flag.DurationVar(&cfg.Timeout, "timeout", 15*time.Minute, "kill the guest after this long")
	testTimeout := flag.Duration("test-timeout", guest.DefaultTestTimeout, "the guest dumps its stacks and ends when one test runs longer (0: no per-test limit)")
	grace := flag.Duration("grace", 10*time.Second, "after a kernel report, the most the guest may go on printing before QEMU is stopped (0: let the run go on)")
	accel := flag.String("accel", qemu.DefaultAccel(), "auto (the faster of KVM and TCG here, measured once), kvm or tcg (default from $"+qemu.AccelEnv+")")
	appendArgs := flag.String("append", "", "extra kernel parameters")
	verbose := flag.Bool("v", false, "stream the console while the guest runs")
	expect := flag.String("expect", "", "comma-separated test binaries (package names) the initramfs holds: one without an event fails the run (code 2)")
	kmod := flag.String("kmod", "", "the module's build folder, for gdb and the dump's commands (default: kmod-X beside the kernel's build folder kernel-X)")
	dump := flag.Bool("dump", true, "when the guest's kernel panics, write its memory to vmcore in -dump-dir (the guest boots with oops=panic)")
	dumpDir := flag.String("dump-dir", "", "folder for the vmcore (default: -out)")
	dumpFormat := flag.String("dump-format", "auto", "QEMU's dump-guest-memory format: elf (the whole memory, with the kernel's virtual addresses: Debian 12's drgn reads it on 6.1 and 6.12), kdump-zlib (small; Debian 12's drgn and crash read it on 6.1 only), or auto: elf, kdump-zlib for a KASAN kernel")
	panicOnWarn := flag.Bool("panic-on-warn", false, "a kernel WARN panics (panic_on_warn=1), so it gets a dump too")
	useGDB := flag.Bool("gdb", false, "hold the guest for gdb, started on this terminal (no timeout, no early stop)")
	gdbScript := flag.String("gdb-script", "", "run gdb in batch mode with this script (implies -gdb, keeps the timeouts)")
	trace := flag.Bool("trace", false, "trace the series' and the module's functions in the guest, and keep each failing test's trace in OUT/trace")
	cover := flag.String("cover", "", "have the guest send the kernel's gcov counters at the end, and write them in this folder (make vm-cover)")
	flag.Parse()
	if m, err := qemu.MachineFor(*arch); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(64)
	} else {
		cfg.Machine = m.WithQEMU(*qemuBin)
	}
	if cfg.Kernel == "" || cfg.Initramfs == "" {
		fmt.Fprintln(os.Stderr, "usage: vmtest -kernel BZIMAGE -initramfs CPIO [-out DIR] [-timeout D] [-test-timeout D] [-grace D] [-v] [-dump-dir DIR] [-panic-on-warn] [-trace] [-cover DIR] [-gdb | -gdb-script FILE] [-- TEST ARGS]")
		os.Exit(int(verdict.VMBroke))
	}
	a, err := qemu.ParseAccel(*accel)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(int(verdict.VMBroke))
	}
	cfg.Accel = a
	cfg.Append = append(strings.Fields(*appendArgs), fmt.Sprintf("%s=%g", guest.TestTimeoutParam, testTimeout.Seconds()))
	if *panicOnWarn {
		cfg.Append = append(cfg.Append, "panic_on_warn=1")
	}
	// An Oops prints the top-level trace buffer, which the slot lane
	// fills under -trace (guest-init's trace.go).
	cfg.Append = append(cfg.Append, "ftrace_dump_on_oops")
	if *trace {
		cfg.Append = append(cfg.Append, guest.TraceParam+"=1")
	}
	if *cover != "" {
		cfg.Append = append(cfg.Append, guest.CoverParam+"=1")
	}
	cfg.Watch = watch(*grace)
	cfg.InitArgs = flag.Args()
	if *verbose {
		cfg.Console = os.Stdout
	}
	if *dump {
		dir := *dumpDir
		if dir == "" {
			dir = cfg.OutDir
		}
		cfg.Dump = &qemu.Dump{Path: filepath.Join(dir, "vmcore"), Format: *dumpFormat}
	}
	k, kerr := gdb.Find(cfg.Kernel, *kmod)
	if cfg.Dump != nil && cfg.Dump.Format == "auto" {
		cfg.Dump.Format = qemu.AutoFormat(k.Build)
	}
	dbg := gdb.Session{Kernel: k, Script: *gdbScript}
	if *useGDB || *gdbScript != "" {
		port, err := dbg.Prepare(&cfg, kerr, isFlagSet("timeout"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "vmtest:", err)
			os.Exit(int(verdict.VMBroke))
		}
		fmt.Printf("vm: the guest waits for gdb on 127.0.0.1:%d:\n  %s\n", port, gdb.CommandLine(k.Args(port, *gdbScript)))
		if *gdbScript == "" {
			fmt.Printf("vm: the console goes to %s (tail -f it in another terminal)\n", filepath.Join(cfg.OutDir, "console.log"))
		}
	}
	os.Exit(int(run(cfg, dbg, splitList(*expect), *cover, os.Stdout)))
}

// splitList reads a comma-separated flag value; "" is no element.
func splitList(v string) []string {
	var out []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

func isFlagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// watch stops the guest at the first kernel report on the console, once
// it has finished printing, and after the watchdog's record, as a backstop
// for a guest that does not end by itself after its stack dump.
func watch(grace time.Duration) *qemu.Watch {
	w := &qemu.Watch{Results: qemu.Rule{Stop: isWatchdog, Quiet: 5 * time.Second, Grace: 30 * time.Second}}
	if grace > 0 {
		var sc verdict.Scanner
		w.Console = qemu.Rule{Stop: sc.Report, Quiet: min(2*time.Second, grace), Grace: grace}
	}
	return w
}

func isWatchdog(line string) bool {
	var g struct{ Guest string }
	return json.Unmarshal([]byte(line), &g) == nil && g.Guest == guest.Watchdog
}

func run(cfg qemu.Config, dbg gdb.Session, expected []string, coverDir string, w io.Writer) verdict.Code {
	fmt.Fprintf(w, "vm: booting %s, %d CPUs, %s, timeout %v\n", cfg.Kernel, cfg.CPUs, cfg.Memory, cfg.Timeout)
	traceDir := filepath.Join(cfg.OutDir, "trace")
	// Traces left from an earlier run must not pass for this one's.
	os.RemoveAll(traceDir)
	res, err := dbg.Boot(cfg, w)
	if err != nil {
		fmt.Fprintln(w, "vm:", err)
	}
	fmt.Fprintf(w, "vm: ran under %s\n", res.Accel)
	if res.Rebooted != "" {
		fmt.Fprintln(w, "vm:", res.Rebooted)
	}
	in := verdict.Input{TimedOut: res.TimedOut, QEMUErr: res.Err, CPUs: cfg.CPUs, Expected: expected}
	if b, err := os.ReadFile(res.ConsolePath); err == nil {
		in.Console = string(b)
	}
	if f, err := os.Open(res.ResultsPath); err == nil {
		in.Results, err = guest.Parse(f)
		if err == nil && res.Stop != nil && !res.Stop.Results {
			f.Seek(0, io.SeekStart)
			in.ResultsAtReport, err = guest.Parse(io.LimitReader(f, res.Stop.ResultsSize))
		}
		f.Close()
		if err != nil {
			in.QEMUErr = fmt.Errorf("reading %s: %v", res.ResultsPath, err)
		}
	}
	v := verdict.Decide(in)
	if in.Results != nil {
		if err := writeEvents(filepath.Join(cfg.OutDir, "test-events.json"), in.Results.Events); err != nil {
			fmt.Fprintln(w, "vm:", err)
		}
		if err := writeJUnit(filepath.Join(cfg.OutDir, "junit.xml"), in.Results.Events); err != nil {
			fmt.Fprintln(w, "vm:", err)
		}
		traces, err := writeTraces(traceDir, in.Results.Traces())
		if err != nil {
			fmt.Fprintln(w, "vm:", err)
		}
		printTests(w, in.Results.Events, traces)
		if coverDir != "" {
			n, err := writeCounters(coverDir, in.Results)
			if err != nil {
				fmt.Fprintln(w, "vm:", err)
			}
			fmt.Fprintf(w, "vm: %d coverage files (gcov, Go) in %s\n", n, coverDir)
		}
	}
	dumped := printWatchdog(w, in.Console, v.Watchdog, res.ConsolePath)
	if v.Code != verdict.Passed {
		printConsole(w, in.Console, v.Splats, res.ConsolePath, !dumped)
	}
	if s := res.Stop; s != nil {
		what := "a kernel report on the console"
		if s.Results {
			what = "the guest's watchdog record"
		}
		how := "stopped QEMU"
		if !s.Killed {
			how = "the guest ended"
		}
		fmt.Fprintf(w, "vm: %s at %.2fs; %s %.2fs later\n", what, s.At.Seconds(), how, (res.Wall - s.At).Seconds())
	}
	// A boot whose init never printed has no first-line time: 0.00 s would read as the fastest boot.
	first := "init never printed"
	if res.FirstInit > 0 {
		first = fmt.Sprintf("init's first line after %.2fs", res.FirstInit.Seconds())
	}
	fmt.Fprintf(w, "vm: guest ran %.1fs wall, %s; console in %s\n", res.Wall.Seconds(), first, res.ConsolePath)
	printDump(w, res, v.Code, dbg.Kernel)
	fmt.Fprintf(w, "verdict: %v (exit %d)\n", v.Code, v.Code)
	for _, r := range v.Reasons {
		fmt.Fprintf(w, "  %s\n", r)
	}
	for _, l := range v.Tests.PackageLines() {
		fmt.Fprintf(w, "  %s\n", l)
	}
	fmt.Fprintln(w, v.Tests.Line())
	return v.Code
}

// printDump says where the panicked guest's memory is and how to open it,
// or why there is none; a dump that failed does not change the verdict. A
// passing run keeps no dump.
func printDump(w io.Writer, res qemu.Result, code verdict.Code, k gdb.Kernel) {
	d := res.Dump
	switch {
	case d == nil && res.QMPErr != nil:
		fmt.Fprintf(w, "vm: a panic would not have been dumped: %v\n", res.QMPErr)
	case d == nil:
	case d.Err != nil:
		fmt.Fprintf(w, "vm: the guest panicked, but its memory could not be dumped: %v\n", d.Err)
	case code == verdict.Passed:
		os.Remove(d.Path)
	default:
		fmt.Fprintf(w, "vm: the guest panicked: its memory is in %s (%s, %.1f MB, written in %.1fs); open it with\n",
			d.Path, d.Format, float64(d.Size)/1e6, d.Took.Seconds())
		for _, l := range dumpCommands(d.Path, k) {
			fmt.Fprintln(w, "  "+l)
		}
	}
}

// dumpCommands are the command lines that open a dump: crash (then its mod
// -S loads the module's symbols) and drgn (given the module's .ko).
func dumpCommands(vmcore string, k gdb.Kernel) []string {
	crash := "crash "
	if cfg, err := os.ReadFile(filepath.Join(k.Build, ".config")); err == nil && strings.Contains(string(cfg), "\nCONFIG_SLOB=y\n") {
		crash += "--no_kmem_cache " // crash knows SLAB's and SLUB's caches, not SLOB's
	}
	crash += fmt.Sprintf("%s %s", k.Vmlinux(), vmcore)
	drgn := fmt.Sprintf("drgn -c %s -s %s", vmcore, k.Vmlinux())
	if k.Modules != "" {
		crash += fmt.Sprintf("    (then, for the module's symbols: mod -S %s)", k.Modules)
		if kos, _ := filepath.Glob(filepath.Join(k.Modules, "*.ko")); len(kos) > 0 {
			drgn += " -s " + strings.Join(kos, " -s ")
		}
	}
	return []string{crash, drgn}
}

// writeEvents keeps the `go test -json` stream for other tools.
func writeEvents(path string, events []guest.TestEvent) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, ev := range events {
		if err := enc.Encode(ev); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

func writeJUnit(path string, events []guest.TestEvent) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := report.WriteJUnit(f, events); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeTraces writes each failing test's trace to dir/PACKAGE.Test.txt
// and returns the files by test name.
func writeTraces(dir string, traces []guest.FailedTrace) (map[string]string, error) {
	if len(traces) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	files := map[string]string{}
	for _, t := range traces {
		path := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".txt")
		if err := os.WriteFile(path, []byte(t.Text), 0o644); err != nil {
			return files, err
		}
		files[t.Name()] = path
	}
	return files, nil
}

// writeCounters writes the .gcda files the guest sent under dir, at the
// paths they had in the guest's debugfs (the objects' build paths).
func writeCounters(dir string, results *guest.Stream) (int, error) {
	// Counters left from an earlier run must not pass for this one's.
	if err := os.RemoveAll(dir); err != nil {
		return 0, err
	}
	files, err := results.CounterFiles()
	if err != nil {
		return 0, err
	}
	for p, b := range files {
		rel, err := guest.CleanCounterPath(p)
		if err != nil {
			return 0, err
		}
		path := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return 0, err
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return 0, err
		}
	}
	return len(files), nil
}

// printTests prints one line per finished test, and a failed test's output
// and the file with its trace (the top-level test's, for a subtest).
func printTests(w io.Writer, events []guest.TestEvent, traces map[string]string) {
	output := map[string]*strings.Builder{}
	named := map[string]bool{}
	for _, ev := range events {
		key := ev.Package + "." + ev.Test
		switch ev.Action {
		case "output":
			if ev.Test == "" {
				continue
			}
			if output[key] == nil {
				output[key] = &strings.Builder{}
			}
			output[key].WriteString(ev.Output)
		case "pass", "skip":
			if ev.Test != "" {
				fmt.Fprintf(w, "%-4s %s (%.2fs)\n", strings.ToUpper(ev.Action), key, ev.Elapsed)
			}
		case "fail":
			if ev.Test == "" {
				continue
			}
			fmt.Fprintf(w, "FAIL %s (%.2fs)\n", key, ev.Elapsed)
			if out := output[key]; out != nil {
				fmt.Fprint(w, indent(out.String()))
			}
			top, _, _ := strings.Cut(ev.Test, "/")
			if path, ok := traces[ev.Package+"."+top]; ok && !named[path] {
				fmt.Fprintf(w, "    trace of %s.%s: %s\n", ev.Package, top, path)
				named[path] = true
			}
		}
	}
	for _, ev := range events {
		if path, ok := traces[ev.Package]; ok && ev.Test == "" && ev.Action == "fail" {
			fmt.Fprintf(w, "FAIL %s outside any test: its trace: %s\n", ev.Package, path)
		}
	}
}

// printConsole shows what matters of the console on a failure: each kernel
// report to its end, and the tail (when tail is set, or there is no report).
func printConsole(w io.Writer, console string, splats []verdict.Splat, path string, tail bool) {
	lines := strings.Split(strings.TrimRight(console, "\n"), "\n")
	show := func(from, to int) {
		from, to = max(from, 0), min(to, len(lines))
		for _, l := range lines[from:to] {
			fmt.Fprintln(w, "  | "+strings.TrimRight(l, "\r"))
		}
	}
	shownTo := -1
	for _, s := range splats {
		if s.Line < shownTo {
			continue
		}
		fmt.Fprintf(w, "vm: kernel report at %s:%d:\n", path, s.Line+1)
		from := max(s.Line-2, shownTo)
		shownTo = reportEnd(lines, s.Line)
		show(from, shownTo)
	}
	if !tail || shownTo >= len(lines) {
		return
	}
	fmt.Fprintf(w, "vm: last lines of %s:\n", path)
	show(max(len(lines)-40, shownTo), len(lines))
}

// reportEnd returns the line after the report that starts at start: after
// its "---[ end ...]---" line, or the closing "=====" of a KASAN or UBSAN
// report, or 40 lines on when it has neither within 200.
func reportEnd(lines []string, start int) int {
	for i := start + 1; i < min(start+200, len(lines)); i++ {
		body := strings.TrimSpace(lines[i])
		if _, after, ok := strings.Cut(body, "] "); ok && strings.HasPrefix(body, "[") {
			body = after
		}
		if strings.HasPrefix(body, "---[ end ") || strings.HasPrefix(body, "=========") {
			return i + 1
		}
	}
	return start + 40
}

// printWatchdog names each test the guest's watchdog caught and shows the
// stacks it had the kernel dump; it reports whether it showed a dump.
func printWatchdog(w io.Writer, console string, records []guest.Guest, path string) bool {
	shown := false
	for _, r := range records {
		fmt.Fprintf(w, "vm: watchdog: %s\n", r.Msg)
		if shown {
			continue
		}
		d, ok := verdict.FindDump(console, guest.Comm(r.Package))
		if !ok {
			fmt.Fprintf(w, "vm: the console has no stack dump: see the last lines of %s\n", path)
			continue
		}
		fmt.Fprintf(w, "vm: the guest's stacks at %s:%d (blocked tasks, CPUs, and the tasks of %s; %d other tasks left out):\n",
			path, d.Line+1, guest.Comm(r.Package), d.Omitted)
		for _, l := range d.Lines {
			fmt.Fprintln(w, "  | "+strings.TrimRight(l, "\r"))
		}
		if !d.Ended {
			fmt.Fprintln(w, "vm: the console ends inside the dump")
		}
		shown = true
	}
	return shown
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}
